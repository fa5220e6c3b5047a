/*
 * nn_gemm: the one door to cblas_sgemm (gemm.c). Every float32 matrix
 * product of the engine calls nn_sgemm, so a benchmark can record the
 * GEMMs a training step makes and replay exactly those with raw
 * cblas_sgemm: the model's own GEMM ceiling (bench/epoch.lua).
 *
 * Recording is off by default; then nn_sgemm costs one predictable
 * branch over cblas_sgemm. Convolutions that oneDNN runs (conv_dnnl.c)
 * call no GEMM; they record the GEMMs their im2col form would make
 * (nn_gemm_record_conv), so a CNN's ceiling counts its convolutions.
 */
#ifndef NN_GEMM_H
#define NN_GEMM_H

#include <cblas.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn_status.h"

/* One recorded call: cblas_sgemm's arguments less the pointers. */
typedef struct nn_gemm_call {
  bool row_major;
  bool ta, tb; /* A, B transposed */
  int m, n, k;
  int lda, ldb, ldc;
  float alpha, beta;
} nn_gemm_call;

/* cblas_sgemm, same arguments; records the call while recording is on. */
void nn_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
              int ldc);

/* Starts recording into an empty list (dropping the last one). Calls from
 * any thread are recorded, in the order they reach the list. */
void nn_gemm_record_start(void);
void nn_gemm_record_stop(void);
/* The list recorded so far (valid until the next start): its length, the
 * calls in *calls, and in *complete false when memory ran out for some
 * of them (then the list is short). */
size_t nn_gemm_recorded(const nn_gemm_call **calls, bool *complete);

/* Which pass of a convolution ran without GEMMs (by oneDNN). */
typedef enum nn_gemm_conv_pass {
  NN_GEMM_CONV_FORWARD,
  NN_GEMM_CONV_INPUT_GRAD,
  NN_GEMM_CONV_WEIGHT_GRAD,
} nn_gemm_conv_pass;

/* While recording: the GEMMs of pass over g's whole batch in im2col
 * form, one per channel group, the columns of all images side by side
 * (conv.c's batched path; split by images only if N*P overflows an
 * int): with K = C/groups*KH*KW, P = OH*OW, O' =
 * O/groups,
 *   forward       out [O', N*P]   = w [O', K] x cols [K, N*P]
 *   weight grad   gw [O', K]     += gout [O', N*P] x cols^T
 *   input grad    cols [K, N*P]   = w^T x gout [O', N*P]
 * No-op when not recording. */
struct nn_conv2d_geom;
void nn_gemm_record_conv(nn_gemm_conv_pass pass, const struct nn_conv2d_geom *g);

/* FLOPs of one call: 2*m*n*k. */
double nn_gemm_flops(const nn_gemm_call *c);

/* Replays calls (count of them) reps times over with raw cblas_sgemm on
 * `threads` OpenBLAS threads — or, through_engine, with nn_sgemm on the
 * engine's pool at `threads` (how the engine runs them: split into
 * single-threaded blocks) — each call on its own buffers (made and
 * faulted in by one untimed pass first, so the working set is the
 * step's), and stores the seconds of the reps timed passes in *seconds.
 * The thread counts are restored afterwards. NN_ERR_VALUE for a call
 * whose leading dims do not fit its shape, NN_ERR_NOMEM when the buffers
 * do not fit in memory. */
nn_status nn_gemm_replay(const nn_gemm_call *calls, size_t count, int threads, bool through_engine, int64_t reps,
                         double *seconds);

#endif
