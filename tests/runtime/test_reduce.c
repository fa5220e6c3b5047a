/* nn_reduce against naive loops: every op, every dim, contiguous,
 * transposed, narrowed and stride-0 expanded inputs, every dtype. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_reduce.h"

/* ---- building tensors ---- */

/* Contiguous tensor with values from gen(i): small integers for int64/bool
 * so ties and repeated values occur. */
static nn_tensor *filled(nn_dtype dtype, int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(dtype, ndim, shape);
  int64_t n = nn_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double r = rnd();
    switch (dtype) {
    case NN_FLOAT32: ((float *)nn_tensor_data(t))[i] = (float)(r * 3); break;
    case NN_INT64: ((int64_t *)nn_tensor_data(t))[i] = (int64_t)floor(r * 5); break;
    default: ((bool *)nn_tensor_data(t))[i] = r > 0.3; break;
    }
  }
  return t;
}

static nn_tensor *f32_from(int ndim, const int64_t *shape, const float *v) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  memcpy(nn_tensor_data(t), v, (size_t)nn_tensor_numel(t) * sizeof *v);
  return t;
}

static double get(const nn_tensor *t, const int64_t *idx) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  const char *p = nn_tensor_data(t);
  switch (t->dtype) {
  case NN_FLOAT32: return ((const float *)p)[off];
  case NN_INT64: return (double)((const int64_t *)p)[off];
  default: return ((const bool *)p)[off];
  }
}

/* ---- the naive reference ---- */

/* op over the elements of in at positions idx with idx[dim] = 0..K-1 (all
 * elements in row-major order when dim < 0). Returns the value and, for
 * the extremes, the 0-based position. */
static double naive(nn_reduce_op op, const nn_tensor *in, int dim, const int64_t *at,
                    double param, int64_t *pos) {
  int64_t idx[NN_MAX_DIMS] = {0};
  int64_t K = dim < 0 ? nn_tensor_numel(in) : in->shape[dim];
  static double x[8192];
  CHECK(K <= 8192);
  if (K > 8192) return NAN;
  for (int64_t k = 0; k < K; k++) {
    if (dim < 0) { /* unravel k */
      int64_t r = k;
      for (int d = in->ndim - 1; d >= 0; d--) {
        idx[d] = r % in->shape[d];
        r /= in->shape[d];
      }
    } else {
      memcpy(idx, at, sizeof idx);
      idx[dim] = k;
    }
    x[k] = get(in, idx);
  }
  long double s = 0, best = 0;
  *pos = -1;
  switch (op) {
  case NN_REDUCE_SUM:
    for (int64_t k = 0; k < K; k++) s += x[k];
    return (double)s;
  case NN_REDUCE_MEAN:
    for (int64_t k = 0; k < K; k++) s += x[k];
    return (double)(s / K);
  case NN_REDUCE_VAR:
  case NN_REDUCE_STD: {
    long double m = 0;
    for (int64_t k = 0; k < K; k++) m += x[k];
    m /= K;
    for (int64_t k = 0; k < K; k++) s += (x[k] - m) * (x[k] - m);
    double v = (double)(s / (K - param));
    return op == NN_REDUCE_STD ? sqrt(v) : v;
  }
  case NN_REDUCE_NORM:
    if (isinf(param)) {
      for (int64_t k = 0; k < K; k++) s = fabs(x[k]) > s ? fabs(x[k]) : s;
      return (double)s;
    }
    for (int64_t k = 0; k < K; k++) s += param == 0 ? (x[k] != 0) : powl(fabsl(x[k]), param);
    return param == 0 ? (double)s : (double)powl(s, 1 / (long double)param);
  default: { /* extremes: strict comparison keeps the first */
    bool max = op == NN_REDUCE_MAX || op == NN_REDUCE_ARGMAX;
    for (int64_t k = 0; k < K; k++)
      if (k == 0 || (max ? x[k] > best : x[k] < best)) {
        best = x[k];
        *pos = k;
      }
    return (double)best;
  }
  }
}

/* Runs nn_reduce over dim (or all) and compares every output element with
 * the naive loop. keepdim picks the output shape. */
