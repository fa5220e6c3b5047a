/*
 * Convolution from Lua, as PyTorch's functional form:
 *
 *   nn.conv2d(x, weight [, bias] [, {stride=1, padding=0, dilation=1}])
 *
 * x is [N, C, H, W] float32, weight [O, C, KH, KW], bias [O]. Sizes are a
 * number or a pair {h, w}; padding may also be 'valid' (0) or 'same'
 * (output size = input size, stride 1 only; runtime/conv.c places it).
 * Every value is checked before anything is allocated; nn_conv2d runs it.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_conv.h"

/* Shapes: x 4-D, weight 4-D with x's channels, bias [O]; all float32. */
static void check_operands(lua_State *L, const nn_tensor *x, const nn_tensor *w,
                           const nn_tensor *b, const char *fname) {
  char s[128];
  if (x->ndim != 4)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (w->ndim != 4)
    nnb_error(L, fname, "expected a 4-D weight [O,C,kh,kw], got %s",
              nnb_shape_str(s, sizeof s, w->ndim, w->shape));
  nnb_check_float32(L, x, "input", fname);
  nnb_check_float32(L, w, "weight", fname);
  if (x->shape[1] != w->shape[1])
    nnb_error(L, fname, "input has %" PRId64 " channels, weight expects %" PRId64 " (input %s)",
              x->shape[1], w->shape[1], nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (w->shape[2] == 0 || w->shape[3] == 0)
    nnb_error(L, fname, "the kernel %" PRId64 "x%" PRId64 " is empty", w->shape[2], w->shape[3]);
  if (b) {
    nnb_check_float32(L, b, "bias", fname);
    if (b->ndim != 1 || b->shape[0] != w->shape[0])
      nnb_error(L, fname, "bias must have shape [%" PRId64 "], got %s", w->shape[0],
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

static const char *const conv_options[] = {"stride", "padding", "dilation", NULL};

/* nn.conv2d(x, weight [, bias] [, opts]); opts may stand in bias's place. */
static int l_conv2d(lua_State *L) {
  const char *fname = "conv2d";
  nn_tensor *x = nnb_check_tensor(L, 1, fname), *w = nnb_check_tensor(L, 2, fname);
  bool opts_third = lua_istable(L, 3) && !nnb_to_tensor(L, 3) && lua_isnoneornil(L, 4);
  nn_tensor *b = NULL;
  if (!opts_third && !lua_isnoneornil(L, 3)) b = nnb_check_tensor(L, 3, fname);
  lua_settop(L, 4);
  if (opts_third) lua_rotate(L, 3, 1); /* opts to 4, nil to 3 */
  int opts = nnb_check_options(L, 4, conv_options, fname);
  check_operands(L, x, w, b, fname);
  nnb_pair stride = nnb_opt_pair(L, opts, "stride", 1, (nnb_pair){1, 1}, fname);
  nnb_pair dilation = nnb_opt_pair(L, opts, "dilation", 1, (nnb_pair){1, 1}, fname);
  nn_conv2d_args a = {.sh = stride.h, .sw = stride.w, .dh = dilation.h, .dw = dilation.w};
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

static const luaL_Reg functions[] = {
    {"conv2d", l_conv2d},
    {NULL, NULL},
};

void nnb_open_conv(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
