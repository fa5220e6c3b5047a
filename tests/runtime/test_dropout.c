/* nn_dropout: the mask follows the generator's uniforms one per element
 * in order (drop where u < p), survivors scaled by 1/(1-p) (inverted) or
 * kept (classic), classic eval multiplies by 1-p, the identity cases, and
 * the gradient through nn_backward (g times the mask). */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_dropout.h"
#include "nn_random.h"

enum { ROWS = 40, COLS = 50, N = ROWS * COLS };

/* A [ROWS, COLS] view of a transposed [COLS, ROWS] tensor with no zero
 * element: strided, so nn_dropout copies it first. */
static nn_tensor *input(void) {
  nn_tensor *base = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){COLS, ROWS});
  float *p = nn_tensor_data(base);
  for (int64_t i = 0; i < N; i++) p[i] = (float)(rnd() + 2);
  nn_tensor *x = nn_tensor_view(base, 2, (int64_t[]){ROWS, COLS}, (int64_t[]){1, ROWS}, 0);
  nn_tensor_release(base);
  return x;
}

static float at(const nn_tensor *t, int64_t i) { /* row-major element i */
  int64_t r = i / COLS, c = i % COLS;
  return ((const float *)nn_tensor_data(t))[r * t->stride[0] + c * t->stride[1]];
}

/* Training: out[i] = 0 where the i-th uniform < p, else x[i] * scale; the
 * gradient of sum(out * g) is g * mask. */
static void check_training(nn_dropout_mode mode, double p, float scale) {
  nn_tensor *x = input(), *out = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  x->requires_grad = true;
  nn_rng rng, replay;
  nn_rng_seed(&rng, 42);
  replay = rng;
  nn_dropout_args args = {.p = p, .training = true, .mode = mode};
  CHECK(!nn_dropout_is_identity(&args));
  CHECK(nn_dropout(out, x, &args, &rng) == NN_OK);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_DROPOUT);
  float u[N];
  nn_rng_uniform(&replay, u, N, 0.0f, 1.0f);
  CHECK(memcmp(&rng, &replay, sizeof rng) == 0); /* exactly N draws */
  int wrong = 0, dropped = 0;
  for (int64_t i = 0; i < N; i++) {
    float want = u[i] < (float)p ? 0.0f : at(x, i) * scale;
    wrong += at(out, i) != want;
    dropped += at(out, i) == 0;
  }
  CHECK(wrong == 0);
  CHECK_NEAR((double)dropped / N, p, 0.03);
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  float *gp = nn_tensor_data(g);
  for (int64_t i = 0; i < N; i++) gp[i] = (float)rnd();
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK);
  wrong = 0;
  for (int64_t i = 0; i < N; i++) wrong += at(x->grad, i) != (u[i] < (float)p ? 0.0f : gp[i] * scale);
  CHECK(wrong == 0);
  nn_tensor_release(g);
  nn_tensor_release(out);
  nn_tensor_release(x);
}

static void test_inverted(void) { check_training(NN_DROPOUT_INVERTED, 0.3, (float)(1 / (1 - 0.3))); }
static void test_classic(void) { check_training(NN_DROPOUT_CLASSIC, 0.3, 1.0f); }
static void test_drop_all(void) {
  check_training(NN_DROPOUT_INVERTED, 1, 0.0f);
  check_training(NN_DROPOUT_CLASSIC, 1, 1.0f);
}

/* Classic eval: out = x * (1 - p), recorded as a multiply, no draw. */
static void test_classic_eval(void) {
  nn_tensor *x = input(), *out = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  x->requires_grad = true;
  nn_rng rng, before;
  nn_rng_seed(&rng, 7);
  before = rng;
  nn_dropout_args args = {.p = 0.25, .training = false, .mode = NN_DROPOUT_CLASSIC};
  CHECK(!nn_dropout_is_identity(&args));
  CHECK(nn_dropout(out, x, &args, &rng) == NN_OK);
  CHECK(memcmp(&rng, &before, sizeof rng) == 0);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_MUL);
  int wrong = 0;
  for (int64_t i = 0; i < N; i++) wrong += at(out, i) != at(x, i) * 0.75f;
  CHECK(wrong == 0);
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  nn_fill(g, 1);
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK);
  CHECK(at(x->grad, 0) == 0.75f && at(x->grad, N - 1) == 0.75f);
  nn_tensor_release(g);
  nn_tensor_release(out);
  nn_tensor_release(x);
}

/* p = 0, or inverted eval: the identity (a copy when called), no draw. */
static void test_identity(void) {
  nn_dropout_args cases[] = {
      {.p = 0, .training = true, .mode = NN_DROPOUT_INVERTED},
      {.p = 0, .training = true, .mode = NN_DROPOUT_CLASSIC},
      {.p = 0.5, .training = false, .mode = NN_DROPOUT_INVERTED},
  };
  for (int c = 0; c < 3; c++) {
    CHECK(nn_dropout_is_identity(&cases[c]));
    nn_tensor *x = input(), *out = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
    x->requires_grad = true;
    nn_rng rng, before;
    nn_rng_seed(&rng, 9);
    before = rng;
    CHECK(nn_dropout(out, x, &cases[c], &rng) == NN_OK);
    CHECK(memcmp(&rng, &before, sizeof rng) == 0);
    int wrong = 0;
    for (int64_t i = 0; i < N; i++) wrong += at(out, i) != at(x, i);
    CHECK(wrong == 0);
    CHECK(out->grad_fn && out->grad_fn->op == NN_OP_COPY);
    nn_tensor_release(out);
    nn_tensor_release(x);
  }
}

static void test_out_of_memory(void) {
  nn_tensor *x = input();
  x->requires_grad = true;
  nn_dropout_args args = {.p = 0.5, .training = true, .mode = NN_DROPOUT_INVERTED};
  nn_status st = NN_ERR_NOMEM;
  int failures = 0;
  for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
    nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
    nn_rng rng;
    nn_rng_seed(&rng, 1);
    nn_alloc_fail_after(n);
    st = nn_dropout(out, x, &args, &rng);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(out);
  }
  CHECK(st == NN_OK);
  CHECK(failures >= 3); /* the mask, the copy and the node */
  nn_tensor_release(x);
}

int main(void) {
  RUN(test_inverted);
  RUN(test_classic);
  RUN(test_drop_all);
  RUN(test_classic_eval);
  RUN(test_identity);
  RUN(test_out_of_memory);
  return check_summary();
}
