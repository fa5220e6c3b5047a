/*
 * Elementwise math, comparisons, where, clamp and matrix products, as
 * methods, module functions (nn.exp(t)) and operators (+ - * / ^, unary -).
 *
 * Type promotion follows PyTorch: two tensors promote bool < int64 <
 * float32; a Lua number only lifts an integer/bool tensor to float32 when
 * it is a float (t_int64 * 2 stays int64, t_int64 * 0.5 is float32); true
 * division and the float-only functions compute in float32.
 */
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_matmul.h"
#include "nn_ops.h"

/* An operand: a tensor, or a Lua number/boolean read as a 0-dim scalar. */
typedef struct operand {
  nn_tensor *t; /* NULL for a scalar */
  int idx;
  bool is_float;  /* scalar: a non-integer number */
  bool is_bool;   /* scalar: a boolean */
} operand;

static operand check_operand(lua_State *L, int idx, const char *fname) {
  operand o = {nnb_to_tensor(L, idx), idx, false, false};
  if (o.t) return o;
  if (lua_type(L, idx) == LUA_TUSERDATA) nnb_check_tensor(L, idx, fname); /* names a closed tensor */
  if (lua_type(L, idx) == LUA_TNUMBER) o.is_float = !lua_isinteger(L, idx);
  else if (lua_isboolean(L, idx)) o.is_bool = true;
  else nnb_error(L, fname, "argument %d must be a tensor or number, got %s", idx, luaL_typename(L, idx));
  return o;
}

/* The dtype an operand contributes to promotion with a tensor of dtype d. */
static nn_dtype promote_operand(nn_dtype d, const operand *o) {
  if (o->t) return nn_dtype_promote(d, o->t->dtype);
  if (o->is_float) return NN_FLOAT32;
  if (o->is_bool) return d;
  return d == NN_BOOL ? NN_INT64 : d;
}

/* The operand in compute dtype cd: a scalar on the C stack, or a tensor
 * (converted copies are pushed on the Lua stack, which owns them). */
static const nn_tensor *operand_as(lua_State *L, const operand *o, nn_dtype cd, nn_scalar *s,
                                   const char *fname) {
  if (o->t) return o->t->dtype == cd ? o->t : nnb_push_as(L, fname, o->idx, cd, false);
  if (cd == NN_FLOAT32) return nn_scalar_f32(s, (float)lua_tonumber(L, o->idx));
  int64_t v = o->is_bool ? lua_toboolean(L, o->idx) : (int64_t)lua_tointeger(L, o->idx);
  return nn_scalar_i64(s, v);
}

static void broadcast_or_raise(lua_State *L, const nn_tensor *a, const nn_tensor *b, int *ndim,
                               int64_t *shape, const char *fname) {
  static const int64_t none[1] = {0};
  int na = a ? a->ndim : 0, nb = b ? b->ndim : 0;
  const int64_t *sa = a ? a->shape : none, *sb = b ? b->shape : none;
  if (!nn_broadcast_shape(na, sa, nb, sb, ndim, shape)) {
    char x[128], y[128];
    nnb_error(L, fname, "shapes %s and %s cannot be broadcast together", nnb_shape_str(x, sizeof x, na, sa),
              nnb_shape_str(y, sizeof y, nb, sb));
  }
}

static void check_inplace_target(lua_State *L, const nn_tensor *t, nn_dtype result, int ndim,
                                 const int64_t *shape, const char *fname) {
  char x[128], y[128];
  if (ndim != t->ndim || memcmp(shape, t->shape, sizeof(int64_t) * (size_t)ndim))
    nnb_error(L, fname, "result shape %s does not match the in-place tensor's %s",
              nnb_shape_str(x, sizeof x, ndim, shape), nnb_shape_str(y, sizeof y, t->ndim, t->shape));
  if (nn_dtype_promote(result, t->dtype) != t->dtype)
    nnb_error(L, fname, "result type %s cannot be stored in the in-place %s tensor", nn_dtype_name(result),
              nn_dtype_name(t->dtype));
  nnb_check_writable(L, t, fname);
}

