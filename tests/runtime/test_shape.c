/* The shape family (nn_shape.h) called directly, no Lua: the borrowed
 * views (select, narrow, leading ones dropped);
 * each view's geometry and values, and its gradient through nn_backward
 * (a view's gradient is the output gradient added into the elements the
 * view aliases); clone and cat/stack forward and backward; nothing is
 * recorded for inputs that need no gradient. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_shape.h"
#include "tensors.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

/* float32 tensor holding 1, 2, 3, ... in row-major order. */
static nn_tensor *counting(int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  for (int64_t i = 0; i < nn_tensor_numel(t); i++) ((float *)nn_tensor_data(t))[i] = (float)(i + 1);
  return t;
}

/* A leaf that requires grad. */
static nn_tensor *leaf(int ndim, const int64_t *shape) {
  nn_tensor *t = counting(ndim, shape);
  t->requires_grad = true;
  return t;
}

/* A header over t's storage for a view entry point to shape. */
static nn_tensor *alias(const nn_tensor *t) { return nn_tensor_view(t, 0, NULL, NULL, 0); }

static bool has_shape(const nn_tensor *t, int ndim, const int64_t *shape, const int64_t *stride) {
  if (t->ndim != ndim) return false;
  for (int d = 0; d < ndim; d++)
    if (t->shape[d] != shape[d] || (stride && t->stride[d] != stride[d])) return false;
  return true;
}

/* ---- borrowed views ---- */

static void test_view_select_narrow(void) {
  int64_t shape[3] = {2, 3, 4};
  nn_tensor *t = counting(3, shape);
  for (int dim = 0; dim < 3; dim++)
    for (int64_t i = 0; i < shape[dim]; i++) {
      nn_tensor v;
      nn_view_select(&v, t, dim, i);
      CHECK(v.ndim == 2 && v.storage == t->storage);
      int64_t pos[2] = {0}, full[3];
      do {
        for (int d = 0, k = 0; d < 3; d++) full[d] = d == dim ? i : pos[k++];
        CHECK(get(&v, pos) == get(t, full));
      } while (next_pos(2, v.shape, pos));
    }
  nn_tensor v;
  nn_view_narrow(&v, t, 2, 1, 2);
  CHECK(v.ndim == 3 && v.shape[2] == 2 && v.shape[1] == 3);
  int64_t pos[3] = {0};
  do {
    int64_t full[3] = {pos[0], pos[1], pos[2] + 1};
    CHECK(get(&v, pos) == get(t, full));
  } while (next_pos(3, v.shape, pos));
  /* select of a 1-D tensor is 0-dim; a select of a transpose follows it */
  nn_tensor *u = nn_tensor_empty(NN_INT64, 1, SHAPE(5));
  for (int k = 0; k < 5; k++) ((int64_t *)nn_tensor_data(u))[k] = 2 * k + 1;
  nn_view_select(&v, u, 0, 3);
  CHECK(v.ndim == 0 && get(&v, NULL) == 7);
  nn_tensor *tt = nn_tensor_view(t, 3, SHAPE(4, 3, 2), SHAPE(1, 4, 12), 0);
  nn_view_select(&v, tt, 0, 1); /* tt[1] = t[:, :, 1] transposed */
  CHECK(get(&v, SHAPE(2, 1)) == get(t, SHAPE(1, 2, 1)));
  /* leading size-1 dims dropped, the others kept as they are */
  nn_tensor *w = nn_tensor_view(t, 4, SHAPE(1, 1, 3, 2), SHAPE(5, 7, 4, 12), 1);
  nn_view_drop_leading_ones(&v, w);
  CHECK(has_shape(&v, 2, SHAPE(3, 2), SHAPE(4, 12)) && v.offset == 1);
  nn_view_drop_leading_ones(&v, u);
  CHECK(has_shape(&v, 1, SHAPE(5), SHAPE(1)));
  nn_tensor_release(w), nn_tensor_release(tt), nn_tensor_release(u), nn_tensor_release(t);
}

/* ---- entry points ---- */

/* Runs backward from out with the gradient 1, 2, 3, ... and checks that
 * x's gradient is each output element's gradient added into the element
 * of x it aliases (x: a contiguous leaf at offset 0 that out views). */
