/* Pooling (nn_pool.h). The kernels against naive direct loops:
 * overlapping windows, padding, dilation, ceil_mode, ties and NaN for
 * max; count_include_pad and divisor_override for average; output-size
 * rules against PyTorch's. The entry points nn_max_pool2d and
 * nn_avg_pool2d, forward and backward through nn_backward: 4-D and 3-D
 * inputs, non-contiguous ones, the node's arguments and saved 0-based
 * positions, and every allocation failing in turn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_pool.h"
#include "tensors.h"

/* ---- kernels ---- */

static nn_pool2d_geom pool_geom(int64_t planes, int64_t h, int64_t w, int64_t kh, int64_t kw,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                                int64_t dw, bool ceil_mode) {
  nn_pool2d_geom g = {.planes = planes, .h = h, .w = w, .kh = kh, .kw = kw, .sh = sh, .sw = sw,
                      .ph = ph, .pw = pw, .dh = dh, .dw = dw, .count_include_pad = true};
  g.oh = nn_pool_out_size(h, kh, sh, ph, dh, ceil_mode);
  g.ow = nn_pool_out_size(w, kw, sw, pw, dw, ceil_mode);
  return g;
}

/* Max of each window by direct loops: NaN wins (the last NaN, as
 * PyTorch), ties keep the first; a window with no cell >= -inf keeps its
 * first in-range cell. */
static void naive_max(double *out, int64_t *idx, const float *x, const nn_pool2d_geom *g) {
  for (int64_t p = 0; p < g->planes; p++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        double best = -INFINITY;
        int64_t at = -1;
        for (int64_t i = 0; i < g->kh; i++)
          for (int64_t j = 0; j < g->kw; j++) {
            int64_t iy = oy * g->sh - g->ph + i * g->dh, ix = ox * g->sw - g->pw + j * g->dw;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
            double v = x[(p * g->h + iy) * g->w + ix];
            if (at < 0) at = iy * g->w + ix;
            if (v > best || isnan(v)) best = v, at = iy * g->w + ix;
          }
        out[(p * g->oh + oy) * g->ow + ox] = best;
        idx[(p * g->oh + oy) * g->ow + ox] = at;
      }
}

static void check_max_pool(const nn_pool2d_geom *g, const float *x) {
  int64_t on = g->planes * g->oh * g->ow, xn = g->planes * g->h * g->w;
  double *ref = malloc(sizeof(double) * (size_t)on);
  int64_t *ridx = malloc(sizeof(int64_t) * (size_t)on), *idx = malloc(sizeof(int64_t) * (size_t)on);
  float *out = malloc(sizeof(float) * (size_t)on), *out2 = malloc(sizeof(float) * (size_t)on);
  naive_max(ref, ridx, x, g);
  nn_kernel_max_pool2d_forward(out, idx, x, g);
  nn_kernel_max_pool2d_forward(out2, NULL, x, g); /* without indices: same values */
  bool same = true;
  for (int64_t i = 0; i < on; i++) {
    bool eq = (isnan(ref[i]) && isnan(out[i])) || out[i] == ref[i];
    same = same && eq && idx[i] == ridx[i] && memcmp(&out[i], &out2[i], sizeof(float)) == 0;
  }
  CHECK(same);
  if (!same)
    fprintf(stderr, "  max pool %lldx%lld, kernel %lldx%lld, stride %lldx%lld, pad %lldx%lld, dilation %lldx%lld\n",
            (long long)g->h, (long long)g->w, (long long)g->kh, (long long)g->kw, (long long)g->sh,
            (long long)g->sw, (long long)g->ph, (long long)g->pw, (long long)g->dh, (long long)g->dw);
  /* backward: each output's gradient lands on its maximum, added */
  float *gout = random_floats(on), *gx = random_floats(xn);
  double *egx = malloc(sizeof(double) * (size_t)xn);
  for (int64_t i = 0; i < xn; i++) egx[i] = gx[i];
  for (int64_t i = 0; i < on; i++) egx[i / (g->oh * g->ow) * g->h * g->w + ridx[i]] += gout[i];
  nn_kernel_max_pool2d_backward(gx, gout, idx, g);
  CHECK(max_err(gx, egx, xn) < 1e-6);
  free(ref), free(ridx), free(idx), free(out), free(out2), free(gout), free(gx), free(egx);
}

