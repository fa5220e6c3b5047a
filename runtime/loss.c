/*
 * Losses and regularizers (nn_loss.h): fused, numerically stable forward
 * and backward kernels, and the backward functions of their graph nodes.
 *
 * Cross entropy never forms softmax and then takes its log: every
 * log-probability is (x - m) - log sum exp(x - m) with m the row max, so
 * logits of +-1000 give finite losses and gradients. Sums over rows and
 * over the batch run in double.
 */
#include <math.h>

#include "nn_autograd.h"
#include "nn_loss.h"

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

double nn_kernel_cross_entropy_forward(float *loss, float *lse, double *wsum, const float *x,
                                       const int64_t *target, const float *w, int64_t N,
                                       int64_t C, int64_t S, float eps, int64_t ignore) {
  double total = 0, ws = 0;
  for (int64_t n = 0; n < N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s, t = target[i] == ignore ? -1 : target[i];
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

void nn_kernel_cross_entropy_backward(float *gx, const float *g, int64_t gstep, float scale,
                                      const float *x, const float *lse, const int64_t *target,
                                      const float *w, int64_t N, int64_t C, int64_t S, float eps,
                                      int64_t ignore) {
  float W = (float)weight_total(w, C);
  for (int64_t n = 0; n < N; n++)
    for (int64_t s = 0; s < S; s++) {
      int64_t i = n * S + s, t = target[i];
      if (t == ignore) continue;
      float k = g[i * gstep] * scale;
      float a = (1.0f - eps) * (w ? w[t] : 1.0f) * k, b = eps / (float)C * k;
      if (S == 1) ce_position_backward(gx + n * C, x + n * C, 1, lse + 2 * i, t, w, C, a, b, W);
      else
        ce_position_backward(gx + n * C * S + s, x + n * C * S + s, S, lse + 2 * i, t, w, C, a,
                             b, W);
    }
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
      int64_t i = n * S + s, t = target[i];
      float li = 0;
      if (t != ignore) {
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
      if (t != ignore) gx[(n * C + t) * S + s] -= g[i * gstep] * scale * (w ? w[t] : 1.0f);
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
    ce += neg_logp(sr[y[n]], l4[2], l4[3]);
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
    gr[y[n]] -= kb;
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

static inline double forward_run(elem_fn f, float *out, const float *x, const float *y,
                                 const float *w, const float *pw, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; i++) {
    float v = f(x[i], y[i], pw ? pw[i] : 1.0f);
    if (w) v *= w[i];
    if (out) out[i] = v;
    sum += v;
  }
  return sum;
}

double nn_kernel_pointwise_loss_forward(nn_pointwise_loss kind, float *out, const float *x,
                                        const float *y, const float *w, const float *pw,
                                        int64_t n) {
  switch (kind) {
  case NN_LOSS_MSE: return forward_run(mse, out, x, y, w, pw, n);
  case NN_LOSS_L1: return forward_run(l1, out, x, y, w, pw, n);
  case NN_LOSS_BCE: return forward_run(bce, out, x, y, w, pw, n);
  case NN_LOSS_BCE_LOGITS: return forward_run(bce_logits, out, x, y, w, pw, n);
  case NN_LOSS_KL_DIV: return forward_run(kl, out, x, y, w, pw, n);
  case NN_LOSS_KL_DIV_LOG: return forward_run(kl_log, out, x, y, w, pw, n);
  case NN_LOSS_POINTWISE_COUNT: break;
  }
  return NAN;
}

static inline void backward_run(elem_fn dx, elem_fn dy, float *gx, float *gy, const float *g,
                                int64_t gstep, float scale, const float *x, const float *y,
                                const float *w, const float *pw, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float k = g[i * gstep] * scale * (w ? w[i] : 1.0f), p = pw ? pw[i] : 1.0f;
    if (gx) gx[i] += k * dx(x[i], y[i], p);
    if (gy) gy[i] += k * dy(x[i], y[i], p);
  }
}

void nn_kernel_pointwise_loss_backward(nn_pointwise_loss kind, float *gx, float *gy,
                                       const float *g, int64_t gstep, float scale, const float *x,
                                       const float *y, const float *w, const float *pw,
                                       int64_t n) {
  switch (kind) {
  case NN_LOSS_MSE: backward_run(mse_dx, mse_dy, gx, gy, g, gstep, scale, x, y, w, pw, n); break;
  case NN_LOSS_L1: backward_run(l1_dx, l1_dy, gx, gy, g, gstep, scale, x, y, w, pw, n); break;
  case NN_LOSS_BCE: backward_run(bce_dx, bce_dy, gx, gy, g, gstep, scale, x, y, w, pw, n); break;
  case NN_LOSS_BCE_LOGITS:
    backward_run(bce_logits_dx, bce_logits_dy, gx, gy, g, gstep, scale, x, y, w, pw, n);
    break;
  case NN_LOSS_KL_DIV: backward_run(kl_dx, kl_dy, gx, gy, g, gstep, scale, x, y, w, pw, n); break;
  case NN_LOSS_KL_DIV_LOG:
    backward_run(kl_log_dx, kl_log_dy, gx, gy, g, gstep, scale, x, y, w, pw, n);
    break;
  case NN_LOSS_POINTWISE_COUNT: break;
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

/* ---- graph nodes (what each saves: nn_grad_ops.h) ---- */

static float *data_or_null(const nn_tensor *t) { return t ? nn_tensor_data(t) : NULL; }

/* The upstream gradient's step: per position for 'none', else one number. */
static int64_t grad_step(int64_t reduction) { return reduction == NN_REDUCTION_NONE ? 1 : 0; }

bool nn_cross_entropy_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const int64_t *p = n->params;
  const float *x = nn_tensor_data(n->saved[0]), *lse = nn_tensor_data(n->saved[2]);
  const float *w = n->nsaved > 3 ? nn_tensor_data(n->saved[3]) : NULL;
  float eps = (float)n->scalars[0], scale = (float)n->scalars[1];
  if (p[5]) /* class probabilities */
    nn_kernel_cross_entropy_probs_backward(data_or_null(gi[0]), data_or_null(gi[1]),
                                           nn_tensor_data(g), grad_step(p[0]), scale, x, lse,
                                           nn_tensor_data(n->saved[1]), w, p[1], p[2], p[3], eps);
  else if (gi[0])
    nn_kernel_cross_entropy_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), grad_step(p[0]),
                                     scale, x, lse, nn_tensor_data(n->saved[1]), w, p[1], p[2],
                                     p[3], eps, p[4]);
  return true;
}

bool nn_nll_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const int64_t *p = n->params;
  if (!gi[0]) return true;
  const float *w = n->nsaved > 1 ? nn_tensor_data(n->saved[1]) : NULL;
  nn_kernel_nll_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), grad_step(p[0]),
                         (float)n->scalars[1], nn_tensor_data(n->saved[0]), w, p[1], p[2], p[3],
                         p[4]);
  return true;
}

