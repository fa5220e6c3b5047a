/* The engine's thread pool (nn_parallel_for): every index once, the
 * documented split, serial when small / nested / at 1 thread, workers
 * that really run parts and sleep when idle, resizing, concurrent
 * callers, cblas inside a region; and nn_blas_pause / nn_blas_resume. */
#define _GNU_SOURCE
#include <cblas.h>
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "nn_threads.h"

/* Threads of this process (entries of /proc/self/task). */
static int thread_count(void) {
  DIR *d = opendir("/proc/self/task");
  int n = 0;
  for (struct dirent *e; d && (e = readdir(d));) n += e->d_name[0] != '.';
  if (d) closedir(d);
  return n;
}

/* ---- coverage and the split ---- */

enum { MAX_N = 5000, MAX_RECORDED = 64 };

typedef struct cover {
  atomic_int hits[MAX_N];
  atomic_int calls;
  int64_t begins[MAX_RECORDED], ends[MAX_RECORDED]; /* by part */
  pthread_t who[MAX_RECORDED];
  bool nested_flag_ok;
} cover;

static void count_range(void *ctx, int64_t begin, int64_t end) {
  cover *c = ctx;
  atomic_fetch_add(&c->calls, 1);
  if (!nn_in_parallel()) c->nested_flag_ok = false;
  for (int64_t i = begin; i < end; i++) atomic_fetch_add(&c->hits[i], 1);
}

static void count_part(void *ctx, int part, int64_t begin, int64_t end) {
  cover *c = ctx;
  if (part >= 0 && part < MAX_RECORDED) {
    c->begins[part] = begin, c->ends[part] = end;
    c->who[part] = pthread_self();
  }
  count_range(ctx, begin, end);
}

static cover cov;

static void reset(void) {
  memset(&cov, 0, sizeof cov);
  cov.nested_flag_ok = true;
}

static bool each_once(int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (atomic_load(&cov.hits[i]) != 1) return false;
  return true;
}

static void test_covers_every_index_once(void) {
  int64_t sizes[] = {0, 1, 7, 63, 64, 100, 999, 1000, 1001, 4999, 5000};
  int64_t grains[] = {1, 3, 64, 500, 10000};
  for (int threads = 1; threads <= 4; threads++) {
    nn_set_num_threads(threads);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
      for (size_t g = 0; g < sizeof grains / sizeof *grains; g++) {
        int64_t n = sizes[s], grain = grains[g];
        reset();
        nn_parallel_for(n, grain, count_range, &cov);
        CHECK(each_once(n));
        int64_t parts = n / grain < threads ? n / grain : threads;
        if (parts < 1) parts = 1;
        CHECK(atomic_load(&cov.calls) == (n > 0 ? parts : 0));
        CHECK(nn_parallel_parts(n, grain) == (int)parts);
        CHECK(cov.nested_flag_ok || parts == 1); /* the serial path does not mark a region */
        CHECK(!nn_in_parallel());
        reset();
        nn_parallel_for_parts(n, grain, count_part, &cov);
        CHECK(each_once(n));
        for (int64_t k = 0; n > 0 && k < parts; k++) {
          CHECK(cov.begins[k] == n * k / parts); /* the documented split */
          CHECK(cov.ends[k] == n * (k + 1) / parts);
        }
      }
  }
}

/* Below 2 * grain, at 1 thread: fn once with the whole range on the
 * calling thread. */
static void test_serial_cases(void) {
  nn_set_num_threads(2);
  reset();
  nn_parallel_for_parts(199, 100, count_part, &cov);
  CHECK(atomic_load(&cov.calls) == 1 && cov.begins[0] == 0 && cov.ends[0] == 199);
  CHECK(pthread_equal(cov.who[0], pthread_self()));
  nn_set_num_threads(1);
  reset();
  nn_parallel_for_parts(5000, 1, count_part, &cov);
  CHECK(atomic_load(&cov.calls) == 1 && cov.ends[0] == 5000);
  CHECK(pthread_equal(cov.who[0], pthread_self()));
  CHECK(each_once(5000));
}

