/*
 * nn_layers: the fused kernels behind nn.Linear, nn.Dropout and the
 * BatchNorm layers (forward and backward side by side in linear.c,
 * dropout.c, batchnorm.c). Sizes: M rows, K in-features, O out-features;
 * batch norm sees its input as [N, C, S] (S = spatial size, 1 for 1-d).
 * All pointers are contiguous float32.
 */
#ifndef NN_LAYERS_H
#define NN_LAYERS_H

#include "nn_autograd.h"
#include "nn_random.h"

/* y (M,O) = x (M,K) @ w(O,K)^T + b (O); b may be NULL. */
void nn_kernel_linear_forward(float *y, const float *x, const float *w, const float *b, int64_t M,
                       int64_t K, int64_t O);

/* mask (n) = 0 with probability p, else scale; y = x * mask. */
void nn_kernel_dropout_forward(float *y, float *mask, const float *x, int64_t n, float p, float scale,
                        nn_rng *rng);

/* Per-channel mean and biased variance of x (N,C,S), in double. */
void nn_kernel_batch_norm_stats(float *mean, float *var, const float *x, int64_t N, int64_t C, int64_t S);
/* y = (x - mean) * invstd * w + b per channel; w, b may be NULL. */
void nn_kernel_batch_norm_forward(float *y, const float *x, const float *mean, const float *invstd,
                           const float *w, const float *b, int64_t N, int64_t C, int64_t S);

#endif
