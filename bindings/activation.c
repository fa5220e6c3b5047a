/*
 * Activations from Lua: nn.leaky_relu, elu, hardtanh, relu6, gelu, silu,
 * softplus, softmax and log_softmax (also
 * tensor methods). Inputs of other dtypes are computed in float32; every
 * result takes part in autograd. The ops run in runtime/activation.c.
 */
#include <string.h>

#include "nn_activation.h"
#include "nn_bind.h"

static double opt_number(lua_State *L, int idx, double dflt, const char *what, const char *fname) {
  if (lua_isnoneornil(L, idx)) return dflt;
  if (lua_type(L, idx) != LUA_TNUMBER)
    nnb_error(L, fname, "%s must be a number, got %s", what, luaL_typename(L, idx));
  return lua_tonumber(L, idx);
}

/* Pushes the input (argument 1) as float32, then the output of its shape. */
static nn_tensor *push_input_output(lua_State *L, nn_tensor **x, const char *fname) {
  *x = nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  return nnb_new_tensor(L, fname, NN_FLOAT32, (*x)->ndim, (*x)->shape);
}

/* leaky_relu(x, negative_slope = 0.01) */
static int l_leaky_relu(lua_State *L) {
  nn_leaky_relu_args args = {(float)opt_number(L, 2, 0.01, "negative_slope", "leaky_relu")};
  nn_tensor *x, *out = push_input_output(L, &x, "leaky_relu");
  nnb_check_status(L, "leaky_relu", nn_leaky_relu(out, x, &args));
  return 1;
}

/* elu(x, alpha = 1) */
static int l_elu(lua_State *L) {
  nn_elu_args args = {(float)opt_number(L, 2, 1.0, "alpha", "elu")};
  nn_tensor *x, *out = push_input_output(L, &x, "elu");
  nnb_check_status(L, "elu", nn_elu(out, x, &args));
  return 1;
}

/* hardtanh(x, min_val = -1, max_val = 1) */
static int l_hardtanh(lua_State *L) {
  nn_hardtanh_args args = {(float)opt_number(L, 2, -1.0, "min_val", "hardtanh"),
                           (float)opt_number(L, 3, 1.0, "max_val", "hardtanh")};
  if (!(args.min_val <= args.max_val))
    nnb_error(L, "hardtanh", "min_val %g is greater than max_val %g", (double)args.min_val,
              (double)args.max_val);
  nn_tensor *x, *out = push_input_output(L, &x, "hardtanh");
  nnb_check_status(L, "hardtanh", nn_hardtanh(out, x, &args));
  return 1;
}

/* relu6(x) = hardtanh(x, 0, 6) */
static int l_relu6(lua_State *L) {
  nn_tensor *x, *out = push_input_output(L, &x, "relu6");
  nnb_check_status(L, "relu6", nn_hardtanh(out, x, &(nn_hardtanh_args){0, 6}));
  return 1;
}

/* gelu(x [, {approximate='none'|'tanh'}]) */
static int l_gelu(lua_State *L) {
  static const char *const known[] = {"approximate", NULL};
  int opts = nnb_check_options(L, 2, known, "gelu");
  nn_gelu_args args = {false};
  if (opts) {
    lua_getfield(L, opts, "approximate");
    if (!lua_isnil(L, -1)) {
      const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
      if (!s || (strcmp(s, "none") && strcmp(s, "tanh")))
        nnb_error(L, "gelu", "approximate must be 'none' or 'tanh', got %s",
                  s ? s : luaL_typename(L, -1));
      args.tanh = strcmp(s, "tanh") == 0;
    }
    lua_pop(L, 1);
  }
  nn_tensor *x, *out = push_input_output(L, &x, "gelu");
  nnb_check_status(L, "gelu", nn_gelu(out, x, &args));
  return 1;
}

/* silu(x) = x * sigmoid(x) */
static int l_silu(lua_State *L) {
  nn_tensor *x, *out = push_input_output(L, &x, "silu");
  nnb_check_status(L, "silu", nn_silu(out, x));
  return 1;
}

/* softplus(x, beta = 1, threshold = 20) */
static int l_softplus(lua_State *L) {
  nn_softplus_args args = {(float)opt_number(L, 2, 1.0, "beta", "softplus"),
                           (float)opt_number(L, 3, 20.0, "threshold", "softplus")};
  if (args.beta == 0) nnb_error(L, "softplus", "beta must not be 0");
  nn_tensor *x, *out = push_input_output(L, &x, "softplus");
  nnb_check_status(L, "softplus", nn_softplus(out, x, &args));
  return 1;
}

/* softmax(x, dim = -1), log_softmax(x, dim = -1) */
static int softmax(lua_State *L, bool logp, const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  nn_softmax_args args = {lua_isnoneornil(L, 2) ? (x->ndim ? x->ndim - 1 : 0) : nnb_check_dim(L, 2, x->ndim, fname)};
  nn_tensor *out = push_input_output(L, &x, fname);
  nnb_check_status(L, fname, (logp ? nn_log_softmax : nn_softmax)(out, x, &args));
  return 1;
}

static int l_softmax(lua_State *L) { return softmax(L, false, "softmax"); }
static int l_log_softmax(lua_State *L) { return softmax(L, true, "log_softmax"); }

static const luaL_Reg functions[] = {
    {"leaky_relu", l_leaky_relu},
    {"elu", l_elu},
    {"hardtanh", l_hardtanh},
    {"relu6", l_relu6},
    {"gelu", l_gelu},
    {"silu", l_silu},
    {"softplus", l_softplus},
    {"softmax", l_softmax},
    {"log_softmax", l_log_softmax},
    {NULL, NULL},
};

void nnb_open_activation(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, functions);
  nnb_set_funcs(L, methods, functions);
}
