/* nn_reduce against naive loops: every op, every dim, contiguous,
 * transposed, narrowed and stride-0 expanded inputs, every dtype. Then the
 * entry point nn_apply_reduce: the node each reduction records, and its
 * backward through nn_backward. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_reduce.h"
#include "tensors.h"

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

/* ---- the naive reference ---- */

/* op over the elements of in at positions idx with idx[dim] = 0..K-1 (all
 * elements in row-major order when dim < 0). Returns the value and, for
 * the extremes, the 0-based position (the kernel reports it plus 1). */
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
  case NN_REDUCE_ANY:
  case NN_REDUCE_ALL:
  case NN_REDUCE_COUNT_NONZERO: {
    int64_t nz = 0;
    for (int64_t k = 0; k < K; k++) nz += x[k] != 0; /* NaN != 0 */
    return op == NN_REDUCE_ANY ? nz > 0 : op == NN_REDUCE_ALL ? nz == K : (double)nz;
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
    if (indices) CHECK(get(indices, oidx) == (double)(pos + 1)); /* 1-based */
  }
  nn_tensor_release(values);
  nn_tensor_release(indices);
}

static const nn_reduce_op all_ops[] = {
    NN_REDUCE_SUM,    NN_REDUCE_MEAN,   NN_REDUCE_MAX, NN_REDUCE_MIN, NN_REDUCE_ARGMAX,
    NN_REDUCE_ARGMIN, NN_REDUCE_VAR,    NN_REDUCE_STD, NN_REDUCE_NORM, NN_REDUCE_ANY,
    NN_REDUCE_ALL,    NN_REDUCE_COUNT_NONZERO};

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
  CHECK(*(float *)nn_tensor_data(v) == -2.5f && *(int64_t *)nn_tensor_data(i) == 1);
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
  CHECK(p2[0] == 2 && p2[1] == 2);
  nn_reduce(NN_REDUCE_ARGMIN, NULL, i2, a, 1, 0);
  CHECK(p2[0] == 4 && p2[1] == 1);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i4, a, 0, 0); /* block walk */
  CHECK(p4[0] == 1 && p4[1] == 1 && p4[2] == 1 && p4[3] == 2);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i0, a, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 2);
  nn_reduce(NN_REDUCE_ARGMIN, NULL, i0, a, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 4);
  /* ties across the runs of a full reduction: [3,10] narrowed from
   * [3,12] is three runs of 10; 5 first appears at (1,8), again at (2,3):
   * flat 1-based index 8 */
  nn_tensor *wide = nn_tensor_zeros(NN_FLOAT32, 2, (int64_t[]){3, 12});
  float *pw = nn_tensor_data(wide);
  pw[7] = 5;
  pw[12 + 2] = 5;
  pw[24 + 11] = 7; /* outside the view */
  pw[24 + 1] = -1;
  nn_tensor *view = nn_tensor_view(wide, 2, (int64_t[]){3, 10}, (int64_t[]){12, 1}, 0);
  nn_reduce(NN_REDUCE_ARGMAX, NULL, i0, view, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 8);
  nn_reduce(NN_REDUCE_ARGMIN, NULL, i0, view, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(i0) == 22);
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
    CHECK(isnan(pv2[0]) && pi2[0] == 2 && isnan(pv2[1]) && pi2[1] == 1);
    nn_reduce(op, v3, i3, a, 0, 0);
    CHECK(isnan(pv3[0]) && pi3[0] == 2 && isnan(pv3[1]) && pi3[1] == 1);
    CHECK(pv3[2] == (m ? 5 : 7) && pi3[2] == (m ? 1 : 2));
    nn_reduce(op, v0, i0, a, -1, 0);
    CHECK(isnan(*(float *)nn_tensor_data(v0)) && *(int64_t *)nn_tensor_data(i0) == 2);
  }
  nn_reduce(NN_REDUCE_SUM, v0, NULL, a, -1, 0);
  CHECK(isnan(*(float *)nn_tensor_data(v0)));
  /* a contiguous run long enough for the lane search: max at 2, NaNs at
   * 13 and 17 (0-based; the indices report 3 and 14) */
  float w[20];
  for (int k = 0; k < 20; k++) w[k] = (float)(k % 5);
  w[2] = 9;
  nn_tensor *long_run = f32_from(1, (int64_t[]){20}, w);
  nn_reduce(NN_REDUCE_MAX, v0, i0, long_run, 0, 0);
  CHECK(*(float *)nn_tensor_data(v0) == 9 && *(int64_t *)nn_tensor_data(i0) == 3);
  ((float *)nn_tensor_data(long_run))[13] = NAN;
  ((float *)nn_tensor_data(long_run))[17] = NAN;
  for (int m = 0; m < 2; m++) {
    nn_reduce(m ? NN_REDUCE_MIN : NN_REDUCE_MAX, v0, i0, long_run, 0, 0);
    CHECK(isnan(*(float *)nn_tensor_data(v0)) && *(int64_t *)nn_tensor_data(i0) == 14);
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
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    CHECK(nn_reduce_supports(NN_REDUCE_ANY, dt) && nn_reduce_supports(NN_REDUCE_COUNT_NONZERO, dt));
    CHECK(nn_reduce_value_dtype(NN_REDUCE_ANY, dt) == NN_BOOL);
    CHECK(nn_reduce_value_dtype(NN_REDUCE_ALL, dt) == NN_BOOL);
    CHECK(nn_reduce_value_dtype(NN_REDUCE_COUNT_NONZERO, dt) == NN_INT64);
  }
  CHECK(!nn_reduce_needs_elements(NN_REDUCE_ALL) && !nn_reduce_has_indices(NN_REDUCE_ANY));
  CHECK(strcmp(nn_reduce_name(NN_REDUCE_COUNT_NONZERO), "count_nonzero") == 0);
}

