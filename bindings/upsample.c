/*
 * Resampling from Lua, as PyTorch's functional form:
 *
 *   nn.interpolate(x, {size= | scale_factor=, mode='nearest',
 *                      align_corners=false})
 *
 * x is [N, C, H, W] float32; size is a size or a pair {h, w}, scale_factor
 * a positive number or a pair (output size floor(H * scale)); exactly one
 * of the two. mode is 'nearest' or 'bilinear'; align_corners is for
 * 'bilinear' only. Every value is checked before anything is allocated;
 * nn_upsample2d (runtime/upsample.c) runs it.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_upsample.h"

/* opts.scale_factor: a positive number or a pair of them, into sh, sw. */
static void check_scale(lua_State *L, int idx, double *sh, double *sw, const char *fname) {
  double v[2];
  if (lua_type(L, idx) == LUA_TNUMBER) {
    v[0] = v[1] = lua_tonumber(L, idx);
  } else if (lua_istable(L, idx) && lua_rawlen(L, idx) == 2) {
    for (int k = 0; k < 2; k++) {
      if (lua_rawgeti(L, idx, k + 1) != LUA_TNUMBER)
        nnb_error(L, fname, "scale_factor must be a number or a pair of numbers");
      v[k] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  } else {
    nnb_error(L, fname, "scale_factor must be a number or a pair of numbers, got %s",
              luaL_typename(L, idx));
  }
  for (int k = 0; k < 2; k++)
    if (!(v[k] > 0) || !isfinite(v[k]))
      nnb_error(L, fname, "scale_factor must be positive, got %g", v[k]);
  *sh = v[0];
  *sw = v[1];
}

static const char *const interpolate_options[] = {"size", "scale_factor", "mode",
                                                  "align_corners", NULL};

static int l_interpolate(lua_State *L) {
  const char *fname = "interpolate";
  char s[128];
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  if (x->ndim != 4)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  nnb_check_float32(L, x, "input", fname);
  if (x->shape[2] < 1 || x->shape[3] < 1)
    nnb_error(L, fname, "input %s has no cells to resample",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  lua_settop(L, 2);
  int opts = nnb_check_options(L, 2, interpolate_options, fname);
  nn_upsample2d_args a = {.mode = NN_UPSAMPLE_NEAREST};
  if (opts && lua_getfield(L, opts, "mode") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING)
      nnb_error(L, fname, "mode must be 'nearest' or 'bilinear', got a %s", luaL_typename(L, -1));
    const char *m = lua_tostring(L, -1);
    if (strcmp(m, "nearest") && strcmp(m, "bilinear"))
      nnb_error(L, fname, "mode must be 'nearest' or 'bilinear', got '%s'", m);
    if (!strcmp(m, "bilinear")) a.mode = NN_UPSAMPLE_BILINEAR;
  }
  if (opts) lua_pop(L, 1);
  if (opts && lua_getfield(L, opts, "align_corners") != LUA_TNIL) {
    if (a.mode != NN_UPSAMPLE_BILINEAR)
      nnb_error(L, fname, "align_corners is only for mode 'bilinear'");
    a.align_corners = nnb_opt_bool(L, opts, "align_corners", false, fname);
  }
  if (opts) lua_pop(L, 1);
  bool has_size = opts && lua_getfield(L, opts, "size") != LUA_TNIL;
  if (opts) lua_pop(L, 1);
  bool has_scale = opts && lua_getfield(L, opts, "scale_factor") != LUA_TNIL;
  if (has_size == has_scale)
    nnb_error(L, fname, "give exactly one of size and scale_factor");
  int64_t oh, ow;
  if (has_scale) {
    check_scale(L, -1, &a.scale_h, &a.scale_w, fname);
    double fh = floor((double)x->shape[2] * a.scale_h), fw = floor((double)x->shape[3] * a.scale_w);
    if (fh < 1 || fw < 1 || fh > (double)(1 << 30) || fw > (double)(1 << 30))
      nnb_error(L, fname, "scale_factor {%g,%g} makes an output of %.0fx%.0f from %" PRId64
                "x%" PRId64, a.scale_h, a.scale_w, fh, fw, x->shape[2], x->shape[3]);
    oh = (int64_t)fh, ow = (int64_t)fw;
  } else {
    nnb_pair size = nnb_opt_pair(L, opts, "size", 1, (nnb_pair){1, 1}, fname);
    oh = size.h, ow = size.w;
  }
  lua_settop(L, 2);
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 4,
                                  (int64_t[]){x->shape[0], x->shape[1], oh, ow});
  nnb_check_status(L, fname, nn_upsample2d(out, x, &a));
  return 1;
}

static const luaL_Reg functions[] = {
    {"interpolate", l_interpolate},
    {NULL, NULL},
};

void nnb_open_upsample(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
