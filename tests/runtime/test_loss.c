/* The activation and loss kernels (nn_loss.h) against naive double-precision
 * loops: forward values, and backward kernels against central differences
 * of the naive forward. Also extreme logits and BCE's clamped edges. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_loss.h"

#define MAXN 512

static void fill(float *x, int64_t n, double lo, double hi) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * (rnd() + 1) / 2);
}

/* |a - b| within tol relative to 1 + |b|. */
static bool near(double a, double b, double tol) { return fabs(a - b) <= tol * (1 + fabs(b)); }

/* A loss as a function of one double array, for central differences. */
typedef double (*objective)(const double *x, const void *ctx);

static void numeric_grad(double *g, objective f, double *x, int64_t n, const void *ctx) {
  const double h = 1e-6;
  for (int64_t j = 0; j < n; j++) {
    double v = x[j];
    x[j] = v + h;
    double fp = f(x, ctx);
    x[j] = v - h;
    double fm = f(x, ctx);
    x[j] = v;
    g[j] = (fp - fm) / (2 * h);
  }
}

static void to_double(double *d, const float *f, int64_t n) {
  for (int64_t i = 0; i < n; i++) d[i] = f[i];
}

/* Every gx[i] - base matches want[i]: backward kernels add. */
static int check_added(const float *gx, float base, const double *want, int64_t n, double tol) {
  int bad = 0;
  for (int64_t i = 0; i < n; i++)
    if (!near((double)gx[i] - base, want[i], tol)) {
      if (!bad) fprintf(stderr, "  element %lld: %.9g, want %.9g\n", (long long)i, gx[i] - base, want[i]);
      bad++;
    }
  return bad;
}

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
      fill(x, n, -4, 4);
      fill(gy, n, -1, 1);
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

/* ---- leaky ReLU and ELU on a strided input ---- */

static void test_leaky_relu_elu(void) {
  int64_t shape[2] = {3, 4};
  nn_tensor *base = nn_tensor_empty(NN_FLOAT32, 2, shape);
  float *b = nn_tensor_data(base);
  fill(b, 12, -3, 3);
  b[5] = 0;
  /* The transpose: [4, 3] with strides {1, 4}. */
  nn_tensor *xt = nn_tensor_view(base, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4}, 0);
  nn_tensor *y = nn_tensor_empty(NN_FLOAT32, 2, xt->shape);
  float *yd = nn_tensor_data(y);
  nn_leaky_relu_forward(y, xt, 0.1f);
  int bad = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) {
      double v = b[j * 4 + i];
      bad += !near(yd[i * 3 + j], v > 0 ? v : 0.1 * v, 1e-7);
    }
  CHECK(bad == 0);
  nn_elu_forward(y, xt, 0.5f);
  bad = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 3; j++) {
      double v = b[j * 4 + i];
      bad += !near(yd[i * 3 + j], v > 0 ? v : 0.5 * (exp(v) - 1), 1e-6);
    }
  CHECK(bad == 0);
  nn_tensor_release(y);
  nn_tensor_release(xt);
  nn_tensor_release(base);
}

/* ---- cross entropy and NLL ---- */

typedef struct class_ctx {
  const int64_t *t;
  const float *w, *g; /* g: per-position upstream gradient */
  const double *probs;
  int64_t N, C, S, ignore;
  double eps;
  bool nll;
} class_ctx;

