/*
 * nn_loss: the losses and regularizers, forward and backward.
 *
 * Dimension letters, the same in every function here:
 *   N  batch, C  classes, S  positions after the class dim (1 for [N, C];
 *   d1*d2*... for [N, C, d1, d2, ...]), n  elements of a pointwise loss.
 * A contiguous (N, C, S) array holds element (n, c, s) at (n*C + c)*S + s.
 *
 * Entry points take the output first (float32, contiguous, allocated by
 * the caller: 0-dim for a reduced loss, else the shape given below), then
 * the inputs (float32 unless said otherwise, any strides: they are read
 * through contiguous copies where needed), then the op's arguments. They
 * run the kernel, apply the reduction and record the node. Shapes are the
 * caller's to check; values only the runtime reads (class labels, BCE's
 * probabilities) are checked here, reported with nn_fail.
 *
 * Class labels are int64 and 1-BASED, as the user wrote them; the kernels
 * that read them shift them (nn_index_to_0based), and positions whose label
 * equals `ignore` (the 1-based ignore_index; NN_NO_IGNORE: none) are
 * skipped.
 *
 * Kernels are pure: raw pointers and sizes, outputs first, no allocation,
 * no errors. Backward kernels ADD into their gradient outputs. A loss's
 * upstream gradient is g[i * gstep] for position i (gstep 0: one number,
 * for a reduced loss), times scale (1/count for 'mean').
 */
#ifndef NN_LOSS_H
#define NN_LOSS_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_op.h"
#include "nn_status.h"
#include "nn_tensor.h"

#define NN_NO_IGNORE INT64_MIN

typedef enum nn_reduction {
  NN_REDUCTION_NONE,
  NN_REDUCTION_MEAN,
  NN_REDUCTION_SUM,
  NN_REDUCTION_BATCHMEAN, /* kl_div only: the sum over the batch size */
} nn_reduction;

/* ---- cross entropy and NLL ---- */

typedef struct nn_cross_entropy_args {
  nn_reduction reduction; /* 'mean': by the summed weight of the counted labels
                             (class probabilities: by the number of positions) */
  float label_smoothing;  /* in [0, 1]; 0 for nll_loss */
  bool has_ignore;
  int64_t ignore_index;   /* 1-based: positions with this label are skipped */
} nn_cross_entropy_args;
typedef nn_cross_entropy_args nn_nll_loss_args;

/* What the node of either keeps (node->args.class_loss). */
typedef struct nn_class_loss_node {
  nn_cross_entropy_args args;
  int64_t N, C, S;
  float scale; /* 1 / summed weight for 'mean', else 1 */
  bool probs;  /* the target holds class probabilities */
} nn_class_loss_node;

/* Logits x [C], [N,C] or [N,C,d1,...] read as (N, C, S); target int64
 * labels [], [N] or [N,d1,...] (1..C, or the ignore index), or for
 * cross_entropy float32 class probabilities of x's shape; weight float32
 * [C] or NULL. out: the label shape for 'none'. NN_ERR_VALUE when a label
 * is out of range. Gradients reach x (and a probability target). */
nn_status nn_cross_entropy(nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                           const nn_tensor *weight, const nn_cross_entropy_args *args);
/* The same for log-probabilities x (int64 labels only). */
nn_status nn_nll_loss(nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                      const nn_tensor *weight, const nn_nll_loss_args *args);

/* ---- pointwise losses ---- */

typedef enum nn_pointwise_kind {
  NN_LOSS_MSE,         /* (x - y)^2 */
  NN_LOSS_L1,          /* |x - y| */
  NN_LOSS_BCE,         /* -w (y log x + (1-y) log(1-x)), logs clamped >= -100 */
  NN_LOSS_BCE_LOGITS,  /* w ((1-y) x + (1 + (pw-1) y) log(1 + exp(-x))), stable */
  NN_LOSS_KL_DIV,      /* y log y - y x  (x: log-probabilities, 0 log 0 = 0) */
  NN_LOSS_KL_DIV_LOG,  /* exp(y) (y - x)  (y given as log-probabilities) */
  NN_LOSS_SMOOTH_L1,   /* d = x - y: |d| < b ? d^2 / (2b) : |d| - b/2  (b: beta >= 0) */
  NN_LOSS_HUBER,       /* d = x - y: |d| <= b ? d^2 / 2 : b (|d| - b/2)  (b: delta > 0) */
  NN_LOSS_POINTWISE_COUNT
} nn_pointwise_kind;

typedef struct nn_pointwise_loss_args {
  nn_reduction reduction; /* 'batchmean' for kl_div only */
  bool log_target;        /* kl_div: the target holds log-probabilities */
  float param;            /* smooth_l1: beta (>= 0); huber: delta (> 0); else unused */
} nn_pointwise_loss_args;

/* What the node keeps (node->args.pointwise_loss). */
typedef struct nn_pointwise_loss_node {
  nn_pointwise_kind kind;
  nn_reduction reduction;
  int weight_slot, pos_weight_slot; /* their index in node->saved; -1: none */
  float scale;                      /* 1 / count of the reduction */
  float param;                      /* beta or delta (smooth_l1, huber) */
  int ndim;                         /* the shape of the loss */
  int64_t shape[NN_MAX_DIMS];
} nn_pointwise_loss_node;

