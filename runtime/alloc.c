#include "nn_alloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Updated with relaxed atomics: kernels may free from worker threads. */
static uint64_t stat_count, stat_live_count, stat_live_bytes, stat_peak_bytes;
static uint64_t fail_countdown;

static int injected_failure(void) {
  if (fail_countdown == 0) return 0;
  return --fail_countdown == 0;
}

static void note_alloc(size_t nbytes) {
  __atomic_add_fetch(&stat_count, 1, __ATOMIC_RELAXED);
  __atomic_add_fetch(&stat_live_count, 1, __ATOMIC_RELAXED);
  uint64_t live = __atomic_add_fetch(&stat_live_bytes, nbytes, __ATOMIC_RELAXED);
  uint64_t peak = __atomic_load_n(&stat_peak_bytes, __ATOMIC_RELAXED);
  while (live > peak &&
         !__atomic_compare_exchange_n(&stat_peak_bytes, &peak, live, 1,
                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

void *nn_alloc(size_t nbytes) {
  if (injected_failure()) return NULL;
  /* 64-byte alignment keeps SIMD loads aligned; size rounded as required. */
  size_t rounded = (nbytes + 63) & ~(size_t)63;
  if (rounded < nbytes) return NULL;
  void *p = aligned_alloc(64, rounded ? rounded : 64);
  if (p) note_alloc(nbytes);
  return p;
}

void *nn_alloc_zeroed(size_t nbytes) {
  void *p = nn_alloc(nbytes);
  if (p) memset(p, 0, nbytes);
  return p;
}

void nn_free(void *p, size_t nbytes) {
  if (!p) return;
  __atomic_sub_fetch(&stat_live_count, 1, __ATOMIC_RELAXED);
  __atomic_sub_fetch(&stat_live_bytes, nbytes, __ATOMIC_RELAXED);
  free(p);
}

nn_memory_stats nn_memory_stats_get(void) {
  nn_memory_stats s;
  s.count = __atomic_load_n(&stat_count, __ATOMIC_RELAXED);
  s.live_count = __atomic_load_n(&stat_live_count, __ATOMIC_RELAXED);
  s.live_bytes = __atomic_load_n(&stat_live_bytes, __ATOMIC_RELAXED);
  s.peak_bytes = __atomic_load_n(&stat_peak_bytes, __ATOMIC_RELAXED);
  return s;
}

void nn_alloc_fail_after(uint64_t n) { fail_countdown = n; }

uint64_t nn_physical_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return UINT64_MAX;
  return (uint64_t)pages * (uint64_t)page;
}
