/*
 * NumPy .npy: the magic "\x93NUMPY", a version byte pair, a little-endian
 * header length (2 bytes in version 1.0, 4 in 2.0 and 3.0), then a Python
 * dict literal padded with spaces and ended by '\n':
 *   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * then the raw data. The dict is parsed by hand, accepting only the three
 * keys, string/bool/int-tuple values and nothing that would run code.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_io.h"
#include "nn_elementwise.h"

static const char npy_magic[6] = "\x93NUMPY";
/* NumPy refuses headers over 10000 bytes by default; be a little kinder. */
#define NPY_MAX_HEADER (1u << 20)
/* NumPy's own limit on dims; more than NN_MAX_DIMS is refused later. */
#define NPY_MAX_DIMS 64

/* ---- the header dict ---- */

typedef struct pycur {
  const char *p, *end;
} pycur;

static void skip_ws(pycur *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

/* Consumes ch (after whitespace) if it is next. */
static bool eat(pycur *c, char ch) {
  skip_ws(c);
  if (c->p >= c->end || *c->p != ch) return false;
  c->p++;
  return true;
}

static bool eat_word(pycur *c, const char *w) {
  skip_ws(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0) return false;
  c->p += n;
  return true;
}

static bool peek(pycur *c, char ch) {
  skip_ws(c);
  return c->p < c->end && *c->p == ch;
}

/* A quoted string without escapes, into out[cap]. */
static bool py_string(pycur *c, char *out, size_t cap) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return false;
  char quote = *c->p++;
  size_t n = 0;
  for (; c->p < c->end && *c->p != quote; c->p++) {
    if (*c->p == '\\' || n + 1 >= cap) return false;
    out[n++] = *c->p;
  }
  if (c->p >= c->end) return false;
  c->p++;
  out[n] = '\0';
  return true;
}

static bool py_bool(pycur *c, bool *out) {
  if (eat_word(c, "True"))
    *out = true;
  else if (eat_word(c, "False"))
    *out = false;
  else
    return false;
  return true;
}

/* A non-negative integer; old Python 2 files write "3L". */
static bool py_int(pycur *c, int64_t *out) {
  skip_ws(c);
  int64_t v = 0;
  const char *start = c->p;
  for (; c->p < c->end && *c->p >= '0' && *c->p <= '9'; c->p++) {
    if (v > (INT64_MAX - 9) / 10) return false;
    v = v * 10 + (*c->p - '0');
  }
  if (c->p == start) return false;
  if (c->p < c->end && *c->p == 'L') c->p++;
  *out = v;
  return true;
}

/* "()", "(5,)", "(2, 3)" or "(2, 3,)". */
static bool py_shape(pycur *c, int *ndim, int64_t *shape) {
  *ndim = 0;
  if (!eat(c, '(')) return false;
  if (eat(c, ')')) return true;
  for (;;) {
    if (*ndim == NPY_MAX_DIMS || !py_int(c, &shape[(*ndim)++])) return false;
    if (eat(c, ')')) return true;
    if (!eat(c, ',')) return false;
    if (eat(c, ')')) return true;
  }
}

static int malformed(const nn_npy_file *f, char *err, const char *what) {
  return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has a malformed .npy header: %s", f->path, what);
}

/* One "key: value" pair; seen collects a bit per key. */
static int parse_pair(nn_npy_file *f, pycur *c, char *descr, size_t cap, int *ndim,
                      int64_t *shape, unsigned *seen, char *err) {
  char key[32];
  if (!py_string(c, key, sizeof key)) return malformed(f, err, "expected a quoted key");
  if (!eat(c, ':')) return malformed(f, err, "expected ':' after a key");
  if (strcmp(key, "descr") == 0) {
    if (peek(c, '['))
      return nn_io_fail(err, NN_IO_ERR_DTYPE, "'%s' holds a structured array, which is not supported",
                        f->path);
    if (!py_string(c, descr, cap)) return malformed(f, err, "bad 'descr' value");
    *seen |= 1;
  } else if (strcmp(key, "fortran_order") == 0) {
    if (!py_bool(c, &f->fortran)) return malformed(f, err, "bad 'fortran_order' value");
    *seen |= 2;
  } else if (strcmp(key, "shape") == 0) {
    if (!py_shape(c, ndim, shape)) return malformed(f, err, "bad 'shape' value");
    *seen |= 4;
  } else {
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has an unexpected key '%s' in its .npy header",
                      f->path, key);
  }
  return NN_IO_OK;
}

