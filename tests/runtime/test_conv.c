/* Convolution (nn_conv.h). The kernels against naive direct loops: stride, padding (symmetric and the asymmetric 'same' of an even
 * kernel), dilation, rectangular kernels and images, N > 1, C > 1, bias or
 * none, 1x1 kernels, stride-1 'same' shapes (whose unfolding moves whole
 * blocks) and the others (row by row), through the direct kernel where
 * the CPU has one and through im2col + GEMM;
 * each backward with every subset of wanted gradients, accumulating into
 * buffers that already hold values. Output-size and 'same' padding rules.
 * The entry point nn_conv2d, forward and backward through nn_backward:
 * non-contiguous operands, bias or none, the node's arguments, and every
 * allocation failing in turn, forward and backward. Pooling is
 * test_pool.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_conv.h"
#include "nn_conv_dnnl.h"
#include "nn_threads.h"
#include "tensors.h"

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

static int64_t groups_of(const nn_conv2d_geom *g) { return g->groups > 1 ? g->groups : 1; }

/* Forward and all three gradients by direct loops, in double; output
 * channel o of a grouped convolution reads input channels
 * o / (O/groups) * cg + [0, cg), cg = C/groups. */
static void naive_conv(double *out, double *gx, double *gw, double *gb, const float *x,
                       const float *w, const float *b, const float *gout,
                       const nn_conv2d_geom *g) {
  int64_t plane = g->h * g->w, P = g->oh * g->ow, ksz = g->kh * g->kw;
  int64_t cg = g->c / groups_of(g), og = g->o / groups_of(g);
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t o = 0; o < g->o; o++)
      for (int64_t oy = 0; oy < g->oh; oy++)
        for (int64_t ox = 0; ox < g->ow; ox++) {
          int64_t at = (n * g->o + o) * P + oy * g->ow + ox;
          double acc = b ? b[o] : 0, go = gout[at];
          gb[o] += go;
          for (int64_t c = 0; c < cg; c++)
            for (int64_t i = 0; i < g->kh; i++)
              for (int64_t j = 0; j < g->kw; j++) {
                int64_t cell = tap_cell(g, oy, ox, i, j);
                if (cell < 0) continue;
                int64_t xi = (n * g->c + o / og * cg + c) * plane + cell;
                int64_t wi = (o * cg + c) * ksz + i * g->kw + j;
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
  int64_t xn = g->n * g->c * g->h * g->w, wn = g->o * g->c / groups_of(g) * g->kh * g->kw;
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
    /* gw and gb sum N*OH*OW products in float32, whose rounding grows
     * with that length as sqrt (oneDNN sums an image's positions in one
     * run, a GEMM in blocks): 4e-4 for the big image's 19,200 */
    double sums = fmax(1.0, sqrt((double)(g->n * g->oh * g->ow)) / 32.0);
    double e = fmax(max_err(gx, ex, xn), fmax(max_err(gw, ew, wn), max_err(gb, eb, g->o)) / sums);
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

/* The same with groups (the kernels' three grouped paths: depthwise
 * channels-last, few channels per group by planes, many by GEMMs). */
#define GROUPED_CASE(name, groups_, ...)          \
  do {                                            \
    conv_case_name = name;                        \
    nn_conv2d_geom g_ = conv_geom(__VA_ARGS__);   \
    g_.groups = groups_;                          \
    check_conv(&g_);                              \
  } while (0)

static void test_conv_groups(void) {
  /* groups, n, c, h, w, o, kh, kw, sh, sw, ph, pw, dh, dw, same */
  /* 8 channels and more: channels last */
  GROUPED_CASE("depthwise 16 channels", 16, 2, 16, 6, 5, 16, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise 17, stride 2", 17, 3, 17, 7, 8, 17, 3, 3, 2, 2, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise 8 channels, 1x1 images", 8, 2, 8, 1, 1, 8, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise 24 channels, rect dilated", 24, 2, 24, 9, 7, 24, 3, 2, 2, 1, 2, 1, 2, 3,
               false);
  GROUPED_CASE("depthwise 9 channels, same even", 9, 1, 9, 5, 6, 9, 2, 4, 1, 1, 0, 0, 1, 1, true);
  /* fewer: plane by plane */
  GROUPED_CASE("depthwise 3x3 pad 1", 4, 2, 4, 6, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise stride 2", 6, 3, 6, 7, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise 1x1 images", 5, 2, 5, 1, 1, 5, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise rect dilated", 3, 2, 3, 9, 7, 3, 3, 2, 2, 1, 2, 1, 2, 3, false);
  GROUPED_CASE("depthwise x2 multiplier", 3, 2, 3, 5, 6, 6, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("depthwise same even", 4, 1, 4, 5, 6, 4, 2, 4, 1, 1, 0, 0, 1, 1, true);
  GROUPED_CASE("depthwise no padding, stride 3", 2, 2, 2, 8, 9, 2, 3, 3, 3, 3, 0, 0, 1, 1, false);
  GROUPED_CASE("groups 2, 3 per group", 2, 2, 6, 5, 5, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("groups 4, stride 2, 17 wide", 4, 1, 8, 5, 17, 8, 3, 3, 2, 2, 1, 1, 1, 1, false);
  /* rows of 16 and 32 cells, 3 taps wide: whole blocks of 16, 3 taps at a time */
  GROUPED_CASE("groups 4, 16 wide", 4, 2, 8, 5, 16, 8, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("groups 2, 32 wide, dilated", 2, 1, 4, 4, 32, 6, 2, 3, 1, 1, 1, 2, 1, 2, false);
  GROUPED_CASE("groups 2, 32 wide, stride 2", 2, 1, 4, 4, 64, 2, 3, 3, 2, 2, 1, 1, 1, 1, false);
  GROUPED_CASE("groups 2, 12 per group (GEMMs)", 2, 2, 24, 5, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  GROUPED_CASE("groups 2, 10 per group, 1x1", 2, 2, 20, 3, 4, 6, 1, 1, 1, 1, 0, 0, 1, 1, false);
  GROUPED_CASE("groups 3, 9 per group, strided dilated", 3, 1, 27, 7, 6, 3, 3, 2, 2, 1, 1, 0, 1, 2,
               false);
}

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
  /* the last row and column never read: oneDNN's padding after would be -1 */
  CONV_CASE("stride 3 leaves a row", 2, 2, 10, 10, 3, 3, 3, 3, 3, 0, 0, 1, 1, false);
  CONV_CASE("same 3x3", 2, 3, 6, 7, 2, 3, 3, 1, 1, 0, 0, 1, 1, true);
  CONV_CASE("same 4x4 (even)", 2, 2, 6, 5, 3, 4, 4, 1, 1, 0, 0, 1, 1, true);
  CONV_CASE("same 2x3 dilated {3,2}", 1, 2, 7, 6, 2, 2, 3, 1, 1, 0, 0, 3, 2, true);
  CONV_CASE("1x1", 3, 4, 5, 6, 3, 1, 1, 1, 1, 0, 0, 1, 1, false);
  CONV_CASE("1x1 stride 2", 2, 3, 5, 6, 2, 1, 1, 2, 2, 0, 0, 1, 1, false);
  CONV_CASE("1x1 padded", 2, 3, 4, 4, 2, 1, 1, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("1x1 image", 2, 3, 1, 1, 2, 1, 1, 1, 1, 0, 0, 1, 1, false);
  /* ResNet-18's last 3x3 convolutions on a 32x32 input: taps off the image. */
  CONV_CASE("1x1 image, 3x3 pad 1", 2, 3, 1, 1, 2, 3, 3, 1, 1, 1, 1, 1, 1, false);
  CONV_CASE("2x2 image, 3x3 pad 1 stride 2", 2, 3, 2, 2, 2, 3, 3, 2, 2, 1, 1, 1, 1, false);
  CONV_CASE("1x2 image, 5x5 pad 2", 1, 2, 1, 2, 3, 5, 5, 1, 1, 2, 2, 1, 1, false);
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

/* The same cases image by image: with several images and fewer than 256
 * output positions each, the cases above unfolded the batch into one GEMM. */
static void test_conv_shapes_per_image(void) {
  nn_conv2d_use_batched(false);
  test_conv_shapes();
  test_conv_direct_shapes();
  test_conv_cnn_shapes();
  nn_conv2d_use_batched(true);
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
    test_conv_groups();
    /* grouped work large enough to be split (GROUPED_MIN_MACS per worker) */
    GROUPED_CASE("depthwise, 6 images", 32, 6, 32, 32, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, false);
    GROUPED_CASE("groups 8, 6 images", 8, 6, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, false);
    nn_conv2d_use_direct(false);
    test_conv_direct_shapes();
    nn_conv2d_use_direct(true);
    nn_conv2d_use_batched(false); /* the small images split among workers too */
    test_conv_shapes();
    nn_conv2d_use_batched(true);
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

static void test_conv_pad_same(void) {
  /* an even kernel: the odd cell after, as conv_geom's (and PyTorch's) */
  nn_conv2d_args a = {.sh = 1, .sw = 1, .dh = 3, .dw = 1};
  nn_conv2d_pad_same(&a, 2, 4);
  CHECK(a.total_ph == 3 && a.ph == 1 && a.total_pw == 3 && a.pw == 1);
  nn_conv2d_geom g = conv_geom(1, 2, 7, 6, 2, 2, 4, 1, 1, 0, 0, 3, 1, true);
  CHECK(g.oh == 7 && g.ow == 6 && g.ph == a.ph && g.pw == a.pw);
}

/* ---- the entry point ---- */

static nn_conv2d_args conv_args(int64_t sh, int64_t sw, int64_t ph, int64_t pw, int64_t dh,
                                int64_t dw) {
  return (nn_conv2d_args){.sh = sh, .sw = sw, .ph = ph, .pw = pw, .total_ph = 2 * ph,
                          .total_pw = 2 * pw, .dh = dh, .dw = dw};
}

static nn_conv2d_args grouped(nn_conv2d_args a, int64_t groups) {
  a.groups = groups;
  return a;
}

/* The operands of one case: x [N, C, H, W] (transposed: not contiguous),
 * w [O, C, KH, KW], b [O] or NULL, each a leaf wanting its gradient. */
typedef struct conv_operands {
  nn_tensor *x, *w, *b;
} conv_operands;

static conv_operands new_operands(const int64_t *xs, const int64_t *ws, bool bias, bool transposed) {
  conv_operands t = {random_tensor(4, xs, transposed), random_tensor(4, ws, false),
                     bias ? random_tensor(1, ws, false) : NULL};
  t.x->requires_grad = t.w->requires_grad = true;
  if (t.b) t.b->requires_grad = true;
  return t;
}

static void release_operands(conv_operands *t) {
  nn_tensor_release(t->x), nn_tensor_release(t->w), nn_tensor_release(t->b);
}

static nn_tensor *conv_output(const nn_conv2d_geom *g) {
  return nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){g->n, g->o, g->oh, g->ow});
}

/* nn_conv2d and its node against naive_conv: the output, the node's op
 * and arguments, then nn_backward with a random gradient into x, w, b. */
static void check_conv_entry(const int64_t *xs, const int64_t *ws, const nn_conv2d_args *a,
                             bool bias, bool transposed) {
  conv_operands t = new_operands(xs, ws, bias, transposed);
  nn_conv2d_geom g = nn_conv2d_geometry(t.x, t.w, a);
  nn_tensor *out = conv_output(&g), *gout = random_tensor(4, out->shape, false);
  CHECK(nn_conv2d(out, t.x, t.w, t.b, a) == NN_OK);
  nn_node *node = out->grad_fn;
  CHECK(node && node->op == NN_OP_CONV2D && !memcmp(&node->args.conv2d, a, sizeof *a));
  int64_t xn = nn_tensor_numel(t.x), wn = nn_tensor_numel(t.w), on = nn_tensor_numel(out);
  float *x = floats_of(t.x), *w = floats_of(t.w), *b = floats_of(t.b);
  double *ref = calloc((size_t)(on + xn + wn + g.o), sizeof(double));
  double *rgx = ref + on, *rgw = rgx + xn, *rgb = rgw + wn;
  naive_conv(ref, rgx, rgw, rgb, x, w, b, nn_tensor_data(gout), &g);
  CHECK(max_err(nn_tensor_data(out), ref, on) < 1e-5);
  CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
  CHECK(t.x->grad && max_err(nn_tensor_data(t.x->grad), rgx, xn) < 1e-4);
  CHECK(t.w->grad && max_err(nn_tensor_data(t.w->grad), rgw, wn) < 1e-4);
  CHECK(!bias || (t.b->grad && max_err(nn_tensor_data(t.b->grad), rgb, g.o) < 1e-4));
  free(x), free(w), free(b), free(ref);
  nn_tensor_release(out), nn_tensor_release(gout);
  release_operands(&t);
}

static void test_conv_entry(void) {
  nn_conv2d_args pad1 = conv_args(1, 1, 1, 1, 1, 1), strided = conv_args(2, 1, 1, 0, 2, 1);
  nn_conv2d_args same = conv_args(1, 1, 0, 0, 2, 1);
  nn_conv2d_pad_same(&same, 4, 3);
  check_conv_entry((int64_t[]){2, 3, 7, 6}, (int64_t[]){4, 3, 3, 3}, &pad1, true, false);
  check_conv_entry((int64_t[]){2, 3, 7, 6}, (int64_t[]){4, 3, 3, 3}, &pad1, false, true);
  check_conv_entry((int64_t[]){2, 2, 9, 8}, (int64_t[]){3, 2, 3, 2}, &strided, true, true);
  check_conv_entry((int64_t[]){1, 2, 6, 5}, (int64_t[]){2, 2, 4, 3}, &same, true, false);
  /* whole tiles of 8 channels: the direct kernel where the CPU has one */
  check_conv_entry((int64_t[]){2, 8, 5, 7}, (int64_t[]){8, 8, 3, 3}, &pad1, true, true);
  /* groups: depthwise, few and many channels per group */
  nn_conv2d_args dw = grouped(pad1, 4), g2 = grouped(strided, 2), g3 = grouped(pad1, 3);
  nn_conv2d_args dw16 = grouped(strided, 16);
  check_conv_entry((int64_t[]){2, 4, 6, 5}, (int64_t[]){4, 1, 3, 3}, &dw, true, true);
  check_conv_entry((int64_t[]){2, 16, 7, 6}, (int64_t[]){16, 1, 3, 2}, &dw16, true, true);
  check_conv_entry((int64_t[]){2, 4, 9, 8}, (int64_t[]){6, 2, 3, 2}, &g2, false, false);
  check_conv_entry((int64_t[]){1, 30, 5, 4}, (int64_t[]){6, 10, 3, 3}, &g3, true, true);
}

/* ---- transposed convolution ---- */

/* nn_conv_transpose2d and its node against naive_conv of the convolution
 * it transposes: given x as that convolution's output gradient, naive_conv's
 * input gradient is the result (less the bias), and given the result's
 * gradient gy as its input, its output is x's gradient and its weight
 * gradient w's. */
static void check_transpose_entry(const int64_t *xs, const int64_t *ws,
                                  const nn_conv_transpose2d_args *a, bool bias, bool transposed) {
  nn_tensor *x = random_tensor(4, xs, transposed), *w = random_tensor(4, ws, false);
  nn_conv2d_geom g = nn_conv_transpose2d_geometry(x, w, a);
  nn_tensor *b = bias ? random_tensor(1, (int64_t[]){g.c}, false) : NULL;
  x->requires_grad = w->requires_grad = true;
  if (b) b->requires_grad = true;
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){g.n, g.c, g.h, g.w});
  nn_tensor *gy = random_tensor(4, out->shape, false);
  CHECK(nn_conv_transpose2d(out, x, w, b, a) == NN_OK);
  nn_node *node = out->grad_fn;
  CHECK(node && node->op == NN_OP_CONV_TRANSPOSE2D &&
        !memcmp(&node->args.conv_transpose2d, a, sizeof *a));
  int64_t xn = nn_tensor_numel(x), wn = nn_tensor_numel(w), on = nn_tensor_numel(out);
  float *xf = floats_of(x), *wf = floats_of(w), *bf = floats_of(b);
  double *ref = calloc((size_t)(on + xn + wn + g.o), sizeof(double));
  double *rgx = ref + xn, *rgw = rgx + on, *rgb = rgw + wn; /* ref: x's gradient */
  naive_conv(ref, rgx, rgw, rgb, nn_tensor_data(gy), wf, NULL, xf, &g);
  float *y = nn_tensor_data(out);
  for (int64_t i = 0; i < on; i++) rgx[i] += bf ? bf[(i / (g.h * g.w)) % g.c] : 0;
  CHECK(max_err(y, rgx, on) < 1e-5);
  CHECK(nn_backward(out, gy, false).status == NN_BACKWARD_OK);
  CHECK(x->grad && max_err(nn_tensor_data(x->grad), ref, xn) < 1e-4);
  CHECK(w->grad && max_err(nn_tensor_data(w->grad), rgw, wn) < 1e-4);
  if (bias) { /* gb [C] = gy summed over images and positions */
    double *eb = calloc((size_t)g.c, sizeof(double));
    float *gyf = nn_tensor_data(gy);
    for (int64_t i = 0; i < on; i++) eb[(i / (g.h * g.w)) % g.c] += gyf[i];
    CHECK(b->grad && max_err(nn_tensor_data(b->grad), eb, g.c) < 1e-4);
    free(eb);
  }
  free(xf), free(wf), free(bf), free(ref);
  nn_tensor_release(out), nn_tensor_release(gy), nn_tensor_release(x), nn_tensor_release(w);
  nn_tensor_release(b);
}

static void test_conv_transpose_entry(void) {
  CHECK(nn_conv_transpose_out_size(14, 4, 2, 1, 0, 1) == 28);
  CHECK(nn_conv_transpose_out_size(5, 3, 2, 1, 1, 1) == 10);
  CHECK(nn_conv_transpose_out_size(4, 3, 1, 0, 1, 2) == 9);
  nn_conv_transpose2d_args plain = {.sh = 1, .sw = 1, .dh = 1, .dw = 1};
  nn_conv_transpose2d_args up = {.sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1};
  nn_conv_transpose2d_args odd = {.sh = 2, .sw = 3, .ph = 1, .oph = 1, .opw = 2, .dh = 1, .dw = 2};
  nn_conv_transpose2d_args g2 = {.sh = 2, .sw = 2, .ph = 1, .pw = 1, .oph = 1, .opw = 1, .dh = 1,
                                 .dw = 1, .groups = 2};
  nn_conv_transpose2d_args dw = {.sh = 2, .sw = 2, .dh = 1, .dw = 1, .groups = 3};
  nn_conv_transpose2d_args pad1 = {.sh = 1, .sw = 1, .ph = 1, .pw = 1, .dh = 1, .dw = 1};
  check_transpose_entry((int64_t[]){2, 3, 4, 5}, (int64_t[]){3, 2, 3, 3}, &plain, true, false);
  check_transpose_entry((int64_t[]){2, 4, 3, 4}, (int64_t[]){4, 3, 4, 4}, &up, true, true);
  check_transpose_entry((int64_t[]){1, 2, 4, 3}, (int64_t[]){2, 3, 3, 2}, &odd, false, false);
  check_transpose_entry((int64_t[]){2, 4, 3, 3}, (int64_t[]){4, 3, 3, 3}, &g2, true, false);
  check_transpose_entry((int64_t[]){1, 3, 4, 4}, (int64_t[]){3, 1, 2, 2}, &dw, true, true);
  /* 8 -> 16 channels, stride 1: the direct kernel where the CPU has one */
  check_transpose_entry((int64_t[]){1, 8, 5, 17}, (int64_t[]){8, 16, 3, 3}, &pad1, true, false);
}

/* Every allocation of nn_conv_transpose2d and of its node's backward
 * made to fail in turn: NN_ERR_NOMEM (NO_MEMORY), nothing leaked, and
 * success once memory is there. */
static void test_conv_transpose_out_of_memory(void) {
  nn_conv_transpose2d_args a = {.sh = 2, .sw = 2, .ph = 1, .pw = 1, .dh = 1, .dw = 1};
  uint64_t live0 = nn_memory_stats_get().live_count;
  nn_tensor *x = random_tensor(4, (int64_t[]){2, 3, 4, 4}, true);
  nn_tensor *w = random_tensor(4, (int64_t[]){3, 2, 3, 3}, false);
  x->requires_grad = w->requires_grad = true;
  nn_conv2d_geom g = nn_conv_transpose2d_geometry(x, w, &a);
  int64_t shape[4] = {g.n, g.c, g.h, g.w};
  uint64_t live = nn_memory_stats_get().live_count;
  int failures = 0;
  nn_status st = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
    nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, shape);
    nn_alloc_fail_after(n);
    st = nn_conv_transpose2d(out, x, w, NULL, &a);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    CHECK(st == NN_ERR_NOMEM || (st == NN_OK && out->grad_fn));
    nn_tensor_release(out);
  }
  CHECK(failures > 0 && st == NN_OK);
  CHECK(nn_memory_stats_get().live_count == live);

  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, shape), *gy = random_tensor(4, shape, false);
  CHECK(nn_conv_transpose2d(out, x, w, NULL, &a) == NN_OK);
  nn_backward_error err = {NN_BACKWARD_NO_MEMORY, NULL};
  failures = 0;
  for (uint64_t n = 1; n < 20 && err.status == NN_BACKWARD_NO_MEMORY; n++) {
    nn_alloc_fail_after(n);
    err = nn_backward(out, gy, true);
    nn_alloc_fail_after(0);
    failures += err.status == NN_BACKWARD_NO_MEMORY;
  }
  CHECK(failures > 0 && err.status == NN_BACKWARD_OK && x->grad && w->grad);
  nn_tensor_release(out), nn_tensor_release(gy), nn_tensor_release(x), nn_tensor_release(w);
  CHECK(nn_memory_stats_get().live_count == live0);
}

/* Strided w and b are copied too, and nothing is recorded when no
 * operand wants a gradient. */
static void test_conv_entry_strided_no_grad(void) {
  nn_conv2d_args a = conv_args(1, 1, 1, 1, 1, 1);
  nn_tensor *x = random_tensor(4, (int64_t[]){2, 3, 5, 6}, true);
  nn_tensor *w = random_tensor(4, (int64_t[]){4, 3, 3, 2}, true);
  nn_tensor *bb = random_tensor(1, (int64_t[]){8}, false);
  nn_tensor *b = nn_tensor_view(bb, 1, (int64_t[]){4}, (int64_t[]){2}, 1);
  nn_conv2d_geom g = nn_conv2d_geometry(x, w, &a);
  nn_tensor *out = conv_output(&g), *gout = random_tensor(4, out->shape, false);
  CHECK(nn_conv2d(out, x, w, b, &a) == NN_OK);
  CHECK(!out->grad_fn);
  int64_t on = nn_tensor_numel(out), xn = nn_tensor_numel(x), wn = nn_tensor_numel(w);
  float *xf = floats_of(x), *wf = floats_of(w), *bf = floats_of(b);
  double *ref = calloc((size_t)(on + xn + wn + g.o), sizeof(double));
  naive_conv(ref, ref + on, ref + on + xn, ref + on + xn + wn, xf, wf, bf, nn_tensor_data(gout), &g);
  CHECK(max_err(nn_tensor_data(out), ref, on) < 1e-5);
  free(xf), free(wf), free(bf), free(ref);
  nn_tensor_release(out), nn_tensor_release(gout), nn_tensor_release(x), nn_tensor_release(w);
  nn_tensor_release(b), nn_tensor_release(bb);
}

/* Every allocation of nn_conv2d (the contiguous copy, the scratch, the
 * node) made to fail in turn: NN_ERR_NOMEM, nothing leaked, and success
 * once memory is there. */
static void test_conv_entry_out_of_memory(void) {
  nn_conv2d_args a = conv_args(1, 1, 1, 1, 1, 1);
  conv_operands t = new_operands((int64_t[]){2, 3, 6, 5}, (int64_t[]){4, 3, 3, 3}, true, true);
  nn_conv2d_geom g = nn_conv2d_geometry(t.x, t.w, &a);
  uint64_t live = nn_memory_stats_get().live_count;
  int failures = 0;
  nn_status st = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
    nn_tensor *out = conv_output(&g);
    nn_alloc_fail_after(n);
    st = nn_conv2d(out, t.x, t.w, t.b, &a);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    CHECK(st == NN_ERR_NOMEM || (st == NN_OK && out->grad_fn));
    nn_tensor_release(out);
  }
  CHECK(failures > 0 && st == NN_OK);
  CHECK(nn_memory_stats_get().live_count == live);
  release_operands(&t);
}

/* The CONV2D node through nn_backward, with the scratch allocation (and
 * every other) made to fail in turn: the walk reports NO_MEMORY, writes
 * no gradient, and succeeds once memory is there. */
static void test_conv_node_out_of_memory(void) {
  nn_conv2d_args a = conv_args(1, 1, 1, 1, 1, 1);
  conv_operands t = new_operands((int64_t[]){2, 3, 6, 5}, (int64_t[]){4, 3, 3, 3}, false, false);
  nn_conv2d_geom g = nn_conv2d_geometry(t.x, t.w, &a);
  nn_tensor *out = conv_output(&g), *gout = random_tensor(4, out->shape, false);
  CHECK(nn_conv2d(out, t.x, t.w, NULL, &a) == NN_OK);
  int failures = 0;
  nn_backward_error err = {NN_BACKWARD_NO_MEMORY, NULL};
  for (uint64_t n = 1; n < 20 && err.status == NN_BACKWARD_NO_MEMORY; n++) {
    nn_alloc_fail_after(n);
    err = nn_backward(out, gout, true);
    nn_alloc_fail_after(0);
    if (err.status != NN_BACKWARD_NO_MEMORY) break;
    failures++;
    bool clean = true; /* nothing added yet */
    for (int i = 0; i < 2; i++) {
      nn_tensor *gt = i ? t.w->grad : t.x->grad;
      for (int64_t k = 0; gt && k < nn_tensor_numel(gt); k++)
        clean = clean && ((float *)nn_tensor_data(gt))[k] == 0;
    }
    CHECK(clean);
  }
  CHECK(failures > 0);
  CHECK(err.status == NN_BACKWARD_OK);
  /* the gradients equal the kernel's */
  int64_t xn = nn_tensor_numel(t.x), wn = nn_tensor_numel(t.w);
  float *gx = calloc((size_t)xn, sizeof(float)), *gw = calloc((size_t)wn, sizeof(float));
  float *scratch = malloc(sizeof(float) * (nn_conv2d_scratch_floats(&g) + 1));
  nn_kernel_conv2d_backward(gx, gw, NULL, nn_tensor_data(gout), nn_tensor_data(t.x),
                            nn_tensor_data(t.w), &g, scratch);
  CHECK(t.x->grad && !memcmp(gx, nn_tensor_data(t.x->grad), sizeof(float) * (size_t)xn));
  CHECK(t.w->grad && !memcmp(gw, nn_tensor_data(t.w->grad), sizeof(float) * (size_t)wn));
  free(gx), free(gw), free(scratch);
  nn_tensor_release(out); /* drops the node, which drops its references */
  nn_tensor_release(gout);
  release_operands(&t); /* and their .grad */
}

/* oneDNN serves a plain convolution (so the suite's first round runs
 * through it, not silently through conv.c's paths) and leaves a switched
 * off call to the caller, writing nothing. */
static void test_conv_dnnl_serves(void) {
  nn_conv2d_geom g = conv_geom(2, 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1, 1, false);
  float x[2 * 3 * 6 * 6] = {0}, w[4 * 3 * 3 * 3] = {0}, out[2 * 4 * 6 * 6];
  for (int i = 0; i < 2 * 4 * 6 * 6; i++) out[i] = 7.0f;
  nn_conv2d_use_dnnl(false);
  CHECK(!nn_dnnl_conv2d_forward(out, x, w, NULL, &g) && out[0] == 7.0f);
  nn_conv2d_use_dnnl(true);
  CHECK(nn_dnnl_conv2d_forward(out, x, w, NULL, &g) && out[0] == 0.0f);
}

/* Every kernel case, with oneDNN or conv.c's own paths as set. */
static void test_conv_kernels(void) {
  RUN(test_conv_shapes);
  RUN(test_conv_direct_shapes);
  RUN(test_conv_workers);
  RUN(test_conv_cnn_shapes);
  RUN(test_conv_shapes_gemm_only);
  RUN(test_conv_shapes_per_image);
  RUN(test_conv_out_size);
  RUN(test_conv_pad_same);
  RUN(test_conv_groups);
}

int main(void) {
  RUN(test_conv_dnnl_serves);
  test_conv_kernels(); /* through oneDNN where it serves (the default) */
  nn_conv2d_use_dnnl(false);
  test_conv_kernels(); /* through conv.c's own paths */
  nn_conv2d_use_dnnl(true);
  RUN(test_conv_entry);
  RUN(test_conv_transpose_entry);
  RUN(test_conv_transpose_out_of_memory);
  RUN(test_conv_entry_strided_no_grad);
  RUN(test_conv_entry_out_of_memory);
  RUN(test_conv_node_out_of_memory);
  return check_summary();
}
