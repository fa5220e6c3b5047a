/*
 * Data augmentation (see nn_transforms.h): the entry points, which draw
 * each sample's parameters, and the kernels they run over the whole batch
 * (flips, bilinear warps for rotation and zoom, padded crops and
 * per-channel normalization).
 */
#include "nn_transforms.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_random.h"
#include "nn_simd.h"
#include "nn_threads.h"

/* Samples are independent: each kernel splits the batch over the
 * engine's pool (nn_threads.h), a part getting at least GRAIN output
 * values. */
enum { GRAIN = 16384 };

static int64_t samples_grain(int64_t per_sample) {
  return per_sample >= GRAIN ? 1 : GRAIN / (per_sample < 1 ? 1 : per_sample);
}

/* The arguments of any of the kernels below, for its parts. */
typedef struct transform_job {
  float *out, *pad;
  const float *x, *m, *mean, *std;
  const uint8_t *flip;
  const int64_t *top, *left;
  int64_t c, h, w, oh, ow, pad_by;
} transform_job;

#define PI 3.14159265358979323846

static void hflip_samples(void *ctx, int64_t s0, int64_t s1) {
  const transform_job *j = ctx;
  float *out = j->out;
  const float *x = j->x;
  const uint8_t *flip = j->flip;
  int64_t c = j->c, h = j->h, w = j->w, plane = c * h * w;
  for (int64_t s = s0; s < s1; s++) {
    const float *xs = x + s * plane;
    float *os = out + s * plane;
    if (!flip[s]) {
      memcpy(os, xs, (size_t)plane * sizeof *os);
      continue;
    }
    for (int64_t r = 0; r < c * h; r++) {
      const float *xr = xs + r * w;
      float *orow = os + r * w;
      for (int64_t k = 0; k < w; k++) orow[k] = xr[w - 1 - k];
    }
  }
}

void nn_kernel_hflip(float *out, const float *x, const uint8_t *flip,
                     int64_t n, int64_t c, int64_t h, int64_t w) {
  transform_job j = {.out = out, .x = x, .flip = flip, .c = c, .h = h, .w = w};
  nn_parallel_for(n, samples_grain(c * h * w), hflip_samples, &j);
}

void nn_transform_rotation(float *m, double degrees) {
  double a = degrees * (PI / 180.0);
  double co = cos(a), si = sin(a);
  /* exact for multiples of 90 degrees, so quarter turns move whole pixels */
  if (fabs(co) < 1e-12) co = 0;
  if (fabs(si) < 1e-12) si = 0;
  m[0] = (float)co, m[1] = (float)-si;
  m[2] = (float)si, m[3] = (float)co;
}

void nn_transform_scale(float *m, double factor) {
  m[0] = (float)(1.0 / factor), m[1] = 0;
  m[2] = 0, m[3] = (float)(1.0 / factor);
}

/*
 * The warp. Output pixel (i, j) of a sample with matrix m is pixel
 * (i', j') = (i + top, j + left) of the warped image, 0 when that is
 * outside H x W (a crop of the zero-padded warped image); it samples the
 * source point
 *   sx = bx + m0*dx,  sy = by + m2*dx,  dx = j' - cx,
 *   bx = cx + m1*dy,  by = cy + m3*dy,  dy = i' - cy
 * (each step rounded to float in this order) of the image (mirrored
 * first where flip says so) zero-padded by one pixel on each side, the
 * scratch `pad`. Every point with a neighbour inside the image,
 * (-1, W) x (-1, H), then has all four neighbours in pad and gets the
 * same lerps: with p00 the top-left neighbour at (floor(sx), floor(sy))
 * and ax, ay the fractions,
 *   top = p00 + ax*(p01 - p00),  bot = p10 + ax*(p11 - p10),
 *   out = top + ay*(bot - top);
 * points farther out give 0. One formula without branches, so the
 * compiler vectorizes all but the reads (SSE2 has no gather): per block
 * of output pixels, warp_points finds the neighbours and fractions, then
 * per channel warp_lerp reads the two horizontal pairs (one 8-byte copy
 * each) and interpolates.
 */

/* The warp is also compiled for AVX2 (8 lanes; nn_simd.h). */
#define WARP_CLONES NN_EXACT_CLONES

