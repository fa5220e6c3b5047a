/*
 * Data-augmentation kernels (see nn_transform.h): flips, bilinear warps
 * (rotation, zoom), padded crops and per-channel normalization over a
 * whole batch, each sample with its own parameters.
 */
#include "nn_transform.h"

#include <assert.h>
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

/*
 * The warp. Output pixel (i, j) of a sample with matrix m samples the
 * source point
 *   sx = bx + m0*dx,  sy = by + m2*dx,  dx = j - cx,
 *   bx = cx + m1*dy,  by = cy + m3*dy,  dy = i - cy,
 * each step rounded to float in this order everywhere. Where all four
 * neighbours are inside (0 <= sx < W-1 and 0 <= sy < H-1, "interior") it
 * interpolates with lerps, top = p00 + ax*(p01 - p00) and so on; near the
 * border, (-1, W) x (-1, H), with the weighted sum w00*p00 + w01*p01 +
 * w10*p10 + w11*p11 whose missing neighbours get weight 0; farther out
 * it writes 0. Which formula a pixel gets depends only on its source
 * point, so the result equals that of a plain per-pixel loop bit for bit
 * (tests/runtime/test_transform.c keeps one as the reference).
 *
 * Speed: sx and sy are monotone in j (every rounding step above is), so a
 * row's interior columns are one run, found once per row (interior_span).
 * The run and the border columns on either side are each done in blocks:
 * first the coordinates and weights of the block, branch-free so the
 * compiler vectorizes it, then per channel the reads and the sum.
 */

/* One output row of one sample: what its source points depend on. */
typedef struct warp_row {
  float bx, by, m0, m2, cx; /* sx, sy of column j: row_sx, row_sy */
  float xmax, ymax;         /* W-1, H-1: the interior bounds */
  float wf, hf;             /* W, H: the border bounds */
  int32_t w, h;
} warp_row;

/* Columns per block: the coordinate arrays stay on the stack, in L1. */
enum { WARP_BLOCK = 64 };

static inline float row_sx(const warp_row *r, int64_t j) { return r->bx + r->m0 * ((float)j - r->cx); }
static inline float row_sy(const warp_row *r, int64_t j) { return r->by + r->m2 * ((float)j - r->cx); }

/* Whether column j of row r samples the interior. */
static inline bool row_inside(const warp_row *r, int64_t j) {
  float sx = row_sx(r, j), sy = row_sy(r, j);
  return sx >= 0 && sx < r->xmax && sy >= 0 && sy < r->ymax;
}

/* Narrows [*lo, *hi) towards the columns j where b + m*(j - cx) lies in
 * [0, len), solved in double: an estimate, refined by interior_span.
 * Comparisons written so a NaN leaves the bounds alone. */
static void solve_span(double *lo, double *hi, float b, float m, float cx, float len) {
  if (m == 0) {
    if (!(b >= 0 && b < len)) *hi = -1;
    return;
  }
  double at0 = cx - (double)b / m, atlen = cx + ((double)len - b) / m;
  double first = m > 0 ? at0 : atlen, last = m > 0 ? atlen : at0;
  if (first > *lo) *lo = first;
  if (last + 1 < *hi) *hi = last + 1;
}

/* The interior columns [*jlo, *jhi) of row r (an empty run when none).
 * The solved estimate is off by a column or so from rounding: it is
 * shrunk until both its ends are interior (then all of it is, being a
 * run), and grown while its neighbours are too. When it shrinks to
 * nothing, a scan of the row finds a start, so the run found is always
 * the whole interior. */
static void interior_span(int64_t *jlo, int64_t *jhi, const warp_row *r, int64_t w) {
  double lo = 0, hi = (double)w;
  solve_span(&lo, &hi, r->bx, r->m0, r->cx, r->xmax);
  solve_span(&lo, &hi, r->by, r->m2, r->cx, r->ymax);
  int64_t a = 0, b = 0;
  if (lo < hi) a = (int64_t)lo, b = (int64_t)hi; /* 0 <= lo < hi <= w */
  while (a < b && !row_inside(r, a)) a++;
  while (b > a && !row_inside(r, b - 1)) b--;
  if (a == b) {
    for (a = 0; a < w && !row_inside(r, a); a++) {}
    b = a < w ? a + 1 : a;
  }
  while (a > 0 && row_inside(r, a - 1)) a--;
  while (b < w && row_inside(r, b)) b++;
  *jlo = a, *jhi = b;
}

/* out (C,H,W) row r at columns [jlo, jhi), all interior; out and x point
 * at channel 0, out at the row's column 0. Per block: the corners and
 * fractions (truncation is floor, as sx, sy >= 0), then per channel the
 * two horizontal pairs of neighbours, each one 8-byte copy, and the
 * lerps. The first and last loops vectorize; the middle one is the
 * gather. */
