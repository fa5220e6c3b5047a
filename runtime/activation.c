/*
 * Activations not in the elementwise table (nn_activation.h): leaky ReLU,
 * ELU, hardtanh, GELU, SiLU and softplus (strided, through nn_iter) and
 * softmax / log-softmax along one dim (on contiguous (M, C, S) arrays),
 * each entry point beside its backward.
 */
#include <math.h>

#include "nn_activation.h"
#include "nn_autograd.h"
#include "nn_iter.h"
#include "nn_threads.h"
#include "nn_vecmath.h"

/* Elements per part of the engine's pool (nn_threads.h): below twice
 * this an activation runs on the calling thread alone. */
enum { GRAIN = 16384 };

/* ---- leaky ReLU and ELU ---- */

static inline float leaky_relu(float x, float slope) { return x > 0 ? x : x * slope; }
static inline float elu(float x, float alpha) { return x > 0 ? x : alpha * expm1f(x); }

/* y[i] = f(x[i], a) over a run; the unit-step case is a plain loop the
 * compiler can vectorize once f is inlined. */
static inline void run_unary(float (*f)(float, float), float *y, const float *x,
                             const int64_t *step, int64_t n, float a) {
  if (step[0] == 1 && step[1] == 1)
    for (int64_t i = 0; i < n; i++) y[i] = f(x[i], a);
  else
    for (int64_t i = 0; i < n; i++) y[i * step[0]] = f(x[i * step[1]], a);
}

/* Parts of a walk on the engine's pool: one function per op, so that
 * each loop is specialized for its f. */
#define UNARY_PART(name, f)                                                                   \
  static void name(void *ctx, nn_iter *it) {                                                  \
    float a = *(const float *)ctx;                                                            \
    while (nn_iter_next(it)) run_unary(f, (float *)it->ptr[0], (const float *)it->ptr[1], it->step, it->n, a); \
  }
UNARY_PART(leaky_relu_part, leaky_relu)
UNARY_PART(elu_part, elu)

/* y = f(x) with y contiguous of x's shape, x any strides. */
static void unary_forward(void (*part)(void *, nn_iter *), nn_tensor *y, const nn_tensor *x, float a) {
  nn_iter it;
  nn_iter_init_tensors(&it, y->ndim, y->shape, 2, (const nn_tensor *[]){y, x});
  nn_iter_parallel(&it, GRAIN, part, &a);
}

/* Derivatives from the input, as PyTorch: the x > 0 side passes g. */
static inline float leaky_relu_grad(float x, float slope) { return x > 0 ? 1.0f : slope; }
static inline float elu_grad(float x, float alpha) { return x > 0 ? 1.0f : alpha * expf(x); }

/* gi += g * f'(x, a) over a part of the walk of (gi, g, x). */
#define BACKWARD_PART(name, df)                                                               \
  static void name(void *ctx, nn_iter *it) {                                                  \
    float a = *(const float *)ctx;                                                            \
    while (nn_iter_next(it)) {                                                                \
      float *o = (float *)it->ptr[0];                                                         \
      const float *gp = (const float *)it->ptr[1], *xp = (const float *)it->ptr[2];           \
      for (int64_t i = 0; i < it->n; i++)                                                     \
        o[i * it->step[0]] += gp[i * it->step[1]] * df(xp[i * it->step[2]], a);               \
    }                                                                                         \
  }
BACKWARD_PART(leaky_relu_grad_part, leaky_relu_grad)
BACKWARD_PART(elu_grad_part, elu_grad)

/* gi += g * f'(x, a); gi and g contiguous of x's shape, x any strides. */
static void backward_pointwise(void (*part)(void *, nn_iter *), nn_tensor *gi, const nn_tensor *g,
                               const nn_tensor *x, float a) {
  nn_iter it;
  nn_iter_init_tensors(&it, gi->ndim, gi->shape, 3, (const nn_tensor *[]){gi, g, x});
  nn_iter_parallel(&it, GRAIN, part, &a);
}