/* Output pixels per block: the arrays below stay on the stack, in L1. */
enum { WARP_BLOCK = 512 };

/* One block of output pixels: where each reads in pad and how much. */
typedef struct warp_block {
  int32_t at[WARP_BLOCK];   /* offset of the top-left neighbour in pad */
  int32_t near[WARP_BLOCK]; /* all bits set where some neighbour is in the image, else 0 */
  float ax[WARP_BLOCK], ay[WARP_BLOCK];
} warp_block;

/* v when keep, else +0: a select the compiler vectorizes (for a float ?:
 * it keeps a branch, since comparisons may trap). */
static inline float keep_if(bool keep, float v) {
  uint32_t bits;
  memcpy(&bits, &v, sizeof bits);
  bits &= -(uint32_t)keep;
  memcpy(&v, &bits, sizeof v);
  return v;
}

/* floor(v) for |v| < 2^31, without a libm call. */
static inline int32_t floor_i32(float v) {
  int32_t t = (int32_t)v;
  return t - ((float)t > v);
}

/* Marks entries [k0, k1) of b as far from the image: they read the
 * neighbours of pad[0], inside pad for any H and W (even 0), then get 0. */
static void warp_far(warp_block *b, int64_t k0, int64_t k1) {
  for (int64_t k = k0; k < k1; k++) b->at[k] = 0, b->near[k] = 0, b->ax[k] = b->ay[k] = 0;
}

/* Fills b for output pixels [p0, p1) (row-major, rows ow long) of a
 * sample with matrix ms and offsets top, left (see above) over an H x W
 * image. A row's columns outside the image just fail the test for near
 * points, so every row runs the same vectorized loop. */
WARP_CLONES static void warp_points(warp_block *b, const float *ms, int64_t p0, int64_t p1,
                                    int64_t top, int64_t left, int64_t ow, int64_t h, int64_t w) {
  const float cy = (float)(h - 1) * 0.5f, cx = (float)(w - 1) * 0.5f;
  const float wf = (float)w, hf = (float)h, m0 = ms[0], m2 = ms[2];
  const int32_t pw = (int32_t)w + 2, l = (int32_t)left, wi = (int32_t)w;
  for (int64_t p = p0; p < p1;) { /* one output row, or its part in the block */
    int64_t i = p / ow, j0 = p - i * ow, j1 = j0 + (p1 - p) < ow ? j0 + (p1 - p) : ow;
    int64_t k0 = p - p0 - j0; /* entry of column 0 */
    p += j1 - j0;
    int64_t ii = i + top;
    if (ii < 0 || ii >= h) {
      warp_far(b, k0 + j0, k0 + j1);
      continue;
    }
    float dy = (float)ii - cy;
    const float bx = cx + ms[1] * dy, by = cy + ms[3] * dy;
    int32_t *at = b->at + k0, *near = b->near + k0;
    float *ax = b->ax + k0, *ay = b->ay + k0;
    for (int32_t j = (int32_t)j0; j < (int32_t)j1; j++) {
      int32_t jj = j + l; /* the warped column */
      float dx = (float)jj - cx;
      float sx = bx + m0 * dx, sy = by + m2 * dx;
      bool in = (jj >= 0) & (jj < wi) & (sx > -1.0f) & (sx < wf) & (sy > -1.0f) & (sy < hf);
      float tx = keep_if(in, sx), ty = keep_if(in, sy);
      int32_t x0 = floor_i32(tx), y0 = floor_i32(ty);
      at[j] = ((y0 + 1) * pw + (x0 + 1)) & -(int32_t)in; /* far: 0, as warp_far */
      ax[j] = tx - (float)x0, ay[j] = ty - (float)y0;
      near[j] = -(int32_t)in;
    }
  }
}

/* out (len) of one channel from pad (H+2,W+2) of that channel, pw = W+2:
 * the lerps of block b. */
WARP_CLONES static void warp_lerp(float *restrict out, const float *restrict pad,
                                  const warp_block *b, int32_t len, int32_t pw) {
  float top[2 * WARP_BLOCK], bot[2 * WARP_BLOCK];
  for (int32_t k = 0; k < len; k++) {
    memcpy(top + 2 * k, pad + b->at[k], 2 * sizeof *top);
    memcpy(bot + 2 * k, pad + b->at[k] + pw, 2 * sizeof *bot);
  }
  for (int32_t k = 0; k < len; k++) {
    float t = top[2 * k] + b->ax[k] * (top[2 * k + 1] - top[2 * k]);
    float u = bot[2 * k] + b->ax[k] * (bot[2 * k + 1] - bot[2 * k]);
    out[k] = keep_if(b->near[k], t + b->ay[k] * (u - t));
  }
}

