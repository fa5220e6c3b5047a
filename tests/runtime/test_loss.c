/* The loss kernels (nn_loss.h) against naive double-precision loops:
 * forward values, and backward kernels against central differences of the
 * naive forward; extreme logits and BCE's clamped edges. Then the entry
 * points, forward and backward (through nn_backward): reductions, weights,
 * ignore_index, 1-based labels read in place, the runtime's label and
 * range errors, node arguments and out-of-memory paths. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "tensors.h"

#define MAXN 512

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
        if (k->t[i] == k->ignore) continue;
        int64_t t = k->t[i] - 1; /* labels are 1-based */
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
      fill_uniform(x, n, -3, 3);
      fill_uniform(w, C, 0.5, 1.5);
      fill_uniform(g, P, -1, 1);
      for (int64_t i = 0; i < P; i++) t[i] = (i * 7 + 3) % C + 1;
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
        if (t[i] != ignore) wsum_want += weighted ? w[t[i] - 1] : 1;
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
  fill_uniform(x, n, -3, 3);
  fill_uniform(t, n, 0, 1);
  fill_uniform(w, C, 0.5, 1.5);
  fill_uniform(g, P, -1, 1);
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
  int64_t t[2] = {2, 1};
  double wsum;
  double total = nn_kernel_cross_entropy_forward(per, lse, &wsum, x, t, NULL, 2, 3, 1, 0.1f, NN_NO_IGNORE);
  CHECK(isfinite(total));
  CHECK_NEAR(per[1], 0.9 * (2000 + log1p(exp(-1.0))) + 0.1 / 3 * (2000 + 1 + 0 + 3 * log1p(exp(-1.0))), 1e-2);
  float one = 1;
  nn_kernel_cross_entropy_backward(gx, &one, 0, 0.5f, x, lse, t, NULL, 2, 3, 1, 0.1f, NN_NO_IGNORE);
  for (int i = 0; i < 6; i++) CHECK(isfinite(gx[i]));
  /* row 1: p = (1, 0, 0), label 2: 0.5 (p - 0.9 onehot - 0.1/3) */
  CHECK_NEAR(gx[0], 0.5 * (1 - 0.1 / 3), 1e-6);
  CHECK_NEAR(gx[1], 0.5 * (0 - 0.9 - 0.1 / 3), 1e-6);
}

/* ---- pointwise losses ---- */

typedef struct point_ctx {
  nn_pointwise_kind kind;
  const double *other; /* y when differentiating in x, x when in y */
  bool in_y;
  const float *w, *pw, *g;
  double param; /* the third argument when pw is NULL */
} point_ctx;

static double clamp_log(double v) { return log(v) < -100 ? -100 : log(v); }

static double naive_point(nn_pointwise_kind kind, double x, double y, double pw) {
  switch (kind) {
  case NN_LOSS_MSE: return (x - y) * (x - y);
  case NN_LOSS_L1: return fabs(x - y);
  case NN_LOSS_BCE: return -(y * clamp_log(x) + (1 - y) * clamp_log(1 - x));
  case NN_LOSS_BCE_LOGITS: return (1 - y) * x + (1 + (pw - 1) * y) * log1p(exp(-x));
  case NN_LOSS_KL_DIV: return (y > 0 ? y * log(y) : 0) - y * x;
  case NN_LOSS_KL_DIV_LOG: return exp(y) * (y - x);
  /* pw carries beta and delta (0.7) */
  case NN_LOSS_SMOOTH_L1: return fabs(x - y) < pw ? 0.5 * (x - y) * (x - y) / pw : fabs(x - y) - 0.5 * pw;
  case NN_LOSS_HUBER: return fabs(x - y) <= pw ? 0.5 * (x - y) * (x - y) : pw * (fabs(x - y) - 0.5 * pw);
  default: return NAN;
  }
}

static double naive_point_sum(const double *v, const void *vctx) {
  const point_ctx *k = vctx;
  double total = 0;
  for (int64_t i = 0; i < 12; i++) {
    double x = k->in_y ? k->other[i] : v[i], y = k->in_y ? v[i] : k->other[i];
    total += (k->g ? k->g[i] : 1) * (k->w ? k->w[i] : 1) * naive_point(k->kind, x, y, k->pw ? k->pw[i] : k->param);
  }
  return total;
}

