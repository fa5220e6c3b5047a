/*
 * The optimizer kernels and gradient clipping from Lua.
 *
 * nn._sgd_step, _adam_step, _rmsprop_step and _adagrad_step update one
 * parameter in place; stdlib/nn/optim.lua calls them once per parameter
 * and keeps the state tensors. They check every argument (contiguous
 * float32 tensors of the parameter's size, numbers) and then run the
 * kernel: nothing is allocated.
 *
 * nn.clip_grad_norm_(params, max_norm, norm_type=2) and
 * nn.clip_grad_value_(params, v) take a list of tensors (or one tensor)
 * and work on the .grad of those that have one.
 */
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_optim.h"

/* ---- argument checks ---- */

/* The float data of a contiguous float32 tensor at idx with n elements
 * (the parameter's count; any count when n < 0), or raises naming what. */
static float *check_array(lua_State *L, int idx, const char *fname, const char *what, int64_t n) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (!t)
    nnb_error(L, fname, "%s (argument %d) must be a tensor, got %s", what, idx, luaL_typename(L, idx));
  if (t->dtype != NN_FLOAT32 || !nn_tensor_is_contiguous(t)) {
    char s[128];
    nnb_error(L, fname, "%s must be a contiguous float32 tensor, got a %s%s tensor %s", what,
              nn_tensor_is_contiguous(t) ? "" : "non-contiguous ", nn_dtype_name(t->dtype),
              nnb_shape_str(s, sizeof s, t->ndim, t->shape));
  }
  if (n >= 0 && nn_tensor_numel(t) != n)
    nnb_error(L, fname, "%s has %lld elements, the parameter has %lld", what,
              (long long)nn_tensor_numel(t), (long long)n);
  return nn_tensor_data(t);
}

/* Like check_array, but nil gives NULL. */
static float *opt_array(lua_State *L, int idx, const char *fname, const char *what, int64_t n) {
  return lua_isnoneornil(L, idx) ? NULL : check_array(L, idx, fname, what, n);
}

static double check_number(lua_State *L, int idx, const char *fname, const char *what) {
  int isnum;
  double v = (double)lua_tonumberx(L, idx, &isnum);
  if (!isnum) nnb_error(L, fname, "%s (argument %d) must be a number, got %s", what, idx, luaL_typename(L, idx));
  return v;
}

/* The step number at idx: an integer >= 1. */
static int64_t check_step(lua_State *L, int idx, const char *fname) {
  int64_t step = nnb_check_int(L, idx, fname, "step");
  if (step < 1) nnb_error(L, fname, "step must be >= 1, got %lld", (long long)step);
  return step;
}

/* The parameter at 1, checked like the other arrays; its count in *n. */
static float *check_param(lua_State *L, const char *fname, int64_t *n) {
  float *p = check_array(L, 1, fname, "param", -1);
  *n = nn_tensor_numel(nnb_to_tensor(L, 1));
  return p;
}

/* ---- update steps ---- */

/* nn._sgd_step(p, grad, buf_or_nil, lr, momentum, dampening, nesterov,
 * weight_decay, first_step): buf is required when momentum is not 0. */
static int l_sgd_step(lua_State *L) {
  const char *fname = "_sgd_step";
  int64_t n;
  float *p = check_param(L, fname, &n);
  const float *g = check_array(L, 2, fname, "grad", n);
  float *buf = opt_array(L, 3, fname, "momentum_buffer", n);
  nn_sgd_opts o = {
      .lr = check_number(L, 4, fname, "lr"),
      .momentum = check_number(L, 5, fname, "momentum"),
      .dampening = check_number(L, 6, fname, "dampening"),
      .nesterov = lua_toboolean(L, 7),
      .weight_decay = check_number(L, 8, fname, "weight_decay"),
      .first_step = lua_toboolean(L, 9),
  };
  if (o.momentum != 0 && !buf) nnb_error(L, fname, "momentum %g needs a momentum buffer", o.momentum);
  nn_sgd_step(p, g, o.momentum != 0 ? buf : NULL, n, &o);
  return 0;
}

/* nn._adam_step(p, grad, exp_avg, exp_avg_sq, max_exp_avg_sq_or_nil,
 * step, lr, beta1, beta2, eps, weight_decay, decoupled). */
