/*
 * nn_matmul: matrix products through cblas_sgemm.
 */
#ifndef NN_MATMUL_H
#define NN_MATMUL_H

#include "nn_status.h"
#include "nn_tensor.h"

/* Can BLAS read the last two dims of m in place (one of them unit-stride,
 * the other a valid leading dimension)? If not, pass a contiguous copy. */
bool nn_matmul_blas_compatible(const nn_tensor *m);

/* Header-only views for matmul's operands: a 1-D t as a row (vector_at 0)
 * or column (1) matrix, any other t as it is; and t read with batch dims
 * batch[0..nb) before its last two (stride 0 where repeated). */
nn_tensor nn_matmul_matrix_view(const nn_tensor *t, int vector_at);
nn_tensor nn_matmul_batch_view(const nn_tensor *t, int nb, const int64_t *batch);

/* out [B..., n, m] = a [B..., n, k] @ b [B..., k, m].
 * a and b have out's ndim with batch dims already broadcast (stride 0
 * where repeated); out is contiguous; float32 operands must be
 * BLAS-compatible, int64 operands may have any strides. */
void nn_kernel_matmul(nn_tensor *out, const nn_tensor *a, const nn_tensor *b);

/* ---- entry points: run the product, record the node ---- */

/* The shape of matmul(a, b) as PyTorch: the broadcast batch dims, then
 * a's rows unless a is 1-D, then b's columns unless b is 1-D. False when
 * the batch dims do not broadcast. The caller checked that a and b are at
 * least 1-D and that the inner sizes agree. */
bool nn_matmul_shape(const nn_tensor *a, const nn_tensor *b, int *ndim, int64_t *shape);

/* out = a @ b with PyTorch's matmul rules (1-D operands promoted, then the
 * unit dim dropped; batch dims broadcast). a, b share out's dtype (float32
 * or int64); out is contiguous of nn_matmul_shape's shape. Operands BLAS
 * cannot read in place are copied first. */
nn_status nn_matmul(nn_tensor *out, const nn_tensor *a, const nn_tensor *b);

/* out [n, m] = a [n] (x) b [m], as the product of a column and a row whose
 * views are recorded as reshapes, so the gradient reaches a and b. */
nn_status nn_outer(nn_tensor *out, const nn_tensor *a, const nn_tensor *b);

#endif
