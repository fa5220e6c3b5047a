/* nn_blas_pause / nn_blas_resume around the engine's own parallel
 * regions: OpenBLAS's worker threads stop and come back, and products
 * stay right before, during and after, at 1 and 2 threads. */
#include <cblas.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "nn_threads.h"

enum { N = 384 }; /* big enough for OpenBLAS to use its threads */

static float a[N * N], b[N * N], c[N * N], ref[N * N];

static void product(float *out) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1.0f, a, N, b, N, 0.0f, out, N);
}

static double max_diff(const float *x, const float *y) {
  double m = 0;
  for (int i = 0; i < N * N; i++) m = fmax(m, fabs((double)x[i] - y[i]));
  return m;
}

/* Threads of this process (entries of /proc/self/task). */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

static void test_pause_resume(void) {
  int before = nn_get_num_threads();
  for (int i = 0; i < N * N; i++) a[i] = (float)(rand() % 7 - 3), b[i] = (float)(rand() % 5 - 2);
  nn_set_num_threads(1);
  product(ref); /* small integers: every order of summation is exact */
  for (int threads = 1; threads <= 2; threads++) {
    nn_set_num_threads(threads);
    for (int round = 0; round < 3; round++) {
      product(c);
      CHECK(max_diff(c, ref) == 0);
      nn_blas_pause();
      CHECK(openblas_get_num_threads() == 1);
      CHECK(thread_count() == 1); /* the pool's workers are gone */
      product(c);
      CHECK(max_diff(c, ref) == 0);
      nn_blas_resume();
      CHECK(openblas_get_num_threads() == threads);
      CHECK(nn_get_num_threads() == threads);
    }
  }
  nn_set_num_threads(before);
}

int main(void) {
  nn_blas_setup();
  RUN(test_pause_resume);
  return check_summary();
}
