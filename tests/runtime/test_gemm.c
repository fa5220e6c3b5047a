/* nn_sgemm and its recorder (runtime/gemm.c): products unchanged, calls
 * recorded only while on, convolutions' im2col GEMMs split where N*P
 * overflows an int, and replay's checks. The Lua side is
 * tests/lua/gemm_record_spec.lua. */
#include <stdint.h>

#include "check.h"
#include "nn_conv.h"
#include "nn_gemm.h"
#include "nn_threads.h"

static void test_product_and_recording(void) {
  float a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {1, 0, 0, 1, 1, 1}, c[4] = {0};
  const nn_gemm_call *calls;
  bool complete = false;
  nn_gemm_record_start();
  /* [2,3] x [3,2] */
  nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1.0f, a, 3, b, 2, 0.0f, c, 2);
  nn_gemm_record_stop();
  nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1.0f, a, 3, b, 2, 1.0f, c, 2);
  CHECK(c[0] == 8 && c[1] == 10 && c[2] == 20 && c[3] == 22);
  CHECK(nn_gemm_recorded(&calls, &complete) == 1 && complete);
  CHECK(calls[0].row_major && !calls[0].ta && !calls[0].tb);
  CHECK(calls[0].m == 2 && calls[0].n == 2 && calls[0].k == 3);
  CHECK(calls[0].lda == 3 && calls[0].ldb == 2 && calls[0].ldc == 2 && calls[0].beta == 0.0f);
  CHECK_NEAR(nn_gemm_flops(&calls[0]), 24, 0);
}

static void test_conv_split(void) {
  /* N*P = 300000 * 10000 = 3e9 > INT32_MAX: chunks of 214748 images */
  nn_conv2d_geom g = {.n = 300000, .c = 2, .h = 100, .w = 100, .o = 4, .kh = 1, .kw = 1,
                      .oh = 100, .ow = 100, .sh = 1, .sw = 1, .dh = 1, .dw = 1, .groups = 1};
  const nn_gemm_call *calls;
  bool complete;
  nn_gemm_record_conv(NN_GEMM_CONV_FORWARD, &g); /* not recording: nothing */
  nn_gemm_record_start();
  CHECK(nn_gemm_recorded(&calls, &complete) == 0);
  nn_gemm_record_conv(NN_GEMM_CONV_WEIGHT_GRAD, &g);
  nn_gemm_record_stop();
  CHECK(nn_gemm_recorded(&calls, &complete) == 2);
  int64_t per = INT32_MAX / 10000;
  CHECK(calls[0].m == 4 && calls[0].n == 2 && calls[0].k == per * 10000 && calls[0].tb);
  CHECK(calls[1].k == (300000 - per) * 10000 && calls[1].beta == 1.0f);
}

static void test_replay_checks(void) {
  nn_gemm_call c = {.row_major = true, .m = 2, .n = 3, .k = 4, .lda = 4, .ldb = 3, .ldc = 3,
                    .alpha = 1.0f};
  double s = -1;
  CHECK(nn_gemm_replay(&c, 1, 1, false, 2, &s) == NN_OK && s >= 0);
  /* through the engine: on its pool at 3 threads (a product big enough
   * to split), its thread count back afterwards */
  nn_gemm_call big = {.row_major = true, .m = 64, .n = 512, .k = 512, .lda = 512, .ldb = 512,
                      .ldc = 512, .alpha = 1.0f, .beta = 1.0f};
  int threads = nn_get_num_threads();
  s = -1;
  CHECK(nn_gemm_replay(&big, 1, 3, true, 2, &s) == NN_OK && s >= 0);
  CHECK(nn_get_num_threads() == threads);
  c.ldb = 2;
  CHECK(nn_gemm_replay(&c, 1, 1, false, 1, &s) == NN_ERR_VALUE);
  c.ldb = 3, c.k = -1;
  CHECK(nn_gemm_replay(&c, 1, 1, false, 1, &s) == NN_ERR_VALUE);
}

int main(void) {
  nn_blas_setup();
  RUN(test_product_and_recording);
  RUN(test_conv_split);
  RUN(test_replay_checks);
  return check_summary();
}
