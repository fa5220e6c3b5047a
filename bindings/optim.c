/*
 * The optimizer steps and gradient clipping from Lua.
 *
 * nn.core._sgd_step, _adam_step, _adamw_step, _rmsprop_step and
 * _adagrad_step(p, grad, state, group) update one parameter in place with
 * its kernel (runtime/optim.c); stdlib/nn/optim/ calls them once per
 * parameter. group is the parameter group: the kernel's options are read
 * from it by their names (lr, momentum, betas, ...). state is the
 * optimizer's state table of p: the buffers are read under their state
 * names (momentum_buffer, exp_avg, ...), created (zeros) when missing, and
 * state.step counts the steps. _sgd_step and _adam_step also read
 * group.l1 (absent: 0), the proximal L1 strength.
 *
 * nn.clip_grad_norm_(params, max_norm, norm_type=2) and
 * nn.clip_grad_value_(params, v) take a list of tensors (or one tensor)
 * and work on the .grad of those that have one.
 *
 * nn.core._bucket_attach(bucket, params) makes the parameters' gradients
 * views of one flat bucket, and _bucket_divide(bucket, divisor) divides it
 * in place, for nn.distributed.Optimizer's bucketed all-reduce.
 */
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_elementwise.h"
#include "nn_optim.h"

/* The stack of a step: p, grad, state, group. */
enum { P = 1, GRAD, STATE, GROUP };

/* The float data of the contiguous float32 tensor at idx with n elements
 * (the parameter's count; any count when n < 0), or raises naming what. */
static float *check_array(lua_State *L, int idx, const char *fname, const char *what, int64_t n) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (!t) nnb_error(L, fname, "%s must be a tensor, got %s", what, luaL_typename(L, idx));
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

/* Checks the arguments of a step; returns p's element count, and the data
 * of p and grad in *p and *g. */
static int64_t check_step_args(lua_State *L, const char *fname, float **p, const float **g) {
  *p = check_array(L, P, fname, "param", -1);
  int64_t n = nn_tensor_numel(nnb_to_tensor(L, P));
  *g = check_array(L, GRAD, fname, "grad", n);
  for (int i = STATE; i <= GROUP; i++)
    if (!lua_istable(L, i))
      nnb_error(L, fname, "%s (argument %d) must be a table, got %s", i == STATE ? "state" : "group", i,
                luaL_typename(L, i));
  return n;
}

/* ---- the options, from the group ---- */

