/*
 * Elementwise kernels. Each op is a tiny per-element function; the run
 * loops below are static inline and take that function as a constant
 * pointer, so the compiler inlines it and vectorizes the unit-step case
 * (the C version of a template). The strided walk itself is nn_iter.
 */
#include <math.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_elementwise.h"
#include "nn_iter.h"
#include "nn_threads.h"

/* Elements per part of the engine's pool below which splitting an
 * elementwise op costs more than it saves (waking a worker: ~1-5 us;
 * a cheap op: ~0.3 ns an element). */
enum { GRAIN = 32768 };

typedef float (*f32_binary_fn)(float, float);
typedef int64_t (*i64_binary_fn)(int64_t, int64_t);
typedef bool (*f32_compare_fn)(float, float);
typedef bool (*i64_compare_fn)(int64_t, int64_t);
typedef float (*f32_unary_fn)(float);
typedef int64_t (*i64_unary_fn)(int64_t);
typedef bool (*f32_predicate_fn)(float);

/* ---- per-element functions ---- */

static float add_f32(float a, float b) { return a + b; }
static float sub_f32(float a, float b) { return a - b; }
static float mul_f32(float a, float b) { return a * b; }
static float div_f32(float a, float b) { return a / b; }
static float pow_f32(float a, float b) { return b == 2.0f ? a * a : powf(a, b); }
/* NaN propagates, as torch.maximum/minimum. */
static float max_f32(float a, float b) { return (a > b || a != a) ? a : b; }
static float min_f32(float a, float b) { return (a < b || a != a) ? a : b; }
static int64_t add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static int64_t sub_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a - (uint64_t)b); }
static int64_t mul_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a * (uint64_t)b); }
static int64_t max_i64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
/* Integer power by squaring; wraps on overflow like C unsigned math. A
 * negative exponent gives 0 unless the base is 1 or -1. */
static int64_t pow_i64(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
  uint64_t r = 1, x = (uint64_t)a;
  for (; b; b >>= 1, x *= x)
    if (b & 1) r *= x;
  return (int64_t)r;
}
static bool gt_f32(float a, float b) { return a > b; }
static bool lt_f32(float a, float b) { return a < b; }
static bool ge_f32(float a, float b) { return a >= b; }
static bool le_f32(float a, float b) { return a <= b; }
static bool eq_f32(float a, float b) { return a == b; }
static bool ne_f32(float a, float b) { return a != b; }
static bool gt_i64(int64_t a, int64_t b) { return a > b; }
static bool lt_i64(int64_t a, int64_t b) { return a < b; }
static bool ge_i64(int64_t a, int64_t b) { return a >= b; }
static bool le_i64(int64_t a, int64_t b) { return a <= b; }
static bool eq_i64(int64_t a, int64_t b) { return a == b; }
static bool ne_i64(int64_t a, int64_t b) { return a != b; }

static float neg_f32(float a) { return -a; }
static float abs_f32(float a) { return fabsf(a); }
static float sign_f32(float a) { return (float)((a > 0) - (a < 0)); }
static float relu_f32(float a) { return a < 0 ? 0.0f : a; } /* keeps NaN */
static float exp_f32(float a) { return expf(a); }
static float log_f32(float a) { return logf(a); }
static float sqrt_f32(float a) { return sqrtf(a); }
static float sigmoid_f32(float a) { return 1.0f / (1.0f + expf(-a)); }
static float tanh_f32(float a) { return tanhf(a); }
static float sin_f32(float a) { return sinf(a); }
static float cos_f32(float a) { return cosf(a); }
static float floor_f32(float a) { return floorf(a); }
static float ceil_f32(float a) { return ceilf(a); }
static float round_f32(float a) { return rintf(a); } /* default mode: half to even */
static float trunc_f32(float a) { return truncf(a); }
static float square_f32(float a) { return a * a; }
static float log1p_f32(float a) { return log1pf(a); }
static float expm1_f32(float a) { return expm1f(a); }
static float reciprocal_f32(float a) { return 1.0f / a; }
static float rsqrt_f32(float a) { return 1.0f / sqrtf(a); }
static bool isnan_f32(float a) { return isnan(a); }
static bool isinf_f32(float a) { return isinf(a); }
static bool isfinite_f32(float a) { return isfinite(a); }
static int64_t neg_i64(int64_t a) { return (int64_t)(0 - (uint64_t)a); }
static int64_t abs_i64(int64_t a) { return a < 0 ? neg_i64(a) : a; }
static int64_t sign_i64(int64_t a) { return (a > 0) - (a < 0); }
static int64_t relu_i64(int64_t a) { return a < 0 ? 0 : a; }
static int64_t same_i64(int64_t a) { return a; } /* floor, ceil, round, trunc */
static int64_t square_i64(int64_t a) { return (int64_t)((uint64_t)a * (uint64_t)a); }

/* ---- run loops: one contiguous fast path, one strided ---- */

static inline void run_f32(f32_binary_fn f, float *o, const float *a, const float *b,
                           const int64_t *step, int64_t n) {
  if (step[0] == 1 && step[1] == 1 && step[2] == 1)
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  else if (step[0] == 1 && step[1] == 1 && step[2] == 0)
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], *b);
  else
    for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]], b[i * step[2]]);
}

static inline void run_i64(i64_binary_fn f, int64_t *o, const int64_t *a,
                           const int64_t *b, const int64_t *step, int64_t n) {
  if (step[0] == 1 && step[1] == 1 && step[2] == 1)
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i], b[i]);
  else
    for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]], b[i * step[2]]);
}

