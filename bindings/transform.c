/*
 * Data-augmentation transforms for stdlib/nn/transforms.lua: each function
 * takes an image batch [N,C,H,W] (or one image [C,H,W]) of float32, draws
 * every sample's parameters from the engine generator (nnb_rng, so
 * nn.manual_seed makes them reproducible), runs the kernel of
 * runtime/transform.c over the whole batch and returns a new tensor.
 *
 *   nn._hflip(x, p [, name])                  flip each sample with prob. p
 *   nn._rotate(x, degrees [, name])           angle uniform in [-deg, deg]
 *   nn._random_scale(x, lo, hi [, name])      zoom factor uniform in [lo, hi]
 *   nn._random_crop(x, h, w, pad [, name])    pad, then a random h x w crop
 *   nn._gaussian_noise(x, std [, name])       x + N(0, std^2)
 *   nn._normalize(x, mean, std [, name])      per channel; numbers or arrays
 *
 * name (the Lua class, e.g. "RandomCrop") starts every error message; it
 * stays on the stack while fname points into it.
 */
#include <math.h>
#include <stdint.h>

#include "nn_bind.h"
#include "nn_random.h"
#include "nn_transform.h"

/* An image batch seen as [N,C,H,W]. */
typedef struct batch {
  nn_tensor *x; /* contiguous float32, on the stack */
  int ndim;     /* 3 or 4 as given */
  int64_t n, c, h, w;
} batch;

/* The error prefix: the string at idx, else dflt. */
static const char *opt_name(lua_State *L, int idx, const char *dflt) {
  return lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : dflt;
}

/* Checks the images at idx 1 and pushes them contiguous (see batch). */
static batch check_batch(lua_State *L, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  char buf[96];
  if (t->ndim != 3 && t->ndim != 4)
    nnb_error(L, fname, "expected an image batch [N,C,H,W] or image [C,H,W], got %s",
              nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
  if (t->dtype != NN_FLOAT32)
    nnb_error(L, fname, "expected float32 images, got %s",
              t->dtype == NN_INT64 ? "int64" : "bool");
  batch b = {.ndim = t->ndim, .n = t->ndim == 4 ? t->shape[0] : 1};
  const int64_t *s = t->shape + (t->ndim - 3);
  b.c = s[0], b.h = s[1], b.w = s[2];
  b.x = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  return b;
}

/* A number argument at idx, raising with what when it is not one or is
 * outside [lo, hi]. */
static double check_number(lua_State *L, int idx, const char *fname, const char *what,
                           double lo, double hi) {
  if (lua_type(L, idx) != LUA_TNUMBER)
    nnb_error(L, fname, "%s must be a number, got %s", what, luaL_typename(L, idx));
  double v = lua_tonumber(L, idx);
  if (!(v >= lo && v <= hi))
    nnb_error(L, fname, "%s must be between %g and %g, got %g", what, lo, hi, v);
  return v;
}

/* Pushes a new float32 tensor shaped like b with the last two dims h, w. */
static float *new_like(lua_State *L, const char *fname, const batch *b, int64_t h, int64_t w) {
  int64_t shape[4] = {b->n, b->c, h, w};
  int off = b->ndim == 4 ? 0 : 1;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, b->ndim, shape + off);
  return nn_tensor_data(out);
}

/* Pushes scratch space of n values of dtype. */
static void *scratch(lua_State *L, const char *fname, nn_dtype dtype, int64_t n) {
  return nn_tensor_data(nnb_new_tensor(L, fname, dtype, 1, &n));
}

static int l_hflip(lua_State *L) {
  const char *fname = opt_name(L, 3, "_hflip");
  double p = check_number(L, 2, fname, "p", 0, 1);
  lua_settop(L, 3);
  batch b = check_batch(L, fname);
  uint8_t *flip = scratch(L, fname, NN_BOOL, b.n);
  float *out = new_like(L, fname, &b, b.h, b.w);
  nn_rng *rng = nnb_rng();
  for (int64_t s = 0; s < b.n; s++) {
    float u;
    nn_rng_uniform(rng, &u, 1, 0, 1);
    flip[s] = u < p;
  }
  nn_kernel_hflip(out, nn_tensor_data(b.x), flip, b.n, b.c, b.h, b.w);
  return 1;
}

/* Shared by rotation and zoom: draws one value uniform in [lo, hi] per
 * sample, turns it into a matrix with make, and warps. */
static int warp(lua_State *L, const char *fname, double lo, double hi,
                void (*make)(float *, double)) {
  batch b = check_batch(L, fname);
  float *m = scratch(L, fname, NN_FLOAT32, 4 * b.n);
  float *out = new_like(L, fname, &b, b.h, b.w);
  nn_rng *rng = nnb_rng();
  for (int64_t s = 0; s < b.n; s++) {
    float u;
    nn_rng_uniform(rng, &u, 1, 0, 1);
    make(m + 4 * s, lo + (hi - lo) * (double)u);
  }
  nn_kernel_warp(out, nn_tensor_data(b.x), m, b.n, b.c, b.h, b.w);
  return 1;
}

static int l_rotate(lua_State *L) {
  const char *fname = opt_name(L, 3, "_rotate");
  double deg = check_number(L, 2, fname, "degrees", 0, 360);
  lua_settop(L, 3);
  return warp(L, fname, -deg, deg, nn_transform_rotation);
}

