/*
 * nn_loss: activations beyond the elementwise table (leaky ReLU, ELU,
 * softmax, log-softmax) and the losses, forward and backward.
 *
 * Dimension letters, the same in every function here:
 *   N  batch, C  classes (or the softmax dim), S  positions after the
 *   class dim (1 for [N, C]; d1*d2*... for [N, C, d1, d2, ...]),
 *   M  rows before the softmax dim, n  elements of a pointwise loss.
 * A contiguous (M, C, S) array holds element (m, c, s) at (m*C + c)*S + s.
 *
 * Kernels are pure: raw pointers and sizes, outputs first, no allocation,
 * no errors. Backward kernels ADD into their gradient outputs. A loss's
 * upstream gradient is g[i * gstep] for position i (gstep 0: one number,
 * for a reduced loss), times scale (1/count for 'mean').
 * Labels are 0-based here; the bindings shift Lua's 1-based ones and
 * check their range, except for positions equal to `ignore` (a label
 * value that marks positions to skip; NN_NO_IGNORE: none).
 *
 * The nn_backward_* functions of these ops are declared in nn_grad_ops.h.
 */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "nn_tensor.h"

#define NN_NO_IGNORE INT64_MIN

typedef enum nn_reduction {
  NN_REDUCTION_NONE,
  NN_REDUCTION_MEAN,
  NN_REDUCTION_SUM,
  NN_REDUCTION_BATCHMEAN, /* kl_div only: the sum over the batch size */
} nn_reduction;

/* ---- inline helpers shared by activation.c and loss.c ----
 * libm's expf does not vectorize (without -ffast-math), and softmax rows
 * are mostly exponentials, so these are written for the vectorizer: float
 * selects on computed values block it (they may trap), so special cases
 * are picked with integer masks on the bits, and sums use independent
 * lanes instead of one running (order-dependent) total. */

/* expf(x) within 2 ulp, as Cephes' expf (Cody-Waite reduction, degree-6
 * polynomial), in a form the compiler vectorizes. 0 below -87.33 (where
 * expf goes subnormal), inf above 88, NaN kept. Softmax calls it on
 * x - max <= 0 and on log-probabilities. */
static inline float nn_exp_vec(float x) {
  union { float f; uint32_t u; } xb = {.f = x}, xs, tb, scale, out;
  uint32_t mag = xb.u & 0x7fffffffu, neg = xb.u >> 31;
  uint32_t nan = mag > 0x7f800000u;
  uint32_t tiny = neg & (mag > 0x42AEA8F6u) & !nan;         /* x < -87.33 */
  uint32_t huge = (neg ^ 1u) & (mag > 0x42B00000u) & !nan;  /* x > 88 */
  uint32_t normal = (tiny | huge | nan) - 1u;               /* all ones, or 0 */
  xs.u = xb.u & normal; /* special cases compute exp(0), then get replaced */
  float xc = xs.f;
  tb.f = xc * 1.44269504f + 12582912.0f; /* 1.5 * 2^23: rounds to an integer n */
  float n = tb.f - 12582912.0f;
  float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f; /* xc - n ln 2 */
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  scale.u = (tb.u - 0x4B400000u + 127u) << 23; /* 2^n from n's bits in tb */
  out.f = (p * r * r + r + 1.0f) * scale.f;
  out.u = (out.u & normal) | (xb.u & (0u - nan)) | (0x7f800000u & (0u - huge));
  return out.f;
}

