/* Datasets as bytes (runtime/byte_store.c) and the readers that fill them
 * (nn_idx_read_bytes, nn_cifar_read_bytes, nn_png_read_bytes).
 *
 * The fused gather against the plain float path, to the bit: bytes
 * decoded with nn_unit_from_byte, then nn_kernel_normalize, for one and
 * several channels, with and without normalization, in order and by
 * index; the kernel over split ranges (as the thread pool runs it);
 * subsets; every out-of-range index and run; each allocation failing in
 * turn, with nothing leaked; IDX prefixes and CIFAR records as bytes; PNG
 * images stored as they are and resized. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "files.h"
#include "nn_alloc.h"
#include "nn_byte_store.h"
#include "nn_data.h"
#include "nn_image.h"
#include "nn_threads.h"
#include "nn_transforms.h"

/* A store of n samples of shape with byte k = (k * 37 + 11) % 256. */
static void fill(nn_byte_store *s, int64_t n, int ndim, const int64_t *shape) {
  CHECK(nn_byte_store_init(s, n, ndim, shape) == NN_OK);
  for (int64_t k = 0; k < n * s->row; k++) s->bytes[k] = (unsigned char)((k * 37 + 11) % 256);
}

/* The plain path for rows_of: decode every byte, then normalize. */
static float *plain(const nn_byte_store *s, const int64_t *rows_of, int64_t len,
                    const nn_byte_norm *norm) {
  int64_t c = s->shape[0], hw = s->row / c;
  float *x = malloc((size_t)(len * s->row) * sizeof *x);
  float *out = malloc((size_t)(len * s->row) * sizeof *out);
  for (int64_t i = 0; i < len; i++)
    for (int64_t k = 0; k < s->row; k++)
      x[i * s->row + k] = nn_unit_from_byte(s->bytes[rows_of[i] * s->row + k]);
  if (norm->nmean == 0) {
    free(out);
    return x;
  }
  float mean[16], sd[16];
  for (int64_t ch = 0; ch < c; ch++) {
    mean[ch] = norm->mean[norm->nmean == 1 ? 0 : ch];
    sd[ch] = norm->std[norm->nstd == 1 ? 0 : ch];
  }
  nn_kernel_normalize(out, x, mean, sd, len, c, hw);
  free(x);
  return out;
}

/* gather(rows) == plain(rows), bit for bit. */
static void check_gather(const nn_byte_store *s, const nn_byte_rows *r, const int64_t *rows_of,
                         const nn_byte_norm *norm) {
  int64_t shape[NN_MAX_DIMS];
  shape[0] = r->len;
  memcpy(shape + 1, s->shape, (size_t)s->ndim * sizeof *shape);
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, s->ndim + 1, shape);
  CHECK(nn_byte_store_gather(out, s, r, norm) == NN_OK);
  float *want = plain(s, rows_of, r->len, norm);
  CHECK(memcmp(nn_tensor_data(out), want, (size_t)(r->len * s->row) * sizeof(float)) == 0);
  free(want);
  nn_tensor_release(out);
}

