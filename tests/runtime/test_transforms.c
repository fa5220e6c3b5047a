/* nn_transform: the augmentation kernels against naive loops — flips and
 * crops exact, warps that land on whole pixels exact (rotation by 0 and 90
 * degrees, zoom 1), a half-pixel shift averaging neighbours; the blocked
 * warp against the per-pixel loop it replaced, on rotations, zooms and
 * arbitrary matrices of odd sizes; and the warp with a flip and a crop
 * against the three kernels one after the other. Then the entry points:
 * each against its kernel fed the draws made by hand in the documented
 * order, the generator left where those draws leave it, one image as a
 * batch of one, and a refused scratch allocation (NN_ERR_NOMEM, nothing
 * drawn). */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_random.h"
#include "nn_tensor.h"
#include "nn_transforms.h"

enum { N = 3, C = 2, H = 5, W = 7 };
#define IDX(s, c, i, j) ((((s) * C + (c)) * H + (i)) * W + (j))

static float x[N * C * H * W], out[N * C * H * W], pad[4096];

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

/* nn_kernel_crop of x at the given offsets (in the padded image) against
 * a naive loop. */
static bool crop_matches(int64_t oh, int64_t ow, int64_t p, const int64_t *top,
                         const int64_t *left) {
  static float o[N * C * 64];
  nn_kernel_crop(o, x, top, left, N, C, H, W, oh, ow, p);
  bool ok = true;
  for (int s = 0; s < N; s++)
    for (int c = 0; c < C; c++)
      for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
          int64_t r = top[s] + i - p, q = left[s] + j - p;
          float want = r >= 0 && r < H && q >= 0 && q < W ? x[IDX(s, c, r, q)] : 0;
          ok = ok && o[((s * C + c) * oh + i) * ow + j] == want;
        }
  return ok;
}

static void test_crop(void) {
  fill();
  int64_t top[N] = {0, 2, 5}, left[N] = {0, 3, 5};
  CHECK(crop_matches(4, 6, 2, top, left));
  /* padding wider than the crop: windows wholly in it are zero */
  int64_t top2[N] = {0, 4, 9}, left2[N] = {0, 11, 5};
  CHECK(crop_matches(2, 3, 4, top2, left2));
}

/* The plain warp: no flip, no crop. */
static void warp(float *o, const float *in, const float *m, int64_t n, int64_t c, int64_t h,
                 int64_t w) {
  nn_kernel_warp(o, pad, in, m, NULL, NULL, NULL, n, c, h, w, h, w);
}

static void test_warp_identity(void) {
  fill();
  float m[4 * N];
  nn_transform_rotation(m, 0);
  nn_transform_scale(m + 4, 1);
  nn_transform_rotation(m + 8, 360);
  warp(out, x, m, N, C, H, W);
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
  warp(o, sq, m, 2, 1, S, S);
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
  warp(o, row, m, 1, 1, 1, 4);
  CHECK_NEAR(o[0], 3, 1e-6);
  CHECK_NEAR(o[1], 5, 1e-6);
  CHECK_NEAR(o[2], 7, 1e-6);
  CHECK_NEAR(o[3], 10, 1e-6);
  /* zoom out by 2: column j of 8 samples 3.5 + 2 (j - 3.5) = 2j - 3.5 */
  float wide[8] = {1, 1, 1, 1, 1, 1, 1, 1}, ow[8];
  nn_transform_scale(m, 0.5);
  warp(ow, wide, m, 1, 1, 1, 8);
  CHECK(ow[0] == 0 && ow[1] == 0 && ow[6] == 0 && ow[7] == 0);
  CHECK_NEAR(ow[2], 1, 1e-6); /* 0.5: between two ones */
  CHECK_NEAR(ow[5], 1, 1e-6);
  /* factor 7/8: the edge columns sample -0.5 and 7.5, half outside -> 0.5 */
  nn_transform_scale(m, 0.875);
  warp(ow, wide, m, 1, 1, 1, 8);
  CHECK_NEAR(ow[0], 0.5, 1e-6);
  CHECK_NEAR(ow[7], 0.5, 1e-6);
  CHECK_NEAR(ow[1], 1, 1e-6);
}

