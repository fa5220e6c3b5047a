/*
 * Pooling from Lua, as PyTorch's functional forms:
 *
 *   nn.max_pool2d(x, kernel [, {stride=kernel, padding=0, dilation=1,
 *                               ceil_mode=false}])
 *   nn.avg_pool2d(x, kernel [, {stride=kernel, padding=0, ceil_mode=false,
 *                               count_include_pad=true, divisor_override}])
 *   nn.adaptive_avg_pool2d(x, output_size)
 *
 * x is [N, C, H, W] or [C, H, W] float32. Sizes are a number or a pair
 * {h, w}. Every value is checked before anything is allocated;
 * nn_max_pool2d and nn_avg_pool2d (runtime/pool.c) run them.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_pool.h"

/* Reads x, the kernel and the options shared by both pools into a, and
 * the geometry into g, raising when no window fits; returns the options
 * table's index. */
static int pool_args(lua_State *L, nn_pool2d_args *a, nn_pool2d_geom *g, const char *const *known,
                     const char *fname) {
  char s[128];
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  if (x->ndim != 4 && x->ndim != 3)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W] or 3-D [C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  nnb_check_float32(L, x, "input", fname);
  if (lua_isnoneornil(L, 2)) nnb_error(L, fname, "kernel size (argument 2) is missing");
  nnb_pair k = nnb_check_pair(L, 2, 1, "kernel", fname);
  int opts = nnb_check_options(L, 3, known, fname);
  nnb_pair stride = nnb_opt_pair(L, opts, "stride", 1, k, fname);
  nnb_pair pad = nnb_opt_pair(L, opts, "padding", 0, (nnb_pair){0, 0}, fname);
  nnb_pair dilation = nnb_opt_pair(L, opts, "dilation", 1, (nnb_pair){1, 1}, fname);
  *a = (nn_pool2d_args){.kh = k.h, .kw = k.w, .sh = stride.h, .sw = stride.w, .ph = pad.h,
                        .pw = pad.w, .dh = dilation.h, .dw = dilation.w, .count_include_pad = true};
  a->ceil_mode = nnb_opt_bool(L, opts, "ceil_mode", false, fname);
  /* Padding over half the window is refused, as PyTorch. */
  if (pad.h > k.h / 2 || pad.w > k.w / 2)
    nnb_error(L, fname, "padding {%" PRId64 ",%" PRId64 "} must be at most half the kernel {%" PRId64
              ",%" PRId64 "}", pad.h, pad.w, k.h, k.w);
  *g = nn_pool2d_geometry(x, a);
  if (g->oh < 1 || g->ow < 1)
    nnb_error(L, fname, "input %s is too small for the kernel {%" PRId64 ",%" PRId64
              "}: output size %" PRId64 "x%" PRId64, nnb_shape_str(s, sizeof s, x->ndim, x->shape),
              k.h, k.w, g->oh, g->ow);
  return opts;
}

/* Pushes the output: x's shape with the last two dims pooled. */
static nn_tensor *new_output(lua_State *L, const nn_tensor *x, const nn_pool2d_geom *g,
                             const char *fname) {
  int64_t shape[4];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  shape[x->ndim - 2] = g->oh;
  shape[x->ndim - 1] = g->ow;
  return nnb_new_tensor(L, fname, NN_FLOAT32, x->ndim, shape);
}

static const char *const max_pool_options[] = {"stride", "padding", "dilation", "ceil_mode", NULL};

static int l_max_pool2d(lua_State *L) {
  nn_pool2d_args a;
  nn_pool2d_geom g;
  pool_args(L, &a, &g, max_pool_options, "max_pool2d");
  lua_settop(L, 3);
  nn_tensor *x = nnb_to_tensor(L, 1), *out = new_output(L, x, &g, "max_pool2d");
  nnb_check_status(L, "max_pool2d", nn_max_pool2d(out, x, &a));
  return 1;
}

static const char *const avg_pool_options[] = {"stride", "padding", "ceil_mode",
                                               "count_include_pad", "divisor_override", NULL};

static int l_avg_pool2d(lua_State *L) {
  const char *fname = "avg_pool2d";
  nn_pool2d_args a;
  nn_pool2d_geom g;
  int opts = pool_args(L, &a, &g, avg_pool_options, fname);
  a.count_include_pad = nnb_opt_bool(L, opts, "count_include_pad", true, fname);
  if (opts && lua_getfield(L, opts, "divisor_override") != LUA_TNIL)
    a.divisor = nnb_check_size(L, -1, 1, "divisor_override", fname);
  lua_settop(L, 3);
  nn_tensor *x = nnb_to_tensor(L, 1), *out = new_output(L, x, &g, fname);
  nnb_check_status(L, fname, nn_avg_pool2d(out, x, &a));
  return 1;
}

/* nn.adaptive_avg_pool2d(x, output_size): output_size a size or a pair. */
static int l_adaptive_avg_pool2d(lua_State *L) {
  const char *fname = "adaptive_avg_pool2d";
  char s[128];
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  if (x->ndim != 4 && x->ndim != 3)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W] or 3-D [C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  nnb_check_float32(L, x, "input", fname);
  if (x->shape[x->ndim - 2] < 1 || x->shape[x->ndim - 1] < 1)
    nnb_error(L, fname, "input %s has no cells to pool",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (lua_isnoneornil(L, 2)) nnb_error(L, fname, "output_size (argument 2) is missing");
  nnb_pair size = nnb_check_pair(L, 2, 1, "output_size", fname);
  lua_settop(L, 2);
  int64_t shape[4];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  shape[x->ndim - 2] = size.h;
  shape[x->ndim - 1] = size.w;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, x->ndim, shape);
  nnb_check_status(L, fname, nn_adaptive_avg_pool2d(out, x));
  return 1;
}

static const luaL_Reg functions[] = {
    {"max_pool2d", l_max_pool2d},
    {"adaptive_avg_pool2d", l_adaptive_avg_pool2d},
    {"avg_pool2d", l_avg_pool2d},
    {NULL, NULL},
};

void nnb_open_pool(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
