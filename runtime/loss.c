/*
 * Losses and regularizers (nn_loss.h): fused, numerically stable forward
 * and backward kernels, the entry points that check labels, reduce and
 * record, and the backward functions of their graph nodes.
 *
 * Cross entropy never forms softmax and then takes its log: every
 * log-probability is (x - m) - log sum exp(x - m) with m the row max, so
 * logits of +-1000 give finite losses and gradients. Sums over rows and
 * over the batch run in double.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_index.h"
#include "nn_loss.h"
#include "nn_threads.h"
#include "nn_vecmath.h"

/* Big losses split over the engine's pool (nn_threads.h): parts of at
 * least GRAIN elements; a forward's sum adds the parts' double sums in
 * part order (deterministic for a given thread count). */
enum { GRAIN = 16384, MAX_PARTS = 64 };

static int64_t rows_grain(int64_t row) { return row >= GRAIN ? 1 : GRAIN / (row < 1 ? 1 : row); }

static double sum_parts(const double *partial, int parts) {
  double total = 0;
  for (int k = 0; k < parts; k++) total += partial[k];
  return total;
}

/* ---- log-sum-exp of one row (C values st apart) ----
 * static inline and called with a literal st = 1 on the [N, C] path, so
 * that path compiles to unit-stride loops. */

static inline void row_lse(const float *x, int64_t C, int64_t st, float *m_out, float *ls_out) {
  float m = nn_row_max(x, C, st);
  *m_out = m;
  *ls_out = (float)log(nn_row_sum_exp(NULL, x, C, st, m));
}

/* -log p_c given the split log-sum-exp (m, ls) of its row. */
static inline float neg_logp(float x, float m, float ls) { return (m - x) + ls; }

static double weight_total(const float *w, int64_t C) {
  if (!w) return (double)C;
  double W = 0;
  for (int64_t c = 0; c < C; c++) W += w[c];
  return W;
}

/* ---- cross entropy with class indices ---- */

static inline double ce_position(float *lse, const float *xr, int64_t st, int64_t t,
                                 const float *w, int64_t C, float eps) {
  float m, ls;
  row_lse(xr, C, st, &m, &ls);
  if (lse) lse[0] = m, lse[1] = ls;
  if (t < 0) return 0; /* ignored (the caller passes -1) */
  double li = (1.0 - eps) * (w ? w[t] : 1.0f) * neg_logp(xr[t * st], m, ls);
  if (eps > 0) {
    double smooth = 0;
    for (int64_t c = 0; c < C; c++) smooth += (w ? w[c] : 1.0f) * neg_logp(xr[c * st], m, ls);
    li += eps / (double)C * smooth;
  }
  return li;
}

typedef struct ce_job {
  float *loss, *lse, *gx;
  const float *x, *w, *g;
  const int64_t *target;
  int64_t C, S, ignore, gstep;
  float eps, scale;
  double total[MAX_PARTS], ws[MAX_PARTS];
} ce_job;

static double ce_forward_rows(float *loss, float *lse, double *wsum, const float *x, const int64_t *target,
                              const float *w, int64_t n0, int64_t n1, int64_t C, int64_t S, float eps,
                              int64_t ignore) {
  double total = 0, ws = 0;
  for (int64_t n = n0; n < n1; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s, t = target[i] == ignore ? -1 : nn_index_to_0based(target[i]);
      float *l2 = lse ? lse + 2 * i : NULL;
      double li = S == 1 ? ce_position(l2, x + n * C, 1, t, w, C, eps)
                         : ce_position(l2, x + n * C * S + s, S, t, w, C, eps);
      if (loss) loss[i] = (float)li;
      total += li;
      if (t >= 0) ws += w ? w[t] : 1.0f;
    }
  *wsum = ws;
  return total;
}

static void ce_forward_part(void *ctx, int part, int64_t n0, int64_t n1) {
  ce_job *j = ctx;
  j->total[part] = ce_forward_rows(j->loss, j->lse, &j->ws[part], j->x, j->target, j->w, n0, n1, j->C, j->S,
                                   j->eps, j->ignore);
}

double nn_kernel_cross_entropy_forward(float *loss, float *lse, double *wsum, const float *x,
                                       const int64_t *target, const float *w, int64_t N,
                                       int64_t C, int64_t S, float eps, int64_t ignore) {
  int64_t grain = rows_grain(C * S);
  int parts = nn_parallel_parts(N, grain);
  if (parts == 1 || parts > MAX_PARTS) return ce_forward_rows(loss, lse, wsum, x, target, w, 0, N, C, S, eps, ignore);
  ce_job j = {.loss = loss, .lse = lse, .x = x, .w = w, .target = target, .C = C, .S = S, .ignore = ignore, .eps = eps};
  nn_parallel_for_parts(N, grain, ce_forward_part, &j);
  *wsum = sum_parts(j.ws, parts);
  return sum_parts(j.total, parts);
}

/* gx_c += coef p_c - b w_c, then gx_t -= a (see nn_loss.h). */
static inline void ce_position_backward(float *gx, const float *xr, int64_t st, const float *lse,
                                        int64_t t, const float *w, int64_t C, float a, float b,
                                        float W) {
  float m = lse[0], ls = lse[1], coef = a + b * W;
  for (int64_t c = 0; c < C; c++) gx[c * st] += coef * nn_exp_vec((xr[c * st] - m) - ls);
  if (b != 0 && w)
    for (int64_t c = 0; c < C; c++) gx[c * st] -= b * w[c];
  else if (b != 0)
    for (int64_t c = 0; c < C; c++) gx[c * st] -= b;
  gx[t * st] -= a;
}