/* sum_i g_i loss_i, computed naively in double. */
static double naive_class_loss(const double *x, const void *vctx) {
  const class_ctx *k = vctx;
  double total = 0;
  for (int64_t n = 0; n < k->N; n++)
    for (int64_t s = 0; s < k->S; s++) {
      int64_t i = n * k->S + s;
      const double *r = x + n * k->C * k->S + s;
      double mx = -INFINITY, sum = 0, li = 0;
      for (int64_t c = 0; c < k->C; c++) mx = fmax(mx, r[c * k->S]);
      for (int64_t c = 0; c < k->C; c++) sum += exp(r[c * k->S] - mx);
      double lse = mx + log(sum);
      if (k->probs) {
        for (int64_t c = 0; c < k->C; c++) {
          double tc = (1 - k->eps) * k->probs[n * k->C * k->S + s + c * k->S] + k->eps / k->C;
          li -= (k->w ? k->w[c] : 1) * tc * (r[c * k->S] - lse);
        }
      } else {
        int64_t t = k->t[i];
        if (t == k->ignore) continue;
        double wt = k->w ? k->w[t] : 1;
        if (k->nll) li = -wt * r[t * k->S];
        else {
          li = (1 - k->eps) * wt * (lse - r[t * k->S]);
          for (int64_t c = 0; c < k->C; c++) li += k->eps / k->C * (k->w ? k->w[c] : 1) * (lse - r[c * k->S]);
        }
      }
      total += (k->g ? k->g[i] : 1) * li;
    }
  return total;
}

static void test_class_losses(void) {
  const int64_t geo[][3] = {{4, 5, 1}, {2, 4, 3}};
  for (int k = 0; k < 2; k++)
    for (int variant = 0; variant < 5; variant++) {
      /* 0: plain, 1: weights, 2: smoothing, 3: both + ignore, 4: nll with weights + ignore */
      int64_t N = geo[k][0], C = geo[k][1], S = geo[k][2], n = N * C * S, P = N * S;
      float x[MAXN], w[16], g[64], lse[128], per[64], gx[MAXN];
      int64_t t[64];
      double xd[MAXN], want[MAXN], wsum, wsum_want = 0;
      fill(x, n, -3, 3);
      fill(w, C, 0.5, 1.5);
      fill(g, P, -1, 1);
      for (int64_t i = 0; i < P; i++) t[i] = (i * 7 + 3) % C;
      bool weighted = variant == 1 || variant >= 3, nll = variant == 4;
      int64_t ignore = variant >= 3 ? t[1] : NN_NO_IGNORE;
      float eps = variant == 2 || variant == 3 ? 0.1f : 0.0f;
      class_ctx ctx = {t, weighted ? w : NULL, g, NULL, N, C, S, ignore, eps, nll};
      double total = nll ? nn_kernel_nll_forward(per, &wsum, x, t, ctx.w, N, C, S, ignore)
                         : nn_kernel_cross_entropy_forward(per, lse, &wsum, x, t, ctx.w, N, C, S, eps, ignore);
      to_double(xd, x, n);
      class_ctx unit = ctx;
      unit.g = NULL;
      CHECK(near(total, naive_class_loss(xd, &unit), 1e-5));
      for (int64_t i = 0; i < P; i++)
        if (t[i] != ignore) wsum_want += weighted ? w[t[i]] : 1;
      CHECK_NEAR(wsum, wsum_want, 1e-5);
      double sum_per = 0;
      for (int64_t i = 0; i < P; i++) sum_per += per[i];
      CHECK(near(sum_per, total, 1e-5));
      /* Backward with per-position upstream gradients (reduction 'none'). */
      numeric_grad(want, naive_class_loss, xd, n, &ctx);
      for (int64_t i = 0; i < n; i++) gx[i] = 1;
      if (nll) nn_kernel_nll_backward(gx, g, 1, 1, t, ctx.w, N, C, S, ignore);
      else nn_kernel_cross_entropy_backward(gx, g, 1, 1, x, lse, t, ctx.w, N, C, S, eps, ignore);
      CHECK(check_added(gx, 1, want, n, 1e-5) == 0);
      /* A reduced loss: one upstream number times scale. */
      float one = 2.0f;
      for (int64_t i = 0; i < n; i++) gx[i] = 0;
      if (nll) nn_kernel_nll_backward(gx, &one, 0, 0.25f, t, ctx.w, N, C, S, ignore);
      else nn_kernel_cross_entropy_backward(gx, &one, 0, 0.25f, x, lse, t, ctx.w, N, C, S, eps, ignore);
      ctx.g = NULL;
      numeric_grad(want, naive_class_loss, xd, n, &ctx);
      for (int64_t i = 0; i < n; i++) want[i] *= 0.5;
      CHECK(check_added(gx, 0, want, n, 1e-5) == 0);
    }
}