static inline void run_cmp_f32(f32_compare_fn f, bool *o, const float *a,
                               const float *b, const int64_t *step, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]], b[i * step[2]]);
}

static inline void run_cmp_i64(i64_compare_fn f, bool *o, const int64_t *a,
                               const int64_t *b, const int64_t *step, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]], b[i * step[2]]);
}

static inline void run_unary_f32(f32_unary_fn f, float *o, const float *a,
                                 const int64_t *step, int64_t n) {
  if (step[0] == 1 && step[1] == 1)
    for (int64_t i = 0; i < n; i++) o[i] = f(a[i]);
  else
    for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]]);
}

static inline void run_unary_i64(i64_unary_fn f, int64_t *o, const int64_t *a,
                                 const int64_t *step, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]]);
}

/* Predicates write bool; an integer is never NaN or infinite, always
 * finite, so the int64 kernels write one constant. */
static inline void run_predicate_f32(f32_predicate_fn f, bool *o, const float *a,
                                     const int64_t *step, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i * step[0]] = f(a[i * step[1]]);
}

static inline void run_constant_bool(bool v, bool *o, const int64_t *step, int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i * step[0]] = v;
}

/* ---- the op table ---- */

typedef void (*binary_kernel)(void *o, const void *a, const void *b,
                              const int64_t *step, int64_t n);
typedef void (*unary_kernel)(void *o, const void *a, const int64_t *step, int64_t n);

/* One wrapper per (op, dtype) binds the per-element function to a run loop. */
static void k_add_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(add_f32, o, a, b, s, n); }
static void k_sub_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(sub_f32, o, a, b, s, n); }
static void k_mul_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(mul_f32, o, a, b, s, n); }
static void k_div_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(div_f32, o, a, b, s, n); }
static void k_pow_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(pow_f32, o, a, b, s, n); }
static void k_max_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(max_f32, o, a, b, s, n); }
static void k_min_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_f32(min_f32, o, a, b, s, n); }
static void k_add_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_i64(add_i64, o, a, b, s, n); }
static void k_sub_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_i64(sub_i64, o, a, b, s, n); }
static void k_mul_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_i64(mul_i64, o, a, b, s, n); }
static void k_pow_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_i64(pow_i64, o, a, b, s, n); }
static void k_max_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_i64(max_i64, o, a, b, s, n); }
static void k_min_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_i64(min_i64, o, a, b, s, n); }
static void k_gt_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_f32(gt_f32, o, a, b, s, n); }
static void k_lt_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_f32(lt_f32, o, a, b, s, n); }
static void k_ge_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_f32(ge_f32, o, a, b, s, n); }
static void k_le_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_f32(le_f32, o, a, b, s, n); }
static void k_eq_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_f32(eq_f32, o, a, b, s, n); }
static void k_ne_f32(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_f32(ne_f32, o, a, b, s, n); }
static void k_gt_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_i64(gt_i64, o, a, b, s, n); }
static void k_lt_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_i64(lt_i64, o, a, b, s, n); }
static void k_ge_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_i64(ge_i64, o, a, b, s, n); }
static void k_le_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_i64(le_i64, o, a, b, s, n); }
static void k_eq_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_i64(eq_i64, o, a, b, s, n); }
static void k_ne_i64(void *o, const void *a, const void *b, const int64_t *s, int64_t n) { run_cmp_i64(ne_i64, o, a, b, s, n); }

static void k_neg_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(neg_f32, o, a, s, n); }
static void k_abs_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(abs_f32, o, a, s, n); }
static void k_sign_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(sign_f32, o, a, s, n); }
static void k_relu_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(relu_f32, o, a, s, n); }
static void k_exp_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(exp_f32, o, a, s, n); }
static void k_log_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(log_f32, o, a, s, n); }
static void k_sqrt_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(sqrt_f32, o, a, s, n); }
static void k_sigmoid_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(sigmoid_f32, o, a, s, n); }
static void k_tanh_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(tanh_f32, o, a, s, n); }
static void k_sin_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(sin_f32, o, a, s, n); }
static void k_cos_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(cos_f32, o, a, s, n); }
static void k_floor_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(floor_f32, o, a, s, n); }
static void k_ceil_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(ceil_f32, o, a, s, n); }
static void k_round_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(round_f32, o, a, s, n); }
static void k_trunc_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(trunc_f32, o, a, s, n); }
static void k_square_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(square_f32, o, a, s, n); }
static void k_log1p_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(log1p_f32, o, a, s, n); }
static void k_expm1_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(expm1_f32, o, a, s, n); }
static void k_reciprocal_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(reciprocal_f32, o, a, s, n); }
static void k_rsqrt_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_f32(rsqrt_f32, o, a, s, n); }
static void k_isnan_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_predicate_f32(isnan_f32, o, a, s, n); }
static void k_isinf_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_predicate_f32(isinf_f32, o, a, s, n); }
static void k_isfinite_f32(void *o, const void *a, const int64_t *s, int64_t n) { run_predicate_f32(isfinite_f32, o, a, s, n); }
static void k_false_i64(void *o, const void *a, const int64_t *s, int64_t n) { (void)a; run_constant_bool(false, o, s, n); }
static void k_true_i64(void *o, const void *a, const int64_t *s, int64_t n) { (void)a; run_constant_bool(true, o, s, n); }
static void k_neg_i64(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_i64(neg_i64, o, a, s, n); }
static void k_abs_i64(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_i64(abs_i64, o, a, s, n); }
static void k_sign_i64(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_i64(sign_i64, o, a, s, n); }
static void k_relu_i64(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_i64(relu_i64, o, a, s, n); }
static void k_same_i64(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_i64(same_i64, o, a, s, n); }
static void k_square_i64(void *o, const void *a, const int64_t *s, int64_t n) { run_unary_i64(square_i64, o, a, s, n); }

