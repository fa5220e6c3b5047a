/*
 * Datasets as bytes (nn_byte_store.h): the store, the fused per-batch
 * conversion, subsets, and PNG images stored as bytes.
 */
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_byte_store.h"
#include "nn_image.h"
#include "nn_simd.h"
#include "nn_threads.h"

/* Per-channel mean and std for at most this many channels live on the
 * stack; more (a dataset of odd samples) take a heap block. */
#define STACK_CHANNELS 4
/* Values per part of a parallel conversion: a training batch (64 x 784)
 * stays on the calling thread, a whole dataset (ds.x) is shared out. */
#define GATHER_GRAIN_VALUES 65536
/* A batch's samples are random rows of a store far larger than the
 * caches: each row's lines are requested this many rows before it is
 * converted, so their misses overlap. A shuffled batch of 64 Fashion-MNIST
 * images took 43-60 us without it (most of it waiting on the first line
 * of each row), 16-21 us with it and the AVX2 version. */
#define PREFETCH_ROWS 4

nn_status nn_byte_store_init(nn_byte_store *s, int64_t n, int ndim, const int64_t *shape) {
  memset(s, 0, sizeof *s);
  if (n < 0) return nn_fail("byte store of %" PRId64 " samples", n);
  if (ndim < 1 || ndim >= NN_MAX_DIMS)
    return nn_fail("byte store samples of %d dims (1..%d)", ndim, NN_MAX_DIMS - 1);
  int64_t row = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 1 || row > INT64_MAX / shape[d]) return nn_fail("byte store sample too large");
    row *= shape[d];
  }
  if (n > 0 && row > (INT64_MAX / 2) / n) return nn_fail("byte store of %" PRId64 " samples too large", n);
  if (n > 0) {
    s->bytes = nn_alloc((size_t)(n * row)); /* every reader fills all of it */
    if (!s->bytes) return NN_ERR_NOMEM;
  }
  s->n = n;
  s->ndim = ndim;
  memcpy(s->shape, shape, (size_t)ndim * sizeof *shape);
  s->row = row;
  return NN_OK;
}

void nn_byte_store_free(nn_byte_store *s) {
  if (s->bytes) nn_free(s->bytes, (size_t)(s->n * s->row));
  s->bytes = NULL;
  s->n = 0;
}

/* The first 4 KB of a row: past that the hardware prefetcher follows. */
static void prefetch_row(const unsigned char *p, int64_t row) {
  for (int64_t b = 0; b < row && b < 4096; b += 64) __builtin_prefetch(p + b);
}

NN_EXACT_CLONES
void nn_kernel_bytes_to_float(float *out, const unsigned char *bytes, const int64_t *rows_of,
                              const float *mean, const float *std, int64_t row, int64_t plane,
                              int64_t lo, int64_t hi) {
  for (int64_t i = lo; i < hi && i < lo + PREFETCH_ROWS; i++) prefetch_row(bytes + rows_of[i] * row, row);
  for (int64_t i = lo; i < hi; i++) {
    if (i + PREFETCH_ROWS < hi) prefetch_row(bytes + rows_of[i + PREFETCH_ROWS] * row, row);
    const unsigned char *src = bytes + rows_of[i] * row;
    float *o = out + i * row;
    if (!mean) {
      for (int64_t k = 0; k < row; k++) o[k] = nn_unit_from_byte(src[k]);
      continue;
    }
    /* the same two steps, in float, as decoding then nn_kernel_normalize */
    for (int64_t c = 0, base = 0; base < row; c++, base += plane) {
      float mu = mean[c], sd = std[c];
      for (int64_t k = base; k < base + plane; k++) o[k] = (nn_unit_from_byte(src[k]) - mu) / sd;
    }
  }
}

/* The conversion of a range of batch samples, as nn_parallel_for calls it. */
typedef struct gather_job {
  float *out;
  const unsigned char *bytes;
  const int64_t *rows_of;
  const float *mean, *std;
  int64_t row, plane;
} gather_job;

static void gather_range(void *ctx, int64_t lo, int64_t hi) {
  const gather_job *j = ctx;
  nn_kernel_bytes_to_float(j->out, j->bytes, j->rows_of, j->mean, j->std, j->row, j->plane, lo,
                           hi);
}

/* Checks rows against the store and fills rows_of (len store rows). */
static nn_status resolve_rows(const nn_byte_store *s, const nn_byte_rows *r, int64_t *rows_of) {
  if (r->first < 0 || r->count < 0 || r->first > s->n - r->count)
    return nn_fail("samples %" PRId64 "..%" PRId64 " outside a store of %" PRId64, r->first + 1,
                   r->first + r->count, s->n);
  if (!r->index) {
    if (r->start < 0 || r->len < 0 || r->start > r->count - r->len)
      return nn_fail("samples %" PRId64 "..%" PRId64 " out of range 1..%" PRId64, r->start + 1,
                     r->start + r->len, r->count);
    for (int64_t i = 0; i < r->len; i++) rows_of[i] = r->first + r->start + i;
    return NN_OK;
  }
  for (int64_t i = 0; i < r->len; i++) {
    int64_t k = r->index[i];
    if (k < 1 || k > r->count)
      return nn_fail("index %" PRId64 " out of range 1..%" PRId64, k, r->count);
    rows_of[i] = r->first + k - 1;
  }
  return NN_OK;
}

