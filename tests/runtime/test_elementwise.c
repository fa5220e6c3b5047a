/* The elementwise kernels against naive loops: every binary and unary op
 * in every dtype it supports, on contiguous, transposed (strided),
 * broadcast (stride 0), scalar and in-place operands, plus nn_copy's dtype
 * conversions, nn_fill and nn_select; and the entry points (nn_apply_*,
 * nn_clamp, nn_where) with the gradients their recorded nodes give. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_elementwise.h"
#include "tensors.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

/* Random contiguous tensor: floats in [-3, 3) (with some exact zeros and
 * integers so ties and sign(0) occur), int64 in [-4, 4], bools. */
static nn_tensor *filled(nn_dtype dtype, int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(dtype, ndim, shape);
  int64_t n = nn_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    double r = rnd();
    switch (dtype) {
    case NN_FLOAT32:
      ((float *)nn_tensor_data(t))[i] = i % 7 == 3 ? 0.0f : i % 5 == 1 ? (float)floor(r * 3) : (float)(r * 3);
      break;
    case NN_INT64: ((int64_t *)nn_tensor_data(t))[i] = (int64_t)floor(r * 4.5 + 0.5); break;
    default: ((bool *)nn_tensor_data(t))[i] = r > 0; break;
    }
  }
  return t;
}

/* Storage offset of the element at row-major position `flat` of
 * shape[ndim], reading t broadcast to that shape. */
static int64_t broadcast_offset(const nn_tensor *t, int ndim, const int64_t *shape, int64_t flat) {
  int64_t st[NN_MAX_DIMS], off = t->offset;
  nn_broadcast_strides(t, ndim, shape, st);
  for (int d = ndim - 1; d >= 0; d--) {
    off += (flat % shape[d]) * st[d];
    flat /= shape[d];
  }
  return off;
}

/* That element as double. */
static double at(const nn_tensor *t, int ndim, const int64_t *shape, int64_t flat) {
  return value_at(t, broadcast_offset(t, ndim, shape, flat));
}

/* That element of an int64 t, exact. */
static int64_t at_i64(const nn_tensor *t, int ndim, const int64_t *shape, int64_t flat) {
  return ((const int64_t *)t->storage->data)[broadcast_offset(t, ndim, shape, flat)];
}

/* Equal, or both NaN, or within a relative 1e-6 (powf vs a*a). */
static bool close_enough(double got, double want) {
  if (isnan(want)) return isnan(got);
  if (isinf(want)) return got == want;
  return fabs(got - want) <= 1e-6 * (1 + fabs(want));
}

/* ---- the naive reference ---- */

static double ref_binary_f32(nn_op op, float a, float b) {
  switch (op) {
  case NN_OP_ADD: return (float)(a + b);
  case NN_OP_SUB: return (float)(a - b);
  case NN_OP_MUL: return (float)(a * b);
  case NN_OP_DIV: return (float)(a / b);
  case NN_OP_POW: return (float)pow(a, b);
  case NN_OP_MAXIMUM: return isnan(a) || isnan(b) ? NAN : a > b ? a : b;
  case NN_OP_MINIMUM: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
  case NN_OP_GT: return a > b;
  case NN_OP_LT: return a < b;
  case NN_OP_GE: return a >= b;
  case NN_OP_LE: return a <= b;
  case NN_OP_EQ: return a == b;
  case NN_OP_NE: return a != b;
  default: return NAN;
  }
}

static int64_t ref_pow_i64(int64_t a, int64_t b) {
  if (b < 0) return a == 1 ? 1 : a == -1 ? (b % 2 ? -1 : 1) : 0;
  int64_t r = 1;
  for (int64_t i = 0; i < b; i++) r *= a;
  return r;
}

