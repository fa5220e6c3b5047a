/* Tensor files: safetensors and .npy round trips, the committed fixtures
 * (tests/fixtures/gen_io_fixtures.py), malformed files, failed saves, and
 * allocation failures on every path. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "nn_alloc.h"
#include "nn_io.h"

/* ---- helpers ---- */

static nn_tensor *new_f32(int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  float *p = nn_tensor_data(t);
  for (int64_t i = 0; i < nn_tensor_numel(t); i++) p[i] = (float)i * 0.5f - 1.0f;
  return t;
}

/* Entry `name` of an open reader as a new tensor (NULL if absent or failed). */
static nn_tensor *st_get(nn_st_file *f, const char *name) {
  for (int i = 0; i < f->count; i++) {
    if (strcmp(f->entries[i].name, name) != 0) continue;
    nn_tensor *t = nn_tensor_empty(f->entries[i].dtype, f->entries[i].ndim, f->entries[i].shape);
    char err[NN_IO_ERRLEN];
    if (!t || nn_st_read(f, i, t, err)) {
      nn_tensor_release(t);
      return NULL;
    }
    return t;
  }
  return NULL;
}

/* A whole .npy file as a new tensor; rc and err as nn_npy_open/read. */
static nn_tensor *npy_load(const char *path, int *rc, char *err) {
  nn_npy_file f;
  *rc = nn_npy_open(&f, path, err);
  if (*rc) return NULL;
  nn_tensor *t = nn_tensor_empty(f.dtype, f.ndim, f.shape);
  *rc = t ? nn_npy_read(&f, t, err) : NN_IO_ERR_NOMEM;
  nn_npy_close(&f);
  if (*rc) {
    nn_tensor_release(t);
    return NULL;
  }
  return t;
}

static const float *f32(const nn_tensor *t) { return nn_tensor_data(t); }
static const int64_t *i64(const nn_tensor *t) { return nn_tensor_data(t); }
static const bool *b8(const nn_tensor *t) { return nn_tensor_data(t); }

/* ---- conversions ---- */

static void test_half_and_bfloat(void) {
  uint16_t h[] = {0x3c00, 0x7bff, 0x0001, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x3555, 0xc100};
  float out[9];
  nn_fdtype_convert(out, (unsigned char *)h, NN_FDTYPE_F16, 9, false);
  CHECK(out[0] == 1.0f && out[1] == 65504.0f && out[2] == 0x1p-24f);
  CHECK(out[3] == 0.0f && signbit(out[3]));
  CHECK(isinf(out[4]) && out[4] > 0 && isinf(out[5]) && out[5] < 0 && isnan(out[6]));
  CHECK(out[7] == 0.333251953125f && out[8] == -2.5f);
  uint16_t bf[] = {0x3f80, 0xc000, 0x7f80};
  nn_fdtype_convert(out, (unsigned char *)bf, NN_FDTYPE_BF16, 3, false);
  CHECK(out[0] == 1.0f && out[1] == -2.0f && isinf(out[2]));
  unsigned char be[] = {0xff, 0xff, 0xff, 0xfe, 0x00, 0x00, 0x01, 0x00}; /* >i4: -2, 256 */
  int64_t iv[2];
  nn_fdtype_convert(iv, be, NN_FDTYPE_I32, 2, true);
  CHECK(iv[0] == -2 && iv[1] == 256);
}

/* ---- safetensors ---- */

