/* Convolution and pooling kernels (nn_conv.h) against naive direct loops:
 * stride, padding (symmetric and the asymmetric 'same' of an even
 * kernel), dilation, rectangular kernels and images, N > 1, C > 1, bias or
 * none, 1x1 kernels, stride-1 'same' shapes (whose unfolding moves whole
 * blocks) and the others (row by row), through the direct kernel where
 * the CPU has one and through im2col + GEMM;
 * each backward with every subset of wanted gradients, accumulating into
 * buffers that already hold values. Pooling: overlapping windows,
 * padding, dilation, ceil_mode, ties and NaN for max; count_include_pad
 * and divisor_override for average. Output-size rules against PyTorch's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_conv.h"
#include "nn_threads.h"

static float *random_floats(int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) p[i] = (float)rnd();
  return p;
}

static float *copy_floats(const float *src, int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  memcpy(p, src, sizeof(float) * (size_t)n);
  return p;
}

/* Largest |a - b| relative to 1 + |b|. */
static double max_err(const float *a, const double *b, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(a[i] - b[i]) / (1 + fabs(b[i]));
    if (!(e <= worst)) worst = e; /* NaN counts as the worst */
  }
  return worst;
}

/* ---- convolution ---- */

/* A geometry from sizes; pad_total per dim is 2*pad, or the 'same'
 * total d*(k-1) with the odd cell after when same. */
static nn_conv2d_geom conv_geom(int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh,
                                int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw,
                                int64_t dh, int64_t dw, bool same) {
  nn_conv2d_geom g = {.n = n, .c = c, .h = h, .w = w, .o = o, .kh = kh, .kw = kw,
                      .sh = sh, .sw = sw, .dh = dh, .dw = dw};
  int64_t th = same ? dh * (kh - 1) : 2 * ph, tw = same ? dw * (kw - 1) : 2 * pw;
  g.ph = same ? th / 2 : ph;
  g.pw = same ? tw / 2 : pw;
  g.oh = nn_conv_out_size(h, kh, sh, th, dh);
  g.ow = nn_conv_out_size(w, kw, sw, tw, dw);
  return g;
}

/* Input cell under output (oy, ox) and tap (i, j), or -1 in padding. */
static int64_t tap_cell(const nn_conv2d_geom *g, int64_t oy, int64_t ox, int64_t i, int64_t j) {
  int64_t iy = oy * g->sh - g->ph + i * g->dh, ix = ox * g->sw - g->pw + j * g->dw;
  return iy < 0 || iy >= g->h || ix < 0 || ix >= g->w ? -1 : iy * g->w + ix;
}

/* Forward and all three gradients by direct loops, in double. */
static void naive_conv(double *out, double *gx, double *gw, double *gb, const float *x,
                       const float *w, const float *b, const float *gout,
                       const nn_conv2d_geom *g) {
  int64_t plane = g->h * g->w, P = g->oh * g->ow, ksz = g->kh * g->kw;
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t o = 0; o < g->o; o++)
      for (int64_t oy = 0; oy < g->oh; oy++)
        for (int64_t ox = 0; ox < g->ow; ox++) {
          int64_t at = (n * g->o + o) * P + oy * g->ow + ox;
          double acc = b ? b[o] : 0, go = gout[at];
          gb[o] += go;
          for (int64_t c = 0; c < g->c; c++)
            for (int64_t i = 0; i < g->kh; i++)
              for (int64_t j = 0; j < g->kw; j++) {
                int64_t cell = tap_cell(g, oy, ox, i, j);
                if (cell < 0) continue;
                int64_t xi = (n * g->c + c) * plane + cell, wi = (o * g->c + c) * ksz + i * g->kw + j;
                acc += (double)x[xi] * w[wi];
                gx[xi] += go * w[wi];
                gw[wi] += go * x[xi];
              }
          out[at] = acc;
        }
}

static const char *conv_case_name;

/* Forward with and without bias, and backward for every subset of
 * wanted gradients, against naive_conv. */
