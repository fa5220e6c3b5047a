/* The readers' memory ceilings (issue 16): each refuses a file that
 * claims more than its input can justify, before allocating for it, with
 * an error naming the limit; and a file just within each limit loads.
 *
 * safetensors: a 1 TB tensor in a ~100-byte file. IDX: a gzip that
 * inflates past its header, a gzip too small for its header
 * (tests/fixtures/gen_limits_fixtures.py). PNG: sides over 16384, a
 * decode over 1 GiB (headers crafted here: only the header is read).
 * CSV: a field over 1 MiB, a row over 16 MiB. */
#include <inttypes.h>
#include <png.h>
#include <zlib.h>

#include "check.h"
#include "files.h"
#include "nn_csv.h"
#include "nn_data.h"
#include "nn_image.h"
#include "nn_io.h"
#include "nn_tensor.h"

/* Most bytes the engine had in use at once since the last call. */
static uint64_t peak_since(uint64_t *mark) {
  uint64_t peak = nn_memory_stats_get().peak_bytes, d = peak - *mark;
  *mark = peak;
  return d;
}

/* ---- safetensors ---- */

static void write_st(const char *path, const char *json, size_t data_bytes) {
  size_t n = strlen(json);
  unsigned char buf[512] = {0};
  for (int i = 0; i < 8; i++) buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
  memcpy(buf + 8, json, n);
  write_bytes(path, buf, 8 + n + data_bytes);
}

