/*
 * Tensor creation: nn.tensor, zeros/ones/full/arange/linspace/eye, the
 * random constructors, *_like, and the generator's seed and state.
 *
 * Sizes are given as separate numbers or one table; a trailing table holds
 * options ({dtype='int64'}): nn.zeros(2, 3), nn.zeros({2, 3}, {dtype='int64'}).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_create.h"
#include "nn_elementwise.h"
#include "nn_random.h"

/* PyTorch's default seed, so unseeded runs are repeatable as in PyTorch. */
#define NN_DEFAULT_SEED 67280421310721ULL

static nn_rng global_rng;
static bool rng_seeded;

nn_rng *nnb_rng(void) {
  if (!rng_seeded) {
    nn_rng_seed(&global_rng, NN_DEFAULT_SEED);
    rng_seeded = true;
  }
  return &global_rng;
}

/* ---- argument parsing ---- */

typedef struct size_args {
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  int options; /* stack index of the options table, 0 if none */
} size_args;

/* Reads sizes from `first` on (numbers, or one table) and an optional
 * trailing options table. */
static size_args check_size_args(lua_State *L, int first, const char *fname) {
  size_args a = {0};
  int top = lua_gettop(L);
  if (lua_istable(L, first)) {
    a.ndim = nnb_check_shape(L, first, first, a.shape, fname, false);
    if (top > first) {
      luaL_checktype(L, first + 1, LUA_TTABLE);
      a.options = first + 1;
    }
    if (top > first + 1) nnb_error(L, fname, "unexpected argument %d after the options table", first + 2);
    return a;
  }
  int last = top;
  if (last >= first && lua_istable(L, last)) {
    a.options = last;
    last--;
  }
  a.ndim = nnb_check_shape(L, first, last, a.shape, fname, false);
  return a;
}

/* options.dtype, or dflt; dtype is the only option creation takes. */
static nn_dtype option_dtype(lua_State *L, int options, nn_dtype dflt, const char *fname) {
  static const char *const known[] = {"dtype", NULL};
  if (!options || !(options = nnb_check_options(L, options, known, fname))) return dflt;
  lua_getfield(L, options, "dtype");
  nn_dtype d = nnb_opt_dtype(L, -1, dflt, fname);
  lua_pop(L, 1);
  return d;
}

static float check_float(lua_State *L, int idx, const char *fname, const char *what) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    nnb_error(L, fname, "%s must be a number, got %s", what, luaL_typename(L, idx));
  return (float)lua_tonumber(L, idx);
}

/* ---- constant fills ---- */

static int fill_new(lua_State *L, const char *fname, nn_dtype dflt, double value) {
  size_args a = check_size_args(L, 1, fname);
  nn_tensor *t = nnb_new_tensor(L, fname, option_dtype(L, a.options, dflt, fname), a.ndim, a.shape);
  nn_fill(t, value);
  return 1;
}

static int l_zeros(lua_State *L) { return fill_new(L, "zeros", NN_FLOAT32, 0); }
static int l_ones(lua_State *L) { return fill_new(L, "ones", NN_FLOAT32, 1); }
static int l_empty(lua_State *L) { return fill_new(L, "empty", NN_FLOAT32, 0); }

/* The dtype PyTorch infers from a fill value. */
static nn_dtype value_dtype(lua_State *L, int idx, const char *fname) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return NN_BOOL;
  case LUA_TNUMBER: return lua_isinteger(L, idx) ? NN_INT64 : NN_FLOAT32;
  default: nnb_error(L, fname, "fill value must be a number or boolean, got %s", luaL_typename(L, idx));
  }
}

static double value_number(lua_State *L, int idx) {
  return lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
}

/* full(size, value [, options]): size is one table or a single number. */
static int l_full(lua_State *L) {
  int64_t shape[NN_MAX_DIMS];
  int ndim = nnb_check_shape(L, 1, 1, shape, "full", false);
  nn_dtype dtype = value_dtype(L, 2, "full");
  if (lua_istable(L, 3)) dtype = option_dtype(L, 3, dtype, "full");
  nn_tensor *t = nnb_new_tensor(L, "full", dtype, ndim, shape);
  nn_fill(t, value_number(L, 2));
  return 1;
}