static void ce_backward_rows(void *ctx, int64_t n0, int64_t n1) {
  const ce_job *j = ctx;
  float *gx = j->gx;
  const float *g = j->g, *x = j->x, *lse = j->lse, *w = j->w;
  const int64_t *target = j->target;
  int64_t gstep = j->gstep, C = j->C, S = j->S, ignore = j->ignore;
  float scale = j->scale, eps = j->eps;
  float W = (float)weight_total(w, C);
  for (int64_t n = n0; n < n1; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s;
      if (target[i] == ignore) continue;
      int64_t t = nn_index_to_0based(target[i]);
      float k = g[i * gstep] * scale;
      float a = (1.0f - eps) * (w ? w[t] : 1.0f) * k, b = eps / (float)C * k;
      if (S == 1) ce_position_backward(gx + n * C, x + n * C, 1, lse + 2 * i, t, w, C, a, b, W);
      else
        ce_position_backward(gx + n * C * S + s, x + n * C * S + s, S, lse + 2 * i, t, w, C, a,
                             b, W);
    }
}

void nn_kernel_cross_entropy_backward(float *gx, const float *g, int64_t gstep, float scale,
                                      const float *x, const float *lse, const int64_t *target,
                                      const float *w, int64_t N, int64_t C, int64_t S, float eps,
                                      int64_t ignore) {
  ce_job j = {.lse = (float *)lse, .gx = gx, .x = x, .w = w, .g = g, .target = target, .C = C, .S = S,
              .ignore = ignore, .gstep = gstep, .eps = eps, .scale = scale};
  nn_parallel_for(N, rows_grain(C * S), ce_backward_rows, &j);
}

/* ---- cross entropy with class probabilities ---- */

static inline double ce_probs_position(float *lse, const float *xr, const float *tr, int64_t st,
                                       const float *w, int64_t C, float eps) {
  float m, ls;
  row_lse(xr, C, st, &m, &ls);
  if (lse) lse[0] = m, lse[1] = ls;
  double li = 0;
  for (int64_t c = 0; c < C; c++) {
    float tc = (1.0f - eps) * tr[c * st] + eps / (float)C;
    li += (double)(w ? w[c] : 1.0f) * tc * neg_logp(xr[c * st], m, ls);
  }
  return li;
}

double nn_kernel_cross_entropy_probs_forward(float *loss, float *lse, const float *x,
                                             const float *t, const float *w, int64_t N,
                                             int64_t C, int64_t S, float eps) {
  double total = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s, o = n * C * S + s;
      float *l2 = lse ? lse + 2 * i : NULL;
      double li = S == 1 ? ce_probs_position(l2, x + o, t + o, 1, w, C, eps)
                         : ce_probs_position(l2, x + o, t + o, S, w, C, eps);
      if (loss) loss[i] = (float)li;
      total += li;
    }
  return total;
}

static inline void ce_probs_position_backward(float *gx, float *gt, const float *xr,
                                              const float *tr, int64_t st, const float *lse,
                                              const float *w, int64_t C, float eps, float k) {
  float m = lse[0], ls = lse[1];
  double sw = 0; /* sum_j w_j t'_j */
  for (int64_t c = 0; c < C; c++)
    sw += (double)(w ? w[c] : 1.0f) * ((1.0f - eps) * tr[c * st] + eps / (float)C);
  for (int64_t c = 0; c < C; c++) {
    float wc = w ? w[c] : 1.0f, xc = xr[c * st];
    if (gx) {
      float tc = (1.0f - eps) * tr[c * st] + eps / (float)C;
      gx[c * st] += k * (nn_exp_vec((xc - m) - ls) * (float)sw - wc * tc);
    }
    if (gt) gt[c * st] += k * (1.0f - eps) * wc * neg_logp(xc, m, ls);
  }
}

void nn_kernel_cross_entropy_probs_backward(float *gx, float *gt, const float *g, int64_t gstep,
                                            float scale, const float *x, const float *lse,
                                            const float *t, const float *w, int64_t N,
                                            int64_t C, int64_t S, float eps) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s, o = n * C * S + s;
      float k = g[i * gstep] * scale;
      ce_probs_position_backward(gx ? gx + o : NULL, gt ? gt + o : NULL, x + o, t + o, S,
                                 lse + 2 * i, w, C, eps, k);
    }
}

/* ---- negative log-likelihood ---- */

double nn_kernel_nll_forward(float *loss, double *wsum, const float *x, const int64_t *target,
                             const float *w, int64_t N, int64_t C, int64_t S, int64_t ignore) {
  double total = 0, ws = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s;
      float li = 0;
      if (target[i] != ignore) {
        int64_t t = nn_index_to_0based(target[i]);
        float wt = w ? w[t] : 1.0f;
        li = -wt * x[(n * C + t) * S + s];
        ws += wt;
      }
      if (loss) loss[i] = li;
      total += li;
    }
  *wsum = ws;
  return total;
}

void nn_kernel_nll_backward(float *gx, const float *g, int64_t gstep, float scale,
                            const int64_t *target, const float *w, int64_t N, int64_t C,
                            int64_t S, int64_t ignore) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s, t = target[i];
      if (t == ignore) continue;
      t = nn_index_to_0based(t);
      gx[(n * C + t) * S + s] -= g[i * gstep] * scale * (w ? w[t] : 1.0f);
    }
}

/* ---- distillation ---- */

/* The split log-sum-exp of x / T (float division, as PyTorch's x / T). */
static void row_lse_scaled(const float *x, int64_t C, float T, float *m_out, float *ls_out) {
  float m = -INFINITY;
  for (int64_t c = 0; c < C; c++) m = x[c] / T > m ? x[c] / T : m;
  double sum = 0;
  for (int64_t c = 0; c < C; c++) sum += nn_exp_vec(x[c] / T - m);
  *m_out = m;
  *ls_out = (float)log(sum);
}

double nn_kernel_distillation_forward(float *p, float *lse, const float *s, const float *t,
                                      const int64_t *y, int64_t N, int64_t C, float T,
                                      float alpha) {
  double kl = 0, ce = 0;
  for (int64_t n = 0; n < N; n++) {
    const float *sr = s + n * C, *tr = t + n * C;
    float *pr = p + n * C, *l4 = lse + 4 * n, mt, lt;
    row_lse_scaled(tr, C, T, &mt, &lt);
    row_lse_scaled(sr, C, T, &l4[0], &l4[1]);
    row_lse(sr, C, 1, &l4[2], &l4[3]);
    for (int64_t c = 0; c < C; c++) {
      float logp = -neg_logp(tr[c] / T, mt, lt), logq = -neg_logp(sr[c] / T, l4[0], l4[1]);
      pr[c] = nn_exp_vec(logp);
      if (pr[c] > 0) kl += (double)pr[c] * (logp - logq); /* 0 log 0 = 0 */
    }
    ce += neg_logp(sr[nn_index_to_0based(y[n])], l4[2], l4[3]);
  }
  return (double)alpha * T * T * (kl / (double)N) + (1.0 - alpha) * (ce / (double)N);
}

