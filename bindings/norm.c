/*
 * nn.batch_norm(...), the functional form behind the BatchNorm layers; the
 * statistics and their running update are computed in runtime/norm.c.
 */
#include "nn_bind.h"
#include "nn_norm.h"

static nn_tensor *check_float(lua_State *L, int idx, const char *what) {
  nn_tensor *t = nnb_check_tensor(L, idx, "batch_norm");
  if (t->dtype != NN_FLOAT32)
    nnb_error(L, "batch_norm", "%s must be a float32 tensor, got %s", what, nn_dtype_name(t->dtype));
  return t;
}

/* Checks an optional per-channel tensor of C floats (contiguous). */
static nn_tensor *check_channels(lua_State *L, int idx, int64_t C, const char *what) {
  if (lua_isnoneornil(L, idx)) return NULL;
  nn_tensor *t = check_float(L, idx, what);
  if (t->ndim != 1 || t->shape[0] != C || !nn_tensor_is_contiguous(t)) {
    char s[128];
    nnb_error(L, "batch_norm", "%s must be a contiguous [%lld] tensor, got %s", what, (long long)C,
              nnb_shape_str(s, sizeof s, t->ndim, t->shape));
  }
  return t;
}

/* nn.batch_norm(x, running_mean, running_var, weight, bias, training,
 * momentum, eps): x is [N, C], [N, C, L] or [N, C, H, W]. In training the
 * batch statistics normalize and the running ones (if given) are updated
 * in place, with the unbiased variance, as PyTorch. */
static int l_batch_norm(lua_State *L) {
  nn_tensor *x = check_float(L, 1, "input");
  char s[128];
  if (x->ndim < 2 || x->ndim > 4)
    nnb_error(L, "batch_norm", "expected a 2-D to 4-D input [N, C, ...], got %s", nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  int64_t N = x->shape[0], C = x->shape[1], S = nn_shape_numel(x->ndim - 2, x->shape + 2);
  nn_tensor *rmean = check_channels(L, 2, C, "running_mean"), *rvar = check_channels(L, 3, C, "running_var");
  nn_tensor *w = check_channels(L, 4, C, "weight"), *b = check_channels(L, 5, C, "bias");
  nn_batch_norm_args args = {.training = lua_toboolean(L, 6)};
  args.momentum = luaL_optnumber(L, 7, 0.1);
  args.eps = luaL_optnumber(L, 8, 1e-5);
  if (!(args.eps > 0)) nnb_error(L, "batch_norm", "eps must be positive, got %g", args.eps);
  if (!args.training && (!rmean || !rvar)) nnb_error(L, "batch_norm", "eval mode needs running_mean and running_var");
  if (args.training && N * S <= 1)
    nnb_error(L, "batch_norm", "expected more than 1 value per channel when training, got input %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  lua_settop(L, 8);
  nn_tensor *y = nnb_new_tensor(L, "batch_norm", NN_FLOAT32, x->ndim, x->shape);
  nnb_check_status(L, "batch_norm", nn_batch_norm(y, x, w, b, rmean, rvar, &args));
  return 1;
}

static const luaL_Reg functions[] = {
    {"batch_norm", l_batch_norm},
    {NULL, NULL},
};

void nnb_open_norm(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
