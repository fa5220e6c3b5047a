/* nn_gemm_split.h: a product's blocks on the engine's pool. */
#include "nn_gemm_split.h"

#include <stdint.h>

#include "nn_threads.h"

/* Blocks are whole multiples of UNIT rows or columns (OpenBLAS's micro-
 * kernels are 8 or 16 wide on AVX2 / AVX-512), and a part gets at least
 * MIN_MACS multiply-adds: below that, waking a worker costs more than
 * half the product saves. */
enum { UNIT = 16, MIN_MACS = 1 << 18 };

typedef struct gemm_job {
  CBLAS_TRANSPOSE ta, tb;
  int m, n, k, lda, ldb, ldc;
  float alpha, beta;
  const float *a, *b;
  float *c;
  bool by_columns; /* else by rows */
} gemm_job;

/* Units [u0, u1) of C's columns or rows. */
static void gemm_block(void *ctx, int64_t u0, int64_t u1) {
  const gemm_job *j = ctx;
  int64_t len = j->by_columns ? j->n : j->m;
  int lo = (int)(u0 * UNIT), hi = (int)(u1 * UNIT < len ? u1 * UNIT : len);
  if (j->by_columns) { /* B's columns lo..hi: B is k x n, or n x k transposed */
    const float *b = j->tb == CblasNoTrans ? j->b + lo : j->b + (int64_t)lo * j->ldb;
    cblas_sgemm(CblasRowMajor, j->ta, j->tb, j->m, hi - lo, j->k, j->alpha, j->a, j->lda, b, j->ldb,
                j->beta, j->c + lo, j->ldc);
  } else { /* A's rows lo..hi: A is m x k, or k x m transposed */
    const float *a = j->ta == CblasNoTrans ? j->a + (int64_t)lo * j->lda : j->a + lo;
    cblas_sgemm(CblasRowMajor, j->ta, j->tb, hi - lo, j->n, j->k, j->alpha, a, j->lda, j->b, j->ldb,
                j->beta, j->c + (int64_t)lo * j->ldc, j->ldc);
  }
}

bool nn_gemm_split(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
                   float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
                   int ldc) {
  if (order != CblasRowMajor || m <= 0 || n <= 0 || k <= 0) return false;
  gemm_job j = {ta, tb, m, n, k, lda, ldb, ldc, alpha, beta, a, b, c, n >= m};
  int64_t units = ((j.by_columns ? n : m) + UNIT - 1) / UNIT;
  int64_t unit_macs = (int64_t)UNIT * (j.by_columns ? m : n) * k;
  int64_t grain = unit_macs >= MIN_MACS ? 1 : MIN_MACS / unit_macs;
  if (nn_parallel_parts(units, grain) < 2) return false;
  nn_parallel_for(units, grain, gemm_block, &j);
  return true;
}