void nn_kernel_distillation_backward(float *gs, float g, const float *s, const float *p,
                                     const float *lse, const int64_t *y, int64_t N, int64_t C,
                                     float T, float alpha) {
  float ka = g * alpha * T / (float)N, kb = g * (1.0f - alpha) / (float)N;
  for (int64_t n = 0; n < N; n++) {
    const float *sr = s + n * C, *pr = p + n * C, *l4 = lse + 4 * n;
    float *gr = gs + n * C;
    for (int64_t c = 0; c < C; c++) {
      float q = nn_exp_vec((sr[c] / T - l4[0]) - l4[1]), sm = nn_exp_vec((sr[c] - l4[2]) - l4[3]);
      gr[c] += ka * (q - pr[c]) + kb * sm;
    }
    gr[nn_index_to_0based(y[n])] -= kb;
  }
}

/* ---- pointwise losses ----
 * Each loss is a per-element function of (x, y, pw) with its two partial
 * derivatives; the run loops take them as constant pointers from a switch,
 * so each case compiles to its own inlined loop. */

typedef float (*elem_fn)(float x, float y, float pw);

/* log clamped at -100, as PyTorch's binary_cross_entropy (NaN stays NaN). */
static inline float clamped(float v) { return v < -100.0f ? -100.0f : v; }
/* log(1 + exp(-x)) without overflow. */
static inline float softplus_neg(float x) { return fmaxf(-x, 0.0f) + log1pf(expf(-fabsf(x))); }
static inline float sigmoid(float x) {
  float e = expf(-fabsf(x));
  return x >= 0 ? 1.0f / (1.0f + e) : e / (1.0f + e);
}
static inline float sign(float v) { return (float)((v > 0) - (v < 0)); }

static inline float mse(float x, float y, float pw) { (void)pw; return (x - y) * (x - y); }
static inline float mse_dx(float x, float y, float pw) { (void)pw; return 2.0f * (x - y); }
static inline float mse_dy(float x, float y, float pw) { (void)pw; return -2.0f * (x - y); }

static inline float l1(float x, float y, float pw) { (void)pw; return fabsf(x - y); }
static inline float l1_dx(float x, float y, float pw) { (void)pw; return sign(x - y); }
static inline float l1_dy(float x, float y, float pw) { (void)pw; return -sign(x - y); }

static inline float bce(float x, float y, float pw) {
  (void)pw;
  return (y - 1.0f) * clamped(log1pf(-x)) - y * clamped(logf(x));
}
/* PyTorch's form: (x - y) / max(x (1 - x), 1e-12), finite at 0 and 1. */
static inline float bce_dx(float x, float y, float pw) {
  (void)pw;
  return (x - y) / fmaxf((1.0f - x) * x, 1e-12f);
}
static inline float bce_dy(float x, float y, float pw) {
  (void)y, (void)pw;
  return clamped(log1pf(-x)) - clamped(logf(x));
}

static inline float bce_logits(float x, float y, float pw) {
  return (1.0f - y) * x + (1.0f + (pw - 1.0f) * y) * softplus_neg(x);
}
static inline float bce_logits_dx(float x, float y, float pw) {
  return sigmoid(x) * (pw * y + 1.0f - y) - pw * y;
}
static inline float bce_logits_dy(float x, float y, float pw) {
  (void)y;
  return -x + (pw - 1.0f) * softplus_neg(x);
}

static inline float kl(float x, float y, float pw) {
  (void)pw;
  return (y == 0 ? 0.0f : y * logf(y)) - y * x;
}
static inline float kl_dx(float x, float y, float pw) { (void)x, (void)pw; return -y; }
/* d(y log y)/dy is log y + 1; at y = 0 (where it is -inf) it is taken as 0. */
static inline float kl_dy(float x, float y, float pw) {
  (void)pw;
  return (y > 0 ? logf(y) + 1.0f : 0.0f) - x;
}

static inline float kl_log(float x, float y, float pw) { (void)pw; return expf(y) * (y - x); }
static inline float kl_log_dx(float x, float y, float pw) { (void)x, (void)pw; return -expf(y); }
static inline float kl_log_dy(float x, float y, float pw) {
  (void)pw;
  return expf(y) * (y - x + 1.0f);
}

/* smooth_l1 with b = beta (b = 0: |d|, as PyTorch's l1_loss) and huber with
 * b = delta, of d = x - y; the third argument carries b. At d = 0 with
 * b = 0 the gradient is sign(0) = 0, as l1_loss's (PyTorch 1.13's
 * smooth_l1 kernel gives -1 there to both input and target). */
static inline float smooth_l1(float x, float y, float b) {
  float d = fabsf(x - y);
  return d < b ? 0.5f * d * d / b : d - 0.5f * b;
}
static inline float smooth_l1_dx(float x, float y, float b) {
  float d = x - y;
  return fabsf(d) < b ? d / b : sign(d);
}
static inline float smooth_l1_dy(float x, float y, float b) { return -smooth_l1_dx(x, y, b); }

static inline float huber(float x, float y, float b) {
  float d = fabsf(x - y);
  return d <= b ? 0.5f * d * d : b * (d - 0.5f * b);
}
static inline float huber_dx(float x, float y, float b) {
  float d = x - y;
  return fabsf(d) <= b ? d : b * sign(d);
}
static inline float huber_dy(float x, float y, float b) { return -huber_dx(x, y, b); }

/* The third argument of element i: pw[i] when given, else p0. */
static inline double forward_run(elem_fn f, float *out, const float *x, const float *y,
                                 const float *w, const float *pw, float p0, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = f(x[i], y[i], pw ? pw[i] : p0);
    if (w) v *= w[i];
    if (out) out[i] = v;
    sum += v;
  }
  return sum;
}