static void test_st_roundtrip(void) {
  uint64_t before = live();
  int64_t s34[] = {3, 4}, s5[] = {5}, s22[] = {2, 2}, s03[] = {0, 3};
  nn_tensor *a = new_f32(2, s34);
  nn_tensor *b = nn_tensor_empty(NN_INT64, 1, s5);
  int64_t bv[] = {INT64_MIN, -1, 0, 1, INT64_MAX};
  memcpy(nn_tensor_data(b), bv, sizeof bv);
  nn_tensor *c = nn_tensor_empty(NN_BOOL, 2, s22);
  bool cv[] = {true, false, false, true};
  memcpy(nn_tensor_data(c), cv, sizeof cv);
  nn_tensor *d = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  *(float *)nn_tensor_data(d) = 7.25f;
  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 2, s03);
  nn_st_item items[] = {{"weight", a, 0, 0}, {"labels", b, 0, 0}, {"mask", c, 0, 0},
                        {"scalar", d, 0, 0}, {"empty", e, 0, 0}};
  nn_st_meta meta[] = {{"epoch", "3"}, {"quote\"\\\n", "caf\xc3\xa9"}};
  char err[NN_IO_ERRLEN];
  int rc = nn_st_save(tmp("rt.safetensors"), items, 5, meta, 2, err);
  CHECK(rc == NN_IO_OK);

  nn_st_file f;
  rc = nn_st_open(&f, tmp("rt.safetensors"), err);
  CHECK(rc == NN_IO_OK);
  if (rc == NN_IO_OK) {
    CHECK(f.count == 5 && f.nmeta == 2);
    CHECK(strcmp(f.entries[0].name, "empty") == 0 && strcmp(f.entries[4].name, "weight") == 0);
    CHECK(strcmp(f.meta[0].key, "epoch") == 0 && strcmp(f.meta[0].value, "3") == 0);
    CHECK(strcmp(f.meta[1].key, "quote\"\\\n") == 0 && strcmp(f.meta[1].value, "caf\xc3\xa9") == 0);
    /* Aligned, gapless layout: what other safetensors readers demand. */
    CHECK(f.data_start % 8 == 0);
    uint64_t total = 0;
    for (int i = 0; i < f.count; i++) {
      CHECK(f.entries[i].begin % nn_fdtype_size(f.entries[i].fdtype) == 0);
      total += f.entries[i].end - f.entries[i].begin;
    }
    CHECK(total == f.data_size);
    nn_tensor *la = st_get(&f, "weight"), *lb = st_get(&f, "labels"), *lc = st_get(&f, "mask");
    nn_tensor *ld = st_get(&f, "scalar"), *le = st_get(&f, "empty");
    CHECK(la && la->dtype == NN_FLOAT32 && la->ndim == 2 && la->shape[0] == 3 && la->shape[1] == 4);
    CHECK(la && memcmp(f32(la), f32(a), 12 * sizeof(float)) == 0);
    CHECK(lb && lb->dtype == NN_INT64 && memcmp(i64(lb), bv, sizeof bv) == 0);
    CHECK(lc && lc->dtype == NN_BOOL && memcmp(b8(lc), cv, sizeof cv) == 0);
    CHECK(ld && ld->ndim == 0 && f32(ld)[0] == 7.25f);
    CHECK(le && le->ndim == 2 && le->shape[0] == 0 && le->shape[1] == 3);
    nn_tensor *all[] = {la, lb, lc, ld, le};
    for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
    nn_st_close(&f);
  }
  nn_tensor *mine[] = {a, b, c, d, e};
  for (int i = 0; i < 5; i++) nn_tensor_release(mine[i]);
  CHECK(live() == before);
}

/* Views with strides and offsets are saved as their row-major values. */
static void test_st_noncontiguous(void) {
  int64_t s34[] = {3, 4};
  nn_tensor *base = new_f32(2, s34);
  nn_tensor *tr = nn_tensor_view(base, 2, (int64_t[]){4, 3}, (int64_t[]){1, 4}, 0);
  nn_tensor *col = nn_tensor_view(base, 1, (int64_t[]){3}, (int64_t[]){4}, 2); /* base[:, 2] */
  nn_st_item items[] = {{"tr", tr, 0, 0}, {"col", col, 0, 0}};
  char err[NN_IO_ERRLEN];
  CHECK(nn_st_save(tmp("nc.safetensors"), items, 2, NULL, 0, err) == NN_IO_OK);
  nn_st_file f;
  CHECK(nn_st_open(&f, tmp("nc.safetensors"), err) == NN_IO_OK);
  nn_tensor *ltr = st_get(&f, "tr"), *lcol = st_get(&f, "col");
  CHECK(ltr && lcol);
  if (ltr && lcol) {
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 3; j++) CHECK(f32(ltr)[i * 3 + j] == f32(base)[j * 4 + i]);
    for (int j = 0; j < 3; j++) CHECK(f32(lcol)[j] == f32(base)[j * 4 + 2]);
  }
  nn_tensor_release(ltr);
  nn_tensor_release(lcol);
  nn_st_close(&f);
  nn_tensor_release(tr);
  nn_tensor_release(col);
  nn_tensor_release(base);
}

static void test_st_big(void) {
  int64_t shape[] = {1000, 1000};
  nn_tensor *a = new_f32(2, shape);
  nn_st_item items[] = {{"big", a, 0, 0}};
  char err[NN_IO_ERRLEN];
  CHECK(nn_st_save(tmp("big.safetensors"), items, 1, NULL, 0, err) == NN_IO_OK);
  nn_st_file f;
  CHECK(nn_st_open(&f, tmp("big.safetensors"), err) == NN_IO_OK);
  nn_tensor *b = st_get(&f, "big");
  CHECK(b && memcmp(f32(b), f32(a), 1000000 * sizeof(float)) == 0);
  nn_tensor_release(b);
  nn_st_close(&f);
  nn_tensor_release(a);
}

