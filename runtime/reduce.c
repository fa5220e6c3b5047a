/*
 * Reductions. Every op is an accumulator fed element by element; outputs
 * are computed BLOCK_COLS at a time, their states side by side (struct
 * accs), and the walk decides the order in which input is fed:
 *
 *   full     the whole tensor is one row, walked run by run with nn_iter
 *            in row-major order, so positions are flat indices;
 *   rows     each output's K elements along dim form one strided run
 *            (sum over the last dim of a contiguous [N,K]: a tight loop);
 *   block    when the reduced dim is the outer one in memory (column sums
 *            of [N,K]), the input is read row after row, in memory order,
 *            each row adding into the block's states.
 *
 * nn_apply_reduce, at the end, runs one and records its node; the
 * backward functions are in reduce_backward.c.
 *
 * As in elementwise.c the loops are static inline and take their
 * per-element function as a constant pointer, so it is inlined.
 */
#include "nn_reduce.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

#include "nn_autograd.h"
#include "nn_iter.h"

enum { BLOCK_COLS = 256 };

/* Running states of up to BLOCK_COLS outputs; column j is output j. */
typedef struct accs {
  double d[BLOCK_COLS];   /* float sum or extreme; var pass 2: squared deviations */
  double c[BLOCK_COLS];   /* constant of the term: p for norm, the mean in var pass 2 */
  int64_t i[BLOCK_COLS];  /* integer sum or extreme */
  int64_t at[BLOCK_COLS]; /* position of the extreme so far; -1 before any */
} accs;

/* Input fed to states: a run (n elements step apart, the first at position
 * i0 along the reduced extent) into one column, or a block (n columns step
 * apart, each K rows of stride ks; strides in elements) into columns 0..n-1. */
typedef struct span {
  const char *p;
  int64_t n, step;
  int64_t i0;    /* run only */
  int64_t K, ks; /* block only */
} span;

typedef void (*run_fn)(accs *A, int64_t j, const span *s);
typedef void (*block_fn)(accs *A, const span *s);

/* ---- additive float terms: d += term(x, c) ---- */

typedef double (*term_fn)(double x, double c);

static inline double t_id(double x, double c) { (void)c; return x; }
static inline double t_abs(double x, double c) { (void)c; return fabs(x); }
static inline double t_sq(double x, double c) { (void)c; return x * x; }
static inline double t_nonzero(double x, double c) { (void)c; return x != 0; }
static inline double t_pow(double x, double c) { return pow(fabs(x), c); }
static inline double t_dev2(double x, double c) { return (x - c) * (x - c); }

/* Eight partial sums on unit steps break the add latency chain (and let
 * the compiler vectorize) without reassociating anything. */
static inline void add_run(term_fn f, accs *A, int64_t j, const span *s) {
  const float *p = (const float *)s->p;
  double c = A->c[j], sum = 0;
  int64_t i = 0;
  if (s->step == 1) {
    double lane[8] = {0};
    for (; i + 8 <= s->n; i += 8)
      for (int l = 0; l < 8; l++) lane[l] += f(p[i + l], c);
    for (int l = 0; l < 8; l++) sum += lane[l];
  }
  for (; i < s->n; i++) sum += f(p[i * s->step], c);
  A->d[j] += sum;
}

static inline void add_block(term_fn f, accs *A, const span *s) {
  for (int64_t k = 0; k < s->K; k++) {
    const float *row = (const float *)s->p + k * s->ks;
    if (s->step == 1)
      for (int64_t j = 0; j < s->n; j++) A->d[j] += f(row[j], A->c[j]);
    else
      for (int64_t j = 0; j < s->n; j++) A->d[j] += f(row[j * s->step], A->c[j]);
  }
}

/* ---- integer sums (exact, wrapping like C unsigned) ---- */

typedef int64_t (*load_int_fn)(const char *p, int64_t i);

static inline int64_t ld_i64(const char *p, int64_t i) { return ((const int64_t *)p)[i]; }
static inline int64_t ld_bool(const char *p, int64_t i) { return ((const uint8_t *)p)[i] != 0; }
/* 1 for a nonzero element (NaN is nonzero): any, all, count_nonzero. */
static inline int64_t ld_nz_f32(const char *p, int64_t i) { return ((const float *)p)[i] != 0; }
static inline int64_t ld_nz_i64(const char *p, int64_t i) { return ((const int64_t *)p)[i] != 0; }

