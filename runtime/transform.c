/*
 * Data-augmentation kernels (see nn_transform.h): flips, bilinear warps
 * (rotation, zoom), padded crops and per-channel normalization over a
 * whole batch, each sample with its own parameters.
 */
#include "nn_transform.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define PI 3.14159265358979323846

void nn_kernel_hflip(float *out, const float *x, const uint8_t *flip,
                     int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t plane = c * h * w;
  for (int64_t s = 0; s < n; s++) {
    const float *xs = x + s * plane;
    float *os = out + s * plane;
    if (!flip[s]) {
      memcpy(os, xs, (size_t)plane * sizeof *os);
      continue;
    }
    for (int64_t r = 0; r < c * h; r++) {
      const float *xr = xs + r * w;
      float *orow = os + r * w;
      for (int64_t j = 0; j < w; j++) orow[j] = xr[w - 1 - j];
    }
  }
}

void nn_transform_rotation(float *m, double degrees) {
  double a = degrees * (PI / 180.0);
  double co = cos(a), si = sin(a);
  /* exact for multiples of 90 degrees, so quarter turns move whole pixels */
  if (fabs(co) < 1e-12) co = 0;
  if (fabs(si) < 1e-12) si = 0;
  m[0] = (float)co, m[1] = (float)-si;
  m[2] = (float)si, m[3] = (float)co;
}

void nn_transform_scale(float *m, double factor) {
  m[0] = (float)(1.0 / factor), m[1] = 0;
  m[2] = 0, m[3] = (float)(1.0 / factor);
}

/* out (C,H,W) at one pixel: the bilinear sample of x (C,H,W) at (sx, sy)
 * near or outside the border, with missing neighbours read as 0; plane =
 * H*W is the channel stride of both. */
static void sample_border(float *out, const float *x, float sx, float sy,
                          int64_t c, int64_t h, int64_t w, int64_t plane) {
  if (!(sx > -1.0f && sx < (float)w && sy > -1.0f && sy < (float)h)) {
    for (int64_t ch = 0; ch < c; ch++) out[ch * plane] = 0;
    return;
  }
  /* floor without a libm call: sx + 1 > 0, so truncation is floor */
  int64_t x0 = (int64_t)(sx + 1.0f) - 1, y0 = (int64_t)(sy + 1.0f) - 1;
  float ax = sx - (float)x0, ay = sy - (float)y0;
  bool in_x0 = x0 >= 0, in_x1 = x0 + 1 < w, in_y0 = y0 >= 0, in_y1 = y0 + 1 < h;
  float w00 = in_y0 && in_x0 ? (1 - ay) * (1 - ax) : 0;
  float w01 = in_y0 && in_x1 ? (1 - ay) * ax : 0;
  float w10 = in_y1 && in_x0 ? ay * (1 - ax) : 0;
  float w11 = in_y1 && in_x1 ? ay * ax : 0;
  /* clamp the indices so the reads stay inside; their weight is 0 there */
  int64_t xa = in_x0 ? x0 : 0, xb = in_x1 ? x0 + 1 : w - 1;
  int64_t ya = in_y0 ? y0 : 0, yb = in_y1 ? y0 + 1 : h - 1;
  for (int64_t ch = 0; ch < c; ch++) {
    const float *p = x + ch * plane;
    out[ch * plane] = w00 * p[ya * w + xa] + w01 * p[ya * w + xb] +
                      w10 * p[yb * w + xa] + w11 * p[yb * w + xb];
  }
}

/* out (C,H,W) at one pixel: the bilinear sample of x (C,H,W) at (sx, sy)
 * with all four neighbours inside (0 <= sx < W-1, 0 <= sy < H-1). Exact
 * when sx and sy are whole numbers. */
static inline void sample_inside(float *out, const float *x, float sx, float sy,
                                 int64_t c, int64_t w, int64_t plane) {
  int64_t x0 = (int64_t)sx, y0 = (int64_t)sy;
  float ax = sx - (float)x0, ay = sy - (float)y0;
  const float *p = x + y0 * w + x0;
  for (int64_t ch = 0; ch < c; ch++, p += plane) {
    float top = p[0] + ax * (p[1] - p[0]);
    float bot = p[w] + ax * (p[w + 1] - p[w]);
    out[ch * plane] = top + ay * (bot - top);
  }
}

void nn_kernel_warp(float *out, const float *x, const float *m,
                    int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t plane = h * w;
  float cy = (float)(h - 1) * 0.5f, cx = (float)(w - 1) * 0.5f;
  float xmax = (float)(w - 1), ymax = (float)(h - 1);
  for (int64_t s = 0; s < n; s++) {
    const float *ms = m + 4 * s;
    const float *xs = x + s * c * plane;
    float *os = out + s * c * plane;
    for (int64_t i = 0; i < h; i++) {
      float dy = (float)i - cy;
      float bx = cx + ms[1] * dy, by = cy + ms[3] * dy;
      for (int64_t j = 0; j < w; j++) {
        float dx = (float)j - cx;
        float sx = bx + ms[0] * dx, sy = by + ms[2] * dx;
        if (sx >= 0 && sx < xmax && sy >= 0 && sy < ymax)
          sample_inside(os + i * w + j, xs, sx, sy, c, w, plane);
        else
          sample_border(os + i * w + j, xs, sx, sy, c, h, w, plane);
      }
    }
  }
}

void nn_kernel_crop(float *out, const float *x, const int64_t *top,
                    const int64_t *left, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t oh, int64_t ow, int64_t pad) {
  for (int64_t s = 0; s < n; s++) {
    for (int64_t ch = 0; ch < c; ch++) {
      const float *xp = x + (s * c + ch) * h * w;
      float *op = out + (s * c + ch) * oh * ow;
      int64_t r0 = top[s] - pad, c0 = left[s] - pad;
      /* columns [jlo, jhi) of the output fall inside x */
      int64_t jlo = c0 < 0 ? -c0 : 0, jhi = w - c0 < ow ? w - c0 : ow;
      if (jhi < jlo) jhi = jlo;
      for (int64_t i = 0; i < oh; i++) {
        float *orow = op + i * ow;
        int64_t r = r0 + i;
        if (r < 0 || r >= h) {
          memset(orow, 0, (size_t)ow * sizeof *orow);
          continue;
        }
        memset(orow, 0, (size_t)jlo * sizeof *orow);
        if (jhi > jlo) memcpy(orow + jlo, xp + r * w + c0 + jlo, (size_t)(jhi - jlo) * sizeof *orow);
        memset(orow + jhi, 0, (size_t)(ow - jhi) * sizeof *orow);
      }
    }
  }
}

void nn_kernel_normalize(float *out, const float *x, const float *mean,
                         const float *std, int64_t n, int64_t c, int64_t hw) {
  for (int64_t s = 0; s < n; s++) {
    for (int64_t ch = 0; ch < c; ch++) {
      const float *xp = x + (s * c + ch) * hw;
      float *op = out + (s * c + ch) * hw;
      float mu = mean[ch], sd = std[ch];
      for (int64_t k = 0; k < hw; k++) op[k] = (xp[k] - mu) / sd;
    }
  }
}

void nn_kernel_add_into(float *out, const float *x, int64_t n) {
  for (int64_t k = 0; k < n; k++) out[k] += x[k];
}
