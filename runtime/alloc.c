/*
 * A caching allocator. Freed blocks are kept in per-size-class free lists
 * and handed out again, so a training loop that makes the same shapes every
 * step stops calling the system allocator after its first step (and small
 * tensors cost a list pop, not a malloc). Classes are powers of two up to
 * 1 MiB and multiples of 64 KiB above; a block is reused only for its own
 * class. The cache holds at most CACHE_LIMIT bytes; past that, frees go
 * back to the system. When the system refuses, the cache is emptied and
 * the allocation retried once.
 *
 * Not thread-safe, by design: the engine allocates only from the thread
 * running Lua (kernels never allocate), and a lock would cost a fifth of a
 * small op's time.
 */
#include "nn_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL_CLASSES 15                  /* 64 B .. 1 MiB */
#define LARGE_UNIT ((size_t)64 << 10)    /* large blocks round to 64 KiB */
#define LARGE_SLOTS 64
#define CACHE_LIMIT ((size_t)1 << 30)

typedef struct free_block {
  struct free_block *next;
} free_block;

typedef struct large_entry {
  void *p;
  size_t size;
} large_entry;

static free_block *small_lists[SMALL_CLASSES];
static large_entry large_cache[LARGE_SLOTS];
static size_t cached_bytes;
static nn_memory_stats stats;
static uint64_t fail_countdown;

/* The block size nbytes is served from, and its small class (-1: large). */
static size_t block_size(size_t nbytes, int *cls) {
  size_t size = 64;
  for (int c = 0; c < SMALL_CLASSES; c++, size <<= 1)
    if (nbytes <= size) {
      *cls = c;
      return size;
    }
  *cls = -1;
  return (nbytes + LARGE_UNIT - 1) / LARGE_UNIT * LARGE_UNIT;
}

static void *take_cached(size_t size, int cls) {
  if (cls >= 0) {
    free_block *b = small_lists[cls];
    if (b) small_lists[cls] = b->next;
    return b;
  }
  for (int i = 0; i < LARGE_SLOTS; i++)
    if (large_cache[i].p && large_cache[i].size == size) {
      void *p = large_cache[i].p;
      large_cache[i].p = NULL;
      return p;
    }
  return NULL;
}

/* Keeps p for reuse; false when the cache is full. */
static bool put_cached(void *p, size_t size, int cls) {
  if (cached_bytes + size > CACHE_LIMIT) return false;
  if (cls >= 0) {
    free_block *b = p;
    b->next = small_lists[cls];
    small_lists[cls] = b;
    return true;
  }
  for (int i = 0; i < LARGE_SLOTS; i++)
    if (!large_cache[i].p) {
      large_cache[i] = (large_entry){p, size};
      return true;
    }
  return false;
}

static void release_cache_locked(void) {
  for (int c = 0; c < SMALL_CLASSES; c++)
    while (small_lists[c]) {
      free_block *b = small_lists[c];
      small_lists[c] = b->next;
      free(b);
    }
  for (int i = 0; i < LARGE_SLOTS; i++) {
    free(large_cache[i].p);
    large_cache[i].p = NULL;
  }
  cached_bytes = 0;
}

void *nn_alloc(size_t nbytes) {
  int cls;
  size_t size = block_size(nbytes, &cls);
  if (size < nbytes) return NULL; /* overflow */
  void *p = NULL;
  if (fail_countdown && --fail_countdown == 0) goto done;
  p = take_cached(size, cls);
  if (p) {
    cached_bytes -= size;
  } else {
    /* 64-byte alignment keeps SIMD loads aligned; sizes are multiples of 64. */
    p = aligned_alloc(64, size);
    if (!p) {
      release_cache_locked();
      p = aligned_alloc(64, size);
    }
    if (p) stats.count++;
  }
  if (p) {
    stats.live_count++;
    stats.live_bytes += nbytes;
    if (size <= NN_ALLOC_SMALL_BLOCK) stats.small_total += size;
    if (stats.live_bytes > stats.peak_bytes) stats.peak_bytes = stats.live_bytes;
  }
done:
  return p;
}

void *nn_alloc_zeroed(size_t nbytes) {
  void *p = nn_alloc(nbytes);
  if (p) memset(p, 0, nbytes);
  return p;
}

void nn_free(void *p, size_t nbytes) {
  if (!p) return;
  int cls;
  size_t size = block_size(nbytes, &cls);
  stats.live_count--;
  stats.live_bytes -= nbytes;
  if (put_cached(p, size, cls)) cached_bytes += size;
  else free(p);
}

nn_memory_stats nn_memory_stats_get(void) {
  nn_memory_stats s = stats;
  s.cached_bytes = cached_bytes;
  return s;
}

uint64_t nn_alloc_small_total(void) { return stats.small_total; }

void nn_alloc_release_cache(void) {
  release_cache_locked();
}

uint64_t nn_alloc_fail_after(uint64_t n) {
  uint64_t pending = fail_countdown;
  fail_countdown = n;
  return pending;
}

uint64_t nn_physical_memory(void) {
  static uint64_t bytes;
  if (!bytes) {
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : UINT64_MAX;
  }
  return bytes;
}

/* Hand the cache back when the program (or the unloaded module) goes, so
 * leak checkers see only real leaks. */
__attribute__((destructor)) static void release_cache_at_exit(void) { nn_alloc_release_cache(); }