/* ---- the entry point and the backward ---- */

/* A float32 leaf that requires grad, holding v. */
static nn_tensor *leaf(int ndim, const int64_t *shape, const float *v) {
  nn_tensor *x = f32_from(ndim, shape, v);
  x->requires_grad = true;
  return x;
}

/* Allocates the outputs of args over in (values unless argmax/argmin,
 * indices when want_indices), runs nn_apply_reduce and checks its status. */
static void apply(nn_tensor **values, nn_tensor **indices, const nn_tensor *in,
                  nn_reduce_args args, bool want_indices) {
  int64_t shape[NN_MAX_DIMS];
  int ndim = nn_reduce_shape(in, args.dim, args.keepdim, shape);
  *values = nn_reduce_has_values(args.op)
      ? nn_tensor_empty(nn_reduce_value_dtype(args.op, in->dtype), ndim, shape) : NULL;
  if (indices) *indices = want_indices ? nn_tensor_empty(NN_INT64, ndim, shape) : NULL;
  CHECK(nn_apply_reduce(*values, indices ? *indices : NULL, in, &args) == NN_OK);
}

/* Runs backward from out with gradient gv (out's shape) and returns the
 * gradient that reached x (NULL if none). */
static const float *grad_of(nn_tensor *out, const float *gv, const nn_tensor *x) {
  nn_tensor *g = f32_from(out->ndim, out->shape, gv);
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK);
  nn_tensor_release(g);
  return x->grad ? nn_tensor_data(x->grad) : NULL;
}

static void check_floats(const float *got, const float *want, int n, double tol) {
  CHECK(got != NULL);
  for (int i = 0; got && i < n; i++) CHECK_NEAR(got[i], want[i], tol);
}

static const float m23[] = {1, 5, 3, 4, 2, 6}; /* {{1,5,3},{4,2,6}} */

static void test_shape(void) {
  nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 3, (int64_t[]){2, 3, 4});
  int64_t s[NN_MAX_DIMS];
  CHECK(nn_reduce_shape(x, 1, false, s) == 2 && s[0] == 2 && s[1] == 4);
  CHECK(nn_reduce_shape(x, 2, true, s) == 3 && s[0] == 2 && s[1] == 3 && s[2] == 1);
  CHECK(nn_reduce_shape(x, -1, false, s) == 0);
  CHECK(nn_reduce_shape(x, -1, true, s) == 3 && s[0] == 1 && s[1] == 1 && s[2] == 1);
  nn_tensor_release(x);
}

