/* Dataset files (runtime/data_idx.c, runtime/data_cifar.c).
 *
 * IDX: the committed fixtures of tests/fixtures/gen_data_fixtures.py,
 * gzipped and plain, as float32 and int64, and every malformed file with
 * its status code and message.
 *
 * CIFAR-10 binary batches: batches this test writes in the real format,
 * their values, layout and 1-based labels, several files into one pair of
 * tensors, and every bad file (truncated, bad label, missing, empty, a
 * directory) with its status code and message. */
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "nn_alloc.h"
#include "nn_data.h"

/* ---- IDX ---- */

static bool has(const char *err, const char *fragment) {
  bool ok = strstr(err, fragment) != NULL;
  if (!ok) fprintf(stderr, "message '%s' lacks '%s'\n", err, fragment);
  return ok;
}

/* The fixture images: 5 of 2x3, byte k of the payload = k * 8. */
static void check_images(const char *name) {
  nn_idx_file f;
  char err[NN_IO_ERRLEN];
  CHECK(nn_idx_open(&f, fixture(name), err) == NN_IO_OK);
  CHECK(f.type == NN_IDX_UBYTE && f.ndim == 3 && f.numel == 30);
  CHECK(f.shape[0] == 5 && f.shape[1] == 2 && f.shape[2] == 3);
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, f.ndim, f.shape);
  CHECK(nn_idx_read(&f, t, true, err) == NN_IO_OK);
  const float *p = nn_tensor_data(t);
  for (int k = 0; k < 30; k++) CHECK_NEAR(p[k], k * 8 / 255.0, 1e-7);
  nn_idx_close(&f);
  nn_idx_close(&f); /* closing twice is harmless */
  nn_tensor_release(t);
}

static void test_images_gz(void) { check_images("gz/train-images-idx3-ubyte.gz"); }
static void test_images_plain(void) { check_images("plain/train-images-idx3-ubyte"); }

/* Labels as int64, kept 0-based; float32 without scale keeps 0..255. */
static void test_labels(void) {
  nn_idx_file f;
  char err[NN_IO_ERRLEN];
  CHECK(nn_idx_open(&f, fixture("gz/t10k-labels-idx1-ubyte.gz"), err) == NN_IO_OK);
  CHECK(f.ndim == 1 && f.shape[0] == 3);
  nn_tensor *t = nn_tensor_empty(NN_INT64, 1, f.shape);
  CHECK(nn_idx_read(&f, t, false, err) == NN_IO_OK);
  const int64_t *p = nn_tensor_data(t);
  CHECK(p[0] == 0 && p[1] == 3 && p[2] == 6);
  nn_idx_close(&f);
  nn_tensor_release(t);

  CHECK(nn_idx_open(&f, fixture("plain/train-images-idx3-ubyte"), err) == NN_IO_OK);
  t = nn_tensor_empty(NN_FLOAT32, f.ndim, f.shape);
  CHECK(nn_idx_read(&f, t, false, err) == NN_IO_OK);
  CHECK(((const float *)nn_tensor_data(t))[29] == 232.0f);
  nn_idx_close(&f);
  nn_tensor_release(t);
}

/* A file that fails at open: code, path and fragment in the message. */
static void check_open_fails(const char *name, nn_io_status code, const char *fragment) {
  nn_idx_file f;
  char err[NN_IO_ERRLEN] = "";
  CHECK(nn_idx_open(&f, fixture(name), err) == code);
  CHECK(f.gz == NULL);
  CHECK(has(err, name));
  CHECK(has(err, fragment));
  nn_idx_close(&f);
}

static void test_bad_headers(void) {
  check_open_fails("nowhere.idx", NN_IO_ERR_SYS, "cannot open");
  check_open_fails("bad/magic.idx", NN_IO_ERR_FORMAT, "bad magic 01 02");
  check_open_fails("bad/float.idx", NN_IO_ERR_DTYPE, "0x0D (float32)");
  check_open_fails("bad/absurd.idx", NN_IO_ERR_FORMAT, "absurd");
  check_open_fails("bad/ndim.idx", NN_IO_ERR_FORMAT, "9 dims");
  check_open_fails("bad/header.idx", NN_IO_ERR_FORMAT, "truncated header");
  /* plain files are measured before anything is allocated */
  check_open_fails("bad/truncated.idx", NN_IO_ERR_FORMAT, "holds 3");
}

/* Gzipped files can only be found short while reading. */
static void check_read_fails(const char *name, const char *fragment) {
  nn_idx_file f;
  char err[NN_IO_ERRLEN] = "";
  CHECK(nn_idx_open(&f, fixture(name), err) == NN_IO_OK);
  nn_tensor *t = nn_tensor_empty(NN_INT64, f.ndim, f.shape);
  CHECK(nn_idx_read(&f, t, false, err) == NN_IO_ERR_FORMAT);
  CHECK(f.gz == NULL);
  CHECK(has(err, name));
  CHECK(has(err, fragment));
  nn_idx_close(&f);
  nn_tensor_release(t);
}