/* With 3 threads, parts 1 and 2 run on two other threads. */
static void test_workers_run_parts(void) {
  nn_set_num_threads(3);
  for (int round = 0; round < 20; round++) {
    reset();
    nn_parallel_for_parts(3000, 10, count_part, &cov);
    CHECK(each_once(3000));
    CHECK(pthread_equal(cov.who[0], pthread_self()));
    CHECK(!pthread_equal(cov.who[1], pthread_self()) && !pthread_equal(cov.who[2], pthread_self()));
    CHECK(!pthread_equal(cov.who[1], cov.who[2]));
  }
}

/* A region inside a region runs serially on the thread that asked. */
typedef struct nest {
  atomic_int inner_calls, inner_on_other_thread;
  atomic_int hits[1000];
} nest;

typedef struct inner_ctx {
  nest *nest;
  pthread_t outer;
} inner_ctx;

static void inner(void *ctx, int64_t begin, int64_t end) {
  inner_ctx *c = ctx;
  atomic_fetch_add(&c->nest->inner_calls, 1);
  if (!pthread_equal(pthread_self(), c->outer)) atomic_fetch_add(&c->nest->inner_on_other_thread, 1);
  for (int64_t i = begin; i < end; i++) atomic_fetch_add(&c->nest->hits[i], 1);
}

static void outer(void *ctx, int64_t begin, int64_t end) {
  inner_ctx c = {ctx, pthread_self()};
  CHECK(nn_in_parallel());
  CHECK(nn_parallel_parts(1000, 1) == 1);
  for (int64_t i = begin; i < end; i++) nn_parallel_for(1000, 1, inner, &c);
}

static void test_nested_runs_serially(void) {
  static nest n;
  memset(&n, 0, sizeof n);
  nn_set_num_threads(2);
  nn_parallel_for(4, 1, outer, &n);
  CHECK(atomic_load(&n.inner_calls) == 4); /* one serial call per outer index */
  CHECK(atomic_load(&n.inner_on_other_thread) == 0);
  for (int i = 0; i < 1000; i++) CHECK(atomic_load(&n.hits[i]) == 4);
}

/* Per-part partial sums added in part order: the same bits every time
 * for a given thread count. */
typedef struct sum_ctx {
  const float *x;
  double partial[16];
} sum_ctx;

static void sum_part(void *ctx, int part, int64_t begin, int64_t end) {
  sum_ctx *c = ctx;
  float s = 0;
  for (int64_t i = begin; i < end; i++) s += c->x[i];
  c->partial[part] = s;
}

static double parallel_sum(const float *x, int64_t n) {
  sum_ctx c = {x, {0}};
  int parts = nn_parallel_parts(n, 1000);
  nn_parallel_for_parts(n, 1000, sum_part, &c);
  double total = 0;
  for (int k = 0; k < parts; k++) total += c.partial[k];
  return total;
}

static void test_reduction_deterministic(void) {
  enum { N = 100000 };
  static float x[N];
  for (int i = 0; i < N; i++) x[i] = (float)sin(i * 0.37) * 1e3f;
  for (int threads = 1; threads <= 4; threads++) {
    nn_set_num_threads(threads);
    double first = parallel_sum(x, N);
    for (int round = 0; round < 50; round++) CHECK(parallel_sum(x, N) == first);
  }
}

/* Resizing starts and stops workers; idle workers sleep (no CPU time). */
static void noop(void *ctx, int64_t begin, int64_t end) { (void)ctx, (void)begin, (void)end; }

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void test_resize_and_idle(void) {
  nn_set_num_threads(4);
  nn_set_num_threads(1); /* OpenBLAS keeps its 3 workers, the pool has none */
  int before = thread_count();
  nn_set_num_threads(4);
  nn_parallel_for(4, 1, noop, NULL);
  CHECK(thread_count() == before + 3); /* started lazily: 3 workers */
  nn_set_num_threads(2);
  CHECK(thread_count() == before); /* the 3 stopped */
  nn_parallel_for(4, 1, noop, NULL);
  CHECK(thread_count() == before + 1);
  CHECK(nn_get_num_threads() == 2);
  /* idle: after the short spin the worker sleeps */
  struct timespec pause = {0, 150 * 1000 * 1000}; /* OpenBLAS's idle workers too */
  nanosleep(&pause, NULL);
  double cpu = cpu_seconds();
  struct timespec idle = {0, 200 * 1000 * 1000};
  nanosleep(&idle, NULL);
  CHECK(cpu_seconds() - cpu < 0.02);
  nn_set_num_threads(0); /* below 1 means 1 */
  CHECK(nn_get_num_threads() == 1);
}