/* Written by the generator: every stored type converts as documented. */
static void test_st_fixture_types(void) {
  nn_st_file f;
  char err[NN_IO_ERRLEN];
  int rc = nn_st_open(&f, fixture("types.safetensors"), err);
  CHECK(rc == NN_IO_OK);
  if (rc) {
    fprintf(stderr, "  %s\n", err);
    return;
  }
  CHECK(f.count == 14 && f.nmeta == 2);
  CHECK(strcmp(f.meta[0].key, "format") == 0 && strcmp(f.meta[0].value, "pt") == 0);
  CHECK(strcmp(f.meta[1].value, "say \"hi\"") == 0);
  nn_tensor *t = st_get(&f, "f32");
  CHECK(t && f32(t)[0] == 1.5f && f32(t)[1] == -2.0f && f32(t)[2] == 0.25f && f32(t)[3] == 3.0f);
  nn_tensor_release(t);
  t = st_get(&f, "f64");
  CHECK(t && t->dtype == NN_FLOAT32 && t->shape[0] == 2 && t->shape[1] == 3);
  for (int i = 0; t && i < 6; i++) CHECK(f32(t)[i] == (float)(i / 3.0 - 1));
  nn_tensor_release(t);
  t = st_get(&f, "f16");
  CHECK(t && f32(t)[0] == 0 && f32(t)[1] == 1 && f32(t)[2] == -2.5f && f32(t)[3] == 65504);
  CHECK(t && isinf(f32(t)[4]) && f32(t)[5] < 0 && isinf(f32(t)[5]) && isnan(f32(t)[6]));
  CHECK(t && f32(t)[7] == 0x1p-24f && f32(t)[8] == 0 && signbit(f32(t)[8]));
  CHECK(t && f32(t)[9] == 0.0999755859375f);
  nn_tensor_release(t);
  t = st_get(&f, "bf16");
  CHECK(t && f32(t)[0] == 1 && f32(t)[1] == -2 && f32(t)[2] == 3.140625f);
  CHECK(t && f32(t)[3] == 0x1p100f && f32(t)[4] == -0x1p-100f && isinf(f32(t)[5]));
  CHECK(t && f32(t)[6] == 0.10009765625f);
  nn_tensor_release(t);
  t = st_get(&f, "i64");
  CHECK(t && i64(t)[0] == INT64_MIN && i64(t)[1] == INT64_MAX && i64(t)[3] == -1);
  nn_tensor_release(t);
  t = st_get(&f, "i32");
  CHECK(t && t->dtype == NN_INT64 && i64(t)[0] == INT32_MIN && i64(t)[1] == INT32_MAX && i64(t)[3] == -7);
  nn_tensor_release(t);
  t = st_get(&f, "i16");
  CHECK(t && i64(t)[0] == -32768 && i64(t)[1] == 32767);
  nn_tensor_release(t);
  t = st_get(&f, "i8");
  CHECK(t && i64(t)[0] == -128 && i64(t)[1] == 127 && i64(t)[2] == 5);
  nn_tensor_release(t);
  t = st_get(&f, "u8");
  CHECK(t && t->dtype == NN_INT64 && i64(t)[0] == 0 && i64(t)[1] == 255 && i64(t)[2] == 7);
  nn_tensor_release(t);
  t = st_get(&f, "u16");
  CHECK(t && i64(t)[1] == 65535);
  nn_tensor_release(t);
  t = st_get(&f, "u32");
  CHECK(t && i64(t)[1] == 4294967295LL);
  nn_tensor_release(t);
  t = st_get(&f, "bool");
  CHECK(t && t->dtype == NN_BOOL && b8(t)[0] && !b8(t)[1] && b8(t)[2]);
  nn_tensor_release(t);
  t = st_get(&f, "scalar");
  CHECK(t && t->ndim == 0 && f32(t)[0] == 42);
  nn_tensor_release(t);
  t = st_get(&f, "empty");
  CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 3);
  nn_tensor_release(t);
  nn_st_close(&f);
}

static void test_st_unsupported_dtypes(void) {
  nn_st_file f;
  char err[NN_IO_ERRLEN];
  EXPECT_ERR(nn_st_open(&f, fixture("u64.safetensors"), err), NN_IO_ERR_DTYPE, err, "'w'", "U64");
  EXPECT_ERR(nn_st_open(&f, fixture("f8.safetensors"), err), NN_IO_ERR_DTYPE, err, "'w'", "F8_E4M3");
}

/* A safetensors file whose header is json, followed by data_bytes zeros. */
static void write_st(const char *name, const char *json, size_t data_bytes) {
  size_t n = strlen(json);
  unsigned char *b = calloc(8 + n + data_bytes, 1);
  for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)n >> (8 * i));
  memcpy(b + 8, json, n);
  write_bytes(tmp(name), b, 8 + n + data_bytes);
  free(b);
}