/* Kernels of the binary range of nn_op, indexed by op - NN_OP_BINARY_FIRST. */
static const struct {
  binary_kernel f32, i64;
  bool comparison;
} binary_ops[] = {
    [NN_OP_ADD - NN_OP_BINARY_FIRST] = {k_add_f32, k_add_i64, false},
    [NN_OP_SUB - NN_OP_BINARY_FIRST] = {k_sub_f32, k_sub_i64, false},
    [NN_OP_MUL - NN_OP_BINARY_FIRST] = {k_mul_f32, k_mul_i64, false},
    [NN_OP_DIV - NN_OP_BINARY_FIRST] = {k_div_f32, NULL, false}, /* true division */
    [NN_OP_POW - NN_OP_BINARY_FIRST] = {k_pow_f32, k_pow_i64, false},
    [NN_OP_MAXIMUM - NN_OP_BINARY_FIRST] = {k_max_f32, k_max_i64, false},
    [NN_OP_MINIMUM - NN_OP_BINARY_FIRST] = {k_min_f32, k_min_i64, false},
    [NN_OP_GT - NN_OP_BINARY_FIRST] = {k_gt_f32, k_gt_i64, true},
    [NN_OP_LT - NN_OP_BINARY_FIRST] = {k_lt_f32, k_lt_i64, true},
    [NN_OP_GE - NN_OP_BINARY_FIRST] = {k_ge_f32, k_ge_i64, true},
    [NN_OP_LE - NN_OP_BINARY_FIRST] = {k_le_f32, k_le_i64, true},
    [NN_OP_EQ - NN_OP_BINARY_FIRST] = {k_eq_f32, k_eq_i64, true},
    [NN_OP_NE - NN_OP_BINARY_FIRST] = {k_ne_f32, k_ne_i64, true},
};
_Static_assert(sizeof binary_ops / sizeof *binary_ops == NN_OP_BINARY_LAST - NN_OP_BINARY_FIRST + 1,
               "every binary op needs a row");

/* Kernels of the unary range, indexed by op - NN_OP_UNARY_FIRST.
 * predicate: writes bool (isnan, isinf, isfinite). */
static const struct {
  unary_kernel f32, i64;
  bool predicate;
} unary_ops[] = {
    [NN_OP_NEG - NN_OP_UNARY_FIRST] = {k_neg_f32, k_neg_i64},
    [NN_OP_ABS - NN_OP_UNARY_FIRST] = {k_abs_f32, k_abs_i64},
    [NN_OP_SIGN - NN_OP_UNARY_FIRST] = {k_sign_f32, k_sign_i64},
    [NN_OP_RELU - NN_OP_UNARY_FIRST] = {k_relu_f32, k_relu_i64},
    [NN_OP_EXP - NN_OP_UNARY_FIRST] = {k_exp_f32, NULL},
    [NN_OP_LOG - NN_OP_UNARY_FIRST] = {k_log_f32, NULL},
    [NN_OP_SQRT - NN_OP_UNARY_FIRST] = {k_sqrt_f32, NULL},
    [NN_OP_SIGMOID - NN_OP_UNARY_FIRST] = {k_sigmoid_f32, NULL},
    [NN_OP_TANH - NN_OP_UNARY_FIRST] = {k_tanh_f32, NULL},
    [NN_OP_SIN - NN_OP_UNARY_FIRST] = {k_sin_f32, NULL},
    [NN_OP_COS - NN_OP_UNARY_FIRST] = {k_cos_f32, NULL},
    [NN_OP_FLOOR - NN_OP_UNARY_FIRST] = {k_floor_f32, k_same_i64},
    [NN_OP_CEIL - NN_OP_UNARY_FIRST] = {k_ceil_f32, k_same_i64},
    [NN_OP_ROUND - NN_OP_UNARY_FIRST] = {k_round_f32, k_same_i64},
    [NN_OP_TRUNC - NN_OP_UNARY_FIRST] = {k_trunc_f32, k_same_i64},
    [NN_OP_SQUARE - NN_OP_UNARY_FIRST] = {k_square_f32, k_square_i64},
    [NN_OP_LOG1P - NN_OP_UNARY_FIRST] = {k_log1p_f32, NULL},
    [NN_OP_EXPM1 - NN_OP_UNARY_FIRST] = {k_expm1_f32, NULL},
    [NN_OP_RECIPROCAL - NN_OP_UNARY_FIRST] = {k_reciprocal_f32, NULL},
    [NN_OP_RSQRT - NN_OP_UNARY_FIRST] = {k_rsqrt_f32, NULL},
    [NN_OP_ISNAN - NN_OP_UNARY_FIRST] = {k_isnan_f32, k_false_i64, true},
    [NN_OP_ISINF - NN_OP_UNARY_FIRST] = {k_isinf_f32, k_false_i64, true},
    [NN_OP_ISFINITE - NN_OP_UNARY_FIRST] = {k_isfinite_f32, k_true_i64, true},
};
_Static_assert(sizeof unary_ops / sizeof *unary_ops == NN_OP_UNARY_LAST - NN_OP_UNARY_FIRST + 1,
               "every unary op needs a row");

