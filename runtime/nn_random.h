/*
 * nn_random: the engine's random number generator.
 *
 * xoshiro256** (Blackman & Vigna, 2018) seeded through splitmix64: fast,
 * 256 bits of state, passes BigCrush. Draws are sequential and never
 * depend on the thread count, so one seed gives bit-identical tensors.
 *   uniform  [0,1): the top 24 bits of a draw, times 2^-24 (exact floats);
 *   normal:  Box–Muller on two uniforms, both outputs used in order;
 *   integers: Lemire's unbiased bounded draw.
 * The state is a plain struct so checkpoints can save and restore it.
 */
#ifndef NN_RANDOM_H
#define NN_RANDOM_H

#include <stdint.h>

typedef struct nn_rng {
  uint64_t s[4];
} nn_rng;

void nn_rng_seed(nn_rng *rng, uint64_t seed);
uint64_t nn_rng_next(nn_rng *rng);
/* A uniform integer in [0, bound); bound > 0. */
uint64_t nn_rng_below(nn_rng *rng, uint64_t bound);

/* out (n): uniform in [lo, hi). */
void nn_rng_uniform(nn_rng *rng, float *out, int64_t n, float lo, float hi);
/* out (n): normal with the given mean and std. */
void nn_rng_normal(nn_rng *rng, float *out, int64_t n, float mean, float std);
/* out (n): integers in [lo, hi); hi > lo. */
void nn_rng_randint(nn_rng *rng, int64_t *out, int64_t n, int64_t lo, int64_t hi);
/* out (n): a random permutation of first, first+1, ..., first+n-1. */
void nn_rng_permutation(nn_rng *rng, int64_t *out, int64_t n, int64_t first);

#endif