static inline void int_run(load_int_fn ld, accs *A, int64_t j, const span *s) {
  uint64_t sum = (uint64_t)A->i[j];
  if (s->step == 1)
    for (int64_t i = 0; i < s->n; i++) sum += (uint64_t)ld(s->p, i);
  else
    for (int64_t i = 0; i < s->n; i++) sum += (uint64_t)ld(s->p, i * s->step);
  A->i[j] = (int64_t)sum;
}

static inline void int_block(load_int_fn ld, accs *A, const span *s) {
  for (int64_t k = 0; k < s->K; k++)
    for (int64_t j = 0; j < s->n; j++)
      A->i[j] = (int64_t)((uint64_t)A->i[j] + (uint64_t)ld(s->p, k * s->ks + j * s->step));
}

/* ---- extremes: the first element that no later one beats ---- */

/* x replaces best when strictly better (so ties keep the first), or when
 * x is the first NaN: NaN propagates as in PyTorch. */
typedef bool (*better_f_fn)(float x, float best);
typedef bool (*better_i_fn)(int64_t x, int64_t best);
typedef float (*xform_fn)(float x);

static inline bool gt_f(float x, float best) { return (x > best) | ((x != x) & (best == best)); }
static inline bool lt_f(float x, float best) { return (x < best) | ((x != x) & (best == best)); }
static inline bool gt_i(int64_t x, int64_t best) { return x > best; }
static inline bool lt_i(int64_t x, int64_t best) { return x < best; }
static inline float x_id(float x) { return x; }
static inline float x_abs(float x) { return fabsf(x); }

/* The better of x and best, ignoring NaN: the `a > b ? a : b` shape
 * compiles to a branch-free max instruction. */
typedef float (*pick_fn)(float x, float best);
static inline float pick_gt(float x, float best) { return x > best ? x : best; }
static inline float pick_lt(float x, float best) { return x < best ? x : best; }

/* Position of the best of p[0..n), n >= 8, contiguous. Eight independent
 * lanes find the best value (and whether there is a NaN) without branches
 * or one long dependency chain; then the first element equal to it (or
 * the first NaN) is the answer, as a sequential strict scan would give. */
static inline int64_t ext_f32_find(pick_fn pick, xform_fn xf, const float *p, int64_t n) {
  float lane[8];
  int has_nan[8] = {0};
  int64_t i;
  for (int l = 0; l < 8; l++) lane[l] = xf(p[l]);
  for (i = 0; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++) {
      float x = xf(p[i + l]);
      lane[l] = pick(x, lane[l]);
      has_nan[l] |= x != x;
    }
  for (int l = 1; l < 8; l++) {
    lane[0] = pick(lane[l], lane[0]);
    has_nan[0] |= has_nan[l];
  }
  for (; i < n; i++) {
    lane[0] = pick(xf(p[i]), lane[0]);
    has_nan[0] |= p[i] != p[i];
  }
  for (i = 0; i < n; i++) {
    float x = xf(p[i]);
    if (has_nan[0] ? x != x : x == lane[0]) break;
  }
  return i;
}

static inline void ext_f32_run(better_f_fn better, pick_fn pick, xform_fn xf, accs *A,
                               int64_t j, const span *s) {
  const float *p = (const float *)s->p;
  if (s->n == 0) return;
  int64_t at = 0;
  if (s->step == 1 && s->n >= 8) {
    at = ext_f32_find(pick, xf, p, s->n);
  } else {
    for (int64_t i = 1; i < s->n; i++)
      if (better(xf(p[i * s->step]), xf(p[at * s->step]))) at = i;
  }
  /* Merge with the runs before (a full reduction): strictly better only. */
  float x = xf(p[at * s->step]);
  if (A->at[j] < 0 || better(x, (float)A->d[j])) {
    A->d[j] = x;
    A->at[j] = s->i0 + at;
  }
}