static void test_safetensors_terabyte(void) {
  char err[NN_IO_ERRLEN];
  nn_st_file f;
  uint64_t mark = nn_memory_stats_get().peak_bytes;
  /* shape and range agree on 1 TB; the file holds 16 bytes of data */
  write_st(tmp("tb.safetensors"),
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[250000000000],\"data_offsets\":[0,1000000000000]}}",
           16);
  int rc = nn_st_open(&f, tmp("tb.safetensors"), err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "data section has 16 bytes", "1000000000000");
  /* the shape claims 1 TB for a 16-byte range */
  write_st(tmp("tb2.safetensors"),
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[250000000000],\"data_offsets\":[0,16]}}", 16);
  rc = nn_st_open(&f, tmp("tb2.safetensors"), err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "needs 1000000000000 bytes", "more than the file holds (16");
  /* a shape whose byte count overflows 64 bits */
  write_st(tmp("tb3.safetensors"),
           "{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,16]}}",
           16);
  rc = nn_st_open(&f, tmp("tb3.safetensors"), err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "over 2^64 bytes", "more than the file holds");
  CHECK(peak_since(&mark) < 65536);
  /* within the ceiling: 16 bytes of data for 4 floats */
  write_st(tmp("ok.safetensors"),
           "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 16);
  CHECK(nn_st_open(&f, tmp("ok.safetensors"), err) == NN_IO_OK);
  nn_st_close(&f);
}

/* ---- IDX ---- */

static void test_idx_gzip(void) {
  char err[NN_IO_ERRLEN];
  nn_idx_file f;
  uint64_t mark = nn_memory_stats_get().peak_bytes;
  /* declares 60000x28x28 in 33 bytes: refused at open, before any tensor */
  int rc = nn_idx_open(&f, fixture("claims.idx.gz"), err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "47040000 values", "deflate inflates at most 1032:1");
  CHECK(peak_since(&mark) < 65536);
  /* inflates past the 5 values declared: inflating stops there */
  CHECK(nn_idx_open(&f, fixture("inflates.idx.gz"), err) == NN_IO_OK);
  nn_tensor *t = nn_tensor_empty(NN_INT64, f.ndim, f.shape);
  rc = nn_idx_read(&f, t, false, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "decompressed data exceeds the 13 bytes",
             "header declares");
  nn_tensor_release(t);
  nn_idx_close(&f);
  /* about 1000:1, within deflate's ceiling: loads */
  CHECK(nn_idx_open(&f, fixture("fits.idx.gz"), err) == NN_IO_OK);
  CHECK(f.numel == 6000 * 28 * 28);
  t = nn_tensor_empty(NN_FLOAT32, f.ndim, f.shape);
  CHECK(nn_idx_read(&f, t, true, err) == NN_IO_OK);
  nn_tensor_release(t);
  nn_idx_close(&f);
}

/* ---- PNG ---- */

static void put_chunk(unsigned char **p, const char *kind, const unsigned char *data, uint32_t n) {
  unsigned char *q = *p;
  png_save_uint_32(q, n);
  memcpy(q + 4, kind, 4);
  if (n) memcpy(q + 8, data, n);
  png_save_uint_32(q + 8 + n, (uint32_t)crc32(0, q + 4, 4 + n));
  *p = q + 12 + n;
}

/* A PNG whose IHDR says w x h of the color type, 8-bit; its data is one
 * empty deflate stream (only the header is read before the limits). */
static void write_png_header(const char *path, uint32_t w, uint32_t h, int color) {
  unsigned char buf[128], *p = buf + 8, ihdr[13] = {0};
  memcpy(buf, "\x89PNG\r\n\x1a\n", 8);
  png_save_uint_32(ihdr, w);
  png_save_uint_32(ihdr + 4, h);
  ihdr[8] = 8;
  ihdr[9] = (unsigned char)color;
  put_chunk(&p, "IHDR", ihdr, 13);
  put_chunk(&p, "IDAT", (const unsigned char *)"\x78\x9c\x03\x00\x00\x00\x00\x01", 8);
  put_chunk(&p, "IEND", NULL, 0);
  write_bytes(path, buf, (size_t)(p - buf));
}

static void test_png(void) {
  char err[NN_IO_ERRLEN];
  int c;
  int64_t h, w;
  uint64_t mark = nn_memory_stats_get().peak_bytes;
  write_png_header(tmp("wide.img"), 16385, 1, PNG_COLOR_TYPE_GRAY);
  int rc = nn_png_info(tmp("wide.img"), &c, &h, &w, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "16385x1", "exceeds the 16384x16384 limit");
  write_png_header(tmp("tall.img"), 1, 1000000, PNG_COLOR_TYPE_GRAY);
  rc = nn_png_info(tmp("tall.img"), &c, &h, &w, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "1x1000000", "16384x16384 limit");
  /* 16384 x 16384 RGB: 3 GiB as floats */
  write_png_header(tmp("rgb.img"), 16384, 16384, PNG_COLOR_TYPE_RGB);
  rc = nn_png_info(tmp("rgb.img"), &c, &h, &w, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "3 channels decodes to 3221225472 bytes",
             "over the 1 GiB limit");
  rc = nn_png_read(tmp("rgb.img"), 3, 16384, 16384, NULL, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "1 GiB", NULL);
  CHECK(peak_since(&mark) < 65536);
  /* exactly at both limits: gray 16384 x 16384 is 1 GiB as floats */
  write_png_header(tmp("gray.img"), 16384, 16384, PNG_COLOR_TYPE_GRAY);
  CHECK(nn_png_info(tmp("gray.img"), &c, &h, &w, err) == NN_IO_OK);
  CHECK(c == 1 && h == 16384 && w == 16384);
}

/* ---- CSV ---- */

static void test_csv(void) {
  char err[NN_IO_ERRLEN];
  nn_csv_table t;
  size_t n = 18 * NN_CSV_MAX_FIELD;
  char *text = malloc(n);
  CHECK(text != NULL);
  if (!text) return;
  /* a field of exactly 1 MiB loads; one byte more is refused */
  memset(text, 'x', NN_CSV_MAX_FIELD);
  memcpy(text + NN_CSV_MAX_FIELD, ",1\n", 3);
  CHECK(nn_csv_parse(&t, "f.csv", text, NN_CSV_MAX_FIELD + 3, err) == NN_IO_OK);
  size_t len;
  CHECK(t.nrows == 1 && t.ncols == 2 && (nn_csv_field(&t, 0, 0, &len), len) == NN_CSV_MAX_FIELD);
  nn_csv_free(&t);
  memcpy(text, "a,b\n", 4);
  memset(text + 4, 'x', NN_CSV_MAX_FIELD + 1);
  memcpy(text + 4 + NN_CSV_MAX_FIELD + 1, ",1\n", 3);
  int rc = nn_csv_parse(&t, "f.csv", text, NN_CSV_MAX_FIELD + 8, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "'f.csv' line 2: a field of 1048577 bytes",
             "exceeds the 1 MiB limit");
  /* a quoted field counts its quotes */
  text[4] = '"';
  text[4 + NN_CSV_MAX_FIELD] = '"';
  rc = nn_csv_parse(&t, "f.csv", text, NN_CSV_MAX_FIELD + 8, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "1048577 bytes", "1 MiB");
  /* a row of 17 fields of 1 MiB - 1 bytes: over 16 MiB */
  size_t k = 0;
  for (int i = 0; i < 17; i++) {
    memset(text + k, '7', NN_CSV_MAX_FIELD - 1);
    k += NN_CSV_MAX_FIELD - 1;
    text[k++] = i < 16 ? ',' : '\n';
  }
  CHECK(k > NN_CSV_MAX_ROW && k <= n);
  rc = nn_csv_parse(&t, "r.csv", text, k, err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "'r.csv' line 1: a line of 17825791 bytes",
             "exceeds the 16 MiB limit");
  /* 16 of them: a line of 16 MiB - 1 bytes, loads */
  rc = nn_csv_parse(&t, "r.csv", text, 16 * NN_CSV_MAX_FIELD - 1, err);
  CHECK(rc == NN_IO_OK && t.nrows == 1 && t.ncols == 16);
  nn_csv_free(&t);
  free(text);
}

int main(void) {
  find_fixtures("limits", __FILE__);
  if (!make_tmpdir("limits")) return 1;
  RUN(test_safetensors_terabyte);
  RUN(test_idx_gzip);
  RUN(test_png);
  RUN(test_csv);
  remove_tree(tmpdir);
  return check_summary();
}
