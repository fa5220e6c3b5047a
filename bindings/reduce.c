/*
 * Reductions as methods and module functions: sum mean max min argmax
 * argmin std var norm any all count_nonzero, and the scans cumsum cumprod.
 * Dims are positional, (dim, keepdim), as SPEC §12:
 *
 *   t:sum()             every element -> 0-dim tensor (t:sum(nil, true)
 *                       keeps every dim as size 1)
 *   t:sum(dim [, keepdim])
 *   t:max(dim [, keepdim]) / t:min(...) -> values, 1-based int64 indices
 *   t:argmax([dim [, keepdim]])         -> 1-based int64 indices (the
 *                       flat row-major index for a full reduction)
 *   t:norm([p [, dim [, keepdim]]])     p >= 0 or math.huge (max |x|)
 *   t:var([dim [, keepdim]] [, opts]) and std: unbiased by default; a
 *                       trailing table {unbiased=false} or {correction=n}
 *                       sets the divisor K - correction. (PyTorch's old
 *                       positional `std(dim, unbiased)` is not supported:
 *                       the second number is keepdim here, as for every
 *                       reduction.)
 *   t:any([dim [, keepdim]]) / t:all(...)  -> bool (NaN counts as nonzero)
 *   t:count_nonzero([dim])  -> int64 (no keepdim, as PyTorch)
 *   t:cumsum(dim) / t:cumprod(dim)  -> t's shape; float32 stays float32,
 *                       int64 and bool give int64 (as PyTorch)
 *
 * dtypes: sum of int64 or bool is int64 (bool counts); max/min keep the
 * dtype; mean/var/std/norm of int64 or bool compute on a float32 copy and
 * return float32 (PyTorch raises for mean of an integer tensor). max, min,
 * argmax and argmin of nothing raise, as PyTorch; sum of nothing is 0 and
 * mean NaN.
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_reduce.h"

/* The reduction's dim (0-based, -1 for all) and keepdim, read from
 * positions idx and idx + 1. */
static nn_reduce_args check_dim_keepdim(lua_State *L, int idx, const nn_tensor *t,
                                        const char *fname) {
  nn_reduce_args a = {.dim = -1, .keepdim = false};
  if (nnb_to_tensor(L, idx))
    nnb_error(L, fname, "dim must be an integer, got a tensor%s", strcmp(fname, "max") == 0
              ? " (nn.maximum(a, b) is the elementwise maximum)" : strcmp(fname, "min") == 0
              ? " (nn.minimum(a, b) is the elementwise minimum)" : "");
  if (!lua_isnoneornil(L, idx)) a.dim = nnb_check_dim(L, idx, t->ndim, fname);
  if (!lua_isnoneornil(L, idx + 1)) {
    if (!lua_isboolean(L, idx + 1))
      nnb_error(L, fname, "keepdim must be a boolean, got %s", luaL_typename(L, idx + 1));
    a.keepdim = lua_toboolean(L, idx + 1);
  }
  return a;
}

/* max/min/argmax/argmin have no value for nothing: PyTorch raises too. */
static void check_not_empty(lua_State *L, const nn_tensor *t, nn_reduce_args a, const char *fname) {
  char s[128];
  nnb_shape_str(s, sizeof s, t->ndim, t->shape);
  if (a.dim < 0 && nn_tensor_numel(t) == 0)
    nnb_error(L, fname, "cannot reduce an empty tensor %s: %s of no elements is undefined "
              "(give a dim of nonzero size)", s, fname);
  if (a.dim >= 0 && t->ndim > 0 && t->shape[a.dim] == 0)
    nnb_error(L, fname, "cannot reduce dim %d of %s: it has size 0", a.dim + 1, s);
}

/* Runs op on the tensor at 1 with the checked arguments (the runtime
 * records its node) and pushes the results: values, indices or both
 * (max/min with a dim). Returns their count. */
static int reduce(lua_State *L, nn_reduce_op op, nn_reduce_args a, double param, const char *fname) {
  /* A 0-dim tensor takes dim 1 or -1 (as PyTorch) and reduces to itself. */
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  if (nn_reduce_needs_elements(op)) check_not_empty(L, t, a, fname);
  const nn_tensor *in = nn_reduce_supports(op, t->dtype) ? t
                        : nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  int64_t shape[NN_MAX_DIMS];
  int ndim = nn_reduce_shape(t, a.dim, a.keepdim, shape);
  bool want_values = nn_reduce_has_values(op);
  /* max/min over everything give the value alone, as PyTorch. */
  bool want_indices = nn_reduce_has_indices(op) && (!want_values || a.dim >= 0);
  nn_tensor *values = want_values
      ? nnb_new_tensor(L, fname, nn_reduce_value_dtype(op, in->dtype), ndim, shape) : NULL;
  nn_tensor *indices = want_indices ? nnb_new_tensor(L, fname, NN_INT64, ndim, shape) : NULL;
  a.op = op;
  a.param = param;
  nnb_check_status(L, fname, nn_apply_reduce(values, indices, in, &a));
  return want_values + want_indices;
}

/* sum mean max min argmax argmin: (t [, dim [, keepdim]]). */
static int simple(lua_State *L, nn_reduce_op op) {
  const char *fname = nn_reduce_name(op);
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  return reduce(L, op, check_dim_keepdim(L, 2, t, fname), 0, fname);
}

