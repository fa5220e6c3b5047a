#include "nn_threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* 0 = not chosen yet: start from OpenBLAS's own default, which follows
 * OPENBLAS_NUM_THREADS / OMP_NUM_THREADS or the core count. */
static int num_threads;

void nn_set_num_threads(int n) {
  num_threads = n;
  openblas_set_num_threads(n);
}

int nn_get_num_threads(void) {
  if (num_threads == 0) num_threads = openblas_get_num_threads();
  return num_threads;
}

/* Present only in DYNAMIC_ARCH builds of OpenBLAS (Debian's): they pick the
 * kernel table, reading OPENBLAS_CORETYPE. */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/* OpenBLAS 0.3.21 (Debian 12) does not recognize recent Intel cores such as
 * Sapphire Rapids and falls back to its generic Prescott kernels, which run
 * sgemm 2-3x slower than the AVX-512 ones the CPU has. When it fell back and
 * the user named no core, pick the kernels again for the one the CPU
 * supports. Must run before any BLAS call is in flight. */
void nn_blas_setup(void) {
  static int done;
  if (done++ || !gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
  if (getenv("OPENBLAS_CORETYPE") || strcmp(openblas_get_corename(), "Prescott") != 0) return;
  __builtin_cpu_init();
  const char *core = NULL;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
    core = "SkylakeX";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    core = "Haswell";
  if (!core || setenv("OPENBLAS_CORETYPE", core, 1) != 0) return;
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
}

/* OpenBLAS's pool: its idle workers spin (sched_yield) for ~0.1 s after
 * each multi-threaded call, taking a core from the engine's own workers.
 * Shutting the pool down stops them; in 0.3.21 openblas_set_num_threads
 * starts it again when it is down, so the order below matters (set 1
 * thread first, then shut down) and resume restarts it at once. Exported
 * by libopenblas, not declared in cblas.h. */
extern int blas_thread_shutdown_(void) __attribute__((weak));

void nn_blas_pause(void) {
  openblas_set_num_threads(1);
  if (blas_thread_shutdown_) blas_thread_shutdown_();
}

void nn_blas_resume(void) { openblas_set_num_threads(nn_get_num_threads()); }