/* ---- nn.tensor(table) ---- */

/* Shape of a nested table, read along its first elements. */
static int nested_shape(lua_State *L, int idx, int64_t *shape, bool *has_bool) {
  int ndim = 0;
  lua_pushvalue(L, idx);
  while (lua_istable(L, -1)) {
    if (ndim == NN_MAX_DIMS) nnb_error(L, "tensor", "nesting deeper than %d dims", NN_MAX_DIMS);
    shape[ndim++] = (int64_t)luaL_len(L, -1);
    if (shape[ndim - 1] == 0) break;
    lua_geti(L, -1, 1);
    lua_remove(L, -2);
  }
  *has_bool = lua_isboolean(L, -1);
  lua_pop(L, 1);
  return ndim;
}

/* Writes the leaves of the nested table at the top of the stack into
 * t's data in row-major order, checking that every row has the shape. */
static void fill_nested(lua_State *L, nn_tensor *t, int depth, int64_t *pos) {
  int64_t n = (int64_t)luaL_len(L, -1);
  if (n != t->shape[depth])
    nnb_error(L, "tensor", "ragged nested table: dim %d has %" PRId64 " elements here, expected %" PRId64,
              depth + 1, n, t->shape[depth]);
  for (int64_t i = 1; i <= n; i++) {
    int type = lua_geti(L, -1, i);
    if (depth + 1 < t->ndim) {
      if (type != LUA_TTABLE)
        nnb_error(L, "tensor", "ragged nested table: expected a table at depth %d, got %s", depth + 2,
                  luaL_typename(L, -1));
      fill_nested(L, t, depth + 1, pos);
    } else {
      if (type != LUA_TBOOLEAN && type != LUA_TNUMBER)
        nnb_error(L, "tensor", "element %" PRId64 " must be a number or boolean, got %s", *pos + 1,
                  luaL_typename(L, -1));
      char *p = (char *)nn_tensor_data(t) + *pos * (int64_t)nn_dtype_size(t->dtype);
      double v = value_number(L, -1);
      if (t->dtype == NN_FLOAT32) *(float *)p = (float)v;
      else if (t->dtype == NN_BOOL) *(bool *)p = v != 0;
      else if (lua_isinteger(L, -1)) *(int64_t *)p = lua_tointeger(L, -1);
      else if (fabs(v) < 9.2e18) *(int64_t *)p = (int64_t)v;
      else nnb_error(L, "tensor", "element %" PRId64 " (%g) does not fit in int64", *pos + 1, v);
      (*pos)++;
    }
    lua_pop(L, 1);
  }
}

static int l_tensor(lua_State *L) {
  nn_tensor *src = nnb_to_tensor(L, 1);
  if (src) { /* nn.tensor(t [, dtype]): a copy */
    nn_tensor *t = nnb_new_tensor(L, "tensor", nnb_opt_dtype(L, 2, src->dtype, "tensor"), src->ndim, src->shape);
    nn_copy(t, src);
    return 1;
  }
  if (lua_type(L, 1) == LUA_TNUMBER || lua_type(L, 1) == LUA_TBOOLEAN) {
    nn_dtype d = nnb_opt_dtype(L, 2, lua_isboolean(L, 1) ? NN_BOOL : NN_FLOAT32, "tensor");
    nn_fill(nnb_new_tensor(L, "tensor", d, 0, NULL), value_number(L, 1));
    if (d == NN_INT64 && lua_isinteger(L, 1))
      *(int64_t *)nn_tensor_data(nnb_to_tensor(L, -1)) = lua_tointeger(L, 1);
    return 1;
  }
  if (!lua_istable(L, 1))
    nnb_error(L, "tensor", "argument 1 must be a table, number or tensor, got %s", luaL_typename(L, 1));
  int64_t shape[NN_MAX_DIMS];
  bool has_bool;
  int ndim = nested_shape(L, 1, shape, &has_bool);
  nn_dtype dtype = nnb_opt_dtype(L, 2, has_bool ? NN_BOOL : NN_FLOAT32, "tensor");
  nn_tensor *t = nnb_new_tensor(L, "tensor", dtype, ndim, shape);
  if (nn_tensor_numel(t) > 0) {
    int64_t pos = 0;
    lua_pushvalue(L, 1);
    fill_nested(L, t, 0, &pos);
    lua_pop(L, 1);
  }
  return 1;
}