/* sum over a dim spreads each output's gradient over its row; mean also
 * divides by the count; both over everything too. */
static void test_apply_sum_mean(void) {
  nn_memory_stats before = nn_memory_stats_get();
  nn_tensor *x = leaf(2, (int64_t[]){2, 3}, m23), *out;
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_SUM, .dim = 0}, false);
  CHECK(out->ndim == 1 && out->shape[0] == 3);
  check_floats(nn_tensor_data(out), (float[]){5, 7, 9}, 3, 0);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_SUM);
  check_floats(grad_of(out, (float[]){1, 2, 3}, x), (float[]){1, 2, 3, 1, 2, 3}, 6, 0);
  nn_tensor_release(out);
  nn_tensor_release(x);

  x = leaf(2, (int64_t[]){2, 3}, m23);
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_MEAN, .dim = 1, .keepdim = true}, false);
  CHECK(out->ndim == 2 && out->shape[0] == 2 && out->shape[1] == 1);
  check_floats(nn_tensor_data(out), (float[]){3, 4}, 2, 1e-6);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_MEAN);
  check_floats(grad_of(out, (float[]){3, 6}, x), (float[]){1, 1, 1, 2, 2, 2}, 6, 1e-6);
  nn_tensor_release(out);
  nn_tensor_release(x);

  x = leaf(2, (int64_t[]){2, 3}, m23);
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_MEAN, .dim = -1}, false);
  CHECK(out->ndim == 0 && *(float *)nn_tensor_data(out) == 3.5f);
  const float *g = grad_of(out, (float[]){6}, x);
  check_floats(g, (float[]){1, 1, 1, 1, 1, 1}, 6, 1e-6);
  nn_tensor_release(out);
  nn_tensor_release(x);
  CHECK(nn_memory_stats_get().live_count == before.live_count); /* nothing leaks */
}

/* max/min along a dim: 1-based indices, saved by the node, and the
 * gradient goes to the element each names. */
static void test_apply_max_dim(void) {
  nn_memory_stats before = nn_memory_stats_get();
  nn_tensor *x = leaf(2, (int64_t[]){2, 3}, m23), *out, *idx;
  apply(&out, &idx, x, (nn_reduce_args){.op = NN_REDUCE_MAX, .dim = 1}, true);
  check_floats(nn_tensor_data(out), (float[]){5, 6}, 2, 0);
  const int64_t *pi = nn_tensor_data(idx);
  CHECK(pi[0] == 2 && pi[1] == 3);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_MAX_DIM && out->grad_fn->saved[0] == idx);
  check_floats(grad_of(out, (float[]){10, 20}, x), (float[]){0, 10, 0, 0, 0, 20}, 6, 0);
  nn_tensor_release(out);
  nn_tensor_release(idx);
  nn_tensor_release(x);

  x = leaf(2, (int64_t[]){2, 3}, m23);
  apply(&out, &idx, x, (nn_reduce_args){.op = NN_REDUCE_MIN, .dim = 0, .keepdim = true}, true);
  check_floats(nn_tensor_data(out), (float[]){1, 2, 3}, 3, 0);
  pi = nn_tensor_data(idx);
  CHECK(idx->ndim == 2 && pi[0] == 1 && pi[1] == 2 && pi[2] == 1);
  check_floats(grad_of(out, (float[]){1, 2, 3}, x), (float[]){1, 0, 3, 0, 2, 0}, 6, 0);
  nn_tensor_release(out);
  nn_tensor_release(idx);
  nn_tensor_release(x);

  /* argmax records nothing; its indices count from 1 too */
  x = leaf(2, (int64_t[]){2, 3}, m23);
  apply(&out, &idx, x, (nn_reduce_args){.op = NN_REDUCE_ARGMAX, .dim = 0}, true);
  pi = nn_tensor_data(idx);
  CHECK(!out && !idx->grad_fn && pi[0] == 2 && pi[1] == 1 && pi[2] == 2);
  nn_tensor_release(idx);
  apply(&out, &idx, x, (nn_reduce_args){.op = NN_REDUCE_ARGMIN, .dim = -1}, true);
  CHECK(*(int64_t *)nn_tensor_data(idx) == 1);
  nn_tensor_release(idx);
  nn_tensor_release(x);
  CHECK(nn_memory_stats_get().live_count == before.live_count);
}