static void check_op(nn_reduce_op op, const nn_tensor *in, int dim, bool keepdim,
                     double param, double tol) {
  nn_dtype vdt = nn_reduce_value_dtype(op, in->dtype);
  int64_t oshape[NN_MAX_DIMS];
  int ondim = 0;
  for (int d = 0; d < in->ndim; d++) {
    if (dim < 0 || d == dim) {
      if (keepdim) oshape[ondim++] = 1;
    } else {
      oshape[ondim++] = in->shape[d];
    }
  }
  nn_tensor *values = nn_reduce_has_values(op) ? nn_tensor_empty(vdt, ondim, oshape) : NULL;
  nn_tensor *indices = nn_reduce_has_indices(op) ? nn_tensor_empty(NN_INT64, ondim, oshape) : NULL;
  nn_memory_stats before = nn_memory_stats_get();
  nn_reduce(op, values, indices, in, dim, param);
  CHECK(nn_memory_stats_get().count == before.count); /* no allocation */

  int64_t n = nn_shape_numel(ondim, oshape);
  for (int64_t o = 0; o < n; o++) {
    /* o unravelled over the output shape, then placed in in's dims */
    int64_t oidx[NN_MAX_DIMS] = {0}, at[NN_MAX_DIMS] = {0};
    int64_t r = o;
    for (int d = ondim - 1; d >= 0; d--) {
      oidx[d] = r % oshape[d];
      r /= oshape[d];
    }
    for (int d = 0, e = 0; d < in->ndim; d++) {
      if (dim < 0 || d == dim) {
        e += keepdim;
      } else {
        at[d] = oidx[e++];
      }
    }
    int64_t pos;
    double want = naive(op, in, dim, at, param, &pos);
    if (values) {
      double got = get(values, oidx);
      if (isnan(want)) {
        CHECK(isnan(got));
      } else {
        CHECK_NEAR(got, want, tol * (1 + fabs(want)));
      }
    }
    if (indices) CHECK(get(indices, oidx) == (double)pos);
  }
  nn_tensor_release(values);
  nn_tensor_release(indices);
}

static const nn_reduce_op all_ops[] = {
    NN_REDUCE_SUM,    NN_REDUCE_MEAN,   NN_REDUCE_MAX, NN_REDUCE_MIN, NN_REDUCE_ARGMAX,
    NN_REDUCE_ARGMIN, NN_REDUCE_VAR,    NN_REDUCE_STD, NN_REDUCE_NORM};

/* Every op that supports in's dtype, over every dim and all, both
 * keepdims; norm with several p, var with both corrections. */
static void check_all_ops(const nn_tensor *in) {
  static const double ps[] = {2, 1, 3, 0.5, 0, INFINITY};
  for (size_t i = 0; i < sizeof all_ops / sizeof *all_ops; i++) {
    nn_reduce_op op = all_ops[i];
    if (!nn_reduce_supports(op, in->dtype)) continue;
    for (int dim = -1; dim < in->ndim; dim++)
      for (int keep = 0; keep < 2; keep++) {
        if (op == NN_REDUCE_NORM) {
          for (size_t j = 0; j < sizeof ps / sizeof *ps; j++)
            check_op(op, in, dim, keep, ps[j], 1e-5);
        } else if (op == NN_REDUCE_VAR || op == NN_REDUCE_STD) {
          check_op(op, in, dim, keep, 1, 1e-5);
          check_op(op, in, dim, keep, 0, 1e-5);
        } else {
          check_op(op, in, dim, keep, 0, 1e-5);
        }
      }
  }
}

/* ---- the cases ---- */

static void test_contiguous(void) {
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *a = filled(dt, 3, (int64_t[]){3, 4, 5});
    check_all_ops(a);
    nn_tensor_release(a);
    nn_tensor *v = filled(dt, 1, (int64_t[]){17});
    check_all_ops(v);
    nn_tensor_release(v);
  }
}

/* Wide enough for the block walk to take several blocks (256 columns). */
static void test_column_blocks(void) {
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *a = filled(dt, 2, (int64_t[]){7, 600});
    check_all_ops(a);
    nn_tensor_release(a);
  }
}