static int64_t ref_binary_i64(nn_op op, int64_t a, int64_t b) {
  switch (op) {
  case NN_OP_ADD: return a + b;
  case NN_OP_SUB: return a - b;
  case NN_OP_MUL: return a * b;
  case NN_OP_POW: return ref_pow_i64(a, b);
  case NN_OP_MAXIMUM: return a > b ? a : b;
  case NN_OP_MINIMUM: return a < b ? a : b;
  case NN_OP_GT: return a > b;
  case NN_OP_LT: return a < b;
  case NN_OP_GE: return a >= b;
  case NN_OP_LE: return a <= b;
  case NN_OP_EQ: return a == b;
  case NN_OP_NE: return a != b;
  default: return -999;
  }
}

static double ref_unary_f32(nn_op op, float a) {
  switch (op) {
  case NN_OP_NEG: return -a;
  case NN_OP_ABS: return fabsf(a);
  case NN_OP_SIGN: return a > 0 ? 1 : a < 0 ? -1 : 0;
  case NN_OP_RELU: return a > 0 ? a : 0;
  case NN_OP_EXP: return (float)exp(a);
  case NN_OP_LOG: return (float)log(a);
  case NN_OP_SQRT: return (float)sqrt(a);
  case NN_OP_SIGMOID: return (float)(1 / (1 + exp(-(double)a)));
  case NN_OP_TANH: return (float)tanh(a);
  case NN_OP_SIN: return (float)sin(a);
  case NN_OP_COS: return (float)cos(a);
  case NN_OP_FLOOR: return floor(a);
  case NN_OP_CEIL: return ceil(a);
  case NN_OP_ROUND: { /* half to even */
    double f = floor(a), d = a - f;
    return d > 0.5 || (d == 0.5 && fmod(f, 2) != 0) ? f + 1 : f;
  }
  case NN_OP_TRUNC: return trunc(a);
  case NN_OP_SQUARE: return (float)((double)a * a);
  case NN_OP_LOG1P: return (float)log1p(a);
  case NN_OP_EXPM1: return (float)expm1(a);
  case NN_OP_RECIPROCAL: return (float)(1.0 / a);
  case NN_OP_RSQRT: return (float)(1.0 / sqrt(a));
  case NN_OP_ISNAN: return isnan(a);
  case NN_OP_ISINF: return isinf(a);
  case NN_OP_ISFINITE: return isfinite(a);
  default: return NAN;
  }
}

static int64_t ref_unary_i64(nn_op op, int64_t a) {
  switch (op) {
  case NN_OP_NEG: return -a;
  case NN_OP_ABS: return a < 0 ? -a : a;
  case NN_OP_SIGN: return (a > 0) - (a < 0);
  case NN_OP_RELU: return a > 0 ? a : 0;
  case NN_OP_FLOOR:
  case NN_OP_CEIL:
  case NN_OP_ROUND:
  case NN_OP_TRUNC: return a;
  case NN_OP_SQUARE: return a * a;
  case NN_OP_ISNAN:
  case NN_OP_ISINF: return 0;
  case NN_OP_ISFINITE: return 1;
  default: return -999;
  }
}

/* ---- operand layouts ---- */

/* A layout gives (a, b) of dtype dt for an output of shape [4, 5]. */
enum { LAYOUT_CONTIGUOUS, LAYOUT_TRANSPOSED, LAYOUT_ROW, LAYOUT_COLUMN, LAYOUT_SCALAR,
       LAYOUT_EXPANDED, LAYOUT_COUNT };
static const char *const layout_names[] = {"contiguous", "transposed", "row [5]", "column [4,1]",
                                           "0-dim", "expanded (stride 0)"};

/* Returns an operand readable as [4, 5]. */
static nn_tensor *operand(nn_dtype dt, int layout) {
  switch (layout) {
  case LAYOUT_CONTIGUOUS: return filled(dt, 2, SHAPE(4, 5));
  case LAYOUT_TRANSPOSED: { /* the transpose of a [5, 4] */
    nn_tensor *base = filled(dt, 2, SHAPE(5, 4));
    nn_tensor *v = nn_tensor_view(base, 2, SHAPE(4, 5), SHAPE(1, 4), 0);
    nn_tensor_release(base);
    return v;
  }
  case LAYOUT_ROW: return filled(dt, 1, SHAPE(5));
  case LAYOUT_COLUMN: return filled(dt, 2, SHAPE(4, 1));
  case LAYOUT_SCALAR: return filled(dt, 0, NULL);
  default: { /* every other element of a [10] expanded down 4 rows */
    nn_tensor *base = filled(dt, 1, SHAPE(10));
    nn_tensor *v = nn_tensor_view(base, 2, SHAPE(4, 5), SHAPE(0, 2), 0);
    nn_tensor_release(base);
    return v;
  }
  }
}