/* max/min of everything: the gradient is shared by the equal maxima. */
static void test_apply_extremum(void) {
  nn_memory_stats before = nn_memory_stats_get();
  nn_tensor *x = leaf(1, (int64_t[]){4}, (float[]){1, 3, -2, 3}), *out;
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_MAX, .dim = -1}, false);
  CHECK(out->ndim == 0 && *(float *)nn_tensor_data(out) == 3);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_EXTREMUM);
  check_floats(grad_of(out, (float[]){6}, x), (float[]){0, 3, 0, 3}, 4, 0);
  nn_tensor_release(out);
  nn_tensor_release(x);
  /* a 0-dim input reduces to itself over dim 0, as everything */
  x = leaf(0, NULL, (float[]){-2});
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_MIN, .dim = 0}, false);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_EXTREMUM && out->grad_fn->args.reduce.dim == -1);
  check_floats(grad_of(out, (float[]){5}, x), (float[]){5}, 1, 0);
  nn_tensor_release(out);
  nn_tensor_release(x);
  CHECK(nn_memory_stats_get().live_count == before.live_count);
}

/* var: 2 (x - mean) / (K - correction); std: (x - mean) / ((K -
 * correction) std); both per output when over a dim. */
static void test_apply_var(void) {
  nn_memory_stats before = nn_memory_stats_get();
  const float v[] = {1, 2, 3, 4};
  nn_tensor *x = leaf(1, (int64_t[]){4}, v), *out;
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_VAR, .dim = -1, .param = 1}, false);
  CHECK_NEAR(*(float *)nn_tensor_data(out), 5.0 / 3, 1e-6);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_VAR);
  check_floats(grad_of(out, (float[]){1}, x), (float[]){-1, -1.0f / 3, 1.0f / 3, 1}, 4, 1e-6);
  nn_tensor_release(out);
  nn_tensor_release(x);

  x = leaf(1, (int64_t[]){4}, v);
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_STD, .dim = 0, .param = 1}, false);
  double sd = sqrt(5.0 / 3);
  CHECK_NEAR(*(float *)nn_tensor_data(out), sd, 1e-6);
  float want[4];
  for (int i = 0; i < 4; i++) want[i] = (float)((v[i] - 2.5) / (3 * sd));
  check_floats(grad_of(out, (float[]){1}, x), want, 4, 1e-6);
  nn_tensor_release(out);
  nn_tensor_release(x);

  /* population variance of each row of [2,3] */
  x = leaf(2, (int64_t[]){2, 3}, m23);
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_VAR, .dim = 1, .param = 0}, false);
  check_floats(nn_tensor_data(out), (float[]){8.0f / 3, 8.0f / 3}, 2, 1e-6);
  /* 2 (x - mean) / 3 times the row's gradient (1, then 3) */
  check_floats(grad_of(out, (float[]){1, 3}, x),
               (float[]){-4.0f / 3, 4.0f / 3, 0, 0, -4, 4}, 6, 1e-5);
  nn_tensor_release(out);
  nn_tensor_release(x);
  CHECK(nn_memory_stats_get().live_count == before.live_count);
}

/* p-norms: x / norm for p = 2, sign(x) for p = 1, the signed share of the
 * largest |x| for p = inf, nothing for p = 0. */