static void test_pointwise(void) {
  for (int kind = 0; kind < NN_LOSS_POINTWISE_COUNT; kind++) {
    float x[12], y[12], w[12], pw[12], g[12], out[12], gx[12], gy[12];
    double xd[12], yd[12], want[12];
    bool bce = kind == NN_LOSS_BCE, kl = kind == NN_LOSS_KL_DIV;
    fill_uniform(x, 12, bce ? 0.05 : -3, bce ? 0.95 : 3);
    fill_uniform(y, 12, bce || kl ? 0.05 : -2, bce || kl ? 1 : 2);
    fill_uniform(w, 12, 0.5, 1.5);
    fill_uniform(pw, 12, 0.2, 3);
    fill_uniform(g, 12, -1, 1);
    to_double(xd, x, 12);
    to_double(yd, y, 12);
    const float *wp = bce || kind == NN_LOSS_BCE_LOGITS ? w : NULL, *pwp = kind == NN_LOSS_BCE_LOGITS ? pw : NULL;
    /* beta and delta 0.7 (ignored by the others, whose default is 1) */
    double param = kind == NN_LOSS_SMOOTH_L1 || kind == NN_LOSS_HUBER ? 0.7f : 1;
    double total = nn_kernel_pointwise_loss_forward(kind, out, x, y, wp, pwp, 0.7f, 12), want_total = 0;
    int bad = 0;
    for (int i = 0; i < 12; i++) {
      double v = (wp ? wp[i] : 1) * naive_point(kind, xd[i], yd[i], pwp ? pwp[i] : param);
      bad += !near(out[i], v, 1e-5);
      want_total += v;
    }
    CHECK(bad == 0);
    CHECK(near(total, want_total, 1e-5));
    for (int i = 0; i < 12; i++) gx[i] = gy[i] = 0;
    nn_kernel_pointwise_loss_backward(kind, gx, gy, g, 1, 0.5f, x, y, wp, pwp, 0.7f, 12);
    point_ctx cx = {kind, yd, false, wp, pwp, g, param}, cy = {kind, xd, true, wp, pwp, g, param};
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

/* The graph node's backward: a target [1,1] broadcast against an input
 * [4] (loss shape [1,4]) gets its gradient summed through a scratch
 * tensor, whose allocation failure is reported (false) without touching
 * the buffers. */
static void test_pointwise_node(void) {
  int64_t s4[1] = {4}, s11[2] = {1, 1};
  nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 1, s4), *y = nn_tensor_empty(NN_FLOAT32, 2, s11);
  nn_tensor *gx = nn_tensor_zeros(NN_FLOAT32, 1, s4), *gy = nn_tensor_zeros(NN_FLOAT32, 2, s11);
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, 0, NULL), *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  float *xd = nn_tensor_data(x);
  for (int i = 0; i < 4; i++) xd[i] = (float)i;
  *(float *)nn_tensor_data(y) = 0.5f;
  *(float *)nn_tensor_data(g) = 1;
  x->requires_grad = y->requires_grad = true;
  nn_pointwise_loss_args args = {.reduction = NN_REDUCTION_MEAN};
  CHECK(nn_pointwise_loss(NN_OP_MSE_LOSS, out, x, y, NULL, NULL, &args) == NN_OK);
  /* mean((i - 0.5)^2) over i = 0..3 */
  CHECK(*(float *)nn_tensor_data(out) == (0.25f + 0.25f + 2.25f + 6.25f) / 4);
  const nn_node *n = out->grad_fn;
  CHECK(n && n->op == NN_OP_MSE_LOSS && n->nsaved == 2);
  const nn_pointwise_loss_node *k = &n->args.pointwise_loss;
  CHECK(k->kind == NN_LOSS_MSE && k->ndim == 2 && k->shape[0] == 1 && k->shape[1] == 4);
  CHECK(k->scale == 0.25f && k->weight_slot == -1 && k->pos_weight_slot == -1);
  CHECK(n->saved[0] == x && nn_tensor_numel(n->saved[1]) == 4); /* y broadcast into a copy */
  nn_tensor *gi[2] = {gx, gy};
  nn_alloc_fail_after(1);
  CHECK(!nn_pointwise_loss_backward(n, g, gi));
  nn_alloc_fail_after(0);
  CHECK(*(float *)nn_tensor_data(gy) == 0);
  CHECK(nn_pointwise_loss_backward(n, g, gi));
  /* d/dy mean((x - y)^2) = -2/4 sum(x - 0.5) = -2/4 * 4 = -2; d/dx_i = (x_i - 0.5) / 2 */
  CHECK_NEAR(*(float *)nn_tensor_data(gy), -2, 1e-6);
  CHECK_NEAR(((float *)nn_tensor_data(gx))[3], 1.25, 1e-6);
  nn_tensor *all[] = {out, x, y, gx, gy, g};
  for (int i = 0; i < 6; i++) nn_tensor_release(all[i]);
}

/* PyTorch clamps BCE's logs at -100 and divides by max(x (1-x), 1e-12). */
static void test_bce_edges(void) {
  float x[4] = {0, 1, 1, 0}, y[4] = {1, 0, 1, 0}, out[4], gx[4] = {0};
  double total = nn_kernel_pointwise_loss_forward(NN_LOSS_BCE, out, x, y, NULL, NULL, 0, 4);
  CHECK_NEAR(out[0], 100, 1e-6);
  CHECK_NEAR(out[1], 100, 1e-6);
  CHECK(out[2] == 0 && out[3] == 0);
  CHECK_NEAR(total, 200, 1e-6);
  float one = 1;
  nn_kernel_pointwise_loss_backward(NN_LOSS_BCE, gx, NULL, &one, 0, 1, x, y, NULL, NULL, 0, 4);
  CHECK_NEAR(gx[0] / -1e12, 1, 1e-6);
  CHECK_NEAR(gx[1] / 1e12, 1, 1e-6);
  CHECK(gx[2] == 0 && gx[3] == 0);
  /* Logits far out: finite losses and gradients. */
  float xl[2] = {1000, -1000}, yl[2] = {0, 1}, gl[2] = {0};
  total = nn_kernel_pointwise_loss_forward(NN_LOSS_BCE_LOGITS, out, xl, yl, NULL, NULL, 0, 2);
  CHECK_NEAR(out[0], 1000, 1e-3);
  CHECK_NEAR(out[1], 1000, 1e-3);
  nn_kernel_pointwise_loss_backward(NN_LOSS_BCE_LOGITS, gl, NULL, &one, 0, 1, xl, yl, NULL, NULL, 0, 2);
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
    ce += m1 + log(l1) - sr[k->y[n] - 1];
  }
  return k->alpha * k->T * k->T * kl / k->N + (1 - k->alpha) * ce / k->N;
}

