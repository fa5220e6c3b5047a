#include "nn_random.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void nn_rng_seed(nn_rng *rng, uint64_t seed) {
  for (int i = 0; i < 4; i++) rng->s[i] = splitmix64(&seed);
}

uint64_t nn_rng_next(nn_rng *rng) {
  uint64_t *s = rng->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* Lemire, "Fast Random Integer Generation in an Interval" (2019). */
uint64_t nn_rng_below(nn_rng *rng, uint64_t bound) {
  __uint128_t m = (__uint128_t)nn_rng_next(rng) * bound;
  uint64_t low = (uint64_t)m;
  if (low < bound) {
    uint64_t threshold = -bound % bound;
    while (low < threshold) {
      m = (__uint128_t)nn_rng_next(rng) * bound;
      low = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

static float unit_float(nn_rng *rng) {
  return (float)(nn_rng_next(rng) >> 40) * (1.0f / 16777216.0f);
}

void nn_rng_uniform(nn_rng *rng, float *out, int64_t n, float lo, float hi) {
  float span = hi - lo;
  for (int64_t i = 0; i < n; i++) {
    float v = lo + span * unit_float(rng);
    out[i] = v < hi ? v : lo; /* rounding must not reach hi */
  }
}

void nn_rng_normal(nn_rng *rng, float *out, int64_t n, float mean, float std) {
  for (int64_t i = 0; i < n; i += 2) {
    /* 1 - u keeps the log argument in (0, 1]. */
    double u1 = 1.0 - (double)(nn_rng_next(rng) >> 11) * 0x1.0p-53;
    double u2 = (double)(nn_rng_next(rng) >> 11) * 0x1.0p-53;
    double r = sqrt(-2.0 * log(u1)), theta = 2.0 * M_PI * u2;
    out[i] = (float)(mean + std * r * cos(theta));
    if (i + 1 < n) out[i + 1] = (float)(mean + std * r * sin(theta));
  }
}

void nn_rng_randint(nn_rng *rng, int64_t *out, int64_t n, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)hi - (uint64_t)lo;
  for (int64_t i = 0; i < n; i++) out[i] = (int64_t)((uint64_t)lo + nn_rng_below(rng, span));
}

/* Fisher–Yates. */
void nn_rng_permutation(nn_rng *rng, int64_t *out, int64_t n, int64_t first) {
  for (int64_t i = 0; i < n; i++) out[i] = first + i;
  for (int64_t i = n - 1; i > 0; i--) {
    int64_t j = (int64_t)nn_rng_below(rng, (uint64_t)i + 1);
    int64_t t = out[i];
    out[i] = out[j];
    out[j] = t;
  }
}