static void test_apply_norm(void) {
  nn_memory_stats before = nn_memory_stats_get();
  nn_tensor *x = leaf(1, (int64_t[]){2}, (float[]){3, -4}), *out;
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_NORM, .dim = -1, .param = 2}, false);
  CHECK_NEAR(*(float *)nn_tensor_data(out), 5, 1e-6);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_NORM);
  check_floats(grad_of(out, (float[]){2}, x), (float[]){1.2f, -1.6f}, 2, 1e-6);
  nn_tensor_release(out);
  nn_tensor_release(x);

  x = leaf(2, (int64_t[]){2, 3}, (float[]){-4, 4, 1, 0, 2, -1});
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_NORM, .dim = 1, .param = INFINITY}, false);
  check_floats(nn_tensor_data(out), (float[]){4, 2}, 2, 0);
  check_floats(grad_of(out, (float[]){1, 1}, x), (float[]){-0.5f, 0.5f, 0, 0, 1, 0}, 6, 1e-6);
  nn_tensor_release(out);
  nn_tensor_release(x);

  x = leaf(2, (int64_t[]){2, 3}, (float[]){-4, 4, 1, 0, 2, -1});
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_NORM, .dim = 0, .keepdim = true, .param = 1}, false);
  check_floats(nn_tensor_data(out), (float[]){4, 6, 2}, 3, 0);
  check_floats(grad_of(out, (float[]){1, 2, 3}, x), (float[]){-1, 2, 3, 0, 2, -3}, 6, 0);
  nn_tensor_release(out);
  nn_tensor_release(x);

  x = leaf(1, (int64_t[]){3}, (float[]){0, 2, -1});
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_NORM, .dim = -1, .param = 0}, false);
  CHECK(*(float *)nn_tensor_data(out) == 2);
  check_floats(grad_of(out, (float[]){1}, x), (float[]){0, 0, 0}, 3, 0);
  nn_tensor_release(out);
  nn_tensor_release(x);
  CHECK(nn_memory_stats_get().live_count == before.live_count);
}

/* No node without a gradient to want (no requires_grad, grad mode off, an
 * integer result); NN_ERR_NOMEM when the node cannot be allocated. */
static void test_apply_records_only_when_wanted(void) {
  nn_memory_stats before = nn_memory_stats_get();
  nn_tensor *x = f32_from(2, (int64_t[]){2, 3}, m23), *out, *idx;
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_SUM, .dim = 1}, false);
  CHECK(!out->grad_fn);
  nn_tensor_release(out);
  x->requires_grad = true;
  nn_set_grad_enabled(false);
  apply(&out, NULL, x, (nn_reduce_args){.op = NN_REDUCE_SUM, .dim = 1}, false);
  CHECK(!out->grad_fn);
  nn_tensor_release(out);
  nn_set_grad_enabled(true);
  nn_tensor *xi = nn_tensor_empty(NN_INT64, 1, (int64_t[]){3});
  memcpy(nn_tensor_data(xi), (int64_t[]){4, 9, 9}, 3 * sizeof(int64_t));
  apply(&out, &idx, xi, (nn_reduce_args){.op = NN_REDUCE_MAX, .dim = 0}, true);
  CHECK(!out->grad_fn && *(int64_t *)nn_tensor_data(out) == 9 && *(int64_t *)nn_tensor_data(idx) == 2);
  nn_tensor_release(out);
  nn_tensor_release(idx);
  nn_tensor_release(xi);

  /* each allocation of the node (the node, its edges, the saved output's
   * header) failing in turn */
  nn_reduce_args a = {.op = NN_REDUCE_NORM, .dim = 1, .param = 2};
  nn_status st = NN_ERR_NOMEM;
  int failures = 0;
  for (uint64_t n = 1; n < 10 && st == NN_ERR_NOMEM; n++) {
    out = nn_tensor_empty(NN_FLOAT32, 1, (int64_t[]){2});
    nn_alloc_fail_after(n);
    st = nn_apply_reduce(out, NULL, x, &a);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(out);
  }
  CHECK(failures > 0 && st == NN_OK);
  nn_tensor_release(x);
  CHECK(nn_memory_stats_get().live_count == before.live_count);
}