static inline void ext_f32_block(better_f_fn better, xform_fn xf, accs *A, const span *s) {
  for (int64_t k = 0; k < s->K; k++) {
    const float *row = (const float *)s->p + k * s->ks;
    for (int64_t j = 0; j < s->n; j++) {
      float x = xf(row[j * s->step]);
      if (A->at[j] < 0 || better(x, (float)A->d[j])) {
        A->d[j] = x;
        A->at[j] = k;
      }
    }
  }
}

static inline void ext_int_run(better_i_fn better, load_int_fn ld, accs *A, int64_t j,
                               const span *s) {
  for (int64_t i = 0; i < s->n; i++) {
    int64_t x = ld(s->p, i * s->step);
    if (A->at[j] < 0 || better(x, A->i[j])) {
      A->i[j] = x;
      A->at[j] = s->i0 + i;
    }
  }
}

static inline void ext_int_block(better_i_fn better, load_int_fn ld, accs *A, const span *s) {
  for (int64_t k = 0; k < s->K; k++)
    for (int64_t j = 0; j < s->n; j++) {
      int64_t x = ld(s->p, k * s->ks + j * s->step);
      if (A->at[j] < 0 || better(x, A->i[j])) {
        A->i[j] = x;
        A->at[j] = k;
      }
    }
}

/* ---- one wrapper per (op, dtype, walk) binds a loop to its element op ---- */

static void run_sum_f32(accs *A, int64_t j, const span *s) { add_run(t_id, A, j, s); }
static void blk_sum_f32(accs *A, const span *s) { add_block(t_id, A, s); }
static void run_dev2(accs *A, int64_t j, const span *s) { add_run(t_dev2, A, j, s); }
static void blk_dev2(accs *A, const span *s) { add_block(t_dev2, A, s); }
static void run_sum_i64(accs *A, int64_t j, const span *s) { int_run(ld_i64, A, j, s); }
static void blk_sum_i64(accs *A, const span *s) { int_block(ld_i64, A, s); }
static void run_sum_bool(accs *A, int64_t j, const span *s) { int_run(ld_bool, A, j, s); }
static void blk_sum_bool(accs *A, const span *s) { int_block(ld_bool, A, s); }
static void run_nz_f32(accs *A, int64_t j, const span *s) { int_run(ld_nz_f32, A, j, s); }
static void blk_nz_f32(accs *A, const span *s) { int_block(ld_nz_f32, A, s); }
static void run_nz_i64(accs *A, int64_t j, const span *s) { int_run(ld_nz_i64, A, j, s); }
static void blk_nz_i64(accs *A, const span *s) { int_block(ld_nz_i64, A, s); }
static void run_max_f32(accs *A, int64_t j, const span *s) { ext_f32_run(gt_f, pick_gt, x_id, A, j, s); }
static void blk_max_f32(accs *A, const span *s) { ext_f32_block(gt_f, x_id, A, s); }
static void run_min_f32(accs *A, int64_t j, const span *s) { ext_f32_run(lt_f, pick_lt, x_id, A, j, s); }
static void blk_min_f32(accs *A, const span *s) { ext_f32_block(lt_f, x_id, A, s); }
static void run_max_i64(accs *A, int64_t j, const span *s) { ext_int_run(gt_i, ld_i64, A, j, s); }
static void blk_max_i64(accs *A, const span *s) { ext_int_block(gt_i, ld_i64, A, s); }
static void run_min_i64(accs *A, int64_t j, const span *s) { ext_int_run(lt_i, ld_i64, A, j, s); }
static void blk_min_i64(accs *A, const span *s) { ext_int_block(lt_i, ld_i64, A, s); }
static void run_max_bool(accs *A, int64_t j, const span *s) { ext_int_run(gt_i, ld_bool, A, j, s); }
static void blk_max_bool(accs *A, const span *s) { ext_int_block(gt_i, ld_bool, A, s); }
static void run_min_bool(accs *A, int64_t j, const span *s) { ext_int_run(lt_i, ld_bool, A, j, s); }
static void blk_min_bool(accs *A, const span *s) { ext_int_block(lt_i, ld_bool, A, s); }

/* The p-norm picks its term from p (in c); p = inf is the max of |x|, an
 * extreme rather than a sum. */
