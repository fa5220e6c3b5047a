/*
 * Convolution from Lua, as PyTorch's functional form:
 *
 *   nn.conv2d(x, weight [, bias] [, {stride=1, padding=0, dilation=1, groups=1}])
 *   nn.conv_transpose2d(x, weight [, bias] [, {stride=1, padding=0,
 *                       output_padding=0, dilation=1, groups=1}])
 *
 * x is [N, C, H, W] float32; conv2d's weight is [O, C/groups, KH, KW],
 * conv_transpose2d's [C, O/groups, KH, KW] (as PyTorch); bias [O]. Sizes are a
 * number or a pair {h, w}; padding may also be 'valid' (0) or 'same'
 * (output size = input size, stride 1 only; runtime/conv.c places it).
 * Every value is checked before anything is allocated; nn_conv2d runs it.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_conv.h"

/* Shapes: x 4-D, weight 4-D with x's channels (over groups), bias [O];
 * all float32. For conv2d the weight is [O, C/groups, ...] and O must
 * split into the groups; transposed, [C, O/groups, ...] and C must. */
static void check_operands(lua_State *L, const nn_tensor *x, const nn_tensor *w,
                           const nn_tensor *b, int64_t groups, bool transposed,
                           const char *fname) {
  char s[128];
  if (x->ndim != 4)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (w->ndim != 4)
    nnb_error(L, fname, "expected a 4-D weight [O,C,kh,kw], got %s",
              nnb_shape_str(s, sizeof s, w->ndim, w->shape));
  nnb_check_float32(L, x, "input", fname);
  nnb_check_float32(L, w, "weight", fname);
  if (x->shape[1] % groups)
    nnb_error(L, fname, "groups %" PRId64 " does not divide the input's %" PRId64 " channels",
              groups, x->shape[1]);
  int64_t in_ch = transposed ? w->shape[0] : w->shape[1] * groups;
  if (x->shape[1] != in_ch)
    nnb_error(L, fname, "input has %" PRId64 " channels, weight expects %" PRId64 " (input %s)",
              x->shape[1], in_ch, nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (!transposed && w->shape[0] % groups)
    nnb_error(L, fname, "groups %" PRId64 " does not divide the weight's %" PRId64
              " output channels", groups, w->shape[0]);
  int64_t out_ch = transposed ? w->shape[1] * groups : w->shape[0];
  if (w->shape[2] == 0 || w->shape[3] == 0)
    nnb_error(L, fname, "the kernel %" PRId64 "x%" PRId64 " is empty", w->shape[2], w->shape[3]);
  if (b) {
    nnb_check_float32(L, b, "bias", fname);
    if (b->ndim != 1 || b->shape[0] != out_ch)
      nnb_error(L, fname, "bias must have shape [%" PRId64 "], got %s", out_ch,
                nnb_shape_str(s, sizeof s, b->ndim, b->shape));
  }
}

/* opts.padding: a size, a pair, 'valid' (none) or 'same'. */
static void check_padding(lua_State *L, int opts, nn_conv2d_args *a, const nn_tensor *w,
                          const char *fname) {
  if (!opts) return;
  if (lua_getfield(L, opts, "padding") == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "same")) {
      if (a->sh != 1 || a->sw != 1)
        nnb_error(L, fname, "padding='same' needs stride 1, got stride {%" PRId64 ",%" PRId64 "}",
                  a->sh, a->sw);
      nn_conv2d_pad_same(a, w->shape[2], w->shape[3]);
    } else if (strcmp(s, "valid")) {
      nnb_error(L, fname, "padding must be a number, a pair {h, w}, 'same' or 'valid', got '%s'", s);
    }
  } else if (!lua_isnil(L, -1)) {
    nnb_pair p = nnb_check_pair(L, -1, 0, "padding", fname);
    a->ph = p.h, a->pw = p.w, a->total_ph = 2 * p.h, a->total_pw = 2 * p.w;
  }
  lua_pop(L, 1);
}

static const char *const conv_options[] = {"stride", "padding", "dilation", "groups", NULL};

/* Reads x, weight, bias (nil: none) and the options table: opts may stand
 * in bias's place. Leaves them at 1..4; returns the options' index. */
static int conv_operands(lua_State *L, nn_tensor **x, nn_tensor **w, nn_tensor **b,
                         const char *const *known, const char *fname) {
  *x = nnb_check_tensor(L, 1, fname);
  *w = nnb_check_tensor(L, 2, fname);
  bool opts_third = lua_istable(L, 3) && !nnb_to_tensor(L, 3) && lua_isnoneornil(L, 4);
  *b = NULL;
  if (!opts_third && !lua_isnoneornil(L, 3)) *b = nnb_check_tensor(L, 3, fname);
  lua_settop(L, 4);
  if (opts_third) lua_rotate(L, 3, 1); /* opts to 4, nil to 3 */
  return nnb_check_options(L, 4, known, fname);
}

