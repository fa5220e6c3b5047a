/*
 * Convolution and pooling from Lua, as PyTorch's functional forms:
 *
 *   nn.conv2d(x, weight [, bias] [, {stride=1, padding=0, dilation=1}])
 *   nn.max_pool2d(x, kernel [, {stride=kernel, padding=0, dilation=1,
 *                               ceil_mode=false}])
 *   nn.avg_pool2d(x, kernel [, {stride=kernel, padding=0, ceil_mode=false,
 *                               count_include_pad=true, divisor_override}])
 *
 * x is [N, C, H, W] float32 ([C, H, W] also for the pools); weight
 * [O, C, KH, KW], bias [O]. Sizes are a number or a pair {h, w}; conv2d's
 * padding may also be 'valid' (0) or 'same' (output size = input size,
 * stride 1 only; an odd total padding puts the extra row and column at
 * the bottom and right, as PyTorch). Every value is checked before
 * anything is allocated; the kernels live in runtime/conv.c and pool.c.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_conv.h"

/* Option values beyond this are refused (they would overflow sizes). */
#define MAX_OPTION ((int64_t)1 << 30)

typedef struct pair {
  int64_t h, w;
} pair;

/* The options table at idx (0 when absent), with every key in `known`. */
static int check_options(lua_State *L, int idx, const char *const *known, const char *fname) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (!lua_istable(L, idx) || nnb_to_tensor(L, idx))
    nnb_error(L, fname, "options must be a table, got %s", luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int i = 0;
    while (key && known[i] && strcmp(known[i], key)) i++;
    if (!key || !known[i])
      nnb_error(L, fname, "unknown option '%s'", key ? key : luaL_typename(L, -1));
  }
  return idx;
}

/* One integer of a size option, in lo..MAX_OPTION. */
static int64_t check_size_value(lua_State *L, int idx, int64_t lo, const char *what,
                                const char *fname) {
  int64_t v = nnb_check_int(L, idx, fname, what);
  if (v < lo || v > MAX_OPTION)
    nnb_error(L, fname, "%s must be %s, got %" PRId64, what, lo ? ">= 1" : ">= 0", v);
  return v;
}

/* A number n (meaning {n, n}) or a pair {h, w} at idx, each >= lo. */
static pair check_pair(lua_State *L, int idx, int64_t lo, const char *what, const char *fname) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    int64_t v = check_size_value(L, idx, lo, what, fname);
    return (pair){v, v};
  }
  if (!lua_istable(L, idx) || nnb_to_tensor(L, idx) || luaL_len(L, idx) != 2)
    nnb_error(L, fname, "%s must be a number or a pair {h, w}, got %s", what,
              lua_istable(L, idx) ? "a table that is not a pair" : luaL_typename(L, idx));
  pair p;
  idx = lua_absindex(L, idx);
  lua_geti(L, idx, 1);
  p.h = check_size_value(L, -1, lo, what, fname);
  lua_geti(L, idx, 2);
  p.w = check_size_value(L, -1, lo, what, fname);
  lua_pop(L, 2);
  return p;
}

/* opts[key] as check_pair, or dflt when absent. */
static pair opt_pair(lua_State *L, int opts, const char *key, int64_t lo, pair dflt,
                     const char *fname) {
  if (!opts || lua_getfield(L, opts, key) == LUA_TNIL) {
    if (opts) lua_pop(L, 1);
    return dflt;
  }
  pair p = check_pair(L, -1, lo, key, fname);
  lua_pop(L, 1);
  return p;
}

static bool opt_bool(lua_State *L, int opts, const char *key, bool dflt, const char *fname) {
  if (!opts) return dflt;
  int type = lua_getfield(L, opts, key);
  bool v = type == LUA_TNIL ? dflt : lua_toboolean(L, -1);
  if (type != LUA_TNIL && type != LUA_TBOOLEAN)
    nnb_error(L, fname, "%s must be a boolean, got %s", key, luaL_typename(L, -1));
  lua_pop(L, 1);
  return v;
}

static void check_float32(lua_State *L, const nn_tensor *t, const char *what, const char *fname) {
  if (t->dtype != NN_FLOAT32)
    nnb_error(L, fname, "%s must be float32, got %s", what, nn_dtype_name(t->dtype));
}