/* ---- ranges ---- */

/* arange(end), arange(start, end [, step]): end excluded; int64 when every
 * bound is an integer (as PyTorch), else float32. */
static int l_arange(lua_State *L) {
  int nargs = lua_gettop(L), options = 0;
  if (nargs > 0 && lua_istable(L, nargs)) options = nargs--;
  if (nargs < 1 || nargs > 3) nnb_error(L, "arange", "expects 1 to 3 numbers, got %d", nargs);
  bool all_int = true;
  for (int i = 1; i <= nargs; i++) {
    check_float(L, i, "arange", i == 1 ? "start" : i == 2 ? "end" : "step");
    all_int = all_int && lua_isinteger(L, i);
  }
  double start = nargs > 1 ? lua_tonumber(L, 1) : 0;
  double end = nargs > 1 ? lua_tonumber(L, 2) : lua_tonumber(L, 1);
  double step = nargs > 2 ? lua_tonumber(L, 3) : 1;
  if (step == 0 || !isfinite(start) || !isfinite(end) || !isfinite(step))
    nnb_error(L, "arange", "start %g, end %g and step %g must be finite with a nonzero step", start, end, step);
  if ((end - start) / step < 0)
    nnb_error(L, "arange", "end %g is not reachable from start %g with step %g", end, start, step);
  double count = ceil((end - start) / step);
  if (count > 9e15) nnb_error(L, "arange", "%g elements is too many", count);
  int64_t n = (int64_t)count;
  nn_dtype dtype = option_dtype(L, options, all_int ? NN_INT64 : NN_FLOAT32, "arange");
  nn_tensor *t = nnb_new_tensor(L, "arange", dtype, 1, &n);
  nnb_check_status(L, "arange", nn_arange(t, start, step));
  return 1;
}

/* linspace(start, end, steps): both ends included, float32. */
static int l_linspace(lua_State *L) {
  double a = check_float(L, 1, "linspace", "start"), b = check_float(L, 2, "linspace", "end");
  int64_t n = nnb_check_int(L, 3, "linspace", "steps");
  if (n < 0) nnb_error(L, "linspace", "steps must be non-negative, got %" PRId64, n);
  nn_tensor *t = nnb_new_tensor(L, "linspace", NN_FLOAT32, 1, &n);
  nnb_check_status(L, "linspace", nn_linspace(t, a, b));
  return 1;
}

/* eye(n [, m] [, options]). */
static int l_eye(lua_State *L) {
  int64_t shape[2];
  int options = lua_istable(L, lua_gettop(L)) ? lua_gettop(L) : 0;
  shape[0] = nnb_check_int(L, 1, "eye", "n");
  shape[1] = lua_isnoneornil(L, 2) || lua_istable(L, 2) ? shape[0] : nnb_check_int(L, 2, "eye", "m");
  if (shape[0] < 0 || shape[1] < 0)
    nnb_error(L, "eye", "sizes must be non-negative, got %" PRId64 " and %" PRId64, shape[0], shape[1]);
  nn_tensor *t = nnb_new_tensor(L, "eye", option_dtype(L, options, NN_FLOAT32, "eye"), 2, shape);
  nnb_check_status(L, "eye", nn_eye(t));
  return 1;
}

/* ---- random ---- */

static int l_rand(lua_State *L) {
  size_args a = check_size_args(L, 1, "rand");
  nn_tensor *t = nnb_new_tensor(L, "rand", NN_FLOAT32, a.ndim, a.shape);
  nn_rng_uniform(nnb_rng(), nn_tensor_data(t), nn_tensor_numel(t), 0, 1);
  return 1;
}

static int l_randn(lua_State *L) {
  size_args a = check_size_args(L, 1, "randn");
  nn_tensor *t = nnb_new_tensor(L, "randn", NN_FLOAT32, a.ndim, a.shape);
  nn_rng_normal(nnb_rng(), nn_tensor_data(t), nn_tensor_numel(t), 0, 1);
  return 1;
}

