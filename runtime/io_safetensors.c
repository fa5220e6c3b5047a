/*
 * safetensors: an 8-byte little-endian header length N, N bytes of JSON
 *   {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
 *    "__metadata__": {"key": "value"}}
 * (padded with spaces), then the raw little-endian data; data_offsets count
 * from the first byte after the header. Loading never executes anything
 * from the file, and every number in the header is checked against the
 * file's size before memory is taken for it.
 */
#include <assert.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_cjson.h"
#include "nn_io.h"

/* The format's own ceiling on the header length. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_META_KEY "__metadata__"

static uint64_t load_u64le(const unsigned char *b) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | b[i];
  return v;
}

static void store_u64le(unsigned char *b, uint64_t v) {
  for (int i = 0; i < 8; i++, v >>= 8) b[i] = (unsigned char)v;
}

/* "[2,3]" into buf. */
static const char *shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
  size_t n = (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < ndim && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, i ? ",%" PRId64 : "%" PRId64, shape[i]);
  if (n < len) snprintf(buf + n, len - n, "]");
  return buf;
}

/* ---- reading the header ---- */

/* A JSON number that is an exact integer in [0, 2^53]. */
static bool json_u64(const cJSON *v, uint64_t *out) {
  if (!cJSON_IsNumber(v)) return false;
  double d = v->valuedouble;
  if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return false;
  *out = (uint64_t)d;
  return true;
}

static int parse_shape(const nn_st_file *f, const cJSON *shape, nn_st_entry *e,
                       char *err) {
  if (!cJSON_IsArray(shape))
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensor '%s' in '%s' has no shape array",
                      e->name, f->path);
  int n = cJSON_GetArraySize(shape);
  if (n > NN_MAX_DIMS)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensor '%s' in '%s' has %d dims, at most %d supported",
                      e->name, f->path, n, NN_MAX_DIMS);
  const cJSON *v;
  e->ndim = 0;
  cJSON_ArrayForEach(v, shape) {
    uint64_t size;
    if (!json_u64(v, &size))
      return nn_io_fail(err, NN_IO_ERR_FORMAT,
                        "tensor '%s' in '%s' has an invalid shape: sizes must be non-negative integers",
                        e->name, f->path);
    e->shape[e->ndim++] = (int64_t)size;
  }
  return NN_IO_OK;
}

static int parse_offsets(const nn_st_file *f, const cJSON *offsets, nn_st_entry *e,
                         char *err) {
  if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
      !json_u64(cJSON_GetArrayItem(offsets, 0), &e->begin) ||
      !json_u64(cJSON_GetArrayItem(offsets, 1), &e->end))
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "tensor '%s' in '%s' has invalid data_offsets: expected [begin, end]",
                      e->name, f->path);
  if (e->begin > e->end || e->end > f->data_size)
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "tensor '%s' in '%s' has data_offsets [%" PRIu64 ", %" PRIu64
                      "] out of range: the data section has %" PRIu64 " bytes",
                      e->name, f->path, e->begin, e->end, f->data_size);
  return NN_IO_OK;
}

/* The bytes e's shape needs; false when that overflows 64 bits. */
static bool shape_bytes(const nn_st_entry *e, uint64_t *nbytes) {
  *nbytes = nn_fdtype_size(e->fdtype);
  bool overflow = false;
  for (int d = 0; d < e->ndim; d++)
    overflow |= __builtin_mul_overflow(*nbytes, (uint64_t)e->shape[d], nbytes);
  return !overflow;
}

/* The memory ceiling: a tensor can never need more bytes than the file's
 * data section holds, so a header claiming a terabyte in a small file is
 * refused here, before anything is allocated for it. */
