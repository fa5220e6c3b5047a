/*
 * nn_linear: the fused linear layer behind nn.Linear, y = x W^T + b
 * (runtime/linear.c, forward and backward side by side). Sizes: M rows,
 * K in-features, O out-features.
 */
#ifndef NN_LINEAR_H
#define NN_LINEAR_H

#include "nn_status.h"
#include "nn_tensor.h"

/* y (M,O) = x (M,K) @ w(O,K)^T + b (O); b may be NULL. Contiguous float32. */
void nn_kernel_linear_forward(float *y, const float *x, const float *w, const float *b, int64_t M,
                       int64_t K, int64_t O);

/* ---- entry point: run the kernel, record the node ---- */

/* out [*, O] = x [*, K] @ w [O, K]^T + b [O]; b may be NULL. x, w, b are
 * float32 of any strides (copied contiguous when not); out is contiguous
 * float32. Records NN_OP_LINEAR on inputs (x, w, b). */
nn_status nn_linear(nn_tensor *out, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b);

#endif