static void check_conv(const nn_conv2d_geom *g) {
  int64_t xn = g->n * g->c * g->h * g->w, wn = g->o * g->c * g->kh * g->kw;
  int64_t on = g->n * g->o * g->oh * g->ow;
  float *x = random_floats(xn), *w = random_floats(wn), *b = random_floats(g->o);
  float *gout = random_floats(on);
  double *ref = calloc((size_t)on + 1, sizeof(double)), *rgx = calloc((size_t)xn + 1, sizeof(double));
  double *rgw = calloc((size_t)wn + 1, sizeof(double)), *rgb = calloc((size_t)g->o + 1, sizeof(double));
  naive_conv(ref, rgx, rgw, rgb, x, w, b, gout, g);
  float *scratch = malloc(sizeof(float) * (nn_conv2d_scratch_floats(g) + 1));
  float *out = malloc(sizeof(float) * (size_t)(on + 1));
  for (int64_t i = 0; i < on; i++) out[i] = NAN; /* a cell not written shows */
  nn_kernel_conv2d_forward(out, x, w, b, g, scratch);
  double err = max_err(out, ref, on);
  CHECK(err < 1e-5);
  if (!(err < 1e-5)) fprintf(stderr, "  case %s: forward error %g\n", conv_case_name, err);
  for (int64_t i = 0; i < on; i++) ref[i] -= b[(i / (g->oh * g->ow)) % g->o];
  nn_kernel_conv2d_forward(out, x, w, NULL, g, scratch);
  CHECK(max_err(out, ref, on) < 1e-5);

  /* Gradient buffers start from random values: the backward adds. */
  float *gx0 = random_floats(xn), *gw0 = random_floats(wn), *gb0 = random_floats(g->o);
  for (int wanted = 1; wanted < 8; wanted++) {
    float *gx = copy_floats(gx0, xn), *gw = copy_floats(gw0, wn), *gb = copy_floats(gb0, g->o);
    nn_kernel_conv2d_backward(wanted & 1 ? gx : NULL, wanted & 2 ? gw : NULL, wanted & 4 ? gb : NULL,
                       gout, x, w, g, scratch);
    double *ex = malloc(sizeof(double) * (size_t)(xn + 1)), *ew = malloc(sizeof(double) * (size_t)(wn + 1));
    double *eb = malloc(sizeof(double) * (size_t)(g->o + 1));
    for (int64_t i = 0; i < xn; i++) ex[i] = gx0[i] + (wanted & 1 ? rgx[i] : 0);
    for (int64_t i = 0; i < wn; i++) ew[i] = gw0[i] + (wanted & 2 ? rgw[i] : 0);
    for (int64_t i = 0; i < g->o; i++) eb[i] = gb0[i] + (wanted & 4 ? rgb[i] : 0);
    double e = fmax(max_err(gx, ex, xn), fmax(max_err(gw, ew, wn), max_err(gb, eb, g->o)));
    CHECK(e < 1e-4);
    if (!(e < 1e-4))
      fprintf(stderr, "  case %s: backward (wanted %d) error %g\n", conv_case_name, wanted, e);
    free(gx), free(gw), free(gb), free(ex), free(ew), free(eb);
  }
  free(gx0), free(gw0), free(gb0), free(x), free(w), free(b), free(gout), free(ref);
  free(rgx), free(rgw), free(rgb), free(scratch), free(out);
}

#define CONV_CASE(name, ...)                      \
  do {                                            \
    conv_case_name = name;                        \
    nn_conv2d_geom g_ = conv_geom(__VA_ARGS__);   \
    check_conv(&g_);                              \
  } while (0)

