/* The activations (nn_activation.h) and the vector-math helpers they
 * share with the losses (nn_vecmath.h): kernels against naive
 * double-precision loops, and the entry points forward and backward
 * (through nn_backward) on strided inputs, with their node arguments,
 * no-grad mode and out-of-memory paths. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_vecmath.h"
#include "tensors.h"

#define MAXN 512

static float *data(const nn_tensor *t) { return nn_tensor_data(t); }

/* ---- the vectorizable exp ---- */

static void test_exp_vec(void) {
  double worst = 0;
  for (float x = -87.3f; x <= 88; x += 0.000917f) {
    double want = exp((double)x), rel = fabs(nn_exp_vec(x) - want) / want;
    worst = rel > worst ? rel : worst;
  }
  CHECK(worst < 2.5 * 5.97e-8); /* within 2.5 ulp of the exact value */
  CHECK(nn_exp_vec(0) == 1 && nn_exp_vec(-0.0f) == 1);
  CHECK(nn_exp_vec(-INFINITY) == 0 && nn_exp_vec(-1e30f) == 0 && nn_exp_vec(-87.4f) == 0);
  CHECK(nn_exp_vec(INFINITY) == INFINITY && nn_exp_vec(1e30f) == INFINITY);
  CHECK(isnan(nn_exp_vec(NAN)));
  CHECK_NEAR(nn_exp_vec(-87.3f) / exp((double)-87.3f), 1, 1e-6);
  float sum_lanes[300];
  for (int i = 0; i < 300; i++) sum_lanes[i] = (float)i;
  CHECK(nn_lane_sum(sum_lanes, 300) == 44850);
  CHECK(nn_lane_sum(sum_lanes, 5) == 10);
  CHECK(nn_row_max(sum_lanes, 300, 1) == 299 && nn_row_max(sum_lanes, 100, 3) == 297);
  CHECK(nn_row_max(sum_lanes, 0, 1) == -INFINITY);
}

/* ---- softmax ---- */

static void naive_softmax(double *y, const float *x, int64_t M, int64_t C, int64_t S, bool logp) {
  for (int64_t m = 0; m < M; m++)
    for (int64_t s = 0; s < S; s++) {
      const float *r = x + m * C * S + s;
      double mx = -INFINITY, sum = 0;
      for (int64_t c = 0; c < C; c++) mx = fmax(mx, r[c * S]);
      for (int64_t c = 0; c < C; c++) sum += exp(r[c * S] - mx);
      for (int64_t c = 0; c < C; c++) {
        double lp = r[c * S] - mx - log(sum);
        y[m * C * S + s + c * S] = logp ? lp : exp(lp);
      }
    }
}

static void test_softmax(void) {
  const int64_t shapes[][3] = {{3, 5, 1}, {2, 4, 3}, {1, 1, 1}, {4, 7, 2}};
  for (int k = 0; k < 4; k++)
    for (int logp = 0; logp < 2; logp++) {
      int64_t M = shapes[k][0], C = shapes[k][1], S = shapes[k][2], n = M * C * S;
      float x[MAXN], y[MAXN], gy[MAXN], gx[MAXN];
      double want[MAXN], yd[MAXN];
      fill_uniform(x, n, -4, 4);
      fill_uniform(gy, n, -1, 1);
      nn_kernel_softmax_forward(y, x, M, C, S, logp);
      naive_softmax(yd, x, M, C, S, logp);
      int bad = 0;
      for (int64_t i = 0; i < n; i++) bad += !near(y[i], yd[i], 1e-6);
      CHECK(bad == 0);
      /* Jacobian-vector product from the definition, in double. */
      for (int64_t m = 0; m < M; m++)
        for (int64_t s = 0; s < S; s++)
          for (int64_t c = 0; c < C; c++) {
            double acc = 0;
            for (int64_t j = 0; j < C; j++) {
              int64_t oc = m * C * S + s + c * S, oj = m * C * S + s + j * S;
              double p = logp ? exp(yd[oj]) : yd[oj], pc = logp ? exp(yd[oc]) : yd[oc];
              acc += logp ? gy[oj] * ((j == c) - pc) : gy[oj] * p * ((j == c) - pc);
            }
            want[m * C * S + s + c * S] = acc;
          }
      for (int64_t i = 0; i < n; i++) gx[i] = 0.5f;
      nn_kernel_softmax_backward(gx, gy, y, M, C, S, logp);
      CHECK(check_added(gx, 0.5f, want, n, 1e-5) == 0);
    }
}

