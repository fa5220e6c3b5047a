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
 *   nn._warp(x, spec [, name])                flip, warp and crop in one pass
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
#include "nn_transforms.h"

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
  /* An empty batch can claim any sizes; bounding each keeps the products
   * below (scratch sizes, padded planes) from overflowing. */
  if (b.n > INT32_MAX || b.c > INT32_MAX || b.h > INT32_MAX || b.w > INT32_MAX)
    nnb_error(L, fname, "image batch %s is too large (each dim at most 2^31-1)",
              nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
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

/* The accepted ranges, the same for each transform alone and for the
 * fused pass of nn._warp. */
#define MAX_DEGREES 360.0
#define MIN_SCALE 1e-6
#define MAX_SCALE 1e6
#define MAX_PADDING (1 << 20)
#define MAX_CROP (1 << 30)

/* flip (n): 1 with probability p, one draw per sample. */
static void draw_flips(nn_rng *rng, uint8_t *flip, int64_t n, double p) {
  for (int64_t s = 0; s < n; s++) {
    float u;
    nn_rng_uniform(rng, &u, 1, 0, 1);
    flip[s] = u < p;
  }
}

/* top, left (n): a crop position per sample, uniform over the nh x nw
 * positions, minus shift. */
static void draw_crops(nn_rng *rng, int64_t *top, int64_t *left, int64_t n, int64_t nh,
                       int64_t nw, int64_t shift) {
  for (int64_t s = 0; s < n; s++) {
    top[s] = (int64_t)nn_rng_below(rng, (uint64_t)nh) - shift;
    left[s] = (int64_t)nn_rng_below(rng, (uint64_t)nw) - shift;
  }
}

static int l_hflip(lua_State *L) {
  const char *fname = opt_name(L, 3, "_hflip");
  double p = check_number(L, 2, fname, "p", 0, 1);
  lua_settop(L, 3);
  batch b = check_batch(L, fname);
  uint8_t *flip = scratch(L, fname, NN_BOOL, b.n);
  float *out = new_like(L, fname, &b, b.h, b.w);
  draw_flips(nnb_rng(), flip, b.n, p);
  nn_kernel_hflip(out, nn_tensor_data(b.x), flip, b.n, b.c, b.h, b.w);
  return 1;
}

/* A flip, a warp and a crop, each drawn per sample in this order (the
 * order of the transforms run one by one, so the same draws): the flip
 * with probability flip_p (none when < 0), the warp make(v) with v
 * uniform in [lo, hi], and an oh x ow crop of the warped images
 * zero-padded by pad on each side (none when oh is 0). */
typedef struct warp_spec {
  double flip_p, lo, hi;
  void (*make)(float *m, double v);
  int64_t oh, ow, pad;
} warp_spec;

/* Whether ws's crop fits in b's padded images. */
static bool crop_fits(const batch *b, const warp_spec *ws) {
  return ws->oh <= b->h + 2 * ws->pad && ws->ow <= b->w + 2 * ws->pad;
}

/* Pushes b (on the stack) augmented per ws; the crop must fit. */
static int run_warp(lua_State *L, const char *fname, const batch *b, const warp_spec *ws) {
  if ((b->h + 2) * (b->w + 2) > INT32_MAX)
    nnb_error(L, fname, "images of %lldx%lld are too large to warp (at most 2^31 pixels with a border)",
              (long long)b->h, (long long)b->w);
  int64_t n = b->n, oh = ws->oh ? ws->oh : b->h, ow = ws->oh ? ws->ow : b->w;
  float *m = scratch(L, fname, NN_FLOAT32, 4 * n);
  float *pad = scratch(L, fname, NN_FLOAT32, b->c * (b->h + 2) * (b->w + 2));
  uint8_t *flip = ws->flip_p >= 0 ? scratch(L, fname, NN_BOOL, n) : NULL;
  int64_t *off = ws->oh ? scratch(L, fname, NN_INT64, 2 * n) : NULL;
  float *out = new_like(L, fname, b, oh, ow);
  nn_rng *rng = nnb_rng();
  if (flip) draw_flips(rng, flip, n, ws->flip_p);
  for (int64_t s = 0; s < n; s++) {
    float u;
    nn_rng_uniform(rng, &u, 1, 0, 1);
    ws->make(m + 4 * s, ws->lo + (ws->hi - ws->lo) * (double)u);
  }
  if (off)
    draw_crops(rng, off, off + n, n, b->h + 2 * ws->pad - oh + 1, b->w + 2 * ws->pad - ow + 1,
               ws->pad);
  nn_kernel_warp(out, pad, nn_tensor_data(b->x), m, flip, off, off ? off + n : NULL, n, b->c, b->h,
                 b->w, oh, ow);
  return 1;
}

static int l_rotate(lua_State *L) {
  const char *fname = opt_name(L, 3, "_rotate");
  double deg = check_number(L, 2, fname, "degrees", 0, MAX_DEGREES);
  lua_settop(L, 3);
  batch b = check_batch(L, fname);
  warp_spec ws = {.flip_p = -1, .lo = -deg, .hi = deg, .make = nn_transform_rotation};
  return run_warp(L, fname, &b, &ws);
}

static int l_random_scale(lua_State *L) {
  const char *fname = opt_name(L, 4, "_random_scale");
  double lo = check_number(L, 2, fname, "min scale", MIN_SCALE, MAX_SCALE);
  double hi = check_number(L, 3, fname, "max scale", MIN_SCALE, MAX_SCALE);
  if (lo > hi) nnb_error(L, fname, "min scale %g is larger than max scale %g", lo, hi);
  lua_settop(L, 4);
  batch b = check_batch(L, fname);
  warp_spec ws = {.flip_p = -1, .lo = lo, .hi = hi, .make = nn_transform_scale};
  return run_warp(L, fname, &b, &ws);
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
  batch b = check_batch(L, fname);
  int64_t ph = b.h + 2 * pad, pw = b.w + 2 * pad;
  if (oh > ph || ow > pw)
    nnb_error(L, fname, "crop size %lldx%lld is larger than the padded image %lldx%lld (padding %lld)",
              (long long)oh, (long long)ow, (long long)ph, (long long)pw, (long long)pad);
  int64_t *off = scratch(L, fname, NN_INT64, 2 * b.n);
  float *out = new_like(L, fname, &b, oh, ow);
  draw_crops(nnb_rng(), off, off + b.n, b.n, ph - oh + 1, pw - ow + 1, 0);
  nn_kernel_crop(out, nn_tensor_data(b.x), off, off + b.n, b.n, b.c, b.h, b.w, oh, ow, pad);
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

/* nn._warp(x, spec [, name]): what Compose runs for a flip, a rotation or
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
  warp_spec ws = {.flip_p = flip, .oh = (int64_t)oh, .ow = (int64_t)ow, .pad = (int64_t)pad};
  if (deg >= 0)
    ws.lo = -deg, ws.hi = deg, ws.make = nn_transform_rotation;
  else
    ws.lo = lo, ws.hi = hi, ws.make = nn_transform_scale;
  batch b = check_batch(L, fname);
  if (!crop_fits(&b, &ws)) return 0;
  return run_warp(L, fname, &b, &ws);
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