static void test_transposed(void) {
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *a = filled(dt, 3, (int64_t[]){3, 4, 5});
    /* [5,4,3] with the dims reversed */
    nn_tensor *t = nn_tensor_view(a, 3, (int64_t[]){5, 4, 3}, (int64_t[]){1, 5, 20}, 0);
    check_all_ops(t);
    nn_tensor_release(t);
    nn_tensor_release(a);
  }
}

static void test_narrowed(void) {
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *a = filled(dt, 2, (int64_t[]){6, 9});
    /* rows 2..5, every other column from 1: [4,4] at offset 10 */
    nn_tensor *t = nn_tensor_view(a, 2, (int64_t[]){4, 4}, (int64_t[]){9, 2}, 10);
    check_all_ops(t);
    nn_tensor_release(t);
    nn_tensor_release(a);
  }
}

static void test_expanded(void) {
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *a = filled(dt, 1, (int64_t[]){5});
    /* [5] expanded to [3,5] (stride 0 rows) and to [5,4] (stride 0 columns) */
    nn_tensor *rows = nn_tensor_view(a, 2, (int64_t[]){3, 5}, (int64_t[]){0, 1}, 0);
    nn_tensor *cols = nn_tensor_view(a, 2, (int64_t[]){5, 4}, (int64_t[]){1, 0}, 0);
    check_all_ops(rows);
    check_all_ops(cols);
    nn_tensor_release(rows);
    nn_tensor_release(cols);
    nn_tensor_release(a);
  }
}

static void test_zero_dim(void) {
  nn_tensor *s = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  *(float *)nn_tensor_data(s) = -2.5f;
  nn_tensor *v = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_tensor *i = nn_tensor_empty(NN_INT64, 0, NULL);
  nn_reduce(NN_REDUCE_SUM, v, NULL, s, 0, 0);
  CHECK(*(float *)nn_tensor_data(v) == -2.5f);
  nn_reduce(NN_REDUCE_MAX, v, i, s, 0, 0);
  CHECK(*(float *)nn_tensor_data(v) == -2.5f && *(int64_t *)nn_tensor_data(i) == 0);
  nn_reduce(NN_REDUCE_NORM, v, NULL, s, -1, 1);
  CHECK(*(float *)nn_tensor_data(v) == 2.5f);
  nn_tensor_release(s);
  nn_tensor_release(v);
  nn_tensor_release(i);
}

/* Outputs may be strided too: write the row sums of [3,4] into column 2
 * of a [3,5] tensor. */
static void test_strided_output(void) {
  nn_tensor *a = filled(NN_FLOAT32, 2, (int64_t[]){3, 4});
  nn_tensor *big = nn_tensor_zeros(NN_FLOAT32, 2, (int64_t[]){3, 5});
  nn_tensor *col = nn_tensor_view(big, 1, (int64_t[]){3}, (int64_t[]){5}, 2);
  nn_reduce(NN_REDUCE_SUM, col, NULL, a, 1, 0);
  const float *pa = nn_tensor_data(a), *pb = nn_tensor_data(big);
  for (int r = 0; r < 3; r++) {
    double want = (double)pa[4 * r] + pa[4 * r + 1] + pa[4 * r + 2] + pa[4 * r + 3];
    CHECK_NEAR(pb[5 * r + 2], want, 1e-5);
    CHECK(pb[5 * r + 1] == 0 && pb[5 * r + 3] == 0);
  }
  nn_tensor_release(col);
  nn_tensor_release(big);
  nn_tensor_release(a);
}

/* argmax/argmin/max/min report the first of equal extremes, in row and
 * block walks and in a full reduction. */
