#include "nn_threads.h"

#include <cblas.h>
#include <unistd.h>

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
