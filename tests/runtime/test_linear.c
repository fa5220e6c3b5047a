/* nn_linear against a naive loop, forward and backward through
 * nn_backward: contiguous and strided operands, 3-D input, no bias,
 * recording only when wanted, every allocation failing in turn, and the
 * gradient buffers the backward writes without their being zeroed. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_elementwise.h"
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

/* The larger error, NaN winning (fmax would drop it). */
static double worse(double err, double d) { return d > err || isnan(d) ? d : err; }

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
      err = worse(err, fabs(at(y, i, o) - want));
    }
  CHECK_NEAR(err, 0, 1e-5);
  nn_tensor *g = filled(2, y->shape);
  CHECK(nn_backward(y, g, false).status == NN_BACKWARD_OK);
  double ex = 0, ew = 0, eb = 0;
  for (int64_t i = 0; i < M; i++)
    for (int64_t k = 0; k < K; k++) {
      double want = 0;
      for (int64_t o = 0; o < O; o++) want += at(g, i, o) * at(w, o, k);
      ex = worse(ex, fabs(at(x->grad, i, k) - want));
    }
  for (int64_t o = 0; o < O; o++) {
    double sum = 0;
    for (int64_t k = 0; k < K; k++) {
      double want = 0;
      for (int64_t i = 0; i < M; i++) want += at(g, i, o) * at(x, i, k);
      ew = worse(ew, fabs(at(w->grad, o, k) - want));
    }
    for (int64_t i = 0; i < M; i++) sum += at(g, i, o);
    if (b) eb = worse(eb, fabs(at(b->grad, o, 0) - sum));
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

/* Puts NaN-filled blocks of these shapes in the allocator's cache, where
 * the next buffers of the same sizes come from. */
static void poison(int count, const int64_t (*shapes)[2]) {
  nn_tensor *t[8];
  for (int i = 0; i < count; i++) {
    t[i] = nn_tensor_empty(NN_FLOAT32, shapes[i][1] ? 2 : 1, shapes[i]);
    nn_fill(t[i], NAN);
  }
  for (int i = 0; i < count; i++) nn_tensor_release(t[i]);
}

/* y = linear(relu(linear(x, w1, b1)), w2): with grad buffers that do not
 * exist yet, linear and relu write them (nn_grad_is_fresh) over recycled
 * NaN blocks; with buffers the caller zeroed first, they add into them.
 * Both give the same gradients. */
static void two_layers(bool preset, float *gx, float *gw1, float *gb1) {
  enum { M = 9, K = 40, H = 33, O = 5 };
  rng_state = 11;
  nn_tensor *x = filled(2, (int64_t[]){M, K}), *w1 = filled(2, (int64_t[]){H, K});
  nn_tensor *b1 = filled(1, (int64_t[]){H}), *w2 = filled(2, (int64_t[]){O, H});
  nn_tensor *g = filled(2, (int64_t[]){M, O});
  x->requires_grad = w1->requires_grad = b1->requires_grad = true;
  if (preset) {
    x->grad = nn_tensor_zeros(NN_FLOAT32, 2, x->shape);
    w1->grad = nn_tensor_zeros(NN_FLOAT32, 2, w1->shape);
    b1->grad = nn_tensor_zeros(NN_FLOAT32, 1, b1->shape);
  }
  nn_tensor *h = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){M, H});
  nn_tensor *r = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){M, H});
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){M, O});
  CHECK(nn_linear(h, x, w1, b1) == NN_OK);
  CHECK(nn_apply_unary(NN_OP_RELU, r, h) == NN_OK);
  CHECK(r->grad_fn && r->grad_fn->op == NN_OP_RELU);
  CHECK(nn_linear(y, r, w2, NULL) == NN_OK);
  poison(4, (const int64_t[][2]){{M, K}, {H, K}, {H, 0}, {M, H}});
  CHECK(nn_backward(y, g, false).status == NN_BACKWARD_OK);
  memcpy(gx, nn_tensor_data(x->grad), sizeof(float) * M * K);
  memcpy(gw1, nn_tensor_data(w1->grad), sizeof(float) * H * K);
  memcpy(gb1, nn_tensor_data(b1->grad), sizeof(float) * H);
  nn_tensor *all[] = {x, w1, b1, w2, g, h, r, y};
  for (int i = 0; i < 8; i++) nn_tensor_release(all[i]);
}

static void test_fresh_buffers(void) {
  float fx[9 * 40], fw[33 * 40], fb[33], zx[9 * 40], zw[33 * 40], zb[33];
  two_layers(false, fx, fw, fb);
  two_layers(true, zx, zw, zb);
  int differ = 0; /* == so that NaN counts as a difference */
  for (int i = 0; i < 9 * 40; i++) differ += !(fx[i] == zx[i]);
  for (int i = 0; i < 33 * 40; i++) differ += !(fw[i] == zw[i]);
  for (int i = 0; i < 33; i++) differ += !(fb[i] == zb[i]);
  CHECK(differ == 0);
}

/* linear(a, a): both edges feed a's one buffer, so neither overwrites:
 * a.grad = g a + g^T a. */
static void test_shared_buffer(void) {
  enum { N = 6 };
  nn_tensor *a = filled(2, (int64_t[]){N, N}), *g = filled(2, (int64_t[]){N, N});
  a->requires_grad = true;
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){N, N});
  CHECK(nn_linear(y, a, a, NULL) == NN_OK);
  poison(1, (const int64_t[][2]){{N, N}});
  CHECK(nn_backward(y, g, false).status == NN_BACKWARD_OK);
  double err = 0;
  for (int64_t i = 0; i < N; i++)
    for (int64_t k = 0; k < N; k++) {
      double want = 0;
      for (int64_t o = 0; o < N; o++) want += at(g, i, o) * at(a, o, k) + at(g, o, i) * at(a, o, k);
      err = worse(err, fabs(at(a->grad, i, k) - want));
    }
  CHECK_NEAR(err, 0, 1e-5);
  nn_tensor_release(a), nn_tensor_release(g), nn_tensor_release(y);
}

int main(void) {
  RUN(test_contiguous);
  RUN(test_strided);
  RUN(test_3d_input);
  RUN(test_no_grad);
  RUN(test_out_of_memory);
  RUN(test_fresh_buffers);
  RUN(test_shared_buffer);
  return check_summary();
}
