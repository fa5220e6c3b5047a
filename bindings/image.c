/*
 * Images behind stdlib/nn/image.lua (runtime/image.c):
 * nn.core._image_load(path) and nn.core._image_save(t, path) read and write PNGs,
 * nn.core._image_resize(t, h, w) resizes one image.
 *
 * Nothing is held across a raise: every runtime call opens, works and
 * closes (or frees) before returning, and output tensors are pushed before
 * the runtime fills them.
 */
#include <inttypes.h>

#include "nn_bind.h"
#include "nn_image.h"

static const char *check_path(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) != LUA_TSTRING)
    nnb_error(L, fname, "path (argument %d) must be a string, got %s", idx, luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

/* nn.core._image_load(path) -> float32 [C,H,W] in [0,1]. */
static int l_image_load(lua_State *L) {
  const char *fname = "image.load";
  const char *path = check_path(L, 1, fname);
  char err[NN_IO_ERRLEN];
  int c;
  int64_t h, w;
  if (nn_png_info(path, &c, &h, &w, err)) nnb_error(L, fname, "%s", err);
  int64_t shape[3] = {c, h, w};
  nn_tensor *t = nnb_new_tensor(L, fname, NN_FLOAT32, 3, shape);
  if (nn_png_read(path, c, h, w, nn_tensor_data(t), err)) nnb_error(L, fname, "%s", err);
  return 1;
}

/* nn.core._image_save(t, path): t [C,H,W] (C 1..4) or [H,W], floats in [0,1]. */
static int l_image_save(lua_State *L) {
  const char *fname = "image.save";
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  const char *path = check_path(L, 2, fname);
  char sh[64];
  if (t->ndim != 2 && t->ndim != 3)
    nnb_error(L, fname, "image must be [C,H,W] or [H,W], got %s",
              nnb_shape_str(sh, sizeof sh, t->ndim, t->shape));
  int64_t c = t->ndim == 3 ? t->shape[0] : 1;
  int64_t h = t->shape[t->ndim - 2], w = t->shape[t->ndim - 1];
  if (c < 1 || c > 4)
    nnb_error(L, fname, "image must have 1 to 4 channels (dim 1), got %s",
              nnb_shape_str(sh, sizeof sh, t->ndim, t->shape));
  if (h < 1 || w < 1)
    nnb_error(L, fname, "image must not be empty, got %s",
              nnb_shape_str(sh, sizeof sh, t->ndim, t->shape));
  lua_settop(L, 2);
  nn_tensor *f = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  char err[NN_IO_ERRLEN];
  if (nn_png_write(path, (int)c, h, w, nn_tensor_data(f), err)) nnb_error(L, fname, "%s", err);
  return 0;
}

/* nn.core._image_resize(t, h, w, fname) -> float32 [C,h,w]: t [C,H,W] resized
 * bilinearly (align_corners=False). */
static int l_image_resize(lua_State *L) {
  const char *fname = luaL_optstring(L, 4, "image.resize");
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  int64_t oh = nnb_check_int(L, 2, fname, "height");
  int64_t ow = nnb_check_int(L, 3, fname, "width");
  char sh[64];
  if (t->ndim != 3 || t->shape[1] < 1 || t->shape[2] < 1)
    nnb_error(L, fname, "image must be a non-empty [C,H,W], got %s",
              nnb_shape_str(sh, sizeof sh, t->ndim, t->shape));
  if (oh < 1 || ow < 1)
    nnb_error(L, fname, "size must be positive, got %" PRId64 "x%" PRId64, oh, ow);
  lua_settop(L, 4);
  nn_tensor *x = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  int64_t shape[3] = {x->shape[0], oh, ow};
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 3, shape);
  nnb_check_status(L, fname, nn_resize(out, x));
  return 1;
}

void nnb_open_image(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg funcs[] = {{"_image_load", l_image_load},
                                   {"_image_save", l_image_save},
                                   {"_image_resize", l_image_resize},
                                   {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
}