bool nn_binary_is_comparison(nn_op op) { return binary_ops[op - NN_OP_BINARY_FIRST].comparison; }
bool nn_unary_is_predicate(nn_op op) { return unary_ops[op - NN_OP_UNARY_FIRST].predicate; }

static binary_kernel binary_kernel_for(nn_op op, nn_dtype dtype) {
  int i = op - NN_OP_BINARY_FIRST;
  return dtype == NN_FLOAT32 ? binary_ops[i].f32
         : dtype == NN_INT64 ? binary_ops[i].i64
                             : NULL;
}

static unary_kernel unary_kernel_for(nn_op op, nn_dtype dtype) {
  int i = op - NN_OP_UNARY_FIRST;
  return dtype == NN_FLOAT32 ? unary_ops[i].f32
         : dtype == NN_INT64 ? unary_ops[i].i64
                             : NULL;
}

bool nn_binary_supports(nn_op op, nn_dtype dtype) {
  return binary_kernel_for(op, dtype) != NULL;
}

bool nn_unary_supports(nn_op op, nn_dtype dtype) {
  return unary_kernel_for(op, dtype) != NULL;
}

/* Contiguous operands of out's own shape (or a scalar b) need no walk:
 * small ops are dominated by setting one up. */
static bool flat_operand(const nn_tensor *t, const nn_tensor *out) {
  if (t->ndim != out->ndim || !nn_tensor_is_contiguous(t)) return false;
  for (int i = 0; i < t->ndim; i++) /* a loop, not memcmp: a call costs more for a few dims */
    if (t->shape[i] != out->shape[i]) return false;
  return true;
}

/* A binary or unary kernel over a walk or a flat range, on the pool. */
typedef struct kernel_job {
  binary_kernel binary;
  unary_kernel unary;
  char *o;
  const char *a, *b;
  size_t so, sa, sb; /* element sizes */
  int64_t step[3];
} kernel_job;

static void flat_part(void *ctx, int64_t begin, int64_t end) {
  const kernel_job *j = ctx;
  char *o = j->o + begin * (int64_t)j->so;
  const char *a = j->a + begin * (int64_t)j->sa, *b = j->b + begin * j->step[2] * (int64_t)j->sb;
  j->binary(o, a, b, j->step, end - begin);
}

static void walk_part(void *ctx, nn_iter *it) {
  const kernel_job *j = ctx;
  if (j->binary)
    while (nn_iter_next(it)) j->binary(it->ptr[0], it->ptr[1], it->ptr[2], it->step, it->n);
  else
    while (nn_iter_next(it)) j->unary(it->ptr[0], it->ptr[1], it->step, it->n);
}

void nn_binary(nn_op op, nn_tensor *out, const nn_tensor *a, const nn_tensor *b) {
  binary_kernel k = binary_kernel_for(op, a->dtype);
  if (nn_tensor_is_contiguous(out) && flat_operand(a, out) && (b->ndim == 0 || flat_operand(b, out))) {
    int64_t step[3] = {1, 1, b->ndim == 0 ? 0 : 1}, n = nn_tensor_numel(out);
    if (n < 2 * GRAIN) {
      k(nn_tensor_data(out), nn_tensor_data(a), nn_tensor_data(b), step, n);
      return;
    }
    kernel_job j = {k, NULL, nn_tensor_data(out), nn_tensor_data(a), nn_tensor_data(b),
                    nn_dtype_size(out->dtype), nn_dtype_size(a->dtype), nn_dtype_size(b->dtype),
                    {1, 1, step[2]}};
    nn_parallel_for(n, GRAIN, flat_part, &j);
    return;
  }
  nn_iter it;
  nn_iter_init_tensors(&it, out->ndim, out->shape, 3, (const nn_tensor *[]){out, a, b});
  kernel_job j = {.binary = k};
  nn_iter_parallel(&it, GRAIN, walk_part, &j);
}

void nn_unary(nn_op op, nn_tensor *out, const nn_tensor *a) {
  unary_kernel k = unary_kernel_for(op, a->dtype);
  nn_iter it;
  nn_iter_init_tensors(&it, out->ndim, out->shape, 2, (const nn_tensor *[]){out, a});
  kernel_job j = {.unary = k};
  nn_iter_parallel(&it, GRAIN, walk_part, &j);
}

/* ---- conversion, fill, where ---- */

static const nn_tensor *scalar_init(nn_scalar *s, nn_dtype dtype);

static double load_as_double(const char *p, nn_dtype dtype) {
  switch (dtype) {
  case NN_FLOAT32: return *(const float *)p;
  case NN_INT64: return (double)*(const int64_t *)p;
  default: return *(const bool *)p;
  }
}

static void store_double(char *p, nn_dtype dtype, double v) {
  switch (dtype) {
  case NN_FLOAT32: *(float *)p = (float)v; break;
  /* float -> int truncates toward zero (as PyTorch); NaN/inf become 0
   * rather than hitting C's undefined conversion. */
  case NN_INT64: *(int64_t *)p = (v == v && fabs(v) < 9.2e18) ? (int64_t)v : 0; break;
  default: *(bool *)p = v != 0; break;
  }
}

/* Writes one value of size es into n elements step apart: zero-filling
 * gradients and fills go through here, so the unit-step cases are plain
 * typed loops the compiler vectorizes. */