static void test_gather_matches_plain_path(void) {
  const float mean3[3] = {0.4914f, 0.4822f, 0.4465f}, std3[3] = {0.2470f, 0.2435f, 0.2616f};
  const float mean1 = 0.2860f, std1 = 0.3530f;
  int64_t shape1[3] = {1, 5, 4}, shape3[3] = {3, 4, 4}, shape6[3] = {6, 2, 3};
  nn_byte_store s1, s3, s6;
  fill(&s1, 9, 3, shape1);
  fill(&s3, 7, 3, shape3);
  fill(&s6, 5, 3, shape6); /* more channels than the stack arrays hold */
  nn_byte_norm none = {0}, one = {&mean1, &std1, 1, 1}, per = {mean3, std3, 3, 3};
  nn_byte_norm mixed = {mean3, &std1, 3, 1};
  float mean6[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f}, std6[6] = {1, 2, 3, 0.5f, 0.25f, 7};
  nn_byte_norm six = {mean6, std6, 6, 6};
  /* in order, from sample 3 of the run that starts at store row 1 */
  nn_byte_rows run = {.first = 1, .count = 6, .start = 2, .len = 4};
  int64_t run_rows[4] = {3, 4, 5, 6};
  check_gather(&s1, &run, run_rows, &none);
  check_gather(&s1, &run, run_rows, &one);
  check_gather(&s3, &run, run_rows, &per);
  check_gather(&s3, &run, run_rows, &mixed);
  check_gather(&s3, &run, run_rows, &one);
  /* by index, repeats allowed */
  int64_t index[5] = {5, 1, 1, 3, 2};
  nn_byte_rows picked = {.first = 2, .count = 5, .index = index, .len = 5};
  int64_t picked_rows[5] = {6, 2, 2, 4, 3};
  check_gather(&s1, &picked, picked_rows, &one);
  check_gather(&s3, &picked, picked_rows, &per);
  nn_byte_rows all6 = {.first = 0, .count = 5, .start = 0, .len = 5};
  int64_t rows6[5] = {0, 1, 2, 3, 4};
  check_gather(&s6, &all6, rows6, &six);
  check_gather(&s6, &all6, rows6, &none);
  nn_byte_store_free(&s1);
  nn_byte_store_free(&s3);
  nn_byte_store_free(&s6);
  nn_byte_store_free(&s6); /* freeing twice is harmless */
}

/* The kernel over any split of the batch gives the whole batch's values. */
static void test_kernel_ranges(void) {
  int64_t shape[3] = {3, 3, 5};
  nn_byte_store s;
  fill(&s, 11, 3, shape);
  const float mean[3] = {0.1f, 0.5f, 0.9f}, sd[3] = {0.3f, 0.2f, 0.1f};
  int64_t rows_of[11] = {10, 0, 3, 3, 7, 1, 2, 9, 4, 6, 5};
  float whole[11 * 45], split[11 * 45];
  nn_kernel_bytes_to_float(whole, s.bytes, rows_of, mean, sd, s.row, 15, 0, 11);
  int64_t cuts[5] = {0, 1, 4, 8, 11};
  for (int k = 0; k < 4; k++)
    nn_kernel_bytes_to_float(split, s.bytes, rows_of, mean, sd, s.row, 15, cuts[k], cuts[k + 1]);
  CHECK(memcmp(whole, split, sizeof whole) == 0);
  /* sample 1 is store row 10: channel 2's first value */
  unsigned char v = s.bytes[10 * 45 + 15];
  CHECK(whole[15] == (nn_unit_from_byte(v) - 0.5f) / 0.2f);
  nn_byte_store_free(&s);
}

/* A batch big enough to be shared out over the pool: the same values. */
static void test_gather_on_threads(void) {
  int64_t shape[3] = {1, 28, 28};
  nn_byte_store s;
  fill(&s, 400, 3, shape);
  float mean = 0.2860f, sd = 0.3530f;
  nn_byte_norm norm = {&mean, &sd, 1, 1};
  int64_t rows_of[300];
  for (int64_t i = 0; i < 300; i++) rows_of[i] = 399 - i;
  int64_t index[300];
  for (int64_t i = 0; i < 300; i++) index[i] = 400 - i;
  nn_byte_rows r = {.first = 0, .count = 400, .index = index, .len = 300};
  for (int threads = 1; threads <= 3; threads++) {
    nn_set_num_threads(threads);
    check_gather(&s, &r, rows_of, &norm);
  }
  nn_set_num_threads(1);
  nn_byte_store_free(&s);
}

