/*
 * Data-augmentation transforms for stdlib/nn/transforms.lua: each function
 * takes an image batch [N,C,H,W] (or one image [C,H,W]) of float32,
 * checks its arguments and returns a new tensor from the entry point of
 * runtime/transforms.c, which draws every sample's parameters from the
 * engine generator (nnb_rng, so nn.manual_seed makes them reproducible).
 *
 *   nn.core._hflip(x, p [, name])                  flip each sample with prob. p
 *   nn.core._rotate(x, degrees [, name])           angle uniform in [-deg, deg]
 *   nn.core._random_scale(x, lo, hi [, name])      zoom factor uniform in [lo, hi]
 *   nn.core._random_crop(x, h, w, pad [, name])    pad, then a random h x w crop
 *   nn.core._warp(x, spec [, name])                flip, warp and crop in one pass
 *   nn.core._gaussian_noise(x, std [, name])       x + N(0, std^2)
 *   nn.core._normalize(x, mean, std [, name])      per channel; numbers or arrays
 *
 * name (the Lua class, e.g. "RandomCrop") starts every error message; it
 * stays on the stack while fname points into it.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_transforms.h"

/* The error prefix: the string at idx, else dflt. */
static const char *opt_name(lua_State *L, int idx, const char *dflt) {
  return lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : dflt;
}

/* Checks the images at idx 1 and pushes them contiguous: an image batch
 * [N,C,H,W] or one image [C,H,W] of float32. */
