/*
 * nn_matmul: matrix products through cblas_sgemm.
 */
#ifndef NN_MATMUL_H
#define NN_MATMUL_H

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
void nn_matmul(nn_tensor *out, const nn_tensor *a, const nn_tensor *b);

#endif