static void test_select(void) {
  int64_t shape[3] = {2, 2, 2};
  nn_byte_store s, d;
  fill(&s, 6, 3, shape);
  int64_t index[3] = {4, 1, 4};
  nn_byte_rows r = {.first = 1, .count = 5, .index = index, .len = 3};
  CHECK(nn_byte_store_select(&d, &s, &r) == NN_OK);
  CHECK(d.n == 3 && d.ndim == 3 && d.row == 8 && d.shape[0] == 2);
  CHECK(memcmp(d.bytes, s.bytes + 4 * 8, 8) == 0);
  CHECK(memcmp(d.bytes + 8, s.bytes + 1 * 8, 8) == 0);
  CHECK(memcmp(d.bytes + 16, s.bytes + 4 * 8, 8) == 0);
  nn_byte_store_free(&d);
  nn_byte_rows none = {.first = 0, .count = 6, .start = 6, .len = 0};
  CHECK(nn_byte_store_select(&d, &s, &none) == NN_OK && d.n == 0 && d.bytes == NULL);
  nn_byte_store_free(&d);
  nn_byte_store_free(&s);
}

static void test_out_of_range(void) {
  int64_t shape[3] = {1, 2, 2};
  nn_byte_store s, d;
  fill(&s, 4, 3, shape);
  nn_byte_norm none = {0};
  int64_t oshape[4] = {2, 1, 2, 2};
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, oshape);
  uint64_t before = live();
  int64_t bad[2] = {1, 4};
  nn_byte_rows r = {.first = 1, .count = 3, .index = bad, .len = 2};
  CHECK(nn_byte_store_gather(out, &s, &r, &none) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "index 4 out of range 1..3") != NULL);
  int64_t zero[2] = {2, 0};
  r.index = zero;
  CHECK(nn_byte_store_select(&d, &s, &r) == NN_ERR_VALUE && d.bytes == NULL);
  CHECK(strstr(nn_error_message(), "index 0 out of range 1..3") != NULL);
  nn_byte_rows past = {.first = 0, .count = 4, .start = 3, .len = 2};
  CHECK(nn_byte_store_gather(out, &s, &past, &none) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "samples 4..5 out of range 1..4") != NULL);
  nn_byte_rows outside = {.first = 3, .count = 2, .start = 0, .len = 2};
  CHECK(nn_byte_store_gather(out, &s, &outside, &none) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "outside a store of 4") != NULL);
  CHECK(live() == before);
  nn_tensor_release(out);
  nn_byte_store_free(&s);
  int64_t neg[3] = {0, 2, 2};
  CHECK(nn_byte_store_init(&s, 2, 3, neg) == NN_ERR_VALUE && s.bytes == NULL);
  int64_t huge[3] = {INT64_MAX / 2, 4, 1};
  CHECK(nn_byte_store_init(&s, 2, 3, huge) == NN_ERR_VALUE && s.bytes == NULL);
}

/* Each allocation failing in turn: NN_ERR_NOMEM, nothing leaked. */
static void test_allocation_failures(void) {
  int64_t shape[3] = {6, 2, 2};
  nn_byte_store s, d;
  fill(&s, 3, 3, shape);
  float mean = 0.5f, sd = 0.25f;
  nn_byte_norm norm = {&mean, &sd, 1, 1};
  int64_t oshape[4] = {3, 6, 2, 2};
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, oshape);
  nn_byte_rows r = {.first = 0, .count = 3, .start = 0, .len = 3};
  uint64_t before = live();
  for (uint64_t k = 1; k <= 2; k++) { /* the rows, then the 6 channels' mean and std */
    nn_alloc_fail_after(k);
    CHECK(nn_byte_store_gather(out, &s, &r, &norm) == NN_ERR_NOMEM);
    CHECK(live() == before);
  }
  for (uint64_t k = 1; k <= 2; k++) { /* the rows, then the new store */
    nn_alloc_fail_after(k);
    CHECK(nn_byte_store_select(&d, &s, &r) == NN_ERR_NOMEM && d.bytes == NULL);
    CHECK(live() == before);
  }
  nn_alloc_fail_after(1);
  CHECK(nn_byte_store_init(&d, 2, 3, shape) == NN_ERR_NOMEM && d.bytes == NULL);
  nn_alloc_fail_after(0);
  CHECK(nn_byte_store_gather(out, &s, &r, &norm) == NN_OK);
  nn_tensor_release(out);
  nn_byte_store_free(&s);
}

