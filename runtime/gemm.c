/*
 * The engine's one call of cblas_sgemm, with the recording and replay of
 * calls that bench/epoch.lua measures a model's GEMM ceiling with
 * (nn_gemm.h).
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "nn_gemm.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn_conv.h"
#include "nn_gemm_split.h"
#include "nn_threads.h"

/* Read without the lock on every call (a relaxed atomic load: a plain
 * load on x86); set and cleared under the lock. */
static bool recording;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static nn_gemm_call *list;
static size_t listed, capacity;
static bool list_full; /* an append failed: the list is short until the next start */

static void record(const nn_gemm_call *c) {
  pthread_mutex_lock(&lock); /* conv.c's workers call GEMMs from several threads */
  if (listed == capacity && !list_full) {
    size_t grown = capacity ? 2 * capacity : 256;
    nn_gemm_call *bigger = realloc(list, grown * sizeof *list);
    if (bigger) list = bigger, capacity = grown;
    else list_full = true;
  }
  if (listed < capacity) list[listed++] = *c;
  pthread_mutex_unlock(&lock);
}

void nn_sgemm(CBLAS_ORDER order, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int m, int n, int k,
              float alpha, const float *a, int lda, const float *b, int ldb, float beta, float *c,
              int ldc) {
  if (__builtin_expect(__atomic_load_n(&recording, __ATOMIC_RELAXED), 0))
    record(&(nn_gemm_call){order == CblasRowMajor, ta != CblasNoTrans, tb != CblasNoTrans, m, n, k,
                           lda, ldb, ldc, alpha, beta});
  if (!nn_gemm_split(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)) /* on the pool */
    cblas_sgemm(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void nn_gemm_record_start(void) {
  pthread_mutex_lock(&lock);
  listed = 0;
  list_full = false;
  __atomic_store_n(&recording, true, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&lock);
}

void nn_gemm_record_stop(void) {
  pthread_mutex_lock(&lock);
  __atomic_store_n(&recording, false, __ATOMIC_RELAXED);
  pthread_mutex_unlock(&lock);
}

size_t nn_gemm_recorded(const nn_gemm_call **calls, bool *complete) {
  *calls = list;
  *complete = !list_full;
  return listed;
}

void nn_gemm_record_conv(nn_gemm_conv_pass pass, const nn_conv2d_geom *g) {
  if (!__atomic_load_n(&recording, __ATOMIC_RELAXED)) return;
  int64_t groups = g->groups > 1 ? g->groups : 1, p = g->oh * g->ow;
  int o = (int)(g->o / groups), k = (int)(g->c / groups * g->kh * g->kw);
  /* images per GEMM: all of them unless N*P overflows an int */
  int64_t per = p > 0 && g->n * p > INT32_MAX ? INT32_MAX / p : g->n;
  for (int64_t n0 = 0; per > 0 && n0 < g->n; n0 += per) {
    int np = (int)((g->n - n0 < per ? g->n - n0 : per) * p);
    nn_gemm_call c = {.row_major = true, .alpha = 1.0f};
    if (pass == NN_GEMM_CONV_FORWARD) { /* the bias: a fill before, not part of the GEMM */
      c.m = o, c.n = np, c.k = k, c.lda = k, c.ldb = np, c.ldc = np;
    } else if (pass == NN_GEMM_CONV_WEIGHT_GRAD) {
      c.tb = true, c.m = o, c.n = k, c.k = np, c.lda = np, c.ldb = np, c.ldc = k, c.beta = 1.0f;
    } else {
      c.ta = true, c.m = k, c.n = np, c.k = o, c.lda = k, c.ldb = np, c.ldc = np;
    }
    for (int64_t i = 0; i < groups; i++) record(&c);
  }
}

double nn_gemm_flops(const nn_gemm_call *c) { return 2.0 * c->m * c->n * c->k; }

/* ---- replay ---- */

/* Floats a matrix of rows x cols (as stored: row-major rows, or
 * column-major columns, count as outer) with leading dim ld spans; 0 when
 * empty, -1 when ld is too small for it. */
static int64_t span(bool row_major, int64_t rows, int64_t cols, int64_t ld) {
  int64_t outer = row_major ? rows : cols, inner = row_major ? cols : rows;
  if (ld < (inner > 1 ? inner : 1)) return -1;
  return outer == 0 || inner == 0 ? 0 : (outer - 1) * ld + inner;
}

/* The spans of A, B and C of c, in floats, each rounded up to 16 (64
 * bytes, so every buffer starts aligned as nn_alloc's blocks do). */
static bool spans(const nn_gemm_call *c, int64_t s[3]) {
  s[0] = span(c->row_major, c->ta ? c->k : c->m, c->ta ? c->m : c->k, c->lda);
  s[1] = span(c->row_major, c->tb ? c->n : c->k, c->tb ? c->k : c->n, c->ldb);
  s[2] = span(c->row_major, c->m, c->n, c->ldc);
  for (int i = 0; i < 3; i++) {
    if (s[i] < 0) return false;
    s[i] = (s[i] + 15) / 16 * 16;
  }
  return true;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_all(const nn_gemm_call *calls, size_t count, float *const *ptr, bool through_engine) {
  for (size_t i = 0; i < count; i++) {
    const nn_gemm_call *c = &calls[i];
    if (c->m == 0 || c->n == 0) continue;
    (through_engine ? nn_sgemm : cblas_sgemm)(c->row_major ? CblasRowMajor : CblasColMajor, c->ta ? CblasTrans : CblasNoTrans,
                c->tb ? CblasTrans : CblasNoTrans, c->m, c->n, c->k, c->alpha, ptr[3 * i], c->lda,
                ptr[3 * i + 1], c->ldb, c->beta, ptr[3 * i + 2], c->ldc);
  }
}

nn_status nn_gemm_replay(const nn_gemm_call *calls, size_t count, int threads, bool through_engine,
                         int64_t reps, double *seconds) {
  int64_t total = 0;
  for (size_t i = 0; i < count; i++) {
    int64_t s[3];
    const nn_gemm_call *c = &calls[i];
    if (c->m < 0 || c->n < 0 || c->k < 0)
      return nn_fail("call %zu: negative size (m=%d n=%d k=%d)", i + 1, c->m, c->n, c->k);
    if (!spans(c, s))
      return nn_fail("call %zu: a leading dim is too small for its matrix "
                     "(m=%d n=%d k=%d lda=%d ldb=%d ldc=%d)",
                     i + 1, c->m, c->n, c->k, c->lda, c->ldb, c->ldc);
    total += s[0] + s[1] + s[2];
  }
  float **ptr = malloc((3 * count + 1) * sizeof *ptr);
  float *arena = aligned_alloc(64, (size_t)(total + 16) * sizeof(float));
  if (!ptr || !arena) {
    free(ptr);
    free(arena);
    return NN_ERR_NOMEM;
  }
  /* Values in [-0.5, 0.5): no denormals; beta = 1 calls add up over the
   * reps without coming near overflow. */
  unsigned x = 12345;
  for (int64_t i = 0; i < total; i++) {
    x = x * 1103515245u + 12345u;
    arena[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
  }
  float *at = arena;
  for (size_t i = 0; i < count; i++) {
    int64_t s[3];
    spans(&calls[i], s);
    for (int j = 0; j < 3; j++) ptr[3 * i + j] = at, at += s[j];
  }
  int saved = openblas_get_num_threads(), saved_engine = nn_get_num_threads();
  bool switch_engine = through_engine && threads != saved_engine; /* a switch restarts the pool */
  if (switch_engine) nn_set_num_threads(threads);
  if (!through_engine) openblas_set_num_threads(threads);
  run_all(calls, count, ptr, through_engine); /* starts the threads, warms the caches as a step would */
  double t0 = now();
  for (int64_t r = 0; r < reps; r++) run_all(calls, count, ptr, through_engine);
  *seconds = now() - t0;
  if (switch_engine) nn_set_num_threads(saved_engine);
  if (!through_engine) openblas_set_num_threads(saved);
  free(arena);
  free(ptr);
  return NN_OK;
}