static int check_claim(const nn_st_file *f, const nn_st_entry *e, char *err) {
  uint64_t nbytes;
  size_t loaded;
  bool fits = shape_bytes(e, &nbytes);
  if (fits && nbytes <= f->data_size && nn_shape_nbytes(e->ndim, e->shape, e->dtype, &loaded))
    return NN_IO_OK;
  char buf[192], need[32];
  shape_str(buf, sizeof buf, e->ndim, e->shape);
  if (fits && nbytes <= f->data_size) /* empty, but [0, 2^40, 2^40] has no tensor */
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensor '%s' in '%s': shape %s is too large to load",
                      e->name, f->path, buf);
  if (fits) snprintf(need, sizeof need, "%" PRIu64, nbytes);
  else snprintf(need, sizeof need, "over 2^64");
  return nn_io_fail(err, NN_IO_ERR_FORMAT,
                    "tensor '%s' in '%s': shape %s of %s needs %s bytes, more than the file "
                    "holds (%" PRIu64 " bytes of data)",
                    e->name, f->path, buf, nn_fdtype_st_name(e->fdtype), need, f->data_size);
}

/* The shape's byte count must be exactly the range's length. */
static int check_size(const nn_st_file *f, const nn_st_entry *e, char *err) {
  uint64_t nbytes;
  if (shape_bytes(e, &nbytes) && nbytes == e->end - e->begin) return NN_IO_OK;
  char buf[192];
  shape_str(buf, sizeof buf, e->ndim, e->shape);
  return nn_io_fail(err, NN_IO_ERR_FORMAT,
                    "tensor '%s' in '%s': shape %s of %s does not match data_offsets [%" PRIu64
                    ", %" PRIu64 "] (%" PRIu64 " bytes)",
                    e->name, f->path, buf, nn_fdtype_st_name(e->fdtype), e->begin, e->end,
                    e->end - e->begin);
}

static int parse_entry(const nn_st_file *f, const cJSON *item, nn_st_entry *e, char *err) {
  e->name = item->string;
  if (!cJSON_IsObject(item))
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensor '%s' in '%s' is not described by an object",
                      e->name, f->path);
  const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(item, "dtype");
  if (!cJSON_IsString(dtype))
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensor '%s' in '%s' has no dtype", e->name, f->path);
  if (!nn_fdtype_from_st(dtype->valuestring, &e->fdtype))
    return nn_io_fail(err, NN_IO_ERR_DTYPE, "tensor '%s' in '%s' has unsupported dtype %s",
                      e->name, f->path, dtype->valuestring);
  e->dtype = nn_fdtype_target(e->fdtype);
  int rc = parse_shape(f, cJSON_GetObjectItemCaseSensitive(item, "shape"), e, err);
  if (!rc) rc = parse_offsets(f, cJSON_GetObjectItemCaseSensitive(item, "data_offsets"), e, err);
  if (!rc) rc = check_claim(f, e, err);
  if (!rc) rc = check_size(f, e, err);
  return rc;
}

static int parse_meta(nn_st_file *f, const cJSON *obj, char *err) {
  if (f->meta)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has two %s entries", f->path, ST_META_KEY);
  if (!cJSON_IsObject(obj))
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': %s is not an object", f->path, ST_META_KEY);
  int n = cJSON_GetArraySize(obj);
  f->meta = nn_alloc((size_t)n * sizeof *f->meta);
  if (!f->meta) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading '%s'", f->path);
  f->nmeta = n;
  int i = 0;
  const cJSON *v;
  cJSON_ArrayForEach(v, obj) {
    if (!cJSON_IsString(v))
      return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': %s value of '%s' is not a string",
                        f->path, ST_META_KEY, v->string);
    f->meta[i++] = (nn_st_meta){v->string, v->valuestring};
  }
  return NN_IO_OK;
}

static int parse_entries(nn_st_file *f, char *err) {
  const cJSON *root = f->json, *item;
  if (!cJSON_IsObject(root))
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': the header is not a JSON object", f->path);
  int n = cJSON_GetArraySize(root);
  f->entries = nn_alloc((size_t)n * sizeof *f->entries);
  if (!f->entries) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading '%s'", f->path);
  f->capacity = n; /* every key, metadata included */
  cJSON_ArrayForEach(item, root) {
    int rc = strcmp(item->string, ST_META_KEY) == 0
                 ? parse_meta(f, item, err)
                 : parse_entry(f, item, &f->entries[f->count++], err);
    if (rc) return rc;
  }
  return NN_IO_OK;
}