static int st_open_err(const char *name, char *err) {
  nn_st_file f;
  int rc = nn_st_open(&f, tmp(name), err);
  if (rc == NN_IO_OK) nn_st_close(&f);
  return rc;
}

static void test_st_bad_files(void) {
  uint64_t before = live();
  char err[NN_IO_ERRLEN];
  nn_st_file f;
  EXPECT_ERR(nn_st_open(&f, tmp("missing.safetensors"), err), NN_IO_ERR_SYS, err,
             "missing.safetensors", "No such file");
  EXPECT_ERR(nn_st_open(&f, tmpdir, err), NN_IO_ERR_SYS, err, "directory", NULL);
  write_bytes(tmp("empty.safetensors"), "", 0);
  EXPECT_ERR(st_open_err("empty.safetensors", err), NN_IO_ERR_FORMAT, err, "truncated", NULL);
  write_bytes(tmp("short.safetensors"), "\x05\0\0", 3);
  EXPECT_ERR(st_open_err("short.safetensors", err), NN_IO_ERR_FORMAT, err, "truncated", NULL);
  unsigned char big[100] = {0x00, 0x10}; /* header says 4096 bytes, file has 100 */
  write_bytes(tmp("hdr.safetensors"), big, sizeof big);
  EXPECT_ERR(st_open_err("hdr.safetensors", err), NN_IO_ERR_FORMAT, err, "4096", "100");
  unsigned char huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
  write_bytes(tmp("huge.safetensors"), huge, sizeof huge);
  EXPECT_ERR(st_open_err("huge.safetensors", err), NN_IO_ERR_FORMAT, err, "truncated", "9223372036854775808");
  /* Files of other kinds say so instead of quoting an absurd header length. */
  write_bytes(tmp("notes.txt"), "hello, these are notes\n", 23);
  EXPECT_ERR(st_open_err("notes.txt", err), NN_IO_ERR_FORMAT, err, "is not a safetensors file", "text");
  write_bytes(tmp("img.png"), "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
  EXPECT_ERR(st_open_err("img.png", err), NN_IO_ERR_FORMAT, err, "is not a safetensors file", "PNG");
  write_bytes(tmp("model.pt"), "PK\x03\x04\x14\0\0\0\x08\0archive", 17);
  EXPECT_ERR(st_open_err("model.pt", err), NN_IO_ERR_FORMAT, err, "zip archive", "safetensors.torch");

  static const struct {
    const char *json;
    size_t data;
    int code;
    const char *a, *b;
  } cases[] = {
      {"{\"a\": ", 0, NN_IO_ERR_FORMAT, "invalid JSON", NULL},
      {"[1, 2]", 0, NN_IO_ERR_FORMAT, "not a JSON object", NULL},
      {"{} x", 0, NN_IO_ERR_FORMAT, "junk", NULL},
      {"{\"w\": 3}", 0, NN_IO_ERR_FORMAT, "'w'", "object"},
      {"{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4, NN_IO_ERR_FORMAT, "'w'", "no dtype"},
      {"{\"w\": {\"dtype\": \"X99\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4, NN_IO_ERR_DTYPE, "'w'", "X99"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0, 4]}}", 4, NN_IO_ERR_FORMAT, "'w'", "shape"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4, NN_IO_ERR_FORMAT, "'w'", "shape"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": 4, \"data_offsets\": [0, 4]}}", 4, NN_IO_ERR_FORMAT, "'w'", "shape"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}", 4, NN_IO_ERR_FORMAT, "9 dims", NULL},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [2, 3], \"data_offsets\": [0, 20]}}", 24, NN_IO_ERR_FORMAT, "[2,3]", "20 bytes"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1099511627776, 1099511627776], \"data_offsets\": [0, 0]}}", 0, NN_IO_ERR_FORMAT, "'w'", "over 2^64 bytes"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [100], \"data_offsets\": [0, 400]}}", 24, NN_IO_ERR_FORMAT, "out of range", "24 bytes"},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 4]}}", 24, NN_IO_ERR_FORMAT, "out of range", NULL},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 24, NN_IO_ERR_FORMAT, "data_offsets", NULL},
      {"{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4, 0]}}", 24, NN_IO_ERR_FORMAT, "data_offsets", NULL},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 16]},"
       " \"b\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [8, 24]}}", 24, NN_IO_ERR_FORMAT, "overlap", "'a'"},
      {"{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
       " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8, NN_IO_ERR_FORMAT, "twice", "'a'"},
      {"{\"__metadata__\": {\"k\": 3}}", 0, NN_IO_ERR_FORMAT, "'k'", "string"},
      {"{\"__metadata__\": [1]}", 0, NN_IO_ERR_FORMAT, "__metadata__", "object"},
      {"{\"__metadata__\": {}, \"__metadata__\": {}}", 0, NN_IO_ERR_FORMAT, "two", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    write_st("bad.safetensors", cases[i].json, cases[i].data);
    int rc = st_open_err("bad.safetensors", err);
    EXPECT_ERR(rc, cases[i].code, err, cases[i].a, cases[i].b);
    if (rc) EXPECT_ERR(rc, cases[i].code, err, "bad.safetensors", NULL);
  }
  /* Header padded with spaces and ranges out of order are fine. */
  write_st("ok.safetensors",
           "{\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]},"
           " \"a\": {\"dtype\": \"I8\", \"shape\": [2, 2], \"data_offsets\": [0, 4]}}    ",
           8);
  CHECK(st_open_err("ok.safetensors", err) == NN_IO_OK);
  CHECK(live() == before);
}