static bool view_backward_ok(nn_tensor *out, nn_tensor *x) {
  nn_tensor *g = counting(out->ndim, out->shape);
  bool ok = nn_backward(out, g, false).status == NN_BACKWARD_OK && x->grad;
  int64_t n = nn_tensor_numel(x), pos[NN_MAX_DIMS] = {0};
  double *want = calloc((size_t)n + 1, sizeof *want);
  if (nn_tensor_numel(out) > 0) do
      want[offset_of(out, pos)] += get(g, pos);
    while (next_pos(out->ndim, out->shape, pos));
  for (int64_t i = 0; ok && i < n; i++) ok = ((const float *)nn_tensor_data(x->grad))[i] == want[i];
  free(want);
  nn_tensor_release(g);
  return ok;
}

static void test_reshape(void) {
  /* a narrowed [2,3,2] (not contiguous, but dims 0 and 1 merge) as [6,2]:
   * two views in a row, both recorded */
  nn_tensor *x = leaf(3, SHAPE(2, 3, 4));
  nn_tensor *n = alias(x), *r = NULL;
  CHECK(nn_narrow(n, x, &(nn_narrow_args){.dim = 2, .start = 1, .len = 2}) == NN_OK);
  int64_t stride[2];
  CHECK(nn_view_strides(n, 2, SHAPE(6, 2), stride));
  r = alias(n);
  CHECK(nn_reshape(r, n, 2, SHAPE(6, 2)) == NN_OK);
  CHECK(has_shape(r, 2, SHAPE(6, 2), SHAPE(4, 1)) && r->offset == 1 && r->storage == x->storage);
  CHECK(r->grad_fn && r->grad_fn->op == NN_OP_RESHAPE && n->grad_fn->op == NN_OP_NARROW);
  CHECK(get(r, SHAPE(4, 1)) == 19); /* x[1][1][2] */
  CHECK(view_backward_ok(r, x));
  nn_tensor_release(r), nn_tensor_release(n), nn_tensor_release(x);
  /* a transpose cannot be viewed flat */
  nn_tensor *y = counting(2, SHAPE(2, 3)), *yt = alias(y);
  CHECK(nn_permute(yt, y, &(nn_permute_args){{1, 0}}) == NN_OK);
  CHECK(!nn_view_strides(yt, 1, SHAPE(6), stride));
  CHECK(!yt->grad_fn); /* y needs no gradient */
  nn_tensor_release(yt), nn_tensor_release(y);
}

static void test_squeeze_unsqueeze_flatten(void) {
  nn_tensor *x = leaf(4, SHAPE(2, 1, 3, 1));
  nn_tensor *all = alias(x), *one = alias(x), *un = alias(x), *end = alias(x);
  CHECK(nn_squeeze(all, x, -1) == NN_OK && has_shape(all, 2, SHAPE(2, 3), SHAPE(3, 1)));
  CHECK(nn_squeeze(one, x, 1) == NN_OK && has_shape(one, 3, SHAPE(2, 3, 1), SHAPE(3, 1, 1)));
  CHECK(nn_unsqueeze(un, x, 1) == NN_OK && has_shape(un, 5, SHAPE(2, 1, 1, 3, 1), SHAPE(3, 3, 3, 1, 1)));
  CHECK(nn_unsqueeze(end, x, 4) == NN_OK && has_shape(end, 5, SHAPE(2, 1, 3, 1, 1), SHAPE(3, 3, 1, 1, 1)));
  CHECK(all->grad_fn->op == NN_OP_RESHAPE && un->grad_fn->op == NN_OP_RESHAPE);
  CHECK(view_backward_ok(all, x));
  nn_tensor_release(x->grad);
  x->grad = NULL;
  CHECK(view_backward_ok(un, x));
  nn_tensor_release(all), nn_tensor_release(one), nn_tensor_release(un), nn_tensor_release(end);
  nn_tensor_release(x);

  int64_t shape[NN_MAX_DIMS];
  nn_tensor *t = counting(4, SHAPE(2, 3, 4, 5)), *s = counting(0, NULL);
  CHECK(nn_flatten_shape(t, 1, 2, shape) == 3 && shape[0] == 2 && shape[1] == 12 && shape[2] == 5);
  CHECK(nn_flatten_shape(t, 0, 3, shape) == 1 && shape[0] == 120);
  CHECK(nn_flatten_shape(t, 2, 2, shape) == 4 && shape[2] == 4);
  CHECK(nn_flatten_shape(s, 0, 0, shape) == 1 && shape[0] == 1);
  nn_tensor_release(t), nn_tensor_release(s);
}