/* What the third argument is when pw is NULL: smooth_l1's beta, huber's
 * delta, else pos_weight's default 1. */
static float default_param(nn_pointwise_kind kind, float param) {
  return kind == NN_LOSS_SMOOTH_L1 || kind == NN_LOSS_HUBER ? param : 1.0f;
}

static double pointwise_forward(nn_pointwise_kind kind, float *out, const float *x, const float *y,
                                const float *w, const float *pw, float param, int64_t n) {
  float p0 = default_param(kind, param);
  switch (kind) {
  case NN_LOSS_MSE: return forward_run(mse, out, x, y, w, pw, p0, n);
  case NN_LOSS_L1: return forward_run(l1, out, x, y, w, pw, p0, n);
  case NN_LOSS_BCE: return forward_run(bce, out, x, y, w, pw, p0, n);
  case NN_LOSS_BCE_LOGITS: return forward_run(bce_logits, out, x, y, w, pw, p0, n);
  case NN_LOSS_KL_DIV: return forward_run(kl, out, x, y, w, pw, p0, n);
  case NN_LOSS_KL_DIV_LOG: return forward_run(kl_log, out, x, y, w, pw, p0, n);
  case NN_LOSS_SMOOTH_L1: return forward_run(smooth_l1, out, x, y, w, pw, p0, n);
  case NN_LOSS_HUBER: return forward_run(huber, out, x, y, w, pw, p0, n);
  case NN_LOSS_POINTWISE_COUNT: break;
  }
  return NAN;
}

typedef struct pointwise_job {
  nn_pointwise_kind kind;
  float *out, *gx, *gy;
  const float *x, *y, *w, *pw, *g;
  int64_t gstep;
  float param, scale;
  double sum[MAX_PARTS];
} pointwise_job;

static const float *from(const float *p, int64_t i) { return p ? p + i : NULL; }

static void pointwise_forward_part(void *ctx, int part, int64_t begin, int64_t end) {
  pointwise_job *j = ctx;
  j->sum[part] = pointwise_forward(j->kind, j->out ? j->out + begin : NULL, j->x + begin, j->y + begin,
                                   from(j->w, begin), from(j->pw, begin), j->param, end - begin);
}

double nn_kernel_pointwise_loss_forward(nn_pointwise_kind kind, float *out, const float *x,
                                        const float *y, const float *w, const float *pw,
                                        float param, int64_t n) {
  int parts = nn_parallel_parts(n, GRAIN);
  if (parts == 1 || parts > MAX_PARTS) return pointwise_forward(kind, out, x, y, w, pw, param, n);
  pointwise_job j = {.kind = kind, .out = out, .x = x, .y = y, .w = w, .pw = pw, .param = param};
  nn_parallel_for_parts(n, GRAIN, pointwise_forward_part, &j);
  return sum_parts(j.sum, parts);
}

static inline void backward_run(elem_fn dx, elem_fn dy, float *gx, float *gy, const float *g,
                                int64_t gstep, float scale, const float *x, const float *y,
                                const float *w, const float *pw, float p0, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float k = g[i * gstep] * scale * (w ? w[i] : 1.0f), p = pw ? pw[i] : p0;
    if (gx) gx[i] += k * dx(x[i], y[i], p);
    if (gy) gy[i] += k * dy(x[i], y[i], p);
  }
}

static void pointwise_backward(nn_pointwise_kind kind, float *gx, float *gy, const float *g, int64_t gstep,
                               float scale, const float *x, const float *y, const float *w, const float *pw,
                               float param, int64_t n) {
  float p0 = default_param(kind, param);
#define RUN_BACKWARD(name) backward_run(name##_dx, name##_dy, gx, gy, g, gstep, scale, x, y, w, pw, p0, n)
  switch (kind) {
  case NN_LOSS_MSE: RUN_BACKWARD(mse); break;
  case NN_LOSS_L1: RUN_BACKWARD(l1); break;
  case NN_LOSS_BCE: RUN_BACKWARD(bce); break;
  case NN_LOSS_BCE_LOGITS: RUN_BACKWARD(bce_logits); break;
  case NN_LOSS_KL_DIV: RUN_BACKWARD(kl); break;
  case NN_LOSS_KL_DIV_LOG: RUN_BACKWARD(kl_log); break;
  case NN_LOSS_SMOOTH_L1: RUN_BACKWARD(smooth_l1); break;
  case NN_LOSS_HUBER: RUN_BACKWARD(huber); break;
  case NN_LOSS_POINTWISE_COUNT: break;
  }
#undef RUN_BACKWARD
}

static void pointwise_backward_part(void *ctx, int64_t begin, int64_t end) {
  const pointwise_job *j = ctx;
  pointwise_backward(j->kind, j->gx ? j->gx + begin : NULL, j->gy ? j->gy + begin : NULL,
                     j->g + begin * j->gstep, j->gstep, j->scale, j->x + begin, j->y + begin, from(j->w, begin),
                     from(j->pw, begin), j->param, end - begin);
}

void nn_kernel_pointwise_loss_backward(nn_pointwise_kind kind, float *gx, float *gy,
                                       const float *g, int64_t gstep, float scale, const float *x,
                                       const float *y, const float *w, const float *pw,
                                       float param, int64_t n) {
  pointwise_job j = {.kind = kind, .gx = gx, .gy = gy, .x = x, .y = y, .w = w, .pw = pw, .g = g,
                     .gstep = gstep, .param = param, .scale = scale};
  nn_parallel_for(n, GRAIN, pointwise_backward_part, &j);
}

/* ---- multi-class margin loss ---- */

double nn_kernel_multi_margin_forward(float *loss, const float *x, const int64_t *y,
                                      const float *w, int64_t N, int64_t C, int p, float margin) {
  double total = 0;
  for (int64_t n = 0; n < N; n++) {
    const float *xr = x + n * C;
    int64_t t = nn_index_to_0based(y[n]);
    double sum = 0;
    for (int64_t c = 0; c < C; c++) {
      float z = margin - xr[t] + xr[c];
      if (c != t && z > 0) sum += p == 1 ? z : (double)z * z;
    }
    float li = (float)(sum * (w ? w[t] : 1.0f) / (double)C);
    if (loss) loss[n] = li;
    total += li;
  }
  return total;
}

