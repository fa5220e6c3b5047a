/* CIFAR-10 binary reader (runtime/cifar.c): batches this test writes in
 * the real format, their values, layout and 1-based labels, and every bad
 * file (truncated, bad label, missing, empty, a directory) with its status
 * code and message. */
#include <dirent.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "files.h"
#include "nn_alloc.h"
#include "nn_formats.h"

/* ---- helpers ---- */

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

/* ---- good files ---- */

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

/* ---- bad files ---- */

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

int main(void) {
  if (!make_tmpdir("cifar")) return 1;
  RUN(test_read_values);
  RUN(test_layout);
  RUN(test_read_prefix);
  RUN(test_truncated);
  RUN(test_bad_label);
  RUN(test_missing_empty_dir);
  RUN(test_no_allocation);
  remove_tree(tmpdir);
  return check_summary();
}
