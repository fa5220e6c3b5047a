/* nn_batch_norm against naive double loops: training normalizes with the
 * batch statistics and moves the running ones (unbiased variance), eval
 * normalizes with the running ones and leaves them; the gradients through
 * nn_backward in both modes; strided input; eval without running
 * statistics refused; every allocation failing in turn. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_norm.h"

enum { NB = 4, C = 3, H = 2, W = 5, S = H * W };
static const double EPS = 1e-3, MOMENTUM = 0.3;

static nn_tensor *filled(int ndim, const int64_t *shape, double lo) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  float *p = nn_tensor_data(t);
  for (int64_t i = 0; i < nn_tensor_numel(t); i++) p[i] = (float)(lo + rnd() + 1);
  return t;
}

/* x [NB, C, H, W] as the permute of a contiguous [NB, C, W, H]. */
static nn_tensor *input(void) {
  nn_tensor *base = filled(4, (int64_t[]){NB, C, W, H}, -1);
  nn_tensor *x = nn_tensor_view(base, 4, (int64_t[]){NB, C, H, W}, (int64_t[]){C * S, S, 1, H}, 0);
  nn_tensor_release(base);
  return x;
}

static double at(const nn_tensor *t, int64_t n, int64_t c, int64_t s) {
  return ((const float *)nn_tensor_data(t))[n * t->stride[0] + c * t->stride[1] + (s / W) * t->stride[2] +
                                            (s % W) * t->stride[3]];
}
static double ch(const nn_tensor *t, int64_t c) { return ((const float *)nn_tensor_data(t))[c]; }

static void check_mode(bool training) {
  nn_tensor *x = input(), *w = filled(1, (int64_t[]){C}, 0), *b = filled(1, (int64_t[]){C}, -1);
  nn_tensor *rm = filled(1, (int64_t[]){C}, -1), *rv = filled(1, (int64_t[]){C}, 0);
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, x->shape), *g = filled(4, x->shape, -1);
  double rm0[C], rv0[C];
  for (int c = 0; c < C; c++) rm0[c] = ch(rm, c), rv0[c] = ch(rv, c);
  x->requires_grad = w->requires_grad = b->requires_grad = true;
  nn_batch_norm_args args = {.training = training, .momentum = MOMENTUM, .eps = EPS};
  CHECK(nn_batch_norm(out, x, w, b, rm, rv, &args) == NN_OK);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_BATCH_NORM && out->grad_fn->args.batch_norm.training == training);
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK);
  double ey = 0, ex = 0, ew = 0, eb = 0, count = NB * S;
  for (int64_t c = 0; c < C; c++) {
    double mean = 0, var = 0, sg = 0, sgx = 0;
    for (int64_t n = 0; n < NB; n++)
      for (int64_t s = 0; s < S; s++) mean += at(x, n, c, s) / count;
    for (int64_t n = 0; n < NB; n++)
      for (int64_t s = 0; s < S; s++) var += (at(x, n, c, s) - mean) * (at(x, n, c, s) - mean) / count;
    if (training) {
      CHECK_NEAR(ch(rm, c), (1 - MOMENTUM) * rm0[c] + MOMENTUM * mean, 1e-5);
      CHECK_NEAR(ch(rv, c), (1 - MOMENTUM) * rv0[c] + MOMENTUM * var * count / (count - 1), 1e-5);
    } else {
      CHECK(ch(rm, c) == rm0[c] && ch(rv, c) == rv0[c]);
      mean = rm0[c], var = rv0[c];
    }
    double invstd = 1 / sqrt(var + EPS);
    for (int64_t n = 0; n < NB; n++)
      for (int64_t s = 0; s < S; s++) {
        double xhat = (at(x, n, c, s) - mean) * invstd;
        ey = fmax(ey, fabs(at(out, n, c, s) - (xhat * ch(w, c) + ch(b, c))));
        sg += at(g, n, c, s);
        sgx += at(g, n, c, s) * xhat;
      }
    ew = fmax(ew, fabs(ch(w->grad, c) - sgx));
    eb = fmax(eb, fabs(ch(b->grad, c) - sg));
    /* Training: the batch statistics depend on x too. */
    for (int64_t n = 0; n < NB; n++)
      for (int64_t s = 0; s < S; s++) {
        double xhat = (at(x, n, c, s) - mean) * invstd;
        double want = ch(w, c) * invstd * (at(g, n, c, s) - (training ? sg / count + xhat * sgx / count : 0));
        ex = fmax(ex, fabs(at(x->grad, n, c, s) - want));
      }
  }
  CHECK_NEAR(ey, 0, 1e-5);
  CHECK_NEAR(ex, 0, 1e-5);
  CHECK_NEAR(ew, 0, 1e-4);
  CHECK_NEAR(eb, 0, 1e-5);
  nn_tensor *all[] = {x, w, b, rm, rv, out, g};
  for (int i = 0; i < 7; i++) nn_tensor_release(all[i]);
}

static void test_training(void) { check_mode(true); }
static void test_eval(void) { check_mode(false); }

/* No affine parameters and no running statistics, in training on [N, C]:
 * zero mean and unit (biased) variance per channel. */
static void test_plain_2d(void) {
  nn_tensor *x = filled(2, (int64_t[]){8, C}, 2), *out = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  nn_batch_norm_args args = {.training = true, .momentum = 0.1, .eps = 1e-5};
  CHECK(nn_batch_norm(out, x, NULL, NULL, NULL, NULL, &args) == NN_OK);
  CHECK(!out->grad_fn);
  const float *y = nn_tensor_data(out);
  for (int c = 0; c < C; c++) {
    double sum = 0, sq = 0;
    for (int n = 0; n < 8; n++) sum += y[n * C + c], sq += y[n * C + c] * y[n * C + c];
    CHECK_NEAR(sum / 8, 0, 1e-5);
    CHECK_NEAR(sq / 8, 1, 1e-3);
  }
  nn_tensor_release(x);
  nn_tensor_release(out);
}

static void test_eval_needs_running_stats(void) {
  nn_tensor *x = filled(2, (int64_t[]){2, C}, 0), *out = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  nn_tensor *rm = filled(1, (int64_t[]){C}, 0);
  nn_batch_norm_args args = {.training = false, .momentum = 0.1, .eps = 1e-5};
  CHECK(nn_batch_norm(out, x, NULL, NULL, rm, NULL, &args) == NN_ERR_VALUE);
  CHECK(strcmp(nn_error_message(), "eval mode needs running_mean and running_var") == 0);
  nn_tensor_release(x);
  nn_tensor_release(out);
  nn_tensor_release(rm);
}

static void test_out_of_memory(void) {
  nn_tensor *x = input(), *w = filled(1, (int64_t[]){C}, 0);
  w->requires_grad = true;
  nn_batch_norm_args args = {.training = true, .momentum = 0.1, .eps = 1e-5};
  nn_status st = NN_ERR_NOMEM;
  int failures = 0;
  for (uint64_t n = 1; n < 30 && st == NN_ERR_NOMEM; n++) {
    nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, x->shape);
    nn_alloc_fail_after(n);
    st = nn_batch_norm(out, x, w, NULL, NULL, NULL, &args);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(out);
  }
  CHECK(st == NN_OK);
  CHECK(failures >= 4); /* mean, invstd, the copy and the node */
  nn_tensor_release(x);
  nn_tensor_release(w);
}

int main(void) {
  RUN(test_training);
  RUN(test_eval);
  RUN(test_plain_2d);
  RUN(test_eval_needs_running_stats);
  RUN(test_out_of_memory);
  return check_summary();
}