nn_status nn_leaky_relu(nn_tensor *out, const nn_tensor *x, const nn_leaky_relu_args *args) {
  unary_forward(leaky_relu_part, out, x, args->slope);
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_LEAKY_RELU, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (st || !node) return st;
  node->args.leaky_relu = *args;
  return nn_node_save(node, x);
}

nn_status nn_elu(nn_tensor *out, const nn_tensor *x, const nn_elu_args *args) {
  unary_forward(elu_part, out, x, args->alpha);
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_ELU, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (st || !node) return st;
  node->args.elu = *args;
  return nn_node_save(node, x);
}

/* LEAKY_RELU, ELU (x): saved x. */
bool nn_leaky_relu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (gi[0]) backward_pointwise(leaky_relu_grad_part, gi[0], g, n->saved[0], n->args.leaky_relu.slope);
  return true;
}

bool nn_elu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (gi[0]) backward_pointwise(elu_grad_part, gi[0], g, n->saved[0], n->args.elu.alpha);
  return true;
}

/* ---- hardtanh, GELU, SiLU, softplus ----
 * Pointwise with two parameters a, b (unused ones are 0), each computed
 * in float32 as PyTorch's CPU kernels. */

#define GELU_KBETA 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_KKAPPA 0.044715f
#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

static inline float hardtanh(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }
static inline float gelu_erf(float x, float a, float b) {
  (void)a, (void)b;
  return 0.5f * x * (1 + erff(x * INV_SQRT2));
}
static inline float gelu_tanh(float x, float a, float b) {
  (void)a, (void)b;
  return 0.5f * x * (1 + tanhf(GELU_KBETA * (x + GELU_KKAPPA * x * x * x)));
}
static inline float silu(float x, float a, float b) {
  (void)a, (void)b;
  return x / (1 + expf(-x));
}
static inline float softplus(float x, float beta, float threshold) {
  return x * beta > threshold ? x : log1pf(expf(x * beta)) / beta;
}

/* Derivatives from the input, as PyTorch's backward kernels. */
/* Branch-free (the loop vectorizes); NaN passes its gradient, as PyTorch's. */
static inline float hardtanh_grad(float x, float lo, float hi) {
  return (float)(((x > lo) & (x < hi)) | (x != x));
}
static inline float gelu_erf_grad(float x, float a, float b) {
  (void)a, (void)b;
  float cdf = 0.5f * (1 + erff(x * INV_SQRT2)), pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
  return cdf + x * pdf;
}
static inline float gelu_tanh_grad(float x, float a, float b) {
  (void)a, (void)b;
  float x_sq = x * x, inner = GELU_KBETA * (x + GELU_KKAPPA * x_sq * x), t = tanhf(inner);
  float left = 0.5f * x, right = 1 + t;
  float left_derivative = 0.5f * right, right_derivative = 1 - t * t;
  float inner_derivative = GELU_KBETA * (1 + 3 * GELU_KKAPPA * x_sq);
  return left_derivative + left * right_derivative * inner_derivative;
}
static inline float silu_grad(float x, float a, float b) {
  (void)a, (void)b;
  float s = 1 / (1 + expf(-x));
  return s * (1 + x * (1 - s));
}
static inline float softplus_grad(float x, float beta, float threshold) {
  if (x * beta > threshold) return 1.0f;
  float z = expf(x * beta);
  return z / (z + 1);
}

typedef float (*fn2)(float, float, float);

static inline void run_unary2(fn2 f, float *y, const float *x, const int64_t *step, int64_t n,
                              float a, float b) {
  if (step[0] == 1 && step[1] == 1)
    for (int64_t i = 0; i < n; i++) y[i] = f(x[i], a, b);
  else
    for (int64_t i = 0; i < n; i++) y[i * step[0]] = f(x[i * step[1]], a, b);
}

typedef struct params {
  float a, b;
} params;

/* y = f(x, a, b) over a part of the walk of (y, x); f is a literal at
 * each use so the loop is specialized after inlining. */
#define FORWARD2_PART(name, f)                                                                \
  static void name(void *ctx, nn_iter *it) {                                                  \
    const params *p = ctx;                                                                    \
    while (nn_iter_next(it))                                                                  \
      run_unary2(f, (float *)it->ptr[0], (const float *)it->ptr[1], it->step, it->n, p->a, p->b); \
  }