/* Output [4, 5]: contiguous, or the transpose of a [5, 4] (strided writes). */
static nn_tensor *output(nn_dtype dt, bool strided) {
  if (!strided) return nn_tensor_empty(dt, 2, SHAPE(4, 5));
  nn_tensor *base = nn_tensor_empty(dt, 2, SHAPE(5, 4));
  nn_tensor *v = nn_tensor_view(base, 2, SHAPE(4, 5), SHAPE(1, 4), 0);
  nn_tensor_release(base);
  return v;
}

static bool check_binary_case(nn_op op, nn_dtype dt, nn_tensor *out, const nn_tensor *a,
                              const nn_tensor *b, const nn_tensor *a_ref) {
  /* a_ref: a's values before the op (differs from a when in place) */
  nn_binary(op, out, a, b);
  bool ok = true;
  for (int64_t i = 0; i < 20 && ok; i++) {
    double got = at(out, 2, out->shape, i);
    if (dt == NN_FLOAT32) {
      double want = ref_binary_f32(op, (float)at(a_ref, 2, out->shape, i), (float)at(b, 2, out->shape, i));
      ok = close_enough(got, want);
    } else {
      int64_t want = ref_binary_i64(op, at_i64(a_ref, 2, out->shape, i), at_i64(b, 2, out->shape, i));
      ok = nn_binary_is_comparison(op) ? got == (double)want : at_i64(out, 2, out->shape, i) == want;
    }
    if (!ok)
      fprintf(stderr, "  %s/%s element %lld: got %g\n", nn_op_name(op), nn_dtype_name(dt), (long long)i, got);
  }
  return ok;
}

static void test_binary_ops(void) {
  for (nn_op op = NN_OP_BINARY_FIRST; op <= NN_OP_BINARY_LAST; op++)
    for (int dt = 0; dt < 2; dt++) {
      if (!nn_binary_supports(op, dt)) continue;
      nn_dtype od = nn_binary_is_comparison(op) ? NN_BOOL : (nn_dtype)dt;
      for (int la = 0; la < LAYOUT_COUNT; la++)
        for (int lb = 0; lb < LAYOUT_COUNT; lb++) {
          if (la == LAYOUT_SCALAR && lb == LAYOUT_SCALAR) continue;
          nn_tensor *a = operand(dt, la), *b = operand(dt, lb);
          if (op == NN_OP_POW && dt == NN_INT64) { /* exponents in [-1, 6] */
            int64_t *p = (int64_t *)b->storage->data, n = (int64_t)(b->storage->nbytes / 8);
            for (int64_t i = 0; i < n; i++) p[i] = (p[i] + 4) % 8 - 1;
          }
          for (int strided = 0; strided < 2; strided++) {
            nn_tensor *out = output(od, strided);
            bool ok = check_binary_case(op, dt, out, a, b, a);
            if (!ok) fprintf(stderr, "  a %s, b %s, out %s\n", layout_names[la], layout_names[lb],
                             strided ? "strided" : "contiguous");
            CHECK(ok);
            nn_tensor_release(out);
          }
          nn_tensor_release(a);
          nn_tensor_release(b);
        }
    }
}