static double naive_probs_loss_of_t(const double *td, const void *vctx) {
  class_ctx k = *(const class_ctx *)vctx;
  double xd[MAXN];
  to_double(xd, (const float *)k.t, k.N * k.C * k.S); /* t holds the logits here */
  k.probs = td;
  return naive_class_loss(xd, &k);
}

static void test_cross_entropy_probs(void) {
  int64_t N = 3, C = 4, S = 2, n = N * C * S, P = N * S;
  float x[MAXN], t[MAXN], w[4], g[8], lse[16], per[8], gx[MAXN], gt[MAXN];
  double xd[MAXN], td[MAXN], want[MAXN];
  fill(x, n, -3, 3);
  fill(t, n, 0, 1);
  fill(w, C, 0.5, 1.5);
  fill(g, P, -1, 1);
  to_double(xd, x, n);
  to_double(td, t, n);
  class_ctx ctx = {NULL, w, g, td, N, C, S, NN_NO_IGNORE, 0.1f, false};
  double total = nn_kernel_cross_entropy_probs_forward(per, lse, x, t, w, N, C, S, 0.1f);
  class_ctx unit = ctx;
  unit.g = NULL;
  CHECK(near(total, naive_class_loss(xd, &unit), 1e-5));
  for (int64_t i = 0; i < n; i++) gx[i] = gt[i] = 0;
  nn_kernel_cross_entropy_probs_backward(gx, gt, g, 1, 1, x, lse, t, w, N, C, S, 0.1f);
  numeric_grad(want, naive_class_loss, xd, n, &ctx);
  CHECK(check_added(gx, 0, want, n, 1e-5) == 0);
  class_ctx tctx = ctx;
  tctx.t = (const int64_t *)x; /* smuggles the logits to naive_probs_loss_of_t */
  numeric_grad(want, naive_probs_loss_of_t, td, n, &tctx);
  CHECK(check_added(gt, 0, want, n, 1e-5) == 0);
}

static void test_cross_entropy_extreme(void) {
  float x[6] = {1000, -1000, 0, -1000, 1000, 999}, lse[4], per[2], gx[6] = {0};
  int64_t t[2] = {1, 0};
  double wsum;
  double total = nn_kernel_cross_entropy_forward(per, lse, &wsum, x, t, NULL, 2, 3, 1, 0.1f, NN_NO_IGNORE);
  CHECK(isfinite(total));
  CHECK_NEAR(per[1], 0.9 * (2000 + log1p(exp(-1.0))) + 0.1 / 3 * (2000 + 1 + 0 + 3 * log1p(exp(-1.0))), 1e-2);
  float one = 1;
  nn_kernel_cross_entropy_backward(gx, &one, 0, 0.5f, x, lse, t, NULL, 2, 3, 1, 0.1f, NN_NO_IGNORE);
  for (int i = 0; i < 6; i++) CHECK(isfinite(gx[i]));
  /* row 1: p = (1, 0, 0), target 1 (0-based): 0.5 (p - 0.9 onehot - 0.1/3) */
  CHECK_NEAR(gx[0], 0.5 * (1 - 0.1 / 3), 1e-6);
  CHECK_NEAR(gx[1], 0.5 * (0 - 0.9 - 0.1 / 3), 1e-6);
}

/* ---- pointwise losses ---- */

typedef struct point_ctx {
  nn_pointwise_loss kind;
  const double *other; /* y when differentiating in x, x when in y */
  bool in_y;
  const float *w, *pw, *g;
} point_ctx;