static void test_st_save_errors(void) {
  int64_t s2[] = {2};
  nn_tensor *a = new_f32(1, s2);
  char err[NN_IO_ERRLEN];
  nn_st_item one[] = {{"a", a, 0, 0}};
  int files = count_files(tmpdir);
  EXPECT_ERR(nn_st_save(tmp("nodir/x.safetensors"), one, 1, NULL, 0, err), NN_IO_ERR_SYS, err,
             "nodir/x.safetensors", "No such file");
  mkdir(tmp("adir"), 0700);
  EXPECT_ERR(nn_st_save(tmp("adir"), one, 1, NULL, 0, err), NN_IO_ERR_SYS, err, "adir", NULL);
  CHECK(count_files(tmpdir) == files + 1); /* adir only: no temp file left */

  /* A failed save leaves the existing file as it was. */
  CHECK(nn_st_save(tmp("keep.safetensors"), one, 1, NULL, 0, err) == NN_IO_OK);
  size_t n0, n1;
  unsigned char *before = read_bytes(tmp("keep.safetensors"), &n0);
  nn_st_item dup[] = {{"a", a, 0, 0}, {"a", a, 0, 0}};
  EXPECT_ERR(nn_st_save(tmp("keep.safetensors"), dup, 2, NULL, 0, err), NN_IO_ERR_ARG, err, "'a'", "twice");
  nn_st_item reserved[] = {{"__metadata__", a, 0, 0}};
  EXPECT_ERR(nn_st_save(tmp("keep.safetensors"), reserved, 1, NULL, 0, err), NN_IO_ERR_ARG, err,
             "reserved", NULL);
  nn_st_meta meta[] = {{"k", "1"}, {"k", "2"}};
  EXPECT_ERR(nn_st_save(tmp("keep.safetensors"), one, 1, meta, 2, err), NN_IO_ERR_ARG, err, "'k'", NULL);
  unsigned char *after = read_bytes(tmp("keep.safetensors"), &n1);
  CHECK(n0 == n1 && memcmp(before, after, n0) == 0);
  free(before);
  free(after);
  CHECK(count_files(tmpdir) == files + 2);
  nn_tensor_release(a);
}

/* ---- npy ---- */

static void check_npy_values(const char *name, nn_dtype dtype, const double *want) {
  int rc;
  char err[NN_IO_ERRLEN];
  nn_tensor *t = npy_load(fixture(name), &rc, err);
  CHECK(rc == NN_IO_OK);
  if (!t) {
    fprintf(stderr, "  %s: %s\n", name, err);
    return;
  }
  CHECK(t->dtype == dtype && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 3);
  for (int i = 0; i < 6; i++) {
    double v = dtype == NN_FLOAT32 ? f32(t)[i] : dtype == NN_INT64 ? (double)i64(t)[i] : b8(t)[i];
    if (v != want[i]) fprintf(stderr, "  %s[%d] = %.17g, want %.17g\n", name, i, v, want[i]);
    CHECK(v == want[i]);
  }
  nn_tensor_release(t);
}

