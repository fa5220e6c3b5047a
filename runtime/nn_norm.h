/*
 * nn_norm: batch normalization behind the BatchNorm layers
 * (runtime/norm.c, forward and backward side by side). The input is seen
 * as [N, C, S] (S = spatial size, 1 for [N, C]).
 */
#ifndef NN_NORM_H
#define NN_NORM_H

#include <stdbool.h>

#include "nn_status.h"
#include "nn_tensor.h"

typedef struct nn_batch_norm_args {
  bool training; /* normalize with the batch statistics (else the running ones) */
  double momentum; /* running = (1 - momentum) running + momentum batch */
  double eps;      /* > 0, added to the variance */
} nn_batch_norm_args;

/* Per-channel mean and biased variance of x (N,C,S), in double. */
void nn_kernel_batch_norm_stats(float *mean, float *var, const float *x, int64_t N, int64_t C, int64_t S);
/* y = (x - mean) * invstd * w + b per channel; w, b may be NULL. */
void nn_kernel_batch_norm_forward(float *y, const float *x, const float *mean, const float *invstd,
                           const float *w, const float *b, int64_t N, int64_t C, int64_t S);

/* ---- entry point: run the kernels, record the node ---- */

/* out = batch_norm(x) for a float32 x [N, C], [N, C, L] or [N, C, H, W] of
 * any strides; out is contiguous float32 of x's shape. w, b (the affine
 * weight and bias), running_mean and running_var are contiguous float32
 * [C] or NULL. In training the batch statistics normalize (N * S > 1) and
 * the running ones given are updated in place, the variance unbiased, as
 * PyTorch; in eval the running ones normalize (both required). Records
 * NN_OP_BATCH_NORM on inputs (x, w, b). */
nn_status nn_batch_norm(nn_tensor *out, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                        nn_tensor *running_mean, nn_tensor *running_var,
                        const nn_batch_norm_args *args);

#endif