/* out == a: the in-place form every a.add_(b) uses. */
static void test_binary_in_place(void) {
  for (nn_op op = NN_OP_BINARY_FIRST; op <= NN_OP_BINARY_LAST; op++)
    for (int dt = 0; dt < 2; dt++) {
      if (!nn_binary_supports(op, dt) || nn_binary_is_comparison(op) || op == NN_OP_POW) continue;
      for (int la = LAYOUT_CONTIGUOUS; la <= LAYOUT_TRANSPOSED; la++)
        for (int lb = 0; lb < LAYOUT_COUNT; lb++) {
          nn_tensor *a = operand(dt, la), *b = operand(dt, lb);
          nn_tensor *before = nn_tensor_empty(dt, 2, SHAPE(4, 5));
          nn_copy(before, a);
          CHECK(check_binary_case(op, dt, a, a, b, before));
          nn_tensor_release(a);
          nn_tensor_release(b);
          nn_tensor_release(before);
        }
    }
}

static void test_scalars_and_special_values(void) {
  nn_scalar s;
  float v[] = {1.5f, -2.0f, 0.0f, INFINITY, NAN, -0.5f};
  nn_tensor *a = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(6));
  memcpy(nn_tensor_data(a), v, sizeof v);
  nn_tensor *o = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(6));
  float *r = nn_tensor_data(o);
  nn_binary(NN_OP_MAXIMUM, o, a, nn_scalar_f32(&s, 0));
  CHECK(r[0] == 1.5f && r[1] == 0 && r[3] == INFINITY && isnan(r[4]) && r[5] == 0); /* NaN propagates */
  nn_binary(NN_OP_MINIMUM, o, a, nn_scalar_f32(&s, 0));
  CHECK(r[0] == 0 && r[1] == -2 && r[3] == 0 && isnan(r[4]) && r[5] == -0.5f);
  nn_binary(NN_OP_DIV, o, a, nn_scalar_f32(&s, 0));
  CHECK(r[0] == INFINITY && r[1] == -INFINITY && isnan(r[2]));
  nn_binary(NN_OP_POW, o, a, nn_scalar_f32(&s, 2));
  CHECK(r[0] == 2.25f && r[1] == 4 && r[2] == 0 && r[3] == INFINITY && isnan(r[4]));
  nn_binary(NN_OP_POW, o, a, nn_scalar_f32(&s, 0.5f));
  CHECK_NEAR(r[0], sqrt(1.5), 1e-6);
  CHECK(isnan(r[1]));
  nn_binary(NN_OP_SUB, o, nn_scalar_f32(&s, 10), a); /* scalar on the left */
  CHECK(r[0] == 8.5f && r[1] == 12 && r[3] == -INFINITY);
  nn_unary(NN_OP_RELU, o, a);
  CHECK(r[1] == 0 && r[0] == 1.5f && isnan(r[4])); /* relu keeps NaN, as PyTorch */
  nn_unary(NN_OP_SIGMOID, o, a);
  CHECK(r[3] == 1 && r[2] == 0.5f);
  nn_tensor_release(o);
  nn_tensor_release(a);

  /* int64 wraps instead of trapping; pow by squaring on big exponents */
  nn_tensor *i = nn_tensor_empty(NN_INT64, 1, SHAPE(3));
  int64_t iv[] = {INT64_MAX, 3, -2};
  memcpy(nn_tensor_data(i), iv, sizeof iv);
  nn_tensor *io = nn_tensor_empty(NN_INT64, 1, SHAPE(3));
  int64_t *ir = nn_tensor_data(io);
  nn_binary(NN_OP_ADD, io, i, nn_scalar_i64(&s, 1));
  CHECK(ir[0] == INT64_MIN && ir[1] == 4 && ir[2] == -1);
  nn_binary(NN_OP_POW, io, i, nn_scalar_i64(&s, 39));
  CHECK(ir[1] == 4052555153018976267LL && ir[2] == -549755813888LL);
  nn_binary(NN_OP_POW, io, i, nn_scalar_i64(&s, -1));
  CHECK(ir[0] == 0 && ir[1] == 0 && ir[2] == 0);
  nn_unary(NN_OP_NEG, io, i);
  CHECK(ir[0] == -INT64_MAX && ir[2] == 2);
  nn_tensor_release(i);
  nn_tensor_release(io);
}