static void test_softmax_extreme(void) {
  float x[8] = {1000, -1000, 0, 999, -1000, -1000, -1000, -1000}, y[8];
  nn_kernel_softmax_forward(y, x, 2, 4, 1, true);
  for (int i = 0; i < 8; i++) CHECK(isfinite(y[i]));
  CHECK_NEAR(y[0], -log1p(exp(-1.0)), 1e-6);
  CHECK_NEAR(y[1], -2000 - log1p(exp(-1.0)), 1e-3);
  CHECK_NEAR(y[4], -log(4.0), 1e-6);
  nn_kernel_softmax_forward(y, x, 2, 4, 1, false);
  CHECK_NEAR(y[0] + y[1] + y[2] + y[3], 1, 1e-6);
  CHECK(y[1] == 0);
  CHECK_NEAR(y[5], 0.25, 1e-7);
}

/* ---- leaky ReLU and ELU through their entry points ---- */

/* A [3, 4] base read through its transpose [4, 3] (strides {1, 4}): the
 * value at (i, j) of the view is b[j * 4 + i]. */
static void test_leaky_relu_elu(void) {
  nn_tensor *base = uniform_tensor(2, (int64_t[]){3, 4}, -3, 3);
  float *b = data(base);
  b[5] = 0;
  nn_tensor *xt = nn_tensor_view(base, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4}, 0);
  xt->requires_grad = true;
  nn_tensor *gy = uniform_tensor(2, xt->shape, -1, 1);
  for (int k = 0; k < 2; k++) {
    float a = k ? 0.5f : 0.1f;
    nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, xt->shape);
    nn_status st = k ? nn_elu(y, xt, &(nn_elu_args){a}) : nn_leaky_relu(y, xt, &(nn_leaky_relu_args){a});
    CHECK(st == NN_OK && y->grad_fn);
    CHECK(y->grad_fn->op == (k ? NN_OP_ELU : NN_OP_LEAKY_RELU));
    CHECK((k ? y->grad_fn->args.elu.alpha : y->grad_fn->args.leaky_relu.slope) == a);
    CHECK(nn_backward(y, gy, false).status == NN_BACKWARD_OK);
    int bad = 0;
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 3; j++) {
        double v = b[j * 4 + i], g = data(gy)[i * 3 + j];
        double want = v > 0 ? v : k ? a * (exp(v) - 1) : a * v, dwant = v > 0 ? 1 : k ? a * exp(v) : a;
        bad += !near(data(y)[i * 3 + j], want, 1e-6);
        bad += !near(data(xt->grad)[i * 3 + j], g * dwant, 1e-6);
      }
    CHECK(bad == 0);
    nn_tensor_release(xt->grad);
    xt->grad = NULL;
    nn_tensor_release(y);
  }
  nn_tensor_release(gy);
  nn_tensor_release(xt);
  nn_tensor_release(base);
}

/* ---- hardtanh, GELU, SiLU, softplus through their entry points ---- */

/* The value and derivative of each op at v in double precision. */
static void pointwise_ref(int op, double v, double *y, double *dy) {
  switch (op) {
  case 0: /* hardtanh(-0.5, 2) */
    *y = v < -0.5 ? -0.5 : v > 2 ? 2 : v;
    *dy = v <= -0.5 || v >= 2 ? 0 : 1;
    break;
  case 1: /* gelu, exact */
    *y = 0.5 * v * (1 + erf(v / sqrt(2)));
    *dy = 0.5 * (1 + erf(v / sqrt(2))) + v * exp(-v * v / 2) / sqrt(2 * M_PI);
    break;
  case 2: { /* gelu, tanh */
    double k = sqrt(2 / M_PI), u = k * (v + 0.044715 * v * v * v), t = tanh(u);
    *y = 0.5 * v * (1 + t);
    *dy = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v);
    break;
  }
  case 3: { /* silu */
    double sg = 1 / (1 + exp(-v));
    *y = v * sg;
    *dy = sg * (1 + v * (1 - sg));
    break;
  }
  default: /* softplus(beta 2, threshold 3) */
    *y = 2 * v > 3 ? v : log1p(exp(2 * v)) / 2;
    *dy = 2 * v > 3 ? 1 : exp(2 * v) / (1 + exp(2 * v));
  }
}