/* randint(lo, hi, size) or randint(hi, size): hi excluded; int64. */
static int l_randint(lua_State *L) {
  int size_arg = lua_istable(L, 2) ? 2 : 3;
  int64_t lo = size_arg == 3 ? nnb_check_int(L, 1, "randint", "low") : 0;
  int64_t hi = nnb_check_int(L, size_arg - 1, "randint", "high");
  if (hi <= lo) nnb_error(L, "randint", "high %" PRId64 " must be greater than low %" PRId64, hi, lo);
  if (!lua_istable(L, size_arg)) nnb_error(L, "randint", "size must be a table such as {2, 3}, got %s", luaL_typename(L, size_arg));
  int64_t shape[NN_MAX_DIMS];
  int ndim = nnb_check_shape(L, size_arg, size_arg, shape, "randint", false);
  nn_tensor *t = nnb_new_tensor(L, "randint", NN_INT64, ndim, shape);
  nn_rng_randint(nnb_rng(), nn_tensor_data(t), nn_tensor_numel(t), lo, hi);
  return 1;
}

/* randperm(n): a permutation of 1..n (indices are 1-based). */
static int l_randperm(lua_State *L) {
  int64_t n = nnb_check_int(L, 1, "randperm", "n");
  if (n < 0) nnb_error(L, "randperm", "n must be non-negative, got %" PRId64, n);
  nn_tensor *t = nnb_new_tensor(L, "randperm", NN_INT64, 1, &n);
  nn_rng_permutation(nnb_rng(), nn_tensor_data(t), n, 1);
  return 1;
}

static int l_manual_seed(lua_State *L) {
  int64_t seed = nnb_check_int(L, 1, "manual_seed", "seed");
  nn_rng_seed(&global_rng, (uint64_t)seed);
  rng_seeded = true;
  return 0;
}

/* The generator's state as an int64 tensor of 4 words, for checkpoints. */
static int l_get_rng_state(lua_State *L) {
  int64_t n = 4;
  nn_tensor *t = nnb_new_tensor(L, "get_rng_state", NN_INT64, 1, &n);
  memcpy(nn_tensor_data(t), nnb_rng()->s, sizeof global_rng.s);
  return 1;
}

static int l_set_rng_state(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "set_rng_state");
  if (t->dtype != NN_INT64 || t->ndim != 1 || t->shape[0] != 4 || !nn_tensor_is_contiguous(t))
    nnb_error(L, "set_rng_state", "state must be a contiguous int64 tensor of 4 elements (from get_rng_state)");
  memcpy(global_rng.s, nn_tensor_data(t), sizeof global_rng.s);
  if (!(global_rng.s[0] | global_rng.s[1] | global_rng.s[2] | global_rng.s[3]))
    nnb_error(L, "set_rng_state", "an all-zero state is invalid");
  rng_seeded = true;
  return 0;
}

/* ---- *_like ---- */

static nn_tensor *new_like(lua_State *L, const char *fname) {
  nn_tensor *src = nnb_check_tensor(L, 1, fname);
  int options = lua_istable(L, lua_gettop(L)) ? lua_gettop(L) : 0;
  return nnb_new_tensor(L, fname, option_dtype(L, options, src->dtype, fname), src->ndim, src->shape);
}

static int l_zeros_like(lua_State *L) {
  nn_fill(new_like(L, "zeros_like"), 0);
  return 1;
}

static int l_ones_like(lua_State *L) {
  nn_fill(new_like(L, "ones_like"), 1);
  return 1;
}

static int l_full_like(lua_State *L) {
  value_dtype(L, 2, "full_like");
  double v = value_number(L, 2);
  nn_fill(new_like(L, "full_like"), v);
  return 1;
}

static int random_like(lua_State *L, const char *fname, bool normal) {
  nn_tensor *t = new_like(L, fname);
  if (t->dtype != NN_FLOAT32) nnb_error(L, fname, "needs a float32 tensor, got %s", nn_dtype_name(t->dtype));
  if (normal) nn_rng_normal(nnb_rng(), nn_tensor_data(t), nn_tensor_numel(t), 0, 1);
  else nn_rng_uniform(nnb_rng(), nn_tensor_data(t), nn_tensor_numel(t), 0, 1);
  return 1;
}