static void test_ties(void) {
  float v[] = {1, 3, 3, 0, 0, 3, 3, 1}; /* [2,4] */
  nn_tensor *a = f32_from(2, (int64_t[]){2, 4}, v);
  nn_tensor *i2 = nn_tensor_empty(NN_INT64, 1, (int64_t[]){2});
  nn_tensor *i4 = nn_tensor_empty(NN_INT64, 1, (int64_t[]){4});
  nn_tensor *i0 = nn_tensor_empty(NN_INT64, 0, NULL);
  const int64_t *p2 = nn_tensor_data(i2), *p4 = nn_tensor_data(i4);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i2, a, 1, 0);
  CHECK(p2[0] == 1 && p2[1] == 1);
  nn_reduce(NN_REDUCE_ARGMIN, NULL, i2, a, 1, 0);
  CHECK(p2[0] == 3 && p2[1] == 0);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i4, a, 0, 0); /* block walk */
  CHECK(p4[0] == 0 && p4[1] == 0 && p4[2] == 0 && p4[3] == 1);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i0, a, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 1);
  nn_reduce(NN_REDUCE_ARGMIN, NULL, i0, a, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 3);
  /* ties across the runs of a full reduction: [3,10] narrowed from
   * [3,12] is three runs of 10; 5 first appears at (1,8), again at (2,3) */
  nn_tensor *wide = nn_tensor_zeros(NN_FLOAT32, 2, (int64_t[]){3, 12});
  float *pw = nn_tensor_data(wide);
  pw[7] = 5;
  pw[12 + 2] = 5;
  pw[24 + 11] = 7; /* outside the view */
  pw[24 + 1] = -1;
  nn_tensor *view = nn_tensor_view(wide, 2, (int64_t[]){3, 10}, (int64_t[]){12, 1}, 0);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i0, view, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 7);
  nn_reduce(NN_REDUCE_ARGMIN, NULL, i0, view, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 21);
  nn_tensor_release(view);
  nn_tensor_release(wide);
  nn_tensor_release(a);
  nn_tensor_release(i2);
  nn_tensor_release(i4);
  nn_tensor_release(i0);
}

/* max/min/argmax give the first NaN, in every walk; sum gives NaN. */
static void test_nan(void) {
  float v[] = {1, NAN, 5, NAN, 2, 7}; /* [2,3] */
  nn_tensor *a = f32_from(2, (int64_t[]){2, 3}, v);
  nn_tensor *v2 = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){2});
  nn_tensor *i2 = nn_tensor_empty(NN_INT64, 1, (int64_t[]){2});
  nn_tensor *v3 = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){3});
  nn_tensor *i3 = nn_tensor_empty(NN_INT64, 1, (int64_t[]){3});
  nn_tensor *v0 = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_tensor *i0 = nn_tensor_empty(NN_INT64, 0, NULL);
  const float *pv2 = nn_tensor_data(v2), *pv3 = nn_tensor_data(v3);
  const int64_t *pi2 = nn_tensor_data(i2), *pi3 = nn_tensor_data(i3);
  for (int m = 0; m < 2; m++) {
    nn_reduce_op op = m ? NN_REDUCE_MIN : NN_REDUCE_MAX;
    nn_reduce(op, v2, i2, a, 1, 0);
    CHECK(isnan(pv2[0]) && pi2[0] == 1 && isnan(pv2[1]) && pi2[1] == 0);
    nn_reduce(op, v3, i3, a, 0, 0);
    CHECK(isnan(pv3[0]) && pi3[0] == 1 && isnan(pv3[1]) && pi3[1] == 0);
    CHECK(pv3[2] == (m ? 5 : 7) && pi3[2] == (m ? 0 : 1));
    nn_reduce(op, v0, i0, a, -1, 0);
    CHECK(isnan(*(float *)nn_tensor_data(v0)) && *(int64_t *)nn_tensor_data(i0) == 1);
  }
  nn_reduce(NN_REDUCE_SUM, v0, NULL, a, -1, 0);
  CHECK(isnan(*(float *)nn_tensor_data(v0)));
  /* a contiguous run long enough for the lane search: max at 2, NaNs at
   * 13 and 17 */
  float w[20];
  for (int k = 0; k < 20; k++) w[k] = (float)(k % 5);
  w[2] = 9;
  nn_tensor *long_run = f32_from(1, (int64_t[]){20}, w);
  nn_reduce(NN_REDUCE_MAX, v0, i0, long_run, 0, 0);
  CHECK(*(float *)nn_tensor_data(v0) == 9 && *(int64_t *)nn_tensor_data(i0) == 2);
  ((float *)nn_tensor_data(long_run))[13] = NAN;
  ((float *)nn_tensor_data(long_run))[17] = NAN;
  for (int m = 0; m < 2; m++) {
    nn_reduce(m ? NN_REDUCE_MIN : NN_REDUCE_MAX, v0, i0, long_run, 0, 0);
    CHECK(isnan(*(float *)nn_tensor_data(v0)) && *(int64_t *)nn_tensor_data(i0) == 13);
  }
  nn_reduce(NN_REDUCE_NORM, v0, NULL, long_run, 0, INFINITY);
  CHECK(isnan(*(float *)nn_tensor_data(v0)));
  nn_tensor_release(long_run);
  nn_reduce(NN_REDUCE_NORM, v0, NULL, a, -1, INFINITY);
  CHECK(isnan(*(float *)nn_tensor_data(v0)));
  nn_tensor *t[] = {a, v2, i2, v3, i3, v0, i0};
  for (size_t k = 0; k < sizeof t / sizeof *t; k++) nn_tensor_release(t[k]);
}