static void fill_run(char *o, int64_t step, const char *value, size_t es, int64_t n) {
  if (step == 1 && es == 4) {
    float v;
    memcpy(&v, value, 4);
    for (int64_t i = 0; i < n; i++) ((float *)o)[i] = v;
  } else if (step == 1 && es == 8) {
    int64_t v;
    memcpy(&v, value, 8);
    for (int64_t i = 0; i < n; i++) ((int64_t *)o)[i] = v;
  } else if (step == 1 && es == 1) {
    memset(o, *value, (size_t)n);
  } else {
    for (int64_t i = 0; i < n; i++) memcpy(o + i * step * (int64_t)es, value, es);
  }
}

static void copy_part(void *ctx, nn_iter *it) {
  const nn_tensor *const *t = ctx; /* out, src */
  nn_dtype od = t[0]->dtype, sd = t[1]->dtype;
  size_t so = nn_dtype_size(od), ss = nn_dtype_size(sd);
  if (od == sd) {
    while (nn_iter_next(it)) {
      if (it->step[1] == 0) {
        fill_run(it->ptr[0], it->step[0], it->ptr[1], so, it->n);
      } else if (it->step[0] == 1 && it->step[1] == 1) {
        memmove(it->ptr[0], it->ptr[1], (size_t)it->n * so);
      } else {
        for (int64_t i = 0; i < it->n; i++)
          memcpy(it->ptr[0] + i * it->step[0] * (int64_t)so,
                 it->ptr[1] + i * it->step[1] * (int64_t)ss, so);
      }
    }
    return;
  }
  /* int64 -> int64 never gets here, so double holds every value exactly
   * except int64 beyond 2^53 going to float32, which rounds anyway. */
  while (nn_iter_next(it))
    for (int64_t i = 0; i < it->n; i++)
      store_double(it->ptr[0] + i * it->step[0] * (int64_t)so, od,
                   load_as_double(it->ptr[1] + i * it->step[1] * (int64_t)ss, sd));
}

void nn_copy(nn_tensor *out, const nn_tensor *src) {
  nn_iter it;
  nn_iter_init_tensors(&it, out->ndim, out->shape, 2, (const nn_tensor *[]){out, src});
  const nn_tensor *t[2] = {out, src};
  /* A copy within one storage (overlapping memmoves) stays serial: split,
   * one part could read what another already wrote. */
  if (out->storage == src->storage) copy_part(t, &it);
  else nn_iter_parallel(&it, GRAIN, copy_part, t);
}

nn_status nn_contiguous(const nn_tensor *t, nn_tensor **copy, const nn_tensor **c) {
  *copy = NULL;
  *c = t;
  if (!t || nn_tensor_is_contiguous(t)) return NN_OK;
  if (!(*copy = nn_tensor_empty(t->dtype, t->ndim, t->shape))) return NN_ERR_NOMEM;
  nn_copy(*copy, t);
  *c = *copy;
  return NN_OK;
}

/* Zeroing a contiguous tensor (zero_grad, every step) is one memset per
 * part: all-zero bytes are 0 in every dtype. */
static void zero_range(void *ctx, int64_t begin, int64_t end) {
  memset((char *)ctx + begin, 0, (size_t)(end - begin));
}

void nn_fill(nn_tensor *out, double value) {
  if (value == 0 && !signbit(value) && nn_tensor_is_contiguous(out)) {
    int64_t bytes = nn_tensor_numel(out) * (int64_t)nn_dtype_size(out->dtype);
    nn_parallel_for(bytes, 4 * GRAIN, zero_range, nn_tensor_data(out));
    return;
  }
  nn_scalar s;
  const nn_tensor *v = scalar_init(&s, out->dtype);
  store_double((char *)&s.value, out->dtype, value);
  nn_copy(out, v);
}

static void select_part(void *ctx, nn_iter *it) {
  int64_t es = *(const int64_t *)ctx;
  while (nn_iter_next(it))
    for (int64_t i = 0; i < it->n; i++) {
      bool m = *(const bool *)(it->ptr[1] + i * it->step[1]);
      const char *src = m ? it->ptr[2] + i * it->step[2] * es : it->ptr[3] + i * it->step[3] * es;
      memcpy(it->ptr[0] + i * it->step[0] * es, src, (size_t)es);
    }
}

void nn_select(nn_tensor *out, const nn_tensor *mask, const nn_tensor *a,
              const nn_tensor *b) {
  nn_iter it;
  nn_iter_init_tensors(&it, out->ndim, out->shape, 4,
                       (const nn_tensor *[]){out, mask, a, b});
  int64_t es = (int64_t)nn_dtype_size(out->dtype);
  nn_iter_parallel(&it, GRAIN, select_part, &es);
}

static const nn_tensor *scalar_init(nn_scalar *s, nn_dtype dtype) {
  memset(&s->tensor, 0, sizeof s->tensor);
  s->storage.data = &s->value;
  s->storage.nbytes = sizeof s->value;
  s->storage.refcount = 1;
  s->tensor.storage = &s->storage;
  s->tensor.dtype = dtype;
  s->tensor.refcount = 0; /* borrowed: see nn_tensor_is_borrowed */
  return &s->tensor;
}

const nn_tensor *nn_scalar_f32(nn_scalar *s, float value) {
  s->value.f32 = value;
  return scalar_init(s, NN_FLOAT32);
}

const nn_tensor *nn_scalar_i64(nn_scalar *s, int64_t value) {
  s->value.i64 = value;
  return scalar_init(s, NN_INT64);
}

