/*
 * The functional forms of the fused layers: nn.linear, nn.dropout and
 * nn.batch_norm (the Lua classes in stdlib/nn/ call these).
 */
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_layers.h"
#include "nn_elementwise.h"

static nn_tensor *check_float(lua_State *L, int idx, const char *fname, const char *what) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (t->dtype != NN_FLOAT32)
    nnb_error(L, fname, "%s must be a float32 tensor, got %s", what, nn_dtype_name(t->dtype));
  return t;
}

/* nn.linear(x [*, K], weight [O, K] [, bias [O]]) -> [*, O]. */
static int l_linear(lua_State *L) {
  nn_tensor *x = check_float(L, 1, "linear", "input"), *w = check_float(L, 2, "linear", "weight");
  nn_tensor *b = lua_isnoneornil(L, 3) ? NULL : check_float(L, 3, "linear", "bias");
  char s[128];
  if (w->ndim != 2) nnb_error(L, "linear", "weight must be 2-D [out, in], got %s", nnb_shape_str(s, sizeof s, w->ndim, w->shape));
  int64_t O = w->shape[0], K = w->shape[1];
  if (x->ndim == 0) nnb_error(L, "linear", "input must have at least 1 dim, got a 0-dim tensor");
  if (x->shape[x->ndim - 1] != K)
    nnb_error(L, "linear", "input has %lld features, expected %lld (input %s)", (long long)x->shape[x->ndim - 1],
              (long long)K, nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (b && (b->ndim != 1 || b->shape[0] != O))
    nnb_error(L, "linear", "bias must be [%lld], got %s", (long long)O, nnb_shape_str(s, sizeof s, b->ndim, b->shape));
  lua_settop(L, 3);
  nn_tensor *xc = nnb_push_as(L, "linear", 1, NN_FLOAT32, true);
  nn_tensor *wc = nnb_push_as(L, "linear", 2, NN_FLOAT32, true);
  nn_tensor *bc = b ? nnb_push_as(L, "linear", 3, NN_FLOAT32, true) : NULL;
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = O;
  nn_tensor *y = nnb_new_tensor(L, "linear", NN_FLOAT32, x->ndim, shape);
  nn_kernel_linear_forward(nn_tensor_data(y), nn_tensor_data(xc), nn_tensor_data(wc), bc ? nn_tensor_data(bc) : NULL,
                    nn_tensor_numel(x) / (K ? K : 1), K, O);
  if (K == 0) nn_fill(y, 0);
  nn_node *node = nnb_record(L, "linear", NN_OP_LINEAR, y, 3, (nn_tensor *[]){x, w, b});
  if (node) {
    nn_node_save(node, xc);
    nn_node_save(node, wc);
  }
  return 1;
}

/* nn.dropout(x, p, training, mode): mode 'inverted' (default) scales the
 * survivors by 1/(1-p) in training and is the identity in eval; 'classic'
 * keeps survivors as they are and multiplies by 1-p in eval. */
static int l_dropout(lua_State *L) {
  nn_tensor *x = check_float(L, 1, "dropout", "input");
  double p = luaL_optnumber(L, 2, 0.5);
  if (!(p >= 0 && p <= 1)) nnb_error(L, "dropout", "p must be in [0, 1], got %g", p);
  bool training = lua_isnone(L, 3) ? true : lua_toboolean(L, 3);
  const char *mode = luaL_optstring(L, 4, "inverted");
  bool classic = strcmp(mode, "classic") == 0;
  if (!classic && strcmp(mode, "inverted") != 0)
    nnb_error(L, "dropout", "mode must be 'inverted' or 'classic', got '%s'", mode);
  lua_settop(L, 1);
  if (!training || p == 0) {
    if (classic && p > 0) { /* eval of classic dropout: x * (1 - p) */
      lua_getfield(L, LUA_REGISTRYINDEX, NNB_METHODS_KEY);
      lua_getfield(L, -1, "mul");
      lua_pushvalue(L, 1);
      lua_pushnumber(L, 1 - p);
      lua_call(L, 2, 1);
    }
    return 1;
  }
  nn_tensor *xc = nnb_push_as(L, "dropout", 1, NN_FLOAT32, true);
  nn_tensor *y = nnb_new_tensor(L, "dropout", NN_FLOAT32, x->ndim, x->shape);
  nn_tensor *mask = nnb_new_tensor(L, "dropout", NN_FLOAT32, x->ndim, x->shape);
  float scale = classic ? 1.0f : p < 1 ? (float)(1 / (1 - p)) : 0.0f;
  nn_kernel_dropout_forward(nn_tensor_data(y), nn_tensor_data(mask), nn_tensor_data(xc), nn_tensor_numel(x), (float)p,
                     scale, nnb_rng());
  nn_node *node = nnb_record(L, "dropout", NN_OP_DROPOUT, y, 1, &x);
  if (node) nn_node_save(node, mask);
  lua_pop(L, 1);
  return 1;
}

/* Checks an optional per-channel tensor of C floats (contiguous). */
static nn_tensor *check_channels(lua_State *L, int idx, int64_t C, const char *what) {
  if (lua_isnoneornil(L, idx)) return NULL;
  nn_tensor *t = check_float(L, idx, "batch_norm", what);
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
  nn_tensor *x = check_float(L, 1, "batch_norm", "input");
  char s[128];
  if (x->ndim < 2 || x->ndim > 4)
    nnb_error(L, "batch_norm", "expected a 2-D to 4-D input [N, C, ...], got %s", nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  int64_t N = x->shape[0], C = x->shape[1], S = nn_shape_numel(x->ndim - 2, x->shape + 2);
  nn_tensor *rmean = check_channels(L, 2, C, "running_mean"), *rvar = check_channels(L, 3, C, "running_var");
  nn_tensor *w = check_channels(L, 4, C, "weight"), *b = check_channels(L, 5, C, "bias");
  bool training = lua_toboolean(L, 6);
  double momentum = luaL_optnumber(L, 7, 0.1), eps = luaL_optnumber(L, 8, 1e-5);
  if (!(eps > 0)) nnb_error(L, "batch_norm", "eps must be positive, got %g", eps);
  if (!training && (!rmean || !rvar)) nnb_error(L, "batch_norm", "eval mode needs running_mean and running_var");
  if (training && N * S <= 1)
    nnb_error(L, "batch_norm", "expected more than 1 value per channel when training, got input %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  lua_settop(L, 8);
  nn_tensor *xc = nnb_push_as(L, "batch_norm", 1, NN_FLOAT32, true);
  nn_tensor *mean = nnb_new_tensor(L, "batch_norm", NN_FLOAT32, 1, &C);
  nn_tensor *invstd = nnb_new_tensor(L, "batch_norm", NN_FLOAT32, 1, &C);
  float *mp = nn_tensor_data(mean), *ip = nn_tensor_data(invstd);
  if (training) {
    nn_kernel_batch_norm_stats(mp, ip, nn_tensor_data(xc), N, C, S);
    double unbias = (double)(N * S) / (double)(N * S - 1);
    for (int64_t c = 0; c < C; c++) {
      if (rmean) {
        float *rm = nn_tensor_data(rmean), *rv = nn_tensor_data(rvar);
        rm[c] = (float)((1 - momentum) * rm[c] + momentum * mp[c]);
        rv[c] = (float)((1 - momentum) * rv[c] + momentum * ip[c] * unbias);
      }
      ip[c] = (float)(1 / sqrt((double)ip[c] + eps));
    }
  } else {
    const float *rm = nn_tensor_data(rmean), *rv = nn_tensor_data(rvar);
    for (int64_t c = 0; c < C; c++) {
      mp[c] = rm[c];
      ip[c] = (float)(1 / sqrt((double)rv[c] + eps));
    }
  }
  nn_tensor *y = nnb_new_tensor(L, "batch_norm", NN_FLOAT32, x->ndim, x->shape);
  nn_kernel_batch_norm_forward(nn_tensor_data(y), nn_tensor_data(xc), mp, ip, w ? nn_tensor_data(w) : NULL,
                        b ? nn_tensor_data(b) : NULL, N, C, S);
  nn_node *node = nnb_record(L, "batch_norm", NN_OP_BATCH_NORM, y, 3, (nn_tensor *[]){x, w, b});
  if (node) {
    nn_node_save(node, xc);
    nn_node_save(node, mean);
    nn_node_save(node, invstd);
    if (w) nn_node_save(node, w);
    node->params[0] = training;
  }
  return 1;
}

static const luaL_Reg functions[] = {
    {"linear", l_linear},
    {"dropout", l_dropout},
    {"batch_norm", l_batch_norm},
    {NULL, NULL},
};

void nnb_open_functional(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