static void test_npy_fixtures(void) {
  double base[] = {-2, -1, 0, 1, 2, 3}, quarter[] = {-0.5, -0.25, 0, 0.25, 0.5, 0.75};
  check_npy_values("f4.npy", NN_FLOAT32, base);
  check_npy_values("f4_be.npy", NN_FLOAT32, base);
  check_npy_values("f2.npy", NN_FLOAT32, base);
  check_npy_values("f8.npy", NN_FLOAT32, quarter);
  check_npy_values("i1.npy", NN_INT64, (double[]){-128, -1, 0, 1, 2, 127});
  check_npy_values("i2.npy", NN_INT64, (double[]){-32768, -1, 0, 1, 2, 32767});
  check_npy_values("i4.npy", NN_INT64, (double[]){INT32_MIN, -1, 0, 1, 2, INT32_MAX});
  check_npy_values("i4_be.npy", NN_INT64, (double[]){INT32_MIN, -1, 0, 1, 2, INT32_MAX});
  check_npy_values("i8.npy", NN_INT64, (double[]){(double)INT64_MIN, -1, 0, 1, 2, (double)INT64_MAX});
  check_npy_values("u1.npy", NN_INT64, (double[]){0, 1, 2, 3, 4, 255});
  check_npy_values("u2.npy", NN_INT64, (double[]){0, 1, 2, 3, 4, 65535});
  check_npy_values("u4.npy", NN_INT64, (double[]){0, 1, 2, 3, 4, 4294967295.0});
  check_npy_values("b1.npy", NN_BOOL, (double[]){1, 0, 1, 0, 0, 1});
  check_npy_values("fortran_be_f8.npy", NN_FLOAT32, (double[]){0, 1, 2, 3, 4, 5});

  int rc;
  char err[NN_IO_ERRLEN];
  nn_tensor *t = npy_load(fixture("i8.npy"), &rc, err);
  CHECK(t && i64(t)[0] == INT64_MIN && i64(t)[5] == INT64_MAX); /* beyond double's 2^53 */
  nn_tensor_release(t);
  t = npy_load(fixture("fortran.npy"), &rc, err);
  CHECK(t && t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 3 && t->shape[2] == 4);
  for (int i = 0; t && i < 24; i++) CHECK(f32(t)[i] == (float)i);
  nn_tensor_release(t);
  t = npy_load(fixture("v2.npy"), &rc, err);
  CHECK(t && t->dtype == NN_INT64 && t->ndim == 1 && t->shape[0] == 5 && i64(t)[4] == 4);
  nn_tensor_release(t);
  t = npy_load(fixture("v3.npy"), &rc, err);
  CHECK(t && t->ndim == 1 && t->shape[0] == 3 && f32(t)[2] == 2);
  nn_tensor_release(t);
  t = npy_load(fixture("scalar.npy"), &rc, err);
  CHECK(t && t->ndim == 0 && f32(t)[0] == 3.5f);
  nn_tensor_release(t);
  t = npy_load(fixture("empty.npy"), &rc, err);
  CHECK(t && t->ndim == 2 && t->shape[0] == 0 && t->shape[1] == 3);
  nn_tensor_release(t);
}

static void check_npy_header(const char *path, const char *descr, const char *shape) {
  size_t n;
  unsigned char *b = read_bytes(path, &n);
  CHECK(b && n >= 10 && memcmp(b, "\x93NUMPY\x01\x00", 8) == 0);
  if (!b) return;
  size_t hlen = b[8] | (size_t)b[9] << 8;
  CHECK((10 + hlen) % 64 == 0 && b[10 + hlen - 1] == '\n');
  b[10 + hlen - 1] = '\0';
  CHECK(strstr((char *)b + 10, descr) && strstr((char *)b + 10, shape));
  CHECK(strstr((char *)b + 10, "'fortran_order': False"));
  free(b);
}