/* ---- conv2d ---- */

/* Padding of one dim: before is the top/left border, total both sides. */
typedef struct padding {
  int64_t before_h, before_w, total_h, total_w;
} padding;

/* opts.padding: a size, a pair, 'valid' (none) or 'same' (kernel-sized
 * total, the odd cell after, as PyTorch). */
static padding conv_padding(lua_State *L, int opts, pair k, pair stride, pair dilation,
                            const char *fname) {
  padding pd = {0, 0, 0, 0};
  if (!opts) return pd;
  if (lua_getfield(L, opts, "padding") == LUA_TSTRING) {
    const char *s = lua_tostring(L, -1);
    if (!strcmp(s, "same")) {
      if (stride.h != 1 || stride.w != 1)
        nnb_error(L, fname, "padding='same' needs stride 1, got stride {%" PRId64 ",%" PRId64 "}",
                  stride.h, stride.w);
      pd.total_h = dilation.h * (k.h - 1);
      pd.total_w = dilation.w * (k.w - 1);
      pd.before_h = pd.total_h / 2;
      pd.before_w = pd.total_w / 2;
    } else if (strcmp(s, "valid")) {
      nnb_error(L, fname, "padding must be a number, a pair {h, w}, 'same' or 'valid', got '%s'", s);
    }
  } else if (!lua_isnil(L, -1)) {
    pair p = check_pair(L, -1, 0, "padding", fname);
    pd = (padding){p.h, p.w, 2 * p.h, 2 * p.w};
  }
  lua_pop(L, 1);
  return pd;
}