/* The differentiable counterpart of each binary op; comparisons have none. */
static const int binary_grad_ops[NN_BINARY_COUNT] = {
    [NN_BINARY_ADD] = NN_GRAD_ADD,         [NN_BINARY_SUB] = NN_GRAD_SUB,
    [NN_BINARY_MUL] = NN_GRAD_MUL,         [NN_BINARY_DIV] = NN_GRAD_DIV,
    [NN_BINARY_POW] = NN_GRAD_POW,         [NN_BINARY_MAXIMUM] = NN_GRAD_MAXIMUM,
    [NN_BINARY_MINIMUM] = NN_GRAD_MINIMUM, [NN_BINARY_GT] = -1,
    [NN_BINARY_LT] = -1,                   [NN_BINARY_GE] = -1,
    [NN_BINARY_LE] = -1,                   [NN_BINARY_EQ] = -1,
    [NN_BINARY_NE] = -1,
};

/* Saves a binary op's operand for its backward (scalars as a copy). */
static void save_operand(lua_State *L, nn_node *node, const operand *o, const nn_tensor *t, const char *fname) {
  if (o->t) nn_node_save(node, (nn_tensor *)t);
  else nnb_save_scalar(L, fname, node, t);
}

static void record_binary(lua_State *L, nn_binary_op op, nn_tensor *out, const operand *a, const nn_tensor *ta,
                          const operand *b, const nn_tensor *tb, const char *fname) {
  if (binary_grad_ops[op] < 0) return;
  nn_node *node = nnb_record(L, fname, (nn_grad_op)binary_grad_ops[op], out, 2, (nn_tensor *[]){a->t, b->t});
  if (!node || op == NN_BINARY_ADD || op == NN_BINARY_SUB) return;
  save_operand(L, node, a, ta, fname);
  save_operand(L, node, b, tb, fname);
  if (op == NN_BINARY_POW) nnb_save_output(L, fname, node, out);
}

/* a op b, or a op= b when inplace (then a must be a tensor). */
static int binary(lua_State *L, nn_binary_op op, const char *fname, bool inplace) {
  operand a = check_operand(L, 1, fname), b = check_operand(L, 2, fname);
  if (!a.t && !b.t) nnb_error(L, fname, "expects at least one tensor, got two %ss", luaL_typename(L, 1));
  if (inplace && !a.t) nnb_error(L, fname, "argument 1 must be a tensor, got %s", luaL_typename(L, 1));
  nn_dtype dt = a.t ? promote_operand(a.t->dtype, &b) : promote_operand(b.t->dtype, &a);
  nn_dtype cd = dt == NN_BOOL ? NN_INT64 : dt; /* bool math runs on int64 */
  if (!nn_binary_supports(op, cd)) cd = NN_FLOAT32;
  nn_dtype od = nn_binary_is_comparison(op) ? NN_BOOL : cd;
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  broadcast_or_raise(L, a.t, b.t, &ndim, shape, fname);
  if (inplace) {
    check_inplace_target(L, a.t, od, ndim, shape, fname);
    nnb_check_inplace_grad(L, b.t, fname);
  }
  nn_scalar sa, sb;
  const nn_tensor *ta = operand_as(L, &a, cd, &sa, fname), *tb = operand_as(L, &b, cd, &sb, fname);
  if (inplace && b.t && b.t != a.t && tb->storage == a.t->storage) {
    /* b is another view of a's memory (a:add_(a:t())): read it from a copy,
     * or elements would be read after being overwritten. */
    nn_tensor *copy = nnb_new_tensor(L, fname, tb->dtype, tb->ndim, tb->shape);
    nn_copy(copy, tb);
    tb = copy;
  }
  if (inplace) {
    nn_binary(op, a.t, ta, tb);
    lua_pushvalue(L, 1);
    return 1;
  }
  nn_tensor *out = nnb_new_tensor(L, fname, od, ndim, shape);
  nn_binary(op, out, ta, tb);
  record_binary(L, op, out, &a, ta, &b, tb, fname);
  return 1;
}

/* The differentiable counterpart of each unary op, and whether its
 * backward reads the input (else the output). */
static const struct {
  nn_grad_op op;
  bool saves_input;
} unary_grad_ops[NN_UNARY_COUNT] = {
    [NN_UNARY_NEG] = {NN_GRAD_NEG, false},        [NN_UNARY_ABS] = {NN_GRAD_ABS, true},
    [NN_UNARY_SIGN] = {NN_GRAD_SIGN, false},      [NN_UNARY_RELU] = {NN_GRAD_RELU, false},
    [NN_UNARY_EXP] = {NN_GRAD_EXP, false},        [NN_UNARY_LOG] = {NN_GRAD_LOG, true},
    [NN_UNARY_SQRT] = {NN_GRAD_SQRT, false},      [NN_UNARY_SIGMOID] = {NN_GRAD_SIGMOID, false},
    [NN_UNARY_TANH] = {NN_GRAD_TANH, false},
};