/* ---- entry points ---- */

nn_status nn_apply_binary(nn_op op, nn_tensor *out, const nn_tensor *a, const nn_tensor *b) {
  nn_binary(op, out, a, b);
  if (nn_binary_is_comparison(op)) return NN_OK;
  nn_node *node;
  nn_status st = nn_record(&node, op, out, 2, (nn_tensor *[]){(nn_tensor *)a, (nn_tensor *)b});
  if (!node || op == NN_OP_ADD || op == NN_OP_SUB) return st;
  if (!st) st = nn_node_save(node, a);
  if (!st) st = nn_node_save(node, b);
  if (!st && op == NN_OP_POW) st = nn_node_save_output(node, out);
  return st;
}

nn_status nn_apply_unary(nn_op op, nn_tensor *out, const nn_tensor *a) {
  nn_unary(op, out, a);
  if (nn_unary_is_predicate(op)) return NN_OK;
  nn_node *node;
  nn_status st = nn_record(&node, op, out, 1, (nn_tensor *[]){(nn_tensor *)a});
  if (st || !node) return st;
  switch (op) {
  case NN_OP_NEG:
  case NN_OP_SIGN:
  case NN_OP_FLOOR:
  case NN_OP_CEIL:
  case NN_OP_ROUND:
  case NN_OP_TRUNC: return NN_OK; /* backwards that need no tensor */
  case NN_OP_ABS:
  case NN_OP_LOG:
  case NN_OP_SIN:
  case NN_OP_COS:
  case NN_OP_SQUARE:
  case NN_OP_LOG1P: return nn_node_save(node, a);
  default: return nn_node_save_output(node, out); /* relu, exp, sqrt, sigmoid, tanh, expm1,
                                                     reciprocal, rsqrt */
  }
}

/* Two passes, maximum then minimum, the second in place over out. */
nn_status nn_clamp(nn_tensor *out, const nn_tensor *x, const nn_clamp_args *args) {
  nn_scalar s;
  const nn_tensor *in = x;
  for (int i = 0; i < 2; i++) {
    if (!(i == 0 ? args->has_lo : args->has_hi)) continue;
    double v = i == 0 ? args->lo : args->hi;
    const nn_tensor *bound = out->dtype == NN_FLOAT32 ? nn_scalar_f32(&s, (float)v)
                                                      : nn_scalar_i64(&s, (int64_t)v);
    nn_binary(i == 0 ? NN_OP_MAXIMUM : NN_OP_MINIMUM, out, in, bound);
    in = out;
  }
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_CLAMP, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (st || !node) return st;
  node->args.clamp = *args;
  return nn_node_save(node, x);
}

nn_status nn_where(nn_tensor *out, const nn_tensor *mask, const nn_tensor *a, const nn_tensor *b) {
  nn_select(out, mask, a, b);
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_WHERE, out, 3,
                           (nn_tensor *[]){NULL, (nn_tensor *)a, (nn_tensor *)b});
  if (st || !node) return st;
  return nn_node_save(node, mask);
}

/* ---- backward ----
 * g is the contiguous float32 gradient of the output; gi[i] is the buffer
 * input i's gradient is added into (NULL: not wanted). A term is formed in
 * a scratch tensor of g's shape and summed into gi[i] by nn_accumulate,
 * which also sums over the dims an input was broadcast along. */


static nn_tensor *scratch(const nn_tensor *g) {
  return nn_tensor_empty(NN_FLOAT32, g->ndim, g->shape);
}

/* gi += (a op1 b) op2 c; op2 is skipped when c is NULL. */
static bool add_term(nn_tensor *gi, const nn_tensor *g, nn_op op1, const nn_tensor *a,
                     const nn_tensor *b, nn_op op2, const nn_tensor *c) {
  if (!gi) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_binary(op1, t, a, b);
  if (c) nn_binary(op2, t, t, c);
  nn_accumulate(gi, t);
  nn_tensor_release(t);
  return true;
}

static bool add_negated(nn_tensor *gi, const nn_tensor *g) {
  nn_scalar minus_one;
  return add_term(gi, g, NN_OP_MUL, g, nn_scalar_f32(&minus_one, -1), NN_OP_ADD, NULL);
}

bool nn_add_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  for (int i = 0; i < 2; i++)
    if (gi[i]) nn_accumulate(gi[i], g);
  return true;
}

bool nn_sub_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  if (gi[0]) nn_accumulate(gi[0], g);
  return add_negated(gi[1], g);
}

bool nn_mul_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *a = n->saved[0], *b = n->saved[1];
  return add_term(gi[0], g, NN_OP_MUL, g, b, 0, NULL) &&
         add_term(gi[1], g, NN_OP_MUL, g, a, 0, NULL);
}

/* d(a/b)/da = 1/b; d(a/b)/db = -a/b^2 = -(g*a/b)/b. */
bool nn_div_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *a = n->saved[0], *b = n->saved[1];
  if (!add_term(gi[0], g, NN_OP_DIV, g, b, 0, NULL)) return false;
  if (!gi[1]) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_scalar minus_one;
  nn_binary(NN_OP_MUL, t, g, a);
  nn_binary(NN_OP_DIV, t, t, b);
  nn_binary(NN_OP_DIV, t, t, b);
  nn_binary(NN_OP_MUL, t, t, nn_scalar_f32(&minus_one, -1));
  nn_accumulate(gi[1], t);
  nn_tensor_release(t);
  return true;
}