/* var/std options: {unbiased=bool} or {correction=n}; returns the
 * correction. Unknown keys raise, so a typo is not silently ignored. */
static double check_var_opts(lua_State *L, int idx, const char *fname) {
  static const char *const known[] = {"unbiased", "correction", NULL};
  nnb_check_options(L, idx, known, fname);
  double correction = 1;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : "";
    if (strcmp(key, "unbiased") == 0) {
      if (!lua_isboolean(L, -1))
        nnb_error(L, fname, "unbiased must be a boolean, got %s", luaL_typename(L, -1));
      correction = lua_toboolean(L, -1) ? 1 : 0;
    } else if (strcmp(key, "correction") == 0) {
      if (lua_type(L, -1) != LUA_TNUMBER || !(lua_tonumber(L, -1) >= 0))
        nnb_error(L, fname, "correction must be a number >= 0, got %s",
                  luaL_tolstring(L, -1, NULL));
      correction = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
  }
  return correction;
}

/* var/std: (t [, dim [, keepdim]] [, opts]); the options table, if any,
 * is the last argument. */
static int var_std(lua_State *L, nn_reduce_op op) {
  const char *fname = nn_reduce_name(op);
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  double correction = 1;
  int top = lua_gettop(L);
  if (top >= 2 && lua_istable(L, top)) {
    correction = check_var_opts(L, top, fname);
    lua_settop(L, top - 1);
  }
  return reduce(L, op, check_dim_keepdim(L, 2, t, fname), correction, fname);
}

/* norm: (t [, p [, dim [, keepdim]]]); p defaults to 2 ('fro' too). */
static int l_norm(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "norm");
  double p = 2;
  if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "fro") == 0) {
    p = 2;
  } else if (lua_type(L, 2) == LUA_TNUMBER) {
    p = lua_tonumber(L, 2);
    if (!(p >= 0))
      nnb_error(L, "norm", "p must be >= 0 or math.huge, got %s", lua_tostring(L, 2));
  } else if (!lua_isnoneornil(L, 2)) {
    nnb_error(L, "norm", "p must be a number, got %s", luaL_typename(L, 2));
  }
  return reduce(L, NN_REDUCE_NORM, check_dim_keepdim(L, 3, t, "norm"), p, "norm");
}

/* count_nonzero: (t [, dim]); PyTorch's takes no keepdim either. */
static int l_count_nonzero(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "count_nonzero");
  if (!lua_isnoneornil(L, 3))
    nnb_error(L, "count_nonzero", "takes (dim) only, got a third argument (%s); it has no keepdim",
              luaL_typename(L, 3));
  return reduce(L, NN_REDUCE_COUNT_NONZERO, check_dim_keepdim(L, 2, t, "count_nonzero"), 0,
                "count_nonzero");
}

/* cumsum/cumprod: (t, dim), dim required as in PyTorch. Pushes the
 * result: t's shape, float32 or int64 (bool scans count in int64). */
static int scan(lua_State *L, bool prod) {
  const char *fname = prod ? "cumprod" : "cumsum";
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  if (lua_isnoneornil(L, 2)) nnb_error(L, fname, "needs a dim (%s(t, dim))", fname);
  if (!lua_isnoneornil(L, 3))
    nnb_error(L, fname, "takes (dim) only, got a third argument (%s)", luaL_typename(L, 3));
  nn_cumulative_args a = {nnb_check_dim(L, 2, t->ndim, fname)};
  nn_dtype cd = t->dtype == NN_FLOAT32 ? NN_FLOAT32 : NN_INT64;
  const nn_tensor *in = nnb_push_as(L, fname, 1, cd, false);
  nn_tensor *out = nnb_new_tensor(L, fname, cd, t->ndim, t->shape);
  nnb_check_status(L, fname, (prod ? nn_cumprod : nn_cumsum)(out, in, &a));
  return 1;
}

static int l_sum(lua_State *L) { return simple(L, NN_REDUCE_SUM); }
static int l_mean(lua_State *L) { return simple(L, NN_REDUCE_MEAN); }
static int l_max(lua_State *L) { return simple(L, NN_REDUCE_MAX); }
static int l_min(lua_State *L) { return simple(L, NN_REDUCE_MIN); }
static int l_argmax(lua_State *L) { return simple(L, NN_REDUCE_ARGMAX); }
static int l_argmin(lua_State *L) { return simple(L, NN_REDUCE_ARGMIN); }
static int l_var(lua_State *L) { return var_std(L, NN_REDUCE_VAR); }
static int l_std(lua_State *L) { return var_std(L, NN_REDUCE_STD); }
static int l_any(lua_State *L) { return simple(L, NN_REDUCE_ANY); }
static int l_all(lua_State *L) { return simple(L, NN_REDUCE_ALL); }
static int l_cumsum(lua_State *L) { return scan(L, false); }
static int l_cumprod(lua_State *L) { return scan(L, true); }

static const luaL_Reg functions[] = {
    {"sum", l_sum},       {"mean", l_mean},     {"max", l_max},
    {"min", l_min},       {"argmax", l_argmax}, {"argmin", l_argmin},
    {"var", l_var},       {"std", l_std},       {"norm", l_norm},
    {"any", l_any},       {"all", l_all},       {"count_nonzero", l_count_nonzero},
    {"cumsum", l_cumsum}, {"cumprod", l_cumprod},
    {NULL, NULL},
};

void nnb_open_reduce(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, functions);
  nnb_set_funcs(L, methods, functions);
}