static void test_unary_ops(void) {
  for (nn_op op = NN_OP_UNARY_FIRST; op <= NN_OP_UNARY_LAST; op++)
    for (int dt = 0; dt < 2; dt++) {
      if (!nn_unary_supports(op, dt)) continue;
      for (int la = 0; la < LAYOUT_COUNT; la++)
        for (int strided = 0; strided < 2; strided++) {
          bool pred = nn_unary_is_predicate(op);
          nn_tensor *a = operand(dt, la), *out = output(pred ? NN_BOOL : dt, strided);
          nn_unary(op, out, a);
          bool ok = true;
          for (int64_t i = 0; i < 20 && ok; i++) {
            if (pred) /* bool out, read as 0/1 */
              ok = at(out, 2, out->shape, i) ==
                   (dt == NN_FLOAT32 ? ref_unary_f32(op, (float)at(a, 2, out->shape, i))
                                     : (double)ref_unary_i64(op, at_i64(a, 2, out->shape, i)));
            else if (dt == NN_FLOAT32)
              ok = close_enough(at(out, 2, out->shape, i), ref_unary_f32(op, (float)at(a, 2, out->shape, i)));
            else
              ok = at_i64(out, 2, out->shape, i) == ref_unary_i64(op, at_i64(a, 2, out->shape, i));
          }
          if (!ok) fprintf(stderr, "  %s/%s on %s\n", nn_op_name(op), nn_dtype_name(dt), layout_names[la]);
          CHECK(ok);
          nn_tensor_release(a);
          nn_tensor_release(out);
        }
    }
}

static void test_op_table(void) {
  /* the float-only ops are exactly the documented ones */
  CHECK(!nn_binary_supports(NN_OP_DIV, NN_INT64) && nn_binary_supports(NN_OP_DIV, NN_FLOAT32));
  CHECK(nn_binary_supports(NN_OP_POW, NN_INT64));
  for (nn_op op = NN_OP_BINARY_FIRST; op <= NN_OP_BINARY_LAST; op++) {
    CHECK(!nn_binary_supports(op, NN_BOOL));
    CHECK(nn_binary_supports(op, NN_FLOAT32));
    CHECK(nn_op_name(op) && *nn_op_name(op));
  }
  for (nn_op op = NN_OP_UNARY_FIRST; op <= NN_OP_UNARY_LAST; op++) {
    CHECK(nn_unary_supports(op, NN_FLOAT32));
    bool int_kernel = op < NN_OP_EXP || (op >= NN_OP_FLOOR && op <= NN_OP_SQUARE) ||
                      nn_unary_is_predicate(op);
    CHECK(nn_unary_supports(op, NN_INT64) == int_kernel);
    CHECK(nn_unary_is_predicate(op) == (op >= NN_OP_ISNAN && op <= NN_OP_ISFINITE));
    CHECK(nn_op_name(op) && *nn_op_name(op));
  }
  CHECK(strcmp(nn_op_name(NN_OP_ADD), "add") == 0);
  CHECK(strcmp(nn_op_name(NN_OP_SIGMOID), "sigmoid") == 0);
  CHECK(nn_binary_is_comparison(NN_OP_GT) && nn_binary_is_comparison(NN_OP_NE));
  CHECK(!nn_binary_is_comparison(NN_OP_MAXIMUM));
}

/* ---- nn_copy, nn_fill, nn_select ---- */