static int unary(lua_State *L, nn_unary_op op, const char *fname, bool inplace) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  nn_dtype cd = t->dtype == NN_BOOL ? NN_INT64 : t->dtype;
  if (!nn_unary_supports(op, cd)) cd = NN_FLOAT32;
  if (inplace) {
    check_inplace_target(L, t, cd, t->ndim, t->shape, fname);
    nn_unary(op, t, t);
    lua_pushvalue(L, 1);
    return 1;
  }
  const nn_tensor *in = t->dtype == cd ? t : nnb_push_as(L, fname, 1, cd, false);
  nn_tensor *out = nnb_new_tensor(L, fname, cd, t->ndim, t->shape);
  nn_unary(op, out, in);
  nn_node *node = nnb_record(L, fname, unary_grad_ops[op].op, out, 1, &t);
  if (!node || op == NN_UNARY_NEG || op == NN_UNARY_SIGN) return 1;
  if (unary_grad_ops[op].saves_input) nn_node_save(node, t);
  else nnb_save_output(L, fname, node, out);
  return 1;
}

static int l_add(lua_State *L) { return binary(L, NN_BINARY_ADD, "add", false); }
static int l_sub(lua_State *L) { return binary(L, NN_BINARY_SUB, "sub", false); }
static int l_mul(lua_State *L) { return binary(L, NN_BINARY_MUL, "mul", false); }
static int l_div(lua_State *L) { return binary(L, NN_BINARY_DIV, "div", false); }
static int l_pow(lua_State *L) { return binary(L, NN_BINARY_POW, "pow", false); }
static int l_maximum(lua_State *L) { return binary(L, NN_BINARY_MAXIMUM, "maximum", false); }
static int l_minimum(lua_State *L) { return binary(L, NN_BINARY_MINIMUM, "minimum", false); }
static int l_gt(lua_State *L) { return binary(L, NN_BINARY_GT, "gt", false); }
static int l_lt(lua_State *L) { return binary(L, NN_BINARY_LT, "lt", false); }
static int l_ge(lua_State *L) { return binary(L, NN_BINARY_GE, "ge", false); }
static int l_le(lua_State *L) { return binary(L, NN_BINARY_LE, "le", false); }
static int l_eq(lua_State *L) { return binary(L, NN_BINARY_EQ, "eq", false); }
static int l_ne(lua_State *L) { return binary(L, NN_BINARY_NE, "ne", false); }
static int l_add_(lua_State *L) { return binary(L, NN_BINARY_ADD, "add_", true); }
static int l_sub_(lua_State *L) { return binary(L, NN_BINARY_SUB, "sub_", true); }
static int l_mul_(lua_State *L) { return binary(L, NN_BINARY_MUL, "mul_", true); }
static int l_div_(lua_State *L) { return binary(L, NN_BINARY_DIV, "div_", true); }
static int l_pow_(lua_State *L) { return binary(L, NN_BINARY_POW, "pow_", true); }

static int l_neg(lua_State *L) { return unary(L, NN_UNARY_NEG, "neg", false); }
static int l_abs(lua_State *L) { return unary(L, NN_UNARY_ABS, "abs", false); }
static int l_sign(lua_State *L) { return unary(L, NN_UNARY_SIGN, "sign", false); }
static int l_relu(lua_State *L) { return unary(L, NN_UNARY_RELU, "relu", false); }
static int l_exp(lua_State *L) { return unary(L, NN_UNARY_EXP, "exp", false); }
static int l_log(lua_State *L) { return unary(L, NN_UNARY_LOG, "log", false); }
static int l_sqrt(lua_State *L) { return unary(L, NN_UNARY_SQRT, "sqrt", false); }
static int l_sigmoid(lua_State *L) { return unary(L, NN_UNARY_SIGMOID, "sigmoid", false); }
static int l_tanh(lua_State *L) { return unary(L, NN_UNARY_TANH, "tanh", false); }
static int l_neg_(lua_State *L) { return unary(L, NN_UNARY_NEG, "neg_", true); }
static int l_abs_(lua_State *L) { return unary(L, NN_UNARY_ABS, "abs_", true); }
static int l_relu_(lua_State *L) { return unary(L, NN_UNARY_RELU, "relu_", true); }
static int l_exp_(lua_State *L) { return unary(L, NN_UNARY_EXP, "exp_", true); }
static int l_log_(lua_State *L) { return unary(L, NN_UNARY_LOG, "log_", true); }
static int l_sqrt_(lua_State *L) { return unary(L, NN_UNARY_SQRT, "sqrt_", true); }
static int l_sigmoid_(lua_State *L) { return unary(L, NN_UNARY_SIGMOID, "sigmoid_", true); }
static int l_tanh_(lua_State *L) { return unary(L, NN_UNARY_TANH, "tanh_", true); }

