/*
 * nn_alloc: every byte the engine takes goes through here, so freed blocks
 * can be reused (alloc.c), nn.memory_stats() can report them, and tests can
 * make the N-th allocation fail to prove the error paths.
 */
#ifndef NN_ALLOC_H
#define NN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_memory_stats {
  uint64_t count;        /* blocks taken from the system since start */
  uint64_t live_count;   /* allocations in use */
  uint64_t live_bytes;   /* bytes in use */
  uint64_t peak_bytes;   /* most bytes ever in use at once */
  uint64_t cached_bytes; /* freed blocks kept for reuse */
  uint64_t small_total;  /* bytes of small blocks (<= NN_ALLOC_SMALL_BLOCK) ever handed out */
} nn_memory_stats;

/* Blocks up to this size (tensor headers, autograd nodes, the data of
 * tensors up to 4096 floats) are counted in small_total, which the
 * bindings hand Lua's collector as debt (pace_collector in check.c). */
#define NN_ALLOC_SMALL_BLOCK ((size_t)16 << 10)

/* Returns NULL when the system refuses or when a failure was injected. */
void *nn_alloc(size_t nbytes);
/* Zero-filled nn_alloc. */
void *nn_alloc_zeroed(size_t nbytes);
/* nbytes must be the size given to nn_alloc; NULL is ignored. */
void nn_free(void *p, size_t nbytes);
/* Returns the cached free blocks to the system. */
void nn_alloc_release_cache(void);

nn_memory_stats nn_memory_stats_get(void);
/* stats.small_total alone, read on every new tensor. */
uint64_t nn_alloc_small_total(void);

/* Test hook: the n-th allocation from now (1 = the next one) fails;
 * 0 disables the injection. Returns the countdown it replaces: 0 when the
 * injected failure has happened (or none was set), so a sweep knows when
 * N has passed a scenario's last allocation. */
uint64_t nn_alloc_fail_after(uint64_t n);

/* Bytes of physical memory, the ceiling for any single tensor. */
uint64_t nn_physical_memory(void);

#endif