/* Shapes: x 4-D, weight 4-D with x's channels, bias [O]; all float32. */
static void check_conv_operands(lua_State *L, const nn_tensor *x, const nn_tensor *w,
                                const nn_tensor *b, const char *fname) {
  char s[128];
  if (x->ndim != 4)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (w->ndim != 4)
    nnb_error(L, fname, "expected a 4-D weight [O,C,kh,kw], got %s",
              nnb_shape_str(s, sizeof s, w->ndim, w->shape));
  check_float32(L, x, "input", fname);
  check_float32(L, w, "weight", fname);
  if (x->shape[1] != w->shape[1])
    nnb_error(L, fname, "input has %" PRId64 " channels, weight expects %" PRId64 " (input %s)",
              x->shape[1], w->shape[1], nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  if (w->shape[2] == 0 || w->shape[3] == 0)
    nnb_error(L, fname, "the kernel %" PRId64 "x%" PRId64 " is empty", w->shape[2], w->shape[3]);
  if (b) {
    check_float32(L, b, "bias", fname);
    if (b->ndim != 1 || b->shape[0] != w->shape[0])
      nnb_error(L, fname, "bias must have shape [%" PRId64 "], got %s", w->shape[0],
                nnb_shape_str(s, sizeof s, b->ndim, b->shape));
  }
}

/* The output size, raising when the dilated kernel does not fit the
 * padded input. */
static void conv_out_size(lua_State *L, nn_conv2d_geom *g, const padding *pd, const char *fname) {
  g->oh = nn_conv_out_size(g->h, g->kh, g->sh, pd->total_h, g->dh);
  g->ow = nn_conv_out_size(g->w, g->kw, g->sw, pd->total_w, g->dw);
  if (g->oh < 1 || g->ow < 1)
    nnb_error(L, fname, "kernel %" PRId64 "x%" PRId64 " (%" PRId64 "x%" PRId64 " dilated) is larger "
              "than the padded input %" PRId64 "x%" PRId64, g->kh, g->kw, g->dh * (g->kh - 1) + 1,
              g->dw * (g->kw - 1) + 1, g->h + pd->total_h, g->w + pd->total_w);
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
  int opts = check_options(L, 4, conv_options, fname);
  check_conv_operands(L, x, w, b, fname);
  pair stride = opt_pair(L, opts, "stride", 1, (pair){1, 1}, fname);
  pair dilation = opt_pair(L, opts, "dilation", 1, (pair){1, 1}, fname);
  pair k = {w->shape[2], w->shape[3]};
  padding pd = conv_padding(L, opts, k, stride, dilation, fname);
  nn_conv2d_geom g = {
      .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
      .o = w->shape[0], .kh = k.h, .kw = k.w,
      .sh = stride.h, .sw = stride.w, .ph = pd.before_h, .pw = pd.before_w,
      .dh = dilation.h, .dw = dilation.w,
  };
  conv_out_size(L, &g, &pd, fname);
  if (g.o > INT32_MAX || g.c * g.kh * g.kw > INT32_MAX || g.oh * g.ow > INT32_MAX)
    nnb_error(L, fname, "sizes too large for a GEMM (more than 2^31 in one dim)");
  /* Contiguous operands (x itself when already so), pushed at 5, 6, 7. */
  nn_tensor *xc = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  nn_tensor *wc = nnb_push_as(L, fname, 2, NN_FLOAT32, true);
  nn_tensor *bc = b ? nnb_push_as(L, fname, 3, NN_FLOAT32, true) : NULL;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 4, (int64_t[]){g.n, g.o, g.oh, g.ow});
  int out_idx = lua_gettop(L);
  nn_tensor *scratch = NULL;
  int64_t floats = (int64_t)nn_conv2d_scratch_floats(&g);
  if (floats > 0 && !(scratch = nn_tensor_empty(NN_FLOAT32, 1, &floats)))
    nnb_error(L, fname, "out of memory for %.3g MB of scratch", (double)floats * 4 / 1e6);
  nn_kernel_conv2d_forward(nn_tensor_data(out), nn_tensor_data(xc), nn_tensor_data(wc),
                    bc ? nn_tensor_data(bc) : NULL, &g, scratch ? nn_tensor_data(scratch) : NULL);
  nn_tensor_release(scratch);
  nn_node *node = nnb_record(L, fname, NN_OP_CONV2D, out, 3, (nn_tensor *[]){x, w, b});
  if (node) {
    nn_node_save(node, xc);
    nn_node_save(node, wc);
    int64_t params[] = {g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
    memcpy(node->params, params, sizeof params);
  }
  lua_pushvalue(L, out_idx);
  return 1;
}

/* ---- pooling ---- */

/* Input x [N, C, H, W] or [C, H, W] float32. */
static void check_pool_input(lua_State *L, const nn_tensor *x, const char *fname) {
  char s[128];
  if (x->ndim != 4 && x->ndim != 3)
    nnb_error(L, fname, "expected a 4-D input [N,C,H,W] or 3-D [C,H,W], got %s",
              nnb_shape_str(s, sizeof s, x->ndim, x->shape));
  check_float32(L, x, "input", fname);
}

/* Output dims, refusing padding over half the window (as PyTorch) and
 * windows that fit nowhere. */
static void pool_out_size(lua_State *L, const nn_tensor *x, nn_pool2d_geom *g, bool ceil_mode,
                          const char *fname) {
  if (g->ph > g->kh / 2 || g->pw > g->kw / 2)
    nnb_error(L, fname, "padding {%" PRId64 ",%" PRId64 "} must be at most half the kernel {%" PRId64
              ",%" PRId64 "}", g->ph, g->pw, g->kh, g->kw);
  g->oh = nn_pool_out_size(g->h, g->kh, g->sh, g->ph, g->dh, ceil_mode);
  g->ow = nn_pool_out_size(g->w, g->kw, g->sw, g->pw, g->dw, ceil_mode);
  if (g->oh < 1 || g->ow < 1) {
    char s[128];
    nnb_error(L, fname, "input %s is too small for the kernel {%" PRId64 ",%" PRId64
              "}: output size %" PRId64 "x%" PRId64, nnb_shape_str(s, sizeof s, x->ndim, x->shape),
              g->kh, g->kw, g->oh, g->ow);
  }
}

/* Reads x, the kernel and the options shared by both pools into g;
 * returns the options table's index. */
static int pool_args(lua_State *L, nn_pool2d_geom *g, bool *ceil_mode, const char *const *known,
                     const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  check_pool_input(L, x, fname);
  if (lua_isnoneornil(L, 2)) nnb_error(L, fname, "kernel size (argument 2) is missing");
  pair k = check_pair(L, 2, 1, "kernel", fname);
  int opts = check_options(L, 3, known, fname);
  pair stride = opt_pair(L, opts, "stride", 1, k, fname);
  pair pad = opt_pair(L, opts, "padding", 0, (pair){0, 0}, fname);
  pair dilation = opt_pair(L, opts, "dilation", 1, (pair){1, 1}, fname);
  *ceil_mode = opt_bool(L, opts, "ceil_mode", false, fname);
  int d = x->ndim;
  *g = (nn_pool2d_geom){.h = x->shape[d - 2], .w = x->shape[d - 1], .kh = k.h, .kw = k.w,
                        .sh = stride.h, .sw = stride.w, .ph = pad.h, .pw = pad.w,
                        .dh = dilation.h, .dw = dilation.w};
  g->planes = x->shape[d - 3] * (d == 4 ? x->shape[0] : 1);
  pool_out_size(L, x, g, *ceil_mode, fname);
  return opts;
}

/* Pushes the output, x's shape with the last two dims pooled. */
static nn_tensor *new_pool_output(lua_State *L, const nn_tensor *x, const nn_pool2d_geom *g,
                                  const char *fname) {
  int64_t shape[4];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
  shape[x->ndim - 2] = g->oh;
  shape[x->ndim - 1] = g->ow;
  return nnb_new_tensor(L, fname, NN_FLOAT32, x->ndim, shape);
}

static const char *const max_pool_options[] = {"stride", "padding", "dilation", "ceil_mode", NULL};

static int l_max_pool2d(lua_State *L) {
  const char *fname = "max_pool2d";
  nn_pool2d_geom g;
  bool ceil_mode;
  pool_args(L, &g, &ceil_mode, max_pool_options, fname);
  nn_tensor *x = nnb_to_tensor(L, 1);
  nn_tensor *xc = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  nn_tensor *out = new_pool_output(L, x, &g, fname);
  /* Recorded first: the indices the backward needs are then written by
   * the forward itself, straight into a tensor the node owns. */
  nn_node *node = nnb_record(L, fname, NN_OP_MAX_POOL2D, out, 1, &x);
  nn_tensor *idx = NULL;
  if (node) {
    if (!(idx = nn_tensor_empty(NN_INT64, out->ndim, out->shape)))
      nnb_error(L, fname, "out of memory recording the autograd graph");
    nn_node_save(node, idx);
    nn_tensor_release(idx);
  }
  nn_kernel_max_pool2d_forward(nn_tensor_data(out), idx ? nn_tensor_data(idx) : NULL,
                        nn_tensor_data(xc), &g);
  return 1;
}

static const char *const avg_pool_options[] = {"stride", "padding", "ceil_mode",
                                               "count_include_pad", "divisor_override", NULL};

static int l_avg_pool2d(lua_State *L) {
  const char *fname = "avg_pool2d";
  nn_pool2d_geom g;
  bool ceil_mode;
  int opts = pool_args(L, &g, &ceil_mode, avg_pool_options, fname);
  g.count_include_pad = opt_bool(L, opts, "count_include_pad", true, fname);
  if (opts && lua_getfield(L, opts, "divisor_override") != LUA_TNIL)
    g.divisor = check_size_value(L, -1, 1, "divisor_override", fname);
  lua_settop(L, 3);
  nn_tensor *x = nnb_to_tensor(L, 1);
  nn_tensor *xc = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  nn_tensor *out = new_pool_output(L, x, &g, fname);
  nn_kernel_avg_pool2d_forward(nn_tensor_data(out), nn_tensor_data(xc), &g);
  nn_node *node = nnb_record(L, fname, NN_OP_AVG_POOL2D, out, 1, &x);
  if (node) {
    int64_t params[] = {g.kh, g.kw, g.sh, g.sw, g.ph, g.pw, g.count_include_pad, g.divisor};
    memcpy(node->params, params, sizeof params);
  }
  return 1;
}

static const luaL_Reg functions[] = {
    {"conv2d", l_conv2d},
    {"max_pool2d", l_max_pool2d},
    {"avg_pool2d", l_avg_pool2d},
    {NULL, NULL},
};

void nnb_open_conv(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
