/* IDX reader (runtime/idx.c): the committed fixtures of
 * tests/fixtures/gen_data_fixtures.py, gzipped and plain, as float32 and
 * int64, and every malformed file with its status code and message. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_data.h"

static char fixdir[4096];

/* <src>/tests/fixtures/data, from NNLUA_SOURCE_DIR or this file's path. */
static void find_fixtures(void) {
  const char *src = getenv("NNLUA_SOURCE_DIR");
  if (src) {
    snprintf(fixdir, sizeof fixdir, "%s/tests/fixtures/data", src);
    return;
  }
  snprintf(fixdir, sizeof fixdir, "%s", __FILE__);
  char *cut = strstr(fixdir, "/runtime/test_idx.c");
  if (cut) snprintf(cut, sizeof fixdir - (size_t)(cut - fixdir), "/fixtures/data");
}

static const char *fixture(const char *name) {
  static char buf[4200];
  snprintf(buf, sizeof buf, "%s/%s", fixdir, name);
  return buf;
}

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

int main(void) {
  find_fixtures();
  RUN(test_images_gz);
  RUN(test_images_plain);
  RUN(test_labels);
  RUN(test_bad_headers);
  RUN(test_bad_data);
  RUN(test_close_zeroed);
  return check_summary();
}