static double clamp_log(double v) { return log(v) < -100 ? -100 : log(v); }

static double naive_point(nn_pointwise_loss kind, double x, double y, double pw) {
  switch (kind) {
  case NN_LOSS_MSE: return (x - y) * (x - y);
  case NN_LOSS_L1: return fabs(x - y);
  case NN_LOSS_BCE: return -(y * clamp_log(x) + (1 - y) * clamp_log(1 - x));
  case NN_LOSS_BCE_LOGITS: return (1 - y) * x + (1 + (pw - 1) * y) * log1p(exp(-x));
  case NN_LOSS_KL_DIV: return (y > 0 ? y * log(y) : 0) - y * x;
  case NN_LOSS_KL_DIV_LOG: return exp(y) * (y - x);
  default: return NAN;
  }
}

static double naive_point_sum(const double *v, const void *vctx) {
  const point_ctx *k = vctx;
  double total = 0;
  for (int64_t i = 0; i < 12; i++) {
    double x = k->in_y ? k->other[i] : v[i], y = k->in_y ? v[i] : k->other[i];
    total += (k->g ? k->g[i] : 1) * (k->w ? k->w[i] : 1) * naive_point(k->kind, x, y, k->pw ? k->pw[i] : 1);
  }
  return total;
}

static void test_pointwise(void) {
  for (int kind = 0; kind < NN_LOSS_POINTWISE_COUNT; kind++) {
    float x[12], y[12], w[12], pw[12], g[12], out[12], gx[12], gy[12];
    double xd[12], yd[12], want[12];
    bool bce = kind == NN_LOSS_BCE, kl = kind == NN_LOSS_KL_DIV;
    fill(x, 12, bce ? 0.05 : -3, bce ? 0.95 : 3);
    fill(y, 12, bce || kl ? 0.05 : -2, bce || kl ? 1 : 2);
    fill(w, 12, 0.5, 1.5);
    fill(pw, 12, 0.2, 3);
    fill(g, 12, -1, 1);
    to_double(xd, x, 12);
    to_double(yd, y, 12);
    const float *wp = bce || kind == NN_LOSS_BCE_LOGITS ? w : NULL, *pwp = kind == NN_LOSS_BCE_LOGITS ? pw : NULL;
    double total = nn_kernel_pointwise_loss_forward(kind, out, x, y, wp, pwp, 12), want_total = 0;
    int bad = 0;
    for (int i = 0; i < 12; i++) {
      double v = (wp ? wp[i] : 1) * naive_point(kind, xd[i], yd[i], pwp ? pwp[i] : 1);
      bad += !near(out[i], v, 1e-5);
      want_total += v;
    }
    CHECK(bad == 0);
    CHECK(near(total, want_total, 1e-5));
    for (int i = 0; i < 12; i++) gx[i] = gy[i] = 0;
    nn_kernel_pointwise_loss_backward(kind, gx, gy, g, 1, 0.5f, x, y, wp, pwp, 12);
    point_ctx cx = {kind, yd, false, wp, pwp, g}, cy = {kind, xd, true, wp, pwp, g};
    numeric_grad(want, naive_point_sum, xd, 12, &cx);
    for (int i = 0; i < 12; i++) want[i] *= 0.5;
    if (check_added(gx, 0, want, 12, 1e-4)) {
      fprintf(stderr, "  pointwise kind %d, input gradient\n", kind);
      CHECK(false);
    }
    numeric_grad(want, naive_point_sum, yd, 12, &cy);
    for (int i = 0; i < 12; i++) want[i] *= 0.5;
    if (check_added(gy, 0, want, 12, 1e-4)) {
      fprintf(stderr, "  pointwise kind %d, target gradient\n", kind);
      CHECK(false);
    }
  }
}

/* The graph node's backward: a target broadcast from [1,1] against an
 * input [4] gets its gradient summed through a scratch tensor, whose
 * allocation failure is reported (false) without touching the buffers. */