static nn_tensor *check_batch(lua_State *L, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  char buf[96];
  if (t->ndim != 3 && t->ndim != 4)
    nnb_error(L, fname, "expected an image batch [N,C,H,W] or image [C,H,W], got %s",
              nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
  if (t->dtype != NN_FLOAT32)
    nnb_error(L, fname, "expected float32 images, got %s",
              t->dtype == NN_INT64 ? "int64" : "bool");
  /* An empty batch can claim any sizes; bounding each keeps the products
   * in the runtime (scratch sizes, padded planes) from overflowing. */
  for (int d = 0; d < t->ndim; d++)
    if (t->shape[d] > INT32_MAX)
      nnb_error(L, fname, "image batch %s is too large (each dim at most 2^31-1)",
                nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
  return nnb_push_as(L, fname, 1, NN_FLOAT32, true);
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

/* Pushes a new float32 tensor shaped like x with the last two dims h, w. */
static nn_tensor *new_like(lua_State *L, const char *fname, const nn_tensor *x, int64_t h,
                           int64_t w) {
  int64_t shape[4];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->ndim - 2] = h, shape[x->ndim - 1] = w;
  return nnb_new_tensor(L, fname, NN_FLOAT32, x->ndim, shape);
}

/* The accepted ranges, the same for each transform alone and for the
 * fused pass of nn.core._warp. */
#define MAX_DEGREES 360.0
#define MIN_SCALE 1e-6
#define MAX_SCALE 1e6
#define MAX_PADDING (1 << 20)
#define MAX_CROP (1 << 30)

static int l_hflip(lua_State *L) {
  const char *fname = opt_name(L, 3, "_hflip");
  double p = check_number(L, 2, fname, "p", 0, 1);
  lua_settop(L, 3);
  nn_tensor *x = check_batch(L, fname);
  nn_tensor *out = new_like(L, fname, x, x->shape[x->ndim - 2], x->shape[x->ndim - 1]);
  nnb_check_status(L, fname, nn_hflip(out, x, nnb_rng(), p));
  return 1;
}

/* Pushes x (on the stack) warped per a into an oh x ow output (x's own
 * size without a crop, which must fit). */
static int run_warp(lua_State *L, const char *fname, const nn_tensor *x, const nn_warp_args *a,
                    int64_t oh, int64_t ow) {
  int64_t h = x->shape[x->ndim - 2], w = x->shape[x->ndim - 1];
  if ((h + 2) * (w + 2) > INT32_MAX)
    nnb_error(L, fname, "images of %lldx%lld are too large to warp (at most 2^31 pixels with a border)",
              (long long)h, (long long)w);
  nn_tensor *out = new_like(L, fname, x, a->crop ? oh : h, a->crop ? ow : w);
  nnb_check_status(L, fname, nn_warp(out, x, nnb_rng(), a));
  return 1;
}

static int l_rotate(lua_State *L) {
  const char *fname = opt_name(L, 3, "_rotate");
  double deg = check_number(L, 2, fname, "degrees", 0, MAX_DEGREES);
  lua_settop(L, 3);
  nn_tensor *x = check_batch(L, fname);
  nn_warp_args a = {.flip_p = -1, .kind = NN_WARP_ROTATE, .lo = -deg, .hi = deg};
  return run_warp(L, fname, x, &a, 0, 0);
}

static int l_random_scale(lua_State *L) {
  const char *fname = opt_name(L, 4, "_random_scale");
  double lo = check_number(L, 2, fname, "min scale", MIN_SCALE, MAX_SCALE);
  double hi = check_number(L, 3, fname, "max scale", MIN_SCALE, MAX_SCALE);
  if (lo > hi) nnb_error(L, fname, "min scale %g is larger than max scale %g", lo, hi);
  lua_settop(L, 4);
  nn_tensor *x = check_batch(L, fname);
  nn_warp_args a = {.flip_p = -1, .kind = NN_WARP_SCALE, .lo = lo, .hi = hi};
  return run_warp(L, fname, x, &a, 0, 0);
}

static int l_random_crop(lua_State *L) {
  const char *fname = opt_name(L, 5, "_random_crop");
  int64_t oh = nnb_check_int(L, 2, fname, "crop height");
  int64_t ow = nnb_check_int(L, 3, fname, "crop width");
  int64_t pad = nnb_check_int(L, 4, fname, "padding");
  if (oh < 1 || ow < 1 || oh > MAX_CROP || ow > MAX_CROP)
    nnb_error(L, fname, "crop size must be between 1 and 2^30, got %lldx%lld", (long long)oh,
              (long long)ow);
  if (pad < 0 || pad > MAX_PADDING)
    nnb_error(L, fname, "padding must be between 0 and 2^20, got %lld", (long long)pad);
  lua_settop(L, 5);
  nn_tensor *x = check_batch(L, fname);
  int64_t ph = x->shape[x->ndim - 2] + 2 * pad, pw = x->shape[x->ndim - 1] + 2 * pad;
  if (oh > ph || ow > pw)
    nnb_error(L, fname, "crop size %lldx%lld is larger than the padded image %lldx%lld (padding %lld)",
              (long long)oh, (long long)ow, (long long)ph, (long long)pw, (long long)pad);
  nn_tensor *out = new_like(L, fname, x, oh, ow);
  nnb_check_status(L, fname, nn_random_crop(out, x, nnb_rng(), pad));
  return 1;
}

/* Reads the number field key of the table at idx into *v, dflt when it
 * is absent; false when it is not a number in [lo, hi] (whole when
 * whole is set). */
static bool get_field(lua_State *L, int idx, const char *key, double lo, double hi, bool whole,
                      double dflt, double *v) {
  int type = lua_getfield(L, idx, key);
  *v = type == LUA_TNUMBER ? lua_tonumber(L, -1) : dflt;
  lua_pop(L, 1);
  if (type == LUA_TNIL) return true;
  return type == LUA_TNUMBER && *v >= lo && *v <= hi && (!whole || *v == floor(*v));
}

/* nn.core._warp(x, spec [, name]): what Compose runs for a flip, a rotation or
 * zoom and a crop in a row, in one pass. spec: {flip = p, degrees = d} or
 * {flip = p, scale_min = lo, scale_max = hi}, plus crop_h, crop_w and
 * padding for a crop; flip and the crop are optional. Returns nil,
 * drawing nothing, when it cannot: x not a float32 image batch, the crop
 * larger than the padded images, a value out of range. Compose then runs
 * the transforms one by one, which raise their usual errors. */
static int l_warp(lua_State *L) {
  const char *fname = opt_name(L, 3, "_warp");
  if (lua_type(L, 2) != LUA_TTABLE)
    nnb_error(L, fname, "spec must be a table, got %s", luaL_typename(L, 2));
  lua_settop(L, 3);
  double flip, deg, lo, hi, oh, ow, pad;
  bool ok = get_field(L, 2, "flip", 0, 1, false, -1, &flip) &&
            get_field(L, 2, "degrees", 0, MAX_DEGREES, false, -1, &deg) &&
            get_field(L, 2, "scale_min", MIN_SCALE, MAX_SCALE, false, -1, &lo) &&
            get_field(L, 2, "scale_max", MIN_SCALE, MAX_SCALE, false, -1, &hi) &&
            get_field(L, 2, "crop_h", 1, MAX_CROP, true, 0, &oh) &&
            get_field(L, 2, "crop_w", 1, MAX_CROP, true, oh, &ow) &&
            get_field(L, 2, "padding", 0, MAX_PADDING, true, 0, &pad);
  /* exactly one of a rotation and a zoom, as Compose asks */
  bool has_deg = deg >= 0, has_lo = lo >= 0, has_hi = hi >= 0;
  ok = ok && (has_deg ? !has_lo && !has_hi : has_lo && has_hi && lo <= hi);
  nn_tensor *t = nnb_to_tensor(L, 1);
  if (!ok || (oh == 0) != (ow == 0) || !t || (t->ndim != 3 && t->ndim != 4) ||
      t->dtype != NN_FLOAT32)
    return 0;
  nn_warp_args a = {.flip_p = flip, .crop = oh != 0, .pad = (int64_t)pad};
  if (deg >= 0)
    a.kind = NN_WARP_ROTATE, a.lo = -deg, a.hi = deg;
  else
    a.kind = NN_WARP_SCALE, a.lo = lo, a.hi = hi;
  nn_tensor *x = check_batch(L, fname);
  int64_t ch = (int64_t)oh, cw = (int64_t)ow; /* the crop must fit in the padded images */
  if (ch > x->shape[x->ndim - 2] + 2 * a.pad || cw > x->shape[x->ndim - 1] + 2 * a.pad) return 0;
  return run_warp(L, fname, x, &a, ch, cw);
}

static int l_gaussian_noise(lua_State *L) {
  const char *fname = opt_name(L, 3, "_gaussian_noise");
  double sd = check_number(L, 2, fname, "std", 0, HUGE_VAL);
  lua_settop(L, 3);
  nn_tensor *x = check_batch(L, fname);
  nn_tensor *out = new_like(L, fname, x, x->shape[x->ndim - 2], x->shape[x->ndim - 1]);
  nnb_check_status(L, fname, nn_gaussian_noise(out, x, nnb_rng(), sd));
  return 1;
}

/* The number or array at idx (one value, or one per channel of c) as
 * floats in a buffer on the stack; what names it in errors, nonzero when
 * each must be nonzero. *count gets how many: 1, or c (0 when c is 0, as
 * there is no channel to check). */
static const float *channel_values(lua_State *L, int idx, const char *fname, const char *what,
                                   int64_t c, bool nonzero, int64_t *count) {
  bool table = lua_type(L, idx) == LUA_TTABLE;
  lua_Integer len = 1;
  if (table) {
    len = luaL_len(L, idx);
    if (len != c && len != 1)
      nnb_error(L, fname, "%s has %lld values, expected 1 or %lld (one per channel)", what,
                (long long)len, (long long)c);
  } else if (lua_type(L, idx) != LUA_TNUMBER) {
    nnb_error(L, fname, "%s must be a number or an array of numbers, got %s", what,
              luaL_typename(L, idx));
  }
  int64_t n = c < len ? c : len;
  float *v = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *v, 0);
  for (int64_t k = 0; k < n; k++) {
    if (table && lua_geti(L, idx, k + 1) != LUA_TNUMBER)
      nnb_error(L, fname, "%s[%lld] must be a number, got %s", what, (long long)k + 1,
                luaL_typename(L, -1));
    v[k] = (float)lua_tonumber(L, table ? -1 : idx);
    if (table) lua_pop(L, 1);
  }
  for (int64_t k = 0; k < n; k++) {
    if (nonzero && v[k] == 0) nnb_error(L, fname, "%s[%lld] must not be 0", what, (long long)k + 1);
    if (!isfinite(v[k])) nnb_error(L, fname, "%s[%lld] must be finite, got %g", what, (long long)k + 1, v[k]);
  }
  *count = n;
  return v;
}

static int l_normalize(lua_State *L) {
  const char *fname = opt_name(L, 4, "_normalize");
  lua_settop(L, 4);
  nn_tensor *x = check_batch(L, fname);
  int64_t c = x->shape[x->ndim - 3];
  nn_normalize_args a;
  a.mean = channel_values(L, 2, fname, "mean", c, false, &a.nmean);
  a.std = channel_values(L, 3, fname, "std", c, true, &a.nstd);
  nn_tensor *out = new_like(L, fname, x, x->shape[x->ndim - 2], x->shape[x->ndim - 1]);
  nnb_check_status(L, fname, nn_normalize(out, x, &a));
  return 1;
}

void nnb_open_transforms(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg funcs[] = {
      {"_hflip", l_hflip},
      {"_rotate", l_rotate},
      {"_random_scale", l_random_scale},
      {"_random_crop", l_random_crop},
      {"_warp", l_warp},
      {"_gaussian_noise", l_gaussian_noise},
      {"_normalize", l_normalize},
      {NULL, NULL},
  };
  nnb_set_funcs(L, module, funcs);
}