/* Operators: Lua calls them with the operands in source order, so 2 - t
 * reaches __sub as (2, t); unary minus gets (t, t). */
static int mm_unm(lua_State *L) {
  lua_settop(L, 1);
  return l_neg(L);
}

/* clamp(min, max): either bound may be nil. Two passes (maximum, then
 * minimum in place) over the result. */
static int clamp(lua_State *L, const char *fname, bool inplace) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  lua_settop(L, 3); /* a missing max stays nil while results are pushed after it */
  bool has_lo = !lua_isnoneornil(L, 2), has_hi = !lua_isnoneornil(L, 3);
  if (!has_lo && !has_hi) nnb_error(L, fname, "needs at least one of min and max");
  for (int i = 2; i <= 3; i++)
    if (!lua_isnoneornil(L, i) && lua_type(L, i) != LUA_TNUMBER)
      nnb_error(L, fname, "%s must be a number, got %s", i == 2 ? "min" : "max", luaL_typename(L, i));
  if (has_lo && has_hi && lua_tonumber(L, 2) > lua_tonumber(L, 3))
    nnb_error(L, fname, "min %g is greater than max %g", lua_tonumber(L, 2), lua_tonumber(L, 3));
  bool any_float = (has_lo && !lua_isinteger(L, 2)) || (has_hi && !lua_isinteger(L, 3));
  nn_dtype cd = t->dtype == NN_FLOAT32 || any_float ? NN_FLOAT32 : NN_INT64;
  if (inplace) {
    check_inplace_target(L, t, cd, t->ndim, t->shape, fname);
  }
  const nn_tensor *in = nnb_push_as(L, fname, 1, cd, false);
  nn_tensor *out = inplace ? t : nnb_new_tensor(L, fname, cd, t->ndim, t->shape);
  nn_scalar s;
  for (int i = 2; i <= 3; i++) {
    if (lua_isnoneornil(L, i)) continue;
    const nn_tensor *bound = cd == NN_FLOAT32 ? nn_scalar_f32(&s, (float)lua_tonumber(L, i))
                                              : nn_scalar_i64(&s, lua_tointeger(L, i));
    nn_binary(i == 2 ? NN_BINARY_MAXIMUM : NN_BINARY_MINIMUM, out, in, bound);
    in = out;
  }
  if (inplace) {
    lua_pushvalue(L, 1);
    return 1;
  }
  nn_node *node = nnb_record(L, fname, NN_GRAD_CLAMP, out, 1, &t);
  if (node) {
    nn_node_save(node, t);
    node->scalars[0] = has_lo ? lua_tonumber(L, 2) : NAN;
    node->scalars[1] = has_hi ? lua_tonumber(L, 3) : NAN;
  }
  return 1;
}

static int l_clamp(lua_State *L) { return clamp(L, "clamp", false); }
static int l_clamp_(lua_State *L) { return clamp(L, "clamp_", true); }