static double option(lua_State *L, const char *fname, const char *key) {
  lua_getfield(L, GROUP, key);
  if (lua_type(L, -1) != LUA_TNUMBER) nnb_error(L, fname, "%s must be a number, got %s", key, luaL_typename(L, -1));
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static bool flag(lua_State *L, const char *key) {
  lua_getfield(L, GROUP, key);
  bool v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

/* group.l1, the proximal L1 strength: 0 when absent, an error when
 * negative. */
static double l1_option(lua_State *L, const char *fname) {
  lua_getfield(L, GROUP, "l1");
  bool absent = lua_isnil(L, -1);
  lua_pop(L, 1);
  if (absent) return 0;
  double v = option(L, fname, "l1");
  if (!(v >= 0)) nnb_error(L, fname, "l1 must be >= 0, got %g", v);
  return v;
}

/* ---- the state ---- */

/* The data of state[name], a float32 tensor of n elements, created filled
 * with init when missing (*created tells, when not NULL). */
static float *buffer(lua_State *L, const char *fname, const char *name, int64_t n, double init, bool *created) {
  bool missing = lua_getfield(L, STATE, name) == LUA_TNIL;
  if (missing) {
    const nn_tensor *p = nnb_to_tensor(L, P);
    nn_fill(nnb_new_tensor(L, fname, NN_FLOAT32, p->ndim, p->shape), init);
    lua_replace(L, -2);
    lua_pushvalue(L, -1);
    lua_setfield(L, STATE, name);
  }
  if (created) *created = missing;
  float *data = check_array(L, -1, fname, name, n);
  lua_pop(L, 1); /* state[name] keeps it alive */
  return data;
}

/* This step's number, counted from 1: state.step + 1 (0 when missing),
 * stored back in state.step. */
static int64_t next_step(lua_State *L, const char *fname) {
  int64_t step = lua_getfield(L, STATE, "step") == LUA_TNIL ? 0 : nnb_check_int(L, -1, fname, "step");
  if (step < 0) nnb_error(L, fname, "step must be >= 0, got %lld", (long long)step);
  lua_pushinteger(L, step + 1);
  lua_setfield(L, STATE, "step");
  lua_pop(L, 1);
  return step + 1;
}

/* ---- update steps ---- */

/* SGD: momentum_buffer with momentum only; on its first step it takes the
 * gradient instead of blending with it. */
static int l_sgd_step(lua_State *L) {
  const char *fname = "_sgd_step";
  float *p;
  const float *g;
  int64_t n = check_step_args(L, fname, &p, &g);
  nn_sgd_opts o = {
      .lr = option(L, fname, "lr"),
      .momentum = option(L, fname, "momentum"),
      .dampening = option(L, fname, "dampening"),
      .weight_decay = option(L, fname, "weight_decay"),
      .nesterov = flag(L, "nesterov"),
      .l1 = l1_option(L, fname),
  };
  float *buf = o.momentum != 0 ? buffer(L, fname, "momentum_buffer", n, 0, &o.first_step) : NULL;
  nn_sgd_step(p, g, buf, n, &o);
  return 0;
}

/* Adam and AdamW: max_exp_avg_sq with amsgrad only. */
static int adam_step(lua_State *L, const char *fname, bool decoupled) {
  float *p;
  const float *g;
  int64_t n = check_step_args(L, fname, &p, &g);
  nn_adam_opts o = {
      .lr = option(L, fname, "lr"),
      .eps = option(L, fname, "eps"),
      .weight_decay = option(L, fname, "weight_decay"),
      .decoupled = decoupled,
      .l1 = decoupled ? 0 : l1_option(L, fname),
  };
  lua_getfield(L, GROUP, "betas"); /* {beta1, beta2} */
  if (!lua_istable(L, -1) || lua_rawgeti(L, -1, 1) != LUA_TNUMBER || lua_rawgeti(L, -2, 2) != LUA_TNUMBER)
    nnb_error(L, fname, "betas must be a pair of numbers {beta1, beta2}");
  o.beta1 = lua_tonumber(L, -2);
  o.beta2 = lua_tonumber(L, -1);
  lua_pop(L, 3);
  float *m = buffer(L, fname, "exp_avg", n, 0, NULL);
  float *v = buffer(L, fname, "exp_avg_sq", n, 0, NULL);
  float *vmax = flag(L, "amsgrad") ? buffer(L, fname, "max_exp_avg_sq", n, 0, NULL) : NULL;
  o.step = next_step(L, fname);
  nn_adam_step(p, m, v, vmax, g, n, &o);
  return 0;
}

static int l_adam_step(lua_State *L) {
  return adam_step(L, "_adam_step", false);
}

static int l_adamw_step(lua_State *L) {
  return adam_step(L, "_adamw_step", true);
}

/* RMSprop: momentum_buffer with momentum > 0, grad_avg when centered. */
static int l_rmsprop_step(lua_State *L) {
  const char *fname = "_rmsprop_step";
  float *p;
  const float *g;
  int64_t n = check_step_args(L, fname, &p, &g);
  nn_rmsprop_opts o = {
      .lr = option(L, fname, "lr"),
      .alpha = option(L, fname, "alpha"),
      .eps = option(L, fname, "eps"),
      .weight_decay = option(L, fname, "weight_decay"),
      .momentum = option(L, fname, "momentum"),
  };
  float *sq = buffer(L, fname, "square_avg", n, 0, NULL);
  float *buf = o.momentum > 0 ? buffer(L, fname, "momentum_buffer", n, 0, NULL) : NULL;
  float *avg = flag(L, "centered") ? buffer(L, fname, "grad_avg", n, 0, NULL) : NULL;
  next_step(L, fname);
  nn_rmsprop_step(p, sq, avg, buf, g, n, &o);
  return 0;
}

/* Adagrad: sum starts at initial_accumulator_value. */
static int l_adagrad_step(lua_State *L) {
  const char *fname = "_adagrad_step";
  float *p;
  const float *g;
  int64_t n = check_step_args(L, fname, &p, &g);
  nn_adagrad_opts o = {
      .lr = option(L, fname, "lr"),
      .lr_decay = option(L, fname, "lr_decay"),
      .weight_decay = option(L, fname, "weight_decay"),
      .eps = option(L, fname, "eps"),
  };
  float *sum = buffer(L, fname, "sum", n, option(L, fname, "initial_accumulator_value"), NULL);
  o.step = next_step(L, fname);
  nn_adagrad_step(p, sum, g, n, &o);
  return 0;
}

/* ---- gradient clipping ---- */

/* The gradients of the parameters given at 1 (a list of tensors or one
 * tensor), checked, in a userdata array left on the stack; NULL for a
 * parameter without one. Their count in *count. */
static nn_tensor **param_grads(lua_State *L, const char *fname, int64_t *count) {
  if (nnb_to_tensor(L, 1)) {
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_replace(L, 1);
  } else if (!lua_istable(L, 1)) {
    nnb_error(L, fname, "parameters must be a list of tensors or a tensor, got %s", luaL_typename(L, 1));
  }
  *count = (int64_t)luaL_len(L, 1);
  nn_tensor **grads = lua_newuserdatauv(L, (size_t)(*count > 0 ? *count : 1) * sizeof *grads, 0);
  for (int64_t i = 0; i < *count; i++) {
    lua_rawgeti(L, 1, (lua_Integer)i + 1);
    nn_tensor *t = nnb_to_tensor(L, -1);
    if (!t)
      nnb_error(L, fname, "parameter %lld must be a tensor, got %s", (long long)i + 1, luaL_typename(L, -1));
    lua_pop(L, 1);
    nn_tensor *g = t->grad;
    if (g && (g->dtype != NN_FLOAT32 || !nn_tensor_is_contiguous(g)))
      nnb_error(L, fname, "the gradient of parameter %lld is not a contiguous float32 tensor", (long long)i + 1);
    grads[i] = g;
  }
  return grads;
}

static double check_number(lua_State *L, int idx, const char *fname, const char *what) {
  int isnum;
  double v = (double)lua_tonumberx(L, idx, &isnum);
  if (!isnum) nnb_error(L, fname, "%s (argument %d) must be a number, got %s", what, idx, luaL_typename(L, idx));
  return v;
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

/* nn.clip_grad_norm_(params, max_norm, norm_type=2) -> the total norm (a
 * number) of all gradients together, before clipping. */
static int l_clip_grad_norm(lua_State *L) {
  const char *fname = "clip_grad_norm_";
  double max_norm = check_number(L, 2, fname, "max_norm");
  if (!(max_norm >= 0)) nnb_error(L, fname, "max_norm must be >= 0, got %g", max_norm);
  double p = check_norm_type(L, 3, fname);
  int64_t count;
  nn_tensor **grads = param_grads(L, fname, &count);
  lua_pushnumber(L, nn_clip_grad_norm(grads, count, max_norm, p));
  return 1;
}

/* nn.clip_grad_value_(params, v): every gradient clamped to [-v, v]. */
static int l_clip_grad_value(lua_State *L) {
  const char *fname = "clip_grad_value_";
  double v = check_number(L, 2, fname, "clip_value");
  if (!(v >= 0)) nnb_error(L, fname, "clip_value must be >= 0, got %g", v);
  int64_t count;
  nn_tensor **grads = param_grads(L, fname, &count);
  nn_clip_grad_value(grads, count, v);
  return 0;
}

/* ---- gradient buckets (nn.distributed.Optimizer) ---- */

/* _bucket_attach(bucket, params): the gradients of params (a list of
 * parameters; those without one are skipped) become views of their slices
 * of bucket, in order (nn_bucket_attach). */
static int l_bucket_attach(lua_State *L) {
  const char *fname = "_bucket_attach";
  check_array(L, 1, fname, "bucket", -1);
  nn_tensor *bucket = nnb_to_tensor(L, 1);
  nnb_check_writable(L, bucket, fname);
  luaL_checktype(L, 2, LUA_TTABLE);
  int64_t count = (int64_t)luaL_len(L, 2), total = 0;
  nn_tensor **params = lua_newuserdatauv(L, (size_t)(count > 0 ? count : 1) * sizeof *params, 0);
  for (int64_t i = 0; i < count; i++) {
    lua_rawgeti(L, 2, (lua_Integer)i + 1);
    nn_tensor *p = nnb_to_tensor(L, -1);
    if (!p) nnb_error(L, fname, "parameter %lld must be a tensor, got %s", (long long)i + 1, luaL_typename(L, -1));
    lua_pop(L, 1);
    nn_tensor *g = p->grad;
    if (g && (g->dtype != NN_FLOAT32 || !nn_tensor_is_contiguous(g)))
      nnb_error(L, fname, "the gradient of parameter %lld is not a contiguous float32 tensor", (long long)i + 1);
    if (g) total += nn_tensor_numel(g);
    params[i] = p;
  }
  int64_t size = nn_tensor_numel(bucket);
  if (total != size)
    nnb_error(L, fname, "the gradients have %lld elements in all, the bucket %lld", (long long)total, (long long)size);
  nnb_check_status(L, fname, nn_bucket_attach(bucket, params, count));
  return 0;
}

/* _bucket_divide(bucket, divisor): bucket /= divisor, in place. */
static int l_bucket_divide(lua_State *L) {
  const char *fname = "_bucket_divide";
  float *x = check_array(L, 1, fname, "bucket", -1);
  nnb_check_writable(L, nnb_to_tensor(L, 1), fname);
  double divisor = check_number(L, 2, fname, "divisor");
  if (!(divisor > 0)) nnb_error(L, fname, "divisor must be > 0, got %g", divisor);
  nn_bucket_divide(x, nn_tensor_numel(nnb_to_tensor(L, 1)), (float)divisor);
  return 0;
}

static const luaL_Reg module_funcs[] = {
    {"_sgd_step", l_sgd_step},
    {"_adam_step", l_adam_step},
    {"_adamw_step", l_adamw_step},
    {"_rmsprop_step", l_rmsprop_step},
    {"_adagrad_step", l_adagrad_step},
    {"clip_grad_norm_", l_clip_grad_norm},
    {"clip_grad_value_", l_clip_grad_value},
    {"_bucket_attach", l_bucket_attach},
    {"_bucket_divide", l_bucket_divide},
    {NULL, NULL},
};

void nnb_open_optim(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, module_funcs);
}