/* Values from a small set, so windows often hold ties. */
static float *tie_floats(int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) p[i] = (float)floor(rnd() * 3);
  return p;
}

#define MAX_CASE(values, ...)                            \
  do {                                                   \
    nn_pool2d_geom g_ = pool_geom(__VA_ARGS__);          \
    float *x_ = values(g_.planes * g_.h * g_.w);         \
    check_max_pool(&g_, x_);                             \
    free(x_);                                            \
  } while (0)

static void test_max_pool(void) {
  /* planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ceil_mode */
  MAX_CASE(random_floats, 6, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false);  /* the 2x2 fast path */
  MAX_CASE(random_floats, 3, 7, 9, 2, 2, 2, 2, 0, 0, 1, 1, false);  /* odd sizes: last cells dropped */
  MAX_CASE(random_floats, 3, 7, 9, 2, 2, 2, 2, 0, 0, 1, 1, true);   /* ceil_mode: partial windows */
  MAX_CASE(random_floats, 2, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, false);  /* overlapping, padded */
  MAX_CASE(random_floats, 2, 9, 8, 3, 2, 2, 1, 1, 1, 1, 1, true);
  MAX_CASE(random_floats, 2, 10, 11, 3, 3, 2, 3, 1, 0, 2, 2, false); /* dilated */
  MAX_CASE(random_floats, 2, 10, 11, 3, 3, 2, 2, 1, 1, 2, 1, true);
  MAX_CASE(random_floats, 1, 5, 5, 5, 5, 5, 5, 2, 2, 1, 1, true);
  MAX_CASE(tie_floats, 4, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, false);
  MAX_CASE(tie_floats, 3, 6, 14, 2, 2, 2, 2, 0, 0, 1, 1, false);
  MAX_CASE(tie_floats, 3, 6, 22, 2, 2, 2, 2, 0, 0, 1, 1, false);
  MAX_CASE(tie_floats, 4, 8, 9, 3, 3, 2, 2, 1, 1, 1, 1, true);
  MAX_CASE(tie_floats, 2, 6, 6, 4, 2, 1, 1, 2, 1, 1, 1, false);
}

/* Negative infinities and NaN: -inf windows keep their first cell; NaN
 * propagates, in the fast path and the general one. */
