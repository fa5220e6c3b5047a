/*
 * nn_vecmath: inline float helpers shared by the softmax (activation.c)
 * and the losses (loss.c).
 *
 * libm's expf does not vectorize (without -ffast-math), and softmax rows
 * are mostly exponentials, so these are written for the vectorizer: float
 * selects on computed values block it (they may trap), so special cases
 * are picked with integer masks on the bits, and sums use independent
 * lanes instead of one running (order-dependent) total.
 */
#ifndef NN_VECMATH_H
#define NN_VECMATH_H

#include <math.h>
#include <stdint.h>

/* expf(x) within 2 ulp, as Cephes' expf (Cody-Waite reduction, degree-6
 * polynomial), in a form the compiler vectorizes. 0 below -87.33 (where
 * expf goes subnormal), inf above 88, NaN kept. Softmax calls it on
 * x - max <= 0 and on log-probabilities. */
static inline float nn_exp_vec(float x) {
  union { float f; uint32_t u; } xb = {.f = x}, xs, tb, scale, out;
  uint32_t mag = xb.u & 0x7fffffffu, neg = xb.u >> 31;
  uint32_t nan = mag > 0x7f800000u;
  uint32_t tiny = neg & (mag > 0x42AEA8F6u) & !nan;         /* x < -87.33 */
  uint32_t huge = (neg ^ 1u) & (mag > 0x42B00000u) & !nan;  /* x > 88 */
  uint32_t normal = (tiny | huge | nan) - 1u;               /* all ones, or 0 */
  xs.u = xb.u & normal; /* special cases compute exp(0), then get replaced */
  float xc = xs.f;
  tb.f = xc * 1.44269504f + 12582912.0f; /* 1.5 * 2^23: rounds to an integer n */
  float n = tb.f - 12582912.0f;
  float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f; /* xc - n ln 2 */
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  scale.u = (tb.u - 0x4B400000u + 127u) << 23; /* 2^n from n's bits in tb */
  out.f = (p * r * r + r + 1.0f) * scale.f;
  out.u = (out.u & normal) | (xb.u & (0u - nan)) | (0x7f800000u & (0u - huge));
  return out.f;
}

/* Sum of n floats in eight independent lanes (n small: the caller blocks). */
static inline float nn_lane_sum(const float *v, int64_t n) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int k = 0; k < 8; k++) lane[k] += v[i + k];
  for (; i < n; i++) lane[i & 7] += v[i];
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* The max of C values st apart (-inf for none; NaNs are skipped). */
static inline float nn_row_max(const float *x, int64_t C, int64_t st) {
  float lane[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                   -INFINITY, -INFINITY, -INFINITY, -INFINITY};
  int64_t c = 0;
  for (; c + 8 <= C; c += 8)
    for (int k = 0; k < 8; k++) lane[k] = x[(c + k) * st] > lane[k] ? x[(c + k) * st] : lane[k];
  for (; c < C; c++) lane[0] = x[c * st] > lane[0] ? x[c * st] : lane[0];
  float m = lane[0];
  for (int k = 1; k < 8; k++) m = lane[k] > m ? lane[k] : m;
  return m;
}

/* sum exp(x - m) over C values st apart, each also stored in e unless e
 * is NULL. Blocks of 256 exponentials, lane-summed, totals in double. */
static inline double nn_row_sum_exp(float *e, const float *x, int64_t C, int64_t st, float m) {
  float buf[256];
  double total = 0;
  for (int64_t c0 = 0; c0 < C; c0 += 256) {
    int64_t len = C - c0 < 256 ? C - c0 : 256;
    const float *xr = x + c0 * st;
    for (int64_t i = 0; i < len; i++) buf[i] = nn_exp_vec(xr[i * st] - m);
    if (e)
      for (int64_t i = 0; i < len; i++) e[(c0 + i) * st] = buf[i];
    total += nn_lane_sum(buf, len);
  }
  return total;
}

#endif