/* Each op on a transposed [4, 3] view (with values at the hardtanh bounds
 * and the softplus threshold) against pointwise_ref, forward and backward
 * through nn_backward, with its node arguments. */
static void test_pointwise_entry(void) {
  nn_tensor *base = uniform_tensor(2, (int64_t[]){3, 4}, -4, 4);
  float *b = data(base);
  b[1] = -0.5f, b[2] = 2, b[3] = 1.5f, b[4] = 0;
  nn_tensor *xt = nn_tensor_view(base, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4}, 0);
  xt->requires_grad = true;
  nn_tensor *gy = uniform_tensor(2, xt->shape, -1, 1);
  const nn_op ops[] = {NN_OP_HARDTANH, NN_OP_GELU, NN_OP_GELU, NN_OP_SILU, NN_OP_SOFTPLUS};
  for (int k = 0; k < 5; k++) {
    nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, xt->shape);
    nn_status st = k == 0   ? nn_hardtanh(y, xt, &(nn_hardtanh_args){-0.5f, 2})
                   : k <= 2 ? nn_gelu(y, xt, &(nn_gelu_args){k == 2})
                   : k == 3 ? nn_silu(y, xt)
                            : nn_softplus(y, xt, &(nn_softplus_args){2, 3});
    CHECK(st == NN_OK && y->grad_fn && y->grad_fn->op == ops[k]);
    if (k == 0) CHECK(y->grad_fn->args.hardtanh.min_val == -0.5f && y->grad_fn->args.hardtanh.max_val == 2);
    if (k == 2) CHECK(y->grad_fn->args.gelu.tanh);
    if (k == 4) CHECK(y->grad_fn->args.softplus.beta == 2 && y->grad_fn->args.softplus.threshold == 3);
    CHECK(nn_backward(y, gy, false).status == NN_BACKWARD_OK);
    int bad = 0;
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 3; j++) {
        double v = b[j * 4 + i], g = data(gy)[i * 3 + j], want, dwant;
        pointwise_ref(k, v, &want, &dwant);
        bad += !near(data(y)[i * 3 + j], want, 1e-6);
        bad += !near(data(xt->grad)[i * 3 + j], g * dwant, 1e-5);
      }
    CHECK(bad == 0);
    nn_tensor_release(xt->grad);
    xt->grad = NULL;
    nn_tensor_release(y);
  }
  /* No node without grad mode; a failed node allocation leaks nothing. */
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, xt->shape);
  nn_set_grad_enabled(false);
  CHECK(nn_silu(y, xt) == NN_OK && !y->grad_fn);
  nn_set_grad_enabled(true);
  nn_tensor_release(y);
  uint64_t live = nn_memory_stats_get().live_bytes;
  int failures = 0;
  nn_status st = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 10 && st == NN_ERR_NOMEM; n++) {
    y = nn_tensor_empty(NN_FLOAT32, 2, xt->shape);
    nn_alloc_fail_after(n);
    st = nn_gelu(y, xt, &(nn_gelu_args){false});
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(y);
    CHECK(nn_memory_stats_get().live_bytes == live);
  }
  CHECK(failures >= 1 && st == NN_OK);
  nn_tensor_release(gy);
  nn_tensor_release(xt);
  nn_tensor_release(base);
}

/* ---- softmax through its entry points ---- */

/* softmax / log-softmax of a transposed [5, 3, 4] view along each dim
 * equal the kernel on a contiguous copy (bit for bit), and the gradient
 * through nn_backward equals the backward kernel's. */