/* y = f(x, a, b), y contiguous of x's shape, x any strides. */
static void forward2(void (*part)(void *, nn_iter *), nn_tensor *y, const nn_tensor *x, float a, float b) {
  nn_iter it;
  nn_iter_init_tensors(&it, y->ndim, y->shape, 2, (const nn_tensor *[]){y, x});
  params p = {a, b};
  nn_iter_parallel(&it, GRAIN, part, &p);
}

/* gi += g * f'(x, a, b); gi and g contiguous of x's shape, x any strides.
 * Always inlined, so that df, a literal at each call, is inlined into a
 * unit-stride loop the compiler vectorizes: called through the pointer,
 * ReLU6's backward took 12% of a MobileNetV2 training step. */
static inline __attribute__((always_inline)) void backward2_walk(fn2 df, nn_iter *it, float a, float b) {
  while (nn_iter_next(it)) {
    float *o = (float *)it->ptr[0];
    const float *gp = (const float *)it->ptr[1], *xp = (const float *)it->ptr[2];
    if (it->step[0] == 1 && it->step[1] == 1 && it->step[2] == 1) {
      float *restrict ou = o;
      const float *restrict gu = gp, *restrict xu = xp;
      for (int64_t i = 0; i < it->n; i++) ou[i] += gu[i] * df(xu[i], a, b);
    } else
      for (int64_t i = 0; i < it->n; i++)
        o[i * it->step[0]] += gp[i * it->step[1]] * df(xp[i * it->step[2]], a, b);
  }
}

#define BACKWARD2_PART(name, df)                                                              \
  static void name(void *ctx, nn_iter *it) {                                                  \
    const params *p = ctx;                                                                    \
    backward2_walk(df, it, p->a, p->b);                                                       \
  }

FORWARD2_PART(hardtanh_part, hardtanh)
FORWARD2_PART(gelu_tanh_part, gelu_tanh)
FORWARD2_PART(gelu_erf_part, gelu_erf)
FORWARD2_PART(silu_part, silu)
FORWARD2_PART(softplus_part, softplus)
BACKWARD2_PART(hardtanh_grad_part, hardtanh_grad)
BACKWARD2_PART(gelu_tanh_grad_part, gelu_tanh_grad)
BACKWARD2_PART(gelu_erf_grad_part, gelu_erf_grad)
BACKWARD2_PART(silu_grad_part, silu_grad)
BACKWARD2_PART(softplus_grad_part, softplus_grad)

static void backward2(void (*part)(void *, nn_iter *), nn_tensor *gi, const nn_tensor *g, const nn_tensor *x,
                      float a, float b) {
  nn_iter it;
  nn_iter_init_tensors(&it, gi->ndim, gi->shape, 3, (const nn_tensor *[]){gi, g, x});
  params p = {a, b};
  nn_iter_parallel(&it, GRAIN, part, &p);
}

/* Records op on out with x saved; *node is the node (NULL: none), whose
 * args the caller sets. */
static nn_status record_saving_x(nn_node **node, nn_op op, nn_tensor *out, const nn_tensor *x) {
  *node = NULL;
  nn_status st = nn_record(node, op, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (st || !*node) return st;
  return nn_node_save(*node, x);
}

nn_status nn_hardtanh(nn_tensor *out, const nn_tensor *x, const nn_hardtanh_args *args) {
  forward2(hardtanh_part, out, x, args->min_val, args->max_val);
  nn_node *node;
  nn_status st = record_saving_x(&node, NN_OP_HARDTANH, out, x);
  if (node) node->args.hardtanh = *args;
  return st;
}

nn_status nn_gelu(nn_tensor *out, const nn_tensor *x, const nn_gelu_args *args) {
  forward2(args->tanh ? gelu_tanh_part : gelu_erf_part, out, x, 0, 0);
  nn_node *node;
  nn_status st = record_saving_x(&node, NN_OP_GELU, out, x);
  if (node) node->args.gelu = *args;
  return st;
}

nn_status nn_silu(nn_tensor *out, const nn_tensor *x) {
  forward2(silu_part, out, x, 0, 0);
  nn_node *node;
  return record_saving_x(&node, NN_OP_SILU, out, x);
}

nn_status nn_softplus(nn_tensor *out, const nn_tensor *x, const nn_softplus_args *args) {
  forward2(softplus_part, out, x, args->beta, args->threshold);
  nn_node *node;
  nn_status st = record_saving_x(&node, NN_OP_SOFTPLUS, out, x);
  if (node) node->args.softplus = *args;
  return st;
}

/* HARDTANH, GELU, SILU, SOFTPLUS (x): saved x. */
bool nn_hardtanh_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_hardtanh_args *a = &n->args.hardtanh;
  if (gi[0]) backward2(hardtanh_grad_part, gi[0], g, n->saved[0], a->min_val, a->max_val);
  return true;
}