static void test_max_pool_special(void) {
  float x[16] = {-INFINITY, -INFINITY, 1, NAN, -INFINITY, -INFINITY, 2, 3,
                 NAN, 0, 5, 5, 1, NAN, 5, 6};
  nn_pool2d_geom fast = pool_geom(1, 4, 4, 2, 2, 2, 2, 0, 0, 1, 1, false);
  check_max_pool(&fast, x);
  float out[4];
  int64_t idx[4];
  nn_kernel_max_pool2d_forward(out, idx, x, &fast);
  CHECK(out[0] == -INFINITY && idx[0] == 0);
  CHECK(isnan(out[1]) && idx[1] == 3);
  CHECK(isnan(out[2]) && idx[2] == 13); /* the last NaN */
  CHECK(out[3] == 6 && idx[3] == 15);
  nn_pool2d_geom general = pool_geom(1, 4, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  check_max_pool(&general, x);
  /* Rows of 8 and 7 windows: four at a time, with the overlapping tail. */
  float wide[2 * 16 + 2 * 14];
  for (int i = 0; i < 60; i++) {
    int r = (int)floor((rnd() + 1) * 4);
    wide[i] = r == 0 ? NAN : r == 1 ? -INFINITY : r == 2 ? 1 : (float)rnd();
  }
  nn_pool2d_geom w16 = pool_geom(1, 2, 16, 2, 2, 2, 2, 0, 0, 1, 1, false);
  nn_pool2d_geom w14 = pool_geom(1, 2, 14, 2, 2, 2, 2, 0, 0, 1, 1, false);
  check_max_pool(&w16, wide);
  check_max_pool(&w14, wide + 32);
}

/* Average pooling by direct loops, PyTorch's divisor rules. */
static void naive_avg(double *out, const float *x, const nn_pool2d_geom *g) {
  for (int64_t p = 0; p < g->planes; p++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        double sum = 0;
        int64_t inside = 0, padded = 0;
        for (int64_t i = 0; i < g->kh; i++)
          for (int64_t j = 0; j < g->kw; j++) {
            int64_t iy = oy * g->sh - g->ph + i, ix = ox * g->sw - g->pw + j;
            if (iy >= g->h + g->ph || ix >= g->w + g->pw) continue; /* beyond the padding (ceil) */
            padded++;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
            inside++;
            sum += x[(p * g->h + iy) * g->w + ix];
          }
        int64_t div = g->divisor ? g->divisor : g->count_include_pad ? padded : inside;
        out[(p * g->oh + oy) * g->ow + ox] = inside ? sum / (double)div : 0;
      }
}

static void check_avg_pool(const nn_pool2d_geom *g) {
  int64_t on = g->planes * g->oh * g->ow, xn = g->planes * g->h * g->w;
  float *x = random_floats(xn), *out = malloc(sizeof(float) * (size_t)on);
  double *ref = malloc(sizeof(double) * (size_t)on);
  naive_avg(ref, x, g);
  nn_kernel_avg_pool2d_forward(out, x, g);
  CHECK(max_err(out, ref, on) < 1e-6);
  /* backward = the transpose of the forward's linear map: probe it with
   * one-hot output gradients through the naive forward of one-hot inputs */
  float *gout = random_floats(on), *gx = random_floats(xn);
  double *egx = malloc(sizeof(double) * (size_t)xn);
  float *hot = calloc((size_t)xn, sizeof(float));
  for (int64_t i = 0; i < xn; i++) {
    hot[i] = 1;
    naive_avg(ref, hot, g);
    hot[i] = 0;
    egx[i] = gx[i];
    for (int64_t k = 0; k < on; k++) egx[i] += ref[k] * gout[k];
  }
  nn_kernel_avg_pool2d_backward(gx, gout, g);
  CHECK(max_err(gx, egx, xn) < 1e-6);
  free(x), free(out), free(ref), free(gout), free(gx), free(egx), free(hot);
}

static void test_avg_pool(void) {
  for (int mode = 0; mode < 4; mode++) {
    bool include = mode & 1, ceil_mode = mode & 2;
    nn_pool2d_geom cases[] = {
        pool_geom(3, 8, 8, 2, 2, 2, 2, 0, 0, 1, 1, ceil_mode),
        pool_geom(2, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1, ceil_mode),
        pool_geom(2, 6, 7, 3, 2, 1, 2, 1, 1, 1, 1, ceil_mode),
        pool_geom(1, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, ceil_mode),
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
      cases[i].count_include_pad = include;
      check_avg_pool(&cases[i]);
    }
  }
  nn_pool2d_geom g = pool_geom(2, 7, 6, 3, 3, 2, 2, 1, 1, 1, 1, true);
  g.divisor = 5;
  check_avg_pool(&g);
}

/* PyTorch's output sizes (torch 1.13, F.max_pool2d shapes). */
static void test_pool_out_size(void) {
  CHECK(nn_pool_out_size(28, 2, 2, 0, 1, false) == 14);
  CHECK(nn_pool_out_size(7, 2, 2, 0, 1, false) == 3);
  CHECK(nn_pool_out_size(7, 2, 2, 0, 1, true) == 4);
  CHECK(nn_pool_out_size(5, 3, 2, 1, 1, true) == 3);  /* last window would start in the padding */
  CHECK(nn_pool_out_size(6, 3, 2, 1, 1, true) == 4);
  CHECK(nn_pool_out_size(10, 3, 3, 0, 2, false) == 2);
  CHECK(nn_pool_out_size(1, 2, 2, 0, 1, false) == 0); /* too small: the caller refuses */
}


/* ---- entry points ---- */

/* The output of pooling x: x's shape with the last two dims pooled. */
static nn_tensor *pool_output(const nn_tensor *x, const nn_pool2d_geom *g) {
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, x->shape, sizeof shape);
  shape[x->ndim - 2] = g->oh, shape[x->ndim - 1] = g->ow;
  return nn_tensor_empty(NN_FLOAT32, x->ndim, shape);
}

static nn_pool2d_args pool_args(int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                                int64_t pw, int64_t dh, int64_t dw, bool ceil_mode) {
  return (nn_pool2d_args){.kh = kh, .kw = kw, .sh = sh, .sw = sw, .ph = ph, .pw = pw,
                          .dh = dh, .dw = dw, .ceil_mode = ceil_mode, .count_include_pad = true};
}