/*
 * The reference: the per-pixel warp that nn_kernel_warp replaced, as it
 * was. Interior points (all four neighbours inside) interpolate with the
 * same lerps, so they must match it bit for bit; near the border it summed
 * weighted neighbours instead, which rounds differently, so there the two
 * may differ by an ulp or so.
 */

static void ref_border(float *out, const float *x, float sx, float sy, int64_t c, int64_t h,
                       int64_t w, int64_t plane) {
  if (!(sx > -1.0f && sx < (float)w && sy > -1.0f && sy < (float)h)) {
    for (int64_t ch = 0; ch < c; ch++) out[ch * plane] = 0;
    return;
  }
  int64_t x0 = (int64_t)(sx + 1.0f) - 1, y0 = (int64_t)(sy + 1.0f) - 1;
  float ax = sx - (float)x0, ay = sy - (float)y0;
  bool in_x0 = x0 >= 0, in_x1 = x0 + 1 < w, in_y0 = y0 >= 0, in_y1 = y0 + 1 < h;
  float w00 = in_y0 && in_x0 ? (1 - ay) * (1 - ax) : 0;
  float w01 = in_y0 && in_x1 ? (1 - ay) * ax : 0;
  float w10 = in_y1 && in_x0 ? ay * (1 - ax) : 0;
  float w11 = in_y1 && in_x1 ? ay * ax : 0;
  int64_t xa = in_x0 ? x0 : 0, xb = in_x1 ? x0 + 1 : w - 1;
  int64_t ya = in_y0 ? y0 : 0, yb = in_y1 ? y0 + 1 : h - 1;
  for (int64_t ch = 0; ch < c; ch++) {
    const float *p = x + ch * plane;
    out[ch * plane] = w00 * p[ya * w + xa] + w01 * p[ya * w + xb] +
                      w10 * p[yb * w + xa] + w11 * p[yb * w + xb];
  }
}

static void ref_inside(float *out, const float *x, float sx, float sy, int64_t c, int64_t w,
                       int64_t plane) {
  int64_t x0 = (int64_t)sx, y0 = (int64_t)sy;
  float ax = sx - (float)x0, ay = sy - (float)y0;
  const float *p = x + y0 * w + x0;
  for (int64_t ch = 0; ch < c; ch++, p += plane) {
    float top = p[0] + ax * (p[1] - p[0]);
    float bot = p[w] + ax * (p[w + 1] - p[w]);
    out[ch * plane] = top + ay * (bot - top);
  }
}

/* The source point of output pixel (i, j), as the reference computes it. */
static void ref_source(float *sx, float *sy, const float *ms, int64_t i, int64_t j, int64_t h,
                       int64_t w) {
  float cy = (float)(h - 1) * 0.5f, cx = (float)(w - 1) * 0.5f;
  float dy = (float)i - cy, dx = (float)j - cx;
  float bx = cx + ms[1] * dy, by = cy + ms[3] * dy;
  *sx = bx + ms[0] * dx, *sy = by + ms[2] * dx;
}

static bool ref_interior(float sx, float sy, int64_t h, int64_t w) {
  return sx >= 0 && sx < (float)(w - 1) && sy >= 0 && sy < (float)(h - 1);
}

static void ref_warp(float *out, const float *x, const float *m, int64_t n, int64_t c, int64_t h,
                     int64_t w) {
  int64_t plane = h * w;
  for (int64_t s = 0; s < n; s++)
    for (int64_t i = 0; i < h; i++)
      for (int64_t j = 0; j < w; j++) {
        float sx, sy;
        ref_source(&sx, &sy, m + 4 * s, i, j, h, w);
        float *o = out + s * c * plane + i * w + j;
        if (ref_interior(sx, sy, h, w))
          ref_inside(o, x + s * c * plane, sx, sy, c, w, plane);
        else
          ref_border(o, x + s * c * plane, sx, sy, c, h, w, plane);
      }
}

/* Fills m (n,4) with sample s's matrix of kind k: rotations, zooms or
 * arbitrary matrices (shears, mirrors, near-singular ones). */