static void test_bad_data(void) {
  check_read_fails("bad/truncated.idx.gz", "holds 3");
  check_read_fails("bad/extra.idx", "after the 5 values");
}

static void test_close_zeroed(void) {
  nn_idx_file f;
  memset(&f, 0, sizeof f);
  nn_idx_close(&f);
  CHECK(f.gz == NULL);
}

/* ---- CIFAR-10: helpers ---- */

/* Pixel byte i (0..3071, [C,H,W] order) of record r. */
static unsigned char pixel(int64_t r, int i) { return (unsigned char)((r * 7 + i * 13) % 256); }

/* n records: label r % 10, pixel(r, i); malloc'd, size n * 3073. */
static unsigned char *make_batch(int64_t n) {
  unsigned char *b = malloc((size_t)n * NN_CIFAR_RECORD);
  for (int64_t r = 0; r < n; r++) {
    unsigned char *rec = b + r * NN_CIFAR_RECORD;
    rec[0] = (unsigned char)(r % 10);
    for (int i = 0; i < NN_CIFAR_PIXELS; i++) rec[1 + i] = pixel(r, i);
  }
  return b;
}

static void write_batch(const char *name, int64_t n) {
  unsigned char *b = make_batch(n);
  write_bytes(tmp(name), b, (size_t)n * NN_CIFAR_RECORD);
  free(b);
}

/* ---- CIFAR-10: good files ---- */

/* Values are byte/255 (to the bit), records stay in file order, labels 0..9 -> 1..10.
 * 150 records cross the reader's 64-record chunks twice. */