static void test_distillation(void) {
  int64_t N = 4, C = 5, y[4] = {3, 1, 5, 2};
  float s[20], t[20], p[20], lse[16], gs[20];
  double sd[20], want[20];
  fill_uniform(s, 20, -4, 4);
  fill_uniform(t, 20, -6, 6);
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
  fill_uniform(x, n, -2, 2);
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

/* ---- multi-class margin ---- */

typedef struct margin_ctx {
  const int64_t *y;
  const float *w, *g; /* g: per-sample upstream gradient */
  int64_t N, C;
  int p;
  double margin;
} margin_ctx;

/* sum_n g_n w[t] / C sum_{c != t} max(0, margin - x_nt + x_nc)^p, naively. */
static double naive_margin(const double *x, const void *vctx) {
  const margin_ctx *k = vctx;
  double total = 0;
  for (int64_t n = 0; n < k->N; n++) {
    int64_t t = k->y[n] - 1;
    double s = 0;
    for (int64_t c = 0; c < k->C; c++) {
      double z = k->margin - x[n * k->C + t] + x[n * k->C + c];
      if (c != t && z > 0) s += k->p == 1 ? z : z * z;
    }
    total += k->g[n] * (k->w ? k->w[t] : 1) * s / (double)k->C;
  }
  return total;
}

/* Forward per sample and backward against central differences, p 1 and 2,
 * with and without class weights, labels 1 and C included. */
static void test_multi_margin(void) {
  enum { N = 5, C = 4 };
  const int64_t y[N] = {1, 4, 2, 3, 4};
  float x[N * C], w[C], g[N], loss[N], gx[N * C];
  double xd[N * C], want[N * C];
  fill_uniform(x, N * C, -1.5, 1.5);
  fill_uniform(w, C, 0.5, 1.5);
  fill_uniform(g, N, -1, 1);
  to_double(xd, x, N * C);
  for (int p = 1; p <= 2; p++)
    for (int weighted = 0; weighted < 2; weighted++) {
      const float *wp = weighted ? w : NULL;
      float one = 1;
      double total = nn_kernel_multi_margin_forward(loss, x, y, wp, N, C, p, 0.8f), want_total = 0;
      int bad = 0;
      for (int n = 0; n < N; n++) {
        double v = naive_margin(xd + n * C, &(margin_ctx){y + n, wp, &one, 1, C, p, 0.8});
        bad += !near(loss[n], v, 1e-5);
        want_total += v;
      }
      CHECK(bad == 0);
      CHECK(near(total, want_total, 1e-5));
      for (int i = 0; i < N * C; i++) gx[i] = 1;
      nn_kernel_multi_margin_backward(gx, g, 1, 0.5f, x, y, wp, N, C, p, 0.8f);
      margin_ctx kg = {y, wp, g, N, C, p, 0.8};
      numeric_grad(want, naive_margin, xd, N * C, &kg);
      for (int i = 0; i < N * C; i++) want[i] *= 0.5;
      if (check_added(gx, 1, want, N * C, 1e-4)) {
        fprintf(stderr, "  multi_margin p=%d weighted=%d\n", p, weighted);
        CHECK(false);
      }
    }
  /* one upstream number (gstep 0) reaches every sample */
  float g1 = 2, ga[N * C] = {0}, gb[N * C] = {0}, gs[N] = {2, 2, 2, 2, 2};
  nn_kernel_multi_margin_backward(ga, &g1, 0, 1, x, y, w, N, C, 2, 0.8f);
  nn_kernel_multi_margin_backward(gb, gs, 1, 1, x, y, w, N, C, 2, 0.8f);
  CHECK(!memcmp(ga, gb, sizeof ga));
}

/* ---- entry points ---- */

static float *data(const nn_tensor *t) { return nn_tensor_data(t); }
static float item(const nn_tensor *t) { return *data(t); }

static nn_tensor *int64_tensor(int ndim, const int64_t *shape, const int64_t *values) {
  nn_tensor *t = nn_tensor_empty(NN_INT64, ndim, shape);
  memcpy(nn_tensor_data(t), values, sizeof(int64_t) * (size_t)nn_tensor_numel(t));
  return t;
}

/* The output of a loss: 0-dim when reduced, else the given shape. */
static nn_tensor *loss_out(nn_reduction r, int ndim, const int64_t *shape) {
  return r == NN_REDUCTION_NONE ? nn_tensor_empty(NN_FLOAT32, ndim, shape)
                                : nn_tensor_empty(NN_FLOAT32, 0, NULL);
}

static void clear_grad(nn_tensor *t) {
  nn_tensor_release(t->grad);
  t->grad = NULL;
}

static bool same_floats(const nn_tensor *t, const float *want) {
  return t && !memcmp(data(t), want, sizeof(float) * (size_t)nn_tensor_numel(t));
}

/* cross_entropy and nll_loss on [3,4,2] logits with 1-based [3,2] labels,
 * class weights, an ignore_index of -100 (out of range, yet accepted),
 * every reduction and label smoothing: the value is the kernel's total
 * reduced as documented and the gradient through nn_backward the backward
 * kernel's, bit for bit; the node keeps the caller's label tensor itself
 * (no 0-based copy), or a contiguous copy of strided labels. */
static void test_class_loss_entry(void) {
  enum { N = 3, C = 4, S = 2, n = N * C * S, P = N * S };
  const int64_t xs[3] = {N, C, S}, ts[2] = {N, S}, labels[P] = {1, 4, -100, 2, 3, 2};
  nn_tensor *x = uniform_tensor(3, xs, -3, 3), *w = uniform_tensor(1, (int64_t[]){C}, 0.5, 1.5);
  nn_tensor *t = int64_tensor(2, ts, labels);
  /* The same labels through a transposed view of a [2,3] tensor. */
  nn_tensor *tb = int64_tensor(2, (int64_t[]){S, N}, (int64_t[]){1, -100, 3, 4, 2, 2});
  nn_tensor *tt = nn_tensor_view(tb, 2, ts, (int64_t[]){1, N}, 0);
  x->requires_grad = true;
  for (int nll = 0; nll < 2; nll++)
    for (int r = NN_REDUCTION_NONE; r <= NN_REDUCTION_SUM; r++)
      for (int strided = 0; strided < 2; strided++) {
        nn_cross_entropy_args args = {r, nll ? 0.0f : 0.1f, true, -100};
        nn_tensor *target = strided ? tt : t, *out = loss_out(r, 2, ts);
        nn_status st = nll ? nn_nll_loss(out, x, target, w, &args) : nn_cross_entropy(out, x, target, w, &args);
        CHECK(st == NN_OK);
        float per[P], lse[2 * P], gx[n] = {0}, g[P];
        double wsum, total = nll ? nn_kernel_nll_forward(per, &wsum, data(x), labels, data(w), N, C, S, -100)
                                 : nn_kernel_cross_entropy_forward(per, lse, &wsum, data(x), labels, data(w), N,
                                                                   C, S, 0.1f, -100);
        bool none = r == NN_REDUCTION_NONE, mean = r == NN_REDUCTION_MEAN;
        CHECK(none ? same_floats(out, per) : item(out) == (float)(mean ? total / wsum : total));
        const nn_node *node = out->grad_fn;
        CHECK(node && node->op == (nll ? NN_OP_NLL_LOSS : NN_OP_CROSS_ENTROPY));
        const nn_tensor *saved_t = node->saved[nll ? 0 : 1];
        CHECK(strided ? saved_t != tt && !memcmp(nn_tensor_data(saved_t), labels, sizeof labels) : saved_t == t);
        const nn_class_loss_node *k = &node->args.class_loss;
        CHECK(k->N == N && k->C == C && k->S == S && !k->probs && k->args.ignore_index == -100);
        float scale = (float)(mean ? 1.0 / wsum : 1.0);
        CHECK(k->scale == scale);
        /* Backward: one upstream number, or one per position for 'none'. */
        nn_tensor *gout = none ? uniform_tensor(2, ts, -1, 1) : nn_tensor_empty(NN_FLOAT32, 0, NULL);
        if (!none) *data(gout) = 1.5f;
        memcpy(g, data(gout), sizeof(float) * (none ? P : 1));
        CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
        if (nll) nn_kernel_nll_backward(gx, g, none, scale, labels, data(w), N, C, S, -100);
        else nn_kernel_cross_entropy_backward(gx, g, none, scale, data(x), lse, labels, data(w), N, C, S, 0.1f, -100);
        CHECK(same_floats(x->grad, gx));
        clear_grad(x);
        nn_tensor_release(gout);
        nn_tensor_release(out);
      }
  nn_tensor *all[] = {tt, tb, t, w, x};
  for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
}

/* The runtime checks the labels and reports the first bad one with its
 * 1-based position, as the bindings raise it; nothing is recorded. */
static void test_class_loss_label_errors(void) {
  nn_tensor *x = uniform_tensor(3, (int64_t[]){3, 4, 2}, -1, 1), *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  x->requires_grad = true;
  nn_tensor *t = int64_tensor(2, (int64_t[]){3, 2}, (int64_t[]){1, 4, 5, 2, 0, 2});
  nn_cross_entropy_args args = {NN_REDUCTION_MEAN, 0, false, 0};
  CHECK(nn_cross_entropy(out, x, t, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target 5 at position [2,1] is out of range 1..4 (labels are 1-based)"));
  CHECK(!out->grad_fn);
  args.has_ignore = true, args.ignore_index = 5; /* 5 is skipped now, 0 is next */
  CHECK(nn_nll_loss(out, x, t, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target 0 at position [3,1] is out of range 1..4 (labels are 1-based)"));
  nn_tensor *x2 = uniform_tensor(2, (int64_t[]){3, 4}, -1, 1), *t1 = int64_tensor(1, (int64_t[]){3}, (int64_t[]){1, 2, -1});
  args.has_ignore = false;
  CHECK(nn_cross_entropy(out, x2, t1, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target -1 at position 3 is out of range 1..4 (labels are 1-based)"));
  nn_tensor *x1 = uniform_tensor(1, (int64_t[]){4}, -1, 1), *t0 = int64_tensor(0, NULL, (int64_t[]){9});
  CHECK(nn_cross_entropy(out, x1, t0, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target 9 is out of range 1..4 (labels are 1-based)"));
  *(int64_t *)nn_tensor_data(t0) = 4; /* the last class of a [C] input */
  CHECK(nn_cross_entropy(out, x1, t0, NULL, &args) == NN_OK);
  float lse[2];
  double wsum, want = nn_kernel_cross_entropy_forward(NULL, lse, &wsum, data(x1), (int64_t[]){4}, NULL, 1, 4, 1, 0,
                                                      NN_NO_IGNORE);
  CHECK(item(out) == (float)(want / wsum));
  nn_tensor *all[] = {x, out, t, x2, t1, x1, t0};
  for (int i = 0; i < 7; i++) nn_tensor_release(all[i]);
}

/* Class-probability targets: the gradient reaches the target too. */
static void test_cross_entropy_probs_entry(void) {
  const int64_t xs[2] = {3, 4};
  nn_tensor *x = uniform_tensor(2, xs, -2, 2), *p = uniform_tensor(2, xs, 0, 1), *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  x->requires_grad = p->requires_grad = true;
  nn_cross_entropy_args args = {NN_REDUCTION_MEAN, 0.2f, false, 0};
  CHECK(nn_cross_entropy(out, x, p, NULL, &args) == NN_OK);
  float lse[6], gx[12] = {0}, gp[12] = {0}, one = 1;
  double total = nn_kernel_cross_entropy_probs_forward(NULL, lse, data(x), data(p), NULL, 3, 4, 1, 0.2f);
  CHECK(item(out) == (float)(total / 3));
  CHECK(out->grad_fn && out->grad_fn->args.class_loss.probs);
  nn_tensor *gout = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  *data(gout) = 1;
  CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
  nn_kernel_cross_entropy_probs_backward(gx, gp, &one, 0, (float)(1.0 / 3), data(x), lse, data(p), NULL, 3, 4, 1, 0.2f);
  CHECK(same_floats(x->grad, gx) && same_floats(p->grad, gp));
  nn_tensor *all[] = {gout, out, p, x};
  for (int i = 0; i < 4; i++) nn_tensor_release(all[i]);
}

/* Every pointwise loss with broadcast weights: the values are the kernel's
 * on the broadcast arrays, reduced by the documented count; the weight
 * options take the saved slots after x and y. */
static void test_pointwise_entry(void) {
  const int64_t xs[2] = {3, 4};
  nn_tensor *x = uniform_tensor(2, xs, 0.05, 0.95), *y = uniform_tensor(2, xs, 0.05, 0.95);
  nn_tensor *w = uniform_tensor(2, (int64_t[]){3, 1}, 0.5, 1.5), *pw = uniform_tensor(1, (int64_t[]){4}, 0.5, 2);
  float we[12], pwe[12], per[12];
  for (int i = 0; i < 12; i++) we[i] = data(w)[i / 4], pwe[i] = data(pw)[i % 4];
  const struct {
    nn_op op;
    nn_pointwise_kind kind;
    bool log_target, weight, pos_weight;
    nn_reduction r;
  } cases[] = {
      {NN_OP_MSE_LOSS, NN_LOSS_MSE, false, false, false, NN_REDUCTION_MEAN},
      {NN_OP_L1_LOSS, NN_LOSS_L1, false, false, false, NN_REDUCTION_NONE},
      {NN_OP_BCE_LOSS, NN_LOSS_BCE, false, true, false, NN_REDUCTION_SUM},
      {NN_OP_BCE_WITH_LOGITS, NN_LOSS_BCE_LOGITS, false, true, true, NN_REDUCTION_MEAN},
      {NN_OP_BCE_WITH_LOGITS, NN_LOSS_BCE_LOGITS, false, false, true, NN_REDUCTION_NONE},
      {NN_OP_KL_DIV, NN_LOSS_KL_DIV, false, false, false, NN_REDUCTION_BATCHMEAN},
      {NN_OP_KL_DIV, NN_LOSS_KL_DIV_LOG, true, false, false, NN_REDUCTION_MEAN},
  };
  x->requires_grad = true;
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    nn_pointwise_loss_args args = {cases[c].r, cases[c].log_target, 0};
    nn_tensor *out = loss_out(cases[c].r, 2, xs);
    CHECK(nn_pointwise_loss(cases[c].op, out, x, y, cases[c].weight ? w : NULL, cases[c].pos_weight ? pw : NULL,
                            &args) == NN_OK);
    double total = nn_kernel_pointwise_loss_forward(cases[c].kind, per, data(x), data(y), cases[c].weight ? we : NULL,
                                                    cases[c].pos_weight ? pwe : NULL, 0, 12);
    double count = cases[c].r == NN_REDUCTION_MEAN ? 12 : cases[c].r == NN_REDUCTION_BATCHMEAN ? 3 : 1;
    CHECK(cases[c].r == NN_REDUCTION_NONE ? same_floats(out, per) : item(out) == (float)(total / count));
    const nn_pointwise_loss_node *k = &out->grad_fn->args.pointwise_loss;
    CHECK(k->kind == cases[c].kind && k->scale == (float)(1.0 / count));
    CHECK(k->weight_slot == (cases[c].weight ? 2 : -1));
    CHECK(k->pos_weight_slot == (cases[c].pos_weight ? 2 + cases[c].weight : -1));
    CHECK(out->grad_fn->nsaved == 2 + cases[c].weight + cases[c].pos_weight);
    nn_tensor_release(out);
  }
  nn_tensor *all[] = {x, y, w, pw};
  for (int i = 0; i < 4; i++) nn_tensor_release(all[i]);
}

/* bce_loss takes probabilities: the runtime names the first value outside
 * [0, 1] and its position in the loss shape. */
static void test_bce_range_errors(void) {
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){2}), *y = nn_tensor_zeros(NN_FLOAT32, 1, (int64_t[]){2});
  data(x)[0] = 0.5f, data(x)[1] = 1.5f;
  nn_pointwise_loss_args args = {NN_REDUCTION_MEAN, false, 0};
  CHECK(nn_pointwise_loss(NN_OP_BCE_LOSS, out, x, y, NULL, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "input must hold probabilities in [0, 1], got 1.5 at position 2"));
  nn_tensor *x2 = nn_tensor_zeros(NN_FLOAT32, 2, (int64_t[]){2, 2}), *y2 = nn_tensor_zeros(NN_FLOAT32, 2, (int64_t[]){2, 2});
  data(y2)[2] = 2;
  CHECK(nn_pointwise_loss(NN_OP_BCE_LOSS, out, x2, y2, NULL, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target must hold probabilities in [0, 1], got 2 at position [2,1]"));
  data(y2)[2] = NAN;
  CHECK(nn_pointwise_loss(NN_OP_BCE_LOSS, out, x2, y2, NULL, NULL, &args) == NN_ERR_VALUE);
  data(y2)[2] = 1;
  CHECK(nn_pointwise_loss(NN_OP_BCE_LOSS, out, x2, y2, NULL, NULL, &args) == NN_OK);
  CHECK_NEAR(item(out), 25, 1e-6); /* one clamped log of -100, over 4 */
  nn_tensor *all[] = {out, x, y, x2, y2};
  for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
}

/* Distillation from strided logits with 1-based labels: the kernel's loss
 * and gradient; a label out of range is reported. */
static void test_distillation_entry(void) {
  enum { N = 4, C = 5 };
  nn_tensor *sb = uniform_tensor(2, (int64_t[]){C, N}, -3, 3), *t = uniform_tensor(2, (int64_t[]){N, C}, -3, 3);
  nn_tensor *s = nn_tensor_view(sb, 2, (int64_t[]){N, C}, (int64_t[]){1, N}, 0);
  nn_tensor *sc = nn_tensor_empty(NN_FLOAT32, 2, s->shape), *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_copy(sc, s);
  s->requires_grad = true;
  int64_t labels[N] = {2, 5, 1, 3};
  nn_tensor *y = int64_tensor(1, (int64_t[]){N}, labels);
  nn_distillation_args args = {2.5f, 0.3f};
  CHECK(nn_distillation_loss(out, s, t, y, &args) == NN_OK);
  float p[N * C], lse[N * 4], gs[N * C] = {0};
  double want = nn_kernel_distillation_forward(p, lse, data(sc), data(t), labels, N, C, 2.5f, 0.3f);
  CHECK(item(out) == (float)want);
  CHECK(out->grad_fn && out->grad_fn->args.distillation.T == 2.5f && out->grad_fn->saved[2] == y);
  nn_tensor *gout = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  *data(gout) = 2;
  CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
  nn_kernel_distillation_backward(gs, 2, data(sc), p, lse, labels, N, C, 2.5f, 0.3f);
  CHECK(same_floats(s->grad, gs));
  nn_tensor_release(out);
  out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  ((int64_t *)nn_tensor_data(y))[3] = 6;
  CHECK(nn_distillation_loss(out, s, t, y, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target 6 at position 4 is out of range 1..5 (labels are 1-based)"));
  nn_tensor *all[] = {gout, out, y, sc, s, t, sb};
  for (int i = 0; i < 7; i++) nn_tensor_release(all[i]);
}

/* Penalties over a list: the terms summed in order in float, one node per
 * tensor joined by adds; a tensor listed twice gets both gradients, a
 * strided one is read through a copy. */
static void test_penalty_entry(void) {
  nn_tensor *a = uniform_tensor(2, (int64_t[]){3, 4}, -2, 2), *b = uniform_tensor(1, (int64_t[]){5}, -2, 2);
  nn_tensor *at = nn_tensor_view(a, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4}, 0);
  a->requires_grad = b->requires_grad = at->requires_grad = true;
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  CHECK(nn_penalty(NN_OP_L2_PENALTY, out, 0, NULL) == NN_OK && item(out) == 0 && !out->grad_fn);
  CHECK(nn_penalty(NN_OP_L1_PENALTY, out, 1, &b) == NN_OK && out->grad_fn && out->grad_fn->op == NN_OP_L1_PENALTY);
  CHECK(item(out) == (float)nn_kernel_abs_sum(data(b), 5));
  nn_tensor_release(out);
  for (int l2 = 0; l2 < 2; l2++) {
    nn_op op = l2 ? NN_OP_L2_PENALTY : NN_OP_L1_PENALTY;
    double (*sum)(const float *, int64_t) = l2 ? nn_kernel_square_sum : nn_kernel_abs_sum;
    out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
    CHECK(nn_penalty(op, out, 4, (nn_tensor *[]){a, b, at, a}) == NN_OK);
    float ta = (float)sum(data(a), 12), tb = (float)sum(data(b), 5);
    CHECK(item(out) == ((ta + tb) + ta) + ta); /* at holds a's values: the same term */
    CHECK(out->grad_fn && out->grad_fn->op == NN_OP_ADD);
    nn_tensor *gout = nn_tensor_empty(NN_FLOAT32, 0, NULL);
    *data(gout) = 0.5f;
    CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
    int bad = 0;
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++) {
        float v = data(a)[i * 4 + j], d = l2 ? 2 * v : (float)((v > 0) - (v < 0));
        bad += !near(data(a->grad)[i * 4 + j], 2 * 0.5 * d, 1e-6); /* listed twice */
        bad += !near(data(at->grad)[j * 3 + i], 0.5 * d, 1e-6);
      }
    for (int i = 0; i < 5; i++) {
      float v = data(b)[i];
      bad += !near(data(b->grad)[i], 0.5 * (l2 ? 2 * v : (float)((v > 0) - (v < 0))), 1e-6);
    }
    CHECK(bad == 0);
    clear_grad(a), clear_grad(b), clear_grad(at);
    nn_tensor_release(gout);
    nn_tensor_release(out);
  }
  nn_tensor *all[] = {at, a, b};
  for (int i = 0; i < 3; i++) nn_tensor_release(all[i]);
}

/* multi_margin_loss on strided [N,C] scores (a transposed view) and on one
 * sample [C], every reduction: the kernel's values reduced over N, the
 * node's arguments and saved tensors, the backward through nn_backward
 * equal to the kernel's bit for bit; a bad label is named and nothing is
 * recorded. */
static void test_multi_margin_entry(void) {
  enum { N = 3, C = 4 };
  const int64_t labels[N] = {4, 1, 2};
  nn_tensor *base = uniform_tensor(2, (int64_t[]){C, N}, -1.5, 1.5);
  nn_tensor *x = nn_tensor_view(base, 2, (int64_t[]){N, C}, (int64_t[]){1, N}, 0);
  nn_tensor *xc = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){N, C});
  nn_copy(xc, x);
  nn_tensor *t = int64_tensor(1, (int64_t[]){N}, labels), *w = uniform_tensor(1, (int64_t[]){C}, 0.5, 1.5);
  x->requires_grad = true; /* a leaf view: its gradient is contiguous [N,C] */
  for (int r = NN_REDUCTION_NONE; r <= NN_REDUCTION_SUM; r++)
    for (int p = 1; p <= 2; p++) {
      nn_multi_margin_loss_args args = {r, p, 0.9f};
      nn_tensor *out = loss_out(r, 1, (int64_t[]){N});
      CHECK(nn_multi_margin_loss(out, x, t, p == 2 ? w : NULL, &args) == NN_OK);
      const float *wd = p == 2 ? data(w) : NULL;
      float per[N], gx[N * C] = {0}, g[N];
      double total = nn_kernel_multi_margin_forward(per, data(xc), labels, wd, N, C, p, 0.9f);
      bool none = r == NN_REDUCTION_NONE, mean = r == NN_REDUCTION_MEAN;
      CHECK(none ? same_floats(out, per) : item(out) == (float)(mean ? total / N : total));
      const nn_node *node = out->grad_fn;
      CHECK(node && node->op == NN_OP_MULTI_MARGIN_LOSS && node->nsaved == (p == 2 ? 3 : 2));
      CHECK(node->saved[1] == t && node->saved[0] != x); /* x strided: a contiguous copy */
      const nn_multi_margin_node *k = &node->args.multi_margin;
      CHECK(k->N == N && k->C == C && k->args.p == p && k->args.margin == 0.9f);
      float scale = (float)(mean ? 1.0 / N : 1.0);
      CHECK(k->scale == scale);
      nn_tensor *gout = none ? uniform_tensor(1, (int64_t[]){N}, -1, 1) : nn_tensor_empty(NN_FLOAT32, 0, NULL);
      if (!none) *data(gout) = 1.5f;
      memcpy(g, data(gout), sizeof(float) * (none ? N : 1));
      CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
      nn_kernel_multi_margin_backward(gx, g, none, scale, data(xc), labels, wd, N, C, p, 0.9f);
      CHECK(same_floats(x->grad, gx));
      clear_grad(x);
      nn_tensor_release(gout);
      nn_tensor_release(out);
    }
  /* one sample [C] with a 0-dim label: mean over N = 1 */
  nn_tensor *x1 = uniform_tensor(1, (int64_t[]){C}, -1, 1), *t0 = int64_tensor(0, NULL, (int64_t[]){C});
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_multi_margin_loss_args args = {NN_REDUCTION_MEAN, 1, 1};
  CHECK(nn_multi_margin_loss(out, x1, t0, NULL, &args) == NN_OK);
  CHECK(item(out) == (float)nn_kernel_multi_margin_forward(NULL, data(x1), (int64_t[]){C}, NULL, 1, C, 1, 1));
  *(int64_t *)nn_tensor_data(t0) = C + 1;
  CHECK(nn_multi_margin_loss(out, x1, t0, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target 5 is out of range 1..4 (labels are 1-based)"));
  nn_tensor *tb = int64_tensor(1, (int64_t[]){N}, (int64_t[]){1, 0, 2});
  nn_tensor *out2 = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  CHECK(nn_multi_margin_loss(out2, x, tb, NULL, &args) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(), "target 0 at position 2 is out of range 1..4 (labels are 1-based)"));
  CHECK(!out2->grad_fn);
  nn_tensor *all[] = {out2, tb, out, t0, x1, w, t, xc, x, base};
  for (int i = 0; i < 10; i++) nn_tensor_release(all[i]);
}

/* smooth_l1 and huber through the pointwise entry point with a strided
 * input and a broadcast target: values and both gradients (the target's
 * summed over the broadcast) equal the kernels' on the dense arrays; the
 * node keeps beta or delta. */
static void test_smooth_huber_entry(void) {
  enum { R = 3, K = 4, n = R * K };
  nn_tensor *base = uniform_tensor(2, (int64_t[]){K, R}, -3, 3);
  nn_tensor *x = nn_tensor_view(base, 2, (int64_t[]){R, K}, (int64_t[]){1, R}, 0);
  nn_tensor *y = uniform_tensor(1, (int64_t[]){K}, -1, 1);
  float xd[n], yd[n];
  for (int i = 0; i < R; i++)
    for (int j = 0; j < K; j++) xd[i * K + j] = data(base)[j * R + i], yd[i * K + j] = data(y)[j];
  x->requires_grad = y->requires_grad = true;
  const struct {
    nn_op op;
    nn_pointwise_kind kind;
    float param;
    nn_reduction r;
  } cases[] = {
      {NN_OP_SMOOTH_L1_LOSS, NN_LOSS_SMOOTH_L1, 1, NN_REDUCTION_MEAN},
      {NN_OP_SMOOTH_L1_LOSS, NN_LOSS_SMOOTH_L1, 0, NN_REDUCTION_SUM},
      {NN_OP_SMOOTH_L1_LOSS, NN_LOSS_SMOOTH_L1, 0.5f, NN_REDUCTION_NONE},
      {NN_OP_HUBER_LOSS, NN_LOSS_HUBER, 1, NN_REDUCTION_MEAN},
      {NN_OP_HUBER_LOSS, NN_LOSS_HUBER, 2.5f, NN_REDUCTION_NONE},
  };
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    nn_reduction r = cases[c].r;
    nn_pointwise_loss_args args = {r, false, cases[c].param};
    nn_tensor *out = loss_out(r, 2, (int64_t[]){R, K});
    CHECK(nn_pointwise_loss(cases[c].op, out, x, y, NULL, NULL, &args) == NN_OK);
    float per[n], gx[n] = {0}, gy[n] = {0}, g[n];
    double total = nn_kernel_pointwise_loss_forward(cases[c].kind, per, xd, yd, NULL, NULL, cases[c].param, n);
    bool none = r == NN_REDUCTION_NONE;
    double count = r == NN_REDUCTION_MEAN ? n : 1;
    CHECK(none ? same_floats(out, per) : item(out) == (float)(total / count));
    const nn_pointwise_loss_node *k = &out->grad_fn->args.pointwise_loss;
    CHECK(out->grad_fn->op == cases[c].op && k->kind == cases[c].kind && k->param == cases[c].param);
    nn_tensor *gout = none ? uniform_tensor(2, (int64_t[]){R, K}, -1, 1) : nn_tensor_empty(NN_FLOAT32, 0, NULL);
    if (!none) *data(gout) = 0.75f;
    memcpy(g, data(gout), sizeof(float) * (none ? n : 1));
    CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
    nn_kernel_pointwise_loss_backward(cases[c].kind, gx, gy, g, none, (float)(1.0 / count), xd, yd, NULL, NULL,
                                      cases[c].param, n);
    int bad = 0;
    for (int i = 0; i < n; i++) bad += !near(data(x->grad)[i], gx[i], 1e-6);
    for (int j = 0; j < K; j++) bad += !near(data(y->grad)[j], gy[j] + gy[K + j] + gy[2 * K + j], 1e-5);
    CHECK(bad == 0);
    clear_grad(x), clear_grad(y);
    nn_tensor_release(gout);
    nn_tensor_release(out);
  }
  nn_tensor *all[] = {y, x, base};
  for (int i = 0; i < 3; i++) nn_tensor_release(all[i]);
}

/* bce and bce_with_logits with a target [N] against an input [N,1] (and a
 * strided [N,1] target against an input [N]): the loss has the input's
 * shape, the target is read element for element, and each gradient has
 * its tensor's shape. */
static void test_binary_column_entry(void) {
  enum { N = 5 };
  nn_tensor *x = uniform_tensor(2, (int64_t[]){N, 1}, 0.05, 0.95), *y = uniform_tensor(1, (int64_t[]){N}, 0, 1);
  x->requires_grad = y->requires_grad = true;
  for (int logits = 0; logits < 2; logits++) {
    nn_op op = logits ? NN_OP_BCE_WITH_LOGITS : NN_OP_BCE_LOSS;
    nn_pointwise_kind kind = logits ? NN_LOSS_BCE_LOGITS : NN_LOSS_BCE;
    nn_pointwise_loss_args args = {NN_REDUCTION_NONE, false, 0};
    nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){N, 1});
    CHECK(nn_pointwise_loss(op, out, x, y, NULL, NULL, &args) == NN_OK);
    float per[N], gx[N] = {0}, gy[N] = {0}, g[N];
    nn_kernel_pointwise_loss_forward(kind, per, data(x), data(y), NULL, NULL, 0, N);
    CHECK(same_floats(out, per));
    const nn_pointwise_loss_node *k = &out->grad_fn->args.pointwise_loss;
    CHECK(k->ndim == 2 && k->shape[0] == N && k->shape[1] == 1);
    nn_tensor *gout = uniform_tensor(2, (int64_t[]){N, 1}, -1, 1);
    memcpy(g, data(gout), sizeof g);
    CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
    nn_kernel_pointwise_loss_backward(kind, gx, gy, g, 1, 1, data(x), data(y), NULL, NULL, 0, N);
    CHECK(x->grad->ndim == 2 && y->grad->ndim == 1);
    CHECK(same_floats(x->grad, gx) && same_floats(y->grad, gy));
    clear_grad(x), clear_grad(y);
    nn_tensor_release(gout);
    nn_tensor_release(out);
  }
  /* input [N], target [N,1]: a column of a [N,2] tensor (strided) */
  nn_tensor *x1 = uniform_tensor(1, (int64_t[]){N}, -2, 2), *tb = uniform_tensor(2, (int64_t[]){N, 2}, 0, 1);
  nn_tensor *col = nn_tensor_view(tb, 2, (int64_t[]){N, 1}, (int64_t[]){2, 1}, 1);
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  float yc[N];
  for (int i = 0; i < N; i++) yc[i] = data(tb)[2 * i + 1];
  nn_pointwise_loss_args args = {NN_REDUCTION_SUM, false, 0};
  CHECK(nn_pointwise_loss(NN_OP_BCE_WITH_LOGITS, out, x1, col, NULL, NULL, &args) == NN_OK);
  CHECK(item(out) == (float)nn_kernel_pointwise_loss_forward(NN_LOSS_BCE_LOGITS, NULL, data(x1), yc, NULL, NULL, 0, N));
  CHECK(out->grad_fn == NULL); /* nothing wants a gradient */
  nn_tensor *all[] = {out, col, tb, x1, y, x};
  for (int i = 0; i < 6; i++) nn_tensor_release(all[i]);
}

/* Every allocation of each entry point (contiguous copies, the lse and
 * teacher-probability scratch, terms, nodes, saved copies) made to fail
 * in turn: NN_ERR_NOMEM, and once the output is dropped no byte is left
 * behind. */
typedef nn_status (*entry_fn)(nn_tensor *out, nn_tensor *const *in);

static nn_status ce_entry(nn_tensor *out, nn_tensor *const *in) {
  nn_cross_entropy_args args = {NN_REDUCTION_MEAN, 0.1f, true, 2};
  return nn_cross_entropy(out, in[0], in[1], in[2], &args);
}
static nn_status bce_entry(nn_tensor *out, nn_tensor *const *in) {
  nn_pointwise_loss_args args = {NN_REDUCTION_MEAN, false, 0};
  return nn_pointwise_loss(NN_OP_BCE_WITH_LOGITS, out, in[0], in[3], in[4], in[4], &args);
}
static nn_status margin_entry(nn_tensor *out, nn_tensor *const *in) {
  nn_multi_margin_loss_args args = {NN_REDUCTION_MEAN, 2, 1};
  return nn_multi_margin_loss(out, in[0], in[1], in[2], &args);
}
static nn_status huber_entry(nn_tensor *out, nn_tensor *const *in) {
  nn_pointwise_loss_args args = {NN_REDUCTION_SUM, false, 0.5f};
  return nn_pointwise_loss(NN_OP_HUBER_LOSS, out, in[0], in[3], NULL, NULL, &args);
}
static nn_status distill_entry(nn_tensor *out, nn_tensor *const *in) {
  nn_distillation_args args = {2, 0.5f};
  return nn_distillation_loss(out, in[0], in[0], in[1], &args);
}
static nn_status penalty_entry(nn_tensor *out, nn_tensor *const *in) {
  return nn_penalty(NN_OP_L2_PENALTY, out, 3, (nn_tensor *[]){in[0], in[3], in[0]});
}

static void test_entry_out_of_memory(void) {
  nn_tensor *base = uniform_tensor(2, (int64_t[]){4, 3}, 0.1, 0.9);
  nn_tensor *x = nn_tensor_view(base, 2, (int64_t[]){3, 4}, (int64_t[]){1, 3}, 0); /* strided: copied */
  nn_tensor *lb = int64_tensor(1, (int64_t[]){6}, (int64_t[]){1, 9, 2, 9, 4, 9});
  nn_tensor *labels = nn_tensor_view(lb, 1, (int64_t[]){3}, (int64_t[]){2}, 0);
  nn_tensor *w = uniform_tensor(1, (int64_t[]){4}, 0.5, 1.5), *y = uniform_tensor(2, (int64_t[]){1, 4}, 0.1, 0.9);
  nn_tensor *pw = uniform_tensor(1, (int64_t[]){4}, 0.5, 1.5);
  x->requires_grad = y->requires_grad = true;
  nn_tensor *in[5] = {x, labels, w, y, pw};
  const entry_fn entries[] = {ce_entry, bce_entry, distill_entry, penalty_entry, margin_entry, huber_entry};
  for (int e = 0; e < 6; e++) {
    uint64_t live = nn_memory_stats_get().live_bytes;
    int failures = 0;
    nn_status st = NN_ERR_NOMEM;
    for (uint64_t n = 1; n < 40 && st == NN_ERR_NOMEM; n++) {
      nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 0, NULL);
      nn_alloc_fail_after(n);
      st = entries[e](out, in);
      nn_alloc_fail_after(0);
      failures += st == NN_ERR_NOMEM;
      nn_tensor_release(out);
      CHECK(nn_memory_stats_get().live_bytes == live);
    }
    if (st != NN_OK || failures < 3) fprintf(stderr, "  entry %d: status %d after %d failures\n", e, st, failures);
    CHECK(st == NN_OK && failures >= 3);
  }
  nn_tensor *all[] = {labels, lb, w, y, pw, x, base};
  for (int i = 0; i < 7; i++) nn_tensor_release(all[i]);
}

int main(void) {
  RUN(test_class_losses);
  RUN(test_cross_entropy_probs);
  RUN(test_cross_entropy_extreme);
  RUN(test_pointwise);
  RUN(test_pointwise_node);
  RUN(test_bce_edges);
  RUN(test_multi_margin);
  RUN(test_distillation);
  RUN(test_penalties);
  RUN(test_class_loss_entry);
  RUN(test_class_loss_label_errors);
  RUN(test_cross_entropy_probs_entry);
  RUN(test_pointwise_entry);
  RUN(test_bce_range_errors);
  RUN(test_distillation_entry);
  RUN(test_penalty_entry);
  RUN(test_multi_margin_entry);
  RUN(test_smooth_huber_entry);
  RUN(test_binary_column_entry);
  RUN(test_entry_out_of_memory);
  return check_summary();
}
