/*
 * nn_threads.h: the thread count, the engine's persistent pool, and
 * OpenBLAS's set-up.
 *
 * The pool: nn_get_num_threads() - 1 workers, started on the first
 * region that needs them and restarted when the count changes. A region
 * publishes its job and bumps `word` (a sequence number and the part
 * count, so a worker that has no part never reads the job); each
 * participating worker runs its part and counts down `remaining`; the
 * caller runs part 0 and then waits for the count to reach 0. Between
 * regions the workers spin for SPIN_NS (a training step's kernels come
 * back to back, and waking a sleeping thread costs tens of microseconds)
 * and then sleep on a condition variable, so an idle pool takes no core
 * from OpenBLAS or another process. SPIN_NS is 1 ms: with 20 us, a fifth
 * of the MLP epoch's 2-thread regions found their worker asleep (the
 * gaps between them are Lua, small serial ops and serial GEMMs), and
 * the epoch took 0.67 s (median of 8) against 0.58 s with 2 ms; 1 ms is
 * still far below OpenMP runtimes' defaults (libgomp spins ~300k times,
 * Intel's KMP_BLOCKTIME is 200 ms).
 */
#define _GNU_SOURCE
#include "nn_threads.h"

#include <cblas.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 0 = not chosen yet: start from OpenBLAS's own default, which follows
 * OPENBLAS_NUM_THREADS / OMP_NUM_THREADS or the core count.
 *
 * OpenBLAS itself then runs single-threaded: big products are split on
 * the pool instead (nn_gemm_split.h). Measured on the MLP epoch at 2
 * threads (a 2-core machine shared with other jobs), that took 1.8-2.6 s
 * where OpenBLAS's own threads took 4.4-4.9 s even with its idle workers
 * sleeping at once, and 23.5 s when its pool was shut down and restarted
 * around each of the engine's regions (~200 us a region); one pool
 * also never oversubscribes the cores. */
static int num_threads;

/* ---- the pool ---- */

enum { SPIN_NS = 1000000, PART_BITS = 16, MAX_PARTS = (1 << PART_BITS) - 1 };

typedef struct job {
  nn_range_fn range_fn; /* one of the two is set */
  nn_part_fn part_fn;
  void *ctx;
  int64_t n;
  int parts;
} job;

static pthread_mutex_t dispatch = PTHREAD_MUTEX_INITIALIZER; /* one region at a time */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;     /* guards the sleeps below */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;       /* workers: a new word */
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;       /* caller: remaining is 0 */
static _Atomic uint64_t word;  /* sequence << PART_BITS | parts of the current region */
static atomic_int remaining;   /* workers' parts of the region not finished yet */
static bool stopping;          /* under lock: workers exit */
static pthread_t *workers;
static int nworkers, started_workers; /* wanted (threads - 1), actually running */
static job current;
static uint64_t start_word; /* word when the workers were started */
static _Thread_local bool in_region;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void run_part(const job *j, int part) {
  int parts = j->parts;
  int64_t begin = j->n * part / parts, end = j->n * (part + 1) / parts;
  if (j->part_fn) j->part_fn(j->ctx, part, begin, end);
  else j->range_fn(j->ctx, begin, end);
}

/* Waits until word differs from *seen; false when the pool stops. */
static bool next_word(uint64_t *seen) {
  uint64_t w, deadline = 0;
  for (int i = 1;; i++) {
    if ((w = atomic_load_explicit(&word, memory_order_acquire)) != *seen) {
      *seen = w;
      return true;
    }
    if (i % 64 == 0) {
      uint64_t t = now_ns();
      if (!deadline) deadline = t + SPIN_NS;
      else if (t > deadline) break;
    }
    cpu_relax();
  }
  pthread_mutex_lock(&lock);
  while (!stopping && (w = atomic_load_explicit(&word, memory_order_acquire)) == *seen)
    pthread_cond_wait(&wake, &lock);
  bool go = !stopping;
  pthread_mutex_unlock(&lock);
  *seen = w;
  return go;
}

