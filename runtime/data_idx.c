/*
 * IDX files (nn_data.h): the MNIST family's format, read through zlib's
 * gz* functions so gzipped and plain files take the same path.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "nn_data.h"

/* Values are inflated through a stack buffer of this many bytes. */
#define IDX_CHUNK 65536
/* More elements than any dataset this loads; stops absurd headers before
 * the caller tries to allocate for them. */
#define IDX_MAX_NUMEL ((int64_t)1 << 40)

static const char *type_name(int type) {
  switch (type) {
  case 0x08: return "unsigned byte";
  case 0x09: return "signed byte";
  case 0x0B: return "int16";
  case 0x0C: return "int32";
  case 0x0D: return "float32";
  case 0x0E: return "float64";
  default: return "unknown";
  }
}

/* Closes f and fails with a formatted message (each names the path). */
static nn_io_status fail(nn_idx_file *f, nn_io_status code, char *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static nn_io_status fail(nn_idx_file *f, nn_io_status code, char *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, NN_IO_ERRLEN, fmt, ap);
  va_end(ap);
  nn_idx_close(f);
  return code;
}

/* Reads exactly n bytes; returns how many were read, -1 on a zlib error. */
static int64_t read_full(gzFile gz, unsigned char *p, unsigned n) {
  unsigned got = 0;
  while (got < n) {
    int r = gzread(gz, p + got, n - got);
    if (r < 0) return -1;
    if (r == 0) break;
    got += (unsigned)r;
  }
  return got;
}

static const char *gz_reason(gzFile gz) {
  int code;
  const char *msg = gzerror(gz, &code);
  if (code == Z_BUF_ERROR) return "truncated (unexpected end of the compressed stream)";
  return code == Z_ERRNO ? strerror(errno) : msg;
}

/* Header bytes after the 4-byte magic: one uint32 per dim. */
static nn_io_status read_dims(nn_idx_file *f, char *err) {
  unsigned char b[4 * NN_MAX_DIMS]; /* ndim was checked by the caller */
  int64_t got = read_full(f->gz, b, 4u * (unsigned)f->ndim);
  if (got != 4 * f->ndim)
    return fail(f, NN_IO_ERR_FORMAT, err, "'%s': truncated header (%d dims announced)", f->path,
                f->ndim);
  f->numel = 1;
  int64_t span = 1; /* the sides' product with zeros as 1, which bounds the strides too */
  for (int i = 0; i < f->ndim; i++) {
    const unsigned char *q = b + 4 * i;
    f->shape[i] = ((int64_t)q[0] << 24) | ((int64_t)q[1] << 16) | ((int64_t)q[2] << 8) | q[3];
    int64_t side = f->shape[i] ? f->shape[i] : 1;
    if (span > IDX_MAX_NUMEL / side)
      return fail(f, NN_IO_ERR_FORMAT, err, "'%s': absurd sizes in header (dim %d is %" PRId64 ")",
                  f->path, i + 1, f->shape[i]);
    span *= side;
    f->numel *= f->shape[i];
  }
  return NN_IO_OK;
}

/* deflate's ceiling: one compressed byte inflates to at most 1032. */
#define IDX_GZ_MAX_RATIO 1032

/* The memory ceiling, checked before the caller allocates for a header
 * that lies: an uncompressed file must hold header + numel bytes, and a
 * gzipped one cannot inflate to more than IDX_GZ_MAX_RATIO times its size. */
static nn_io_status check_size(nn_idx_file *f, char *err) {
  struct stat st;
  if (stat(f->path, &st) != 0) return NN_IO_OK;
  int64_t header = 4 + 4 * (int64_t)f->ndim, size = (int64_t)st.st_size;
  if (gzdirect(f->gz)) {
    if (size < header + f->numel)
      return fail(f, NN_IO_ERR_FORMAT, err,
                  "'%s': truncated: the header announces %" PRId64 " values, the file holds %" PRId64,
                  f->path, f->numel, size - header);
  } else if ((header + f->numel + IDX_GZ_MAX_RATIO - 1) / IDX_GZ_MAX_RATIO > size) {
    return fail(f, NN_IO_ERR_FORMAT, err,
                "'%s': the header announces %" PRId64 " values, more than a gzip file of %" PRId64
                " bytes can hold (deflate inflates at most %d:1)",
                f->path, f->numel, size, IDX_GZ_MAX_RATIO);
  }
  return NN_IO_OK;
}

/* zlib's input buffer (its output buffer is twice that): 128 KiB reads
 * the datasets fast; a small file gets one its own size, so reading it
 * does not map and unmap 384 KB (the fuzz targets open thousands). */
static unsigned read_buffer_size(const char *path) {
  struct stat st;
  const off_t lo = 1 << 13, hi = 1 << 17;
  if (stat(path, &st) != 0 || st.st_size >= hi) return (unsigned)hi;
  return (unsigned)(st.st_size > lo ? st.st_size : lo);
}