static void test_copy_conversions(void) {
  float fv[] = {2.7f, -2.7f, 0.0f, -0.0f, NAN, INFINITY, -INFINITY, 0.25f, 1e20f, -3.0f};
  nn_tensor *f = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(10));
  memcpy(nn_tensor_data(f), fv, sizeof fv);

  nn_tensor *i = nn_tensor_empty(NN_INT64, 1, SHAPE(10));
  nn_copy(i, f);
  const int64_t *ip = nn_tensor_data(i);
  /* truncation toward zero; NaN, inf and out-of-range become 0 */
  CHECK(ip[0] == 2 && ip[1] == -2 && ip[2] == 0 && ip[3] == 0);
  CHECK(ip[4] == 0 && ip[5] == 0 && ip[6] == 0 && ip[7] == 0 && ip[8] == 0 && ip[9] == -3);

  nn_tensor *b = nn_tensor_empty(NN_BOOL, 1, SHAPE(10));
  nn_copy(b, f);
  const bool *bp = nn_tensor_data(b);
  CHECK(bp[0] && bp[1] && !bp[2] && !bp[3] && bp[4] && bp[5] && bp[6] && bp[7] && bp[9]);

  nn_tensor *f2 = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(10));
  nn_copy(f2, b);
  const float *fp = nn_tensor_data(f2);
  CHECK(fp[0] == 1 && fp[2] == 0 && fp[3] == 0);
  nn_copy(f2, i);
  CHECK(fp[0] == 2 && fp[1] == -2 && fp[9] == -3);

  int64_t big[] = {(1LL << 53) + 1, -7, 0};
  nn_tensor *bi = nn_tensor_empty(NN_INT64, 1, SHAPE(3));
  memcpy(nn_tensor_data(bi), big, sizeof big);
  nn_tensor *bb = nn_tensor_empty(NN_BOOL, 1, SHAPE(3));
  nn_copy(bb, bi);
  CHECK(((bool *)nn_tensor_data(bb))[0] && ((bool *)nn_tensor_data(bb))[1] && !((bool *)nn_tensor_data(bb))[2]);
  nn_tensor *bf = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(3));
  nn_copy(bf, bi);
  CHECK(((float *)nn_tensor_data(bf))[0] == 9007199254740992.0f);
  nn_tensor *back = nn_tensor_empty(NN_INT64, 1, SHAPE(3));
  nn_copy(back, bb);
  CHECK(((int64_t *)nn_tensor_data(back))[0] == 1 && ((int64_t *)nn_tensor_data(back))[2] == 0);

  nn_tensor *all[] = {f, i, b, f2, bi, bb, bf, back};
  for (size_t k = 0; k < sizeof all / sizeof *all; k++) nn_tensor_release(all[k]);
}

/* Same-dtype and converting copies between every pair of layouts. */
static void test_copy_layouts(void) {
  for (int sd = 0; sd < NN_DTYPE_COUNT; sd++)
    for (int od = 0; od < NN_DTYPE_COUNT; od++)
      for (int la = 0; la < LAYOUT_COUNT; la++)
        for (int strided = 0; strided < 2; strided++) {
          nn_tensor *src = operand(sd, la), *out = output(od, strided);
          nn_copy(out, src);
          bool ok = true;
          for (int64_t i = 0; i < 20 && ok; i++) {
            double v = at(src, 2, out->shape, i), want;
            if (od == NN_BOOL) want = v != 0;
            else if (od == NN_INT64) want = trunc(v);
            else want = (float)v;
            ok = at(out, 2, out->shape, i) == want;
          }
          if (!ok) fprintf(stderr, "  copy %s -> %s from %s\n", nn_dtype_name(sd), nn_dtype_name(od), layout_names[la]);
          CHECK(ok);
          nn_tensor_release(src);
          nn_tensor_release(out);
        }
}

static void test_fill(void) {
  nn_tensor *f = output(NN_FLOAT32, true);
  nn_fill(f, 2.5);
  bool ok = true;
  for (int64_t i = 0; i < 20; i++) ok = ok && at(f, 2, f->shape, i) == 2.5;
  CHECK(ok);
  nn_tensor *i = nn_tensor_empty(NN_INT64, 1, SHAPE(5));
  nn_fill(i, -3.9);
  ok = true;
  for (int64_t k = 0; k < 5; k++) ok = ok && ((int64_t *)nn_tensor_data(i))[k] == -3;
  CHECK(ok);
  nn_tensor *b = nn_tensor_empty(NN_BOOL, 2, SHAPE(2, 2));
  nn_fill(b, 0.5);
  CHECK(((bool *)nn_tensor_data(b))[3]);
  nn_fill(b, 0);
  CHECK(!((bool *)nn_tensor_data(b))[0]);
  nn_tensor *s = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_fill(s, -1);
  CHECK(*(float *)nn_tensor_data(s) == -1);
  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(0));
  nn_fill(e, 1); /* nothing to do, nothing touched */
  nn_tensor_release(f);
  nn_tensor_release(i);
  nn_tensor_release(b);
  nn_tensor_release(s);
  nn_tensor_release(e);
}

