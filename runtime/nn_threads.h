/*
 * nn_threads: one thread count for every pool the engine drives —
 * OpenBLAS's and the engine's own — so they never oversubscribe the
 * cores; the engine's persistent thread pool (nn_parallel_for); and the
 * choice of OpenBLAS's kernels.
 */
#ifndef NN_THREADS_H
#define NN_THREADS_H

#include <stdbool.h>
#include <stdint.h>

/* The engine's thread count: its pool has n - 1 workers besides the
 * calling thread. n < 1 means 1. The first count is OpenBLAS's default
 * (OPENBLAS_NUM_THREADS, else the cores); OpenBLAS itself is then kept
 * single-threaded: the pool splits big products (nn_gemm_split.h). */
void nn_set_num_threads(int n);
int nn_get_num_threads(void);

/* ---- the engine's thread pool ----
 * nn_parallel_for(n, grain, fn, ctx) calls fn(ctx, begin, end) on
 * disjoint ranges covering [0, n) and returns when all are done. The
 * range is split into parts = min(threads, n / grain) contiguous parts
 * of near-equal size (part k is [n*k/parts, n*(k+1)/parts)), so every
 * part has at least grain iterations and the split depends only on n,
 * grain and the thread count: a reduction that sums per part and then
 * adds the parts in order is deterministic for a given thread count.
 * The calling thread runs part 0, the pool's workers the others.
 * It runs fn(ctx, 0, n) right here (no locking) when n < 2 * grain, at 1
 * thread, from inside another parallel region (fn must not rely on
 * nested parallelism), or while another thread is using the pool.
 * Nothing runs when n <= 0. Workers started lazily, kept blocked (after
 * a spin of a millisecond) between regions, so they never take a
 * core from OpenBLAS or another process while idle.
 * Inside a region OpenBLAS is single-threaded: fn may call cblas_*. */
typedef void (*nn_range_fn)(void *ctx, int64_t begin, int64_t end);
typedef void (*nn_part_fn)(void *ctx, int part, int64_t begin, int64_t end);

void nn_parallel_run(int64_t n, int64_t grain, nn_range_fn fn, void *ctx);

static inline void nn_parallel_for(int64_t n, int64_t grain, nn_range_fn fn, void *ctx) {
  if (grain < 1) grain = 1;
  if (n >= 2 * grain) nn_parallel_run(n, grain, fn, ctx);
  else if (n > 0) fn(ctx, 0, n);
}

/* The number of parts nn_parallel_for / nn_parallel_for_parts would split
 * n into now (1 when it would run serially): for per-part scratch. */
int nn_parallel_parts(int64_t n, int64_t grain);

/* As nn_parallel_for, but fn also gets its part's index in
 * [0, nn_parallel_parts(n, grain)): per-part scratch and partial sums. */
void nn_parallel_for_parts(int64_t n, int64_t grain, nn_part_fn fn, void *ctx);

/* True inside fn of a region split into parts (on any of its threads). */
bool nn_in_parallel(void);

/* Makes OpenBLAS use the best kernels this CPU supports, its idle
 * workers (if something makes it multi-threaded) sleep at once instead of
 * spinning, and itself single-threaded (see threads.c). Idempotent; call
 * before the first matrix product. */
void nn_blas_setup(void);

#endif