static int cmp_range(const void *pa, const void *pb) {
  const nn_st_entry *a = pa, *b = pb;
  if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
  return (a->end > b->end) - (a->end < b->end);
}

static int cmp_name(const void *pa, const void *pb) {
  return strcmp(((const nn_st_entry *)pa)->name, ((const nn_st_entry *)pb)->name);
}

/* No two non-empty ranges overlap, and no name appears twice. Leaves the
 * entries sorted by name. */
static int check_layout(nn_st_file *f, char *err) {
  nn_st_entry *e = f->entries;
  qsort(e, (size_t)f->count, sizeof *e, cmp_range);
  const nn_st_entry *prev = NULL;
  for (int i = 0; i < f->count; i++) {
    if (e[i].begin == e[i].end) continue;
    if (prev && e[i].begin < prev->end)
      return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensors '%s' and '%s' in '%s' overlap",
                        prev->name, e[i].name, f->path);
    prev = &e[i];
  }
  qsort(e, (size_t)f->count, sizeof *e, cmp_name);
  for (int i = 1; i < f->count; i++)
    if (strcmp(e[i - 1].name, e[i].name) == 0)
      return nn_io_fail(err, NN_IO_ERR_FORMAT, "tensor '%s' appears twice in '%s'", e[i].name,
                        f->path);
  return NN_IO_OK;
}

static int parse_json(nn_st_file *f, const char *buf, size_t n, char *err) {
  const char *end = NULL;
  bool nomem;
  f->json = nn_cjson_parse(buf, n, &end, &nomem);
  if (nomem) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading '%s'", f->path);
  if (!f->json)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has an invalid JSON header (error at byte %td of %zu)",
                      f->path, end ? end - buf : 0, n);
  for (; end < buf + n; end++)
    if (!strchr(" \t\r\n", *end) || *end == '\0')
      return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' has junk after its JSON header at byte %td",
                        f->path, end - buf);
  return NN_IO_OK;
}

/* What a file looks like whose header length header_len does not fit,
 * from its first n bytes h; NULL when it may be a truncated safetensors
 * file (a header length within the limit). */
static const char *not_safetensors_kind(const unsigned char *h, size_t n, uint64_t header_len) {
  if (n >= 8 && memcmp(h, "\x89PNG", 4) == 0) return "it is a PNG image (nn.image.load reads those)";
  if (n >= 6 && memcmp(h, "\x93NUMPY", 6) == 0) return "it is a NumPy .npy array (nn.load_npy reads those)";
  if (n >= 4 && memcmp(h, "PK\x03\x04", 4) == 0)
    return "it is a zip archive, as PyTorch's torch.save writes; save the tensors with "
           "safetensors.torch.save_file instead";
  if (n >= 2 && h[0] == 0x80 && h[1] <= 5)
    return "it is a Python pickle (an old torch.save file); save the tensors with "
           "safetensors.torch.save_file instead";
  if (n >= 2 && h[0] == 0x1f && h[1] == 0x8b) return "it is gzip-compressed";
  if (header_len <= ST_MAX_HEADER) return NULL;
  int text = n > 0;
  for (size_t i = 0; i < n; i++)
    if (h[i] < 9 || (h[i] > 13 && h[i] < 32)) text = 0;
  if (text) return "it starts with text; a safetensors file starts with an 8-byte header length and a JSON header";
  return "its first bytes are neither a header length nor a JSON header";
}