static void test_permute(void) {
  nn_tensor *x = leaf(3, SHAPE(2, 3, 4)), *p = alias(x);
  CHECK(nn_permute(p, x, &(nn_permute_args){{2, 0, 1}}) == NN_OK);
  CHECK(has_shape(p, 3, SHAPE(4, 2, 3), SHAPE(1, 12, 4)));
  int64_t pos[3] = {0};
  bool same = true;
  do same = same && get(p, pos) == get(x, SHAPE(pos[1], pos[2], pos[0]));
  while (next_pos(3, p->shape, pos));
  CHECK(same);
  CHECK(p->grad_fn->op == NN_OP_PERMUTE && p->grad_fn->args.permute.perm[0] == 2);
  CHECK(view_backward_ok(p, x));
  nn_tensor_release(p), nn_tensor_release(x);
}

static void test_narrow_select(void) {
  nn_tensor *x = leaf(3, SHAPE(2, 3, 4)), *n = alias(x), *s = alias(x), *e = alias(x);
  CHECK(nn_narrow(n, x, &(nn_narrow_args){.dim = 1, .start = 1, .len = 2}) == NN_OK);
  CHECK(has_shape(n, 3, SHAPE(2, 2, 4), SHAPE(12, 4, 1)) && n->offset == 4);
  CHECK(nn_narrow(s, x, &(nn_narrow_args){.dim = 2, .start = 3, .len = 1, .dropped = true}) == NN_OK);
  CHECK(has_shape(s, 2, SHAPE(2, 3), SHAPE(12, 4)) && s->offset == 3 && get(s, SHAPE(1, 2)) == 24);
  CHECK(nn_narrow(e, x, &(nn_narrow_args){.dim = 0, .start = 2, .len = 0}) == NN_OK); /* empty */
  CHECK(has_shape(e, 3, SHAPE(0, 3, 4), NULL));
  CHECK(view_backward_ok(n, x));
  nn_tensor_release(x->grad);
  x->grad = NULL;
  CHECK(view_backward_ok(s, x));
  nn_tensor_release(n), nn_tensor_release(s), nn_tensor_release(e), nn_tensor_release(x);
}

/* The gradient of an expand sums over the repeats. */
static void test_expand(void) {
  nn_tensor *x = leaf(2, SHAPE(3, 1)), *e = alias(x);
  CHECK(nn_expand(e, x, 3, SHAPE(2, -1, 4)) == NN_OK);
  CHECK(has_shape(e, 3, SHAPE(2, 3, 4), SHAPE(0, 1, 0)) && e->grad_fn->op == NN_OP_EXPAND);
  CHECK(get(e, SHAPE(1, 2, 3)) == 3);
  CHECK(view_backward_ok(e, x));
  const float *gx = nn_tensor_data(x->grad); /* row i: 8 gradients of 4i+1 .. 4i+4 (+12, +0) */
  CHECK(gx[0] == 1 + 2 + 3 + 4 + 13 + 14 + 15 + 16);
  nn_tensor_release(e), nn_tensor_release(x);
}

static void test_clone(void) {
  nn_tensor *x = leaf(2, SHAPE(2, 3)), *xt = alias(x);
  CHECK(nn_permute(xt, x, &(nn_permute_args){{1, 0}}) == NN_OK);
  nn_tensor *c = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(3, 2));
  CHECK(nn_clone(c, xt) == NN_OK && c->grad_fn->op == NN_OP_COPY);
  const float *pc = nn_tensor_data(c);
  CHECK(pc[0] == 1 && pc[1] == 4 && pc[2] == 2 && pc[5] == 6);
  nn_tensor *g = counting(2, SHAPE(3, 2));
  CHECK(nn_backward(c, g, false).status == NN_BACKWARD_OK);
  const float *gx = nn_tensor_data(x->grad); /* x.grad = g transposed */
  CHECK(gx[0] == 1 && gx[1] == 3 && gx[2] == 5 && gx[3] == 2 && gx[5] == 6);
  nn_tensor_release(g), nn_tensor_release(c), nn_tensor_release(xt), nn_tensor_release(x);
  /* an int64 source converts, and is not recorded */
  nn_tensor *i = nn_tensor_zeros(NN_INT64, 1, SHAPE(2)), *f = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(2));
  ((int64_t *)nn_tensor_data(i))[1] = 7;
  CHECK(nn_clone(f, i) == NN_OK && !f->grad_fn && ((float *)nn_tensor_data(f))[1] == 7);
  nn_tensor_release(i), nn_tensor_release(f);
}