void nn_kernel_multi_margin_backward(float *gx, const float *g, int64_t gstep, float scale,
                                     const float *x, const int64_t *y, const float *w, int64_t N,
                                     int64_t C, int p, float margin) {
  for (int64_t n = 0; n < N; n++) {
    const float *xr = x + n * C;
    float *gr = gx + n * C;
    int64_t t = nn_index_to_0based(y[n]);
    float k = g[n * gstep] * scale * (w ? w[t] : 1.0f) / (float)C;
    for (int64_t c = 0; c < C; c++) {
      float z = margin - xr[t] + xr[c];
      if (c == t || !(z > 0)) continue;
      float d = p == 1 ? k : 2.0f * z * k;
      gr[c] += d;
      gr[t] -= d;
    }
  }
}

/* ---- regularizers ---- */

static inline float absf(float v) { return fabsf(v); }
static inline float squaref(float v) { return v * v; }

/* sum f(x): eight float lanes per block of 4096 elements (a loop the
 * compiler vectorizes without reassociating), block totals in double. */
static inline double lane_sum(float (*f)(float), const float *x, int64_t n) {
  double total = 0;
  for (int64_t i = 0; i < n;) {
    int64_t end = n - i > 4096 ? i + 4096 : n;
    float acc[8] = {0};
    for (; i + 8 <= end; i += 8)
      for (int k = 0; k < 8; k++) acc[k] += f(x[i + k]);
    for (; i < end; i++) acc[0] += f(x[i]);
    for (int k = 0; k < 8; k++) total += acc[k];
  }
  return total;
}

double nn_kernel_abs_sum(const float *x, int64_t n) { return lane_sum(absf, x, n); }
double nn_kernel_square_sum(const float *x, int64_t n) { return lane_sum(squaref, x, n); }

void nn_kernel_abs_sum_backward(float *gx, float g, const float *x, int64_t n) {
  for (int64_t i = 0; i < n; i++) gx[i] += g * sign(x[i]);
}

void nn_kernel_square_sum_backward(float *gx, float g, const float *x, int64_t n) {
  float g2 = 2.0f * g;
  for (int64_t i = 0; i < n; i++) gx[i] += g2 * x[i];
}

/* ---- entry points ---- */

/* The tensor a kernel reads for t: t itself when it is contiguous with the
 * element count of shape (ndim, shape), else a contiguous copy of t
 * broadcast to that shape, left in *copy for the caller to release. t may
 * be NULL (an absent option): then NULL. */
static nn_status dense(const nn_tensor *t, int ndim, const int64_t *shape, const nn_tensor **use,
                       nn_tensor **copy) {
  *use = t;
  *copy = NULL;
  if (!t || (nn_tensor_is_contiguous(t) && nn_tensor_numel(t) == nn_shape_numel(ndim, shape)))
    return NN_OK;
  if (!(*copy = nn_tensor_empty(t->dtype, ndim, shape))) return NN_ERR_NOMEM;
  nn_copy(*copy, t);
  *use = *copy;
  return NN_OK;
}

/* dense() at t's own shape: contiguity only. */
static nn_status dense_as_is(const nn_tensor *t, const nn_tensor **use, nn_tensor **copy) {
  return dense(t, t ? t->ndim : 0, t ? t->shape : NULL, use, copy);
}

static void release_all(nn_tensor **t, int n) {
  for (int i = 0; i < n; i++) nn_tensor_release(t[i]);
}

static float *data_or_null(const nn_tensor *t) { return t ? nn_tensor_data(t) : NULL; }

/* " at position 5" (1-D), " at position [2,3]" (N-D), "" (0-D) for the
 * flat index i of a tensor of that shape, 1-based as the user counts. */
static const char *position_str(char *buf, size_t len, int ndim, const int64_t *shape, int64_t i) {
  if (ndim == 0) return "";
  if (ndim == 1) {
    snprintf(buf, len, " at position %" PRId64, i + 1);
    return buf;
  }
  int64_t idx[NN_MAX_DIMS];
  for (int d = ndim - 1; d >= 0; d--) {
    idx[d] = shape[d] ? i % shape[d] + 1 : 1;
    i = shape[d] ? i / shape[d] : 0;
  }
  size_t n = (size_t)snprintf(buf, len, " at position [");
  for (int d = 0; d < ndim && n < len; d++)
    n += (size_t)snprintf(buf + n, len - n, d ? ",%" PRId64 : "%" PRId64, idx[d]);
  if (n < len) snprintf(buf + n, len - n, "]");
  return buf;
}

/* Every label of t (contiguous int64) in 1..C, or equal to the ignore
 * index when there is one. */
static nn_status check_labels(const nn_tensor *t, int64_t C, bool has_ignore, int64_t ignore) {
  const int64_t *d = nn_tensor_data(t);
  int64_t n = nn_tensor_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (!(has_ignore && d[i] == ignore) && (d[i] < 1 || d[i] > C)) {
      char pos[160];
      return nn_fail("target %" PRId64 "%s is out of range 1..%" PRId64 " (labels are 1-based)",
                     d[i], position_str(pos, sizeof pos, t->ndim, t->shape, i), C);
    }
  return NN_OK;
}

/* bce_loss takes probabilities: every element of t in [0, 1]. */
static nn_status check_unit_range(const nn_tensor *t, const char *what) {
  const float *d = nn_tensor_data(t);
  int64_t n = nn_tensor_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (!(d[i] >= 0 && d[i] <= 1)) {
      char pos[160];
      return nn_fail("%s must hold probabilities in [0, 1], got %g%s", what, d[i],
                     position_str(pos, sizeof pos, t->ndim, t->shape, i));
    }
  return NN_OK;
}

static nn_status save_all(nn_node *node, const nn_tensor *const *t, int n) {
  nn_status st = NN_OK;
  for (int i = 0; i < n && !st; i++)
    if (t[i]) st = nn_node_save(node, t[i]);
  return st;
}