static void test_npy_roundtrip(void) {
  uint64_t before = live();
  char err[NN_IO_ERRLEN];
  int rc;
  int64_t s23[] = {2, 3}, s4[] = {4}, s03[] = {0, 3};
  nn_tensor *a = new_f32(2, s23);
  CHECK(nn_npy_save(tmp("a.npy"), a, err) == NN_IO_OK);
  check_npy_header(tmp("a.npy"), "'descr': '<f4'", "'shape': (2, 3)");
  nn_tensor *la = npy_load(tmp("a.npy"), &rc, err);
  CHECK(la && la->ndim == 2 && memcmp(f32(la), f32(a), 6 * sizeof(float)) == 0);
  nn_tensor_release(la);

  nn_tensor *tr = nn_tensor_view(a, 2, (int64_t[]){3, 2}, (int64_t[]){1, 3}, 0);
  CHECK(nn_npy_save(tmp("tr.npy"), tr, err) == NN_IO_OK);
  nn_tensor *ltr = npy_load(tmp("tr.npy"), &rc, err);
  for (int i = 0; ltr && i < 3; i++)
    for (int j = 0; j < 2; j++) CHECK(f32(ltr)[i * 2 + j] == f32(a)[j * 3 + i]);
  nn_tensor_release(ltr);
  nn_tensor_release(tr);

  nn_tensor *b = nn_tensor_empty(NN_INT64, 1, s4);
  int64_t bv[] = {INT64_MIN, 0, 7, INT64_MAX};
  memcpy(nn_tensor_data(b), bv, sizeof bv);
  CHECK(nn_npy_save(tmp("b.npy"), b, err) == NN_IO_OK);
  check_npy_header(tmp("b.npy"), "'descr': '<i8'", "'shape': (4,)");
  nn_tensor *lb = npy_load(tmp("b.npy"), &rc, err);
  CHECK(lb && lb->dtype == NN_INT64 && memcmp(i64(lb), bv, sizeof bv) == 0);
  nn_tensor_release(lb);

  nn_tensor *c = nn_tensor_zeros(NN_BOOL, 0, NULL);
  *(bool *)nn_tensor_data(c) = true;
  CHECK(nn_npy_save(tmp("c.npy"), c, err) == NN_IO_OK);
  check_npy_header(tmp("c.npy"), "'descr': '|b1'", "'shape': ()");
  nn_tensor *lc = npy_load(tmp("c.npy"), &rc, err);
  CHECK(lc && lc->dtype == NN_BOOL && lc->ndim == 0 && b8(lc)[0]);
  nn_tensor_release(lc);

  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 2, s03);
  CHECK(nn_npy_save(tmp("e.npy"), e, err) == NN_IO_OK);
  nn_tensor *le = npy_load(tmp("e.npy"), &rc, err);
  CHECK(le && le->ndim == 2 && le->shape[0] == 0 && le->shape[1] == 3);
  nn_tensor_release(le);

  int64_t big[] = {1000, 1000};
  nn_tensor *g = new_f32(2, big);
  CHECK(nn_npy_save(tmp("g.npy"), g, err) == NN_IO_OK);
  nn_tensor *lg = npy_load(tmp("g.npy"), &rc, err);
  CHECK(lg && memcmp(f32(lg), f32(g), 1000000 * sizeof(float)) == 0);
  nn_tensor_release(lg);
  nn_tensor *mine[] = {a, b, c, e, g};
  for (int i = 0; i < 5; i++) nn_tensor_release(mine[i]);
  CHECK(live() == before);
}

/* A .npy v1.0 file with this dict (padded) and data_bytes zeros. */
static void write_npy(const char *name, const char *dict, size_t data_bytes) {
  size_t n = strlen(dict);
  unsigned char *b = calloc(10 + n + data_bytes, 1);
  memcpy(b, "\x93NUMPY\x01\x00", 8);
  b[8] = (unsigned char)(n & 0xff);
  b[9] = (unsigned char)(n >> 8);
  memcpy(b + 10, dict, n);
  write_bytes(tmp(name), b, 10 + n + data_bytes);
  free(b);
}