static int parse_descr(nn_npy_file *f, const char *descr, char *err) {
  const char *p = descr;
  char order = (*p && strchr("<>|=", *p)) ? *p++ : '=';
  char kind = *p ? *p++ : '\0';
  char *end;
  long size = strtol(p, &end, 10);
  if (!kind || end == p || *end || size <= 0 || !nn_fdtype_from_npy(kind, (size_t)size, &f->fdtype))
    return nn_io_fail(err, NN_IO_ERR_DTYPE,
                      "'%s' has unsupported dtype '%s' (supported: float16/32/64, "
                      "int8/16/32/64, uint8/16/32, bool)",
                      f->path, descr);
  f->swap = order == '>' && size > 1;
  f->dtype = nn_fdtype_target(f->fdtype);
  return NN_IO_OK;
}

static int parse_dict(nn_npy_file *f, const char *buf, size_t n, char *err) {
  pycur c = {buf, buf + n};
  char descr[64];
  int ndim = 0;
  int64_t shape[NPY_MAX_DIMS];
  unsigned seen = 0;
  if (!eat(&c, '{')) return malformed(f, err, "expected '{'");
  while (!eat(&c, '}')) {
    int rc = parse_pair(f, &c, descr, sizeof descr, &ndim, shape, &seen, err);
    if (rc) return rc;
    if (!eat(&c, ',') && !peek(&c, '}')) return malformed(f, err, "expected ',' or '}'");
  }
  skip_ws(&c);
  if (c.p != c.end) return malformed(f, err, "junk after the dict");
  if (seen != 7) return malformed(f, err, "'descr', 'fortran_order' or 'shape' is missing");
  if (ndim > NN_MAX_DIMS)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has %d dims, at most %d supported", f->path,
                      ndim, NN_MAX_DIMS);
  f->ndim = ndim;
  memcpy(f->shape, shape, (size_t)ndim * sizeof *shape);
  return parse_descr(f, descr, err);
}

/* ---- the file ---- */

/* Magic and version; sets the header's length and start. */
static int read_preamble(nn_npy_file *f, uint64_t size, uint64_t *hlen, char *err) {
  unsigned char b[12] = {0};
  int rc = nn_io_read_at(f->fp, f->path, 0, b, size < 12 ? (size_t)size : 12, err);
  if (rc) return rc;
  if (size < sizeof npy_magic || memcmp(b, npy_magic, sizeof npy_magic) != 0)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' is not a .npy file (bad magic)", f->path);
  int major = b[6], minor = b[7];
  if (major < 1 || major > 3)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has unsupported .npy format version %d.%d",
                      f->path, major, minor);
  f->data_start = major == 1 ? 10 : 12;
  if (size < f->data_start)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' is truncated: %" PRIu64 " bytes, no header length",
                      f->path, size);
  *hlen = major == 1 ? (uint64_t)(b[8] | b[9] << 8)
                     : (uint64_t)b[8] | (uint64_t)b[9] << 8 | (uint64_t)b[10] << 16 | (uint64_t)b[11] << 24;
  if (*hlen > size - f->data_start)
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s' is truncated: header says %" PRIu64 " bytes, file has %" PRIu64,
                      f->path, *hlen, size);
  if (*hlen > NPY_MAX_HEADER)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': header of %" PRIu64 " bytes is too large",
                      f->path, *hlen);
  return NN_IO_OK;
}

static int read_header(nn_npy_file *f, uint64_t size, char *err) {
  uint64_t hlen = 0;
  int rc = read_preamble(f, size, &hlen, err);
  if (rc) return rc;
  char *buf = nn_alloc((size_t)hlen);
  if (!buf) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading '%s'", f->path);
  rc = nn_io_read_at(f->fp, f->path, f->data_start, buf, (size_t)hlen, err);
  if (!rc) rc = parse_dict(f, buf, (size_t)hlen, err);
  nn_free(buf, (size_t)hlen);
  f->data_start += hlen;
  return rc;
}

/* The data the shape needs must be in the file (trailing bytes are
 * ignored, as NumPy does). */