static int read_header(nn_st_file *f, uint64_t size, char *err) {
  unsigned char b[8];
  if (size < 8)
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s' is truncated: %" PRIu64 " bytes, too short for a safetensors header",
                      f->path, size);
  unsigned char head[16] = {0};
  size_t have = size < sizeof head ? (size_t)size : sizeof head;
  int rc = nn_io_read_at(f->fp, f->path, 0, head, have, err);
  if (rc) return rc;
  memcpy(b, head, 8);
  uint64_t n = load_u64le(b);
  /* A header that does not fit and does not start a JSON object is most
   * likely no safetensors file at all: say what it is instead of quoting
   * an absurd header length. */
  if (n > size - 8 && size > 8 && head[8] != '{') {
    const char *kind = not_safetensors_kind(head, have, n);
    if (kind != NULL)
      return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s' is not a safetensors file: %s", f->path, kind);
  }
  if (n > size - 8)
    return nn_io_fail(err, NN_IO_ERR_FORMAT,
                      "'%s' is truncated: header says %" PRIu64 " bytes, file has %" PRIu64,
                      f->path, n, size);
  if (n > ST_MAX_HEADER)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "'%s': header of %" PRIu64 " bytes exceeds the 100 MB limit",
                      f->path, n);
  f->data_start = 8 + n;
  f->data_size = size - 8 - n;
  char *buf = nn_alloc((size_t)n + 1);
  if (!buf) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory reading the header of '%s'", f->path);
  rc = nn_io_read_at(f->fp, f->path, 8, buf, (size_t)n, err);
  buf[n] = '\0';
  if (!rc) rc = parse_json(f, buf, (size_t)n, err);
  nn_free(buf, (size_t)n + 1);
  return rc;
}

int nn_st_open(nn_st_file *f, const char *path, char *err) {
  memset(f, 0, sizeof *f);
  f->path = path;
  uint64_t size;
  int rc = nn_io_open_read(&f->fp, &size, path, err);
  if (!rc) rc = read_header(f, size, err);
  if (!rc) rc = parse_entries(f, err);
  if (!rc) rc = check_layout(f, err);
  if (rc) nn_st_close(f);
  return rc;
}

int nn_st_read(nn_st_file *f, int i, nn_tensor *out, char *err) {
  const nn_st_entry *e = &f->entries[i];
  assert(out->dtype == e->dtype && out->ndim == e->ndim && nn_tensor_is_contiguous(out));
  return nn_io_read_elements(f->fp, f->path, f->data_start + e->begin, e->fdtype, false,
                             nn_tensor_data(out), nn_tensor_numel(out), err);
}

void nn_st_close(nn_st_file *f) {
  if (f->fp) fclose(f->fp);
  cJSON_Delete(f->json);
  nn_free(f->entries, (size_t)f->capacity * sizeof *f->entries);
  nn_free(f->meta, (size_t)f->nmeta * sizeof *f->meta);
  memset(f, 0, sizeof *f);
}

/* ---- writing ---- */

/* The header is emitted twice: once into a counting sink (buf NULL) to
 * learn its length, then into a buffer of that length. */
typedef struct sink {
  char *buf;
  size_t len;
} sink;

static void put(sink *s, const char *p, size_t n) {
  if (s->buf) memcpy(s->buf + s->len, p, n);
  s->len += n;
}

static void put_cstr(sink *s, const char *p) { put(s, p, strlen(p)); }

static void put_u64(sink *s, uint64_t v) {
  char b[24];
  put(s, b, (size_t)snprintf(b, sizeof b, "%" PRIu64, v));
}

/* A JSON string literal; bytes >= 0x80 pass through (UTF-8). */
static void put_json_str(sink *s, const char *str) {
  put(s, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
    char esc[8];
    if (*p == '"' || *p == '\\')
      put(s, (char[]){'\\', (char)*p}, 2);
    else if (*p < 0x20)
      put(s, esc, (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p));
    else
      put(s, (const char *)p, 1);
  }
  put(s, "\"", 1);
}

static void put_entry(sink *s, const nn_st_item *it) {
  const nn_tensor *t = it->tensor;
  put_json_str(s, it->name);
  put_cstr(s, ":{\"dtype\":\"");
  put_cstr(s, nn_fdtype_st_name(nn_fdtype_of(t->dtype)));
  put_cstr(s, "\",\"shape\":[");
  for (int d = 0; d < t->ndim; d++) {
    if (d) put(s, ",", 1);
    put_u64(s, (uint64_t)t->shape[d]);
  }
  put_cstr(s, "],\"data_offsets\":[");
  put_u64(s, it->begin);
  put(s, ",", 1);
  put_u64(s, it->end);
  put_cstr(s, "]}");
}

/* Metadata first (as the reference implementation), then the tensors in
 * name order. */