static void test_npy_bad_files(void) {
  uint64_t before = live();
  char err[NN_IO_ERRLEN];
  int rc;
  CHECK(npy_load(tmp("missing.npy"), &rc, err) == NULL);
  EXPECT_ERR(rc, NN_IO_ERR_SYS, err, "missing.npy", "No such file");
  write_bytes(tmp("magic.npy"), "PK\x03\x04 not numpy at all", 22);
  npy_load(tmp("magic.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "magic.npy", "magic");
  write_bytes(tmp("tiny.npy"), "\x93NUMPY\x01", 7);
  npy_load(tmp("tiny.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "tiny.npy", "truncated");
  write_bytes(tmp("ver.npy"), "\x93NUMPY\x09\x00\x10\x00{}", 12);
  npy_load(tmp("ver.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "version", "9.0");
  write_bytes(tmp("hlen.npy"), "\x93NUMPY\x01\x00\x00\x10{}", 12);
  npy_load(tmp("hlen.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "truncated", "4096");

  /* The data cut short. */
  size_t n;
  unsigned char *b = read_bytes(fixture("f4.npy"), &n);
  write_bytes(tmp("cut.npy"), b, n - 5);
  free(b);
  npy_load(tmp("cut.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "cut.npy", "truncated");

  npy_load(fixture("u8.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_DTYPE, err, "u8.npy", "'<u8'");
  npy_load(fixture("c8.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_DTYPE, err, "c8.npy", "'<c8'");
  npy_load(fixture("structured.npy"), &rc, err);
  EXPECT_ERR(rc, NN_IO_ERR_DTYPE, err, "structured", NULL);

  static const struct {
    const char *dict;
    int code;
    const char *a;
  } cases[] = {
      {"['descr', '<f4']", NN_IO_ERR_FORMAT, "malformed"},
      {"{'descr': '<f4', 'shape': (2,), }", NN_IO_ERR_FORMAT, "missing"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}", NN_IO_ERR_FORMAT, "'x'"},
      {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }", NN_IO_ERR_FORMAT, "fortran_order"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", NN_IO_ERR_FORMAT, "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }", NN_IO_ERR_FORMAT, "shape"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (2,) } junk", NN_IO_ERR_FORMAT, "junk"},
      {"{'descr': '<f4' 'fortran_order': False, 'shape': (2,) }", NN_IO_ERR_FORMAT, "','"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", NN_IO_ERR_FORMAT, "9 dims"},
      {"{'descr': '<f', 'fortran_order': False, 'shape': (2,), }", NN_IO_ERR_DTYPE, "'<f'"},
      {"{'descr': '', 'fortran_order': False, 'shape': (2,), }", NN_IO_ERR_DTYPE, "unsupported"},
      {"{'descr': '<U3', 'fortran_order': False, 'shape': (2,), }", NN_IO_ERR_DTYPE, "'<U3'"},
      {"{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999, 99999999999, 99999999999), }",
       NN_IO_ERR_FORMAT, "too large"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    write_npy("bad.npy", cases[i].dict, 8);
    npy_load(tmp("bad.npy"), &rc, err);
    EXPECT_ERR(rc, cases[i].code, err, cases[i].a, "bad.npy");
  }
  /* Python 2's long literals and no trailing comma are fine. */
  write_npy("py2.npy", "{'descr': '<i2', 'fortran_order': False, 'shape': (2L, 2L)}\n", 8);
  nn_tensor *t = npy_load(tmp("py2.npy"), &rc, err);
  CHECK(t && t->ndim == 2 && t->shape[1] == 2);
  nn_tensor_release(t);
  CHECK(live() == before);
}

/* ---- allocation failures ---- */

/* Runs op with the n-th allocation failing for n = 1, 2, ... until it
 * succeeds; every failed run must free all it took and leave no temp
 * file. Returns how many runs failed. */
static int fail_each_alloc(int (*op)(void)) {
  int failures = 0;
  for (uint64_t n = 1; n < 1000; n++) {
    uint64_t before = live();
    int files = count_files(tmpdir);
    nn_alloc_fail_after(n);
    int rc = op();
    nn_alloc_fail_after(0);
    if (rc == NN_IO_OK) break;
    failures++;
    CHECK(rc == NN_IO_ERR_NOMEM);
    CHECK(live() == before);
    CHECK(count_files(tmpdir) == files);
  }
  return failures;
}

static int op_st_save(void) {
  int64_t s[] = {30, 50}; /* big enough for separate header, storage and data */
  nn_tensor *a = nn_tensor_zeros(NN_FLOAT32, 2, s);
  if (!a) return NN_IO_ERR_NOMEM;
  nn_st_item items[] = {{"a", a, 0, 0}};
  nn_st_meta meta[] = {{"k", "v"}};
  char err[NN_IO_ERRLEN];
  int rc = nn_st_save(tmp("oom.safetensors"), items, 1, meta, 1, err);
  nn_tensor_release(a);
  return rc;
}

static int op_st_load(void) {
  nn_st_file f;
  char err[NN_IO_ERRLEN];
  int rc = nn_st_open(&f, fixture("types.safetensors"), err);
  if (rc) return rc;
  for (int i = 0; i < f.count && !rc; i++) {
    nn_tensor *t = nn_tensor_empty(f.entries[i].dtype, f.entries[i].ndim, f.entries[i].shape);
    rc = t ? nn_st_read(&f, i, t, err) : NN_IO_ERR_NOMEM;
    nn_tensor_release(t);
  }
  nn_st_close(&f);
  return rc;
}

static int op_npy_fortran(void) {
  int rc;
  char err[NN_IO_ERRLEN];
  nn_tensor *t = npy_load(fixture("fortran.npy"), &rc, err);
  nn_tensor_release(t);
  return rc;
}

static int op_npy_save(void) {
  nn_tensor *t = nn_tensor_zeros(NN_INT64, 1, (int64_t[]){3});
  if (!t) return NN_IO_ERR_NOMEM;
  char err[NN_IO_ERRLEN];
  int rc = nn_npy_save(tmp("oom.npy"), t, err);
  nn_tensor_release(t);
  return rc;
}

static void test_alloc_failures(void) {
  CHECK(fail_each_alloc(op_st_save) >= 3);
  CHECK(fail_each_alloc(op_st_load) >= 3);
  CHECK(fail_each_alloc(op_npy_fortran) >= 3);
  CHECK(fail_each_alloc(op_npy_save) >= 1);
}

int main(void) {
  if (!make_tmpdir("io")) return 1;
  find_fixtures("io", __FILE__);
  RUN(test_half_and_bfloat);
  RUN(test_st_roundtrip);
  RUN(test_st_noncontiguous);
  RUN(test_st_big);
  RUN(test_st_fixture_types);
  RUN(test_st_unsupported_dtypes);
  RUN(test_st_bad_files);
  RUN(test_st_save_errors);
  RUN(test_npy_fixtures);
  RUN(test_npy_roundtrip);
  RUN(test_npy_bad_files);
  RUN(test_alloc_failures);
  remove_tree(tmpdir);
  return check_summary();
}