static void run_norm(accs *A, int64_t j, const span *s) {
  double p = A->c[j];
  if (isinf(p)) ext_f32_run(gt_f, pick_gt, x_abs, A, j, s);
  else if (p == 2) add_run(t_sq, A, j, s);
  else if (p == 1) add_run(t_abs, A, j, s);
  else if (p == 0) add_run(t_nonzero, A, j, s);
  else add_run(t_pow, A, j, s);
}

static void blk_norm(accs *A, const span *s) {
  double p = A->c[0];
  if (isinf(p)) ext_f32_block(gt_f, x_abs, A, s);
  else if (p == 2) add_block(t_sq, A, s);
  else if (p == 1) add_block(t_abs, A, s);
  else if (p == 0) add_block(t_nonzero, A, s);
  else add_block(t_pow, A, s);
}

/* ---- the op table ---- */

typedef struct reducer {
  run_fn run;     /* feed a run to one state */
  block_fn block; /* feed a block to a block of states */
  bool two_pass;  /* var, std: then squared deviations from the mean */
} reducer;

static const reducer r_sum_f32 = {run_sum_f32, blk_sum_f32, false};
static const reducer r_sum_i64 = {run_sum_i64, blk_sum_i64, false};
static const reducer r_sum_bool = {run_sum_bool, blk_sum_bool, false};
static const reducer r_var = {run_sum_f32, blk_sum_f32, true};
static const reducer r_dev2 = {run_dev2, blk_dev2, false}; /* var's pass 2 */
static const reducer r_norm = {run_norm, blk_norm, false};
static const reducer r_nz_f32 = {run_nz_f32, blk_nz_f32, false};
static const reducer r_nz_i64 = {run_nz_i64, blk_nz_i64, false};
static const reducer r_max_f32 = {run_max_f32, blk_max_f32, false};
static const reducer r_min_f32 = {run_min_f32, blk_min_f32, false};
static const reducer r_max_i64 = {run_max_i64, blk_max_i64, false};
static const reducer r_min_i64 = {run_min_i64, blk_min_i64, false};
static const reducer r_max_bool = {run_max_bool, blk_max_bool, false};
static const reducer r_min_bool = {run_min_bool, blk_min_bool, false};

/* node: the op its autograd node records (max/min of everything record
 * NN_OP_EXTREMUM instead); NN_OP_COUNT: not differentiable. */
static const struct {
  const char *name;
  const reducer *by_dtype[NN_DTYPE_COUNT]; /* NULL: convert to float32 */
  bool values, indices;
  nn_op node;
} reduce_ops[] = {
    [NN_REDUCE_SUM] = {"sum", {[NN_FLOAT32] = &r_sum_f32, [NN_INT64] = &r_sum_i64, [NN_BOOL] = &r_sum_bool}, true, false, NN_OP_SUM},
    [NN_REDUCE_MEAN] = {"mean", {[NN_FLOAT32] = &r_sum_f32}, true, false, NN_OP_MEAN},
    [NN_REDUCE_MAX] = {"max", {[NN_FLOAT32] = &r_max_f32, [NN_INT64] = &r_max_i64, [NN_BOOL] = &r_max_bool}, true, true, NN_OP_MAX_DIM},
    [NN_REDUCE_MIN] = {"min", {[NN_FLOAT32] = &r_min_f32, [NN_INT64] = &r_min_i64, [NN_BOOL] = &r_min_bool}, true, true, NN_OP_MAX_DIM},
    [NN_REDUCE_ARGMAX] = {"argmax", {[NN_FLOAT32] = &r_max_f32, [NN_INT64] = &r_max_i64, [NN_BOOL] = &r_max_bool}, false, true, NN_OP_COUNT},
    [NN_REDUCE_ARGMIN] = {"argmin", {[NN_FLOAT32] = &r_min_f32, [NN_INT64] = &r_min_i64, [NN_BOOL] = &r_min_bool}, false, true, NN_OP_COUNT},
    [NN_REDUCE_VAR] = {"var", {[NN_FLOAT32] = &r_var}, true, false, NN_OP_VAR},
    [NN_REDUCE_STD] = {"std", {[NN_FLOAT32] = &r_var}, true, false, NN_OP_VAR},
    [NN_REDUCE_NORM] = {"norm", {[NN_FLOAT32] = &r_norm}, true, false, NN_OP_NORM},
    /* any, all, count_nonzero: the count of nonzero elements (bool sums are that count) */
    [NN_REDUCE_ANY] = {"any", {[NN_FLOAT32] = &r_nz_f32, [NN_INT64] = &r_nz_i64, [NN_BOOL] = &r_sum_bool}, true, false, NN_OP_COUNT},
    [NN_REDUCE_ALL] = {"all", {[NN_FLOAT32] = &r_nz_f32, [NN_INT64] = &r_nz_i64, [NN_BOOL] = &r_sum_bool}, true, false, NN_OP_COUNT},
    [NN_REDUCE_COUNT_NONZERO] = {"count_nonzero", {[NN_FLOAT32] = &r_nz_f32, [NN_INT64] = &r_nz_i64, [NN_BOOL] = &r_sum_bool}, true, false, NN_OP_COUNT},
};
_Static_assert(sizeof reduce_ops / sizeof *reduce_ops == NN_REDUCE_COUNT,
               "every reduction needs a row");