nn_status nn_byte_store_gather(nn_tensor *out, const nn_byte_store *s, const nn_byte_rows *rows,
                               const nn_byte_norm *norm) {
  int64_t len = rows->len, channels = s->shape[0];
  if (len == 0) return NN_OK;
  size_t rows_bytes = (size_t)len * sizeof(int64_t);
  int64_t *rows_of = nn_alloc(rows_bytes);
  if (!rows_of) return NN_ERR_NOMEM;
  nn_status st = resolve_rows(s, rows, rows_of);
  /* mean and std spread to one value per channel, as the kernel reads them */
  float stack_values[2 * STACK_CHANNELS];
  float *values = stack_values;
  size_t values_bytes = (size_t)(2 * channels) * sizeof(float);
  bool normalize = norm->nmean > 0;
  if (st == NN_OK && normalize && channels > STACK_CHANNELS) {
    values = nn_alloc(values_bytes);
    if (!values) st = NN_ERR_NOMEM;
  }
  if (st == NN_OK) {
    float *mean = values, *sd = values + channels;
    for (int64_t c = 0; normalize && c < channels; c++) {
      mean[c] = norm->mean[norm->nmean == 1 ? 0 : c];
      sd[c] = norm->std[norm->nstd == 1 ? 0 : c];
    }
    gather_job job = {nn_tensor_data(out), s->bytes, rows_of, normalize ? mean : NULL,
                      normalize ? sd : NULL, s->row, s->row / channels};
    int64_t grain = GATHER_GRAIN_VALUES / s->row;
    nn_parallel_for(len, grain > 0 ? grain : 1, gather_range, &job);
  }
  if (values != stack_values) nn_free(values, values_bytes);
  nn_free(rows_of, rows_bytes);
  return st;
}

nn_status nn_byte_store_select(nn_byte_store *dst, const nn_byte_store *s,
                               const nn_byte_rows *rows) {
  memset(dst, 0, sizeof *dst);
  int64_t len = rows->len;
  size_t rows_bytes = (size_t)(len ? len : 1) * sizeof(int64_t);
  int64_t *rows_of = nn_alloc(rows_bytes);
  if (!rows_of) return NN_ERR_NOMEM;
  nn_status st = resolve_rows(s, rows, rows_of);
  if (st == NN_OK) st = nn_byte_store_init(dst, len, s->ndim, s->shape);
  if (st == NN_OK)
    for (int64_t i = 0; i < len; i++)
      memcpy(dst->bytes + i * s->row, s->bytes + rows_of[i] * s->row, (size_t)s->row);
  nn_free(rows_of, rows_bytes);
  return st;
}

/* dst [c,oh,ow] bytes = src [c,h,w] bytes resized bilinearly, rounded
 * half to even (lrintf in the default rounding mode, as torch.round). */
static nn_io_status resize_bytes(unsigned char *dst, const unsigned char *src, int64_t c, int64_t h,
                                 int64_t w, int64_t oh, int64_t ow, const char *path, char *err) {
  size_t in_bytes = (size_t)(c * h * w) * sizeof(float);
  size_t out_bytes = (size_t)(c * oh * ow) * sizeof(float);
  float *in = nn_alloc(in_bytes), *out = nn_alloc(out_bytes);
  if (!in || !out) {
    nn_free(in, in_bytes);
    nn_free(out, out_bytes);
    return nn_io_fail(err, NN_IO_ERR_NOMEM, "'%s': out of memory to resize", path);
  }
  for (int64_t k = 0; k < c * h * w; k++) in[k] = (float)src[k];
  nn_kernel_resize(out, in, c, h, w, oh, ow);
  for (int64_t k = 0; k < c * oh * ow; k++) {
    float v = out[k];
    v = v > 0.0f ? (v < 255.0f ? v : 255.0f) : 0.0f;
    dst[k] = (unsigned char)lrintf(v);
  }
  nn_free(in, in_bytes);
  nn_free(out, out_bytes);
  return NN_IO_OK;
}

nn_io_status nn_byte_store_read_png(nn_byte_store *s, int64_t row, const char *path, char *err) {
  if (s->ndim != 3 || row < 0 || row >= s->n)
    return nn_io_fail(err, NN_IO_ERR_ARG, "'%s': no sample %" PRId64 " of [C,H,W] to store it in",
                      path, row + 1);
  int c;
  int64_t h, w;
  nn_io_status st = nn_png_info(path, &c, &h, &w, err);
  if (st) return st;
  if (c != s->shape[0])
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has %d channels, expected %" PRId64, path, c,
                      s->shape[0]);
  unsigned char *dst = s->bytes + row * s->row;
  if (h == s->shape[1] && w == s->shape[2]) return nn_png_read_bytes(path, c, h, w, dst, err);
  size_t nbytes = (size_t)(c * h * w);
  unsigned char *buf = nn_alloc(nbytes ? nbytes : 1);
  if (!buf) return nn_io_fail(err, NN_IO_ERR_NOMEM, "'%s': out of memory for %zu pixels", path, nbytes);
  st = nn_png_read_bytes(path, c, h, w, buf, err);
  if (!st) st = resize_bytes(dst, buf, c, h, w, s->shape[1], s->shape[2], path, err);
  nn_free(buf, nbytes ? nbytes : 1);
  return st;
}
