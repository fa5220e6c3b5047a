/*
 * A minimal test harness for the C unit tests of runtime/.
 *
 *   static void test_add(void) { CHECK(x == 1); CHECK_NEAR(y, 0.5, 1e-6); }
 *   int main(void) { RUN(test_add); return check_summary(); }
 */
#ifndef NN_TEST_CHECK_H
#define NN_TEST_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>

static int check_failures, check_count;

#define CHECK(cond)                                                              \
  do {                                                                           \
    check_count++;                                                               \
    if (!(cond)) {                                                               \
      check_failures++;                                                          \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
    }                                                                            \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                    \
  do {                                                                           \
    double check_a_ = (a), check_b_ = (b);                                       \
    check_count++;                                                               \
    if (!(fabs(check_a_ - check_b_) <= (tol))) {                                 \
      check_failures++;                                                          \
      fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (tol %g)\n", __FILE__,    \
              __LINE__, #a, check_a_, check_b_, (double)(tol));                  \
    }                                                                            \
  } while (0)

#define RUN(test)                                                                \
  do {                                                                           \
    int before_ = check_failures;                                                \
    test();                                                                      \
    printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #test);       \
  } while (0)

/* Test data: xorshift64, uniform in [-1, 1). A test wanting other data
 * sets rng_state first. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline double rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (double)(rng_state >> 11) / (double)(1ull << 52) - 1.0;
}

static inline int check_summary(void) {
  printf("%d checks, %d failed\n", check_count, check_failures);
  return check_failures ? 1 : 0;
}

#endif