static void test_pointwise_node(void) {
  int64_t s4[1] = {4}, s11[2] = {1, 1}, s14[2] = {1, 4};
  nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 1, s4), *y = nn_tensor_empty(NN_FLOAT32, 2, s14);
  nn_tensor *gx = nn_tensor_zeros(NN_FLOAT32, 1, s4), *gy = nn_tensor_zeros(NN_FLOAT32, 2, s11);
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  float *xd = nn_tensor_data(x), *yd = nn_tensor_data(y);
  for (int i = 0; i < 4; i++) xd[i] = (float)i, yd[i] = 0.5f; /* y: 0.5 broadcast */
  *(float *)nn_tensor_data(g) = 1;
  nn_node n = {.nsaved = 2, .saved = {x, y}, .scalars = {0.25},
               .params = {NN_LOSS_MSE, NN_REDUCTION_MEAN, -1, -1, 2, 1, 4}};
  nn_tensor *gi[2] = {gx, gy};
  nn_alloc_fail_after(1);
  CHECK(!nn_pointwise_loss_backward(&n, g, gi));
  nn_alloc_fail_after(0);
  CHECK(*(float *)nn_tensor_data(gy) == 0);
  CHECK(nn_pointwise_loss_backward(&n, g, gi));
  /* d/dy mean((x - y)^2) = -2/4 sum(x - 0.5) = -2/4 * 4 = -2; d/dx_i = (x_i - 0.5) / 2 */
  CHECK_NEAR(*(float *)nn_tensor_data(gy), -2, 1e-6);
  CHECK_NEAR(((float *)nn_tensor_data(gx))[3], 1.25, 1e-6);
  nn_tensor *all[] = {x, y, gx, gy, g};
  for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
}

/* PyTorch clamps BCE's logs at -100 and divides by max(x (1-x), 1e-12). */
static void test_bce_edges(void) {
  float x[4] = {0, 1, 1, 0}, y[4] = {1, 0, 1, 0}, out[4], gx[4] = {0};
  double total = nn_kernel_pointwise_loss_forward(NN_LOSS_BCE, out, x, y, NULL, NULL, 4);
  CHECK_NEAR(out[0], 100, 1e-6);
  CHECK_NEAR(out[1], 100, 1e-6);
  CHECK(out[2] == 0 && out[3] == 0);
  CHECK_NEAR(total, 200, 1e-6);
  float one = 1;
  nn_kernel_pointwise_loss_backward(NN_LOSS_BCE, gx, NULL, &one, 0, 1, x, y, NULL, NULL, 4);
  CHECK_NEAR(gx[0] / -1e12, 1, 1e-6);
  CHECK_NEAR(gx[1] / 1e12, 1, 1e-6);
  CHECK(gx[2] == 0 && gx[3] == 0);
  /* Logits far out: finite losses and gradients. */
  float xl[2] = {1000, -1000}, yl[2] = {0, 1}, gl[2] = {0};
  total = nn_kernel_pointwise_loss_forward(NN_LOSS_BCE_LOGITS, out, xl, yl, NULL, NULL, 2);
  CHECK_NEAR(out[0], 1000, 1e-3);
  CHECK_NEAR(out[1], 1000, 1e-3);
  nn_kernel_pointwise_loss_backward(NN_LOSS_BCE_LOGITS, gl, NULL, &one, 0, 1, xl, yl, NULL, NULL, 2);
  CHECK_NEAR(gl[0], 1, 1e-6);
  CHECK_NEAR(gl[1], -1, 1e-6);
}

/* ---- distillation ---- */

typedef struct distill_ctx {
  const float *t;
  const int64_t *y;
  int64_t N, C;
  double T, alpha;
} distill_ctx;