static void matrices(float *m, int64_t n, int kind, nn_rng *r) {
  static const double angles[] = {0, 90, -90, 180, 10, -7.3, 45, 1e-3, 359, 30.5, -135};
  static const double factors[] = {0.3, 0.5, 1, 2.5, 0.875, 1.7, 0.999};
  for (int64_t s = 0; s < n; s++) {
    float *ms = m + 4 * s;
    if (kind == 0) {
      nn_transform_rotation(ms, angles[(s * 7 + 3) % 11]);
    } else if (kind == 1) {
      nn_transform_scale(ms, factors[(s * 5 + 1) % 7]);
    } else {
      nn_rng_uniform(r, ms, 4, -1.5f, 1.5f);
      if (s % 3 == 1) ms[1] = ms[2] = 0; /* an axis-aligned one */
      if (s % 3 == 2) ms[0] *= 1e-4f;    /* near-singular */
    }
  }
}

/* One shape and kind against the reference: interior pixels exact, the
 * rest within 1e-6 (values in [-1, 1]); counts what it compared. */
static void compare_with_reference(int64_t n, int64_t c, int64_t h, int64_t w, int kind,
                                   int64_t *interior, int64_t *border) {
  int64_t numel = n * c * h * w;
  float *in = malloc(sizeof(float) * numel), *got = malloc(sizeof(float) * numel);
  float *want = malloc(sizeof(float) * numel), *m = malloc(sizeof(float) * 4 * n);
  float *scratch = malloc(sizeof(float) * c * (h + 2) * (w + 2));
  nn_rng r;
  nn_rng_seed(&r, (uint64_t)(h * 1000 + w * 10 + kind));
  nn_rng_uniform(&r, in, numel, -1, 1);
  matrices(m, n, kind, &r);
  nn_kernel_warp(got, scratch, in, m, NULL, NULL, NULL, n, c, h, w, h, w);
  ref_warp(want, in, m, n, c, h, w);
  bool exact = true, close = true;
  for (int64_t s = 0; s < n; s++)
    for (int64_t i = 0; i < h; i++)
      for (int64_t j = 0; j < w; j++) {
        float sx, sy;
        ref_source(&sx, &sy, m + 4 * s, i, j, h, w);
        bool inside = ref_interior(sx, sy, h, w);
        *(inside ? interior : border) += c;
        for (int64_t ch = 0; ch < c; ch++) {
          int64_t k = ((s * c + ch) * h + i) * w + j;
          if (inside) exact = exact && got[k] == want[k];
          close = close && fabsf(got[k] - want[k]) <= 1e-6f;
        }
      }
  CHECK(exact);
  CHECK(close);
  if (!exact || !close)
    fprintf(stderr, "  shape %lldx%lldx%lldx%lld, matrices of kind %d\n", (long long)n,
            (long long)c, (long long)h, (long long)w, kind);
  free(in), free(got), free(want), free(m), free(scratch);
}

/* Shapes: MNIST, odd sizes, single rows and columns, more pixels than a
 * block (512) and rows longer than one. */
static void test_warp_matches_reference(void) {
  static const int64_t shapes[][4] = {
      {4, 1, 28, 28}, {3, 3, 5, 7}, {3, 1, 1, 4}, {3, 2, 9, 1},  {2, 1, 23, 37},
      {2, 3, 2, 600}, {3, 1, 40, 40}, {1, 1, 1, 1}, {5, 3, 32, 32}, {2, 1, 17, 513},
  };
  int64_t interior = 0, border = 0;
  for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++)
    for (int kind = 0; kind < 3; kind++)
      compare_with_reference(shapes[k][0], shapes[k][1], shapes[k][2], shapes[k][3], kind,
                             &interior, &border);
  CHECK(interior > 10000 && border > 10000); /* both paths were compared */
}

/* Points farther than a pixel from the image give 0 whatever the image
 * holds. */
static void test_warp_far_is_zero(void) {
  float img[16], o[16], m[4];
  for (int k = 0; k < 16; k++) img[k] = k % 2 ? INFINITY : NAN;
  nn_transform_scale(m, 0.25); /* the corners sample about 4 pixels out */
  warp(o, img, m, 1, 1, 4, 4);
  CHECK(o[0] == 0 && o[3] == 0 && o[12] == 0 && o[15] == 0);
  CHECK(!signbit(o[0]));
}