/* Two threads of the program using the pool at once: both right (one
 * of them runs serially while the other holds the pool). */
static void *hammer(void *arg) {
  (void)arg;
  bool ok = true;
  for (int round = 0; round < 300; round++) {
    cover *c = calloc(1, sizeof *c);
    nn_parallel_for(2000, 1, count_range, c);
    for (int i = 0; i < 2000; i++) ok = ok && atomic_load(&c->hits[i]) == 1;
    free(c);
  }
  return (void *)(intptr_t)ok;
}

static void test_concurrent_callers(void) {
  nn_set_num_threads(2);
  pthread_t t[2];
  for (int k = 0; k < 2; k++) pthread_create(&t[k], NULL, hammer, NULL);
  for (int k = 0; k < 2; k++) {
    void *ok;
    pthread_join(t[k], &ok);
    CHECK(ok != NULL);
  }
}

/* ---- OpenBLAS ---- */

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

/* Rows [begin, end) of the product, one cblas call per part. */
typedef struct rows_ctx {
  float *out;
  atomic_int blas_threads_seen;
} rows_ctx;

static void product_rows(void *ctx, int64_t begin, int64_t end) {
  rows_ctx *r = ctx;
  if (openblas_get_num_threads() != 1) atomic_fetch_add(&r->blas_threads_seen, 1);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(end - begin), N, N, 1.0f, a + begin * N,
              N, b, N, 0.0f, r->out + begin * N, N);
}

static void test_blas(void) {
  for (int i = 0; i < N * N; i++) a[i] = (float)(rand() % 7 - 3), b[i] = (float)(rand() % 5 - 2);
  nn_set_num_threads(1);
  product(ref); /* small integers: every order of summation is exact */
  for (int threads = 1; threads <= 3; threads++) {
    nn_set_num_threads(threads);
    for (int round = 0; round < 3; round++) {
      product(c);
      CHECK(max_diff(c, ref) == 0);
      rows_ctx r = {c, 0};
      memset(c, 0, sizeof c);
      nn_parallel_for(N, 16, product_rows, &r); /* single-threaded OpenBLAS in a region */
      CHECK(max_diff(c, ref) == 0);
      CHECK(atomic_load(&r.blas_threads_seen) == 0);
      CHECK(openblas_get_num_threads() == threads); /* restored */
      nn_blas_pause();
      CHECK(openblas_get_num_threads() == 1);
      product(c);
      CHECK(max_diff(c, ref) == 0);
      nn_blas_resume();
      CHECK(openblas_get_num_threads() == threads);
      CHECK(nn_get_num_threads() == threads);
    }
  }
}

/* After a multi-threaded GEMM, OpenBLAS's workers go to sleep within
 * microseconds (nn_blas_setup's thread timeout), not 0.1 s later. */
static void test_blas_workers_sleep(void) {
  nn_set_num_threads(2);
  product(c);
  struct timespec settle = {0, 5 * 1000 * 1000}, idle = {0, 100 * 1000 * 1000};
  nanosleep(&settle, NULL);
  double cpu = cpu_seconds();
  nanosleep(&idle, NULL);
  CHECK(cpu_seconds() - cpu < 0.01);
}

int main(void) {
  nn_blas_setup();
  int before = nn_get_num_threads();
  RUN(test_covers_every_index_once);
  RUN(test_serial_cases);
  RUN(test_workers_run_parts);
  RUN(test_nested_runs_serially);
  RUN(test_reduction_deterministic);
  RUN(test_resize_and_idle);
  RUN(test_concurrent_callers);
  RUN(test_blas);
  RUN(test_blas_workers_sleep);
  nn_set_num_threads(before);
  return check_summary();
}