static void test_read_values(void) {
  const int64_t n = 150;
  write_batch("b.bin", n);
  char err[NN_IO_ERRLEN];
  int64_t count = -1;
  CHECK(nn_cifar_count(tmp("b.bin"), &count, err) == NN_IO_OK);
  CHECK(count == n);
  float *x = malloc((size_t)n * NN_CIFAR_PIXELS * sizeof(float));
  int64_t *y = malloc((size_t)n * sizeof(int64_t));
  CHECK(nn_cifar_read(tmp("b.bin"), n, x, y, err) == NN_IO_OK);
  int bad = 0;
  float lo = 1, hi = 0;
  for (int64_t r = 0; r < n; r++) {
    bad += y[r] != r % 10 + 1;
    for (int i = 0; i < NN_CIFAR_PIXELS; i++) {
      float v = x[r * NN_CIFAR_PIXELS + i];
      bad += v != pixel(r, i) / 255.0f; /* exactly, as PyTorch divides */
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
  }
  CHECK(bad == 0);
  CHECK(lo == 0.0f && hi == 1.0f); /* bytes 0 and 255 both occur */
  CHECK(y[0] == 1 && y[9] == 10 && y[10] == 1 && y[149] == 10);
  free(x);
  free(y);
}

/* x is [N,3,32,32]: byte 1 + c*1024 + h*32 + w of a record is channel c
 * (R, G, B) at row h, column w. */
static void test_layout(void) {
  unsigned char *b = calloc(2, NN_CIFAR_RECORD);
  unsigned char *r1 = b + NN_CIFAR_RECORD;
  b[0] = 3;
  b[1 + 0 * 1024 + 0 * 32 + 1] = 255;  /* record 1: R at (0, 1) */
  r1[0] = 0;
  r1[1 + 1 * 1024 + 2 * 32 + 0] = 51;  /* record 2: G at (2, 0) */
  r1[1 + 2 * 1024 + 31 * 32 + 31] = 102; /* record 2: B at (31, 31) */
  write_bytes(tmp("layout.bin"), b, 2 * NN_CIFAR_RECORD);
  free(b);
  float x[2][3][32][32];
  int64_t y[2];
  char err[NN_IO_ERRLEN];
  CHECK(nn_cifar_read(tmp("layout.bin"), 2, &x[0][0][0][0], y, err) == NN_IO_OK);
  CHECK(y[0] == 4 && y[1] == 1);
  CHECK(x[0][0][0][1] == 1.0f && x[0][0][1][0] == 0.0f && x[0][1][0][1] == 0.0f);
  CHECK(x[1][1][2][0] == 51 / 255.0f);
  CHECK(x[1][2][31][31] == 102 / 255.0f);
  CHECK(x[1][1][0][2] == 0.0f && x[1][0][2][0] == 0.0f);
}

/* Reading fewer records than the file holds reads the first ones; reading
 * none touches nothing. */
static void test_read_prefix(void) {
  write_batch("p.bin", 5);
  char err[NN_IO_ERRLEN];
  float x[2 * NN_CIFAR_PIXELS + 1];
  int64_t y[3] = {-1, -1, -1};
  x[2 * NN_CIFAR_PIXELS] = -1;
  CHECK(nn_cifar_read(tmp("p.bin"), 2, x, y, err) == NN_IO_OK);
  CHECK(y[0] == 1 && y[1] == 2 && y[2] == -1);
  CHECK(x[2 * NN_CIFAR_PIXELS] == -1);
  CHECK(x[NN_CIFAR_PIXELS + 5] == pixel(1, 5) / 255.0f);
  y[0] = -1;
  CHECK(nn_cifar_read(tmp("p.bin"), 0, x, y, err) == NN_IO_OK);
  CHECK(y[0] == -1);
}

/* ---- CIFAR-10: bad files ---- */

static void test_truncated(void) {
  char err[NN_IO_ERRLEN] = "";
  int64_t n = -1;
  unsigned char *b = make_batch(2);
  write_bytes(tmp("cut.bin"), b, 2 * NN_CIFAR_RECORD - 5);
  EXPECT_ERR(nn_cifar_count(tmp("cut.bin"), &n, err), NN_IO_ERR_FORMAT, err, tmp("cut.bin"),
             "6141");
  CHECK(strstr(err, "3073") != NULL);
  CHECK(n == -1);
  write_bytes(tmp("long.bin"), b, NN_CIFAR_RECORD + 5);
  EXPECT_ERR(nn_cifar_count(tmp("long.bin"), &n, err), NN_IO_ERR_FORMAT, err, "long.bin", "3078");
  write_bytes(tmp("tiny.bin"), b, 100);
  EXPECT_ERR(nn_cifar_count(tmp("tiny.bin"), &n, err), NN_IO_ERR_FORMAT, err, "tiny.bin", "100");

  /* Asked for more records than are there (the file shrank since count). */
  write_bytes(tmp("one.bin"), b, NN_CIFAR_RECORD);
  float *x = malloc(2 * NN_CIFAR_PIXELS * sizeof(float));
  int64_t y[2];
  EXPECT_ERR(nn_cifar_read(tmp("one.bin"), 2, x, y, err), NN_IO_ERR_FORMAT, err, tmp("one.bin"),
             "truncated");
  EXPECT_ERR(nn_cifar_read(tmp("cut.bin"), 2, x, y, err), NN_IO_ERR_FORMAT, err, "cut.bin",
             "truncated");
  free(x);
  free(b);
}

/* A label byte over 9: the record (1-based) and the label are named. */
static void test_bad_label(void) {
  char err[NN_IO_ERRLEN] = "";
  const int64_t n = 100;
  unsigned char *b = make_batch(n);
  float *x = malloc((size_t)n * NN_CIFAR_PIXELS * sizeof(float));
  int64_t *y = malloc((size_t)n * sizeof(int64_t));
  b[1 * NN_CIFAR_RECORD] = 10;
  write_bytes(tmp("l10.bin"), b, 2 * NN_CIFAR_RECORD);
  EXPECT_ERR(nn_cifar_read(tmp("l10.bin"), 2, x, y, err), NN_IO_ERR_FORMAT, err, tmp("l10.bin"),
             "record 2 ");
  CHECK(strstr(err, "label 10") != NULL);
  b[1 * NN_CIFAR_RECORD] = 1;
  b[69 * NN_CIFAR_RECORD] = 255; /* in the second chunk */
  write_bytes(tmp("l255.bin"), b, (size_t)n * NN_CIFAR_RECORD);
  int64_t count = 0;
  CHECK(nn_cifar_count(tmp("l255.bin"), &count, err) == NN_IO_OK && count == n);
  EXPECT_ERR(nn_cifar_read(tmp("l255.bin"), n, x, y, err), NN_IO_ERR_FORMAT, err, "l255.bin",
             "record 70 ");
  CHECK(strstr(err, "label 255") != NULL);
  /* 9 is the largest good label */
  b[69 * NN_CIFAR_RECORD] = 9;
  write_bytes(tmp("l9.bin"), b, (size_t)n * NN_CIFAR_RECORD);
  CHECK(nn_cifar_read(tmp("l9.bin"), n, x, y, err) == NN_IO_OK);
  CHECK(y[69] == 10);
  free(x);
  free(y);
  free(b);
}

static void test_missing_empty_dir(void) {
  char err[NN_IO_ERRLEN] = "";
  int64_t n = -1;
  float x[NN_CIFAR_PIXELS];
  int64_t y[1];
  EXPECT_ERR(nn_cifar_count(tmp("none.bin"), &n, err), NN_IO_ERR_SYS, err, tmp("none.bin"),
             "No such file");
  EXPECT_ERR(nn_cifar_read(tmp("none.bin"), 1, x, y, err), NN_IO_ERR_SYS, err, tmp("none.bin"),
             "No such file");
  /* An empty file is no batch (a failed download, say), not 0 records. */
  write_bytes(tmp("empty.bin"), "", 0);
  EXPECT_ERR(nn_cifar_count(tmp("empty.bin"), &n, err), NN_IO_ERR_FORMAT, err, tmp("empty.bin"),
             "empty");
  EXPECT_ERR(nn_cifar_read(tmp("empty.bin"), 1, x, y, err), NN_IO_ERR_FORMAT, err, "empty.bin",
             "truncated");
  CHECK(n == -1);
  mkdir(tmp("dir.bin"), 0700);
  EXPECT_ERR(nn_cifar_count(tmp("dir.bin"), &n, err), NN_IO_ERR_SYS, err, tmp("dir.bin"),
             "directory");
  EXPECT_ERR(nn_cifar_read(tmp("dir.bin"), 1, x, y, err), NN_IO_ERR_SYS, err, "dir.bin", NULL);
}

/* The reader takes no engine memory: with the next allocation set to fail
 * it still succeeds, and the armed failure is still there afterwards. */
static void test_no_allocation(void) {
  write_batch("m.bin", 3);
  char err[NN_IO_ERRLEN];
  float x[3 * NN_CIFAR_PIXELS];
  int64_t y[3], n = 0;
  uint64_t before = live();
  nn_alloc_fail_after(1);
  int rc1 = nn_cifar_count(tmp("m.bin"), &n, err);
  int rc2 = nn_cifar_read(tmp("m.bin"), 3, x, y, err);
  void *p = nn_alloc(16);
  nn_alloc_fail_after(0);
  CHECK(rc1 == NN_IO_OK && n == 3);
  CHECK(rc2 == NN_IO_OK && y[2] == 3);
  CHECK(p == NULL);
  nn_free(p, 16);
  CHECK(live() == before);
}

/* Several files into x [N,3,32,32] and y [N] in order; a bad second file
 * stops the read with its own message. */
static void test_read_files(void) {
  write_batch("f1.bin", 3);
  write_batch("f2.bin", 70); /* crosses a chunk */
  const char *paths[2] = {tmp("f1.bin"), tmp("f2.bin")};
  char err[NN_IO_ERRLEN];
  int64_t counts[2], total = 0;
  for (int i = 0; i < 2; i++) {
    CHECK(nn_cifar_count(paths[i], &counts[i], err) == NN_IO_OK);
    total += counts[i];
  }
  CHECK(total == 73);
  int64_t xs[4] = {total, 3, 32, 32};
  nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 4, xs), *y = nn_tensor_empty(NN_INT64, 1, &total);
  CHECK(nn_cifar_read_files(x, y, 2, paths, counts, err) == NN_IO_OK);
  const float *xp = nn_tensor_data(x);
  const int64_t *yp = nn_tensor_data(y);
  int bad = 0;
  for (int64_t r = 0; r < total; r++) {
    int64_t k = r < 3 ? r : r - 3; /* the record within its file */
    bad += yp[r] != k % 10 + 1;
    for (int i = 0; i < NN_CIFAR_PIXELS; i += 97) bad += xp[r * NN_CIFAR_PIXELS + i] != pixel(k, i) / 255.0f;
  }
  CHECK(bad == 0);
  unsigned char *b = make_batch(70);
  b[5 * NN_CIFAR_RECORD] = 12;
  write_bytes(tmp("f2.bin"), b, 70 * NN_CIFAR_RECORD);
  free(b);
  EXPECT_ERR(nn_cifar_read_files(x, y, 2, paths, counts, err), NN_IO_ERR_FORMAT, err, "f2.bin",
             "record 6 ");
  nn_tensor_release(x);
  nn_tensor_release(y);
}

int main(void) {
  find_fixtures("data", __FILE__);
  if (!make_tmpdir("data")) return 1;
  RUN(test_images_gz);
  RUN(test_images_plain);
  RUN(test_labels);
  RUN(test_bad_headers);
  RUN(test_bad_data);
  RUN(test_close_zeroed);
  RUN(test_read_values);
  RUN(test_layout);
  RUN(test_read_prefix);
  RUN(test_truncated);
  RUN(test_bad_label);
  RUN(test_missing_empty_dir);
  RUN(test_no_allocation);
  RUN(test_read_files);
  remove_tree(tmpdir);
  return check_summary();
}
