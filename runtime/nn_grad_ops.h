/*
 * The backward functions of the differentiable ops (nn_autograd.h says how
 * to add one). Each lives next to its forward; grad_ops.c maps an
 * nn_grad_op to its name and function.
 *
 * What each node holds (inputs in order, saved tensors, params):
 *   ADD, SUB (a, b)                        —
 *   MUL, DIV, MAXIMUM, MINIMUM (a, b)      saved a, b
 *   POW (a, b)                             saved a, b, out
 *   NEG, SIGN (a)                          —
 *   ABS, LOG (a)                           saved a
 *   RELU, EXP, SQRT, SIGMOID, TANH (a)     saved out
 *   CLAMP (a)                              saved a; scalars = lo, hi (NaN: none)
 *   WHERE (mask, a, b)                     saved mask
 *   RESHAPE, EXPAND, COPY (a)              —
 *   PERMUTE (a)                            params = perm
 *   NARROW (a)                             params = dim, start, len, dropped
 *   CAT (t1..tn)                           saved lengths; params = dim, stacked
 *   MATMUL (a, b)                          saved a, b (BLAS-readable)
 *   SUM, MEAN (a)                          params = dim (-1: all), keepdim
 *   MAX_DIM (t)                            saved indices (1-based); params = dim, keepdim
 *   EXTREMUM (t)                           saved t, result
 *   VAR (t)                                saved t[, std result]; params = dim, keepdim,
 *                                          is_std; scalars[0] = K - correction
 *   NORM (t)                               saved t, result; params = dim, keepdim; scalars = p
 *   LINEAR (x, w, b)                       saved x, w (contiguous)
 *   DROPOUT (x)                            saved mask
 *   BATCH_NORM (x, w, b)                   saved x, mean, invstd[, w]; params = training
 *   INDEX_SELECT, GATHER (t)               saved idx (1-based int64); params = dim
 *   MASKED_SELECT (t)                      saved mask; params = ndim, broadcast shape
 *   CONV2D (x, w, b)                       saved x, w (contiguous); params = stride h, w,
 *                                          padding h, w, dilation h, w
 *   MAX_POOL2D (x)                         saved the maxima's int64 indices (0-based, in plane)
 *   AVG_POOL2D (x)                         params = kernel, stride, padding (h, w each),
 *                                          count_include_pad, divisor (0: none)
 *   (masked_fill records a WHERE with the filled value as a constant)
 *   LEAKY_RELU, ELU (x)                    saved x; scalars[0] = slope, alpha
 *   SOFTMAX, LOG_SOFTMAX (x)               saved out (as a view without grad_fn); params = dim
 *   CROSS_ENTROPY (x, target)              saved x, target (0-based int64, or probs), lse[, w];
 *                                          params = reduction, N, C, S, ignore, probs;
 *                                          scalars = smoothing, scale
 *   NLL_LOSS (x)                           saved target (0-based)[, w]; params, scalars as above
 *   MSE_LOSS, L1_LOSS, BCE_LOSS,           saved x, y (broadcast, contiguous)[, w][, pw];
 *   BCE_WITH_LOGITS, KL_DIV (x, y)         params = kind, reduction, w slot, pw slot (-1: none),
 *                                          broadcast ndim, shape...; scalars[0] = scale
 *   DISTILLATION (s)                       saved s, teacher probs, labels (0-based), lse;
 *                                          params = N, C; scalars = T, alpha
 *   L1_PENALTY, L2_PENALTY (p)             saved p (contiguous)
 */
#ifndef NN_GRAD_OPS_H
#define NN_GRAD_OPS_H

#include "nn_autograd.h"

nn_backward_fn nn_grad_backward_fn(nn_grad_op op);

bool nn_backward_add(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_sub(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_mul(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_div(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_pow(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_maximum(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_minimum(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_neg(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_abs(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_sign(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_relu(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_exp(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_log(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_sqrt(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_sigmoid(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_tanh(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_clamp(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_where(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_reshape(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_permute(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_narrow(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_expand(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_copy(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_cat(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_matmul(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_sum(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_mean(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_max_dim(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_extremum(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_var(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_norm(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
/* layers (nn_functional: linear, dropout, batch norm) */
bool nn_backward_linear(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_dropout(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_batch_norm(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
/* indexing (index.c) */
bool nn_backward_index_select(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_gather(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_masked_select(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
/* convolution and pooling (conv.c, pool.c) */
bool nn_backward_conv2d(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_max_pool2d(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_avg_pool2d(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
/* activations and losses (activation.c, loss.c) */
bool nn_backward_leaky_relu(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_elu(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_softmax(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_log_softmax(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_cross_entropy(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_nll_loss(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_pointwise_loss(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_distillation(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_l1_penalty(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_backward_l2_penalty(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);

#endif