/* d(a^b)/da = b * a^(b-1); d(a^b)/db = a^b * log(a). */
bool nn_pow_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *a = n->saved[0], *b = n->saved[1], *out = n->saved[2];
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_scalar one;
  if (gi[0]) {
    nn_binary(NN_OP_SUB, t, b, nn_scalar_f32(&one, 1));
    nn_binary(NN_OP_POW, t, a, t);
    nn_binary(NN_OP_MUL, t, t, b);
    nn_binary(NN_OP_MUL, t, t, g);
    nn_accumulate(gi[0], t);
  }
  if (gi[1]) {
    nn_unary(NN_OP_LOG, t, a); /* a broadcast to g's shape first */
    nn_binary(NN_OP_MUL, t, t, out);
    nn_binary(NN_OP_MUL, t, t, g);
    nn_accumulate(gi[1], t);
  }
  nn_tensor_release(t);
  return true;
}

/* The larger input takes the gradient; on a tie each takes half (as
 * PyTorch). win is GT for maximum, LT for minimum. */
static bool backward_extremum(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi,
                              nn_op win) {
  nn_tensor *mask = nn_tensor_empty(NN_BOOL, g->ndim, g->shape), *w = scratch(g), *t = scratch(g);
  bool ok = mask && w && t;
  for (int i = 0; ok && i < 2; i++) {
    if (!gi[i]) continue;
    const nn_tensor *self = n->saved[i], *other = n->saved[1 - i];
    nn_scalar half;
    nn_binary(NN_OP_EQ, mask, self, other);
    nn_copy(w, mask);
    nn_binary(NN_OP_MUL, w, w, nn_scalar_f32(&half, 0.5f));
    nn_binary(win, mask, self, other);
    nn_copy(t, mask);
    nn_binary(NN_OP_ADD, t, t, w);
    nn_binary(NN_OP_MUL, t, t, g);
    nn_accumulate(gi[i], t);
  }
  nn_tensor_release(mask);
  nn_tensor_release(w);
  nn_tensor_release(t);
  return ok;
}

bool nn_maximum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_extremum(n, g, gi, NN_OP_GT);
}

bool nn_minimum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_extremum(n, g, gi, NN_OP_LT);
}

bool nn_neg_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  return add_negated(gi[0], g);
}

bool nn_sign_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n, (void)g, (void)gi; /* the gradient is zero almost everywhere */
  return true;
}

bool nn_abs_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_unary(NN_OP_SIGN, t, n->saved[0]);
  nn_binary(NN_OP_MUL, t, t, g);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

/* gi (x's shape) += g where lo <= x <= hi (lo excluded when lo_open). One
 * fused pass: this is ReLU's backward, on every training step. */
typedef struct range_pass {
  float lo, hi;
  bool lo_open;
} range_pass;

static void pass_in_range_part(void *ctx, nn_iter *it) {
  const range_pass *r = ctx;
  float lo = r->lo, hi = r->hi;
  bool lo_open = r->lo_open;
  while (nn_iter_next(it)) {
    float *o = (float *)it->ptr[0];
    const float *gp = (const float *)it->ptr[1], *xp = (const float *)it->ptr[2];
    if (it->step[0] == 1 && it->step[1] == 1 && it->step[2] == 1) {
      /* Non-short-circuit tests and a select: the compiler vectorizes
       * these loops (random signs made the branchy form mispredict). */
      for (int64_t i = 0; i < it->n; i++) {
        float x = xp[i], g = gp[i];
        bool pass = (lo_open ? x > lo : x >= lo) & (x <= hi);
        o[i] += pass ? g : 0.0f;
      }
      continue;
    }
    for (int64_t i = 0; i < it->n; i++) {
      float v = xp[i * it->step[2]];
      bool pass = (lo_open ? v > lo : v >= lo) && v <= hi;
      o[i * it->step[0]] += pass ? gp[i * it->step[1]] : 0.0f;
    }
  }
}

static void pass_in_range(nn_tensor *gi, const nn_tensor *g, const nn_tensor *x, float lo, float hi,
                          bool lo_open) {
  nn_iter it;
  nn_iter_init_tensors(&it, gi->ndim, gi->shape, 3, (const nn_tensor *[]){gi, g, x});
  range_pass r = {lo, hi, lo_open};
  nn_iter_parallel(&it, GRAIN, pass_in_range_part, &r); /* gi is the walk's shape: parts write apart */
}

/* o += g where y > 0 (or o = when o is a fresh buffer), over contiguous
 * arrays (separate loops so the compiler vectorizes them: they run on
 * every ReLU of every step). */
static void relu_backward_run(float *restrict o, const float *restrict g, const float *restrict y,
                              int64_t n, bool fresh) {
  if (fresh) { /* g[i] read unconditionally: a select the compiler vectorizes, not a branch */
    for (int64_t i = 0; i < n; i++) {
      float gv = g[i];
      o[i] = y[i] > 0.0f ? gv : 0.0f;
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    float gv = g[i];
    o[i] += y[i] > 0.0f ? gv : 0.0f;
  }
}

typedef struct relu_job {
  float *o;
  const float *g, *y;
  bool fresh;
} relu_job;

static void relu_backward_part(void *ctx, int64_t begin, int64_t end) {
  const relu_job *j = ctx;
  relu_backward_run(j->o + begin, j->g + begin, j->y + begin, end - begin, j->fresh);
}

bool nn_relu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *y = n->saved[0];
  if (!gi[0]) return true;
  bool fresh = nn_grad_is_fresh(n, 0);
  if (nn_tensor_is_contiguous(y) && nn_tensor_numel(gi[0]) == nn_tensor_numel(g)) {
    relu_job j = {nn_tensor_data(gi[0]), nn_tensor_data(g), nn_tensor_data(y), fresh};
    nn_parallel_for(nn_tensor_numel(g), GRAIN, relu_backward_part, &j);
  } else {
    if (fresh) nn_fill(gi[0], 0);
    pass_in_range(gi[0], g, y, 0.0f, INFINITY, true);
  }
  return true;
}

