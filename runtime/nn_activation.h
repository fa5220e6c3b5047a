/*
 * nn_activation: the activations beyond the elementwise table (leaky ReLU,
 * ELU, hardtanh (and ReLU6), GELU, SiLU, softplus, softmax, log-softmax),
 * forward and backward.
 *
 * Entry points take the output first (float32, contiguous, of x's shape,
 * allocated by the caller), then x (float32, any strides), then the op's
 * arguments; they run the kernel and record the node. Node arguments are
 * these same structs (node->args.leaky_relu, .elu, .hardtanh, .gelu,
 * .softplus, .softmax; SiLU has none).
 *
 * Softmax kernels work on a contiguous (M, C, S) array: M rows before the
 * softmax dim, C along it, S after it; element (m, c, s) is at
 * (m*C + c)*S + s.
 */
#ifndef NN_ACTIVATION_H
#define NN_ACTIVATION_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_status.h"
#include "nn_tensor.h"

typedef struct nn_leaky_relu_args {
  float slope; /* negative_slope */
} nn_leaky_relu_args;

typedef struct nn_elu_args {
  float alpha;
} nn_elu_args;

typedef struct nn_hardtanh_args {
  float min_val, max_val; /* min_val <= max_val; ReLU6 is {0, 6} */
} nn_hardtanh_args;

typedef struct nn_gelu_args {
  bool tanh; /* approximate='tanh'; false: the exact erf form */
} nn_gelu_args;

typedef struct nn_softplus_args {
  float beta, threshold;
} nn_softplus_args;

typedef struct nn_softmax_args {
  int dim; /* 0-based; 0 for a 0-dim x (one row of one element) */
} nn_softmax_args;

/* out = x > 0 ? x : slope * x. */
nn_status nn_leaky_relu(nn_tensor *out, const nn_tensor *x, const nn_leaky_relu_args *args);
/* out = x > 0 ? x : alpha * (exp(x) - 1). */
nn_status nn_elu(nn_tensor *out, const nn_tensor *x, const nn_elu_args *args);
/* out = min(max(x, min_val), max_val); the gradient passes where
 * min_val < x < max_val (0 at the bounds, as PyTorch). */
nn_status nn_hardtanh(nn_tensor *out, const nn_tensor *x, const nn_hardtanh_args *args);
/* out = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), or with args->tanh
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
nn_status nn_gelu(nn_tensor *out, const nn_tensor *x, const nn_gelu_args *args);
/* out = x * sigmoid(x). */
nn_status nn_silu(nn_tensor *out, const nn_tensor *x);
/* out = log(1 + exp(beta x)) / beta, or x where beta x > threshold. */
nn_status nn_softplus(nn_tensor *out, const nn_tensor *x, const nn_softplus_args *args);
/* out = softmax / log-softmax of x along args->dim (a strided x is read
 * through a contiguous copy). The node keeps the output. */
nn_status nn_softmax(nn_tensor *out, const nn_tensor *x, const nn_softmax_args *args);
nn_status nn_log_softmax(nn_tensor *out, const nn_tensor *x, const nn_softmax_args *args);

/* ---- kernels ---- */

/* y (M, C, S) = softmax of x (M, C, S) along C, or log-softmax when logp.
 * The row max is subtracted first, so any finite logits give finite
 * results; log-softmax is x - max - log(sum(exp(x - max))). */
void nn_kernel_softmax_forward(float *y, const float *x, int64_t M, int64_t C, int64_t S,
                               bool logp);
/* gx (M, C, S) += the gradient through softmax (gx += y * (gy - sum(gy*y)))
 * or log-softmax (gx += gy - exp(y) * sum(gy)), from the output y. */
void nn_kernel_softmax_backward(float *gx, const float *gy, const float *y, int64_t M, int64_t C,
                                int64_t S, bool logp);

#endif
