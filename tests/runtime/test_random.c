/* nn_random: the generator against the published splitmix64/xoshiro256**
 * outputs, reproducibility, and the statistics of each distribution over
 * many samples (tolerances are several standard errors wide, and the seed
 * is fixed, so the test is deterministic). */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_random.h"

#define N_SAMPLES 1000000

static void test_known_outputs(void) {
  nn_rng r;
  nn_rng_seed(&r, 0);
  /* splitmix64 from 0 (Vigna's reference sequence) fills the state */
  CHECK(r.s[0] == 0xe220a8397b1dcdafULL && r.s[1] == 0x6e789e6aa1b965f4ULL);
  CHECK(r.s[2] == 0x06c45d188009454fULL && r.s[3] == 0xf88bb8a8724c81ecULL);
  /* xoshiro256** from that state, computed independently */
  CHECK(nn_rng_next(&r) == 0x99ec5f36cb75f2b4ULL);
  CHECK(nn_rng_next(&r) == 0xbf6e1f784956452aULL);
  CHECK(nn_rng_next(&r) == 0x1a5f849d4933e6e0ULL);
}

static void test_reproducible(void) {
  nn_rng a, b, c;
  nn_rng_seed(&a, 42);
  nn_rng_seed(&b, 42);
  nn_rng_seed(&c, 43);
  bool same = true, differs = false;
  for (int i = 0; i < 1000; i++) {
    uint64_t x = nn_rng_next(&a), y = nn_rng_next(&b), z = nn_rng_next(&c);
    same = same && x == y;
    differs = differs || x != z;
  }
  CHECK(same && differs);

  /* one draw per uniform element: two calls of 5 == one call of 10 */
  float u10[10], u5[10];
  nn_rng_seed(&a, 7);
  nn_rng_uniform(&a, u10, 10, 0, 1);
  nn_rng_seed(&a, 7);
  nn_rng_uniform(&a, u5, 5, 0, 1);
  nn_rng_uniform(&a, u5 + 5, 5, 0, 1);
  CHECK(memcmp(u10, u5, sizeof u10) == 0);

  /* a saved state replays the same stream */
  nn_rng_seed(&a, 99);
  nn_rng_next(&a);
  nn_rng saved = a;
  float n1[7], n2[7];
  nn_rng_normal(&a, n1, 7, 0, 1);
  a = saved;
  nn_rng_normal(&a, n2, 7, 0, 1);
  CHECK(memcmp(n1, n2, sizeof n1) == 0);
}

static void moments(const float *x, int64_t n, double *mean, double *std) {
  double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) s += x[i];
  *mean = s / (double)n;
  for (int64_t i = 0; i < n; i++) s2 += (x[i] - *mean) * (x[i] - *mean);
  *std = sqrt(s2 / (double)(n - 1));
}

static void test_uniform(void) {
  float *x = malloc(N_SAMPLES * sizeof *x);
  nn_rng r;
  nn_rng_seed(&r, 1234);
  nn_rng_uniform(&r, x, N_SAMPLES, 0, 1);
  float lo = 1, hi = 0;
  for (int i = 0; i < N_SAMPLES; i++) {
    if (x[i] < lo) lo = x[i];
    if (x[i] > hi) hi = x[i];
  }
  CHECK(lo >= 0 && lo < 1e-4 && hi < 1 && hi > 1 - 1e-4);
  double mean, std;
  moments(x, N_SAMPLES, &mean, &std);
  CHECK_NEAR(mean, 0.5, 0.002); /* standard error 0.0003 */
  CHECK_NEAR(std, sqrt(1.0 / 12), 0.002);
  /* ten equal bins, each 10% within 0.5% (standard error 0.03%) */
  int bins[10] = {0};
  for (int i = 0; i < N_SAMPLES; i++) bins[(int)(x[i] * 10)]++;
  bool flat = true;
  for (int b = 0; b < 10; b++) flat = flat && abs(bins[b] - N_SAMPLES / 10) < N_SAMPLES / 200;
  CHECK(flat);

  nn_rng_uniform(&r, x, N_SAMPLES, -2, 3);
  bool inside = true;
  for (int i = 0; i < N_SAMPLES; i++) inside = inside && x[i] >= -2 && x[i] < 3;
  CHECK(inside);
  moments(x, N_SAMPLES, &mean, &std);
  CHECK_NEAR(mean, 0.5, 0.01);
  /* a span so narrow that lo + span*u rounds up to hi must still stay below hi */
  nn_rng_uniform(&r, x, 1000, 1.0f, nextafterf(1.0f, 2.0f));
  inside = true;
  for (int i = 0; i < 1000; i++) inside = inside && x[i] == 1.0f;
  CHECK(inside);
  free(x);
}