/* any/all/count_nonzero of nothing: false, true, 0; NaN is nonzero. */
static void test_logical_edges(void) {
  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){0, 3});
  nn_tensor *b = nn_tensor_empty(NN_BOOL, 0, NULL), *c = nn_tensor_empty(NN_INT64, 0, NULL);
  nn_tensor *b3 = nn_tensor_empty(NN_BOOL, 1, (int64_t[]){3});
  nn_reduce(NN_REDUCE_ANY, b, NULL, e, -1, 0);
  CHECK(!*(bool *)nn_tensor_data(b));
  nn_reduce(NN_REDUCE_ALL, b, NULL, e, -1, 0);
  CHECK(*(bool *)nn_tensor_data(b));
  nn_reduce(NN_REDUCE_COUNT_NONZERO, c, NULL, e, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(c) == 0);
  nn_reduce(NN_REDUCE_ALL, b3, NULL, e, 0, 0);
  const bool *p = nn_tensor_data(b3);
  CHECK(p[0] && p[1] && p[2]);
  nn_tensor *n = f32_from(1, (int64_t[]){2}, (float[]){NAN, 0});
  nn_reduce(NN_REDUCE_COUNT_NONZERO, c, NULL, n, -1, 0);
  CHECK(*(int64_t *)nn_tensor_data(c) == 1);
  nn_reduce(NN_REDUCE_ANY, b, NULL, n, 0, 0);
  CHECK(*(bool *)nn_tensor_data(b));
  nn_tensor *all[] = {e, b, c, b3, n};
  for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
}

/* ---- cumsum and cumprod ---- */

/* The naive scans and gradients of one line of K elements M apart. */
static void naive_scan(double *y, const float *x, int64_t K, int64_t M, bool prod) {
  double acc = prod ? 1 : 0;
  for (int64_t k = 0; k < K; k++) y[k] = acc = prod ? acc * x[k * M] : acc + x[k * M];
}

/* d/dx[k] of sum_j g[j] y[j]: sum_{j >= k} g[j] (1, or prod_{i <= j, i != k} x[i]). */
static double naive_scan_grad(const float *g, const float *x, int64_t K, int64_t M, int64_t k,
                              bool prod) {
  double s = 0;
  for (int64_t j = k; j < K; j++) {
    double p = 1;
    for (int64_t i = 0; prod && i <= j; i++)
      if (i != k) p *= x[i * M];
    s += g[j * M] * p;
  }
  return s;
}

/* The kernels over [N, K, M] = [2, 6, 3], lines with no zero, one zero
 * (first, middle, last) and two zeros. */
static void test_scan_kernels(void) {
  enum { N = 2, K = 6, M = 3, T = N * K * M };
  float x[T], g[T], out[T], gx[T];
  for (int i = 0; i < T; i++) {
    x[i] = (float)(rnd() * 2 - 1);
    g[i] = (float)(rnd() * 2 - 1);
  }
  x[0 * M + 0] = 0;                           /* n 0, m 0: zero first */
  x[3 * M + 1] = 0;                           /* n 0, m 1: zero in the middle */
  x[K * M + 2 * M + 2] = x[K * M + 4 * M + 2] = 0; /* n 1, m 2: two zeros */
  x[K * M + 5 * M + 0] = 0;                   /* n 1, m 0: zero last */
  for (int prod = 0; prod < 2; prod++) {
    (prod ? nn_kernel_cumprod_forward : nn_kernel_cumsum_forward)(out, x, N, K, M);
    for (int i = 0; i < T; i++) gx[i] = 0.5f; /* the backward adds */
    if (prod) nn_kernel_cumprod_backward(gx, g, x, out, N, K, M);
    else nn_kernel_cumsum_backward(gx, g, N, K, M);
    for (int64_t n = 0; n < N; n++)
      for (int64_t m = 0; m < M; m++) {
        int64_t base = n * K * M + m;
        double y[K];
        naive_scan(y, x + base, K, M, prod);
        for (int64_t k = 0; k < K; k++) {
          CHECK_NEAR(out[base + k * M], y[k], 1e-6);
          CHECK_NEAR(gx[base + k * M], 0.5 + naive_scan_grad(g + base, x + base, K, M, k, prod), 1e-5);
        }
      }
  }
}