static int64_t opt_groups(lua_State *L, int opts, const char *fname) {
  if (!opts || lua_getfield(L, opts, "groups") == LUA_TNIL) {
    if (opts) lua_pop(L, 1);
    return 1;
  }
  int64_t groups = nnb_check_size(L, -1, 1, "groups", fname);
  lua_pop(L, 1);
  return groups;
}

/* nn.conv2d(x, weight [, bias] [, opts]). */
static int l_conv2d(lua_State *L) {
  const char *fname = "conv2d";
  nn_tensor *x, *w, *b;
  int opts = conv_operands(L, &x, &w, &b, conv_options, fname);
  int64_t groups = opt_groups(L, opts, fname);
  check_operands(L, x, w, b, groups, false, fname);
  nnb_pair stride = nnb_opt_pair(L, opts, "stride", 1, (nnb_pair){1, 1}, fname);
  nnb_pair dilation = nnb_opt_pair(L, opts, "dilation", 1, (nnb_pair){1, 1}, fname);
  nn_conv2d_args a = {.sh = stride.h, .sw = stride.w, .dh = dilation.h, .dw = dilation.w,
                      .groups = groups};
  check_padding(L, opts, &a, w, fname);
  nn_conv2d_geom g = nn_conv2d_geometry(x, w, &a);
  if (g.oh < 1 || g.ow < 1)
    nnb_error(L, fname, "kernel %" PRId64 "x%" PRId64 " (%" PRId64 "x%" PRId64 " dilated) is larger "
              "than the padded input %" PRId64 "x%" PRId64, g.kh, g.kw, g.dh * (g.kh - 1) + 1,
              g.dw * (g.kw - 1) + 1, g.h + a.total_ph, g.w + a.total_pw);
  if (g.o > INT32_MAX || g.c * g.kh * g.kw > INT32_MAX || g.oh * g.ow > INT32_MAX)
    nnb_error(L, fname, "sizes too large for a GEMM (more than 2^31 in one dim)");
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 4, (int64_t[]){g.n, g.o, g.oh, g.ow});
  nnb_check_status(L, fname, nn_conv2d(out, x, w, b, &a));
  return 1;
}

static const char *const transpose_options[] = {"stride", "padding", "output_padding",
                                                "dilation", "groups", NULL};

/* nn.conv_transpose2d(x, weight [, bias] [, opts]). */
static int l_conv_transpose2d(lua_State *L) {
  const char *fname = "conv_transpose2d";
  nn_tensor *x, *w, *b;
  int opts = conv_operands(L, &x, &w, &b, transpose_options, fname);
  int64_t groups = opt_groups(L, opts, fname);
  check_operands(L, x, w, b, groups, true, fname);
  nnb_pair stride = nnb_opt_pair(L, opts, "stride", 1, (nnb_pair){1, 1}, fname);
  nnb_pair pad = nnb_opt_pair(L, opts, "padding", 0, (nnb_pair){0, 0}, fname);
  nnb_pair out_pad = nnb_opt_pair(L, opts, "output_padding", 0, (nnb_pair){0, 0}, fname);
  nnb_pair dilation = nnb_opt_pair(L, opts, "dilation", 1, (nnb_pair){1, 1}, fname);
  /* As PyTorch: smaller than either, else a row of the result has no source. */
  if ((out_pad.h >= stride.h && out_pad.h >= dilation.h) ||
      (out_pad.w >= stride.w && out_pad.w >= dilation.w))
    nnb_error(L, fname, "output_padding {%" PRId64 ",%" PRId64 "} must be smaller than either "
              "stride {%" PRId64 ",%" PRId64 "} or dilation {%" PRId64 ",%" PRId64 "}",
              out_pad.h, out_pad.w, stride.h, stride.w, dilation.h, dilation.w);
  nn_conv_transpose2d_args a = {.sh = stride.h, .sw = stride.w, .ph = pad.h, .pw = pad.w,
                                .oph = out_pad.h, .opw = out_pad.w, .dh = dilation.h,
                                .dw = dilation.w, .groups = groups};
  nn_conv2d_geom g = nn_conv_transpose2d_geometry(x, w, &a);
  if (g.h < 1 || g.w < 1)
    nnb_error(L, fname, "output size %" PRId64 "x%" PRId64 " is too small (input %" PRId64
              "x%" PRId64 ", padding {%" PRId64 ",%" PRId64 "})",
              g.h, g.w, g.oh, g.ow, pad.h, pad.w);
  if (g.o > INT32_MAX || g.c * g.kh * g.kw > INT32_MAX || g.h * g.w > INT32_MAX)
    nnb_error(L, fname, "sizes too large for a GEMM (more than 2^31 in one dim)");
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 4, (int64_t[]){g.n, g.c, g.h, g.w});
  nnb_check_status(L, fname, nn_conv_transpose2d(out, x, w, b, &a));
  return 1;
}

static const luaL_Reg functions[] = {
    {"conv2d", l_conv2d},
    {"conv_transpose2d", l_conv_transpose2d},
    {NULL, NULL},
};

void nnb_open_conv(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