/* The warp with a flip and a crop equals nn_kernel_hflip, the plain warp
 * and nn_kernel_crop in turn, bit for bit, with crops larger and smaller
 * than the image and windows partly or wholly outside it. */
static void test_warp_flip_crop(void) {
  enum { NS = 6, CS = 3, HS = 11, WS = 9 };
  static const int64_t crops[][3] = {{11, 9, 4}, {7, 5, 0}, {20, 3, 6}, {2, 30, 12}, {1, 1, 1}};
  static float in[NS * CS * HS * WS], flipped[NS * CS * HS * WS], warped[NS * CS * HS * WS];
  static float seq[NS * CS * 40 * 40], fused[NS * CS * 40 * 40];
  nn_rng r;
  nn_rng_seed(&r, 11);
  nn_rng_uniform(&r, in, NS * CS * HS * WS, -1, 1);
  float m[4 * NS];
  matrices(m, NS, 0, &r);
  uint8_t flip[NS] = {1, 0, 1, 1, 0, 0};
  nn_kernel_hflip(flipped, in, flip, NS, CS, HS, WS);
  warp(warped, flipped, m, NS, CS, HS, WS);
  for (size_t k = 0; k < sizeof crops / sizeof crops[0]; k++) {
    int64_t oh = crops[k][0], ow = crops[k][1], p = crops[k][2];
    int64_t top[NS], left[NS], top_p[NS], left_p[NS];
    for (int s = 0; s < NS; s++) {
      top_p[s] = (int64_t)nn_rng_below(&r, (uint64_t)(HS + 2 * p - oh + 1));
      left_p[s] = (int64_t)nn_rng_below(&r, (uint64_t)(WS + 2 * p - ow + 1));
      top[s] = top_p[s] - p, left[s] = left_p[s] - p;
    }
    nn_kernel_crop(seq, warped, top_p, left_p, NS, CS, HS, WS, oh, ow, p);
    nn_kernel_warp(fused, pad, in, m, flip, top, left, NS, CS, HS, WS, oh, ow);
    CHECK(memcmp(seq, fused, sizeof(float) * NS * CS * oh * ow) == 0);
  }
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


/* ---- entry points ---- */

/* A (N,C,H,W) (or (C,H,W) when ndim 3) float32 tensor of x's values. */
static nn_tensor *input(int ndim) {
  fill();
  int64_t shape[4] = {N, C, H, W};
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape + (4 - ndim));
  memcpy(nn_tensor_data(t), x, sizeof(float) * (size_t)nn_tensor_numel(t));
  return t;
}

static nn_tensor *output(int ndim, int64_t oh, int64_t ow) {
  int64_t shape[4] = {N, C, oh, ow};
  return nn_tensor_empty(NN_FLOAT32, ndim, shape + (4 - ndim));
}

/* Two generators from one seed: one for the entry point, one for the
 * draws by hand; after the call both must be at the same point. */
static nn_rng ra, rb;
static void seed(uint64_t s) { nn_rng_seed(&ra, s), nn_rng_seed(&rb, s); }
static bool in_step(void) { return nn_rng_next(&ra) == nn_rng_next(&rb); }

static bool same(const nn_tensor *t, const float *want) {
  return memcmp(nn_tensor_data(t), want, sizeof(float) * (size_t)nn_tensor_numel(t)) == 0;
}

/* The flips the entry points draw: u < p, one uniform per sample. */
static void hand_flips(uint8_t *flip, int64_t n, double p) {
  for (int64_t s = 0; s < n; s++) {
    float u;
    nn_rng_uniform(&rb, &u, 1, 0, 1);
    flip[s] = u < p;
  }
}

