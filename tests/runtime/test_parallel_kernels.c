/* The kernels that split their work over the engine's pool give the
 * same bits at 3 threads as at 1 (elementwise results are computed
 * alike whatever the split; reductions keep each sum on one thread or,
 * for loss sums, are deterministic per thread count and near the serial
 * sum), on sizes big enough to split, with broadcasting, views, odd
 * lengths and walks that sum into their output. */
#include <string.h>

#include "check.h"
#include "nn_activation.h"
#include "nn_autograd.h"
#include "nn_index.h"
#include "nn_loss.h"
#include "nn_norm.h"
#include "nn_optim.h"
#include "nn_pool.h"
#include "nn_threads.h"
#include "nn_transforms.h"
#include "tensors.h"

/* Runs fill(out) at 1 thread and at 3 (the pool's split) and compares
 * n floats bit for bit. */
static bool same_bits(void (*fill)(float *out), int64_t n) {
  float *one = calloc((size_t)n, sizeof(float)), *three = calloc((size_t)n, sizeof(float));
  nn_set_num_threads(1);
  fill(one);
  nn_set_num_threads(3);
  fill(three);
  bool same = memcmp(one, three, sizeof(float) * (size_t)n) == 0;
  free(one);
  free(three);
  return same;
}

enum { R = 301, C = 433, N = R * C }; /* 130333 elements: several parts, odd lengths */

static float *xs, *ys, *zs; /* N random values each */

static nn_tensor *wrap(float *p, int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  memcpy(nn_tensor_data(t), p, sizeof(float) * (size_t)nn_tensor_numel(t));
  return t;
}

static void unwrap(float *out, nn_tensor *t) {
  memcpy(out, nn_tensor_data(t), sizeof(float) * (size_t)nn_tensor_numel(t));
  nn_tensor_release(t);
}

/* ---- elementwise ---- */

static void binary_flat(float *out) {
  int64_t s[] = {N};
  nn_tensor *a = wrap(xs, 1, s), *b = wrap(ys, 1, s), *o = nn_tensor_empty(NN_FLOAT32, 1, s);
  nn_binary(NN_OP_DIV, o, a, b);
  nn_tensor_release(a), nn_tensor_release(b);
  unwrap(out, o);
}

static void binary_broadcast(float *out) {
  int64_t col[] = {R, 1}, row[] = {1, C}, full[] = {R, C};
  nn_tensor *a = wrap(xs, 2, col), *b = wrap(ys, 2, row), *o = nn_tensor_empty(NN_FLOAT32, 2, full);
  nn_binary(NN_OP_MUL, o, a, b);
  nn_tensor_release(a), nn_tensor_release(b);
  unwrap(out, o);
}

static void unary_view(float *out) {
  int64_t full[] = {R, C};
  rng_state = 7;
  nn_tensor *a = random_tensor(2, full, true), *o = nn_tensor_empty(NN_FLOAT32, 2, full);
  nn_unary(NN_OP_TANH, o, a);
  nn_tensor_release(a);
  unwrap(out, o);
}

static void copy_view(float *out) {
  int64_t full[] = {R, C};
  rng_state = 8;
  nn_tensor *a = random_tensor(2, full, true), *o = nn_tensor_empty(NN_FLOAT32, 2, full);
  nn_copy(o, a);
  nn_tensor_release(a);
  unwrap(out, o);
}

/* A walk whose output has a zero stride: the sum over rows into [C]. */
static void accumulate_rows(float *out) {
  int64_t full[] = {R, C}, row[] = {C};
  nn_tensor *g = wrap(xs, 2, full), *dst = nn_tensor_zeros(NN_FLOAT32, 1, row);
  nn_accumulate(dst, g);
  nn_tensor_release(g);
  unwrap(out, dst);
}

static void fill_zero_view(float *out) {
  int64_t full[] = {R, C};
  nn_tensor *a = wrap(xs, 2, full), *o = nn_tensor_view(a, 2, full, a->stride, a->offset);
  nn_fill(o, 0); /* contiguous: the memset path */
  nn_tensor_release(o);
  unwrap(out, a);
}

/* index_select of whole slices: rows of [R, C] (dim 0), and the middle
 * dim of [R, 7, C/7'] so each outer block has its own slices. */
static void select_rows(float *out) {
  int64_t full[] = {R, C}, n = 2 * R, idx_shape[] = {n}, out_shape[] = {n, C};
  nn_tensor *t = wrap(xs, 2, full), *idx = nn_tensor_empty(NN_INT64, 1, idx_shape);
  int64_t *k = nn_tensor_data(idx);
  for (int64_t i = 0; i < n; i++) k[i] = 1 + (i * 7919) % R; /* 1-based, repeats */
  nn_tensor *o = nn_tensor_empty(NN_FLOAT32, 2, out_shape);
  nn_kernel_index_select(o, t, 0, idx);
  int64_t cube[] = {R, 7, 61}, picks[] = {3}, cube_out[] = {R, 3, 61};
  nn_tensor *t3 = wrap(ys, 3, cube), *idx3 = nn_tensor_empty(NN_INT64, 1, picks);
  int64_t *k3 = nn_tensor_data(idx3);
  k3[0] = 7, k3[1] = 1, k3[2] = 7;
  nn_tensor *o3 = nn_tensor_empty(NN_FLOAT32, 3, cube_out);
  nn_kernel_index_select(o3, t3, 1, idx3);
  memcpy(out + n * C, nn_tensor_data(o3), sizeof(float) * (size_t)(R * 3 * 61));
  nn_tensor_release(t), nn_tensor_release(idx), nn_tensor_release(t3), nn_tensor_release(idx3);
  nn_tensor_release(o3);
  unwrap(out, o);
}