/* One pool's entry point on x (a leaf wanting its gradient) against the
 * naive loops: the output, the node (its op, arguments and, for max, the
 * saved 0-based positions), then nn_backward with a random gradient. */
static void check_pool_entry(bool max, int ndim, const int64_t *shape, const nn_pool2d_args *a,
                             bool transposed) {
  nn_tensor *x = random_tensor(ndim, shape, transposed);
  x->requires_grad = true;
  nn_pool2d_geom g = nn_pool2d_geometry(x, a);
  nn_tensor *out = pool_output(x, &g);
  CHECK((max ? nn_max_pool2d : nn_avg_pool2d)(out, x, a) == NN_OK);
  nn_node *node = out->grad_fn;
  CHECK(node && node->op == (max ? NN_OP_MAX_POOL2D : NN_OP_AVG_POOL2D));
  CHECK(node && !memcmp(&node->args.pool2d, a, sizeof *a));
  int64_t on = nn_tensor_numel(out), xn = nn_tensor_numel(x), plane = g.h * g.w;
  float *xf = floats_of(x);
  nn_tensor *gout = random_tensor(out->ndim, out->shape, false);
  const float *go = nn_tensor_data(gout);
  double *ref = malloc(sizeof(double) * (size_t)(on + xn)), *egx = ref + on;
  for (int64_t i = 0; i < xn; i++) egx[i] = 0;
  if (max) {
    int64_t *ridx = malloc(sizeof(int64_t) * (size_t)on);
    naive_max(ref, ridx, xf, &g);
    bool same = node && node->nsaved == 1 && node->saved[0]->dtype == NN_INT64;
    for (int64_t i = 0; same && i < on; i++) same = ((int64_t *)nn_tensor_data(node->saved[0]))[i] == ridx[i];
    CHECK(same);
    for (int64_t i = 0; i < on; i++) egx[i / (g.oh * g.ow) * plane + ridx[i]] += go[i];
    free(ridx);
  } else {
    float *hot = calloc((size_t)(xn > 0 ? xn : 1), sizeof(float));
    double *probe = malloc(sizeof(double) * (size_t)(on > 0 ? on : 1));
    for (int64_t i = 0; i < xn; i++) { /* the transpose of the linear map, as check_avg_pool */
      hot[i] = 1;
      naive_avg(probe, hot, &g);
      hot[i] = 0;
      for (int64_t k = 0; k < on; k++) egx[i] += probe[k] * go[k];
    }
    naive_avg(ref, xf, &g);
    free(hot), free(probe);
  }
  CHECK(max_err(nn_tensor_data(out), ref, on) < 1e-6);
  CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
  CHECK(x->grad && max_err(nn_tensor_data(x->grad), egx, xn) < 1e-6);
  free(xf), free(ref);
  nn_tensor_release(out), nn_tensor_release(gout), nn_tensor_release(x);
}

static void test_max_pool_entry(void) {
  nn_pool2d_args fast = pool_args(2, 2, 2, 2, 0, 0, 1, 1, false);
  nn_pool2d_args padded = pool_args(3, 2, 2, 1, 1, 1, 2, 1, true);
  check_pool_entry(true, 4, (int64_t[]){2, 3, 8, 10}, &fast, false);
  check_pool_entry(true, 4, (int64_t[]){2, 3, 8, 10}, &fast, true);
  check_pool_entry(true, 3, (int64_t[]){3, 9, 7}, &padded, false);
  check_pool_entry(true, 4, (int64_t[]){2, 2, 9, 7}, &padded, true);
}

static void test_avg_pool_entry(void) {
  nn_pool2d_args plain = pool_args(2, 2, 2, 2, 0, 0, 1, 1, false);
  nn_pool2d_args ceil_excluding = pool_args(3, 3, 2, 2, 1, 1, 1, 1, true);
  ceil_excluding.count_include_pad = false;
  nn_pool2d_args divisor = pool_args(2, 3, 1, 2, 1, 0, 1, 1, false);
  divisor.divisor = 5;
  check_pool_entry(false, 4, (int64_t[]){2, 3, 6, 8}, &plain, false);
  check_pool_entry(false, 4, (int64_t[]){2, 2, 7, 9}, &ceil_excluding, true);
  check_pool_entry(false, 3, (int64_t[]){2, 5, 6}, &divisor, false);
  check_pool_entry(false, 4, (int64_t[]){1, 2, 5, 6}, &divisor, true);
}