/* op: NN_OP_MSE_LOSS, L1_LOSS, BCE_LOSS, BCE_WITH_LOGITS, KL_DIV,
 * SMOOTH_L1_LOSS or HUBER_LOSS. x and y broadcast together, and the loss
 * has their broadcast shape; except for bce and bce_with_logits, where y
 * has x's shape or is [N] against x [N,1] or [N,1] against x [N] (read
 * element for element), and the loss has x's shape. weight (bce,
 * bce_with_logits) and pos_weight (bce_with_logits) float32 broadcasting to
 * the loss shape, or NULL. out: the loss shape for 'none'. NN_ERR_VALUE
 * when a bce input or target is outside [0, 1]. Gradients reach x and y. */
nn_status nn_pointwise_loss(nn_op op, nn_tensor *out, const nn_tensor *x, const nn_tensor *y,
                            const nn_tensor *weight, const nn_tensor *pos_weight,
                            const nn_pointwise_loss_args *args);

/* ---- multi-class margin (hinge) loss ---- */

typedef struct nn_multi_margin_loss_args {
  nn_reduction reduction; /* 'mean': over the N samples */
  int p;                  /* 1 or 2 */
  float margin;           /* >= 0 */
} nn_multi_margin_loss_args;

/* What the node keeps (node->args.multi_margin). */
typedef struct nn_multi_margin_node {
  nn_multi_margin_loss_args args;
  int64_t N, C;
  float scale; /* 1/N for 'mean', else 1 */
} nn_multi_margin_node;

/* Scores x [C] or [N,C], target int64 labels [] or [N] (1..C), weight
 * float32 [C] or NULL. out: the label shape for 'none'. NN_ERR_VALUE when
 * a label is out of range. Gradients reach x. */
nn_status nn_multi_margin_loss(nn_tensor *out, const nn_tensor *x, const nn_tensor *target,
                               const nn_tensor *weight, const nn_multi_margin_loss_args *args);

/* ---- distillation ---- */

typedef struct nn_distillation_args {
  float T;     /* temperature, > 0 */
  float alpha; /* weight of the soft loss, in [0, 1] */
} nn_distillation_args;

/* student and teacher logits [N, C], labels int64 [N] (1..C); out 0-dim.
 * NN_ERR_VALUE when a label is out of range. Gradients reach the student
 * only. */
nn_status nn_distillation_loss(nn_tensor *out, const nn_tensor *student,
                               const nn_tensor *teacher, const nn_tensor *target,
                               const nn_distillation_args *args);

/* ---- regularizers ---- */

/* op NN_OP_L1_PENALTY: out = sum of |p| over the n float32 tensors params;
 * NN_OP_L2_PENALTY: sum of p^2. out 0-dim. One node per tensor, summed
 * with recorded adds (0 and no node when n is 0). */
nn_status nn_penalty(nn_op op, nn_tensor *out, int64_t n, nn_tensor *const *params);

/* ---- classification kernels ----
 * Position i = (n, s) of logits x (N, C, S) has class t = target[i] - 1
 * (labels are 1-based), log-sum-exp lse_i = log sum_c exp(x[n, c, s]),
 * and with label smoothing eps and class weights w (NULL: all 1) the loss
 * (PyTorch's definition)
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
 * t (N, C) at temperature T, with hard 1-based labels y (N):
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

/* Multi-class hinge loss of scores x (N, C) with 1-based labels y (N),
 * t = y_n - 1 and class weights w (NULL: all 1), PyTorch's definition:
 *   loss_n = w[t] / C sum_{c != t} max(0, margin - x_nt + x_nc)^p. */

/* loss (N) or NULL: per-sample losses. Returns their sum. */
double nn_kernel_multi_margin_forward(float *loss, const float *x, const int64_t *y,
                                      const float *w, int64_t N, int64_t C, int p, float margin);
/* For each c != t with z = margin - x_nt + x_nc > 0 and
 * d = k_n w[t] / C (p = 1) or 2 z k_n w[t] / C (p = 2):
 * gx[n, c] += d, gx[n, t] -= d. */
void nn_kernel_multi_margin_backward(float *gx, const float *g, int64_t gstep, float scale,
                                     const float *x, const int64_t *y, const float *w, int64_t N,
                                     int64_t C, int p, float margin);

/* ---- pointwise kernels ----
 * x, y and the optional per-element w (weight) and pw (pos_weight) are n
 * contiguous elements each (nn_pointwise_loss broadcasts them first).
 * param is smooth_l1's beta or huber's delta (unused by the others). */

/* out (n) or NULL: the per-element losses. Returns their sum. */
double nn_kernel_pointwise_loss_forward(nn_pointwise_kind kind, float *out, const float *x,
                                        const float *y, const float *w, const float *pw,
                                        float param, int64_t n);
/* gx, gy (n) += k_i * d loss_i / dx_i, dy_i; either may be NULL. */
void nn_kernel_pointwise_loss_backward(nn_pointwise_kind kind, float *gx, float *gy,
                                       const float *g, int64_t gstep, float scale, const float *x,
                                       const float *y, const float *w, const float *pw,
                                       float param, int64_t n);

/* ---- regularizer kernels ---- */

/* sum |x| and sum x^2 over n elements. */
double nn_kernel_abs_sum(const float *x, int64_t n);
double nn_kernel_square_sum(const float *x, int64_t n);
/* gx += g sign(x); gx += 2 g x. */
void nn_kernel_abs_sum_backward(float *gx, float g, const float *x, int64_t n);
void nn_kernel_square_sum_backward(float *gx, float g, const float *x, int64_t n);

#endif