static int check_data(const nn_npy_file *f, uint64_t size, char *err) {
  uint64_t need = nn_fdtype_size(f->fdtype);
  bool overflow = false;
  for (int d = 0; d < f->ndim; d++)
    overflow |= __builtin_mul_overflow(need, (uint64_t)f->shape[d], &need);
  uint64_t have = size - f->data_start;
  size_t loaded; /* and a tensor of the shape must be possible: [0, 2^62, 2^62] is not */
  overflow |= !nn_shape_nbytes(f->ndim, f->shape, f->dtype, &loaded);
  if (!overflow && need <= have) return NN_IO_OK;
  if (overflow)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has a shape too large to load", f->path);
  return nn_io_fail(err, NN_IO_ERR_FORMAT,
                    "'%s' is truncated: the shape needs %" PRIu64 " bytes of data, file has %" PRIu64,
                    f->path, need, have);
}

int nn_npy_open(nn_npy_file *f, const char *path, char *err) {
  memset(f, 0, sizeof *f);
  f->path = path;
  uint64_t size;
  int rc = nn_io_open_read(&f->fp, &size, path, err);
  if (!rc) rc = read_header(f, size, err);
  if (!rc) rc = check_data(f, size, err);
  if (rc) nn_npy_close(f);
  return rc;
}

/* Column-major data is the row-major data of the reversed shape: read it
 * so, then copy through the transposed view into out. */
static int read_fortran(nn_npy_file *f, nn_tensor *out, char *err) {
  int n = f->ndim;
  int64_t rshape[NN_MAX_DIMS];
  for (int d = 0; d < n; d++) rshape[d] = f->shape[n - 1 - d];
  nn_tensor *tmp = nn_tensor_empty(f->dtype, n, rshape);
  if (!tmp) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading '%s'", f->path);
  int rc = nn_io_read_elements(f->fp, f->path, f->data_start, f->fdtype, f->swap,
                               nn_tensor_data(tmp), nn_tensor_numel(tmp), err);
  if (!rc) {
    nn_tensor view = *tmp; /* a header on the stack; only read by nn_copy */
    for (int d = 0; d < n; d++) {
      view.shape[d] = f->shape[d];
      view.stride[d] = tmp->stride[n - 1 - d];
    }
    nn_copy(out, &view);
  }
  nn_tensor_release(tmp);
  return rc;
}

int nn_npy_read(nn_npy_file *f, nn_tensor *out, char *err) {
  if (f->fortran && f->ndim > 1) return read_fortran(f, out, err);
  return nn_io_read_elements(f->fp, f->path, f->data_start, f->fdtype, f->swap,
                             nn_tensor_data(out), nn_tensor_numel(out), err);
}

void nn_npy_close(nn_npy_file *f) {
  if (f->fp) fclose(f->fp);
  memset(f, 0, sizeof *f);
}

/* ---- writing ---- */

/* Preamble and dict padded so the data starts 64-byte aligned, as NumPy
 * writes it. With at most NN_MAX_DIMS dims the header stays far below
 * 65535 bytes, so version 1.0 always suffices. */
static size_t build_header(char *buf, size_t cap, const nn_tensor *t) {
  static const char *const descrs[] = {"<f4", "<i8", "|b1"};
  _Static_assert(sizeof descrs / sizeof *descrs == NN_DTYPE_COUNT, "one descr per dtype");
  memcpy(buf, npy_magic, sizeof npy_magic);
  buf[6] = 1;
  buf[7] = 0;
  size_t n = 10;
  n += (size_t)snprintf(buf + n, cap - n, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                        descrs[t->dtype]);
  for (int d = 0; d < t->ndim; d++)
    n += (size_t)snprintf(buf + n, cap - n, d ? ", %" PRId64 : "%" PRId64, t->shape[d]);
  n += (size_t)snprintf(buf + n, cap - n, "%s), }", t->ndim == 1 ? "," : "");
  size_t total = (n + 1 + 63) & ~(size_t)63; /* + '\n' */
  memset(buf + n, ' ', total - 1 - n);
  buf[total - 1] = '\n';
  buf[8] = (char)((total - 10) & 0xff);
  buf[9] = (char)((total - 10) >> 8);
  return total;
}

int nn_npy_save(const char *path, const nn_tensor *t, char *err) {
  char header[384];
  size_t len = build_header(header, sizeof header, t);
  nn_io_writer w;
  int rc = nn_io_writer_open(&w, path, err);
  if (rc) return rc;
  nn_io_writer_put(&w, header, len);
  nn_io_writer_put_tensor(&w, t);
  return nn_io_writer_commit(&w, err);
}