static void test_conv_shapes(void) {
  /* n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, same */
  CONV_CASE("3x3 pad 1", 2, 3, 7, 7, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("1 channel", 3, 1, 9, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("no padding", 2, 2, 6, 5, 3, 3, 2, 1, 1, 0, 0, 1, 1, false);
  CONV_CASE("stride 2", 2, 3, 9, 8, 2, 3, 3, 2, 2, 1, 1, 1, 1, false);
  CONV_CASE("stride {2,1}", 1, 2, 7, 6, 3, 3, 3, 2, 1, 1, 0, 1, 1, false);
  CONV_CASE("stride {1,3}", 2, 2, 6, 10, 2, 2, 3, 1, 3, 0, 1, 1, 1, false);
  CONV_CASE("dilation 2", 2, 2, 9, 9, 3, 3, 3, 1, 1, 2, 2, 2, 2, false);
  CONV_CASE("dilation {1,2} pad {0,2}", 1, 3, 6, 8, 2, 2, 3, 1, 1, 0, 2, 1, 2, false);
  CONV_CASE("rect kernel 1x5", 2, 2, 5, 9, 3, 1, 5, 1, 1, 0, 2, 1, 1, false);
  CONV_CASE("rect kernel 4x2", 2, 2, 8, 5, 3, 4, 2, 1, 1, 1, 0, 1, 1, false);
  CONV_CASE("large padding", 1, 2, 3, 4, 2, 3, 3, 1, 1, 3, 2, 1, 1, false);
  CONV_CASE("kernel = image", 2, 3, 4, 5, 2, 4, 5, 1, 1, 0, 0, 1, 1, false);
  CONV_CASE("stride > kernel", 2, 2, 11, 10, 2, 2, 2, 3, 4, 0, 1, 1, 1, false);
  CONV_CASE("same 3x3", 2, 3, 6, 7, 2, 3, 3, 1, 1, 0, 0, 1, 1, true);
  CONV_CASE("same 4x4 (even)", 2, 2, 6, 5, 3, 4, 4, 1, 1, 0, 0, 1, 1, true);
  CONV_CASE("same 2x3 dilated {3,2}", 1, 2, 7, 6, 2, 2, 3, 1, 1, 0, 0, 3, 2, true);
  CONV_CASE("1x1", 3, 4, 5, 6, 3, 1, 1, 1, 1, 0, 0, 1, 1, false);
  CONV_CASE("1x1 stride 2", 2, 3, 5, 6, 2, 1, 1, 2, 2, 0, 0, 1, 1, false);
  CONV_CASE("1x1 padded", 2, 3, 4, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("1x1 image", 2, 3, 1, 1, 2, 1, 1, 1, 1, 0, 0, 1, 1, false);
  CONV_CASE("empty batch", 0, 3, 5, 5, 2, 3, 3, 1, 1, 1, 1, 1, 1, false);
  /* Bigger images, many images. */
  CONV_CASE("big image", 2, 4, 96, 100, 3, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("big image, no padding", 1, 3, 130, 64, 2, 5, 5, 1, 1, 0, 0, 1, 1, false);
  CONV_CASE("many images", 40, 3, 8, 8, 5, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("many images, stride 2", 33, 2, 9, 7, 3, 3, 3, 2, 2, 1, 1, 1, 1, false);
}

/* Channel counts the direct kernel takes (whole tiles of 8, or >= 32 with
 * a partial tile), with odd heights, rows of several 16-column blocks,
 * dilation, even 'same' kernels and padding past the kernel's reach. */
static void test_conv_direct_shapes(void) {
  /* n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, same */
  CONV_CASE("8->8 3x3 pad 1, odd sizes", 2, 8, 7, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("16->8 same 4x4 dilated {2,1}", 2, 16, 6, 5, 8, 4, 4, 1, 1, 0, 0, 2, 1, true);
  CONV_CASE("8->33 2x5 pad {1,2}, 37 wide", 2, 8, 5, 37, 33, 2, 5, 1, 1, 1, 2, 1, 1, false);
  CONV_CASE("40->16 padding past the kernel", 2, 40, 3, 4, 16, 3, 3, 1, 1, 3, 2, 1, 1, false);
  CONV_CASE("8->8 dilation 2, no padding", 1, 8, 9, 18, 8, 3, 3, 1, 1, 0, 0, 2, 2, false);
  CONV_CASE("32->40 1x1 padded", 2, 32, 4, 5, 40, 1, 1, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("8->16 5x5, 1 row out", 2, 8, 5, 21, 16, 5, 5, 1, 1, 0, 2, 1, 1, false);
  CONV_CASE("1->8 (gx by GEMM)", 3, 1, 6, 17, 8, 3, 3, 1, 1, 1, 1, 1, 1, false);
}

/* The benchmark's shapes, once, so a fast path they take is covered. */
static void test_conv_cnn_shapes(void) {
  CONV_CASE("conv1 of the CNN", 4, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("conv2 of the CNN", 3, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1, false);
}

/* The same cases with the direct kernel turned off: where the CPU has
 * AVX-512, stride-1 cases above took the direct kernel, and here take
 * im2col + GEMM. */
static void test_conv_shapes_gemm_only(void) {
  nn_conv2d_use_direct(false);
  test_conv_shapes();
  test_conv_direct_shapes();
  test_conv_cnn_shapes();
  nn_conv2d_use_direct(true);
}

/* Every pass splits the images among threads: one worker, and three
 * (shares of unequal size for 2 or 3 images), each path. */
static void test_conv_workers(void) {
  int before = nn_get_num_threads();
  for (int workers = 1; workers <= 3; workers += 2) {
    nn_set_num_threads(workers);
    test_conv_shapes();
    test_conv_direct_shapes();
    CONV_CASE("8->8, 5 images", 5, 8, 6, 7, 8, 3, 3, 1, 1, 1, 1, 1, 1, false);
    nn_conv2d_use_direct(false);
    test_conv_direct_shapes();
    nn_conv2d_use_direct(true);
  }
  nn_set_num_threads(before);
}

static void test_conv_out_size(void) {
  CHECK(nn_conv_out_size(28, 3, 1, 2, 1) == 28);
  CHECK(nn_conv_out_size(28, 3, 2, 2, 1) == 14);
  CHECK(nn_conv_out_size(7, 3, 2, 0, 1) == 3);
  CHECK(nn_conv_out_size(7, 3, 1, 0, 3) == 1);  /* dilated kernel spans 7 */
  CHECK(nn_conv_out_size(6, 3, 1, 0, 3) <= 0);  /* does not fit */
  CHECK(nn_conv_out_size(2, 5, 1, 0, 1) <= 0);
}

/* The CONV2D node through nn_backward, with the scratch allocation (and
 * every other) made to fail in turn: the walk reports NO_MEMORY, writes
 * no gradient, and succeeds once memory is there. */
static void test_conv_node_out_of_memory(void) {
  nn_conv2d_geom g = conv_geom(2, 3, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){2, 3, 6, 5});
  nn_tensor *w = nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){4, 3, 3, 3});
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){2, 4, g.oh, g.ow});
  nn_tensor *gout = nn_tensor_empty(NN_FLOAT32, 4, out->shape);
  float *px = nn_tensor_data(x), *pw = nn_tensor_data(w), *pg = nn_tensor_data(gout);
  for (int64_t i = 0; i < nn_tensor_numel(x); i++) px[i] = (float)rnd();
  for (int64_t i = 0; i < nn_tensor_numel(w); i++) pw[i] = (float)rnd();
  for (int64_t i = 0; i < nn_tensor_numel(gout); i++) pg[i] = (float)rnd();
  x->requires_grad = w->requires_grad = true;
  nn_node *node = nn_node_new(NN_OP_CONV2D, 3, (nn_tensor *[]){x, w, NULL});
  nn_node_save(node, x);
  nn_node_save(node, w);
  int64_t params[] = {g.sh, g.sw, g.ph, g.pw, g.dh, g.dw};
  memcpy(node->params, params, sizeof params);
  nn_node_attach(node, out);
  int failures = 0;
  nn_backward_error err = {NN_BACKWARD_NO_MEMORY, NULL};
  for (uint64_t n = 1; n < 20 && err.status == NN_BACKWARD_NO_MEMORY; n++) {
    nn_alloc_fail_after(n);
    err = nn_backward(out, gout, true);
    nn_alloc_fail_after(0);
    if (err.status != NN_BACKWARD_NO_MEMORY) break;
    failures++;
    bool clean = true; /* nothing added yet */
    for (int t = 0; t < 2; t++) {
      nn_tensor *gt = t ? w->grad : x->grad;
      for (int64_t i = 0; gt && i < nn_tensor_numel(gt); i++)
        clean = clean && ((float *)nn_tensor_data(gt))[i] == 0;
    }
    CHECK(clean);
  }
  CHECK(failures > 0);
  CHECK(err.status == NN_BACKWARD_OK);
  /* the gradients equal the kernel's */
  float *gx = calloc((size_t)nn_tensor_numel(x), sizeof(float));
  float *gw = calloc((size_t)nn_tensor_numel(w), sizeof(float));
  float *scratch = malloc(sizeof(float) * (nn_conv2d_scratch_floats(&g) + 1));
  nn_kernel_conv2d_backward(gx, gw, NULL, pg, px, pw, &g, scratch);
  CHECK(x->grad && w->grad && !memcmp(gx, nn_tensor_data(x->grad), sizeof(float) * (size_t)nn_tensor_numel(x)));
  CHECK(w->grad && !memcmp(gw, nn_tensor_data(w->grad), sizeof(float) * (size_t)nn_tensor_numel(w)));
  free(gx), free(gw), free(scratch);
  nn_tensor_release(out); /* drops the node, which drops its references */
  nn_tensor_release(gout);
  nn_tensor_release(x), nn_tensor_release(w); /* and their .grad */
}

/* ---- pooling ---- */

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

int main(void) {
  RUN(test_conv_shapes);
  RUN(test_conv_direct_shapes);
  RUN(test_conv_workers);
  RUN(test_conv_cnn_shapes);
  RUN(test_conv_shapes_gemm_only);
  RUN(test_conv_out_size);
  RUN(test_conv_node_out_of_memory);
  RUN(test_max_pool);
  RUN(test_max_pool_special);
  RUN(test_avg_pool);
  RUN(test_pool_out_size);
  return check_summary();
}