const char *nn_reduce_name(nn_reduce_op op) { return reduce_ops[op].name; }
bool nn_reduce_supports(nn_reduce_op op, nn_dtype dtype) {
  return reduce_ops[op].by_dtype[dtype] != NULL;
}
bool nn_reduce_has_values(nn_reduce_op op) { return reduce_ops[op].values; }
bool nn_reduce_has_indices(nn_reduce_op op) { return reduce_ops[op].indices; }
/* The ops with indices are exactly the extremes, which need an element. */
bool nn_reduce_needs_elements(nn_reduce_op op) { return reduce_ops[op].indices; }

nn_dtype nn_reduce_value_dtype(nn_reduce_op op, nn_dtype dtype) {
  switch (op) {
  case NN_REDUCE_SUM: return dtype == NN_FLOAT32 ? NN_FLOAT32 : NN_INT64;
  case NN_REDUCE_MAX:
  case NN_REDUCE_MIN: return dtype;
  case NN_REDUCE_ARGMAX:
  case NN_REDUCE_ARGMIN:
  case NN_REDUCE_COUNT_NONZERO: return NN_INT64;
  case NN_REDUCE_ANY:
  case NN_REDUCE_ALL: return NN_BOOL;
  default: return NN_FLOAT32;
  }
}

/* ---- where the results go ---- */

/* The outputs of one nn_iter run: values and indices, n of them step
 * bytes apart; each reduces K elements. */
typedef struct dest {
  nn_reduce_op op;
  nn_dtype dtype;  /* of the values */
  char *val, *idx; /* either may be NULL */
  int64_t vstep, istep;
  int64_t K;
  double param;
} dest;

static double norm_value(double d, double p) {
  if (isinf(p) || p == 0 || p == 1) return d;
  if (p == 2) return sqrt(d);
  return pow(d, 1.0 / p);
}

/* Output j0 + j from state j; indices count from 1, the runtime
 * boundary's rule for index-valued tensors. var divides by max(0, K -
 * correction) as PyTorch does, so one element unbiased gives 0/0 = NaN. */
static void store(const dest *o, const accs *A, int64_t j, int64_t j0) {
  if (o->idx) *(int64_t *)(o->idx + (j0 + j) * o->istep) = A->at[j] + 1;
  if (!o->val) return;
  char *out = o->val + (j0 + j) * o->vstep;
  double v = A->d[j], dof = fmax(0.0, (double)o->K - o->param);
  int64_t iv = A->i[j];
  if (o->op == NN_REDUCE_ANY) iv = iv > 0;
  if (o->op == NN_REDUCE_ALL) iv = iv == o->K; /* every one of K counted */
  switch (o->op) {
  case NN_REDUCE_MEAN: v /= (double)o->K; break;
  case NN_REDUCE_VAR: v /= dof; break;
  case NN_REDUCE_STD: v = sqrt(v / dof); break;
  case NN_REDUCE_NORM: v = norm_value(v, o->param); break;
  default: break; /* sum, max, min: the state is the value */
  }
  switch (o->dtype) {
  case NN_FLOAT32: *(float *)out = (float)v; break;
  case NN_INT64: *(int64_t *)out = iv; break;
  default: *(bool *)out = iv != 0; break;
  }
}