/* Without an input wanting a gradient, nothing is recorded (max pooling
 * then writes no positions) and the values are the same. */
static void test_pool_entry_no_grad(void) {
  nn_pool2d_args a = pool_args(2, 2, 2, 2, 0, 0, 1, 1, false);
  for (int max = 0; max < 2; max++) {
    nn_tensor *x = random_tensor(4, (int64_t[]){2, 3, 6, 6}, true);
    nn_pool2d_geom g = nn_pool2d_geometry(x, &a);
    nn_tensor *out = pool_output(x, &g);
    CHECK((max ? nn_max_pool2d : nn_avg_pool2d)(out, x, &a) == NN_OK);
    CHECK(!out->grad_fn);
    float *xf = floats_of(x);
    double ref[2 * 3 * 3 * 3];
    int64_t idx[2 * 3 * 3 * 3];
    if (max) naive_max(ref, idx, xf, &g);
    else naive_avg(ref, xf, &g);
    CHECK(max_err(nn_tensor_data(out), ref, nn_tensor_numel(out)) < 1e-6);
    free(xf);
    nn_tensor_release(out), nn_tensor_release(x);
  }
}

/* Every allocation of an entry point (the contiguous copy, the node, the
 * saved positions) made to fail in turn: NN_ERR_NOMEM, nothing leaked,
 * and success once memory is there. */
static void test_pool_entry_out_of_memory(void) {
  nn_pool2d_args a = pool_args(3, 3, 2, 2, 1, 1, 1, 1, false);
  for (int max = 0; max < 2; max++) {
    nn_tensor *x = random_tensor(4, (int64_t[]){2, 2, 7, 6}, true);
    x->requires_grad = true;
    nn_pool2d_geom g = nn_pool2d_geometry(x, &a);
    uint64_t live = nn_memory_stats_get().live_count;
    int failures = 0;
    nn_status st = NN_ERR_NOMEM;
    for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
      nn_tensor *out = pool_output(x, &g);
      nn_alloc_fail_after(n);
      st = (max ? nn_max_pool2d : nn_avg_pool2d)(out, x, &a);
      nn_alloc_fail_after(0);
      failures += st == NN_ERR_NOMEM;
      CHECK(st == NN_ERR_NOMEM || (st == NN_OK && out->grad_fn));
      nn_tensor_release(out);
    }
    CHECK(failures > 0 && st == NN_OK);
    CHECK(nn_memory_stats_get().live_count == live);
    nn_tensor_release(x);
  }
}

/* ---- adaptive average pooling ---- */

/* Output cell i's window along a dim: [floor(i*in/out), ceil((i+1)*in/out)). */
static void naive_window(int64_t i, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  *lo = (int64_t)floor((double)i * (double)in / (double)out);
  *hi = (int64_t)ceil((double)(i + 1) * (double)in / (double)out);
}

/* out = each window's mean; gx = gout spread over each window. */
static void naive_adaptive(double *out, double *gx, const float *x, const float *gout,
                           int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow) {
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        int64_t y0, y1, x0, x1;
        naive_window(oy, h, oh, &y0, &y1);
        naive_window(ox, w, ow, &x0, &x1);
        double sum = 0, cells = (double)((y1 - y0) * (x1 - x0));
        int64_t at = (p * oh + oy) * ow + ox;
        for (int64_t iy = y0; iy < y1; iy++)
          for (int64_t ix = x0; ix < x1; ix++) {
            sum += x[(p * h + iy) * w + ix];
            gx[(p * h + iy) * w + ix] += gout[at] / cells;
          }
        out[at] = sum / cells;
      }
}

