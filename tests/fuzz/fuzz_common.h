/*
 * Shared by the libFuzzer targets: the input as a file without touching the
 * disk, and the checks every target makes after each input.
 *
 * Readers that take a path read the input through a memfd: one per process,
 * truncated and rewritten for each input, opened again by the reader as
 * /proc/self/fd/N (a regular file to fstat, seekable, gzopen-able).
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nn_alloc.h"
#include "nn_io.h"

/* The path of a file holding exactly data[0..size). */
static inline const char *fuzz_memfile(const uint8_t *data, size_t size) {
  static int fd = -1;
  static char path[64];
  if (fd < 0) {
    fd = memfd_create("nnlua-fuzz", 0);
    if (fd < 0) {
      perror("memfd_create");
      abort();
    }
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  }
  if (ftruncate(fd, 0) != 0) abort();
  for (size_t done = 0; done < size;) {
    ssize_t n = pwrite(fd, data + done, size - done, (off_t)done);
    if (n <= 0) abort();
    done += (size_t)n;
  }
  return path;
}

/* Engine bytes in use: every input must give back all it took. */
static inline uint64_t fuzz_live_bytes(void) { return nn_memory_stats_get().live_bytes; }

static inline void fuzz_check_live(uint64_t before, const char *target) {
  uint64_t after = fuzz_live_bytes();
  if (after != before) {
    fprintf(stderr, "%s: engine leak: %llu live bytes before the input, %llu after\n", target,
            (unsigned long long)before, (unsigned long long)after);
    abort();
  }
}

/* A failed reader leaves a message for people: terminated, not empty. */
static inline void fuzz_check_error(const char *err, const char *target) {
  size_t n = strnlen(err, NN_IO_ERRLEN);
  if (n == 0 || n == NN_IO_ERRLEN) {
    fprintf(stderr, "%s: reader failed without a proper message\n", target);
    abort();
  }
}

#endif
