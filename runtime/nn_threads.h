/*
 * nn_threads: one thread count for every pool the engine drives —
 * OpenBLAS's and the engine's own parallel loops — so they never
 * oversubscribe the cores.
 */
#ifndef NN_THREADS_H
#define NN_THREADS_H

void nn_set_num_threads(int n);
int nn_get_num_threads(void);

#endif