static int l_adam_step(lua_State *L) {
  const char *fname = "_adam_step";
  int64_t n;
  float *p = check_param(L, fname, &n);
  const float *g = check_array(L, 2, fname, "grad", n);
  float *m = check_array(L, 3, fname, "exp_avg", n);
  float *v = check_array(L, 4, fname, "exp_avg_sq", n);
  float *vmax = opt_array(L, 5, fname, "max_exp_avg_sq", n);
  nn_adam_opts o = {
      .step = check_step(L, 6, fname),
      .lr = check_number(L, 7, fname, "lr"),
      .beta1 = check_number(L, 8, fname, "beta1"),
      .beta2 = check_number(L, 9, fname, "beta2"),
      .eps = check_number(L, 10, fname, "eps"),
      .weight_decay = check_number(L, 11, fname, "weight_decay"),
      .decoupled = lua_toboolean(L, 12),
  };
  nn_adam_step(p, m, v, vmax, g, n, &o);
  return 0;
}

/* nn._rmsprop_step(p, grad, square_avg, grad_avg_or_nil, buf_or_nil, lr,
 * alpha, eps, weight_decay, momentum): centered when grad_avg is given;
 * buf is required when momentum > 0. */
static int l_rmsprop_step(lua_State *L) {
  const char *fname = "_rmsprop_step";
  int64_t n;
  float *p = check_param(L, fname, &n);
  const float *g = check_array(L, 2, fname, "grad", n);
  float *sq = check_array(L, 3, fname, "square_avg", n);
  float *ga = opt_array(L, 4, fname, "grad_avg", n);
  float *buf = opt_array(L, 5, fname, "momentum_buffer", n);
  nn_rmsprop_opts o = {
      .lr = check_number(L, 6, fname, "lr"),
      .alpha = check_number(L, 7, fname, "alpha"),
      .eps = check_number(L, 8, fname, "eps"),
      .weight_decay = check_number(L, 9, fname, "weight_decay"),
      .momentum = check_number(L, 10, fname, "momentum"),
  };
  if (o.momentum > 0 && !buf) nnb_error(L, fname, "momentum %g needs a momentum buffer", o.momentum);
  nn_rmsprop_step(p, sq, ga, o.momentum > 0 ? buf : NULL, g, n, &o);
  return 0;
}

/* nn._adagrad_step(p, grad, sum, step, lr, lr_decay, weight_decay, eps). */
static int l_adagrad_step(lua_State *L) {
  const char *fname = "_adagrad_step";
  int64_t n;
  float *p = check_param(L, fname, &n);
  const float *g = check_array(L, 2, fname, "grad", n);
  float *sum = check_array(L, 3, fname, "sum", n);
  nn_adagrad_opts o = {
      .step = check_step(L, 4, fname),
      .lr = check_number(L, 5, fname, "lr"),
      .lr_decay = check_number(L, 6, fname, "lr_decay"),
      .weight_decay = check_number(L, 7, fname, "weight_decay"),
      .eps = check_number(L, 8, fname, "eps"),
  };
  nn_adagrad_step(p, sum, g, n, &o);
  return 0;
}

/* ---- gradient clipping ---- */

/* Leaves at the top of the stack the list of parameters given at 1 (a
 * single tensor becomes a list of one) and returns its length. */
static int64_t param_list(lua_State *L, const char *fname) {
  if (nnb_to_tensor(L, 1)) {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
  } else if (lua_istable(L, 1)) {
    lua_pushvalue(L, 1);
  } else {
    nnb_error(L, fname, "parameters must be a list of tensors or a tensor, got %s", luaL_typename(L, 1));
  }
  return (int64_t)luaL_len(L, -1);
}

/* The gradient of the i-th (1-based) tensor in the list at top, or NULL
 * when it has none. Raises if the entry is not a tensor or its gradient is
 * not contiguous float32. */
static nn_tensor *list_grad(lua_State *L, const char *fname, int64_t i) {
  lua_rawgeti(L, -1, (lua_Integer)i);
  nn_tensor *t = nnb_to_tensor(L, -1);
  if (!t) nnb_error(L, fname, "parameter %lld must be a tensor, got %s", (long long)i, luaL_typename(L, -1));
  lua_pop(L, 1);
  nn_tensor *g = t->grad;
  if (g && (g->dtype != NN_FLOAT32 || !nn_tensor_is_contiguous(g)))
    nnb_error(L, fname, "the gradient of parameter %lld is not a contiguous float32 tensor", (long long)i);
  return g;
}

