/*
 * Activations from Lua: nn.leaky_relu, elu, softmax and log_softmax (also
 * tensor methods). Inputs of other dtypes are computed in float32; every
 * result takes part in autograd. The ops run in runtime/activation.c.
 */
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
    {"softmax", l_softmax},
    {"log_softmax", l_log_softmax},
    {NULL, NULL},
};

void nnb_open_activation(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, functions);
  nnb_set_funcs(L, methods, functions);
}
