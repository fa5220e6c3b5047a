/*
 * nn.linear(x, weight [, bias]), the functional form behind nn.Linear; the
 * product runs in runtime/linear.c.
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_linear.h"

static nn_tensor *check_float(lua_State *L, int idx, const char *what) {
  nn_tensor *t = nnb_check_tensor(L, idx, "linear");
  if (t->dtype != NN_FLOAT32)
    nnb_error(L, "linear", "%s must be a float32 tensor, got %s", what, nn_dtype_name(t->dtype));
  return t;
}

/* nn.linear(x [*, K], weight [O, K] [, bias [O]]) -> [*, O]. */
static int l_linear(lua_State *L) {
  nn_tensor *x = check_float(L, 1, "input"), *w = check_float(L, 2, "weight");
  nn_tensor *b = lua_isnoneornil(L, 3) ? NULL : check_float(L, 3, "bias");
  char s[128];
  if (w->ndim != 2) nnb_error(L, "linear", "weight must be 2-D [out, in], got %s", nnb_shape_str(s, sizeof s, w->ndim, w->shape));
  int64_t O = w->shape[0], K = w->shape[1];
  if (x->ndim == 0) nnb_error(L, "linear", "input must have at least 1 dim, got a 0-dim tensor");
  if (x->shape[x->ndim - 1] != K)
    nnb_error(L, "linear", "input has %lld features, expected %lld (input %s)", (long long)x->shape[x->ndim - 1],
              (long long)K, nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (b && (b->ndim != 1 || b->shape[0] != O))
    nnb_error(L, "linear", "bias must be [%lld], got %s", (long long)O, nnb_shape_str(s, sizeof s, b->ndim, b->shape));
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = O;
  nn_tensor *y = nnb_new_tensor(L, "linear", NN_FLOAT32, x->ndim, shape);
  nnb_check_status(L, "linear", nn_linear(y, x, w, b));
  return 1;
}

static const luaL_Reg functions[] = {
    {"linear", l_linear},
    {NULL, NULL},
};

void nnb_open_linear(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