/* The norm type at idx: a number > 0 (math.huge for the max norm) or the
 * string 'inf'; 2 when absent. */
static double check_norm_type(lua_State *L, int idx, const char *fname) {
  if (lua_isnoneornil(L, idx)) return 2;
  if (lua_type(L, idx) == LUA_TSTRING) {
    if (strcmp(lua_tostring(L, idx), "inf") == 0) return INFINITY;
    nnb_error(L, fname, "norm_type must be a number or 'inf', got '%s'", lua_tostring(L, idx));
  }
  double p = check_number(L, idx, fname, "norm_type");
  if (!(p > 0)) nnb_error(L, fname, "norm_type must be > 0, got %g", p);
  return p;
}

/* ||g||_p from the sum of |g|^p (the maximum when p is infinite). */
static double root(double s, double p) {
  if (isinf(p) || p == 1) return s;
  return p == 2 ? sqrt(s) : pow(s, 1 / p);
}

/* nn.clip_grad_norm_(params, max_norm, norm_type=2) -> total norm (a
 * number) of all gradients together, before clipping. As PyTorch: each
 * gradient's norm is rounded to float32, the total is the norm of those,
 * and when it exceeds max_norm every gradient is multiplied by
 * max_norm / (total + 1e-6). */
static int l_clip_grad_norm(lua_State *L) {
  const char *fname = "clip_grad_norm_";
  double max_norm = check_number(L, 2, fname, "max_norm");
  if (!(max_norm >= 0)) nnb_error(L, fname, "max_norm must be >= 0, got %g", max_norm);
  double p = check_norm_type(L, 3, fname);
  int64_t count = param_list(L, fname);
  double acc = 0;
  for (int64_t i = 1; i <= count; i++) {
    nn_tensor *g = list_grad(L, fname, i);
    if (!g) continue;
    float norm = (float)root(nn_pow_sum(nn_tensor_data(g), nn_tensor_numel(g), p), p);
    if (isinf(p)) acc = isnan(norm) || norm > acc ? norm : acc;
    else acc += p == 2 ? (double)norm * norm : pow(norm, p);
  }
  float total = (float)root(acc, p);
  /* clip_coef = max_norm / (total_norm + 1e-6), a float32 tensor op:
   * reciprocal of the sum, times max_norm; then clamped to at most 1. */
  float coef = (1.0f / (total + 1e-6f)) * (float)max_norm;
  if (coef > 1.0f) coef = 1.0f;
  if (coef != 1.0f) {
    for (int64_t i = 1; i <= count; i++) {
      nn_tensor *g = list_grad(L, fname, i);
      if (g) nn_scale(nn_tensor_data(g), nn_tensor_numel(g), coef);
    }
  }
  lua_pushnumber(L, total);
  return 1;
}

/* nn.clip_grad_value_(params, v): every gradient clamped to [-v, v]. */
static int l_clip_grad_value(lua_State *L) {
  const char *fname = "clip_grad_value_";
  double v = check_number(L, 2, fname, "clip_value");
  if (!(v >= 0)) nnb_error(L, fname, "clip_value must be >= 0, got %g", v);
  int64_t count = param_list(L, fname);
  for (int64_t i = 1; i <= count; i++) list_grad(L, fname, i); /* check all first */
  for (int64_t i = 1; i <= count; i++) {
    nn_tensor *g = list_grad(L, fname, i);
    if (g) nn_clamp_values(nn_tensor_data(g), nn_tensor_numel(g), (float)-v, (float)v);
  }
  return 0;
}

static const luaL_Reg module_funcs[] = {
    {"_sgd_step", l_sgd_step},
    {"_adam_step", l_adam_step},
    {"_rmsprop_step", l_rmsprop_step},
    {"_adagrad_step", l_adagrad_step},
    {"clip_grad_norm_", l_clip_grad_norm},
    {"clip_grad_value_", l_clip_grad_value},
    {NULL, NULL},
};

void nnb_open_optim(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, module_funcs);
}