static void warp_interior(float *restrict out, const float *restrict x, const warp_row *r,
                          int64_t jlo, int64_t jhi, int64_t c, int64_t plane) {
  int32_t at[WARP_BLOCK];
  float ax[WARP_BLOCK], ay[WARP_BLOCK], top[2 * WARP_BLOCK], bot[2 * WARP_BLOCK];
  const float bx = r->bx, by = r->by, m0 = r->m0, m2 = r->m2, cx = r->cx;
  const int32_t w = r->w;
  for (int64_t j0 = jlo; j0 < jhi; j0 += WARP_BLOCK) {
    int32_t len = (int32_t)(jhi - j0 < WARP_BLOCK ? jhi - j0 : WARP_BLOCK), jb = (int32_t)j0;
    for (int32_t k = 0; k < len; k++) {
      float dx = (float)(jb + k) - cx;
      float sx = bx + m0 * dx, sy = by + m2 * dx;
      int32_t x0 = (int32_t)sx, y0 = (int32_t)sy;
      at[k] = y0 * w + x0;
      ax[k] = sx - (float)x0, ay[k] = sy - (float)y0;
    }
    for (int64_t ch = 0; ch < c; ch++) {
      const float *p = x + ch * plane;
      float *o = out + ch * plane + j0;
      for (int32_t k = 0; k < len; k++) {
        memcpy(top + 2 * k, p + at[k], 2 * sizeof *top);
        memcpy(bot + 2 * k, p + at[k] + w, 2 * sizeof *bot);
      }
      for (int32_t k = 0; k < len; k++) {
        float t = top[2 * k] + ax[k] * (top[2 * k + 1] - top[2 * k]);
        float b = bot[2 * k] + ax[k] * (bot[2 * k + 1] - bot[2 * k]);
        o[k] = t + ay[k] * (b - t);
      }
    }
  }
}

/* out (C,H,W) row r at columns [jlo, jhi), none interior: the weighted
 * sum of the neighbours inside, 0 for points farther out than a pixel.
 * Same pointers as warp_interior. The reads of a missing neighbour are
 * clamped into the image; its weight is 0. */
static void warp_border(float *restrict out, const float *restrict x, const warp_row *r,
                        int64_t jlo, int64_t jhi, int64_t c, int64_t plane) {
  int32_t xa[WARP_BLOCK], xb[WARP_BLOCK], ya[WARP_BLOCK], yb[WARP_BLOCK];
  float w00[WARP_BLOCK], w01[WARP_BLOCK], w10[WARP_BLOCK], w11[WARP_BLOCK];
  bool near[WARP_BLOCK];
  const float bx = r->bx, by = r->by, m0 = r->m0, m2 = r->m2, cx = r->cx;
  const int32_t w = r->w, h = r->h;
  for (int64_t j0 = jlo; j0 < jhi; j0 += WARP_BLOCK) {
    int32_t len = (int32_t)(jhi - j0 < WARP_BLOCK ? jhi - j0 : WARP_BLOCK), jb = (int32_t)j0;
    for (int32_t k = 0; k < len; k++) {
      float dx = (float)(jb + k) - cx;
      float sx = bx + m0 * dx, sy = by + m2 * dx;
      bool in = sx > -1.0f && sx < r->wf && sy > -1.0f && sy < r->hf;
      /* floor as truncation of a positive number; far points use pixel 0 */
      int32_t x0 = (int32_t)(in ? sx + 1.0f : 1.0f) - 1, y0 = (int32_t)(in ? sy + 1.0f : 1.0f) - 1;
      float ax = sx - (float)x0, ay = sy - (float)y0;
      bool in_x0 = x0 >= 0, in_x1 = x0 + 1 < w, in_y0 = y0 >= 0, in_y1 = y0 + 1 < h;
      w00[k] = in_y0 && in_x0 ? (1 - ay) * (1 - ax) : 0;
      w01[k] = in_y0 && in_x1 ? (1 - ay) * ax : 0;
      w10[k] = in_y1 && in_x0 ? ay * (1 - ax) : 0;
      w11[k] = in_y1 && in_x1 ? ay * ax : 0;
      xa[k] = in_x0 ? x0 : 0, xb[k] = in_x1 ? x0 + 1 : w - 1;
      ya[k] = in_y0 ? y0 : 0, yb[k] = in_y1 ? y0 + 1 : h - 1;
      near[k] = in;
    }
    for (int64_t ch = 0; ch < c; ch++) {
      const float *p = x + ch * plane;
      float *o = out + ch * plane + j0;
      for (int32_t k = 0; k < len; k++) {
        const float *ra = p + (int64_t)ya[k] * w, *rb = p + (int64_t)yb[k] * w;
        float v = w00[k] * ra[xa[k]] + w01[k] * ra[xb[k]] + w10[k] * rb[xa[k]] + w11[k] * rb[xb[k]];
        o[k] = near[k] ? v : 0;
      }
    }
  }
}

void nn_kernel_warp(float *out, const float *x, const float *m,
                    int64_t n, int64_t c, int64_t h, int64_t w) {
  assert(w < INT32_MAX && h < INT32_MAX);
  int64_t plane = h * w;
  float cy = (float)(h - 1) * 0.5f;
  warp_row r = {.cx = (float)(w - 1) * 0.5f, .xmax = (float)(w - 1), .ymax = (float)(h - 1),
                .wf = (float)w, .hf = (float)h, .w = (int32_t)w, .h = (int32_t)h};
  for (int64_t s = 0; s < n; s++) {
    const float *ms = m + 4 * s;
    const float *xs = x + s * c * plane;
    float *os = out + s * c * plane;
    r.m0 = ms[0], r.m2 = ms[2];
    for (int64_t i = 0; i < h; i++) {
      float dy = (float)i - cy;
      r.bx = r.cx + ms[1] * dy, r.by = cy + ms[3] * dy;
      int64_t jlo, jhi;
      interior_span(&jlo, &jhi, &r, w);
      float *orow = os + i * w;
      warp_border(orow, xs, &r, 0, jlo, c, plane);
      warp_interior(orow, xs, &r, jlo, jhi, c, plane);
      warp_border(orow, xs, &r, jhi, w, c, plane);
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