/* PyTorch passes the gradient where lo <= x <= hi, bounds included. */
bool nn_clamp_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_clamp_args *a = &n->args.clamp;
  float lo = a->has_lo ? (float)a->lo : -INFINITY;
  float hi = a->has_hi ? (float)a->hi : INFINITY;
  if (gi[0]) pass_in_range(gi[0], g, n->saved[0], lo, hi, false);
  return true;
}

bool nn_exp_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return add_term(gi[0], g, NN_OP_MUL, g, n->saved[0], 0, NULL);
}

bool nn_log_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return add_term(gi[0], g, NN_OP_DIV, g, n->saved[0], 0, NULL);
}

/* d sqrt(x) = 1 / (2 sqrt(x)). */
bool nn_sqrt_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  nn_scalar half;
  return add_term(gi[0], g, NN_OP_DIV, g, n->saved[0], NN_OP_MUL, nn_scalar_f32(&half, 0.5f));
}

/* d sigmoid = s (1 - s); d tanh = 1 - t^2; both from the saved output. */
static bool backward_from_output(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi,
                                 bool is_tanh) {
  if (!gi[0]) return true;
  const nn_tensor *y = n->saved[0];
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_scalar one;
  if (is_tanh) {
    nn_binary(NN_OP_MUL, t, y, y);
    nn_binary(NN_OP_SUB, t, nn_scalar_f32(&one, 1), t);
  } else {
    nn_binary(NN_OP_SUB, t, nn_scalar_f32(&one, 1), y);
    nn_binary(NN_OP_MUL, t, t, y);
  }
  nn_binary(NN_OP_MUL, t, t, g);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

bool nn_sigmoid_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_from_output(n, g, gi, false);
}

bool nn_tanh_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_from_output(n, g, gi, true);
}

/* d sin(x) = cos(x); d cos(x) = -sin(x); from the saved input. */
static bool backward_trig(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi, bool is_cos) {
  if (!gi[0]) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_unary(is_cos ? NN_OP_SIN : NN_OP_COS, t, n->saved[0]);
  if (is_cos) nn_unary(NN_OP_NEG, t, t);
  nn_binary(NN_OP_MUL, t, t, g);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

bool nn_sin_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_trig(n, g, gi, false);
}

bool nn_cos_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  return backward_trig(n, g, gi, true);
}

/* floor, ceil, round, trunc: piecewise constant, zero gradient (as PyTorch). */
bool nn_rounding_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n, (void)g, (void)gi;
  return true;
}

/* d x^2 = 2 x, from the saved input. */
bool nn_square_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  nn_scalar two;
  return add_term(gi[0], g, NN_OP_MUL, g, n->saved[0], NN_OP_MUL, nn_scalar_f32(&two, 2));
}

/* d log(1 + x) = 1 / (1 + x), from the saved input. */
bool nn_log1p_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  nn_scalar one;
  nn_binary(NN_OP_ADD, t, n->saved[0], nn_scalar_f32(&one, 1));
  nn_binary(NN_OP_DIV, t, g, t);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

/* d (e^x - 1) = e^x = y + 1, from the saved output. */
bool nn_expm1_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  nn_scalar one;
  return add_term(gi[0], g, NN_OP_ADD, n->saved[0], nn_scalar_f32(&one, 1), NN_OP_MUL, g);
}

/* d (1/x) = -1/x^2 = -y^2, from the saved output. */
bool nn_reciprocal_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  const nn_tensor *y = n->saved[0];
  nn_binary(NN_OP_MUL, t, y, y);
  nn_unary(NN_OP_NEG, t, t);
  nn_binary(NN_OP_MUL, t, t, g);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

/* d x^(-1/2) = -1/2 x^(-3/2) = -y^3 / 2, from the saved output. */
bool nn_rsqrt_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *t = scratch(g);
  if (!t) return false;
  const nn_tensor *y = n->saved[0];
  nn_scalar minus_half;
  nn_binary(NN_OP_MUL, t, y, y);
  nn_binary(NN_OP_MUL, t, t, y);
  nn_binary(NN_OP_MUL, t, t, nn_scalar_f32(&minus_half, -0.5f));
  nn_binary(NN_OP_MUL, t, t, g);
  nn_accumulate(gi[0], t);
  nn_tensor_release(t);
  return true;
}

/* where(mask, a, b): a's gradient where mask holds, b's elsewhere. */
bool nn_where_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  nn_scalar zero;
  const nn_tensor *z = nn_scalar_f32(&zero, 0), *mask = n->saved[0];
  for (int i = 1; i <= 2; i++) {
    if (!gi[i]) continue;
    nn_tensor *t = scratch(g);
    if (!t) return false;
    nn_select(t, mask, i == 1 ? g : z, i == 1 ? z : g);
    nn_accumulate(gi[i], t);
    nn_tensor_release(t);
  }
  return true;
}