/* The fixtures of tests/fixtures/data: 5 images of 2x3, byte k = k * 8. */
static void test_idx_bytes(void) {
  const char *names[2] = {"gz/train-images-idx3-ubyte.gz", "plain/train-images-idx3-ubyte"};
  for (int i = 0; i < 2; i++) {
    nn_idx_file f;
    char err[NN_IO_ERRLEN];
    unsigned char b[30];
    CHECK(nn_idx_open(&f, fixture(names[i]), err) == NN_IO_OK);
    CHECK(nn_idx_read_bytes(&f, b, 30, err) == NN_IO_OK);
    int bad = 0;
    for (int k = 0; k < 30; k++) bad += b[k] != k * 8;
    CHECK(bad == 0);
    nn_idx_close(&f);
    memset(b, 0, sizeof b); /* a prefix: the first 2 images */
    CHECK(nn_idx_open(&f, fixture(names[i]), err) == NN_IO_OK);
    CHECK(nn_idx_read_bytes(&f, b, 12, err) == NN_IO_OK);
    CHECK(b[11] == 88 && b[12] == 0);
    nn_idx_close(&f);
  }
  nn_idx_file f;
  char err[NN_IO_ERRLEN];
  unsigned char b[64];
  CHECK(nn_idx_open(&f, fixture("bad/truncated.idx.gz"), err) == NN_IO_OK);
  EXPECT_ERR(nn_idx_read_bytes(&f, b, f.numel, err), NN_IO_ERR_FORMAT, err, "truncated", "5");
  CHECK(nn_idx_open(&f, fixture("bad/extra.idx"), err) == NN_IO_OK);
  EXPECT_ERR(nn_idx_read_bytes(&f, b, f.numel, err), NN_IO_ERR_FORMAT, err, "continues", "5");
  CHECK(nn_idx_open(&f, fixture("bad/extra.idx"), err) == NN_IO_OK);
  CHECK(nn_idx_read_bytes(&f, b, f.numel - 1, err) == NN_IO_OK); /* a prefix is not checked after */
  nn_idx_close(&f);
}

static void test_cifar_bytes(void) {
  int64_t n = 70; /* crosses the reader's 64-record chunks */
  unsigned char *file = malloc((size_t)n * NN_CIFAR_RECORD);
  for (int64_t r = 0; r < n; r++) {
    file[r * NN_CIFAR_RECORD] = (unsigned char)(r % 10);
    for (int i = 0; i < NN_CIFAR_PIXELS; i++)
      file[r * NN_CIFAR_RECORD + 1 + i] = (unsigned char)((r * 7 + i) % 251);
  }
  write_bytes(tmp("c.bin"), file, (size_t)n * NN_CIFAR_RECORD);
  unsigned char *x = malloc((size_t)n * NN_CIFAR_PIXELS);
  int64_t y[70];
  char err[NN_IO_ERRLEN];
  CHECK(nn_cifar_read_bytes(tmp("c.bin"), n, x, y, err) == NN_IO_OK);
  int bad = 0;
  for (int64_t r = 0; r < n; r++) {
    bad += y[r] != r % 10 + 1;
    bad += memcmp(x + r * NN_CIFAR_PIXELS, file + r * NN_CIFAR_RECORD + 1, NN_CIFAR_PIXELS) != 0;
  }
  CHECK(bad == 0);
  CHECK(nn_cifar_read_bytes(tmp("c.bin"), 3, x, y, err) == NN_IO_OK && y[2] == 3);
  EXPECT_ERR(nn_cifar_read_bytes(tmp("c.bin"), n + 1, x, y, err), NN_IO_ERR_FORMAT, err, "c.bin",
             "truncated");
  file[65 * NN_CIFAR_RECORD] = 10;
  write_bytes(tmp("c.bin"), file, (size_t)n * NN_CIFAR_RECORD);
  EXPECT_ERR(nn_cifar_read_bytes(tmp("c.bin"), n, x, y, err), NN_IO_ERR_FORMAT, err, "record 66 ",
             "label 10");
  EXPECT_ERR(nn_cifar_read_bytes(tmp("none.bin"), 1, x, y, err), NN_IO_ERR_SYS, err, "none.bin", NULL);
  free(x);
  free(file);
}