/* nn.where(mask, a, b): a where mask is true, else b; all broadcast. */
static int l_where(lua_State *L) {
  nn_tensor *mask = nnb_check_tensor(L, 1, "where");
  if (mask->dtype != NN_BOOL)
    nnb_error(L, "where", "condition must be a bool tensor (from a comparison), got %s", nn_dtype_name(mask->dtype));
  operand a = check_operand(L, 2, "where"), b = check_operand(L, 3, "where");
  nn_dtype dt;
  if (a.t) dt = promote_operand(a.t->dtype, &b);
  else if (b.t) dt = promote_operand(b.t->dtype, &a);
  else dt = a.is_float || b.is_float ? NN_FLOAT32 : NN_INT64;
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  broadcast_or_raise(L, mask, a.t, &ndim, shape, "where");
  nn_tensor mshape = {.ndim = ndim};
  memcpy(mshape.shape, shape, sizeof shape);
  broadcast_or_raise(L, &mshape, b.t, &ndim, shape, "where");
  nn_scalar sa, sb;
  const nn_tensor *ta = operand_as(L, &a, dt, &sa, "where"), *tb = operand_as(L, &b, dt, &sb, "where");
  nn_tensor *out = nnb_new_tensor(L, "where", dt, ndim, shape);
  nn_where(out, mask, ta, tb);
  nn_node *node = nnb_record(L, "where", NN_GRAD_WHERE, out, 3, (nn_tensor *[]){NULL, a.t, b.t});
  if (node) nn_node_save(node, mask);
  return 1;
}

/* ---- matrix products ---- */

/* The operand at idx as a matrix of dtype dt that BLAS can read: 1-D
 * operands become a row (vector_at 0) or column (1) vector. Pushes a
 * contiguous copy when the original will not do. */
static nn_tensor matrix_operand(lua_State *L, int idx, int vector_at, nn_dtype dt, const char *fname,
                                nn_tensor **base) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  nn_tensor m = t->ndim == 1 ? nn_matmul_matrix_view(t, vector_at) : *t;
  if (t->dtype != dt || (dt == NN_FLOAT32 && !nn_matmul_blas_compatible(&m))) {
    t = nnb_push_as(L, fname, idx, dt, true);
    m = t->ndim == 1 ? nn_matmul_matrix_view(t, vector_at) : *t;
  }
  *base = t;
  return m;
}

static int matmul(lua_State *L, const char *fname, bool only_2d) {
  nn_tensor *a0 = nnb_check_tensor(L, 1, fname), *b0 = nnb_check_tensor(L, 2, fname);
  char x[128], y[128];
  if (a0->ndim == 0 || b0->ndim == 0 || (only_2d && (a0->ndim != 2 || b0->ndim != 2)))
    nnb_error(L, fname, "expects %s tensors, got %s and %s", only_2d ? "2-D" : "at least 1-D",
              nnb_shape_str(x, sizeof x, a0->ndim, a0->shape), nnb_shape_str(y, sizeof y, b0->ndim, b0->shape));
  nn_dtype dt = nn_dtype_promote(a0->dtype, b0->dtype);
  if (dt == NN_BOOL) nnb_error(L, fname, "bool tensors cannot be multiplied");
  int64_t k = a0->shape[a0->ndim - 1], kb = b0->shape[b0->ndim > 1 ? b0->ndim - 2 : 0];
  if (kb != k)
    nnb_error(L, fname, "cannot multiply %s by %s (%lld != %lld)", nnb_shape_str(x, sizeof x, a0->ndim, a0->shape),
              nnb_shape_str(y, sizeof y, b0->ndim, b0->shape), (long long)k, (long long)kb);
  nn_tensor *abase, *bbase;
  nn_tensor a = matrix_operand(L, 1, 0, dt, fname, &abase), b = matrix_operand(L, 2, 1, dt, fname, &bbase);
  int nb;
  int64_t batch[NN_MAX_DIMS];
  if (!nn_broadcast_shape(a.ndim - 2, a.shape, b.ndim - 2, b.shape, &nb, batch))
    nnb_error(L, fname, "batch dims of %s and %s cannot be broadcast together",
              nnb_shape_str(x, sizeof x, a0->ndim, a0->shape), nnb_shape_str(y, sizeof y, b0->ndim, b0->shape));
  a = nn_matmul_batch_view(&a, nb, batch);
  b = nn_matmul_batch_view(&b, nb, batch);
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, batch, sizeof(int64_t) * (size_t)nb);
  shape[nb] = a.shape[nb];
  shape[nb + 1] = b.shape[nb + 1];
  nn_tensor *out = nnb_new_tensor(L, fname, dt, nb + 2, shape);
  nn_matmul(out, &a, &b);
  /* Recorded on the final (possibly squeezed) output, whose shape the
   * backward reads to undo the 1-D promotion. */
  nn_tensor *result = out;
  /* Drop the unit dims that stood in for 1-D operands. */
  int64_t oshape[NN_MAX_DIMS], ostride[NN_MAX_DIMS];
  int n = nb;
  memcpy(oshape, batch, sizeof(int64_t) * (size_t)nb);
  if (a0->ndim > 1) oshape[n++] = shape[nb];
  if (b0->ndim > 1) oshape[n++] = shape[nb + 1];
  if (n != nb + 2) {
    nn_contiguous_strides(n, oshape, ostride);
    result = nnb_new_view(L, fname, out, n, oshape, ostride, 0);
  }
  nn_node *node = nnb_record(L, fname, NN_GRAD_MATMUL, result, 2, (nn_tensor *[]){a0, b0});
  if (node) {
    nn_node_save(node, abase);
    nn_node_save(node, bbase);
  }
  return 1;
}

