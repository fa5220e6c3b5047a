/*
 * Autograd from Lua: requires_grad_, .grad, .requires_grad, .is_leaf,
 * .grad_fn, backward, detach, nn.no_grad / enable_grad, detect_anomaly,
 * and nnb_check_status, which raises a runtime entry point's failure.
 */
#include <math.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_bind.h"
#include "nn_elementwise.h"

void nnb_check_status(lua_State *L, const char *fname, nn_status st) {
  if (st == NN_ERR_NOMEM) nnb_error(L, fname, "out of memory");
  if (st != NN_OK) nnb_error(L, fname, "%s", nn_error_message());
}

void nnb_check_inplace_grad(lua_State *L, const nn_tensor *t, const char *fname) {
  if (nn_grad_enabled() && nn_tensor_needs_grad(t))
    nnb_error(L, fname,
              "a tensor that requires grad cannot be modified in place (write y = x + ..., "
              "or run the update inside nn.no_grad)");
}

/* ---- tensor properties and methods ---- */

static int l_requires_grad_(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "requires_grad_");
  bool on = lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2);
  if (on && t->dtype != NN_FLOAT32)
    nnb_error(L, "requires_grad_", "only float32 tensors can require gradients, got %s", nn_dtype_name(t->dtype));
  if (!on && t->grad_fn)
    nnb_error(L, "requires_grad_", "a tensor computed from others always requires grad; use detach()");
  t->requires_grad = on;
  lua_settop(L, 1);
  return 1;
}

static int prop_grad(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "grad");
  if (!t->grad) return 0;
  nn_tensor_retain(t->grad);
  nnb_push_tensor(L, t->grad);
  return 1;
}

/* t.grad = g (a tensor of t's shape) or nil. */
static int set_grad(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "grad");
  nn_tensor *g = lua_isnil(L, 3) ? NULL : nnb_check_tensor(L, 3, "grad");
  if (g && (g->ndim != t->ndim || memcmp(g->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim) ||
            g->dtype != NN_FLOAT32 || !nn_tensor_is_contiguous(g))) {
    char a[128], b[128];
    nnb_error(L, "grad", "the gradient must be a contiguous float32 tensor of shape %s, got %s %s",
              nnb_shape_str(a, sizeof a, t->ndim, t->shape), nn_dtype_name(g->dtype),
              nnb_shape_str(b, sizeof b, g->ndim, g->shape));
  }
  if (g) nn_tensor_retain(g);
  nn_tensor_release(t->grad);
  t->grad = g;
  return 0;
}

static int prop_requires_grad(lua_State *L) {
  lua_pushboolean(L, nn_tensor_needs_grad(nnb_check_tensor(L, 1, "requires_grad")));
  return 1;
}

static int set_requires_grad(lua_State *L) {
  lua_remove(L, 2);
  return l_requires_grad_(L);
}

static int prop_is_leaf(lua_State *L) {
  lua_pushboolean(L, nnb_check_tensor(L, 1, "is_leaf")->grad_fn == NULL);
  return 1;
}

static int prop_grad_fn(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "grad_fn");
  if (!t->grad_fn) return 0;
  lua_pushstring(L, nn_op_name(t->grad_fn->op));
  return 1;
}

/* t:detach(): shares storage, no history. */
static int l_detach(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "detach");
  nnb_new_view(L, "detach", t, t->ndim, t->shape, t->stride, t->offset);
  return 1;
}

