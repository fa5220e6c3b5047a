/*
 * nn_optim: the update kernels behind nn.optim (SGD, Adam/AdamW, RMSprop,
 * Adagrad) and the gradient clipping helpers.
 *
 * Each step function updates one parameter of n elements in a single pass
 * over its arrays. They reproduce PyTorch 1.13's single-tensor CPU
 * implementation op by op: every intermediate is rounded to float32, every
 * hyperparameter derived in double (1 - beta1, lr / bias_correction1) is
 * rounded to float32 where PyTorch passes it to a tensor op, and addcmul /
 * addcdiv evaluate (value * t1) * t2 and (value * t1) / t2 as ATen does.
 * Results therefore agree with PyTorch to float32 rounding (ATen's vector
 * path fuses some multiply-adds; these kernels do not).
 *
 * SGD and Adam take an optional proximal L1 step (l1 = lambda > 0): after
 * the update, each element is soft-thresholded by t = lr * lambda (rounded
 * to float32 once), p = sign(p) * max(|p| - t, 0), so elements within t of
 * zero become exactly 0 (+0).
 *
 * Options hold the user's numbers as doubles; the caller has validated
 * them. All arrays are contiguous float32 of n elements and must not
 * overlap, except where noted. Nothing here allocates or fails.
 */
#ifndef NN_OPTIM_H
#define NN_OPTIM_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_status.h"
#include "nn_tensor.h"

typedef struct nn_sgd_opts {
  double lr, momentum, dampening, weight_decay;
  bool nesterov;
  /* The momentum buffer is new: it takes the gradient instead of
   * blending with it (PyTorch clones d_p on the first step). */
  bool first_step;
  double l1; /* proximal L1 strength lambda >= 0; 0: no L1 step */
} nn_sgd_opts;

/* param (n) -= lr * d, where d is the gradient plus weight decay, passed
 * through the momentum buffer (n; NULL when momentum is 0); then the L1
 * soft-threshold when l1 > 0. */
void nn_sgd_step(float *param, const float *grad, float *momentum_buf, int64_t n,
                 const nn_sgd_opts *o);

typedef struct nn_adam_opts {
  double lr, beta1, beta2, eps, weight_decay;
  int64_t step;   /* this step's number, counted from 1 */
  bool decoupled; /* AdamW: decay the weights, not the gradient */
  double l1;      /* proximal L1 strength lambda >= 0; 0: no L1 step */
} nn_adam_opts;

/* Adam / AdamW with bias correction, then the L1 soft-threshold when
 * l1 > 0. exp_avg and exp_avg_sq (n) are the
 * moments; max_exp_avg_sq (n) is AMSGrad's running maximum, NULL without
 * AMSGrad. */
void nn_adam_step(float *param, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq,
                  const float *grad, int64_t n, const nn_adam_opts *o);

typedef struct nn_rmsprop_opts {
  double lr, alpha, eps, weight_decay, momentum;
} nn_rmsprop_opts;

/* RMSprop. square_avg (n) always; grad_avg (n) when centered, else NULL;
 * momentum_buf (n) when momentum > 0, else NULL. */
void nn_rmsprop_step(float *param, float *square_avg, float *grad_avg, float *momentum_buf,
                     const float *grad, int64_t n, const nn_rmsprop_opts *o);

typedef struct nn_adagrad_opts {
  double lr, lr_decay, weight_decay, eps;
  int64_t step; /* this step's number, counted from 1 */
} nn_adagrad_opts;

/* Adagrad: sum (n) accumulates squared gradients. */
void nn_adagrad_step(float *param, float *sum, const float *grad, int64_t n,
                     const nn_adagrad_opts *o);

/* ---- gradient clipping ----
 * grads[0..count) are the gradients of a parameter list, contiguous
 * float32 (the binding checks), NULL for a parameter without one. */

/* nn.clip_grad_norm_: returns the total norm_type-norm of all gradients
 * together, before clipping, as PyTorch computes it: each gradient's norm
 * rounded to float32, the total the norm of those (their maximum for
 * norm_type INFINITY, any NaN winning). When max_norm / (total + 1e-6),
 * clamped to at most 1, is below 1, every gradient is multiplied by it. */
float nn_clip_grad_norm(nn_tensor *const *grads, int64_t count, double max_norm, double norm_type);
/* nn.clip_grad_value_: every gradient clamped to [-clip_value, clip_value]. */
void nn_clip_grad_value(nn_tensor *const *grads, int64_t count, double clip_value);

/* sum |x|^p over x (n) in double; for p = INFINITY the largest |x|. A NaN
 * element makes the result NaN. */
double nn_pow_sum(const float *x, int64_t n, double p);
/* x (n) *= c. */
void nn_scale(float *x, int64_t n, float c);
/* x (n) = sign(x) * max(|x| - t, 0) for t >= 0: 0 (+0) within t of zero,
 * NaN kept. */
void nn_soft_threshold(float *x, int64_t n, float t);
/* x (n) = min(max(x, lo), hi), NaN kept. */
void nn_clamp_values(float *x, int64_t n, float lo, float hi);

/* ---- gradient buckets ----
 * nn.distributed.Optimizer averages the gradients over the ranks in a few
 * large all-reduces instead of one per tensor. The gradients of a bucket's
 * parameters live in the bucket itself, one slice each in order (as
 * PyTorch DDP's gradient_as_bucket_view): backward accumulates into the
 * bucket, which is reduced in place, so nothing is copied per step. */

/* Makes the gradient of each of params[0..count) (those that have one,
 * contiguous float32, which the binding checks) a view of its slice of
 * bucket (contiguous float32, as many elements as those gradients, in
 * order). A gradient that is its slice already is left alone; another one
 * (new after zero_grad{set_to_none=true}, or set by hand) has its values
 * copied into the slice first and is released. NN_ERR_NOMEM when a view
 * cannot be made (the gradients before it are attached, the rest kept). */
nn_status nn_bucket_attach(nn_tensor *bucket, nn_tensor *const *params, int64_t count);
/* x (n) /= divisor in place; for a power of two (2, 4, 8 ranks) by the
 * product with its reciprocal, which is the quotient exactly and several
 * times cheaper. */
void nn_bucket_divide(float *x, int64_t n, float divisor);

#endif