/* The entry points on a transposed leaf [3, 2] (a strided input): values,
 * the node, the gradient through nn_backward; int64 keeps int64 and
 * records nothing; each allocation failing in turn; no leak. */
static void test_apply_scan(void) {
  nn_memory_stats before = nn_memory_stats_get();
  nn_tensor *base = f32_from(2, (int64_t[]){2, 3}, (float[]){1, 2, 0, 3, -1, 2});
  /* x = base^T = {{1, 3}, {2, -1}, {0, 2}} */
  nn_tensor *x = nn_tensor_view(base, 2, (int64_t[]){3, 2}, (int64_t[]){1, 3}, 0);
  x->requires_grad = true;
  nn_cumulative_args a0 = {0};
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){3, 2});
  CHECK(nn_cumprod(out, x, &a0) == NN_OK && out->grad_fn);
  check_floats(nn_tensor_data(out), (float[]){1, 3, 2, -3, 0, -6}, 6, 0);
  /* g = 1. Column 1 = {1, 2, 0}: d/dx0 = 1 + x1 + x1 x2 = 3, d/dx1 =
   * x0 + x0 x2 = 1, d/dx2 = x0 x1 = 2 (at the zero); column 2 = {3, -1, 2}:
   * 1 - 1 - 2 = -2, 3 + 6 = 9, -3 */
  check_floats(grad_of(out, (float[]){1, 1, 1, 1, 1, 1}, x), (float[]){3, -2, 1, 9, 2, -3}, 6, 1e-6);
  nn_tensor_release(x->grad);
  x->grad = NULL;
  nn_tensor_release(out);
  nn_cumulative_args a1 = {1};
  out = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){3, 2});
  CHECK(nn_cumsum(out, x, &a1) == NN_OK);
  check_floats(nn_tensor_data(out), (float[]){1, 4, 2, 1, 0, 2}, 6, 0);
  check_floats(grad_of(out, (float[]){1, 2, 3, 4, 5, 6}, x), (float[]){3, 2, 7, 4, 11, 6}, 6, 1e-6);
  nn_tensor_release(out);

  nn_tensor *xi = nn_tensor_empty(NN_INT64, 1, (int64_t[]){3});
  memcpy(nn_tensor_data(xi), (int64_t[]){4, -2, 5}, 3 * sizeof(int64_t));
  nn_tensor *oi = nn_tensor_empty(NN_INT64, 1, (int64_t[]){3});
  CHECK(nn_cumprod(oi, xi, &a0) == NN_OK && !oi->grad_fn);
  const int64_t *pi = nn_tensor_data(oi);
  CHECK(pi[0] == 4 && pi[1] == -8 && pi[2] == -40);
  nn_tensor_release(oi);
  nn_tensor_release(xi);

  /* the contiguous copy of x, the node, its saved tensors failing in turn */
  nn_status st = NN_ERR_NOMEM;
  int failures = 0;
  for (uint64_t n = 1; n < 12 && st == NN_ERR_NOMEM; n++) {
    out = nn_tensor_empty(NN_FLOAT32, 2, (int64_t[]){3, 2});
    nn_alloc_fail_after(n);
    st = nn_cumprod(out, x, &a0);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    nn_tensor_release(out);
  }
  CHECK(failures > 0 && st == NN_OK);
  nn_tensor_release(x); /* and its grad */
  nn_tensor_release(base);
  CHECK(nn_memory_stats_get().live_count == before.live_count);
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
  RUN(test_shape);
  RUN(test_apply_sum_mean);
  RUN(test_apply_max_dim);
  RUN(test_apply_extremum);
  RUN(test_apply_var);
  RUN(test_apply_norm);
  RUN(test_apply_records_only_when_wanted);
  RUN(test_logical_edges);
  RUN(test_scan_kernels);
  RUN(test_apply_scan);
  return check_summary();
}