/* Sum of n floats in eight independent lanes (n small: the caller blocks). */
static inline float nn_lane_sum(const float *v, int64_t n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) lane[k] += v[i + k];
  for (; i < n; i++) lane[i & 7] += v[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* The max of C values st apart (-inf for none; NaNs are skipped). */
static inline float nn_row_max(const float *x, int64_t C, int64_t st) {
  float lane[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                   -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  int64_t c = 0;
  for (; c + 8 <= C; c += 8)
    for (int k = 0; k < 8; k++) lane[k] = x[(c + k) * st] > lane[k] ? x[(c + k) * st] : lane[k];
  for (; c < C; c++) lane[0] = x[c * st] > lane[0] ? x[c * st] : lane[0];
  float m = lane[0];
  for (int k = 1; k < 8; k++) m = lane[k] > m ? lane[k] : m;
  return m;
}

/* sum exp(x - m) over C values st apart, each also stored in e unless e
 * is NULL. Blocks of 256 exponentials, lane-summed, totals in double. */
static inline double nn_row_sum_exp(float *e, const float *x, int64_t C, int64_t st, float m) {
  float buf[256];
  double total = 0;
  for (int64_t c0 = 0; c0 < C; c0 += 256) {
    int64_t len = C - c0 < 256 ? C - c0 : 256;
    const float *xr = x + c0 * st;
    for (int64_t i = 0; i < len; i++) buf[i] = nn_exp_vec(xr[i * st] - m);
    if (e)
      for (int64_t i = 0; i < len; i++) e[(c0 + i) * st] = buf[i];
    total += nn_lane_sum(buf, len);
  }
  return total;
}

/* ---- activations (activation.c) ---- */

/* y = x > 0 ? x : slope * x; y contiguous of x's shape, x any strides. */
void nn_leaky_relu_forward(nn_tensor *y, const nn_tensor *x, float slope);
/* y = x > 0 ? x : alpha * (exp(x) - 1); same layout rules. */
void nn_elu_forward(nn_tensor *y, const nn_tensor *x, float alpha);

/* y (M, C, S) = softmax of x (M, C, S) along C, or log-softmax when logp.
 * The row max is subtracted first, so any finite logits give finite
 * results; log-softmax is x - max - log(sum(exp(x - max))). */
void nn_kernel_softmax_forward(float *y, const float *x, int64_t M, int64_t C, int64_t S,
                               bool logp);
/* gx (M, C, S) += the gradient through softmax (gx += y * (gy - sum(gy*y)))
 * or log-softmax (gx += gy - exp(y) * sum(gy)), from the output y. */
void nn_kernel_softmax_backward(float *gx, const float *gy, const float *y, int64_t M, int64_t C,
                                int64_t S, bool logp);

/* ---- classification losses (loss.c) ----
 * Position i = (n, s) of logits x (N, C, S) has label target[i], log-sum-exp
 * lse_i = log sum_c exp(x[n, c, s]), and with label smoothing eps and class
 * weights w (NULL: all 1) the loss (PyTorch's definition)
 *   loss_i = (1-eps) w[t] (lse_i - x_it) + eps/C sum_c w_c (lse_i - x_ic).
 * Ignored positions have loss 0 and weight 0. lse_i is kept as two floats,
 * the row max m and log sum exp(x - m), so that lse_i - x_ic is computed as
 * (m - x_ic) + log sum, which keeps its digits for logits like 1000. */

/* loss (N*S) or NULL: per-position losses; lse (N*S, 2) or NULL: saved for
 * the backward; *wsum = sum of w[target] over counted positions ('mean'
 * divides by it). Returns the sum of the losses. */
double nn_kernel_cross_entropy_forward(float *loss, float *lse, double *wsum, const float *x,
                                       const int64_t *target, const float *w, int64_t N,
                                       int64_t C, int64_t S, float eps, int64_t ignore);
/* gx (N, C, S) += k_i ((1-eps) w_t (p_c - [c = t]) + eps/C (W p_c - w_c)),
 * k_i = g[i*gstep] * scale, p = softmax(x_i) = exp(x - lse_i), W = sum w. */
void nn_kernel_cross_entropy_backward(float *gx, const float *g, int64_t gstep, float scale,
                                      const float *x, const float *lse, const int64_t *target,
                                      const float *w, int64_t N, int64_t C, int64_t S, float eps,
                                      int64_t ignore);

/* Class-probability targets t (N, C, S): with t' = (1-eps) t + eps/C,
 * loss_i = -sum_c w_c t'_ic (x_ic - lse_i). Returns the sum. */
double nn_kernel_cross_entropy_probs_forward(float *loss, float *lse, const float *x,
                                             const float *t, const float *w, int64_t N,
                                             int64_t C, int64_t S, float eps);
/* gx += k_i (p_c sum_j w_j t'_ij - w_c t'_ic); gt += k_i (1-eps) w_c (lse_i - x_ic).
 * Either output may be NULL. */
void nn_kernel_cross_entropy_probs_backward(float *gx, float *gt, const float *g, int64_t gstep,
                                            float scale, const float *x, const float *lse,
                                            const float *t, const float *w, int64_t N,
                                            int64_t C, int64_t S, float eps);

/* Negative log-likelihood of log-probabilities x (N, C, S):
 * loss_i = -w[t] x_it. Returns the sum; *wsum as for cross entropy. */
double nn_kernel_nll_forward(float *loss, double *wsum, const float *x, const int64_t *target,
                             const float *w, int64_t N, int64_t C, int64_t S, int64_t ignore);
/* gx[n, t, s] -= k_i w[t]. */
void nn_kernel_nll_backward(float *gx, const float *g, int64_t gstep, float scale,
                            const int64_t *target, const float *w, int64_t N, int64_t C,
                            int64_t S, int64_t ignore);

/* Knowledge distillation of student logits s (N, C) from teacher logits
 * t (N, C) at temperature T, with hard labels y (N):
 *   alpha T^2 / N sum_i KL(p_i || q_i) + (1 - alpha) / N sum_i CE(s_i, y_i)
 * where p_i = softmax(t_i / T), q_i = softmax(s_i / T). Writes the teacher
 * probabilities p (N, C) and lse (N, 4): the split log-sum-exp (max, log
 * sum) of s_i / T and of s_i, both for the backward. Returns the loss. */
double nn_kernel_distillation_forward(float *p, float *lse, const float *s, const float *t,
                                      const int64_t *y, int64_t N, int64_t C, float T,
                                      float alpha);
/* gs (N, C) += g (alpha T / N (q - p) + (1 - alpha) / N (softmax(s) - onehot(y))). */
void nn_kernel_distillation_backward(float *gs, float g, const float *s, const float *p,
                                     const float *lse, const int64_t *y, int64_t N, int64_t C,
                                     float T, float alpha);

/* ---- pointwise losses (loss.c) ----
 * x, y and the optional per-element w (weight) and pw (pos_weight) are n
 * contiguous elements each (the bindings broadcast them first). */
typedef enum nn_pointwise_loss {
  NN_LOSS_MSE,         /* (x - y)^2 */
  NN_LOSS_L1,          /* |x - y| */
  NN_LOSS_BCE,         /* -w (y log x + (1-y) log(1-x)), logs clamped >= -100 */
  NN_LOSS_BCE_LOGITS,  /* w ((1-y) x + (1 + (pw-1) y) log(1 + exp(-x))), stable */
  NN_LOSS_KL_DIV,      /* y log y - y x  (x: log-probabilities, 0 log 0 = 0) */
  NN_LOSS_KL_DIV_LOG,  /* exp(y) (y - x)  (y given as log-probabilities) */
  NN_LOSS_POINTWISE_COUNT
} nn_pointwise_loss;

/* out (n) or NULL: the per-element losses. Returns their sum. */
double nn_kernel_pointwise_loss_forward(nn_pointwise_loss kind, float *out, const float *x,
                                        const float *y, const float *w, const float *pw,
                                        int64_t n);
/* gx, gy (n) += k_i * d loss_i / dx_i, dy_i; either may be NULL. */
void nn_kernel_pointwise_loss_backward(nn_pointwise_loss kind, float *gx, float *gy,
                                       const float *g, int64_t gstep, float scale, const float *x,
                                       const float *y, const float *w, const float *pw,
                                       int64_t n);

/* ---- regularizers (loss.c) ---- */

/* sum |x| and sum x^2 over n elements. */
double nn_kernel_abs_sum(const float *x, int64_t n);
double nn_kernel_square_sum(const float *x, int64_t n);
/* gx += g sign(x); gx += 2 g x. */
void nn_kernel_abs_sum_backward(float *gx, float g, const float *x, int64_t n);
void nn_kernel_square_sum_backward(float *gx, float g, const float *x, int64_t n);

#endif
