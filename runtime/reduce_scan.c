/*
 * Cumulative sum and product along a dim (the scans of the reduce
 * family): their kernels, entry points and backward, side by side.
 *
 * Every kernel reads a contiguous [N, K, M]: N the product of the dims
 * before the scanned one, K its size, M the product of the dims after it,
 * so line (n, m) is K elements M apart. Running values are kept in double,
 * as PyTorch's CPU kernels do for float32.
 */
#include "nn_reduce.h"

#include "nn_autograd.h"
#include "nn_elementwise.h"

/* ---- kernels ---- */

void nn_kernel_cumsum_forward(float *out, const float *x, int64_t N, int64_t K, int64_t M) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      const float *xl = x + n * K * M + m;
      float *ol = out + n * K * M + m;
      double acc = 0;
      for (int64_t k = 0; k < K; k++) ol[k * M] = (float)(acc += xl[k * M]);
    }
}

void nn_kernel_cumprod_forward(float *out, const float *x, int64_t N, int64_t K, int64_t M) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      const float *xl = x + n * K * M + m;
      float *ol = out + n * K * M + m;
      double acc = 1;
      for (int64_t k = 0; k < K; k++) ol[k * M] = (float)(acc *= xl[k * M]);
    }
}

void nn_kernel_cumsum_backward(float *gx, const float *g, int64_t N, int64_t K, int64_t M) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      const float *gl = g + n * K * M + m;
      float *ol = gx + n * K * M + m;
      double acc = 0;
      for (int64_t k = K - 1; k >= 0; k--) ol[k * M] += (float)(acc += gl[k * M]);
    }
}

/* One line of cumprod's backward; z is the position of its first zero
 * (K when none). */
static void cumprod_backward_line(float *gx, const float *g, const float *x, const float *y,
                                  int64_t K, int64_t M, int64_t z) {
  /* before the first zero: (sum_{j >= k} g[j] y[j]) / x[k]; y is 0 from z on */
  double acc = 0;
  for (int64_t k = z - 1; k >= 0; k--) {
    acc += (double)g[k * M] * y[k * M];
    gx[k * M] += (float)(acc / x[k * M]);
  }
  if (z == K) return;
  /* at the first zero: sum_{j >= z} g[j] * (the product up to j without x[z]) */
  double p = z > 0 ? y[(z - 1) * M] : 1, sum = g[z * M] * p;
  for (int64_t j = z + 1; j < K; j++) {
    p *= x[j * M];
    sum += g[j * M] * p;
  }
  gx[z * M] += (float)sum;
  /* after it every product holds x[z] = 0: nothing to add */
}

void nn_kernel_cumprod_backward(float *gx, const float *g, const float *x, const float *y,
                                int64_t N, int64_t K, int64_t M) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      int64_t base = n * K * M + m, z = 0;
      while (z < K && x[base + z * M] != 0) z++;
      cumprod_backward_line(gx + base, g + base, x + base, y + base, K, M, z);
    }
}

/* int64 scans wrap on overflow like C unsigned arithmetic (no gradient). */
static void scan_i64(int64_t *out, const int64_t *x, int64_t N, int64_t K, int64_t M, bool prod) {
  for (int64_t n = 0; n < N; n++)
    for (int64_t m = 0; m < M; m++) {
      uint64_t acc = prod ? 1 : 0;
      for (int64_t k = 0; k < K; k++) {
        uint64_t v = (uint64_t)x[n * K * M + k * M + m];
        acc = prod ? acc * v : acc + v;
        out[n * K * M + k * M + m] = (int64_t)acc;
      }
    }
}

/* ---- entry points ---- */

/* t's dims split around dim into [N, K, M] (a 0-dim t is [1, 1, 1]). */
static void split_dims(const nn_tensor *t, int dim, int64_t *N, int64_t *K, int64_t *M) {
  *N = 1, *K = t->ndim > 0 ? t->shape[dim] : 1, *M = 1;
  for (int d = 0; d < t->ndim; d++) {
    if (d < dim) *N *= t->shape[d];
    if (d > dim) *M *= t->shape[d];
  }
}

static nn_status scan(nn_op op, nn_tensor *out, const nn_tensor *x, const nn_cumulative_args *args) {
  bool prod = op == NN_OP_CUMPROD;
  nn_tensor *copy;
  const nn_tensor *c;
  if (nn_contiguous(x, &copy, &c)) return NN_ERR_NOMEM;
  int64_t N, K, M;
  split_dims(x, args->dim, &N, &K, &M);
  if (x->dtype == NN_FLOAT32)
    (prod ? nn_kernel_cumprod_forward : nn_kernel_cumsum_forward)(nn_tensor_data(out),
                                                                  nn_tensor_data(c), N, K, M);
  else
    scan_i64(nn_tensor_data(out), nn_tensor_data(c), N, K, M, prod);
  nn_tensor_release(copy);
  nn_node *node;
  nn_status st = nn_record(&node, op, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (st || !node) return st;
  node->args.cumulative = *args;
  if (!prod) return NN_OK;
  if ((st = nn_node_save(node, x))) return st;
  return nn_node_save_output(node, out);
}

nn_status nn_cumsum(nn_tensor *out, const nn_tensor *x, const nn_cumulative_args *args) {
  return scan(NN_OP_CUMSUM, out, x, args);
}

nn_status nn_cumprod(nn_tensor *out, const nn_tensor *x, const nn_cumulative_args *args) {
  return scan(NN_OP_CUMPROD, out, x, args);
}

/* ---- backward: into a zeroed scratch of g's shape, then added to gi ---- */

bool nn_cumsum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, g->ndim, g->shape);
  if (!t) return false;
  int64_t N, K, M;
  split_dims(g, n->args.cumulative.dim, &N, &K, &M);
  nn_fill(t, 0);
  nn_kernel_cumsum_backward(nn_tensor_data(t), nn_tensor_data(g), N, K, M);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

/* Saved: the input x (any strides) and the output y. */
bool nn_cumprod_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, g->ndim, g->shape), *xcopy = NULL, *ycopy = NULL;
  const nn_tensor *x, *y;
  bool ok = t && !nn_contiguous(n->saved[0], &xcopy, &x) && !nn_contiguous(n->saved[1], &ycopy, &y);
  if (ok) {
    int64_t N, K, M;
    split_dims(g, n->args.cumulative.dim, &N, &K, &M);
    nn_fill(t, 0);
    nn_kernel_cumprod_backward(nn_tensor_data(t), nn_tensor_data(g), nn_tensor_data(x),
                               nn_tensor_data(y), N, K, M);
    nn_accumulate(gi[0], t);
  }
  nn_tensor_release(t);
  nn_tensor_release(xcopy);
  nn_tensor_release(ycopy);
  return ok;
}