/* cross_entropy and nll_loss: saved (x, target, lse[, weight]) for cross
 * entropy, (target[, weight]) for NLL, each contiguous. */
static nn_status class_loss(nn_op op, nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                            const nn_tensor *weight, const nn_cross_entropy_args *args) {
  bool nll = op == NN_OP_NLL_LOSS, probs = target->dtype == NN_FLOAT32;
  nn_class_loss_node k = {.args = *args, .N = 1, .C = x->shape[x->ndim == 1 ? 0 : 1], .S = 1,
                          .probs = probs};
  if (x->ndim > 1) k.N = x->shape[0];
  for (int i = 2; i < x->ndim; i++) k.S *= x->shape[i];
  int64_t ignore = args->has_ignore ? args->ignore_index : NN_NO_IGNORE;
  const nn_tensor *xc, *tc, *wc;
  nn_tensor *tmp[4] = {NULL}; /* copies of x, target, weight; lse */
  nn_status st = dense_as_is(x, &xc, &tmp[0]);
  if (!st) st = dense_as_is(target, &tc, &tmp[1]);
  if (!st) st = dense_as_is(weight, &wc, &tmp[2]);
  if (!st && !probs) st = check_labels(tc, k.C, args->has_ignore, ignore);
  /* The split log-sum-exp per position, only for a backward. */
  bool record = nn_grad_enabled() &&
                (nn_tensor_needs_grad(x) || (probs && nn_tensor_needs_grad(target)));
  if (!st && record && !nll &&
      !(tmp[3] = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){k.N * k.S, 2})))
    st = NN_ERR_NOMEM;
  if (!st) {
    nn_reduction r = args->reduction;
    float *per = r == NN_REDUCTION_NONE ? nn_tensor_data(out) : NULL, *lse = data_or_null(tmp[3]);
    const float *xd = nn_tensor_data(xc), *wd = data_or_null(wc);
    float eps = args->label_smoothing;
    double wsum = (double)(k.N * k.S), total;
    if (nll)
      total = nn_kernel_nll_forward(per, &wsum, xd, nn_tensor_data(tc), wd, k.N, k.C, k.S, ignore);
    else if (probs)
      total = nn_kernel_cross_entropy_probs_forward(per, lse, xd, nn_tensor_data(tc), wd, k.N, k.C,
                                                    k.S, eps);
    else
      total = nn_kernel_cross_entropy_forward(per, lse, &wsum, xd, nn_tensor_data(tc), wd, k.N, k.C,
                                              k.S, eps, ignore);
    bool mean = r == NN_REDUCTION_MEAN;
    if (r != NN_REDUCTION_NONE)
      *(float *)nn_tensor_data(out) = (float)(mean ? total / wsum : total);
    k.scale = (float)(mean ? 1.0 / wsum : 1.0);
    nn_node *node;
    nn_tensor *inputs[2] = {(nn_tensor *)x, probs ? (nn_tensor *)target : NULL};
    st = nn_record(&node, op, out, 2, inputs);
    if (!st && node) {
      node->args.class_loss = k;
      st = nll ? save_all(node, (const nn_tensor *[]){tc, wc}, 2)
               : save_all(node, (const nn_tensor *[]){xc, tc, tmp[3], wc}, 4);
    }
  }
  release_all(tmp, 4);
  return st;
}

nn_status nn_cross_entropy(nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                           const nn_tensor *weight, const nn_cross_entropy_args *args) {
  return class_loss(NN_OP_CROSS_ENTROPY, out, x, target, weight, args);
}

nn_status nn_nll_loss(nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                      const nn_tensor *weight, const nn_nll_loss_args *args) {
  return class_loss(NN_OP_NLL_LOSS, out, x, target, weight, args);
}

static nn_pointwise_kind pointwise_kind(nn_op op, bool log_target) {
  switch (op) {
  case NN_OP_MSE_LOSS: return NN_LOSS_MSE;
  case NN_OP_L1_LOSS: return NN_LOSS_L1;
  case NN_OP_BCE_LOSS: return NN_LOSS_BCE;
  case NN_OP_BCE_WITH_LOGITS: return NN_LOSS_BCE_LOGITS;
  case NN_OP_SMOOTH_L1_LOSS: return NN_LOSS_SMOOTH_L1;
  case NN_OP_HUBER_LOSS: return NN_LOSS_HUBER;
  default: return log_target ? NN_LOSS_KL_DIV_LOG : NN_LOSS_KL_DIV;
  }
}

/* Saved: x and y, then weight and pos_weight when given, all contiguous
 * with the loss shape's elements. */
