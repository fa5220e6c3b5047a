/* nn_create: arange in int64 and float32 (steps up, down and by fractions,
 * the values computed as start + i * step), bool refused with its message;
 * linspace filled from both ends so the last value is exactly end, one
 * step giving start; eye square, rectangular and empty in every dtype. */
#include <stdbool.h>
#include <string.h>

#include "check.h"
#include "nn_create.h"
#include "nn_tensor.h"

static nn_tensor *vec(nn_dtype dtype, int64_t n) { return nn_tensor_empty(dtype, 1, &n); }

static void test_arange_int64(void) {
  nn_tensor *t = vec(NN_INT64, 4);
  CHECK(nn_arange(t, 5, -2) == NN_OK);
  const int64_t *p = nn_tensor_data(t);
  CHECK(p[0] == 5 && p[1] == 3 && p[2] == 1 && p[3] == -1);
  /* int64 arithmetic: no float rounding however far the range goes */
  CHECK(nn_arange(t, 0, 3e15) == NN_OK);
  CHECK(p[3] == 9000000000000000);
  nn_tensor_release(t);
  t = vec(NN_INT64, 0);
  CHECK(nn_arange(t, 0, 1) == NN_OK);
  nn_tensor_release(t);
}

static void test_arange_float32(void) {
  nn_tensor *t = vec(NN_FLOAT32, 5);
  CHECK(nn_arange(t, 0.1, 0.1) == NN_OK);
  const float *p = nn_tensor_data(t);
  bool ok = true;
  for (int i = 0; i < 5; i++) ok = ok && p[i] == (float)(0.1 + i * 0.1); /* one rounding */
  CHECK(ok);
  CHECK(nn_arange(t, 1, -0.25) == NN_OK);
  CHECK(p[0] == 1 && p[4] == 0);
  nn_tensor_release(t);
}

static void test_arange_bool(void) {
  nn_tensor *t = vec(NN_BOOL, 2);
  CHECK(nn_arange(t, 0, 1) == NN_ERR_VALUE);
  CHECK(strcmp(nn_error_message(), "dtype bool is not supported") == 0);
  nn_tensor_release(t);
}

static void test_linspace(void) {
  nn_tensor *t = vec(NN_FLOAT32, 7);
  CHECK(nn_linspace(t, 0, 1) == NN_OK);
  const float *p = nn_tensor_data(t);
  bool ok = true;
  for (int i = 0; i < 7; i++)
    ok = ok && p[i] == (float)(i < 3 ? (1 / 6.0) * i : 1 - (1 / 6.0) * (6 - i));
  CHECK(ok);
  CHECK(p[0] == 0 && p[6] == 1);
  CHECK(nn_linspace(t, 3, -3) == NN_OK);
  CHECK(p[0] == 3 && p[3] == 0 && p[6] == -3);
  nn_tensor_release(t);
  t = vec(NN_FLOAT32, 1);
  CHECK(nn_linspace(t, 5, 9) == NN_OK);
  CHECK(((float *)nn_tensor_data(t))[0] == 5);
  nn_tensor_release(t);
  t = vec(NN_FLOAT32, 0);
  CHECK(nn_linspace(t, 5, 9) == NN_OK);
  nn_tensor_release(t);
}

/* Every element of an n x m eye of dtype, through its double value. */
static bool is_eye(int64_t n, int64_t m, nn_dtype dtype) {
  int64_t shape[2] = {n, m};
  nn_tensor *t = nn_tensor_empty(dtype, 2, shape);
  memset(nn_tensor_data(t), 0x5A, (size_t)(n * m) * nn_dtype_size(dtype)); /* garbage first */
  bool ok = nn_eye(t) == NN_OK;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) {
      int64_t k = i * m + j;
      double v = dtype == NN_FLOAT32 ? ((float *)nn_tensor_data(t))[k]
                 : dtype == NN_INT64 ? (double)((int64_t *)nn_tensor_data(t))[k]
                                     : ((bool *)nn_tensor_data(t))[k];
      ok = ok && v == (i == j);
    }
  nn_tensor_release(t);
  return ok;
}

static void test_eye(void) {
  CHECK(is_eye(3, 3, NN_FLOAT32));
  CHECK(is_eye(4, 2, NN_FLOAT32));
  CHECK(is_eye(2, 5, NN_INT64));
  CHECK(is_eye(3, 4, NN_BOOL));
  CHECK(is_eye(0, 3, NN_FLOAT32));
  CHECK(is_eye(1, 1, NN_INT64));
}

int main(void) {
  RUN(test_arange_int64);
  RUN(test_arange_float32);
  RUN(test_arange_bool);
  RUN(test_linspace);
  RUN(test_eye);
  return check_summary();
}