static void *worker_main(void *arg) {
  int me = (int)(intptr_t)arg; /* the part this worker runs: 1..nworkers */
  in_region = true;            /* whatever it runs is inside a region */
  uint64_t seen = start_word; /* not word: a region may be published already */
  while (next_word(&seen)) {
    if (me >= (int)(seen & MAX_PARTS)) continue; /* no part for this one this time */
    run_part(&current, me);
    if (atomic_fetch_sub_explicit(&remaining, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&lock);
      pthread_cond_signal(&done);
      pthread_mutex_unlock(&lock);
    }
  }
  return NULL;
}

static void stop_workers(void) {
  if (!started_workers) return;
  pthread_mutex_lock(&lock);
  stopping = true;
  pthread_cond_broadcast(&wake);
  pthread_mutex_unlock(&lock);
  for (int k = 0; k < started_workers; k++) pthread_join(workers[k], NULL);
  stopping = false;
  started_workers = 0;
}

/* Under dispatch: the pool has threads - 1 workers (as many as could
 * start; the caller runs the parts of those that could not). Workers
 * block every signal: those are for the program's own thread (Ctrl-C in
 * the REPL). */
static void start_workers(int threads) {
  if (nworkers == threads - 1) return;
  stop_workers();
  free(workers);
  nworkers = threads - 1;
  workers = calloc((size_t)nworkers, sizeof *workers);
  if (!workers) {
    nworkers = 0;
    return;
  }
  start_word = atomic_load_explicit(&word, memory_order_relaxed);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  while (started_workers < nworkers &&
         pthread_create(&workers[started_workers], NULL, worker_main,
                        (void *)(intptr_t)(started_workers + 1)) == 0)
    started_workers++;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static int parts_for(int64_t n, int64_t grain) {
  if (in_region || n <= 0) return 1;
  if (grain < 1) grain = 1;
  int64_t parts = n / grain, threads = nn_get_num_threads();
  if (parts > threads) parts = threads;
  if (parts > MAX_PARTS) parts = MAX_PARTS;
  return parts < 1 ? 1 : (int)parts;
}

int nn_parallel_parts(int64_t n, int64_t grain) { return parts_for(n, grain); }

bool nn_in_parallel(void) { return in_region; }

static void run_region(const job *j) {
  int parts = j->parts;
  if (parts <= 1 || pthread_mutex_trylock(&dispatch) != 0) {
    /* serial: one part, or another thread holds the pool (its parts
     * would wait for ours; splitting here would not add cores) */
    in_region = true;
    for (int k = 0; k < parts; k++) run_part(j, k);
    in_region = false;
    return;
  }
  start_workers(nn_get_num_threads());
  int helpers = parts - 1 < started_workers ? parts - 1 : started_workers;
  /* The workers' cblas calls must not start OpenBLAS's threads. */
  int blas_threads = openblas_get_num_threads();
  if (blas_threads > 1) openblas_set_num_threads(1);
  in_region = true;
  if (helpers > 0) {
    current = *j;
    atomic_store_explicit(&remaining, helpers, memory_order_relaxed);
    uint64_t next = ((atomic_load_explicit(&word, memory_order_relaxed) >> PART_BITS) + 1) << PART_BITS;
    pthread_mutex_lock(&lock);
    atomic_store_explicit(&word, next | (uint64_t)(helpers + 1), memory_order_release);
    pthread_cond_broadcast(&wake);
    pthread_mutex_unlock(&lock);
  }
  run_part(j, 0);
  for (int k = helpers + 1; k < parts; k++) run_part(j, k); /* workers that did not start */
  if (helpers > 0) {
    uint64_t deadline = now_ns() + SPIN_NS;
    for (int i = 1; atomic_load_explicit(&remaining, memory_order_acquire) > 0; i++) {
      if (i % 64 == 0 && now_ns() > deadline) break;
      cpu_relax();
    }
    pthread_mutex_lock(&lock);
    while (atomic_load_explicit(&remaining, memory_order_acquire) > 0) pthread_cond_wait(&done, &lock);
    pthread_mutex_unlock(&lock);
  }
  in_region = false;
  if (blas_threads > 1) openblas_set_num_threads(blas_threads);
  pthread_mutex_unlock(&dispatch);
}

void nn_parallel_run(int64_t n, int64_t grain, nn_range_fn fn, void *ctx) {
  job j = {.range_fn = fn, .ctx = ctx, .n = n, .parts = parts_for(n, grain)};
  if (j.parts <= 1) {
    if (n > 0) fn(ctx, 0, n);
    return;
  }
  run_region(&j);
}

void nn_parallel_for_parts(int64_t n, int64_t grain, nn_part_fn fn, void *ctx) {
  job j = {.part_fn = fn, .ctx = ctx, .n = n, .parts = parts_for(n, grain)};
  if (j.parts <= 1) {
    if (n > 0) fn(ctx, 0, 0, n);
    return;
  }
  run_region(&j);
}

/* ---- the thread count ---- */

void nn_set_num_threads(int n) {
  if (n < 1) n = 1;
  num_threads = n;
  openblas_set_num_threads(1);
  if (in_region) return; /* the pool is busy with this very region */
  pthread_mutex_lock(&dispatch);
  if (nworkers != n - 1) {
    stop_workers();
    free(workers);
    workers = NULL;
    nworkers = 0;
  }
  pthread_mutex_unlock(&dispatch);
}

int nn_get_num_threads(void) {
  if (num_threads == 0) {
    num_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
  }
  return num_threads;
}

/* ---- OpenBLAS ---- */

/* Present only in DYNAMIC_ARCH builds of OpenBLAS (Debian's): they pick the
 * kernel table, reading OPENBLAS_CORETYPE. */
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));