static void start(accs *A, int64_t n, double param) {
  for (int64_t j = 0; j < n; j++) {
    A->d[j] = 0;
    A->c[j] = param;
    A->i[j] = 0;
    A->at[j] = -1;
  }
}

/* Between the passes of var/std: c becomes the mean of the K elements. */
static void second_pass(accs *A, int64_t n, int64_t K) {
  for (int64_t j = 0; j < n; j++) {
    A->c[j] = A->d[j] / (double)K;
    A->d[j] = 0;
  }
}

/* ---- the walks ---- */

/* Every element of in into state 0, in row-major order. */
static void walk_all(const reducer *r, accs *A, const nn_tensor *in) {
  nn_iter it;
  nn_iter_init_tensors(&it, in->ndim, in->shape, 1, (const nn_tensor *const[]){in});
  int64_t pos = 0;
  while (nn_iter_next(&it)) {
    span s = {.p = it.ptr[0], .n = it.n, .step = it.step[0], .i0 = pos};
    r->run(A, 0, &s);
    pos += it.n;
  }
}

static void reduce_all(nn_reduce_op op, const reducer *r, nn_tensor *values,
                       nn_tensor *indices, const nn_tensor *in, double param) {
  accs A;
  int64_t count = nn_tensor_numel(in);
  start(&A, 1, param);
  walk_all(r, &A, in);
  if (r->two_pass) {
    second_pass(&A, 1, count);
    walk_all(&r_dev2, &A, in);
  }
  dest o = {.op = op, .dtype = values ? values->dtype : NN_INT64,
            .val = values ? nn_tensor_data(values) : NULL,
            .idx = indices ? nn_tensor_data(indices) : NULL, .K = count, .param = param};
  store(&o, &A, 0, 0);
}

/* Feeds columns 0..n-1 of cols (see span) to A: as a block, or as n
 * strided runs when the rows are the contiguous direction. */
static void feed(const reducer *r, accs *A, const span *cols, int64_t es, bool as_block) {
  if (as_block) {
    r->block(A, cols);
    return;
  }
  for (int64_t j = 0; j < cols->n; j++) {
    span row = {.p = cols->p + j * cols->step * es, .n = cols->K, .step = cols->ks, .i0 = 0};
    r->run(A, j, &row);
  }
}

/* Outputs of one nn_iter run: n input columns step apart, BLOCK_COLS at a
 * time. Rows are cache-friendly unless the reduced dim has the wider
 * stride, in which case the block walk reads memory in order. */
static void reduce_cols(const reducer *r, const dest *o, const span *cols, int64_t es) {
  bool as_block = cols->n > 1 && llabs(cols->step) < llabs(cols->ks);
  accs A;
  for (int64_t j0 = 0; j0 < cols->n; j0 += BLOCK_COLS) {
    span s = *cols;
    s.p += j0 * cols->step * es;
    s.n = cols->n - j0 < BLOCK_COLS ? cols->n - j0 : BLOCK_COLS;
    start(&A, s.n, o->param);
    feed(r, &A, &s, es, as_block);
    if (r->two_pass) {
      second_pass(&A, s.n, s.K);
      feed(&r_dev2, &A, &s, es, as_block);
    }
    for (int64_t j = 0; j < s.n; j++) store(o, &A, j, j0);
  }
}