/* t:backward([grad], [{retain_graph=true}]). */
static int l_backward(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "backward");
  int opts = lua_istable(L, 2) ? 2 : lua_istable(L, 3) ? 3 : 0;
  nn_tensor *g = opts == 2 ? NULL : nnb_to_tensor(L, 2);
  if (!lua_isnoneornil(L, 2) && opts != 2 && !g)
    nnb_error(L, "backward", "argument 2 must be a gradient tensor or an options table, got %s", luaL_typename(L, 2));
  static const char *const known[] = {"retain_graph", NULL};
  opts = opts ? nnb_check_options(L, opts, known, "backward") : 0;
  bool retain = nnb_opt_bool(L, opts, "retain_graph", false, "backward");
  if (!nn_tensor_needs_grad(t))
    nnb_error(L, "backward", "the tensor does not require grad: no input of its computation called requires_grad_()");
  char a[128], b[128];
  if (!g) {
    if (nn_tensor_numel(t) != 1)
      nnb_error(L, "backward", "a gradient is needed for a non-scalar output %s: call t:backward(grad)",
                nnb_shape_str(a, sizeof a, t->ndim, t->shape));
    nn_scalar one;
    g = (nn_tensor *)nn_scalar_f32(&one, 1);
    nn_backward_error err = nn_backward(t, g, retain);
    if (err.status == NN_BACKWARD_OK) return 0;
    lua_pushlightuserdata(L, (void *)err.op);
    lua_pushinteger(L, err.status);
  } else {
    int ndim;
    int64_t shape[NN_MAX_DIMS];
    if (!nn_broadcast_shape(t->ndim, t->shape, g->ndim, g->shape, &ndim, shape) || ndim != t->ndim ||
        nn_shape_numel(ndim, shape) != nn_tensor_numel(t))
      nnb_error(L, "backward", "gradient shape %s does not match the output's %s",
                nnb_shape_str(a, sizeof a, g->ndim, g->shape), nnb_shape_str(b, sizeof b, t->ndim, t->shape));
    const nn_tensor *gf = nnb_push_as(L, "backward", 2, NN_FLOAT32, false);
    nn_backward_error err = nn_backward(t, gf, retain);
    if (err.status == NN_BACKWARD_OK) return 0;
    lua_pushlightuserdata(L, (void *)err.op);
    lua_pushinteger(L, err.status);
  }
  const char *op = lua_touserdata(L, -2);
  switch ((nn_backward_status)lua_tointeger(L, -1)) {
  case NN_BACKWARD_RELEASED:
    nnb_error(L, "backward", "trying to backward through the graph a second time (at '%s'); its saved tensors "
              "were freed. Pass {retain_graph=true} to the first backward to keep them", op);
  case NN_BACKWARD_ANOMALY:
    nnb_error(L, "backward", "detect_anomaly: the backward of '%s' produced NaN or Inf", op);
  default:
    nnb_error(L, "backward", "out of memory in the backward of '%s'", op ? op : "?");
  }
}

/* ---- grad mode ---- */

/* Runs fn(...) with recording set to `on`, restoring the old mode even if
 * fn raises, and returns fn's results. */
static int with_grad_mode(lua_State *L, bool on, const char *fname) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  bool old = nn_grad_enabled();
  nn_set_grad_enabled(on);
  int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
  nn_set_grad_enabled(old);
  if (status != LUA_OK) {
    (void)fname;
    return lua_error(L);
  }
  return lua_gettop(L);
}

static int l_no_grad(lua_State *L) { return with_grad_mode(L, false, "no_grad"); }
static int l_enable_grad(lua_State *L) { return with_grad_mode(L, true, "enable_grad"); }

static int l_set_grad_enabled(lua_State *L) {
  luaL_checkany(L, 1);
  nn_set_grad_enabled(lua_toboolean(L, 1));
  return 0;
}

static int l_is_grad_enabled(lua_State *L) {
  lua_pushboolean(L, nn_grad_enabled());
  return 1;
}

static int l_detect_anomaly(lua_State *L) {
  if (!lua_isnone(L, 1)) nn_set_detect_anomaly(lua_toboolean(L, 1));
  lua_pushboolean(L, nn_detect_anomaly());
  return 1;
}

static const luaL_Reg module_funcs[] = {
    {"no_grad", l_no_grad},
    {"enable_grad", l_enable_grad},
    {"set_grad_enabled", l_set_grad_enabled},
    {"is_grad_enabled", l_is_grad_enabled},
    {"detect_anomaly", l_detect_anomaly},
    {NULL, NULL},
};

static const luaL_Reg methods_list[] = {
    {"requires_grad_", l_requires_grad_},
    {"backward", l_backward},
    {"detach", l_detach},
    {NULL, NULL},
};

static const luaL_Reg props[] = {
    {"grad", prop_grad},
    {"requires_grad", prop_requires_grad},
    {"is_leaf", prop_is_leaf},
    {"grad_fn", prop_grad_fn},
    {NULL, NULL},
};

static const luaL_Reg setters[] = {
    {"grad", set_grad},
    {"requires_grad", set_requires_grad},
    {NULL, NULL},
};

void nnb_open_autograd(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, module_funcs);
  nnb_set_funcs(L, methods, methods_list);
  lua_getfield(L, LUA_REGISTRYINDEX, NNB_PROPS_KEY);
  luaL_setfuncs(L, props, 0);
  lua_pop(L, 1);
  lua_getfield(L, LUA_REGISTRYINDEX, NNB_SETTERS_KEY);
  luaL_setfuncs(L, setters, 0);
  lua_pop(L, 1);
}
