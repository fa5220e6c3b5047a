/* Every finding of the fuzz campaigns (tests/fuzz/README.md), each with
 * its input kept in tests/fuzz/regressions/<target>/ (which make fuzz-ci
 * replays too): the reader now refuses it cleanly.
 *
 * 1. fuzz_idx, fuzz_idx_gz: an IDX header with a zero side and sides
 *    whose product overflows int64 ([5, 66048, 0, 2^32-1, ...]) passed
 *    the element-count check (the count is 0) and the engine computed
 *    overflowing strides for the empty tensor (UBSan: signed overflow in
 *    nn_contiguous_strides). Now nn_shape_nbytes refuses such shapes and
 *    the IDX, .npy and safetensors readers refuse them at open. */
#include "check.h"
#include "files.h"
#include "nn_data.h"
#include "nn_io.h"
#include "nn_tensor.h"

static char regdir[4096];

/* <src>/tests/fuzz/regressions/<target>/<name>. */
static const char *regression(const char *target, const char *name) {
  static char buf[4400];
  snprintf(buf, sizeof buf, "%s/%s/%s", regdir, target, name);
  return buf;
}

static void find_regressions(void) {
  const char *src = getenv("NNLUA_SOURCE_DIR");
  if (src) {
    snprintf(regdir, sizeof regdir, "%s/tests/fuzz/regressions", src);
    return;
  }
  snprintf(regdir, sizeof regdir, "%s", __FILE__);
  char *cut = strstr(regdir, "/runtime/test_fuzz_regressions.c");
  if (cut) snprintf(cut, sizeof regdir - (size_t)(cut - regdir), "/fuzz/regressions");
}

static void test_empty_shape_overflowing_strides(void) {
  uint64_t before = live();
  CHECK(nn_tensor_empty(NN_FLOAT32, 3, (int64_t[]){0, (int64_t)1 << 40, (int64_t)1 << 40}) == NULL);
  CHECK(nn_tensor_empty(NN_INT64, 3, (int64_t[]){(int64_t)1 << 40, (int64_t)1 << 40, 0}) == NULL);
  /* the strides of [0, 2^31, 2^31] fit: an empty tensor */
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 3, (int64_t[]){0, (int64_t)1 << 31, (int64_t)1 << 31});
  CHECK(t != NULL && nn_tensor_numel(t) == 0);
  nn_tensor_release(t);
  CHECK(live() == before);
}

static void test_idx_zero_side(void) {
  char err[NN_IO_ERRLEN];
  nn_idx_file f;
  /* the idx_gz input is the IDX content: read here as a plain file */
  const char *inputs[][2] = {{"idx", "zero_dim_overflowing_strides"},
                             {"idx_gz", "zero_dim_overflowing_strides"}};
  for (int i = 0; i < 2; i++) {
    int rc = nn_idx_open(&f, regression(inputs[i][0], inputs[i][1]), err);
    EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "absurd sizes in header", NULL);
  }
}

static void test_npy_zero_side(void) {
  char err[NN_IO_ERRLEN];
  const char dict[] = "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4611686018427387904, 4), }";
  unsigned char buf[256] = "\x93NUMPY\x01\x00";
  size_t n = sizeof dict - 1;
  buf[8] = (unsigned char)(n + 1);
  memcpy(buf + 10, dict, n);
  buf[10 + n] = '\n';
  write_bytes(tmp("zero.npy"), buf, 11 + n);
  nn_npy_file f;
  int rc = nn_npy_open(&f, tmp("zero.npy"), err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "too large", "zero.npy");
}

static void test_safetensors_zero_side(void) {
  char err[NN_IO_ERRLEN];
  const char json[] = "{\"w\":{\"dtype\":\"F32\",\"shape\":[0,1099511627776,1099511627776],"
                      "\"data_offsets\":[0,0]}}";
  unsigned char buf[256] = {0};
  buf[0] = (unsigned char)(sizeof json - 1);
  memcpy(buf + 8, json, sizeof json - 1);
  write_bytes(tmp("zero.safetensors"), buf, 8 + sizeof json - 1);
  nn_st_file f;
  int rc = nn_st_open(&f, tmp("zero.safetensors"), err);
  EXPECT_ERR(rc, NN_IO_ERR_FORMAT, err, "too large to load", "[0,1099511627776,1099511627776]");
}

int main(void) {
  find_regressions();
  if (!make_tmpdir("fuzzreg")) return 1;
  RUN(test_empty_shape_overflowing_strides);
  RUN(test_idx_zero_side);
  RUN(test_npy_zero_side);
  RUN(test_safetensors_zero_side);
  remove_tree(tmpdir);
  return check_summary();
}