nn_io_status nn_idx_open(nn_idx_file *f, const char *path, char *err) {
  memset(f, 0, sizeof *f);
  snprintf(f->path, sizeof f->path, "%s", path);
  errno = 0;
  f->gz = gzopen(path, "rb");
  if (!f->gz)
    return fail(f, NN_IO_ERR_SYS, err, "cannot open '%s': %s", path,
                errno ? strerror(errno) : "out of memory");
  gzbuffer(f->gz, read_buffer_size(path));
  unsigned char m[4];
  int64_t got = read_full(f->gz, m, 4);
  if (got < 0)
    return fail(f, NN_IO_ERR_SYS, err, "cannot read '%s': %s", f->path, gz_reason(f->gz));
  if (got < 4 || m[0] != 0 || m[1] != 0)
    return fail(f, NN_IO_ERR_FORMAT, err, "'%s': not an IDX file (bad magic %02x %02x)", f->path,
                got > 0 ? m[0] : 0, got > 1 ? m[1] : 0);
  f->type = m[2];
  f->ndim = m[3];
  if (f->type != NN_IDX_UBYTE)
    return fail(f, NN_IO_ERR_DTYPE, err,
                "'%s': element type 0x%02X (%s) is not supported (only 0x08, unsigned byte)",
                f->path, f->type, type_name(f->type));
  if (f->ndim < 1 || f->ndim > NN_MAX_DIMS)
    return fail(f, NN_IO_ERR_FORMAT, err, "'%s': %d dims in header (1 to %d supported)", f->path,
                f->ndim, NN_MAX_DIMS);
  nn_io_status s = read_dims(f, err);
  if (s) return s;
  return check_size(f, err);
}

/* out[i] = in[i], or in [0,1] when scale */
static void bytes_to_f32(float *out, const unsigned char *in, int64_t n, bool scale) {
  if (scale)
    for (int64_t i = 0; i < n; i++) out[i] = nn_unit_from_byte(in[i]);
  else
    for (int64_t i = 0; i < n; i++) out[i] = (float)in[i];
}

/* out[i] = in[i] */
static void bytes_to_i64(int64_t *out, const unsigned char *in, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    out[i] = in[i];
}

/* Reads the next n values into out; fails when the file ends first
 * (done: the values read before this call, for the message). */
static nn_io_status read_values(nn_idx_file *f, unsigned char *out, unsigned n, int64_t done,
                                char *err) {
  int64_t got = read_full(f->gz, out, n);
  if (got < 0) return fail(f, NN_IO_ERR_SYS, err, "cannot read '%s': %s", f->path, gz_reason(f->gz));
  if (got < n)
    return fail(f, NN_IO_ERR_FORMAT, err,
                "'%s': truncated: the header announces %" PRId64 " values, the file holds %" PRId64,
                f->path, f->numel, done + got);
  return NN_IO_OK;
}

/* After the last value: nothing may follow. */
static nn_io_status check_end(nn_idx_file *f, char *err) {
  unsigned char extra;
  if (read_full(f->gz, &extra, 1) != 0)
    return fail(f, NN_IO_ERR_FORMAT, err,
                "'%s': data continues after the %" PRId64 " values announced (the %s data "
                "exceeds the %" PRId64 " bytes its header declares)",
                f->path, f->numel, gzdirect(f->gz) ? "stored" : "decompressed",
                4 + 4 * (int64_t)f->ndim + f->numel);
  return NN_IO_OK;
}

nn_io_status nn_idx_read(nn_idx_file *f, nn_tensor *out, bool scale, char *err) {
  assert(f->gz && nn_tensor_numel(out) == f->numel);
  assert(out->dtype == NN_FLOAT32 || out->dtype == NN_INT64);
  unsigned char buf[IDX_CHUNK];
  for (int64_t done = 0; done < f->numel;) {
    unsigned n = (unsigned)(f->numel - done < IDX_CHUNK ? f->numel - done : IDX_CHUNK);
    nn_io_status st = read_values(f, buf, n, done, err);
    if (st) return st;
    if (out->dtype == NN_FLOAT32)
      bytes_to_f32((float *)nn_tensor_data(out) + done, buf, n, scale);
    else
      bytes_to_i64((int64_t *)nn_tensor_data(out) + done, buf, n);
    done += n;
  }
  return check_end(f, err);
}

nn_io_status nn_idx_read_bytes(nn_idx_file *f, unsigned char *out, int64_t count, char *err) {
  assert(f->gz && count >= 0 && count <= f->numel);
  for (int64_t done = 0; done < count;) {
    unsigned n = (unsigned)(count - done < IDX_CHUNK ? count - done : IDX_CHUNK);
    nn_io_status st = read_values(f, out + done, n, done, err);
    if (st) return st;
    done += n;
  }
  return count == f->numel ? check_end(f, err) : NN_IO_OK;
}

void nn_idx_close(nn_idx_file *f) {
  if (f->gz) gzclose(f->gz);
  f->gz = NULL;
}