static void test_hflip_entry(void) {
  nn_tensor *in = input(4), *o = output(4, H, W);
  static float want[N * C * H * W];
  uint8_t flip[N];
  seed(3);
  CHECK(nn_hflip(o, in, &ra, 0.5) == NN_OK);
  hand_flips(flip, N, 0.5);
  nn_kernel_hflip(want, x, flip, N, C, H, W);
  CHECK(same(o, want) && in_step());
  /* p 0 copies, p 1 flips every sample */
  uint8_t all[N] = {1, 1, 1};
  CHECK(nn_hflip(o, in, &ra, 0) == NN_OK && same(o, x));
  CHECK(nn_hflip(o, in, &ra, 1) == NN_OK);
  nn_kernel_hflip(want, x, all, N, C, H, W);
  CHECK(same(o, want));
  nn_tensor_release(in);
  nn_tensor_release(o);
}

/* nn_warp with a flip, a rotation or zoom and a crop, against the draws
 * by hand: flips, then one value per sample, then (top, left) per sample. */
static void check_warp_entry(const nn_warp_args *a, int64_t oh, int64_t ow) {
  nn_tensor *in = input(4), *o = output(4, oh, ow);
  static float want[N * C * 64 * 64];
  uint8_t flip[N];
  float m[4 * N];
  int64_t top[N], left[N];
  seed(5);
  CHECK(nn_warp(o, in, &ra, a) == NN_OK);
  if (a->flip_p >= 0) hand_flips(flip, N, a->flip_p);
  for (int s = 0; s < N; s++) {
    float u;
    nn_rng_uniform(&rb, &u, 1, 0, 1);
    double v = a->lo + (a->hi - a->lo) * (double)u;
    if (a->kind == NN_WARP_ROTATE) nn_transform_rotation(m + 4 * s, v);
    else nn_transform_scale(m + 4 * s, v);
  }
  for (int s = 0; a->crop && s < N; s++) {
    top[s] = (int64_t)nn_rng_below(&rb, (uint64_t)(H + 2 * a->pad - oh + 1)) - a->pad;
    left[s] = (int64_t)nn_rng_below(&rb, (uint64_t)(W + 2 * a->pad - ow + 1)) - a->pad;
  }
  nn_kernel_warp(want, pad, x, m, a->flip_p >= 0 ? flip : NULL, a->crop ? top : NULL,
                 a->crop ? left : NULL, N, C, H, W, oh, ow);
  CHECK(same(o, want) && in_step());
  nn_tensor_release(in);
  nn_tensor_release(o);
}

static void test_warp_entry(void) {
  nn_warp_args rotate = {.flip_p = -1, .kind = NN_WARP_ROTATE, .lo = -30, .hi = 30};
  check_warp_entry(&rotate, H, W);
  nn_warp_args zoom = {.flip_p = 0.5, .kind = NN_WARP_SCALE, .lo = 0.8, .hi = 1.25};
  check_warp_entry(&zoom, H, W);
  nn_warp_args all = {.flip_p = 0.5, .kind = NN_WARP_ROTATE, .lo = -10, .hi = 10,
                      .crop = true, .pad = 2};
  check_warp_entry(&all, 4, 9);
  all.pad = 0;
  check_warp_entry(&all, H, W); /* a crop of the whole image still draws its offsets */
}

static void test_random_crop_entry(void) {
  enum { OH = 4, OW = 6, PAD = 2 };
  nn_tensor *in = input(4), *o = output(4, OH, OW);
  static float want[N * C * OH * OW];
  int64_t top[N], left[N];
  seed(9);
  CHECK(nn_random_crop(o, in, &ra, PAD) == NN_OK);
  for (int s = 0; s < N; s++) {
    top[s] = (int64_t)nn_rng_below(&rb, H + 2 * PAD - OH + 1);
    left[s] = (int64_t)nn_rng_below(&rb, W + 2 * PAD - OW + 1);
  }
  nn_kernel_crop(want, x, top, left, N, C, H, W, OH, OW, PAD);
  CHECK(same(o, want) && in_step());
  nn_tensor_release(in);
  nn_tensor_release(o);
}