static void test_where(void) {
  for (int dt = 0; dt < NN_DTYPE_COUNT; dt++)
    for (int lm = 0; lm < LAYOUT_COUNT; lm++)
      for (int la = 0; la < LAYOUT_COUNT; la += 2)
        for (int lb = 1; lb < LAYOUT_COUNT; lb += 2) {
          nn_tensor *m = operand(NN_BOOL, lm), *a = operand(dt, la), *b = operand(dt, lb);
          nn_tensor *out = output(dt, (lm + la) % 2);
          nn_select(out, m, a, b);
          bool ok = true;
          for (int64_t i = 0; i < 20 && ok; i++) {
            double want = at(m, 2, out->shape, i) != 0 ? at(a, 2, out->shape, i) : at(b, 2, out->shape, i);
            ok = at(out, 2, out->shape, i) == want;
          }
          CHECK(ok);
          nn_tensor *all[] = {m, a, b, out};
          for (int k = 0; k < 4; k++) nn_tensor_release(all[k]);
        }
}

/* ---- entry points and their backward ---- */

/* A float32 leaf [3] that requires grad. */
static nn_tensor *leaf3(float a, float b, float c) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(3));
  float *p = nn_tensor_data(t);
  p[0] = a, p[1] = b, p[2] = c;
  t->requires_grad = true;
  return t;
}

/* Backward from out with a gradient of ones, then releases out. */
static void backward_ones(nn_tensor *out) {
  CHECK(out->grad_fn != NULL);
  nn_tensor *ones = nn_tensor_empty(NN_FLOAT32, out->ndim, out->shape);
  nn_fill(ones, 1);
  CHECK(nn_backward(out, ones, false).status == NN_BACKWARD_OK);
  nn_tensor_release(ones);
  nn_tensor_release(out);
}

static bool grad_is(nn_tensor *t, float a, float b, float c) {
  const float *g = t->grad ? nn_tensor_data(t->grad) : NULL;
  bool ok = g && fabsf(g[0] - a) < 1e-6f && fabsf(g[1] - b) < 1e-6f && fabsf(g[2] - c) < 1e-6f;
  nn_tensor_release(t->grad);
  t->grad = NULL;
  return ok;
}

static nn_tensor *out3(void) { return nn_tensor_empty(NN_FLOAT32, 1, SHAPE(3)); }