static int l_rand_like(lua_State *L) { return random_like(L, "rand_like", false); }
static int l_randn_like(lua_State *L) { return random_like(L, "randn_like", true); }

/* ---- in-place random fills, the basis of nn.init ---- */

/* A float32 tensor that can be written in place (no stride-0 repeats). */
static nn_tensor *check_float_tensor(lua_State *L, int idx, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (t->dtype != NN_FLOAT32) nnb_error(L, fname, "needs a float32 tensor, got %s", nn_dtype_name(t->dtype));
  nnb_check_writable(L, t, fname);
  return t;
}

/* Draws into a contiguous scratch tensor, then copies into t, so views work. */
static int random_fill(lua_State *L, const char *fname, bool normal, float p1, float p2) {
  nn_tensor *t = check_float_tensor(L, 1, fname);
  nn_tensor *tmp = nnb_new_tensor(L, fname, NN_FLOAT32, t->ndim, t->shape);
  if (normal) nn_rng_normal(nnb_rng(), nn_tensor_data(tmp), nn_tensor_numel(tmp), p1, p2);
  else nn_rng_uniform(nnb_rng(), nn_tensor_data(tmp), nn_tensor_numel(tmp), p1, p2);
  nn_copy(t, tmp);
  lua_settop(L, 1);
  return 1;
}

/* t:uniform_([a, b]) and t:normal_([mean, std]). */
static int l_uniform_(lua_State *L) {
  float a = lua_isnoneornil(L, 2) ? 0 : check_float(L, 2, "uniform_", "a");
  float b = lua_isnoneornil(L, 3) ? 1 : check_float(L, 3, "uniform_", "b");
  if (!(a <= b)) nnb_error(L, "uniform_", "a (%g) must not exceed b (%g)", a, b);
  return random_fill(L, "uniform_", false, a, b);
}

static int l_normal_(lua_State *L) {
  float mean = lua_isnoneornil(L, 2) ? 0 : check_float(L, 2, "normal_", "mean");
  float std = lua_isnoneornil(L, 3) ? 1 : check_float(L, 3, "normal_", "std");
  if (!(std >= 0)) nnb_error(L, "normal_", "std must be non-negative, got %g", std);
  return random_fill(L, "normal_", true, mean, std);
}

/* t:bernoulli_(p): each element 1 with probability p, else 0. */
static int l_bernoulli_(lua_State *L) {
  float p = check_float(L, 2, "bernoulli_", "p");
  if (!(p >= 0 && p <= 1)) nnb_error(L, "bernoulli_", "p must be in [0, 1], got %g", p);
  random_fill(L, "bernoulli_", false, 0, 1);
  nn_tensor *t = nnb_to_tensor(L, 1);
  nn_scalar s;
  nn_tensor *mask = nnb_new_tensor(L, "bernoulli_", NN_BOOL, t->ndim, t->shape);
  nn_binary(NN_OP_LT, mask, t, nn_scalar_f32(&s, p));
  nn_copy(t, mask);
  lua_settop(L, 1);
  return 1;
}

static const luaL_Reg module_funcs[] = {
    {"tensor", l_tensor},       {"zeros", l_zeros},
    {"ones", l_ones},           {"empty", l_empty},
    {"full", l_full},           {"arange", l_arange},
    {"linspace", l_linspace},   {"eye", l_eye},
    {"rand", l_rand},           {"randn", l_randn},
    {"randint", l_randint},     {"randperm", l_randperm},
    {"manual_seed", l_manual_seed},
    {"get_rng_state", l_get_rng_state},
    {"set_rng_state", l_set_rng_state},
    {"zeros_like", l_zeros_like}, {"ones_like", l_ones_like},
    {"full_like", l_full_like}, {"rand_like", l_rand_like},
    {"randn_like", l_randn_like},
    {NULL, NULL},
};

static const luaL_Reg methods_list[] = {
    {"uniform_", l_uniform_},
    {"normal_", l_normal_},
    {"bernoulli_", l_bernoulli_},
    {NULL, NULL},
};

void nnb_open_create(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, module_funcs);
  nnb_set_funcs(L, methods, methods_list);
}