/* A [c,h,w] PNG whose byte k is (k * 29 + 3) % 256, written from floats. */
static void write_png(const char *name, int c, int64_t h, int64_t w, unsigned char *bytes) {
  float *f = malloc((size_t)(c * h * w) * sizeof *f);
  for (int64_t k = 0; k < c * h * w; k++) {
    bytes[k] = (unsigned char)((k * 29 + 3) % 256);
    f[k] = bytes[k] / 255.0f;
  }
  char err[NN_IO_ERRLEN];
  CHECK(nn_png_write(tmp(name), c, h, w, f, err) == NN_IO_OK);
  free(f);
}

static void test_png(void) {
  unsigned char want[3 * 4 * 5];
  write_png("a.png", 3, 4, 5, want);
  int64_t shape[3] = {3, 4, 5};
  nn_byte_store s;
  CHECK(nn_byte_store_init(&s, 2, 3, shape) == NN_OK);
  memset(s.bytes, 0, 120);
  char err[NN_IO_ERRLEN];
  CHECK(nn_byte_store_read_png(&s, 1, tmp("a.png"), err) == NN_IO_OK);
  CHECK(memcmp(s.bytes + 60, want, 60) == 0);
  CHECK(s.bytes[0] == 0); /* row 0 untouched */
  /* another size: resized bilinearly in float, rounded half to even */
  unsigned char small[3 * 2 * 3];
  write_png("b.png", 3, 2, 3, small);
  CHECK(nn_byte_store_read_png(&s, 0, tmp("b.png"), err) == NN_IO_OK);
  float in[18], out[60];
  for (int k = 0; k < 18; k++) in[k] = small[k];
  nn_kernel_resize(out, in, 3, 2, 3, 4, 5);
  int bad = 0;
  for (int k = 0; k < 60; k++) bad += s.bytes[k] != (unsigned char)lrintf(out[k]);
  CHECK(bad == 0);
  unsigned char gray[6];
  write_png("g.png", 1, 2, 3, gray);
  EXPECT_ERR(nn_byte_store_read_png(&s, 0, tmp("g.png"), err), NN_IO_ERR_FORMAT, err, "g.png",
             "1 channels, expected 3");
  EXPECT_ERR(nn_byte_store_read_png(&s, 2, tmp("a.png"), err), NN_IO_ERR_ARG, err, "sample 3", NULL);
  write_bytes(tmp("bad.png"), "not a png at all", 16);
  EXPECT_ERR(nn_byte_store_read_png(&s, 0, tmp("bad.png"), err), NN_IO_ERR_FORMAT, err, "bad.png",
             "not a PNG");
  unsigned char direct[60];
  CHECK(nn_png_read_bytes(tmp("a.png"), 3, 4, 5, direct, err) == NN_IO_OK);
  CHECK(memcmp(direct, want, 60) == 0);
  nn_byte_store_free(&s);
}

int main(void) {
  find_fixtures("data", __FILE__);
  if (!make_tmpdir("byte_store")) return 1;
  RUN(test_gather_matches_plain_path);
  RUN(test_kernel_ranges);
  RUN(test_gather_on_threads);
  RUN(test_select);
  RUN(test_out_of_range);
  RUN(test_allocation_failures);
  RUN(test_idx_bytes);
  RUN(test_cifar_bytes);
  RUN(test_png);
  remove_tree(tmpdir);
  return check_summary();
}
