/* nn_transform: the augmentation kernels against naive loops — flips and
 * crops exact, warps that land on whole pixels exact (rotation by 0 and 90
 * degrees, zoom 1), a half-pixel shift averaging neighbours. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "nn_random.h"
#include "nn_transform.h"

enum { N = 3, C = 2, H = 5, W = 7 };
#define IDX(s, c, i, j) ((((s) * C + (c)) * H + (i)) * W + (j))

static float x[N * C * H * W], out[N * C * H * W];

static void fill(void) {
  nn_rng r;
  nn_rng_seed(&r, 7);
  nn_rng_uniform(&r, x, N * C * H * W, -1, 1);
}

static void test_hflip(void) {
  fill();
  uint8_t flip[N] = {1, 0, 1};
  nn_kernel_hflip(out, x, flip, N, C, H, W);
  bool ok = true;
  for (int s = 0; s < N; s++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++)
          ok = ok && out[IDX(s, c, i, j)] == x[IDX(s, c, i, flip[s] ? W - 1 - j : j)];
  CHECK(ok);
}

static void test_crop(void) {
  fill();
  enum { OH = 4, OW = 6, PAD = 2 };
  int64_t top[N] = {0, 2, 5}, left[N] = {0, 3, 5};
  static float o[N * C * OH * OW];
  nn_kernel_crop(o, x, top, left, N, C, H, W, OH, OW, PAD);
  bool ok = true;
  for (int s = 0; s < N; s++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < OH; i++)
        for (int j = 0; j < OW; j++) {
          int64_t r = top[s] + i - PAD, q = left[s] + j - PAD;
          float want = r >= 0 && r < H && q >= 0 && q < W ? x[IDX(s, c, r, q)] : 0;
          ok = ok && o[((s * C + c) * OH + i) * OW + j] == want;
        }
  CHECK(ok);
}

static void test_warp_identity(void) {
  fill();
  float m[4 * N];
  nn_transform_rotation(m, 0);
  nn_transform_scale(m + 4, 1);
  nn_transform_rotation(m + 8, 360);
  nn_kernel_warp(out, x, m, N, C, H, W);
  CHECK(memcmp(out, x, sizeof x) == 0);
}

/* On a square image a quarter turn counter-clockwise is torch.rot90:
 * out[i][j] = x[j][S-1-i]; -90 degrees: out[i][j] = x[S-1-j][i]. */
static void test_rotate_90(void) {
  enum { S = 6 };
  float sq[2 * S * S], o[2 * S * S], m[8];
  for (int k = 0; k < 2 * S * S; k++) sq[k] = (float)k;
  nn_transform_rotation(m, 90);
  nn_transform_rotation(m + 4, -90);
  nn_kernel_warp(o, sq, m, 2, 1, S, S);
  bool ok = true;
  for (int i = 0; i < S; i++)
    for (int j = 0; j < S; j++) {
      ok = ok && o[i * S + j] == sq[j * S + (S - 1 - i)];
      ok = ok && o[S * S + i * S + j] == sq[S * S + (S - 1 - j) * S + i];
    }
  CHECK(ok);
}

/* A zoom by 2 about the centre of a 1x4 row samples 0.75 + (j - 1.5)/2:
 * columns 0.75, 1.25, 1.75, 2.25 -> linear interpolation of the row. */
static void test_scale_bilinear(void) {
  float row[4] = {0, 4, 8, 16}, o[4], m[4];
  nn_transform_scale(m, 2);
  nn_kernel_warp(o, row, m, 1, 1, 1, 4);
  CHECK_NEAR(o[0], 3, 1e-6);
  CHECK_NEAR(o[1], 5, 1e-6);
  CHECK_NEAR(o[2], 7, 1e-6);
  CHECK_NEAR(o[3], 10, 1e-6);
  /* zoom out by 2: column j of 8 samples 3.5 + 2 (j - 3.5) = 2j - 3.5 */
  float wide[8] = {1, 1, 1, 1, 1, 1, 1, 1}, ow[8];
  nn_transform_scale(m, 0.5);
  nn_kernel_warp(ow, wide, m, 1, 1, 1, 8);
  CHECK(ow[0] == 0 && ow[1] == 0 && ow[6] == 0 && ow[7] == 0);
  CHECK_NEAR(ow[2], 1, 1e-6); /* 0.5: between two ones */
  CHECK_NEAR(ow[5], 1, 1e-6);
  /* factor 7/8: the edge columns sample -0.5 and 7.5, half outside -> 0.5 */
  nn_transform_scale(m, 0.875);
  nn_kernel_warp(ow, wide, m, 1, 1, 1, 8);
  CHECK_NEAR(ow[0], 0.5, 1e-6);
  CHECK_NEAR(ow[7], 0.5, 1e-6);
  CHECK_NEAR(ow[1], 1, 1e-6);
}

static void test_normalize(void) {
  fill();
  float mean[C] = {0.5f, -1}, sd[C] = {2, 0.25f};
  nn_kernel_normalize(out, x, mean, sd, N, C, H * W);
  bool ok = true;
  for (int s = 0; s < N; s++)
    for (int c = 0; c < C; c++)
      for (int k = 0; k < H * W; k++)
        ok = ok && out[(s * C + c) * H * W + k] == (x[(s * C + c) * H * W + k] - mean[c]) / sd[c];
  CHECK(ok);
}

int main(void) {
  RUN(test_hflip);
  RUN(test_crop);
  RUN(test_warp_identity);
  RUN(test_rotate_90);
  RUN(test_scale_bilinear);
  RUN(test_normalize);
  return check_summary();
}