/* pad (C,H+2,W+2) = x (C,H,W), mirrored left-right when flip, inside a
 * zero frame. */
static void pad_image(float *pad, const float *x, bool flip, int64_t c, int64_t h, int64_t w) {
  int64_t pw = w + 2;
  for (int64_t ch = 0; ch < c; ch++, x += h * w, pad += (h + 2) * pw) {
    memset(pad, 0, (size_t)pw * sizeof *pad);
    for (int64_t i = 0; i < h; i++) {
      float *row = pad + (i + 1) * pw;
      const float *src = x + i * w;
      row[0] = row[w + 1] = 0;
      if (flip)
        for (int64_t j = 0; j < w; j++) row[1 + j] = src[w - 1 - j];
      else
        memcpy(row + 1, src, (size_t)w * sizeof *row);
    }
    memset(pad + (h + 1) * pw, 0, (size_t)pw * sizeof *pad);
  }
}

/* Part `part` pads its images in pads + part * c * (h+2) * (w+2). */
static void warp_samples(void *ctx, int part, int64_t s0, int64_t s1) {
  const transform_job *j = ctx;
  float *out = j->out;
  const float *x = j->x, *m = j->m;
  const uint8_t *flip = j->flip;
  const int64_t *top = j->top, *left = j->left;
  int64_t c = j->c, h = j->h, w = j->w, oh = j->oh, ow = j->ow;
  int64_t plane = h * w, pplane = (h + 2) * (w + 2), oplane = oh * ow;
  float *pad = j->pad + part * c * pplane;
  warp_block b;
  for (int64_t s = s0; s < s1; s++) {
    pad_image(pad, x + s * c * plane, flip && flip[s], c, h, w);
    for (int64_t p0 = 0; p0 < oplane; p0 += WARP_BLOCK) {
      int64_t p1 = p0 + WARP_BLOCK < oplane ? p0 + WARP_BLOCK : oplane;
      warp_points(&b, m + 4 * s, p0, p1, top ? top[s] : 0, left ? left[s] : 0, ow, h, w);
      for (int64_t ch = 0; ch < c; ch++)
        warp_lerp(out + (s * c + ch) * oplane + p0, pad + ch * pplane, &b, (int32_t)(p1 - p0),
                  (int32_t)w + 2);
    }
  }
}

/* The caller's pad holds one padded image; the parts past the first get
 * theirs here (serial when that fails: the result is the same). */
void nn_kernel_warp(float *out, float *pad, const float *x, const float *m, const uint8_t *flip,
                    const int64_t *top, const int64_t *left, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t oh, int64_t ow) {
  assert((h + 2) * (w + 2) <= INT32_MAX);
  int64_t grain = samples_grain(c * oh * ow), parts = nn_parallel_parts(n, grain);
  size_t image = sizeof(float) * (size_t)(c * (h + 2) * (w + 2)), bytes = image * (size_t)parts;
  float *pads = parts > 1 ? nn_alloc(bytes) : NULL;
  transform_job j = {.out = out, .pad = pads ? pads : pad, .x = x, .m = m, .flip = flip, .top = top,
                     .left = left, .c = c, .h = h, .w = w, .oh = oh, .ow = ow};
  if (pads) nn_parallel_for_parts(n, grain, warp_samples, &j);
  else warp_samples(&j, 0, 0, n);
  nn_free(pads, bytes);
}