static void test_cat_stack(void) {
  /* cat [2,3] and [2,1] (no gradient wanted) along dim 1 */
  nn_tensor *a = leaf(2, SHAPE(2, 3)), *b = counting(2, SHAPE(2, 1));
  nn_tensor *ins[2] = {a, b};
  nn_cat_args cat = {.dim = 1};
  int64_t shape[NN_MAX_DIMS];
  CHECK(nn_cat_shape(2, ins, &cat, shape) == -1 && shape[0] == 2 && shape[1] == 4);
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, shape);
  CHECK(nn_cat(out, 2, ins, &cat) == NN_OK && out->grad_fn->op == NN_OP_CAT);
  const float *po = nn_tensor_data(out);
  CHECK(po[0] == 1 && po[2] == 3 && po[3] == 1 && po[4] == 4 && po[7] == 2);
  nn_tensor *g = counting(2, shape);
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK && !b->grad);
  const float *ga = nn_tensor_data(a->grad);
  CHECK(ga[0] == 1 && ga[2] == 3 && ga[3] == 5 && ga[5] == 7);
  nn_tensor_release(out), nn_tensor_release(g);
  cat.dim = 0; /* [2,3] and [2,1] differ in dim 1 */
  CHECK(nn_cat_shape(2, ins, &cat, shape) == 1);

  /* stack a and a (used twice: the gradients add) along a new dim 1 */
  nn_cat_args stack = {.dim = 1, .stacked = true};
  ins[1] = a;
  CHECK(nn_cat_shape(2, ins, &stack, shape) == -1 && shape[0] == 2 && shape[1] == 2 && shape[2] == 3);
  out = nn_tensor_empty(NN_FLOAT32, 3, shape);
  CHECK(nn_cat(out, 2, ins, &stack) == NN_OK);
  CHECK(((float *)nn_tensor_data(out))[3] == 1 && ((float *)nn_tensor_data(out))[6] == 4);
  g = counting(3, shape);
  nn_tensor_release(a->grad);
  a->grad = NULL;
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK);
  ga = nn_tensor_data(a->grad); /* a[i,k] gets g[i,0,k] + g[i,1,k] */
  CHECK(ga[0] == 1 + 4 && ga[4] == 8 + 11);
  nn_tensor_release(out), nn_tensor_release(g);
  ins[1] = b; /* [2,1] is not [2,3] */
  CHECK(nn_cat_shape(2, ins, &stack, shape) == 1);

  /* int64 into a float32 out converts; nothing needs a gradient: no node */
  nn_tensor *i = nn_tensor_zeros(NN_INT64, 2, SHAPE(2, 1));
  ins[0] = b, ins[1] = i;
  cat.dim = 1;
  out = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(2, 2));
  CHECK(nn_cat(out, 2, ins, &cat) == NN_OK && !out->grad_fn);
  CHECK(((float *)nn_tensor_data(out))[2] == 2 && ((float *)nn_tensor_data(out))[3] == 0);
  nn_tensor_release(out), nn_tensor_release(i), nn_tensor_release(a), nn_tensor_release(b);
}

/* With recording off, views and copies make no node. */
static void test_no_grad(void) {
  nn_set_grad_enabled(false);
  nn_tensor *x = leaf(2, SHAPE(2, 3)), *v = alias(x), *c = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(2, 3));
  CHECK(nn_reshape(v, x, 1, SHAPE(6)) == NN_OK && !v->grad_fn);
  CHECK(nn_clone(c, x) == NN_OK && !c->grad_fn);
  nn_set_grad_enabled(true);
  nn_tensor_release(v), nn_tensor_release(c), nn_tensor_release(x);
}

int main(void) {
  RUN(test_view_select_narrow);
  RUN(test_reshape);
  RUN(test_squeeze_unsqueeze_flatten);
  RUN(test_permute);
  RUN(test_narrow_select);
  RUN(test_expand);
  RUN(test_clone);
  RUN(test_cat_stack);
  RUN(test_no_grad);
  CHECK(nn_memory_stats_get().live_count == 0);
  return check_summary();
}
