/*
 * nn_alloc: every byte the engine takes from the system goes through here,
 * so nn.memory_stats() can report it and tests can make the N-th allocation
 * fail to prove the error paths.
 */
#ifndef NN_ALLOC_H
#define NN_ALLOC_H

#include <stddef.h>
#include <stdint.h>

typedef struct nn_memory_stats {
  uint64_t count;       /* allocations made since start (cumulative) */
  uint64_t live_count;  /* allocations not yet freed */
  uint64_t live_bytes;  /* bytes held now */
  uint64_t peak_bytes;  /* most bytes ever held at once */
} nn_memory_stats;

/* Returns NULL when the system refuses or when a failure was injected. */
void *nn_alloc(size_t nbytes);
/* Zero-filled nn_alloc. */
void *nn_alloc_zeroed(size_t nbytes);
/* nbytes must be the size given to nn_alloc; NULL is ignored. */
void nn_free(void *p, size_t nbytes);

nn_memory_stats nn_memory_stats_get(void);

/* Test hook: the n-th allocation from now (1 = the next one) fails;
 * 0 disables the injection. */
void nn_alloc_fail_after(uint64_t n);

/* Bytes of physical memory, the ceiling for any single tensor. */
uint64_t nn_physical_memory(void);

#endif
