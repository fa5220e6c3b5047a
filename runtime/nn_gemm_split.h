/*
 * nn_gemm_split: a big matrix product on the engine's pool (nn_threads.h).
 * OpenBLAS stays single-threaded (nn_set_num_threads keeps it so); a
 * product worth splitting is cut into blocks of C's columns (or rows,
 * when C is tall), each block one single-threaded cblas_sgemm on one
 * thread of the pool. Each element of C is computed by one call over
 * the whole of k: exact values stay exact; others may round differently
 * at a block's edge (another micro-kernel), as OpenBLAS's own threads do.
 */
#ifndef NN_GEMM_SPLIT_H
#define NN_GEMM_SPLIT_H

#include <cblas.h>
#include <stdbool.h>

/* C = alpha op(A) op(B) + beta C, row-major, split over the pool; false
 * when it computed nothing (a small product, 1 thread, inside a parallel
 * region, column-major): the caller then runs cblas_sgemm itself. */
bool nn_gemm_split(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                   float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
                   int ldc);

#endif