static int l_random_scale(lua_State *L) {
  const char *fname = opt_name(L, 4, "_random_scale");
  double lo = check_number(L, 2, fname, "min scale", 1e-6, 1e6);
  double hi = check_number(L, 3, fname, "max scale", 1e-6, 1e6);
  if (lo > hi) nnb_error(L, fname, "min scale %g is larger than max scale %g", lo, hi);
  lua_settop(L, 4);
  return warp(L, fname, lo, hi, nn_transform_scale);
}

static int l_random_crop(lua_State *L) {
  const char *fname = opt_name(L, 5, "_random_crop");
  int64_t oh = nnb_check_int(L, 2, fname, "crop height");
  int64_t ow = nnb_check_int(L, 3, fname, "crop width");
  int64_t pad = nnb_check_int(L, 4, fname, "padding");
  if (oh < 1 || ow < 1) nnb_error(L, fname, "crop size must be positive, got %lldx%lld",
                                  (long long)oh, (long long)ow);
  if (pad < 0 || pad > (1 << 20)) nnb_error(L, fname, "padding must be >= 0, got %lld", (long long)pad);
  lua_settop(L, 5);
  batch b = check_batch(L, fname);
  int64_t ph = b.h + 2 * pad, pw = b.w + 2 * pad;
  if (oh > ph || ow > pw)
    nnb_error(L, fname, "crop size %lldx%lld is larger than the padded image %lldx%lld (padding %lld)",
              (long long)oh, (long long)ow, (long long)ph, (long long)pw, (long long)pad);
  int64_t *off = scratch(L, fname, NN_INT64, 2 * b.n);
  float *out = new_like(L, fname, &b, oh, ow);
  nn_rng *rng = nnb_rng();
  for (int64_t s = 0; s < b.n; s++) {
    off[s] = (int64_t)nn_rng_below(rng, (uint64_t)(ph - oh + 1));
    off[b.n + s] = (int64_t)nn_rng_below(rng, (uint64_t)(pw - ow + 1));
  }
  nn_kernel_crop(out, nn_tensor_data(b.x), off, off + b.n, b.n, b.c, b.h, b.w, oh, ow, pad);
  return 1;
}

static int l_gaussian_noise(lua_State *L) {
  const char *fname = opt_name(L, 3, "_gaussian_noise");
  double sd = check_number(L, 2, fname, "std", 0, HUGE_VAL);
  lua_settop(L, 3);
  batch b = check_batch(L, fname);
  float *out = new_like(L, fname, &b, b.h, b.w);
  int64_t numel = b.n * b.c * b.h * b.w;
  nn_rng_normal(nnb_rng(), out, numel, 0, (float)sd);
  nn_kernel_add_into(out, nn_tensor_data(b.x), numel);
  return 1;
}

/* Fills v (c) from the number or array at idx (one value or one per
 * channel); what names it in errors. Nonzero when it must be nonzero. */
static void channel_values(lua_State *L, int idx, const char *fname, const char *what,
                           float *v, int64_t c, bool nonzero) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    double x = lua_tonumber(L, idx);
    for (int64_t k = 0; k < c; k++) v[k] = (float)x;
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    lua_Integer len = luaL_len(L, idx);
    if (len != c && len != 1)
      nnb_error(L, fname, "%s has %lld values, expected 1 or %lld (one per channel)", what,
                (long long)len, (long long)c);
    for (int64_t k = 0; k < c; k++) {
      if (lua_geti(L, idx, len == 1 ? 1 : k + 1) != LUA_TNUMBER)
        nnb_error(L, fname, "%s[%lld] must be a number, got %s", what,
                  (long long)(len == 1 ? 1 : k + 1), luaL_typename(L, -1));
      v[k] = (float)lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
  } else {
    nnb_error(L, fname, "%s must be a number or an array of numbers, got %s", what,
              luaL_typename(L, idx));
  }
  for (int64_t k = 0; k < c; k++) {
    if (nonzero && v[k] == 0) nnb_error(L, fname, "%s[%lld] must not be 0", what, (long long)k + 1);
    if (!isfinite(v[k])) nnb_error(L, fname, "%s[%lld] must be finite, got %g", what, (long long)k + 1, v[k]);
  }
}

static int l_normalize(lua_State *L) {
  const char *fname = opt_name(L, 4, "_normalize");
  lua_settop(L, 4);
  batch b = check_batch(L, fname);
  float *mean = scratch(L, fname, NN_FLOAT32, 2 * b.c), *sd = mean + b.c;
  channel_values(L, 2, fname, "mean", mean, b.c, false);
  channel_values(L, 3, fname, "std", sd, b.c, true);
  float *out = new_like(L, fname, &b, b.h, b.w);
  nn_kernel_normalize(out, nn_tensor_data(b.x), mean, sd, b.n, b.c, b.h * b.w);
  return 1;
}

void nnb_open_transform(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg funcs[] = {
      {"_hflip", l_hflip},
      {"_rotate", l_rotate},
      {"_random_scale", l_random_scale},
      {"_random_crop", l_random_crop},
      {"_gaussian_noise", l_gaussian_noise},
      {"_normalize", l_normalize},
      {NULL, NULL},
  };
  nnb_set_funcs(L, module, funcs);
}
