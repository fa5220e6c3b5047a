/*
 * CIFAR-10 binary batches (nn_data.h): records of one label byte and
 * 3072 pixel bytes, already in [C,H,W] order.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nn_data.h"

/* Records are decoded through a stack buffer of this many. */
#define CIFAR_CHUNK 64

nn_io_status nn_cifar_count(const char *path, int64_t *n, char *err) {
  FILE *fp;
  uint64_t size;
  int st = nn_io_open_read(&fp, &size, path, err);
  if (st) return (nn_io_status)st;
  fclose(fp);
  /* an empty file is a failed download or copy, not a batch of 0 */
  if (size == 0) return nn_io_fail(err, NN_IO_ERR_FORMAT,
                                   "'%s' is empty, not a CIFAR-10 batch", path);
  if (size % NN_CIFAR_RECORD != 0)
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s': truncated or not a CIFAR-10 batch (size %" PRIu64
                      " bytes is not a multiple of the %d-byte record)",
                      path, size, NN_CIFAR_RECORD);
  *n = (int64_t)(size / NN_CIFAR_RECORD);
  return NN_IO_OK;
}

/* Converts m records: x [m,3072] floats in [0,1], y [m] 1-based labels.
 * Returns the first record with a bad label, or -1. */
static int64_t decode(const unsigned char *buf, int64_t m, void *dst, int64_t done, int64_t *y) {
  float *x = (float *)dst + done * NN_CIFAR_PIXELS;
  for (int64_t r = 0; r < m; r++) {
    const unsigned char *rec = buf + r * NN_CIFAR_RECORD;
    if (rec[0] > 9) return r;
    y[r] = (int64_t)rec[0] + 1;
    float *xr = x + r * NN_CIFAR_PIXELS;
    for (int i = 0; i < NN_CIFAR_PIXELS; i++) xr[i] = nn_unit_from_byte(rec[1 + i]);
  }
  return -1;
}

/* Copies m records: x [m,3072] bytes, y [m] 1-based labels. Returns the
 * first record with a bad label, or -1. */
static int64_t split_records(const unsigned char *buf, int64_t m, void *dst, int64_t done,
                             int64_t *y) {
  unsigned char *x = (unsigned char *)dst + done * NN_CIFAR_PIXELS;
  for (int64_t r = 0; r < m; r++) {
    const unsigned char *rec = buf + r * NN_CIFAR_RECORD;
    if (rec[0] > 9) return r;
    y[r] = (int64_t)rec[0] + 1;
    memcpy(x + r * NN_CIFAR_PIXELS, rec + 1, NN_CIFAR_PIXELS);
  }
  return -1;
}

/* decode or split_records: m records of buf into x at record done, and y. */
typedef int64_t (*take_records)(const unsigned char *buf, int64_t m, void *x, int64_t done,
                                int64_t *y);

/* Reads n records of path chunk by chunk, handing each chunk to take. */
static nn_io_status read_records(const char *path, int64_t n, take_records take, void *x,
                                 int64_t *y, char *err) {
  FILE *fp;
  uint64_t size;
  int st = nn_io_open_read(&fp, &size, path, err);
  if (st) return (nn_io_status)st;
  if (n > 0 && size / NN_CIFAR_RECORD < (uint64_t)n) {
    fclose(fp);
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s': truncated (%" PRIu64 " bytes, %" PRId64 " records expected)",
                      path, size, n);
  }
  static _Thread_local unsigned char buf[CIFAR_CHUNK * NN_CIFAR_RECORD];
  for (int64_t done = 0; done < n;) {
    int64_t m = n - done < CIFAR_CHUNK ? n - done : CIFAR_CHUNK;
    size_t want = (size_t)m * NN_CIFAR_RECORD;
    size_t got = fread(buf, 1, want, fp);
    if (got != want) {
      int e = ferror(fp) ? errno : 0;
      fclose(fp);
      if (e) return nn_io_fail(err, NN_IO_ERR_SYS, "cannot read '%s': %s", path, strerror(e));
      return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': truncated (file shrank while reading)", path);
    }
    int64_t bad = take(buf, m, x, done, y + done);
    if (bad >= 0) {
      fclose(fp);
      return nn_io_fail(err, NN_IO_ERR_FORMAT,
                        "'%s': record %" PRId64 " has label %d, expected 0..9",
                        path, done + bad + 1, buf[bad * NN_CIFAR_RECORD]);
    }
    done += m;
  }
  fclose(fp);
  return NN_IO_OK;
}

nn_io_status nn_cifar_read(const char *path, int64_t n, float *x, int64_t *y, char *err) {
  return read_records(path, n, decode, x, y, err);
}

nn_io_status nn_cifar_read_bytes(const char *path, int64_t n, unsigned char *x, int64_t *y,
                                 char *err) {
  return read_records(path, n, split_records, x, y, err);
}

nn_io_status nn_cifar_read_files(nn_tensor *x, nn_tensor *y, int nfiles,
                                 const char *const *paths, const int64_t *counts, char *err) {
  float *xp = nn_tensor_data(x);
  int64_t *yp = nn_tensor_data(y);
  for (int i = 0; i < nfiles; i++) {
    nn_io_status st = nn_cifar_read(paths[i], counts[i], xp, yp, err);
    if (st) return st;
    xp += counts[i] * NN_CIFAR_PIXELS, yp += counts[i];
  }
  return NN_IO_OK;
}