/* OpenBLAS 0.3.21 (Debian 12) does not recognize recent Intel cores such as
 * Sapphire Rapids and falls back to its generic Prescott kernels, which run
 * sgemm 2-3x slower than the AVX-512 ones the CPU has. When it fell back and
 * the user named no core, pick the kernels again for the one the CPU
 * supports. Must run before any BLAS call is in flight. */
static void choose_kernels(void) {
  if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit) return;
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

/* OpenBLAS's idle workers spin (sched_yield) for 2^28 cycles, about
 * 0.1 s, after each multi-threaded call (the engine makes none, but a
 * benchmark's raw replay or a user's own call may), taking a core from
 * the engine's pool or another process. OPENBLAS_THREAD_TIMEOUT
 * = 16 makes them sleep after 2^16 cycles (about 25 us, enough for the
 * next GEMM of a step to find them awake). It is read when OpenBLAS
 * starts its threads, so the pool restarts once here; a user's own
 * setting wins. Exported by libopenblas, not declared in cblas.h. */
extern void openblas_read_env(void) __attribute__((weak));
extern int blas_thread_shutdown_(void) __attribute__((weak));

static void short_blas_spin(void) {
  if (!openblas_read_env || !blas_thread_shutdown_) return;
  if (getenv("OPENBLAS_THREAD_TIMEOUT") || getenv("GOTO_THREAD_TIMEOUT")) return;
  if (setenv("OPENBLAS_THREAD_TIMEOUT", "16", 1) != 0) return;
  openblas_read_env();
  unsetenv("OPENBLAS_THREAD_TIMEOUT");
  int threads = openblas_get_num_threads();
  blas_thread_shutdown_();
  openblas_set_num_threads(threads); /* starts the threads again, with the new timeout */
}

void nn_blas_setup(void) {
  static int done;
  if (done++) return;
  choose_kernels();
  short_blas_spin();
  nn_get_num_threads(); /* takes OpenBLAS's count, then makes it single-threaded */
}