static int l_matmul(lua_State *L) { return matmul(L, "matmul", false); }
static int l_mm(lua_State *L) { return matmul(L, "mm", true); }

/* outer(a, b): [n] x [m] -> [n, m], the product of a column [n, 1] and a
 * row [1, m] (views recorded as reshapes, so gradients flow). */
static int l_outer(lua_State *L) {
  nn_tensor *a = nnb_check_tensor(L, 1, "outer"), *b = nnb_check_tensor(L, 2, "outer");
  if (a->ndim != 1 || b->ndim != 1) {
    char x[128], y[128];
    nnb_error(L, "outer", "expects two 1-D tensors, got %s and %s", nnb_shape_str(x, sizeof x, a->ndim, a->shape),
              nnb_shape_str(y, sizeof y, b->ndim, b->shape));
  }
  lua_settop(L, 2);
  for (int i = 0; i < 2; i++) {
    nn_tensor *v = i == 0 ? a : b;
    int64_t shape[2] = {i == 0 ? v->shape[0] : 1, i == 0 ? 1 : v->shape[0]};
    int64_t stride[2] = {i == 0 ? v->stride[0] : 1, i == 0 ? 1 : v->stride[0]};
    nn_tensor *view = nnb_new_view(L, "outer", v, 2, shape, stride, v->offset);
    nnb_record(L, "outer", NN_GRAD_RESHAPE, view, 1, &v);
  }
  lua_remove(L, 1);
  lua_remove(L, 1);
  return matmul(L, "outer", false);
}

static const luaL_Reg functions[] = {
    {"add", l_add},         {"sub", l_sub},         {"mul", l_mul},
    {"div", l_div},         {"pow", l_pow},         {"maximum", l_maximum},
    {"minimum", l_minimum}, {"gt", l_gt},           {"lt", l_lt},
    {"ge", l_ge},           {"le", l_le},           {"eq", l_eq},
    {"ne", l_ne},           {"add_", l_add_},       {"sub_", l_sub_},
    {"mul_", l_mul_},       {"div_", l_div_},       {"pow_", l_pow_},
    {"neg", l_neg},         {"abs", l_abs},         {"sign", l_sign},
    {"relu", l_relu},       {"exp", l_exp},         {"log", l_log},
    {"sqrt", l_sqrt},       {"sigmoid", l_sigmoid}, {"tanh", l_tanh},
    {"neg_", l_neg_},       {"abs_", l_abs_},       {"relu_", l_relu_},
    {"exp_", l_exp_},       {"log_", l_log_},       {"sqrt_", l_sqrt_},
    {"sigmoid_", l_sigmoid_}, {"tanh_", l_tanh_},
    {"clamp", l_clamp},     {"clamp_", l_clamp_},
    {"matmul", l_matmul},   {"mm", l_mm},           {"outer", l_outer},
    {NULL, NULL},
};

static const luaL_Reg metamethods[] = {
    {"__add", l_add}, {"__sub", l_sub}, {"__mul", l_mul},
    {"__div", l_div}, {"__pow", l_pow}, {"__unm", mm_unm},
    {NULL, NULL},
};

void nnb_open_math(lua_State *L, int module, int methods) {
  lua_pushvalue(L, module);
  luaL_setfuncs(L, functions, 0);
  lua_pushcfunction(L, l_where);
  lua_setfield(L, -2, "where");
  lua_pop(L, 1);
  nnb_set_funcs(L, methods, functions);
  luaL_getmetatable(L, NNB_TENSOR_MT);
  luaL_setfuncs(L, metamethods, 0);
  lua_pop(L, 1);
}
