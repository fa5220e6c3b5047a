/*
 * nn.dropout(x, p, training, mode), the functional form behind nn.Dropout;
 * the mask is drawn in runtime/dropout.c.
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_dropout.h"

/* nn.dropout(x, p, training, mode): mode 'inverted' (default) scales the
 * survivors by 1/(1-p) in training and is the identity in eval; 'classic'
 * keeps survivors as they are and multiplies by 1-p in eval. */
static int l_dropout(lua_State *L) {
  nn_tensor *x = nnb_check_tensor(L, 1, "dropout");
  if (x->dtype != NN_FLOAT32)
    nnb_error(L, "dropout", "input must be a float32 tensor, got %s", nn_dtype_name(x->dtype));
  nn_dropout_args args = {.p = luaL_optnumber(L, 2, 0.5), .training = lua_isnone(L, 3) || lua_toboolean(L, 3)};
  if (!(args.p >= 0 && args.p <= 1)) nnb_error(L, "dropout", "p must be in [0, 1], got %g", args.p);
  const char *mode = luaL_optstring(L, 4, "inverted");
  args.mode = strcmp(mode, "classic") == 0 ? NN_DROPOUT_CLASSIC : NN_DROPOUT_INVERTED;
  if (args.mode == NN_DROPOUT_INVERTED && strcmp(mode, "inverted") != 0)
    nnb_error(L, "dropout", "mode must be 'inverted' or 'classic', got '%s'", mode);
  lua_settop(L, 1);
  if (nn_dropout_is_identity(&args)) return 1; /* x itself */
  nn_tensor *y = nnb_new_tensor(L, "dropout", NN_FLOAT32, x->ndim, x->shape);
  nnb_check_status(L, "dropout", nn_dropout(y, x, &args, nnb_rng()));
  return 1;
}

static const luaL_Reg functions[] = {
    {"dropout", l_dropout},
    {NULL, NULL},
};

void nnb_open_dropout(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