/* Reducing nothing: sum 0, mean/var NaN, norm 0; an empty outer extent
 * writes nothing. */
static void test_empty(void) {
  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){3, 0});
  nn_tensor *v0 = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_tensor *v3 = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){3});
  nn_tensor *none = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){0});
  const float *p3 = nn_tensor_data(v3);
  nn_reduce(NN_REDUCE_SUM, v0, NULL, e, -1, 0);
  CHECK(*(float *)nn_tensor_data(v0) == 0);
  nn_reduce(NN_REDUCE_MEAN, v0, NULL, e, -1, 0);
  CHECK(isnan(*(float *)nn_tensor_data(v0)));
  nn_reduce(NN_REDUCE_SUM, v3, NULL, e, 1, 0);
  CHECK(p3[0] == 0 && p3[1] == 0 && p3[2] == 0);
  nn_reduce(NN_REDUCE_VAR, v3, NULL, e, 1, 1);
  CHECK(isnan(p3[0]) && isnan(p3[2]));
  nn_reduce(NN_REDUCE_NORM, v3, NULL, e, 1, 2);
  CHECK(p3[0] == 0 && p3[2] == 0);
  nn_reduce(NN_REDUCE_MAX, none, NULL, e, 0, 0); /* [3,0] over dim 0: [0] */
  nn_tensor *ei = nn_tensor_empty(NN_INT64, 1, (int64_t[]){0});
  nn_tensor *i0 = nn_tensor_empty(NN_INT64, 0, NULL);
  nn_reduce(NN_REDUCE_SUM, i0, NULL, ei, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 0);
  nn_tensor *t[] = {e, v0, v3, none, ei, i0};
  for (size_t k = 0; k < sizeof t / sizeof *t; k++) nn_tensor_release(t[k]);
}

/* One element: var is 0/0 = NaN unbiased, 0 with correction 0. */
static void test_var_single(void) {
  float one = 4;
  nn_tensor *a = f32_from(1, (int64_t[]){1}, &one);
  nn_tensor *v0 = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_reduce(NN_REDUCE_VAR, v0, NULL, a, -1, 1);
  CHECK(isnan(*(float *)nn_tensor_data(v0)));
  nn_reduce(NN_REDUCE_STD, v0, NULL, a, 0, 0);
  CHECK(*(float *)nn_tensor_data(v0) == 0);
  nn_tensor_release(a);
  nn_tensor_release(v0);
}

/* A million floats: the double accumulation matches a long double
 * reference to float32 rounding, where a float accumulator would drift
 * by ~1e-4 relative. Also the row and column paths of [1000,1000]. */