static void test_adaptive_kernel(void) {
  /* planes, h, w, oh, ow: divisors, non-divisors, larger than the input */
  const int64_t cases[][5] = {{3, 6, 6, 2, 3}, {2, 7, 5, 3, 4}, {2, 3, 2, 5, 4}, {1, 5, 7, 1, 1},
                              {4, 10, 9, 4, 7}, {1, 1, 1, 3, 2}};
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    int64_t P = cases[k][0], h = cases[k][1], w = cases[k][2], oh = cases[k][3], ow = cases[k][4];
    int64_t xn = P * h * w, on = P * oh * ow;
    float *x = random_floats(xn), *gout = random_floats(on), *gx = random_floats(xn);
    float *out = random_floats(on); /* garbage the forward overwrites */
    double *ref = calloc((size_t)on + 1, sizeof(double)), *rgx = calloc((size_t)xn + 1, sizeof(double));
    for (int64_t i = 0; i < xn; i++) rgx[i] = gx[i]; /* the backward adds */
    naive_adaptive(ref, rgx, x, gout, P, h, w, oh, ow);
    nn_kernel_adaptive_avg_pool2d_forward(out, x, P, h, w, oh, ow);
    CHECK(max_err(out, ref, on) < 1e-6);
    nn_kernel_adaptive_avg_pool2d_backward(gx, gout, P, h, w, oh, ow);
    CHECK(max_err(gx, rgx, xn) < 1e-6);
    free(x), free(gout), free(gx), free(out), free(ref), free(rgx);
  }
}

/* The entry point on strided 4-D and 3-D inputs: output, node, the
 * gradient through nn_backward; no node without requires_grad; every
 * allocation failing in turn. */
static void test_adaptive_entry(void) {
  for (int ndim = 3; ndim <= 4; ndim++) {
    const int64_t *xs = ndim == 4 ? (int64_t[]){2, 3, 7, 5} : (int64_t[]){3, 7, 5};
    nn_tensor *x = random_tensor(ndim, xs, true);
    int64_t os[4];
    memcpy(os, xs, sizeof(int64_t) * (size_t)ndim);
    os[ndim - 2] = 3, os[ndim - 1] = 4;
    nn_tensor *out = nn_tensor_empty(NN_FLOAT32, ndim, os), *gout = random_tensor(ndim, os, false);
    int64_t xn = nn_tensor_numel(x), on = nn_tensor_numel(out), P = xn / 35;
    CHECK(nn_adaptive_avg_pool2d(out, x) == NN_OK && !out->grad_fn);
    nn_tensor_release(out);
    x->requires_grad = true;
    out = nn_tensor_empty(NN_FLOAT32, ndim, os);
    CHECK(nn_adaptive_avg_pool2d(out, x) == NN_OK);
    CHECK(out->grad_fn && out->grad_fn->op == NN_OP_ADAPTIVE_AVG_POOL2D);
    float *xf = floats_of(x);
    double *ref = calloc((size_t)on, sizeof(double)), *rgx = calloc((size_t)xn, sizeof(double));
    naive_adaptive(ref, rgx, xf, nn_tensor_data(gout), P, 7, 5, 3, 4);
    CHECK(max_err(nn_tensor_data(out), ref, on) < 1e-6);
    CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
    CHECK(x->grad && max_err(nn_tensor_data(x->grad), rgx, xn) < 1e-6);
    free(xf), free(ref), free(rgx);
    nn_tensor_release(out), nn_tensor_release(gout);

    uint64_t live = nn_memory_stats_get().live_count;
    int failures = 0;
    nn_status st = NN_ERR_NOMEM;
    for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
      out = nn_tensor_empty(NN_FLOAT32, ndim, os);
      nn_alloc_fail_after(n);
      st = nn_adaptive_avg_pool2d(out, x);
      nn_alloc_fail_after(0);
      failures += st == NN_ERR_NOMEM;
      CHECK(st == NN_ERR_NOMEM || (st == NN_OK && out->grad_fn));
      nn_tensor_release(out);
    }
    CHECK(failures > 0 && st == NN_OK);
    CHECK(nn_memory_stats_get().live_count == live);
    nn_tensor_release(x);
  }
}

int main(void) {
  RUN(test_adaptive_kernel);
  RUN(test_adaptive_entry);
  RUN(test_max_pool);
  RUN(test_max_pool_special);
  RUN(test_avg_pool);
  RUN(test_pool_out_size);
  RUN(test_max_pool_entry);
  RUN(test_avg_pool_entry);
  RUN(test_pool_entry_no_grad);
  RUN(test_pool_entry_out_of_memory);
  return check_summary();
}
