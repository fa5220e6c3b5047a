/*
 * Dropout: each element is kept with probability 1 - p and multiplied by
 * scale (1/(1-p) for inverted dropout, 1 for the classic form); the mask
 * holds 0 or scale so the backward is one multiply.
 */
#include "nn_autograd.h"
#include "nn_iter.h"
#include "nn_layers.h"

void nn_kernel_dropout_forward(float *y, float *mask, const float *x, int64_t n, float p, float scale,
                        nn_rng *rng) {
  nn_rng_uniform(rng, mask, n, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; i++) {
    mask[i] = mask[i] < p ? 0.0f : scale;
    y[i] = x[i] * mask[i];
  }
}

/* Input x; saved mask (x's shape, contiguous): gx += g * mask. */
bool nn_dropout_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const float *gp = nn_tensor_data(g), *m = nn_tensor_data(n->saved[0]);
  float *o = nn_tensor_data(gi[0]);
  int64_t count = nn_tensor_numel(g);
  for (int64_t i = 0; i < count; i++) o[i] += gp[i] * m[i];
  return true;
}