static void test_gaussian_noise_entry(void) {
  nn_tensor *in = input(4), *o = output(4, H, W);
  static float want[N * C * H * W];
  seed(13);
  CHECK(nn_gaussian_noise(o, in, &ra, 0.25) == NN_OK);
  nn_rng_normal(&rb, want, N * C * H * W, 0, 0.25f);
  for (int k = 0; k < N * C * H * W; k++) want[k] += x[k];
  CHECK(same(o, want) && in_step());
  nn_tensor_release(in);
  nn_tensor_release(o);
}

/* One value for every channel, or one per channel; one image [C,H,W] is
 * a batch of one. */
static void test_normalize_entry(void) {
  static float want[N * C * H * W];
  float mean[C] = {0.5f, -1}, sd[C] = {2, 0.25f}, one_mean[C] = {0.5f, 0.5f}, one_sd[C] = {2, 2};
  for (int ndim = 3; ndim <= 4; ndim++) {
    int64_t n = ndim == 4 ? N : 1;
    nn_tensor *in = input(ndim), *o = output(ndim, H, W);
    nn_normalize_args a = {mean, sd, C, C};
    CHECK(nn_normalize(o, in, &a) == NN_OK);
    nn_kernel_normalize(want, x, mean, sd, n, C, H * W);
    CHECK(same(o, want));
    nn_normalize_args b = {mean, sd, 1, 1}; /* mean[0], sd[0] everywhere */
    CHECK(nn_normalize(o, in, &b) == NN_OK);
    nn_kernel_normalize(want, x, one_mean, one_sd, n, C, H * W);
    CHECK(same(o, want));
    nn_tensor_release(in);
    nn_tensor_release(o);
  }
}

/* One image [C,H,W] warps as a batch of one. */
static void test_single_image(void) {
  nn_tensor *in = input(3), *o = output(3, H, W);
  static float want[C * H * W];
  float m[4];
  seed(17);
  nn_warp_args a = {.flip_p = -1, .kind = NN_WARP_ROTATE, .lo = 0, .hi = 90};
  CHECK(nn_warp(o, in, &ra, &a) == NN_OK);
  float u;
  nn_rng_uniform(&rb, &u, 1, 0, 1);
  nn_transform_rotation(m, 90.0 * (double)u);
  nn_kernel_warp(want, pad, x, m, NULL, NULL, NULL, 1, C, H, W, H, W);
  CHECK(same(o, want) && in_step());
  nn_tensor_release(in);
  nn_tensor_release(o);
}

/* A refused scratch allocation: NN_ERR_NOMEM before anything is drawn. */
static void test_entry_nomem(void) {
  nn_tensor *in = input(4), *o = output(4, H, W);
  nn_warp_args a = {.flip_p = 0.5, .kind = NN_WARP_SCALE, .lo = 1, .hi = 2, .crop = true};
  float one = 1;
  nn_normalize_args na = {&one, &one, 1, 1};
  for (uint64_t k = 1; k <= 4; k++) {
    seed(21);
    nn_alloc_fail_after(k);
    CHECK(nn_warp(o, in, &ra, &a) == NN_ERR_NOMEM);
    CHECK(in_step());
  }
  seed(21);
  nn_alloc_fail_after(1);
  CHECK(nn_hflip(o, in, &ra, 0.5) == NN_ERR_NOMEM && in_step());
  nn_alloc_fail_after(1);
  CHECK(nn_random_crop(o, in, &ra, 0) == NN_ERR_NOMEM && in_step());
  nn_alloc_fail_after(2);
  CHECK(nn_normalize(o, in, &na) == NN_ERR_NOMEM);
  nn_alloc_fail_after(0);
  nn_tensor_release(in);
  nn_tensor_release(o);
}

int main(void) {
  RUN(test_hflip);
  RUN(test_crop);
  RUN(test_warp_identity);
  RUN(test_rotate_90);
  RUN(test_scale_bilinear);
  RUN(test_warp_matches_reference);
  RUN(test_warp_far_is_zero);
  RUN(test_warp_flip_crop);
  RUN(test_normalize);
  RUN(test_hflip_entry);
  RUN(test_warp_entry);
  RUN(test_random_crop_entry);
  RUN(test_gaussian_noise_entry);
  RUN(test_normalize_entry);
  RUN(test_single_image);
  RUN(test_entry_nomem);
  return check_summary();
}