static void reduce_dim(nn_reduce_op op, const reducer *r, nn_tensor *values,
                       nn_tensor *indices, const nn_tensor *in, int dim, double param) {
  /* Walk in's other dims with the input and each output as operands; an
   * output has dim dropped or kept as size 1 (whose stride is skipped). */
  int64_t shape[NN_MAX_DIMS], strides[3][NN_MAX_DIMS];
  void *data[3];
  size_t elsize[3];
  nn_tensor *outs[3] = {NULL, values, indices};
  int ndim = 0, nops = 1;
  for (int d = 0; d < in->ndim; d++)
    if (d != dim) {
      shape[ndim] = in->shape[d];
      strides[0][ndim++] = in->stride[d];
    }
  data[0] = nn_tensor_data(in);
  elsize[0] = nn_dtype_size(in->dtype);
  for (int k = 1; k < 3; k++) {
    const nn_tensor *t = outs[k];
    if (!t) continue;
    assert(t->ndim == in->ndim || t->ndim == in->ndim - 1);
    for (int d = 0, e = 0; d < t->ndim; d++)
      if (t->ndim < in->ndim || d != dim) strides[nops][e++] = t->stride[d];
    data[nops] = nn_tensor_data(t);
    elsize[nops++] = nn_dtype_size(t->dtype);
  }
  nn_iter it;
  nn_iter_init(&it, ndim, shape, nops, data, (const int64_t(*)[NN_MAX_DIMS])strides, elsize);

  dest o = {.op = op, .dtype = values ? values->dtype : NN_INT64, .K = in->shape[dim],
            .param = param};
  while (nn_iter_next(&it)) {
    int k = 1;
    if (values) {
      o.val = it.ptr[k];
      o.vstep = it.step[k] * (int64_t)elsize[k];
      k++;
    }
    if (indices) {
      o.idx = it.ptr[k];
      o.istep = it.step[k] * (int64_t)elsize[k];
    }
    span cols = {.p = it.ptr[0], .n = it.n, .step = it.step[0], .K = in->shape[dim],
                 .ks = in->stride[dim]};
    reduce_cols(r, &o, &cols, (int64_t)elsize[0]);
  }
}

void nn_reduce(nn_reduce_op op, nn_tensor *values, nn_tensor *indices,
               const nn_tensor *in, int dim, double param) {
  const reducer *r = reduce_ops[op].by_dtype[in->dtype];
  assert(r != NULL);
  assert(reduce_ops[op].values == (values != NULL));
  assert(indices == NULL || reduce_ops[op].indices);
  assert(reduce_ops[op].values || indices != NULL);
  assert(!values || values->dtype == nn_reduce_value_dtype(op, in->dtype));
  assert(!indices || indices->dtype == NN_INT64);
  if (in->ndim == 0 || dim < 0)
    reduce_all(op, r, values, indices, in, param);
  else
    reduce_dim(op, r, values, indices, in, dim, param);
}

int nn_reduce_shape(const nn_tensor *in, int dim, bool keepdim, int64_t *shape) {
  int n = 0;
  for (int d = 0; d < in->ndim; d++) {
    if (dim < 0 || d == dim) {
      if (keepdim) shape[n++] = 1;
    } else {
      shape[n++] = in->shape[d];
    }
  }
  return n;
}

/* ---- the entry point ---- */

/* What each backward reads (reduce_backward.c): the node's dim (-1 for a
 * full reduction) and keepdim; max/min along a dim the 1-based indices;
 * max/min of everything the input and the result; var/std the input (std
 * also its result); norm the input and the result. */
nn_status nn_apply_reduce(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                          const nn_reduce_args *args) {
  nn_reduce(args->op, values, indices, in, args->dim, args->param);
  nn_op op = reduce_ops[args->op].node;
  if (op == NN_OP_COUNT || !values) return NN_OK;
  bool all = args->dim < 0 || in->ndim == 0;
  if (op == NN_OP_MAX_DIM && all) op = NN_OP_EXTREMUM;
  assert(op != NN_OP_MAX_DIM || indices); /* the node saves them */
  nn_node *node;
  nn_status st = nn_record(&node, op, values, 1, (nn_tensor *[]){(nn_tensor *)in});
  if (st || !node) return st;
  node->args.reduce = *args;
  if (all) node->args.reduce.dim = -1;
  switch (op) {
  case NN_OP_MAX_DIM: return nn_node_save(node, indices);
  case NN_OP_VAR:
    if ((st = nn_node_save(node, in))) return st;
    return args->op == NN_REDUCE_STD ? nn_node_save_output(node, values) : NN_OK;
  case NN_OP_EXTREMUM:
  case NN_OP_NORM:
    if ((st = nn_node_save(node, in))) return st;
    return nn_node_save_output(node, values);
  default: return NN_OK; /* sum, mean */
  }
}