static void crop_samples(void *ctx, int64_t s0, int64_t s1) {
  const transform_job *j = ctx;
  float *out = j->out;
  const float *x = j->x;
  const int64_t *top = j->top, *left = j->left;
  int64_t c = j->c, h = j->h, w = j->w, oh = j->oh, ow = j->ow, pad = j->pad_by;
  for (int64_t s = s0; s < s1; s++) {
    for (int64_t ch = 0; ch < c; ch++) {
      const float *xp = x + (s * c + ch) * h * w;
      float *op = out + (s * c + ch) * oh * ow;
      int64_t r0 = top[s] - pad, c0 = left[s] - pad;
      /* columns [jlo, jhi) of the output fall inside x; a window wholly in
       * the padding has none */
      int64_t jlo = c0 < 0 ? -c0 : 0, jhi = w - c0 < ow ? w - c0 : ow;
      if (jlo > ow) jlo = ow;
      if (jhi < jlo) jhi = jlo;
      for (int64_t i = 0; i < oh; i++) {
        float *orow = op + i * ow;
        int64_t r = r0 + i;
        if (r < 0 || r >= h) {
          memset(orow, 0, (size_t)ow * sizeof *orow);
          continue;
        }
        memset(orow, 0, (size_t)jlo * sizeof *orow);
        if (jhi > jlo) memcpy(orow + jlo, xp + r * w + c0 + jlo, (size_t)(jhi - jlo) * sizeof *orow);
        memset(orow + jhi, 0, (size_t)(ow - jhi) * sizeof *orow);
      }
    }
  }
}

void nn_kernel_crop(float *out, const float *x, const int64_t *top,
                    const int64_t *left, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t oh, int64_t ow, int64_t pad) {
  transform_job j = {.out = out, .x = x, .top = top, .left = left, .c = c, .h = h, .w = w, .oh = oh,
                     .ow = ow, .pad_by = pad};
  nn_parallel_for(n, samples_grain(c * oh * ow), crop_samples, &j);
}

/* Planes [p0, p1) of the batch's n * c, plane p of channel p % c. */
static void normalize_planes(void *ctx, int64_t p0, int64_t p1) {
  const transform_job *j = ctx;
  int64_t c = j->c, hw = j->h;
  for (int64_t p = p0; p < p1; p++) {
    const float *xp = j->x + p * hw;
    float *op = j->out + p * hw;
    float mu = j->mean[p % c], sd = j->std[p % c];
    for (int64_t k = 0; k < hw; k++) op[k] = (xp[k] - mu) / sd;
  }
}

void nn_kernel_normalize(float *out, const float *x, const float *mean,
                         const float *std, int64_t n, int64_t c, int64_t hw) {
  transform_job j = {.out = out, .x = x, .mean = mean, .std = std, .c = c, .h = hw};
  nn_parallel_for(n * c, samples_grain(hw), normalize_planes, &j);
}

static void add_range(void *ctx, int64_t k0, int64_t k1) {
  const transform_job *j = ctx;
  for (int64_t k = k0; k < k1; k++) j->out[k] += j->x[k];
}

void nn_kernel_add_into(float *out, const float *x, int64_t n) {
  nn_parallel_for(n, GRAIN, add_range, &(transform_job){.out = out, .x = x});
}

/* ---- entry points ---- */

/* x (N,C,H,W) or (C,H,W) as its four sizes. */
typedef struct batch {
  int64_t n, c, h, w;
} batch;

static batch batch_of(const nn_tensor *x) {
  const int64_t *s = x->shape + (x->ndim - 3);
  return (batch){x->ndim == 4 ? x->shape[0] : 1, s[0], s[1], s[2]};
}

/* The scratch arrays of one call: taken together, freed together. */
enum { MAX_SCRATCH = 4 };
typedef struct scratch {
  void *p[MAX_SCRATCH];
  size_t size[MAX_SCRATCH];
  int count;
  bool failed;
} scratch;

/* count elements of size bytes, or NULL (then sc->failed) when refused
 * or too large to count in bytes (an empty batch may claim any sizes). */
static void *take(scratch *sc, int64_t count, size_t size) {
  assert(sc->count < MAX_SCRATCH && count >= 0);
  size_t nbytes = (size_t)count * size;
  void *p = (uint64_t)count <= SIZE_MAX / size ? nn_alloc(nbytes) : NULL;
  sc->p[sc->count] = p, sc->size[sc->count++] = nbytes;
  if (!p) sc->failed = true;
  return p;
}

static void release(scratch *sc) {
  for (int k = 0; k < sc->count; k++) nn_free(sc->p[k], sc->size[k]);
}

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