bool nn_gelu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (gi[0]) backward2(n->args.gelu.tanh ? gelu_tanh_grad_part : gelu_erf_grad_part, gi[0], g, n->saved[0], 0, 0);
  return true;
}

bool nn_silu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (gi[0]) backward2(silu_grad_part, gi[0], g, n->saved[0], 0, 0);
  return true;
}

bool nn_softplus_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_softplus_args *a = &n->args.softplus;
  if (gi[0]) backward2(softplus_grad_part, gi[0], g, n->saved[0], a->beta, a->threshold);
  return true;
}

/* ---- softmax and log-softmax ----
 * One row is C values st apart. The helpers are static inline and called
 * with a literal st = 1 on the common last-dim path, so that path becomes
 * unit-stride loops the compiler vectorizes (with nn_exp_vec and the
 * lane sums of nn_vecmath.h). */

static inline void softmax_row(float *y, const float *x, int64_t C, int64_t st, bool logp) {
  float m = nn_row_max(x, C, st);
  if (logp) {
    float lsum = (float)log(nn_row_sum_exp(NULL, x, C, st, m));
    for (int64_t c = 0; c < C; c++) y[c * st] = (x[c * st] - m) - lsum;
    return;
  }
  float inv = (float)(1.0 / nn_row_sum_exp(y, x, C, st, m));
  for (int64_t c = 0; c < C; c++) y[c * st] *= inv;
}

typedef struct softmax_job {
  float *out;
  const float *a, *b;
  int64_t C, S;
  bool logp;
} softmax_job;

static void softmax_forward_rows(void *ctx, int64_t m0, int64_t m1) {
  const softmax_job *j = ctx;
  float *y = j->out;
  const float *x = j->a;
  int64_t C = j->C, S = j->S;
  bool logp = j->logp;
  for (int64_t m = m0; m < m1; m++) {
    const float *xr = x + m * C * S;
    float *yr = y + m * C * S;
    if (S == 1) softmax_row(yr, xr, C, 1, logp);
    else
      for (int64_t s = 0; s < S; s++) softmax_row(yr + s, xr + s, C, S, logp);
  }
}

/* Rows per part of the pool: at least GRAIN elements. */
static int64_t row_grain(int64_t C, int64_t S) {
  int64_t per_row = C * S < 1 ? 1 : C * S;
  return GRAIN / per_row < 1 ? 1 : GRAIN / per_row;
}

void nn_kernel_softmax_forward(float *y, const float *x, int64_t M, int64_t C, int64_t S,
                               bool logp) {
  softmax_job j = {y, x, NULL, C, S, logp};
  nn_parallel_for(M, row_grain(C, S), softmax_forward_rows, &j);
}

/* sum a[c] * b[c] (b NULL: sum a[c]) over a row, in blocks of 256. */
static inline double row_dot(const float *a, const float *b, int64_t C, int64_t st) {
  float buf[256];
  double total = 0;
  for (int64_t c0 = 0; c0 < C; c0 += 256) {
    int64_t len = C - c0 < 256 ? C - c0 : 256;
    const float *ar = a + c0 * st, *br = b ? b + c0 * st : NULL;
    if (br)
      for (int64_t i = 0; i < len; i++) buf[i] = ar[i * st] * br[i * st];
    else
      for (int64_t i = 0; i < len; i++) buf[i] = ar[i * st];
    total += nn_lane_sum(buf, len);
  }
  return total;
}