nn_status nn_pointwise_loss(nn_op op, nn_tensor *out, const nn_tensor *x, const nn_tensor *y,
                            const nn_tensor *weight, const nn_tensor *pos_weight,
                            const nn_pointwise_loss_args *args) {
  nn_pointwise_loss_node k = {.kind = pointwise_kind(op, args->log_target),
                              .reduction = args->reduction,
                              .weight_slot = -1,
                              .pos_weight_slot = -1,
                              .param = args->param};
  bool binary = k.kind == NN_LOSS_BCE || k.kind == NN_LOSS_BCE_LOGITS;
  if (binary) { /* x's shape; y has its elements, read in order */
    k.ndim = x->ndim;
    memcpy(k.shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  } else {
    nn_broadcast_shape(x->ndim, x->shape, y->ndim, y->shape, &k.ndim, k.shape);
  }
  const nn_tensor *d[4]; /* x, y, weight, pos_weight as the kernel reads them */
  nn_tensor *tmp[4] = {NULL};
  const nn_tensor *src[4] = {x, y, weight, pos_weight};
  nn_status st = NN_OK;
  for (int i = 0; i < 4 && !st; i++)
    st = binary && i == 1 ? dense_as_is(y, &d[1], &tmp[1])
                          : dense(src[i], k.ndim, k.shape, &d[i], &tmp[i]);
  if (!st && k.kind == NN_LOSS_BCE) st = check_unit_range(d[0], "input");
  if (!st && k.kind == NN_LOSS_BCE) st = check_unit_range(d[1], "target");
  if (!st) {
    nn_reduction r = args->reduction;
    int64_t n = nn_shape_numel(k.ndim, k.shape);
    bool none = r == NN_REDUCTION_NONE;
    double total = nn_kernel_pointwise_loss_forward(k.kind, none ? nn_tensor_data(out) : NULL,
                                                    nn_tensor_data(d[0]), nn_tensor_data(d[1]),
                                                    data_or_null(d[2]), data_or_null(d[3]),
                                                    k.param, n);
    double count = r == NN_REDUCTION_MEAN                   ? (double)n
                   : r == NN_REDUCTION_BATCHMEAN && x->ndim ? (double)x->shape[0]
                                                            : 1.0;
    if (!none) *(float *)nn_tensor_data(out) = (float)(total / count);
    k.scale = (float)(1.0 / count);
    if (d[2]) k.weight_slot = 2;
    if (d[3]) k.pos_weight_slot = d[2] ? 3 : 2;
    nn_node *node;
    st = nn_record(&node, op, out, 2, (nn_tensor *[]){(nn_tensor *)x, (nn_tensor *)y});
    if (!st && node) {
      node->args.pointwise_loss = k;
      st = save_all(node, d, 4);
    }
  }
  release_all(tmp, 4);
  return st;
}

/* Saved: x, target[, weight], each contiguous. */
nn_status nn_multi_margin_loss(nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                               const nn_tensor *weight, const nn_multi_margin_loss_args *args) {
  nn_multi_margin_node k = {.args = *args, .N = x->ndim == 2 ? x->shape[0] : 1,
                            .C = x->shape[x->ndim - 1]};
  const nn_tensor *xc, *tc, *wc;
  nn_tensor *tmp[3] = {NULL}; /* copies of x, target, weight */
  nn_status st = dense_as_is(x, &xc, &tmp[0]);
  if (!st) st = dense_as_is(target, &tc, &tmp[1]);
  if (!st) st = dense_as_is(weight, &wc, &tmp[2]);
  if (!st) st = check_labels(tc, k.C, false, 0);
  if (!st) {
    nn_reduction r = args->reduction;
    double total = nn_kernel_multi_margin_forward(
        r == NN_REDUCTION_NONE ? nn_tensor_data(out) : NULL, nn_tensor_data(xc),
        nn_tensor_data(tc), data_or_null(wc), k.N, k.C, args->p, args->margin);
    bool mean = r == NN_REDUCTION_MEAN;
    if (r != NN_REDUCTION_NONE)
      *(float *)nn_tensor_data(out) = (float)(mean ? total / (double)k.N : total);
    k.scale = (float)(mean ? 1.0 / (double)k.N : 1.0);
    nn_node *node;
    st = nn_record(&node, NN_OP_MULTI_MARGIN_LOSS, out, 1, (nn_tensor *[]){(nn_tensor *)x});
    if (!st && node) {
      node->args.multi_margin = k;
      st = save_all(node, (const nn_tensor *[]){xc, tc, wc}, 3);
    }
  }
  release_all(tmp, 3);
  return st;
}

/* Saved: the student (contiguous), the teacher probabilities, the labels
 * and the split log-sum-exps. */
nn_status nn_distillation_loss(nn_tensor *out, const nn_tensor *student,
                               const nn_tensor *teacher, const nn_tensor *target,
                               const nn_distillation_args *args) {
  int64_t N = student->shape[0], C = student->shape[1];
  const nn_tensor *sc, *tc, *yc;
  nn_tensor *tmp[5] = {NULL}; /* copies of student, teacher, target; p, lse */
  nn_status st = dense_as_is(student, &sc, &tmp[0]);
  if (!st) st = dense_as_is(teacher, &tc, &tmp[1]);
  if (!st) st = dense_as_is(target, &yc, &tmp[2]);
  if (!st) st = check_labels(yc, C, false, 0);
  if (!st && (!(tmp[3] = nn_tensor_empty(NN_FLOAT32, 2, student->shape)) ||
              !(tmp[4] = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){N, 4}))))
    st = NN_ERR_NOMEM;
  if (!st) {
    double loss = nn_kernel_distillation_forward(nn_tensor_data(tmp[3]), nn_tensor_data(tmp[4]),
                                                 nn_tensor_data(sc), nn_tensor_data(tc),
                                                 nn_tensor_data(yc), N, C, args->T, args->alpha);
    *(float *)nn_tensor_data(out) = (float)loss;
    nn_node *node;
    st = nn_record(&node, NN_OP_DISTILLATION, out, 1, (nn_tensor *[]){(nn_tensor *)student});
    if (!st && node) {
      node->args.distillation = *args;
      st = save_all(node, (const nn_tensor *[]){sc, tmp[3], yc, tmp[4]}, 4);
    }
  }
  release_all(tmp, 5);
  return st;
}

/* One tensor's term: term = sum |p| or sum p^2, recorded with p saved
 * (contiguous). */
static nn_status penalty_term(nn_op op, nn_tensor *term, nn_tensor *p) {
  const nn_tensor *pc;
  nn_tensor *copy;
  nn_status st = dense_as_is(p, &pc, &copy);
  if (!st) {
    int64_t n = nn_tensor_numel(pc);
    double v = op == NN_OP_L2_PENALTY ? nn_kernel_square_sum(nn_tensor_data(pc), n)
                                      : nn_kernel_abs_sum(nn_tensor_data(pc), n);
    *(float *)nn_tensor_data(term) = (float)v;
    nn_node *node;
    st = nn_record(&node, op, term, 1, &p);
    if (!st && node) st = nn_node_save(node, pc);
  }
  nn_tensor_release(copy);
  return st;
}

