/*
 * Elementwise math, comparisons, where and clamp, as
 * methods, module functions (nn.exp(t)) and operators (+ - * / ^, unary -).
 *
 * Type promotion follows PyTorch: two tensors promote bool < int64 <
 * float32; a Lua number only lifts an integer/bool tensor to float32 when
 * it is a float (t_int64 * 2 stays int64, t_int64 * 0.5 is float32); true
 * division and the float-only functions compute in float32.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_elementwise.h"

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

/* a op b, or a op= b when inplace (then a must be a tensor). */
static int binary(lua_State *L, nn_op op, const char *fname, bool inplace) {
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
  nnb_check_status(L, fname, nn_apply_binary(op, out, ta, tb));
  return 1;
}

static int unary(lua_State *L, nn_op op, const char *fname, bool inplace) {
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
  nn_dtype od = nn_unary_is_predicate(op) ? NN_BOOL : cd;
  nn_tensor *out = nnb_new_tensor(L, fname, od, t->ndim, t->shape);
  nnb_check_status(L, fname, nn_apply_unary(op, out, in));
  return 1;
}

/* Every op of the binary and unary ranges is one closure over its op, with
 * an in-place variant (name_) for those whose result keeps the input's
 * dtype. Its one upvalue points to its row here: the op, whether it runs
 * in place, and the name errors give (one light userdata to read, not
 * three Lua values per call). */
typedef struct elementwise_fn {
  nn_op op;
  bool inplace;
  char name[32];
} elementwise_fn;

static elementwise_fn elementwise_fns[NN_OP_UNARY_LAST + 1][2];

static int l_elementwise(lua_State *L) {
  const elementwise_fn *fn = lua_touserdata(L, lua_upvalueindex(1));
  return nn_op_is_binary(fn->op) ? binary(L, fn->op, fn->name, fn->inplace)
                                 : unary(L, fn->op, fn->name, fn->inplace);
}

/* Operators: Lua calls them with the operands in source order, so 2 - t
 * reaches __sub as (2, t); unary minus gets (t, t). Plain functions, not
 * the closures of add, sub, ...: the hottest calls skip reading an upvalue. */
static int mm_unm(lua_State *L) {
  lua_settop(L, 1);
  return unary(L, NN_OP_NEG, "neg", false);
}

static int mm_add(lua_State *L) { return binary(L, NN_OP_ADD, "add", false); }
static int mm_sub(lua_State *L) { return binary(L, NN_OP_SUB, "sub", false); }
static int mm_mul(lua_State *L) { return binary(L, NN_OP_MUL, "mul", false); }
static int mm_div(lua_State *L) { return binary(L, NN_OP_DIV, "div", false); }
static int mm_pow(lua_State *L) { return binary(L, NN_OP_POW, "pow", false); }

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
  nn_clamp_args args = {has_lo, has_hi, lua_tonumber(L, 2), lua_tonumber(L, 3)};
  const nn_tensor *in = nnb_push_as(L, fname, 1, cd, false);
  nn_tensor *out = inplace ? t : nnb_new_tensor(L, fname, cd, t->ndim, t->shape);
  nnb_check_status(L, fname, nn_clamp(out, in, &args));
  if (inplace) lua_pushvalue(L, 1);
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
  nnb_check_status(L, "where", nn_where(out, mask, ta, tb));
  return 1;
}

static const luaL_Reg functions[] = {
    {"clamp", l_clamp},
    {"clamp_", l_clamp_},
    {NULL, NULL},
};

/* table[name] = the closure of op, name being the op's, with a trailing _
 * when in place. */
static void set_elementwise(lua_State *L, int table, nn_op op, bool in_place) {
  elementwise_fn *fn = &elementwise_fns[op][in_place];
  fn->op = op;
  fn->inplace = in_place;
  snprintf(fn->name, sizeof fn->name, "%s%s", nn_op_name(op), in_place ? "_" : "");
  lua_pushlightuserdata(L, fn);
  lua_pushcclosure(L, l_elementwise, 1);
  lua_setfield(L, table, fn->name);
}

_Static_assert(NN_OP_UNARY_FIRST == NN_OP_BINARY_LAST + 1, "the elementwise ranges are adjacent");

static const luaL_Reg metamethods[] = {
    {"__unm", mm_unm}, {"__add", mm_add}, {"__sub", mm_sub}, {"__mul", mm_mul},
    {"__div", mm_div}, {"__pow", mm_pow}, {NULL, NULL},
};

/* Every op of the binary and unary ranges, as a module function and a
 * method; those whose result keeps the input's dtype (not comparisons or
 * predicates) also in place; and the operators. */
void nnb_open_elementwise(lua_State *L, int module, int methods) {
  for (nn_op op = NN_OP_BINARY_FIRST; op <= NN_OP_UNARY_LAST; op++) {
    bool in_place = nn_op_is_binary(op) ? !nn_binary_is_comparison(op)
                                        : !nn_unary_is_predicate(op);
    for (int v = 0; v <= in_place; v++) {
      set_elementwise(L, module, op, v);
      set_elementwise(L, methods, op, v);
    }
  }
  nnb_set_funcs(L, module, functions);
  nnb_set_funcs(L, methods, functions);
  lua_pushcfunction(L, l_where);
  lua_setfield(L, module, "where");
  luaL_getmetatable(L, NNB_TENSOR_MT);
  luaL_setfuncs(L, metamethods, 0);
  lua_pop(L, 1);
}