static void test_entry_points(void) {
  nn_tensor *x = leaf3(0.5f, -1, 2), *y = leaf3(2, 3, -0.5f), *out = out3();
  CHECK(nn_apply_binary(NN_OP_MUL, out, x, y) == NN_OK);
  CHECK(((float *)nn_tensor_data(out))[2] == -1);
  backward_ones(out);
  CHECK(grad_is(x, 2, 3, -0.5f) && grad_is(y, 0.5f, -1, 2));
  /* a borrowed scalar operand: the node keeps its own copy */
  nn_scalar two;
  CHECK(nn_apply_binary(NN_OP_POW, out = out3(), x, nn_scalar_f32(&two, 2)) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, 1, -2, 4));
  /* comparisons record nothing */
  nn_tensor *mask = nn_tensor_empty(NN_BOOL, 1, SHAPE(3));
  CHECK(nn_apply_binary(NN_OP_GT, mask, x, y) == NN_OK && mask->grad_fn == NULL);
  CHECK(nn_apply_unary(NN_OP_SIN, out = out3(), x) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, cosf(0.5f), cosf(-1), cosf(2)));
  CHECK(nn_apply_unary(NN_OP_COS, out = out3(), x) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, -sinf(0.5f), -sinf(-1), -sinf(2)));
  /* x = {0.5, -1, 2}: the issue 9 unary ops */
  CHECK(nn_apply_unary(NN_OP_FLOOR, out = out3(), x) == NN_OK);
  CHECK(((float *)nn_tensor_data(out))[0] == 0 && ((float *)nn_tensor_data(out))[1] == -1);
  backward_ones(out);
  CHECK(grad_is(x, 0, 0, 0)); /* recorded, with a zero gradient, as PyTorch */
  CHECK(nn_apply_unary(NN_OP_ROUND, out = out3(), x) == NN_OK);
  CHECK(((float *)nn_tensor_data(out))[0] == 0); /* 0.5 rounds to even */
  backward_ones(out);
  CHECK(grad_is(x, 0, 0, 0));
  CHECK(nn_apply_unary(NN_OP_SQUARE, out = out3(), x) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, 1, -2, 4));
  CHECK(nn_apply_unary(NN_OP_EXPM1, out = out3(), x) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, expf(0.5f), expf(-1), expf(2)));
  CHECK(nn_apply_unary(NN_OP_RECIPROCAL, out = out3(), x) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, -4, -1, -0.25f));
  nn_tensor *p = leaf3(0.25f, 1, 4);
  CHECK(nn_apply_unary(NN_OP_LOG1P, out = out3(), p) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(p, 0.8f, 0.5f, 0.2f));
  CHECK(nn_apply_unary(NN_OP_RSQRT, out = out3(), p) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(p, -4, -0.5f, -0.0625f)); /* -x^(-3/2) / 2 */
  nn_tensor_release(p);
  /* predicates write bool and record nothing */
  CHECK(nn_apply_unary(NN_OP_ISFINITE, mask, x) == NN_OK && mask->grad_fn == NULL);
  CHECK(((bool *)nn_tensor_data(mask))[2]);
  CHECK(nn_apply_unary(NN_OP_RELU, out = out3(), x) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, 1, 0, 1));
  /* clamp passes the gradient inside [lo, hi], bounds included */
  CHECK(nn_clamp(out = out3(), x, &(nn_clamp_args){true, true, -1, 1}) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, 1, 1, 0));
  CHECK(nn_clamp(out = out3(), x, &(nn_clamp_args){.has_hi = true, .hi = 0}) == NN_OK);
  CHECK(((float *)nn_tensor_data(out))[0] == 0);
  backward_ones(out);
  CHECK(grad_is(x, 0, 1, 0));
  /* where sends the gradient to a where the mask holds, else to b */
  bool *m = nn_tensor_data(mask);
  m[0] = true, m[1] = false, m[2] = true;
  CHECK(nn_where(out = out3(), mask, x, y) == NN_OK);
  backward_ones(out);
  CHECK(grad_is(x, 1, 0, 1) && grad_is(y, 0, 1, 0));
  /* nothing is recorded with recording off */
  nn_set_grad_enabled(false);
  CHECK(nn_apply_unary(NN_OP_EXP, out = out3(), x) == NN_OK && out->grad_fn == NULL);
  nn_set_grad_enabled(true);
  nn_tensor_release(out);
  nn_tensor_release(mask);
  nn_tensor_release(x);
  nn_tensor_release(y);
}

int main(void) {
  uint64_t live0 = nn_memory_stats_get().live_count;
  RUN(test_op_table);
  RUN(test_binary_ops);
  RUN(test_binary_in_place);
  RUN(test_scalars_and_special_values);
  RUN(test_unary_ops);
  RUN(test_copy_conversions);
  RUN(test_copy_layouts);
  RUN(test_fill);
  RUN(test_where);
  RUN(test_entry_points);
  CHECK(nn_memory_stats_get().live_count == live0); /* every test released what it made */
  return check_summary();
}