static void test_elementwise(void) {
  CHECK(same_bits(binary_flat, N));
  CHECK(same_bits(binary_broadcast, N));
  CHECK(same_bits(unary_view, N));
  CHECK(same_bits(copy_view, N));
  CHECK(same_bits(accumulate_rows, C));
  CHECK(same_bits(fill_zero_view, N));
  CHECK(same_bits(select_rows, 2 * N + R * 3 * 61));
  /* and the selections are right */
  float *got = calloc(2 * N + R * 3 * 61, sizeof(float)), *zero = calloc(N, sizeof(float));
  nn_set_num_threads(3);
  fill_zero_view(zero);
  CHECK(zero[0] == 0 && zero[N - 1] == 0 && !signbit(zero[N / 2]));
  select_rows(got);
  int64_t i = 2 * R - 1, src = (i * 7919) % R;
  CHECK(got[i * C] == xs[src * C] && got[i * C + C - 1] == xs[src * C + C - 1]);
  const float *sel = got + 2 * N; /* [r, j, c] = ys[r, {7, 1, 7}[j], c] */
  CHECK(sel[(5 * 3 + 0) * 61 + 4] == ys[(5 * 7 + 6) * 61 + 4]);
  CHECK(sel[(5 * 3 + 1) * 61 + 60] == ys[(5 * 7 + 0) * 61 + 60]);
  CHECK(sel[((R - 1) * 3 + 2) * 61] == ys[((R - 1) * 7 + 6) * 61]);
  free(got), free(zero);
  /* and the accumulation is right: column 5 */
  float *sum = calloc(C, sizeof(float));
  nn_set_num_threads(3);
  accumulate_rows(sum);
  double want = 0;
  for (int r = 0; r < R; r++) want += xs[r * C + 5];
  CHECK_NEAR(sum[5], want, 1e-3);
  free(sum);
}

/* ---- activations, softmax ---- */

static void gelu_forward(float *out) {
  int64_t s[] = {R, C};
  nn_tensor *x = wrap(xs, 2, s), *o = nn_tensor_empty(NN_FLOAT32, 2, s);
  nn_gelu(o, x, &(nn_gelu_args){.tanh = false});
  nn_tensor_release(x);
  unwrap(out, o);
}

static void softmax_both(float *out) {
  nn_kernel_softmax_forward(out, xs, R, C, 1, false);
  memcpy(out + N, ys, sizeof(float) * N);
  nn_kernel_softmax_backward(out + N, zs, out, R, C, 1, true);
}

static void test_activations(void) {
  CHECK(same_bits(gelu_forward, N));
  CHECK(same_bits(softmax_both, 2 * N));
}

/* ---- pooling, batch norm ---- */

static const nn_pool2d_geom pool_geom = {.planes = 130, .h = 31, .w = 32, .oh = 15, .ow = 16, .kh = 2,
                                         .kw = 2, .sh = 2, .sw = 2, .dh = 1, .dw = 1};

static void max_pool_both(float *out) {
  int64_t outs = 130 * 15 * 16, *idx = calloc((size_t)outs, sizeof(int64_t));
  nn_kernel_max_pool2d_forward(out, idx, xs, &pool_geom);
  memset(out + outs, 0, sizeof(float) * 130 * 31 * 32);
  nn_kernel_max_pool2d_backward(out + outs, ys, idx, &pool_geom);
  free(idx);
}

static void avg_pool_both(float *out) {
  nn_pool2d_geom g = pool_geom;
  g.kh = g.kw = 3, g.ph = g.pw = 1, g.oh = 16, g.ow = 16;
  int64_t outs = 130 * 16 * 16;
  nn_kernel_avg_pool2d_forward(out, xs, &g);
  memset(out + outs, 0, sizeof(float) * 130 * 31 * 32);
  nn_kernel_avg_pool2d_backward(out + outs, ys, &g);
}

static void adaptive_pool(float *out) { nn_kernel_adaptive_avg_pool2d_forward(out, xs, 130, 31, 32, 5, 7); }

static void batch_norm(float *out) {
  enum { BN = 13, BC = 37, BS = 271 }; /* BN*BC*BS = 130351 > N: stays in xs */
  float *mean = out, *var = out + BC;
  nn_kernel_batch_norm_stats(mean, var, xs, BN, BC, BS - 1);
  for (int c = 0; c < BC; c++) var[c] = 1.0f / sqrtf(var[c] + 1e-5f);
  nn_kernel_batch_norm_forward(out + 2 * BC, xs, mean, var, ys, zs, BN, BC, BS - 1);
}

