/*
 * Batch normalization over x (N,C,S): per channel c,
 *   y = (x - mean_c) * invstd_c * w_c + b_c,  invstd_c = 1/sqrt(var_c + eps).
 * In training, mean/var are the batch's (biased var); in eval, the running
 * statistics. Statistics accumulate in double for accuracy.
 */
#include <math.h>

#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_layers.h"

void nn_kernel_batch_norm_stats(float *mean, float *var, const float *x, int64_t N, int64_t C, int64_t S) {
  double count = (double)(N * S);
  for (int64_t c = 0; c < C; c++) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < N; i++) {
      const float *p = x + (i * C + c) * S;
      for (int64_t s = 0; s < S; s++) sum += p[s];
    }
    double m = count > 0 ? sum / count : 0;
    for (int64_t i = 0; i < N; i++) {
      const float *p = x + (i * C + c) * S;
      for (int64_t s = 0; s < S; s++) sq += (p[s] - m) * (p[s] - m);
    }
    mean[c] = (float)m;
    var[c] = count > 0 ? (float)(sq / count) : 0.0f;
  }
}

void nn_kernel_batch_norm_forward(float *y, const float *x, const float *mean, const float *invstd,
                           const float *w, const float *b, int64_t N, int64_t C, int64_t S) {
  for (int64_t i = 0; i < N; i++)
    for (int64_t c = 0; c < C; c++) {
      float scale = invstd[c] * (w ? w[c] : 1.0f);
      float shift = (b ? b[c] : 0.0f) - mean[c] * scale;
      const float *p = x + (i * C + c) * S;
      float *q = y + (i * C + c) * S;
      for (int64_t s = 0; s < S; s++) q[s] = p[s] * scale + shift;
    }
}

/* Inputs x (N,C,S), w (C), b (C); saved x, mean, invstd, and w (if any);
 * params[0] = training (batch statistics, whose own gradient flows back). */
bool nn_batch_norm_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0];
  const float *xp = nn_tensor_data(x), *gp = nn_tensor_data(g);
  const float *mean = nn_tensor_data(n->saved[1]), *invstd = nn_tensor_data(n->saved[2]);
  const float *w = n->nsaved > 3 ? nn_tensor_data(n->saved[3]) : NULL;
  int64_t N = x->shape[0], C = x->shape[1], S = nn_tensor_numel(x) / (N * C > 0 ? N * C : 1);
  bool training = n->params[0] != 0;
  double count = (double)(N * S);
  for (int64_t c = 0; c < C; c++) {
    /* sum(g) and sum(g * xhat) over the channel. */
    double sg = 0, sgx = 0;
    for (int64_t i = 0; i < N; i++) {
      const float *gq = gp + (i * C + c) * S, *xq = xp + (i * C + c) * S;
      for (int64_t s = 0; s < S; s++) {
        sg += gq[s];
        sgx += gq[s] * (xq[s] - mean[c]) * invstd[c];
      }
    }
    if (gi[1]) ((float *)nn_tensor_data(gi[1]))[c] += (float)sgx;
    if (gi[2]) ((float *)nn_tensor_data(gi[2]))[c] += (float)sg;
    if (!gi[0]) continue;
    float wc = w ? w[c] : 1.0f, k = invstd[c] * wc;
    /* Training: dx = k (g - mean(g) - xhat mean(g xhat)); eval: dx = k g. */
    float mg = training ? (float)(sg / count) : 0.0f, mgx = training ? (float)(sgx / count) : 0.0f;
    float *o = nn_tensor_data(gi[0]);
    for (int64_t i = 0; i < N; i++) {
      const float *gq = gp + (i * C + c) * S, *xq = xp + (i * C + c) * S;
      float *oq = o + (i * C + c) * S;
      for (int64_t s = 0; s < S; s++) {
        float xhat = (xq[s] - mean[c]) * invstd[c];
        oq[s] += k * (gq[s] - mg - xhat * mgx);
      }
    }
  }
  return true;
}