static void put_header(sink *s, const nn_st_item *items, int count,
                       const nn_st_meta *meta, int nmeta) {
  put(s, "{", 1);
  if (nmeta > 0) {
    put_cstr(s, "\"" ST_META_KEY "\":{");
    for (int i = 0; i < nmeta; i++) {
      if (i) put(s, ",", 1);
      put_json_str(s, meta[i].key);
      put(s, ":", 1);
      put_json_str(s, meta[i].value);
    }
    put(s, "}", 1);
  }
  for (int i = 0; i < count; i++) {
    if (i || nmeta > 0) put(s, ",", 1);
    put_entry(s, &items[i]);
  }
  put(s, "}", 1);
}

static int cmp_item_name(const void *pa, const void *pb) {
  return strcmp(((const nn_st_item *)pa)->name, ((const nn_st_item *)pb)->name);
}

/* Sorts items by name and rejects duplicate or reserved names. Metadata
 * tables are small (a checkpoint's few fields): a quadratic check will do. */
static int check_items(nn_st_item *items, int count, const nn_st_meta *meta, int nmeta,
                       char *err) {
  qsort(items, (size_t)count, sizeof *items, cmp_item_name);
  for (int i = 0; i < count; i++) {
    if (strcmp(items[i].name, ST_META_KEY) == 0)
      return nn_io_fail(err, NN_IO_ERR_ARG, "'%s' is reserved and cannot name a tensor", ST_META_KEY);
    if (i > 0 && strcmp(items[i - 1].name, items[i].name) == 0)
      return nn_io_fail(err, NN_IO_ERR_ARG, "tensor name '%s' is given twice", items[i].name);
  }
  for (int i = 0; i < nmeta; i++)
    for (int j = 0; j < i; j++)
      if (strcmp(meta[i].key, meta[j].key) == 0)
        return nn_io_fail(err, NN_IO_ERR_ARG, "metadata key '%s' is given twice", meta[i].key);
  return NN_IO_OK;
}

/* Data layout: 8-byte elements first, then 4, 2 and 1, each group in name
 * order, with no gaps; since the header is padded to a multiple of 8,
 * every tensor starts aligned to its element size. */
static bool in_group(const nn_st_item *it, size_t elsize) {
  return nn_dtype_size(it->tensor->dtype) == elsize;
}

static void assign_offsets(nn_st_item *items, int count) {
  uint64_t off = 0;
  for (size_t es = 8; es >= 1; es /= 2)
    for (int i = 0; i < count; i++) {
      if (!in_group(&items[i], es)) continue;
      items[i].begin = off;
      off += (uint64_t)nn_tensor_numel(items[i].tensor) * es;
      items[i].end = off;
    }
}

/* The padded header, nn_alloc'd; *len is its size, a multiple of 8. */
static char *build_header(const nn_st_item *items, int count, const nn_st_meta *meta,
                          int nmeta, size_t *len) {
  sink s = {NULL, 0};
  put_header(&s, items, count, meta, nmeta);
  *len = (s.len + 7) & ~(size_t)7;
  s.buf = nn_alloc(*len);
  if (!s.buf) return NULL;
  memset(s.buf, ' ', *len);
  s.len = 0;
  put_header(&s, items, count, meta, nmeta);
  return s.buf;
}

int nn_st_save(const char *path, nn_st_item *items, int count,
               const nn_st_meta *meta, int nmeta, char *err) {
  int rc = check_items(items, count, meta, nmeta, err);
  if (rc) return rc;
  assign_offsets(items, count);
  size_t hlen;
  char *header = build_header(items, count, meta, nmeta, &hlen);
  if (!header) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory writing '%s'", path);
  nn_io_writer w;
  rc = nn_io_writer_open(&w, path, err);
  if (!rc) {
    unsigned char b[8];
    store_u64le(b, hlen);
    nn_io_writer_put(&w, b, 8);
    nn_io_writer_put(&w, header, hlen);
  }
  nn_free(header, hlen);
  if (rc) return rc;
  for (size_t es = 8; es >= 1; es /= 2)
    for (int i = 0; i < count; i++)
      if (in_group(&items[i], es)) nn_io_writer_put_tensor(&w, items[i].tensor);
  return nn_io_writer_commit(&w, err);
}