nn_status nn_hflip(nn_tensor *out, const nn_tensor *x, nn_rng *rng, double p) {
  batch b = batch_of(x);
  scratch sc = {0};
  uint8_t *flip = take(&sc, b.n, 1);
  if (!sc.failed) {
    draw_flips(rng, flip, b.n, p);
    nn_kernel_hflip(nn_tensor_data(out), nn_tensor_data(x), flip, b.n, b.c, b.h, b.w);
  }
  release(&sc);
  return sc.failed ? NN_ERR_NOMEM : NN_OK;
}

nn_status nn_warp(nn_tensor *out, const nn_tensor *x, nn_rng *rng, const nn_warp_args *args) {
  batch b = batch_of(x);
  int64_t n = b.n, oh = out->shape[out->ndim - 2], ow = out->shape[out->ndim - 1];
  assert(args->crop || (oh == b.h && ow == b.w));
  scratch sc = {0};
  float *m = take(&sc, 4 * n, sizeof(float));
  float *pad = take(&sc, b.c * (b.h + 2) * (b.w + 2), sizeof(float));
  uint8_t *flip = args->flip_p >= 0 ? take(&sc, n, 1) : NULL;
  int64_t *off = args->crop ? take(&sc, 2 * n, sizeof(int64_t)) : NULL;
  if (!sc.failed) {
    void (*make)(float *m, double v) =
        args->kind == NN_WARP_ROTATE ? nn_transform_rotation : nn_transform_scale;
    if (flip) draw_flips(rng, flip, n, args->flip_p);
    for (int64_t s = 0; s < n; s++) {
      float u;
      nn_rng_uniform(rng, &u, 1, 0, 1);
      make(m + 4 * s, args->lo + (args->hi - args->lo) * (double)u);
    }
    if (off)
      draw_crops(rng, off, off + n, n, b.h + 2 * args->pad - oh + 1, b.w + 2 * args->pad - ow + 1,
                 args->pad);
    nn_kernel_warp(nn_tensor_data(out), pad, nn_tensor_data(x), m, flip, off, off ? off + n : NULL,
                   n, b.c, b.h, b.w, oh, ow);
  }
  release(&sc);
  return sc.failed ? NN_ERR_NOMEM : NN_OK;
}

nn_status nn_random_crop(nn_tensor *out, const nn_tensor *x, nn_rng *rng, int64_t pad) {
  batch b = batch_of(x);
  int64_t oh = out->shape[out->ndim - 2], ow = out->shape[out->ndim - 1];
  scratch sc = {0};
  int64_t *off = take(&sc, 2 * b.n, sizeof(int64_t));
  if (!sc.failed) {
    draw_crops(rng, off, off + b.n, b.n, b.h + 2 * pad - oh + 1, b.w + 2 * pad - ow + 1, 0);
    nn_kernel_crop(nn_tensor_data(out), nn_tensor_data(x), off, off + b.n, b.n, b.c, b.h, b.w, oh,
                   ow, pad);
  }
  release(&sc);
  return sc.failed ? NN_ERR_NOMEM : NN_OK;
}

nn_status nn_gaussian_noise(nn_tensor *out, const nn_tensor *x, nn_rng *rng, double std) {
  int64_t numel = nn_tensor_numel(x);
  nn_rng_normal(rng, nn_tensor_data(out), numel, 0, (float)std);
  nn_kernel_add_into(nn_tensor_data(out), nn_tensor_data(x), numel);
  return NN_OK;
}

nn_status nn_normalize(nn_tensor *out, const nn_tensor *x, const nn_normalize_args *args) {
  batch b = batch_of(x);
  const float *mean = args->mean, *sd = args->std;
  scratch sc = {0};
  /* one value for every channel: spread it, as the kernel reads one per channel */
  if (args->nmean != b.c) {
    float *v = take(&sc, b.c, sizeof(float));
    for (int64_t k = 0; v && k < b.c; k++) v[k] = args->mean[0];
    mean = v;
  }
  if (args->nstd != b.c) {
    float *v = take(&sc, b.c, sizeof(float));
    for (int64_t k = 0; v && k < b.c; k++) v[k] = args->std[0];
    sd = v;
  }
  if (!sc.failed)
    nn_kernel_normalize(nn_tensor_data(out), nn_tensor_data(x), mean, sd, b.n, b.c, b.h * b.w);
  release(&sc);
  return sc.failed ? NN_ERR_NOMEM : NN_OK;
}
