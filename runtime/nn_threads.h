/*
 * nn_threads: one thread count for every pool the engine drives —
 * OpenBLAS's and the engine's own parallel loops — so they never
 * oversubscribe the cores; and the choice of OpenBLAS's kernels.
 */
#ifndef NN_THREADS_H
#define NN_THREADS_H

void nn_set_num_threads(int n);
int nn_get_num_threads(void);

/* Makes OpenBLAS use the best kernels this CPU supports (see threads.c).
 * Idempotent; call before the first matrix product. */
void nn_blas_setup(void);

/* Around the engine's own parallel regions: pause makes OpenBLAS
 * single-threaded and stops its worker threads (which would otherwise
 * spin on the cores the engine's workers need); resume restores the count
 * and the threads. No other thread may be inside OpenBLAS meanwhile: the
 * engine's workers start after the pause and end before the resume. */
void nn_blas_pause(void);
void nn_blas_resume(void);

#endif