static void test_softmax_entry(void) {
  nn_tensor *base = uniform_tensor(3, (int64_t[]){4, 3, 5}, -4, 4);
  nn_tensor *x = nn_tensor_view(base, 3, (int64_t[]){5, 3, 4}, (int64_t[]){1, 5, 15}, 0);
  x->requires_grad = true;
  nn_tensor *xc = nn_tensor_empty(NN_FLOAT32, 3, x->shape);
  nn_copy(xc, x);
  nn_tensor *gy = uniform_tensor(3, x->shape, -1, 1);
  float want[60], gwant[60];
  for (int dim = 0; dim < 3; dim++)
    for (int logp = 0; logp < 2; logp++) {
      int64_t M = 1, C = x->shape[dim], S = 1;
      for (int i = 0; i < dim; i++) M *= x->shape[i];
      for (int i = dim + 1; i < 3; i++) S *= x->shape[i];
      nn_kernel_softmax_forward(want, data(xc), M, C, S, logp);
      memset(gwant, 0, sizeof gwant);
      nn_kernel_softmax_backward(gwant, data(gy), want, M, C, S, logp);
      nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 3, x->shape);
      nn_softmax_args args = {dim};
      CHECK((logp ? nn_log_softmax : nn_softmax)(y, x, &args) == NN_OK);
      CHECK(!memcmp(data(y), want, sizeof want));
      CHECK(y->grad_fn && y->grad_fn->args.softmax.dim == dim);
      CHECK(y->grad_fn->op == (logp ? NN_OP_LOG_SOFTMAX : NN_OP_SOFTMAX));
      CHECK(nn_backward(y, gy, false).status == NN_BACKWARD_OK);
      CHECK(x->grad && !memcmp(data(x->grad), gwant, sizeof gwant));
      nn_tensor_release(x->grad);
      x->grad = NULL;
      nn_tensor_release(y);
    }
  /* A 0-dim input is one row of one element. */
  nn_tensor *s = nn_tensor_empty(NN_FLOAT32, 0, NULL), *sy = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  *data(s) = 5;
  CHECK(nn_softmax(sy, s, &(nn_softmax_args){0}) == NN_OK && *data(sy) == 1);
  CHECK(nn_log_softmax(sy, s, &(nn_softmax_args){0}) == NN_OK && *data(sy) == 0);
  nn_tensor *all[] = {s, sy, gy, xc, x, base};
  for (int i = 0; i < 6; i++) nn_tensor_release(all[i]);
}

/* Nothing is recorded without grad mode; a failed allocation (the
 * contiguous copy, the node, the saved output) is reported and leaks
 * nothing. */
static void test_softmax_no_grad_and_out_of_memory(void) {
  nn_tensor *base = uniform_tensor(2, (int64_t[]){3, 4}, -2, 2);
  nn_tensor *x = nn_tensor_view(base, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4}, 0);
  x->requires_grad = true;
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
  nn_set_grad_enabled(false);
  CHECK(nn_softmax(y, x, &(nn_softmax_args){1}) == NN_OK && !y->grad_fn && !y->requires_grad);
  nn_set_grad_enabled(true);
  nn_tensor_release(y);
  uint64_t live = nn_memory_stats_get().live_bytes;
  int failures = 0;
  nn_status st = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 10 && st == NN_ERR_NOMEM; n++) {
    y = nn_tensor_empty(NN_FLOAT32, 2, x->shape);
    nn_alloc_fail_after(n);
    st = nn_softmax(y, x, &(nn_softmax_args){1});
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(y);
    CHECK(nn_memory_stats_get().live_bytes == live);
  }
  CHECK(failures >= 2 && st == NN_OK);
  nn_tensor_release(x);
  nn_tensor_release(base);
}

int main(void) {
  RUN(test_exp_vec);
  RUN(test_softmax);
  RUN(test_softmax_extreme);
  RUN(test_leaky_relu_elu);
  RUN(test_pointwise_entry);
  RUN(test_softmax_entry);
  RUN(test_softmax_no_grad_and_out_of_memory);
  return check_summary();
}