static void test_normal(void) {
  float *x = malloc((N_SAMPLES + 1) * sizeof *x);
  nn_rng r;
  nn_rng_seed(&r, 5678);
  nn_rng_normal(&r, x, N_SAMPLES, 0, 1);
  double mean, std;
  moments(x, N_SAMPLES, &mean, &std);
  CHECK_NEAR(mean, 0, 0.005); /* standard error 0.001 */
  CHECK_NEAR(std, 1, 0.005);
  /* 68.27% within one sigma, 95.45% within two */
  int one = 0, two = 0;
  bool finite = true;
  for (int i = 0; i < N_SAMPLES; i++) {
    one += fabsf(x[i]) < 1;
    two += fabsf(x[i]) < 2;
    finite = finite && isfinite(x[i]);
  }
  CHECK(finite);
  CHECK_NEAR(one / (double)N_SAMPLES, 0.6827, 0.003);
  CHECK_NEAR(two / (double)N_SAMPLES, 0.9545, 0.002);

  nn_rng_normal(&r, x, N_SAMPLES, 2, 3);
  moments(x, N_SAMPLES, &mean, &std);
  CHECK_NEAR(mean, 2, 0.015);
  CHECK_NEAR(std, 3, 0.015);
  /* an odd count writes exactly n values */
  x[3] = 12345;
  nn_rng_normal(&r, x, 3, 0, 1);
  CHECK(x[3] == 12345);
  nn_rng_normal(&r, x, 0, 0, 1);
  CHECK(x[3] == 12345);
  free(x);
}

static void test_randint(void) {
  enum { N = 200000 };
  int64_t *x = malloc(N * sizeof *x);
  nn_rng r;
  nn_rng_seed(&r, 91);
  nn_rng_randint(&r, x, N, -3, 5);
  int counts[8] = {0};
  bool inside = true;
  for (int i = 0; i < N; i++) {
    inside = inside && x[i] >= -3 && x[i] < 5;
    if (x[i] >= -3 && x[i] < 5) counts[x[i] + 3]++;
  }
  CHECK(inside);
  bool flat = true; /* each value 1/8 within 3% of N/8 (standard error 0.6%) */
  for (int v = 0; v < 8; v++) flat = flat && abs(counts[v] - N / 8) < N / 8 * 3 / 100;
  CHECK(flat);

  nn_rng_randint(&r, x, 100, 7, 8); /* a single value */
  inside = true;
  for (int i = 0; i < 100; i++) inside = inside && x[i] == 7;
  CHECK(inside);

  nn_rng_randint(&r, x, 1000, INT64_MIN, INT64_MAX); /* the whole range, no overflow */
  int negative = 0;
  for (int i = 0; i < 1000; i++) negative += x[i] < 0;
  CHECK(negative > 400 && negative < 600);

  /* nn_rng_below on a bound that is not a power of two: unbiased */
  int below[3] = {0};
  for (int i = 0; i < 30000; i++) below[nn_rng_below(&r, 3)]++;
  CHECK(abs(below[0] - 10000) < 500 && abs(below[1] - 10000) < 500 && abs(below[2] - 10000) < 500);
  CHECK(nn_rng_below(&r, 1) == 0);
  free(x);
}

static bool is_permutation(const int64_t *p, int64_t n, int64_t first) {
  char *seen = calloc((size_t)n + 1, 1);
  bool ok = true;
  for (int64_t i = 0; i < n && ok; i++) {
    int64_t v = p[i] - first;
    ok = v >= 0 && v < n && !seen[v];
    if (ok) seen[v] = 1;
  }
  free(seen);
  return ok;
}

static void test_permutation(void) {
  enum { N = 1000 };
  int64_t p[N], q[N];
  nn_rng r;
  nn_rng_seed(&r, 3);
  nn_rng_permutation(&r, p, N, 1);
  CHECK(is_permutation(p, N, 1));
  int fixed = 0;
  for (int i = 0; i < N; i++) fixed += p[i] == i + 1;
  CHECK(fixed < 10); /* about one fixed point expected */
  nn_rng_permutation(&r, q, N, 0);
  CHECK(is_permutation(q, N, 0));
  CHECK(memcmp(p, q, sizeof p) != 0);

  nn_rng_permutation(&r, p, 1, 5);
  CHECK(p[0] == 5);
  nn_rng_permutation(&r, p, 0, 5); /* nothing written, no crash */

  /* all 6 orders of 3 elements, each about 1/6 of the time */
  int counts[6] = {0};
  for (int i = 0; i < 60000; i++) {
    nn_rng_permutation(&r, p, 3, 0);
    counts[p[0] * 2 + (p[1] > p[2])]++;
  }
  bool flat = true;
  for (int k = 0; k < 6; k++) flat = flat && abs(counts[k] - 10000) < 500;
  CHECK(flat);
}

int main(void) {
  RUN(test_known_outputs);
  RUN(test_reproducible);
  RUN(test_uniform);
  RUN(test_normal);
  RUN(test_randint);
  RUN(test_permutation);
  return check_summary();
}