static void test_pool_and_norm(void) {
  CHECK(same_bits(max_pool_both, 130 * 15 * 16 + 130 * 31 * 32));
  CHECK(same_bits(avg_pool_both, 130 * 16 * 16 + 130 * 31 * 32));
  CHECK(same_bits(adaptive_pool, 130 * 5 * 7));
  CHECK(same_bits(batch_norm, 2 * 37 + 13 * 37 * 270));
}

/* ---- optimizers, losses ---- */

static void adam(float *out) {
  memcpy(out, xs, sizeof(float) * N);
  float *m = calloc(N, sizeof(float)), *v = calloc(N, sizeof(float)), *mx = calloc(N, sizeof(float));
  for (int step = 1; step <= 3; step++)
    nn_adam_step(out, m, v, mx, ys, N, &(nn_adam_opts){.lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8,
                                                        .weight_decay = 0.01, .step = step, .decoupled = true});
  free(m), free(v), free(mx);
}

static void sgd(float *out) {
  memcpy(out, xs, sizeof(float) * N);
  float *buf = calloc(N, sizeof(float));
  for (int step = 0; step < 3; step++)
    nn_sgd_step(out, ys, buf, N, &(nn_sgd_opts){.lr = 0.1, .momentum = 0.9, .first_step = step == 0});
  free(buf);
}

static void pointwise_loss(float *out) {
  memset(out, 0, sizeof(float) * 2 * N);
  out[2 * N] = (float)nn_kernel_pointwise_loss_forward(NN_LOSS_HUBER, out, xs, ys, NULL, NULL, 0.5f, N);
  nn_kernel_pointwise_loss_backward(NN_LOSS_HUBER, out + N, NULL, zs, 1, 0.25f, xs, ys, NULL, NULL, 0.5f, N);
}

static void plain_sgd(float *out) { /* no momentum, no decay: its own loop */
  memcpy(out, xs, sizeof(float) * N);
  for (int step = 0; step < 3; step++) nn_sgd_step(out, ys, NULL, N, &(nn_sgd_opts){.lr = 0.1});
}

static void test_optim_and_loss(void) {
  CHECK(same_bits(adam, N));
  CHECK(same_bits(sgd, N));
  CHECK(same_bits(plain_sgd, N));
  float *p = calloc(N, sizeof(float));
  plain_sgd(p);
  CHECK(p[17] == (xs[17] + -0.1f * ys[17]) + -0.1f * ys[17] + -0.1f * ys[17]);
  free(p);
  /* the elementwise parts are exact; the sum is deterministic per thread
   * count and near the serial one */
  float *a = calloc(2 * N + 1, sizeof(float)), *b = calloc(2 * N + 1, sizeof(float));
  nn_set_num_threads(1);
  pointwise_loss(a);
  nn_set_num_threads(3);
  pointwise_loss(b);
  CHECK(memcmp(a, b, sizeof(float) * 2 * N) == 0);
  CHECK_NEAR(b[2 * N], a[2 * N], 1e-6 * fabs(a[2 * N]));
  float again = b[2 * N];
  pointwise_loss(b);
  CHECK(b[2 * N] == again);
  free(a), free(b);
}

/* ---- transforms ---- */

enum { TN = 40, TC = 3, TH = 33, TW = 35 };

static float *images; /* TN*TC*TH*TW */

static void transforms(float *out) {
  int64_t plane = TC * TH * TW;
  uint8_t flip[TN];
  int64_t top[TN], left[TN];
  float m[4 * TN], mean[TC] = {0.1f, 0.2f, 0.3f}, sd[TC] = {0.5f, 0.6f, 0.7f};
  for (int s = 0; s < TN; s++) {
    flip[s] = s % 3 == 0, top[s] = s % 5, left[s] = (s * 7) % 9;
    nn_transform_rotation(m + 4 * s, s * 2.5 - 40);
  }
  float *pad = calloc((size_t)(TC * (TH + 2) * (TW + 2)), sizeof(float));
  nn_kernel_hflip(out, images, flip, TN, TC, TH, TW);
  nn_kernel_normalize(out + TN * plane, images, mean, sd, TN, TC, TH * TW);
  nn_kernel_crop(out + 2 * TN * plane, images, top, left, TN, TC, TH, TW, 28, 30, 4);
  nn_kernel_warp(out + 2 * TN * plane + TN * TC * 28 * 30, pad, images, m, flip, top, left, TN, TC, TH, TW,
                 28, 30);
  free(pad);
}

static void test_transforms(void) {
  CHECK(same_bits(transforms, 2 * TN * TC * TH * TW + 2 * TN * TC * 28 * 30));
}

int main(void) {
  xs = random_floats(2 * N), ys = random_floats(2 * N), zs = random_floats(2 * N);
  images = random_floats(TN * TC * TH * TW);
  int before = nn_get_num_threads();
  RUN(test_elementwise);
  RUN(test_activations);
  RUN(test_pool_and_norm);
  RUN(test_optim_and_loss);
  RUN(test_transforms);
  nn_set_num_threads(before);
  free(xs), free(ys), free(zs), free(images);
  return check_summary();
}