static void test_large_sums(void) {
  int64_t n = 1000000;
  nn_tensor *a = nn_tensor_empty(NN_FLOAT32, 1, &n);
  float *p = nn_tensor_data(a);
  long double s = 0, s2 = 0;
  for (int64_t i = 0; i < n; i++) {
    p[i] = (float)(0.1 + 0.01 * rnd());
    s += p[i];
  }
  long double m = s / n;
  for (int64_t i = 0; i < n; i++) s2 += (p[i] - m) * (p[i] - m);
  nn_tensor *v0 = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_reduce(NN_REDUCE_SUM, v0, NULL, a, -1, 0);
  CHECK_NEAR(*(float *)nn_tensor_data(v0), (double)s, (double)s * 1e-7);
  nn_reduce(NN_REDUCE_MEAN, v0, NULL, a, 0, 0);
  CHECK_NEAR(*(float *)nn_tensor_data(v0), (double)m, (double)m * 1e-7);
  nn_reduce(NN_REDUCE_VAR, v0, NULL, a, -1, 1);
  CHECK_NEAR(*(float *)nn_tensor_data(v0), (double)(s2 / (n - 1)), (double)(s2 / n) * 1e-6);

  nn_tensor *sq = nn_tensor_view(a, 2, (int64_t[]){1000, 1000}, (int64_t[]){1000, 1}, 0);
  nn_tensor *rows = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){1000});
  nn_tensor *cols = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){1000});
  nn_reduce(NN_REDUCE_SUM, rows, NULL, sq, 1, 0);
  nn_reduce(NN_REDUCE_SUM, cols, NULL, sq, 0, 0);
  const float *pr = nn_tensor_data(rows), *pc = nn_tensor_data(cols);
  for (int i = 0; i < 1000; i += 97) {
    long double r = 0, c = 0;
    for (int j = 0; j < 1000; j++) {
      r += p[1000 * i + j];
      c += p[1000 * j + i];
    }
    CHECK_NEAR(pr[i], (double)r, 1e-5);
    CHECK_NEAR(pc[i], (double)c, 1e-5);
  }
  nn_tensor *t[] = {a, v0, sq, rows, cols};
  for (size_t k = 0; k < sizeof t / sizeof *t; k++) nn_tensor_release(t[k]);
}

/* int64 sums are exact beyond 2^53; bool sums count. */
static void test_int_exact(void) {
  int64_t big[] = {(1ll << 60) + 1, 3, -(1ll << 59)};
  nn_tensor *a = nn_tensor_empty(NN_INT64, 1, (int64_t[]){3});
  memcpy(nn_tensor_data(a), big, sizeof big);
  nn_tensor *s = nn_tensor_empty(NN_INT64, 0, NULL);
  nn_reduce(NN_REDUCE_SUM, s, NULL, a, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(s) == (1ll << 60) + 4 - (1ll << 59));
  nn_reduce(NN_REDUCE_MAX, s, NULL, a, 0, 0);
  CHECK(*(int64_t *)nn_tensor_data(s) == (1ll << 60) + 1);
  nn_tensor *b = nn_tensor_empty(NN_BOOL, 1, (int64_t[]){5});
  bool bv[] = {true, false, true, true, false};
  memcpy(nn_tensor_data(b), bv, sizeof bv);
  nn_reduce(NN_REDUCE_SUM, s, NULL, b, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(s) == 3);
  nn_tensor_release(a);
  nn_tensor_release(b);
  nn_tensor_release(s);
}

static void test_table(void) {
  CHECK(strcmp(nn_reduce_name(NN_REDUCE_ARGMIN), "argmin") == 0);
  CHECK(nn_reduce_value_dtype(NN_REDUCE_SUM, NN_BOOL) == NN_INT64);
  CHECK(nn_reduce_value_dtype(NN_REDUCE_MAX, NN_BOOL) == NN_BOOL);
  CHECK(nn_reduce_value_dtype(NN_REDUCE_ARGMAX, NN_FLOAT32) == NN_INT64);
  CHECK(!nn_reduce_supports(NN_REDUCE_MEAN, NN_INT64));
  CHECK(nn_reduce_needs_elements(NN_REDUCE_MIN) && !nn_reduce_needs_elements(NN_REDUCE_SUM));
  CHECK(nn_reduce_has_indices(NN_REDUCE_MAX) && !nn_reduce_has_values(NN_REDUCE_ARGMAX));
}

int main(void) {
  rng_state = 88172645463325252ull; /* the data these tests were written with */
  RUN(test_table);
  RUN(test_contiguous);
  RUN(test_column_blocks);
  RUN(test_transposed);
  RUN(test_narrowed);
  RUN(test_expanded);
  RUN(test_zero_dim);
  RUN(test_strided_output);
  RUN(test_ties);
  RUN(test_nan);
  RUN(test_empty);
  RUN(test_var_single);
  RUN(test_large_sums);
  RUN(test_int_exact);
  return check_summary();
}