bool nn_distillation_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_kernel_distillation_backward(nn_tensor_data(gi[0]), *(const float *)nn_tensor_data(g),
                                  nn_tensor_data(n->saved[0]), nn_tensor_data(n->saved[1]),
                                  nn_tensor_data(n->saved[3]), nn_tensor_data(n->saved[2]),
                                  n->params[0], n->params[1], (float)n->scalars[0],
                                  (float)n->scalars[1]);
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

/* MSE, L1, BCE, BCE_WITH_LOGITS, KL_DIV: one backward for all. */
bool nn_pointwise_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0], *y = n->saved[1];
  const float *w = n->params[2] >= 0 ? nn_tensor_data(n->saved[n->params[2]]) : NULL;
  const float *pw = n->params[3] >= 0 ? nn_tensor_data(n->saved[n->params[3]]) : NULL;
  int ndim = (int)n->params[4];
  const int64_t *shape = &n->params[5];
  nn_tensor *sx = NULL, *sy = NULL;
  float *gx, *gy;
  bool ok = gradient_target(gi[0], ndim, shape, &sx, &gx) &&
            gradient_target(gi[1], ndim, shape, &sy, &gy);
  if (ok) {
    nn_kernel_pointwise_loss_backward((nn_pointwise_loss)n->params[0], gx, gy, nn_tensor_data(g),
                                      grad_step(n->params[1]), (float)n->scalars[0],
                                      nn_tensor_data(x), nn_tensor_data(y), w, pw,
                                      nn_shape_numel(ndim, shape));
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