static double naive_distill(const double *s, const void *vctx) {
  const distill_ctx *k = vctx;
  double kl = 0, ce = 0;
  for (int64_t n = 0; n < k->N; n++) {
    double ls = 0, lt = 0, l1 = 0, ms = -INFINITY, mt = -INFINITY, m1 = -INFINITY;
    const double *sr = s + n * k->C;
    const float *tr = k->t + n * k->C;
    for (int64_t c = 0; c < k->C; c++) {
      ms = fmax(ms, sr[c] / k->T);
      mt = fmax(mt, tr[c] / k->T);
      m1 = fmax(m1, sr[c]);
    }
    for (int64_t c = 0; c < k->C; c++) {
      ls += exp(sr[c] / k->T - ms);
      lt += exp(tr[c] / k->T - mt);
      l1 += exp(sr[c] - m1);
    }
    for (int64_t c = 0; c < k->C; c++) {
      double logp = tr[c] / k->T - mt - log(lt), logq = sr[c] / k->T - ms - log(ls);
      kl += exp(logp) * (logp - logq);
    }
    ce += m1 + log(l1) - sr[k->y[n]];
  }
  return k->alpha * k->T * k->T * kl / k->N + (1 - k->alpha) * ce / k->N;
}

static void test_distillation(void) {
  int64_t N = 4, C = 5, y[4] = {2, 0, 4, 1};
  float s[20], t[20], p[20], lse[16], gs[20];
  double sd[20], want[20];
  fill(s, 20, -4, 4);
  fill(t, 20, -6, 6);
  to_double(sd, s, 20);
  distill_ctx ctx = {t, y, N, C, 4, 0.7};
  double loss = nn_kernel_distillation_forward(p, lse, s, t, y, N, C, 4, 0.7f);
  CHECK(near(loss, naive_distill(sd, &ctx), 1e-5));
  for (int i = 0; i < 20; i++) gs[i] = 0;
  nn_kernel_distillation_backward(gs, 2.0f, s, p, lse, y, N, C, 4, 0.7f);
  numeric_grad(want, naive_distill, sd, 20, &ctx);
  for (int i = 0; i < 20; i++) want[i] *= 2;
  CHECK(check_added(gs, 0, want, 20, 1e-5) == 0);
}

/* ---- regularizers ---- */

static void test_penalties(void) {
  enum { n = 10007 };
  static float x[n], gx[n];
  fill(x, n, -2, 2);
  double a = 0, q = 0;
  for (int i = 0; i < n; i++) a += fabs(x[i]), q += (double)x[i] * x[i];
  CHECK(near(nn_kernel_abs_sum(x, n), a, 1e-6));
  CHECK(near(nn_kernel_square_sum(x, n), q, 1e-6));
  CHECK(nn_kernel_abs_sum(x, 0) == 0);
  for (int i = 0; i < n; i++) gx[i] = 1;
  x[3] = 0;
  nn_kernel_abs_sum_backward(gx, 0.5f, x, n);
  int bad = 0;
  for (int i = 0; i < n; i++) bad += gx[i] != 1 + 0.5f * (float)((x[i] > 0) - (x[i] < 0));
  CHECK(bad == 0 && gx[3] == 1);
  for (int i = 0; i < n; i++) gx[i] = 0;
  nn_kernel_square_sum_backward(gx, 0.5f, x, n);
  bad = 0;
  for (int i = 0; i < n; i++) bad += !near(gx[i], x[i], 1e-7);
  CHECK(bad == 0);
}

int main(void) {
  RUN(test_exp_vec);
  RUN(test_softmax);
  RUN(test_softmax_extreme);
  RUN(test_leaky_relu_elu);
  RUN(test_class_losses);
  RUN(test_cross_entropy_probs);
  RUN(test_cross_entropy_extreme);
  RUN(test_pointwise);
  RUN(test_pointwise_node);
  RUN(test_bce_edges);
  RUN(test_distillation);
  RUN(test_penalties);
  return check_summary();
}