/* softmax: dx = y (dy - sum(dy y)); log-softmax: dx = dy - exp(y) sum(dy). */
static inline void softmax_backward_row(float *gx, const float *gy, const float *y, int64_t C,
                                        int64_t st, bool logp) {
  float d = (float)row_dot(gy, logp ? NULL : y, C, st);
  if (logp)
    for (int64_t c = 0; c < C; c++) gx[c * st] += gy[c * st] - nn_exp_vec(y[c * st]) * d;
  else
    for (int64_t c = 0; c < C; c++) gx[c * st] += y[c * st] * (gy[c * st] - d);
}

static void softmax_backward_rows(void *ctx, int64_t m0, int64_t m1) {
  const softmax_job *j = ctx;
  float *gx = j->out;
  const float *gy = j->a, *y = j->b;
  int64_t C = j->C, S = j->S;
  bool logp = j->logp;
  for (int64_t m = m0; m < m1; m++) {
    int64_t o = m * C * S;
    if (S == 1) softmax_backward_row(gx + o, gy + o, y + o, C, 1, logp);
    else
      for (int64_t s = 0; s < S; s++) softmax_backward_row(gx + o + s, gy + o + s, y + o + s, C, S, logp);
  }
}

void nn_kernel_softmax_backward(float *gx, const float *gy, const float *y, int64_t M, int64_t C,
                                int64_t S, bool logp) {
  softmax_job j = {gx, gy, y, C, S, logp};
  nn_parallel_for(M, row_grain(C, S), softmax_backward_rows, &j);
}

/* The (M, C, S) reading of a shape around dim (a 0-dim tensor is one row
 * of one element). */
static void split_at_dim(int ndim, const int64_t *shape, int dim, int64_t *M, int64_t *C,
                         int64_t *S) {
  *M = 1, *C = ndim ? shape[dim] : 1, *S = 1;
  for (int i = 0; i < dim; i++) *M *= shape[i];
  for (int i = dim + 1; i < ndim; i++) *S *= shape[i];
}

static nn_status softmax(nn_op op, nn_tensor *out, const nn_tensor *x,
                         const nn_softmax_args *args) {
  nn_tensor *copy = NULL;
  if (!nn_tensor_is_contiguous(x)) { /* the kernel reads (M, C, S) arrays */
    if (!(copy = nn_tensor_empty(NN_FLOAT32, x->ndim, x->shape))) return NN_ERR_NOMEM;
    nn_copy(copy, x);
  }
  int64_t M, C, S;
  split_at_dim(x->ndim, x->shape, args->dim, &M, &C, &S);
  nn_kernel_softmax_forward(nn_tensor_data(out), nn_tensor_data(copy ? copy : x), M, C, S,
                            op == NN_OP_LOG_SOFTMAX);
  nn_tensor_release(copy);
  nn_node *node;
  nn_status st = nn_record(&node, op, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (st || !node) return st;
  node->args.softmax = *args;
  return nn_node_save_output(node, out);
}

nn_status nn_softmax(nn_tensor *out, const nn_tensor *x, const nn_softmax_args *args) {
  return softmax(NN_OP_SOFTMAX, out, x, args);
}

nn_status nn_log_softmax(nn_tensor *out, const nn_tensor *x, const nn_softmax_args *args) {
  return softmax(NN_OP_LOG_SOFTMAX, out, x, args);
}

/* SOFTMAX, LOG_SOFTMAX (x): saved the output (contiguous, held through a
 * view without grad_fn). */
static bool backward_softmax(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi, bool logp) {
  if (!gi[0]) return true;
  int64_t M, C, S;
  split_at_dim(n->out_ndim, n->out_shape, n->args.softmax.dim, &M, &C, &S);
  nn_kernel_softmax_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), nn_tensor_data(n->saved[0]),
                             M, C, S, logp);
  return true;
}

bool nn_softmax_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_softmax(n, g, gi, false);
}

bool nn_log_softmax_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_softmax(n, g, gi, true);
}
