/* nn_linear against a naive loop, forward and backward through
 * nn_backward: contiguous and strided operands, 3-D input, no bias,
 * recording only when wanted, and every allocation failing in turn. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_linear.h"

static nn_tensor *filled(int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  float *p = nn_tensor_data(t);
  for (int64_t i = 0; i < nn_tensor_numel(t); i++) p[i] = (float)rnd();
  return t;
}

/* The transpose of a fresh [cols, rows] tensor: a [rows, cols] view. */
static nn_tensor *transposed(int64_t rows, int64_t cols) {
  nn_tensor *base = filled(2, (int64_t[]){cols, rows});
  nn_tensor *t = nn_tensor_view(base, 2, (int64_t[]){rows, cols}, (int64_t[]){1, rows}, 0);
  nn_tensor_release(base);
  return t;
}

/* Element (i, j) of a 2-D tensor, or element i of a 1-D one (j = 0). */
static double at(const nn_tensor *t, int64_t i, int64_t j) {
  const float *p = nn_tensor_data(t);
  return p[i * t->stride[0] + (t->ndim > 1 ? j * t->stride[1] : 0)];
}

/* x [M, K] (any strides), w [O, K], b [O] or NULL: y = x w^T + b, then
 * with gradient g, gx = g w, gw = g^T x, gb = column sums of g. */
static void check_linear(nn_tensor *x, nn_tensor *w, nn_tensor *b) {
  int64_t M = x->shape[0], K = x->shape[1], O = w->shape[0];
  x->requires_grad = w->requires_grad = true;
  if (b) b->requires_grad = true;
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){M, O});
  CHECK(nn_linear(y, x, w, b) == NN_OK);
  CHECK(y->grad_fn && y->grad_fn->op == NN_OP_LINEAR);
  double err = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t o = 0; o < O; o++) {
      double want = b ? at(b, o, 0) : 0;
      for (int64_t k = 0; k < K; k++) want += at(x, i, k) * at(w, o, k);
      err = fmax(err, fabs(at(y, i, o) - want));
    }
  CHECK_NEAR(err, 0, 1e-5);
  nn_tensor *g = filled(2, y->shape);
  CHECK(nn_backward(y, g, false).status == NN_BACKWARD_OK);
  double ex = 0, ew = 0, eb = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t k = 0; k < K; k++) {
      double want = 0;
      for (int64_t o = 0; o < O; o++) want += at(g, i, o) * at(w, o, k);
      ex = fmax(ex, fabs(at(x->grad, i, k) - want));
    }
  for (int64_t o = 0; o < O; o++) {
    double sum = 0;
    for (int64_t k = 0; k < K; k++) {
      double want = 0;
      for (int64_t i = 0; i < M; i++) want += at(g, i, o) * at(x, i, k);
      ew = fmax(ew, fabs(at(w->grad, o, k) - want));
    }
    for (int64_t i = 0; i < M; i++) sum += at(g, i, o);
    if (b) eb = fmax(eb, fabs(at(b->grad, o, 0) - sum));
  }
  CHECK_NEAR(ex, 0, 1e-5);
  CHECK_NEAR(ew, 0, 1e-5);
  CHECK_NEAR(eb, 0, 1e-5);
  nn_tensor_release(g);
  nn_tensor_release(y);
  nn_tensor_release(x);
  nn_tensor_release(w);
  nn_tensor_release(b);
}

static void test_contiguous(void) {
  check_linear(filled(2, (int64_t[]){5, 4}), filled(2, (int64_t[]){3, 4}), filled(1, (int64_t[]){3}));
  check_linear(filled(2, (int64_t[]){5, 4}), filled(2, (int64_t[]){3, 4}), NULL);
  /* large enough for BLAS's blocked path */
  check_linear(filled(2, (int64_t[]){70, 130}), filled(2, (int64_t[]){33, 130}), filled(1, (int64_t[]){33}));
}

/* Strided x and w are copied contiguous first; so is a strided bias. */
static void test_strided(void) {
  check_linear(transposed(5, 4), transposed(3, 4), filled(1, (int64_t[]){3}));
  nn_tensor *bbase = filled(1, (int64_t[]){6});
  nn_tensor *b = nn_tensor_view(bbase, 1, (int64_t[]){3}, (int64_t[]){2}, 1);
  nn_tensor_release(bbase);
  check_linear(filled(2, (int64_t[]){5, 4}), transposed(3, 4), b);
}

/* [2, 3, K] is read as [6, K]; the output keeps the leading dims. */
static void test_3d_input(void) {
  nn_tensor *x = filled(3, (int64_t[]){2, 3, 4}), *w = filled(2, (int64_t[]){5, 4});
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 3, (int64_t[]){2, 3, 5});
  nn_tensor *y2 = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){6, 5});
  nn_tensor *x2 = nn_tensor_view(x, 2, (int64_t[]){6, 4}, (int64_t[]){4, 1}, 0);
  CHECK(nn_linear(y, x, w, NULL) == NN_OK);
  CHECK(nn_linear(y2, x2, w, NULL) == NN_OK);
  CHECK(memcmp(nn_tensor_data(y), nn_tensor_data(y2), 30 * sizeof(float)) == 0);
  CHECK(!y->grad_fn); /* nothing wanted a gradient */
  nn_tensor *all[] = {x, w, y, y2, x2};
  for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
}

static void test_no_grad(void) {
  nn_tensor *x = filled(2, (int64_t[]){2, 3}), *w = filled(2, (int64_t[]){4, 3});
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){2, 4});
  w->requires_grad = true;
  nn_set_grad_enabled(false);
  CHECK(nn_linear(y, x, w, NULL) == NN_OK);
  nn_set_grad_enabled(true);
  CHECK(!y->grad_fn);
  nn_tensor_release(x);
  nn_tensor_release(w);
  nn_tensor_release(y);
}

/* Each allocation (the copies, the node) failing in turn: NN_ERR_NOMEM,
 * nothing leaked (the sanitizer build checks), then success. */
static void test_out_of_memory(void) {
  nn_tensor *x = transposed(4, 3), *w = transposed(2, 3);
  x->requires_grad = true;
  nn_status st = NN_ERR_NOMEM;
  int failures = 0;
  for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
    nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){4, 2});
    nn_alloc_fail_after(n);
    st = nn_linear(y, x, w, NULL);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(y);
  }
  CHECK(st == NN_OK);
  CHECK(failures >= 3); /* two copies and the node */
  nn_tensor_release(x);
  nn_tensor_release(w);
}

int main(void) {
  RUN(test_contiguous);
  RUN(test_strided);
  RUN(test_3d_input);
  RUN(test_no_grad);
  RUN(test_out_of_memory);
  return check_summary();
}