nn_status nn_penalty(nn_op op, nn_tensor *out, int64_t n, nn_tensor *const *params) {
  if (n == 0) {
    *(float *)nn_tensor_data(out) = 0;
    return NN_OK;
  }
  nn_status st = NN_OK;
  nn_tensor *acc = NULL; /* the running sum; owned unless it is out */
  for (int64_t i = 0; i < n && !st; i++) {
    nn_tensor *term = n == 1 ? out : nn_tensor_empty(NN_FLOAT32, 0, NULL), *sum = term;
    st = term ? penalty_term(op, term, params[i]) : NN_ERR_NOMEM;
    if (!st && i > 0) { /* acc + term, into out for the last one */
      sum = i == n - 1 ? out : nn_tensor_empty(NN_FLOAT32, 0, NULL);
      st = sum ? nn_apply_binary(NN_OP_ADD, sum, acc, term) : NN_ERR_NOMEM;
      if (term != out) nn_tensor_release(term);
    }
    if (acc != out) nn_tensor_release(acc);
    acc = sum;
  }
  if (acc != out) nn_tensor_release(acc);
  return st;
}

/* ---- graph nodes ---- */

/* The upstream gradient's step: per position for 'none', else one number. */
static int64_t grad_step(nn_reduction reduction) { return reduction == NN_REDUCTION_NONE ? 1 : 0; }

bool nn_cross_entropy_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_class_loss_node *k = &n->args.class_loss;
  const float *x = nn_tensor_data(n->saved[0]), *lse = nn_tensor_data(n->saved[2]);
  const float *w = n->nsaved > 3 ? nn_tensor_data(n->saved[3]) : NULL;
  int64_t step = grad_step(k->args.reduction);
  float eps = k->args.label_smoothing;
  if (k->probs)
    nn_kernel_cross_entropy_probs_backward(data_or_null(gi[0]), data_or_null(gi[1]),
                                           nn_tensor_data(g), step, k->scale, x, lse,
                                           nn_tensor_data(n->saved[1]), w, k->N, k->C, k->S, eps);
  else if (gi[0])
    nn_kernel_cross_entropy_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), step, k->scale, x,
                                     lse, nn_tensor_data(n->saved[1]), w, k->N, k->C, k->S, eps,
                                     k->args.has_ignore ? k->args.ignore_index : NN_NO_IGNORE);
  return true;
}

bool nn_nll_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_class_loss_node *k = &n->args.class_loss;
  if (!gi[0]) return true;
  const float *w = n->nsaved > 1 ? nn_tensor_data(n->saved[1]) : NULL;
  nn_kernel_nll_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), grad_step(k->args.reduction),
                         k->scale, nn_tensor_data(n->saved[0]), w, k->N, k->C, k->S,
                         k->args.has_ignore ? k->args.ignore_index : NN_NO_IGNORE);
  return true;
}

bool nn_multi_margin_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_multi_margin_node *k = &n->args.multi_margin;
  if (!gi[0]) return true;
  const float *w = n->nsaved > 2 ? nn_tensor_data(n->saved[2]) : NULL;
  nn_kernel_multi_margin_backward(nn_tensor_data(gi[0]), nn_tensor_data(g),
                                  grad_step(k->args.reduction), k->scale,
                                  nn_tensor_data(n->saved[0]), nn_tensor_data(n->saved[1]), w,
                                  k->N, k->C, k->args.p, k->args.margin);
  return true;
}

bool nn_distillation_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const nn_tensor *s = n->saved[0];
  nn_kernel_distillation_backward(nn_tensor_data(gi[0]), *(const float *)nn_tensor_data(g),
                                  nn_tensor_data(s), nn_tensor_data(n->saved[1]),
                                  nn_tensor_data(n->saved[3]), nn_tensor_data(n->saved[2]),
                                  s->shape[0], s->shape[1], n->args.distillation.T,
                                  n->args.distillation.alpha);
  return true;
}

/* Where input i's gradient is formed: straight in gi when the input has
 * the broadcast shape's elements, else in a zeroed scratch of the
 * broadcast shape (ndim, shape) that nn_accumulate then sums into gi. */
static bool gradient_target(nn_tensor *gi, int ndim, const int64_t *shape, nn_tensor **scratch,
                            float **out) {
  *out = NULL;
  if (!gi) return true;
  if (nn_tensor_numel(gi) == nn_shape_numel(ndim, shape)) {
    *out = nn_tensor_data(gi);
    return true;
  }
  *scratch = nn_tensor_zeros(NN_FLOAT32, ndim, shape);
  if (!*scratch) return false;
  *out = nn_tensor_data(*scratch);
  return true;
}

/* MSE, L1, BCE, BCE_WITH_LOGITS, KL_DIV, SMOOTH_L1, HUBER: one backward for all. */
bool nn_pointwise_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_pointwise_loss_node *k = &n->args.pointwise_loss;
  const nn_tensor *x = n->saved[0], *y = n->saved[1];
  const float *w = k->weight_slot >= 0 ? nn_tensor_data(n->saved[k->weight_slot]) : NULL;
  const float *pw = k->pos_weight_slot >= 0 ? nn_tensor_data(n->saved[k->pos_weight_slot]) : NULL;
  nn_tensor *sx = NULL, *sy = NULL;
  float *gx, *gy;
  bool ok = gradient_target(gi[0], k->ndim, k->shape, &sx, &gx) &&
            gradient_target(gi[1], k->ndim, k->shape, &sy, &gy);
  if (ok) {
    nn_kernel_pointwise_loss_backward(k->kind, gx, gy, nn_tensor_data(g), grad_step(k->reduction),
                                      k->scale, nn_tensor_data(x), nn_tensor_data(y), w, pw,
                                      k->param, nn_shape_numel(k->ndim, k->shape));
    if (sx) nn_accumulate(gi[0], sx);
    if (sy) nn_accumulate(gi[1], sy);
  }
  nn_tensor_release(sx);
  nn_tensor_release(sy);
  return ok;
}

bool nn_l1_penalty_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0];
  if (gi[0])
    nn_kernel_abs_sum_backward(nn_tensor_data(gi[0]), *(const float *)nn_tensor_data(g),
                               nn_tensor_data(x), nn_tensor_numel(x));
  return true;
}

bool nn_l2_penalty_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0];
  if (gi[0])
    nn_kernel_square_sum_backward(nn_tensor_data(gi[0]), *(const float *)nn_tensor_data(g),
                                  nn_tensor_data(x), nn_tensor_numel(x));
  return true;
}
