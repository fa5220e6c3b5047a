/*
 * Batch normalization over x (N,C,S): per channel c,
 *   y = (x - mean_c) * invstd_c * w_c + b_c,  invstd_c = 1/sqrt(var_c + eps).
 * In training, mean/var are the batch's (biased var); in eval, the running
 * statistics. Statistics accumulate in double for accuracy.
 *
 * Channels are independent: the statistics and the backward split the
 * channels over the engine's pool (each channel's sums stay on one
 * thread, in the same order: deterministic), the forward the (n, c)
 * planes.
 */
#include <math.h>

#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_norm.h"
#include "nn_threads.h"

/* Elements per part of the pool. */
enum { GRAIN = 32768 };

/* Units per part when each unit has `size` elements. */
static int64_t grain_of(int64_t size) { return size >= GRAIN ? 1 : GRAIN / (size < 1 ? 1 : size); }

typedef struct stats_job {
  float *mean, *var;
  const float *x;
  int64_t N, C, S;
} stats_job;

static void stats_channels(void *ctx, int64_t c0, int64_t c1) {
  const stats_job *j = ctx;
  float *mean = j->mean, *var = j->var;
  const float *x = j->x;
  int64_t N = j->N, C = j->C, S = j->S;
  double count = (double)(N * S);
  for (int64_t c = c0; c < c1; c++) {
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

void nn_kernel_batch_norm_stats(float *mean, float *var, const float *x, int64_t N, int64_t C, int64_t S) {
  stats_job j = {mean, var, x, N, C, S};
  nn_parallel_for(C, grain_of(N * S), stats_channels, &j);
}

typedef struct forward_job {
  float *y;
  const float *x, *mean, *invstd, *w, *b;
  int64_t C, S;
} forward_job;

static void forward_planes(void *ctx, int64_t p0, int64_t p1) {
  const forward_job *j = ctx;
  const float *x = j->x, *mean = j->mean, *invstd = j->invstd, *w = j->w, *b = j->b;
  float *y = j->y;
  int64_t C = j->C, S = j->S;
  for (int64_t plane = p0; plane < p1; plane++) { /* plane = i * C + c */
    int64_t c = plane % C;
    float scale = invstd[c] * (w ? w[c] : 1.0f);
    float shift = (b ? b[c] : 0.0f) - mean[c] * scale;
    const float *p = x + plane * S;
    float *q = y + plane * S;
    for (int64_t s = 0; s < S; s++) q[s] = p[s] * scale + shift;
  }
}

void nn_kernel_batch_norm_forward(float *y, const float *x, const float *mean, const float *invstd,
                                  const float *w, const float *b, int64_t N, int64_t C, int64_t S) {
  forward_job j = {y, x, mean, invstd, w, b, C, S};
  nn_parallel_for(N * C, grain_of(S), forward_planes, &j);
}

/* Training: the batch's mean and invstd (x contiguous), and the running
 * statistics given moved towards them, with the unbiased variance. */
static void batch_statistics(float *mean, float *invstd, const float *x, int64_t N, int64_t C, int64_t S,
                             nn_tensor *running_mean, nn_tensor *running_var, const nn_batch_norm_args *args) {
  nn_kernel_batch_norm_stats(mean, invstd, x, N, C, S);
  double momentum = args->momentum, unbias = (double)(N * S) / (double)(N * S - 1);
  float *rm = running_mean ? nn_tensor_data(running_mean) : NULL;
  float *rv = running_var ? nn_tensor_data(running_var) : NULL;
  for (int64_t c = 0; c < C; c++) {
    if (rm) rm[c] = (float)((1 - momentum) * rm[c] + momentum * mean[c]);
    if (rv) rv[c] = (float)((1 - momentum) * rv[c] + momentum * invstd[c] * unbias);
    invstd[c] = (float)(1 / sqrt((double)invstd[c] + args->eps));
  }
}

/* Eval: the running statistics as mean and invstd. */
static void running_statistics(float *mean, float *invstd, const nn_tensor *running_mean,
                               const nn_tensor *running_var, int64_t C, double eps) {
  const float *rm = nn_tensor_data(running_mean), *rv = nn_tensor_data(running_var);
  for (int64_t c = 0; c < C; c++) {
    mean[c] = rm[c];
    invstd[c] = (float)(1 / sqrt((double)rv[c] + eps));
  }
}

nn_status nn_batch_norm(nn_tensor *out, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                        nn_tensor *running_mean, nn_tensor *running_var,
                        const nn_batch_norm_args *args) {
  if (!args->training && (!running_mean || !running_var))
    return nn_fail("eval mode needs running_mean and running_var");
  int64_t N = x->shape[0], C = x->shape[1], S = nn_shape_numel(x->ndim - 2, x->shape + 2);
  nn_tensor *copy = NULL, *mean = nn_tensor_empty(NN_FLOAT32, 1, &C), *invstd = nn_tensor_empty(NN_FLOAT32, 1, &C);
  const nn_tensor *xc;
  nn_status st = mean && invstd ? nn_contiguous(x, &copy, &xc) : NN_ERR_NOMEM;
  if (!st) {
    float *mp = nn_tensor_data(mean), *ip = nn_tensor_data(invstd);
    if (args->training)
      batch_statistics(mp, ip, nn_tensor_data(xc), N, C, S, running_mean, running_var, args);
    else
      running_statistics(mp, ip, running_mean, running_var, C, args->eps);
    nn_kernel_batch_norm_forward(nn_tensor_data(out), nn_tensor_data(xc), mp, ip, w ? nn_tensor_data(w) : NULL,
                                 b ? nn_tensor_data(b) : NULL, N, C, S);
    nn_node *node;
    st = nn_record(&node, NN_OP_BATCH_NORM, out, 3, (nn_tensor *[]){(nn_tensor *)x, (nn_tensor *)w, (nn_tensor *)b});
    if (!st && node) {
      node->args.batch_norm = *args;
      st = nn_node_save(node, xc);
      if (!st) st = nn_node_save(node, mean);
      if (!st) st = nn_node_save(node, invstd);
      if (!st && w) st = nn_node_save(node, w);
    }
  }
  nn_tensor_release(copy);
  nn_tensor_release(mean);
  nn_tensor_release(invstd);
  return st;
}

/* Inputs x (N,C,S), w (C), b (C); saved x, mean, invstd, and w (if any);
 * args.batch_norm.training: batch statistics, whose own gradient flows back. */
typedef struct backward_job {
  const nn_node *n;
  const nn_tensor *g;
  nn_tensor *const *gi;
} backward_job;

static void backward_channels(void *ctx, int64_t c0, int64_t c1) {
  const backward_job *j = ctx;
  const nn_node *n = j->n;
  nn_tensor *const *gi = j->gi;
  const nn_tensor *x = n->saved[0];
  const float *xp = nn_tensor_data(x), *gp = nn_tensor_data(j->g);
  const float *mean = nn_tensor_data(n->saved[1]), *invstd = nn_tensor_data(n->saved[2]);
  const float *w = n->nsaved > 3 ? nn_tensor_data(n->saved[3]) : NULL;
  int64_t N = x->shape[0], C = x->shape[1], S = nn_tensor_numel(x) / (N * C > 0 ? N * C : 1);
  bool training = n->args.batch_norm.training;
  double count = (double)(N * S);
  for (int64_t c = c0; c < c1; c++) {
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
}

bool nn_batch_norm_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0];
  int64_t N = x->shape[0], C = x->shape[1], S = nn_tensor_numel(x) / (N * C > 0 ? N * C : 1);
  backward_job j = {n, g, gi};
  nn_parallel_for(C, grain_of(N * S), backward_channels, &j);
  return true;
}
