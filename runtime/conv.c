/*
 * 2-D convolution (nn_conv.h has the shapes). Every pass first asks
 * oneDNN (conv_dnnl.c), which serves all but the few-channels-per-group
 * geometries (use_dnnl, below); what it does not serve, and everything
 * when it is switched off (nn_conv2d_use_dnnl), runs here: im2col + GEMM,
 * direct kernels, and the grouped loops.
 *
 * Each image is unfolded into columns [K, P] — row (c, i, j) holds, for
 * every output position, the input cell under kernel tap (i, j) of
 * channel c, or 0 in the padding — so its convolution is one GEMM
 * [O, K] x [K, P] that writes the image's output [O, P] in place. The
 * backward walks the images the same way:
 *   gw [O, K]      += gout [O, P] x columns^T    (beta 1, straight in)
 *   columns [K, P]  = w^T [K, O] x gout [O, P], folded back into gx
 * recomputing the columns rather than keeping the forward's. A 1x1
 * kernel with stride 1 and no padding needs no unfolding: the image
 * [C, H*W] is its own columns.
 *
 * Stride-1 convolutions on a CPU with AVX-512 skip the unfolding for the
 * forward and for gx: a direct kernel (below) reads a zero-padded copy of
 * the image, with no columns to build; on the CNN benchmark's second
 * convolution each pass takes about 0.8x the im2col + GEMM time. gw keeps
 * the GEMM (a direct gw kernel tried was twice as slow as OpenBLAS).
 *
 * One image at a time, not a batch: unfolding a whole batch into one
 * [K, N*P] GEMM was measured no faster for the CNN benchmark's second
 * convolution (K = 288, P = 196) and twice as slow for its first (K = 9,
 * where moving [O, N*P] back into NCHW order costs more than the GEMM),
 * and its scratch grows with the batch.
 *
 * Grouped convolutions run one GEMM per group, or with few channels per
 * group direct loops (depthwise with 8 channels or more: channels last,
 * vectorized over channels); on MobileNetV2's depthwise layers the
 * channels-last loops took 0.2-0.5x PyTorch's time (bench/conv_variants.lua).
 *
 * The entry point nn_conv2d (at the end, with the node's backward) makes
 * the operands contiguous, takes the scratch and records the node. The
 * transposed convolution nn_conv_transpose2d, after it, is the backward
 * kernel run as a forward.
 */
#include "nn_conv.h"

#include <cblas.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_conv_dnnl.h"
#include "nn_threads.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_DIRECT 1
#include <immintrin.h>
#endif

int64_t nn_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad_total,
                         int64_t dilation) {
  int64_t span = in + pad_total - dilation * (k - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

static int64_t ngroups(const nn_conv2d_geom *g) { return g->groups > 1 ? g->groups : 1; }

/* K: one column of one group's unfolded input. */
static int64_t patch_size(const nn_conv2d_geom *g) { return g->c / ngroups(g) * g->kh * g->kw; }
static int64_t positions(const nn_conv2d_geom *g) { return g->oh * g->ow; }

static bool is_pointwise(const nn_conv2d_geom *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
         g->oh == g->h && g->ow == g->w;
}

/* Output positions [lo, hi) along one dim whose input coordinate
 * pos*stride + off falls inside [0, in); the rest read padding. */
static void valid_range(int64_t out, int64_t in, int64_t stride, int64_t off, int64_t *lo,
                        int64_t *hi) {
  int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t b = in - off <= 0 ? 0 : (in - off + stride - 1) / stride;
  if (b > out) b = out;
  if (a > b) a = b;
  *lo = a;
  *hi = b;
}

/* im2col and col2im share one walk over every column row, so the two
 * can never disagree on geometry:
 *   UNFOLD: col [K, P] = unfolded img [C, H, W], zeros in padding;
 *   FOLD:   img [C, H, W] += col [K, P] folded back (col's cells that fall
 *           in the padding are zeroed on the way). */
typedef enum { UNFOLD, FOLD } col_dir;

/* One column row's part for one image, output rows [ylo, yhi) reading
 * input rows oy*sh + offy, columns [xlo, xhi) reading ox*sw + offx. */
typedef struct tap {
  int64_t offy, offx, ylo, yhi, xlo, xhi;
} tap;

/* The general case, output row by output row. Rows are short (a few
 * dozen cells), so plain loops, which beat libc calls. */
static void transfer_rows(col_dir dir, float *dst, float *src, const nn_conv2d_geom *g,
                          const tap *t) {
  int64_t ow = g->ow, sw = g->sw, off = t->offx;
  if (dir == UNFOLD) {
    memset(dst, 0, sizeof(float) * (size_t)(t->ylo * ow));
    memset(dst + t->yhi * ow, 0, sizeof(float) * (size_t)((g->oh - t->yhi) * ow));
  }
  for (int64_t oy = t->ylo; oy < t->yhi; oy++) {
    float *d = dst + oy * ow;
    float *s = src + (oy * g->sh + t->offy) * g->w; /* the input row; cell ox*sw + off */
    if (dir == FOLD) {
      for (int64_t ox = t->xlo; ox < t->xhi; ox++) s[ox * sw + off] += d[ox];
      continue;
    }
    for (int64_t ox = 0; ox < t->xlo; ox++) d[ox] = 0;
    if (sw == 1)
      for (int64_t ox = t->xlo; ox < t->xhi; ox++) d[ox] = s[ox + off];
    else
      for (int64_t ox = t->xlo; ox < t->xhi; ox++) d[ox] = s[ox * sw + off];
    for (int64_t ox = t->xhi; ox < ow; ox++) d[ox] = 0;
  }
}

/* Zeroes the cells of dst's rows [ylo, yhi) outside columns [xlo, xhi). */
static void zero_edges(float *dst, const nn_conv2d_geom *g, const tap *t) {
  if (t->xlo == 0 && t->xhi == g->ow) return;
  for (int64_t oy = t->ylo; oy < t->yhi; oy++) {
    float *d = dst + oy * g->ow;
    for (int64_t ox = 0; ox < t->xlo; ox++) d[ox] = 0;
    for (int64_t ox = t->xhi; ox < g->ow; ox++) d[ox] = 0;
  }
}

/* Stride 1 with output rows as wide as input rows (padding='same'): the
 * tap's whole block is one contiguous run of the input, shifted, so it
 * moves in one loop; the cells of padding columns, which the shift
 * wraps onto neighbouring rows, are zeroed after the copy (UNFOLD) or
 * before the add (FOLD). */
static void transfer_block(col_dir dir, float *dst, float *src, const nn_conv2d_geom *g,
                           const tap *t) {
  int64_t P = positions(g), plane = g->h * g->w;
  int64_t shift = t->offy * g->w + t->offx; /* dst[p] <-> src[p + shift] */
  int64_t lo = t->ylo * g->ow, hi = t->yhi * g->ow;
  if (lo < -shift) lo = -shift;
  if (hi > plane - shift) hi = plane - shift;
  if (lo > P) lo = P; /* a tap that reads only padding (1x1 image, 3x3 kernel) */
  if (hi < lo) hi = lo;
  if (dir == FOLD) {
    zero_edges(dst, g, t);
    for (int64_t p = lo; p < hi; p++) src[p + shift] += dst[p];
    return;
  }
  memset(dst, 0, sizeof(float) * (size_t)lo);
  memcpy(dst + lo, src + lo + shift, sizeof(float) * (size_t)(hi - lo));
  memset(dst + hi, 0, sizeof(float) * (size_t)(P - hi));
  zero_edges(dst, g, t);
}

/* col's rows are ld floats apart: P for one image's columns [K, P], N*P
 * for image n's part (col + n*P) of a batch's columns [K, N*P]. */
static void col_transfer(col_dir dir, float *col, float *img, const nn_conv2d_geom *g,
                         int64_t ld) {
  int64_t plane = g->h * g->w;
  bool block = g->sh == 1 && g->sw == 1 && g->ow == g->w;
  for (int64_t c = 0; c < g->c; c++)
    for (int64_t i = 0; i < g->kh; i++)
      for (int64_t j = 0; j < g->kw; j++) {
        float *row = col + ((c * g->kh + i) * g->kw + j) * ld, *src = img + c * plane;
        tap t = {.offy = i * g->dh - g->ph, .offx = j * g->dw - g->pw};
        valid_range(g->oh, g->h, g->sh, t.offy, &t.ylo, &t.yhi);
        valid_range(g->ow, g->w, g->sw, t.offx, &t.xlo, &t.xhi);
        if (block) transfer_block(dir, row, src, g, &t);
        else transfer_rows(dir, row, src, g, &t);
      }
}

static void im2col(float *col, const float *x, const nn_conv2d_geom *g) {
  col_transfer(UNFOLD, col, (float *)x, g, positions(g)); /* UNFOLD only reads x */
}

/* col is scratch: its padding cells are zeroed. */
static void col2im(float *gx, float *col, const nn_conv2d_geom *g) {
  col_transfer(FOLD, col, gx, g, positions(g));
}

/* ---- direct convolution (stride 1, AVX-512) ----
 *
 * out[o][y][x] = sum over (c, i, j) of w[o][c][i][j] * in[c][y + i*dh][x + j*dw]
 * on an input padded with zeros all round, so no tap needs a bounds
 * check. A register tile is 8 output channels x 2 rows x 16 consecutive
 * columns: per tap and input channel, two loads of 16 inputs and 16 FMAs,
 * each of the 8 weights (packed [tap][channel][out channel], adjacent)
 * broadcast once for both rows. Lanes past the output width, rows past
 * its height and channels past its count are computed and not stored.
 * The transposed convolution that gives gx is the same product over the
 * padded output gradient with the kernel flipped and the channel roles
 * swapped. (Measured on the CNN benchmark's shapes: 8x2 tiles beat 16x1,
 * 12x2 and 6x4, and reach about 1.2x OpenBLAS's GEMM, im2col aside.) */

enum { TILE_C = 8, TILE_Y = 2 }; /* a kernel tile: 8 channels x 2 rows x 16 columns */

static bool direct_enabled = true;

void nn_conv2d_use_direct(bool on) { direct_enabled = on; }

static int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

/* Does the direct kernel run for this geometry, producing cout channels?
 * Stride 1 only, and channels in whole tiles or many of them: a tile's
 * unused channels cost as much as used ones (conv of 1-channel images:
 * its gx would be 5x slower). */
static bool use_direct(const nn_conv2d_geom *g, int64_t cout) {
#ifdef HAVE_DIRECT
  static int avx512 = -1;
  if (avx512 < 0) {
    __builtin_cpu_init();
    avx512 = __builtin_cpu_supports("avx512f") != 0;
  }
  return direct_enabled && avx512 && ngroups(g) == 1 && g->sh == 1 && g->sw == 1 &&
         !is_pointwise(g) && (cout % TILE_C == 0 || cout >= 4 * TILE_C);
#else
  (void)g, (void)cout;
  return false;
#endif
}

/* A stride-1 convolution as the direct kernel sees it. */
typedef struct direct_conv {
  int64_t cin, rows, stride;  /* padded input [cin][rows][stride] */
  int64_t cout, coutpad;      /* output channels; packed weights' row width */
  int64_t oh, ow;             /* output [cout][oh][ow] */
  int64_t kh, kw, dh, dw;
} direct_conv;

/* The forward over x padded by (ph, pw) above and left. Rows are padded
 * to a whole number of tiles plus the kernel's reach, each row to whole
 * 16-column blocks plus the kernel's reach, so no load leaves its row or
 * channel. */
static direct_conv forward_direct(const nn_conv2d_geom *g) {
  return (direct_conv){.cin = g->c, .rows = round_up(g->oh, TILE_Y) + g->dh * (g->kh - 1),
                       .stride = round_up(g->ow, 16) + g->dw * (g->kw - 1),
                       .cout = g->o, .coutpad = round_up(g->o, TILE_C), .oh = g->oh, .ow = g->ow,
                       .kh = g->kh, .kw = g->kw, .dh = g->dh, .dw = g->dw};
}

/* gx's product over gout padded so that in[o][y + i*dh][x + j*dw] is
 * gout[o][y + i*dh - th][x + j*dw - tw], th = dh*(kh-1) - ph (and tw). */
static direct_conv input_grad_direct(const nn_conv2d_geom *g) {
  return (direct_conv){.cin = g->o, .rows = round_up(g->h, TILE_Y) + g->dh * (g->kh - 1),
                       .stride = round_up(g->w, 16) + g->dw * (g->kw - 1),
                       .cout = g->c, .coutpad = round_up(g->c, TILE_C), .oh = g->h, .ow = g->w,
                       .kh = g->kh, .kw = g->kw, .dh = g->dh, .dw = g->dw};
}

/* Floats of a padded image. */
static int64_t pad_floats(const direct_conv *d) { return d->cin * d->rows * d->stride; }

/* dst [c][rows][stride] = src [c][h][w] placed with its (0, 0) at
 * (top, left) (either may be negative: cropped), zeros elsewhere. */
static void pad_copy(float *dst, const float *src, int64_t c, int64_t h, int64_t w,
                     const direct_conv *d, int64_t top, int64_t left) {
  memset(dst, 0, sizeof(float) * (size_t)(c * d->rows * d->stride));
  int64_t x0 = left < 0 ? -left : 0, x1 = w < d->stride - left ? w : d->stride - left;
  if (x1 <= x0) return;
  for (int64_t k = 0; k < c; k++)
    for (int64_t y = 0; y < h; y++) {
      int64_t r = y + top;
      if (r < 0 || r >= d->rows) continue;
      memcpy(dst + (k * d->rows + r) * d->stride + left + x0, src + (k * h + y) * w + x0,
             sizeof(float) * (size_t)(x1 - x0));
    }
}

#ifdef HAVE_DIRECT

/* out [cout][oh][ow] = (accumulate ? out : 0) + bias + the product of in
 * and wp [kh*kw][cin][coutpad] (zeros beyond cout); bias [coutpad] or NULL. */
__attribute__((target("avx512f"))) static void direct_kernel(float *out, const float *in,
                                                              const float *wp, const float *bias,
                                                              const direct_conv *d,
                                                              bool accumulate) {
  int64_t plane = d->oh * d->ow, cstep = d->rows * d->stride;
  for (int64_t ob = 0; ob < d->cout; ob += TILE_C) {
    int nc = d->cout - ob < TILE_C ? (int)(d->cout - ob) : TILE_C;
    for (int64_t y = 0; y < d->oh; y += TILE_Y) {
      int ny = d->oh - y < TILE_Y ? (int)(d->oh - y) : TILE_Y;
      for (int64_t x0 = 0; x0 < d->ow; x0 += 16) {
        __mmask16 m = d->ow - x0 >= 16 ? 0xFFFF : (__mmask16)((1u << (d->ow - x0)) - 1);
        float *o0 = out + ob * plane + y * d->ow + x0;
        /* Constant indices throughout (unrolled loops, tests inside), so
         * the tile lives in registers. */
        __m512 acc[TILE_Y][TILE_C];
#pragma GCC unroll 8
        for (int r = 0; r < TILE_C; r++)
#pragma GCC unroll 2
          for (int q = 0; q < TILE_Y; q++) {
            acc[q][r] = bias ? _mm512_set1_ps(bias[ob + r]) : _mm512_setzero_ps();
            if (accumulate && r < nc && q < ny)
              acc[q][r] = _mm512_add_ps(acc[q][r], _mm512_maskz_loadu_ps(m, o0 + r * plane + q * d->ow));
          }
        /* Taps outside, channels inside: the long loop is the inner one.
         * Each broadcast weight serves both rows. The second row of a
         * last, single-row tile reads padding and is not stored. */
        const float *wk = wp + ob, *in0 = in + y * d->stride + x0;
        for (int64_t i = 0; i < d->kh; i++)
          for (int64_t j = 0; j < d->kw; j++) {
            const float *src = in0 + i * d->dh * d->stride + j * d->dw;
            for (int64_t c = 0; c < d->cin; c++, src += cstep, wk += d->coutpad) {
              __m512 v[TILE_Y];
#pragma GCC unroll 2
              for (int q = 0; q < TILE_Y; q++) v[q] = _mm512_loadu_ps(src + q * d->stride);
#pragma GCC unroll 8
              for (int r = 0; r < TILE_C; r++) {
                __m512 wv = _mm512_set1_ps(wk[r]);
#pragma GCC unroll 2
                for (int q = 0; q < TILE_Y; q++) acc[q][r] = _mm512_fmadd_ps(wv, v[q], acc[q][r]);
              }
            }
          }
#pragma GCC unroll 8
        for (int r = 0; r < TILE_C; r++)
#pragma GCC unroll 2
          for (int q = 0; q < TILE_Y; q++)
            if (r < nc && q < ny) _mm512_mask_storeu_ps(o0 + r * plane + q * d->ow, m, acc[q][r]);
      }
    }
  }
}

#else
static void direct_kernel(float *out, const float *in, const float *wp, const float *bias,
                          const direct_conv *d, bool accumulate) {
  (void)out, (void)in, (void)wp, (void)bias, (void)d, (void)accumulate; /* never chosen */
}

#endif

/* wp [KH*KW][C][coutpad]: wp[(i, j)][c][o] = w[o][c][i][j] (taps outer,
 * as the kernel walks them), zero columns past O; bias_pad [coutpad] =
 * bias, zeros past O. */
static void pack_forward_weights(float *wp, float *bias_pad, const float *w, const float *bias,
                                 const nn_conv2d_geom *g, int64_t coutpad) {
  int64_t taps = g->kh * g->kw;
  memset(wp, 0, sizeof(float) * (size_t)(taps * g->c * coutpad));
  for (int64_t o = 0; o < g->o; o++)
    for (int64_t c = 0; c < g->c; c++)
      for (int64_t t = 0; t < taps; t++) wp[(t * g->c + c) * coutpad + o] = w[(o * g->c + c) * taps + t];
  if (!bias) return;
  memset(bias_pad, 0, sizeof(float) * (size_t)coutpad);
  memcpy(bias_pad, bias, sizeof(float) * (size_t)g->o);
}

/* wq [KH*KW][O][cpad]: wq[(i, j)][o][c] = w[o][c][KH-1-i][KW-1-j], the
 * flipped kernel with input and output channels swapped. */
static void pack_input_grad_weights(float *wq, const float *w, const nn_conv2d_geom *g,
                                    int64_t cpad) {
  int64_t taps = g->kh * g->kw;
  memset(wq, 0, sizeof(float) * (size_t)(g->o * taps * cpad));
  for (int64_t o = 0; o < g->o; o++)
    for (int64_t c = 0; c < g->c; c++)
      for (int64_t t = 0; t < taps; t++)
        wq[((taps - 1 - t) * g->o + o) * cpad + c] = w[(o * g->c + c) * taps + t];
}

static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* c [m, n] = a [m, k] (or a^T when ta) x b [k, n] (or b^T) + beta c, all
 * row-major and contiguous; a k of 0 leaves beta c. */
static void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float *a,
                 const float *b, float beta, float *c) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (beta == 0.0f) memset(c, 0, sizeof(float) * (size_t)(m * n));
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              (int)m, (int)n, (int)k, 1.0f, a, (int)(ta ? m : k), b, (int)(tb ? k : n), beta, c,
              (int)n);
}

/* out [O, P] = bias [O] broadcast over positions. */
static void fill_bias(float *out, const float *bias, int64_t o, int64_t p) {
  for (int64_t i = 0; i < o; i++) {
    float v = bias[i], *row = out + i * p;
    for (int64_t j = 0; j < p; j++) row[j] = v;
  }
}

/* Sum of n floats, in 8 independent lanes so the loop vectorizes (and
 * rounds better than one running sum). */
static double sum_floats(const float *s, int64_t n) {
  float lane[8] = {0};
  int64_t p = 0;
  for (; p + 8 <= n; p += 8)
    for (int k = 0; k < 8; k++) lane[k] += s[p + k];
  double acc = 0;
  for (; p < n; p++) acc += s[p];
  for (int k = 0; k < 8; k++) acc += lane[k];
  return acc;
}

/* gb [O] += gout [N, O, P] summed over images and positions. */
static void bias_grad(float *gb, const float *gout, int64_t N, int64_t O, int64_t P) {
  for (int64_t o = 0; o < O; o++) {
    double acc = 0;
    for (int64_t n = 0; n < N; n++) acc += sum_floats(gout + (n * O + o) * P, P);
    gb[o] += (float)acc;
  }
}

/* ---- passes over the images, split among threads ----
 * Images are independent, so nn_get_num_threads() workers each take a
 * share with their own scratch, on the engine's pool (nn_threads.h). gw,
 * the one result all images add to, gets a private accumulator per extra
 * worker, summed at the end. Inside the pool's region OpenBLAS is
 * single-threaded: each worker calls it (on this 2-core machine
 * OpenBLAS's own threads did not speed up these GEMMs at all, where
 * splitting the images sped the conv passes up 1.8x). Workers only
 * compute: nothing allocates or fails. */

enum { MAX_WORKERS = 64 };

typedef struct conv_job conv_job;
struct conv_job {
  const nn_conv2d_geom *g;
  void (*image)(const conv_job *job, int64_t n); /* the work for image n */
  const float *x, *w, *bias, *gout;              /* operands (as each pass needs) */
  float *out, *gx, *gw;                          /* results; gw: this worker's accumulator */
  const direct_conv *d;                          /* direct passes: geometry, */
  const float *packed, *packed_bias;             /* packed weights and bias */
  float *work;                                   /* this worker's scratch */
  int64_t n0, n1;                                /* this worker's images */
};

static int64_t image_size(const nn_conv2d_geom *g) { return g->c * g->h * g->w; }
static int64_t output_size(const nn_conv2d_geom *g) { return g->o * positions(g); }

/* ---- grouped convolution ----
 * Group k's output channels [k*og, (k+1)*og) see only its input channels
 * [k*cg, (k+1)*cg) (cg = C/groups, og = O/groups), through weight rows
 * [k*og, (k+1)*og): each group is a convolution of its own. With many
 * channels per group, each is one GEMM as above; with few (depthwise:
 * cg = 1) the GEMMs are too thin to pay (K = cg*KH*KW), and direct loops
 * over a zero-padded copy of the image run instead, each weight scaling
 * a whole output row at once. */

/* The convolution of one group: cg channels into og. */
static nn_conv2d_geom group_geom(const nn_conv2d_geom *g) {
  nn_conv2d_geom s = *g;
  s.c = g->c / ngroups(g);
  s.o = g->o / ngroups(g);
  s.groups = 1;
  return s;
}

static void forward_groups(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  nn_conv2d_geom s = group_geom(g);
  int64_t K = patch_size(&s), P = positions(g), in_step = s.c * g->h * g->w;
  for (int64_t k = 0; k < ngroups(g); k++) {
    const float *col = j->x + n * image_size(g) + k * in_step;
    if (!is_pointwise(&s)) {
      im2col(j->work, col, &s);
      col = j->work;
    }
    float *dst = j->out + n * output_size(g) + k * s.o * P;
    if (j->bias) fill_bias(dst, j->bias + k * s.o, s.o, P);
    gemm(false, false, s.o, P, K, j->w + k * s.o * K, col, j->bias ? 1.0f : 0.0f, dst);
  }
}

/* gw and gx of image n (go, xn, gxn: its parts of gout, x and gx) by one
 * GEMM per group. */
static void backward_groups(const conv_job *j, const float *go, const float *xn, float *gxn) {
  const nn_conv2d_geom *g = j->g;
  nn_conv2d_geom s = group_geom(g);
  int64_t K = patch_size(&s), P = positions(g), in_step = s.c * g->h * g->w;
  for (int64_t k = 0; k < ngroups(g); k++) {
    const float *gok = go + k * s.o * P;
    if (j->gw) {
      const float *col = xn + k * in_step;
      if (!is_pointwise(&s)) {
        im2col(j->work, col, &s);
        col = j->work;
      }
      gemm(false, true, s.o, K, P, gok, col, 1.0f, j->gw + k * s.o * K);
    }
    if (!gxn) continue;
    const float *wk = j->w + k * s.o * K;
    if (is_pointwise(&s)) {
      gemm(true, false, K, P, s.o, wk, gok, 1.0f, gxn + k * in_step);
    } else {
      gemm(true, false, K, P, s.o, wk, gok, 0.0f, j->work);
      col2im(gxn + k * in_step, j->work, &s);
    }
  }
}

/* Channels per group up to which the direct loops run. */
enum { SMALL_GROUP = 8 };

static bool use_small_groups(const nn_conv2d_geom *g) {
  return ngroups(g) > 1 && g->c / ngroups(g) <= SMALL_GROUP;
}

/* The zero-padded image the direct loops read: every cell a tap of an
 * output reads, [C][rows][stride], the image's (0, 0) at (ph, pw). */
static direct_conv small_pad(const nn_conv2d_geom *g) {
  return (direct_conv){.cin = g->c, .rows = (g->oh - 1) * g->sh + g->dh * (g->kh - 1) + 1,
                       .stride = (g->ow - 1) * g->sw + g->dw * (g->kw - 1) + 1};
}


/* The loops below are written for the compiler to vectorize; on x86 each
 * is also compiled for AVX2 and AVX-512, the widest the CPU has chosen
 * when the program loads. */
#ifdef HAVE_DIRECT
#define VECTOR_CLONES \
  __attribute__((target_clones("arch=skylake-avx512", "arch=haswell", "default")))
#else
#define VECTOR_CLONES
#endif

/* Output rows are computed ROW cells at a time in a local block that the
 * compiler keeps in registers across every tap and input channel (one
 * store per cell, not one per tap); the rest of a row, and strided rows,
 * by plain loops. */
enum { ROW = 16 };

/* out [O, OH, OW] = (accumulate ? out : bias) + the grouped convolution
 * of xp [C, hp, wp] (padded) with w [O, cg, KH, KW]; bias may be NULL. */
VECTOR_CLONES static void small_forward(float *restrict out, const float *restrict xp,
                                        const float *restrict w, const float *restrict bias,
                                        const nn_conv2d_geom *g, int64_t hp, int64_t wp,
                                        bool accumulate) {
  int64_t cg = g->c / ngroups(g), og = g->o / ngroups(g), taps = g->kh * g->kw;
  int64_t P = positions(g), plane = hp * wp, ow = g->ow, sw = g->sw;
  for (int64_t o = 0; o < g->o; o++) {
    const float *src = xp + o / og * cg * plane, *wo = w + o * cg * taps;
    float b = bias ? bias[o] : 0.0f;
    for (int64_t oy = 0; oy < g->oh; oy++) {
      float *d = out + o * P + oy * ow;
      const float *s0 = src + oy * g->sh * wp;
      for (int64_t x0 = 0; x0 < ow; x0 += ROW) {
        int64_t n = ow - x0 < ROW ? ow - x0 : ROW;
        if (n == ROW && sw == 1) {
          float acc[ROW];
          for (int k = 0; k < ROW; k++) acc[k] = accumulate ? d[x0 + k] : b;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t i = 0; i < g->kh; i++)
              for (int64_t j = 0; j < g->kw; j++) {
                float wv = wo[(ci * g->kh + i) * g->kw + j];
                const float *r = s0 + ci * plane + i * g->dh * wp + x0 + j * g->dw;
                for (int k = 0; k < ROW; k++) acc[k] += wv * r[k];
              }
          for (int k = 0; k < ROW; k++) d[x0 + k] = acc[k];
          continue;
        }
        for (int64_t k = 0; k < n; k++) {
          float a = accumulate ? d[x0 + k] : b;
          for (int64_t ci = 0; ci < cg; ci++)
            for (int64_t i = 0; i < g->kh; i++)
              for (int64_t j = 0; j < g->kw; j++)
                a += wo[(ci * g->kh + i) * g->kw + j] *
                     s0[ci * plane + i * g->dh * wp + (x0 + k) * sw + j * g->dw];
          d[x0 + k] = a;
        }
      }
    }
  }
}

/* gxp [C, hp, wp] (padded) += the transposed grouped convolution of
 * go [O, OH, OW] with w (strided convolutions; stride 1 takes the
 * forward loops, small_input_grad_stride1). */
VECTOR_CLONES static void small_input_grad(float *restrict gxp, const float *restrict go,
                                           const float *restrict w, const nn_conv2d_geom *g,
                                           int64_t hp, int64_t wp) {
  int64_t cg = g->c / ngroups(g), og = g->o / ngroups(g), taps = g->kh * g->kw;
  int64_t P = positions(g), plane = hp * wp, ow = g->ow, sw = g->sw;
  for (int64_t o = 0; o < g->o; o++) {
    float *dst = gxp + o / og * cg * plane;
    const float *wo = w + o * cg * taps, *src = go + o * P;
    for (int64_t ci = 0; ci < cg; ci++, dst += plane, wo += taps)
      for (int64_t oy = 0; oy < g->oh; oy++) {
        const float *restrict s = src + oy * ow;
        float *d = dst + oy * g->sh * wp;
        for (int64_t i = 0; i < g->kh; i++)
          for (int64_t jj = 0; jj < g->kw; jj++) {
            float wv = wo[i * g->kw + jj];
            float *restrict r = d + i * g->dh * wp + jj * g->dw;
            for (int64_t ox = 0; ox < ow; ox++) r[ox * sw] += wv * s[ox];
          }
      }
  }
}

/* gw [O, cg, KH, KW] += go [O, OH, OW] (x) the taps of xp [C, hp, wp],
 * each tap's sum in a block of ROW lanes (registers), added up at the end. */
VECTOR_CLONES static void small_weight_grad(float *restrict gw, const float *restrict go,
                                            const float *restrict xp, const nn_conv2d_geom *g,
                                            int64_t hp, int64_t wp) {
  int64_t cg = g->c / ngroups(g), og = g->o / ngroups(g), taps = g->kh * g->kw;
  int64_t P = positions(g), plane = hp * wp, ow = g->ow, sw = g->sw;
  for (int64_t o = 0; o < g->o; o++)
    for (int64_t ci = 0; ci < cg; ci++) {
      const float *src = xp + (o / og * cg + ci) * plane, *gor = go + o * P;
      float *gwo = gw + (o * cg + ci) * taps;
      if (sw == 1 && g->kw == 3 && ow % ROW == 0) { /* 3 taps of a kernel row per load of gout */
        for (int64_t i = 0; i < g->kh; i++) {
          float a0[ROW] = {0}, a1[ROW] = {0}, a2[ROW] = {0};
          for (int64_t oy = 0; oy < g->oh; oy++) {
            const float *s = gor + oy * ow, *r = src + (oy * g->sh + i * g->dh) * wp;
            for (int64_t x0 = 0; x0 < ow; x0 += ROW)
              for (int k = 0; k < ROW; k++) {
                float v = s[x0 + k];
                a0[k] += v * r[x0 + k];
                a1[k] += v * r[x0 + k + g->dw];
                a2[k] += v * r[x0 + k + 2 * g->dw];
              }
          }
          float t0 = 0, t1 = 0, t2 = 0;
          for (int k = 0; k < ROW; k++) t0 += a0[k], t1 += a1[k], t2 += a2[k];
          gwo[i * 3] += t0, gwo[i * 3 + 1] += t1, gwo[i * 3 + 2] += t2;
        }
        continue;
      }
      for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
          float acc[ROW] = {0};
          double tail = 0;
          for (int64_t oy = 0; oy < g->oh; oy++) {
            const float *s = gor + oy * ow;
            const float *r = src + (oy * g->sh + i * g->dh) * wp + j * g->dw;
            int64_t x0 = 0;
            if (sw == 1)
              for (; x0 + ROW <= ow; x0 += ROW)
                for (int k = 0; k < ROW; k++) acc[k] += s[x0 + k] * r[x0 + k];
            for (int64_t ox = x0; ox < ow; ox++) tail += s[ox] * r[ox * sw];
          }
          gwo[i * g->kw + j] += (float)(tail + sum_floats(acc, ROW));
        }
    }
}

/* The stride-1 input gradient as a forward: gx [C, H, W] += the grouped
 * convolution of gout, padded by dh*(kh-1) - ph rows above (dw*(kw-1) - pw
 * columns left; gop [O, hp, wp]), with the flipped kernel whose input and
 * output channels are swapped within each group (wq [C, og, KH, KW]). */
static nn_conv2d_geom stride1_input_grad_geom(const nn_conv2d_geom *g) {
  nn_conv2d_geom t = *g;
  t.c = g->o, t.o = g->c, t.h = g->oh, t.w = g->ow, t.oh = g->h, t.ow = g->w;
  return t;
}

static void pack_flipped_groups(float *wq, const float *w, const nn_conv2d_geom *g) {
  int64_t cg = g->c / ngroups(g), og = g->o / ngroups(g), taps = g->kh * g->kw;
  for (int64_t o = 0; o < g->o; o++)
    for (int64_t ci = 0; ci < cg; ci++)
      for (int64_t t = 0; t < taps; t++)
        wq[((o / og * cg + ci) * og + o % og) * taps + taps - 1 - t] = w[(o * cg + ci) * taps + t];
}

/* The padded gout the stride-1 input gradient reads. */
static direct_conv small_gout_pad(const nn_conv2d_geom *g) {
  nn_conv2d_geom t = stride1_input_grad_geom(g);
  return small_pad(&t);
}

/* A worker's scratch: a padded image, a padded gx, a padded gout and the
 * flipped weights. */
static int64_t small_work_floats(const nn_conv2d_geom *g) {
  direct_conv d = small_pad(g), e = small_gout_pad(g);
  return 2 * pad_floats(&d) + pad_floats(&e) + g->o * patch_size(g);
}

static void small_forward_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  direct_conv d = small_pad(g);
  pad_copy(j->work, j->x + n * image_size(g), g->c, g->h, g->w, &d, g->ph, g->pw);
  small_forward(j->out + n * output_size(g), j->work, j->w, j->bias, g, d.rows, d.stride, false);
}

/* gx [C, H, W] += the image's cells of gxp [C][rows][stride] (padded). */
static void unpad_add(float *gx, const float *gxp, const nn_conv2d_geom *g, const direct_conv *d) {
  int64_t x0 = 0, x1 = g->w < d->stride - g->pw ? g->w : d->stride - g->pw;
  for (int64_t c = 0; c < g->c; c++)
    for (int64_t y = 0; y < g->h && y + g->ph < d->rows; y++) {
      float *dst = gx + (c * g->h + y) * g->w;
      const float *src = gxp + (c * d->rows + y + g->ph) * d->stride + g->pw;
      for (int64_t x = x0; x < x1; x++) dst[x] += src[x];
    }
}

static void small_backward_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  direct_conv d = small_pad(g), e = small_gout_pad(g);
  float *xp = j->work, *gxp = xp + pad_floats(&d), *gop = gxp + pad_floats(&d);
  float *wq = gop + pad_floats(&e);
  const float *go = j->gout + n * output_size(g);
  if (j->gw) {
    pad_copy(xp, j->x + n * image_size(g), g->c, g->h, g->w, &d, g->ph, g->pw);
    small_weight_grad(j->gw, go, xp, g, d.rows, d.stride);
  }
  if (!j->gx) return;
  float *gxn = j->gx + n * image_size(g);
  if (g->sh == 1 && g->sw == 1) {
    nn_conv2d_geom t = stride1_input_grad_geom(g);
    if (n == j->n0) pack_flipped_groups(wq, j->w, g);
    pad_copy(gop, go, g->o, g->oh, g->ow, &e, g->dh * (g->kh - 1) - g->ph,
             g->dw * (g->kw - 1) - g->pw);
    small_forward(gxn, gop, wq, NULL, &t, e.rows, e.stride, true);
    return;
  }
  memset(gxp, 0, sizeof(float) * (size_t)pad_floats(&d));
  small_input_grad(gxp, go, j->w, g, d.rows, d.stride);
  unpad_add(gxn, gxp, g, &d);
}

/* ---- depthwise (one input and one output channel per group) ----
 * Each image is moved to channels-last order, zero-padded, [rows][stride][C],
 * so that every tap is one multiply-add over a run of C adjacent channels
 * (C weights of the tap, [taps][C]): the loops vectorize over channels
 * whatever the image's size, where the plane-by-plane loops above spend
 * most of their time on the edges of small planes (MobileNet's last
 * layers are 2x2 and 1x1). */

/* Fewer channels than a vector holds leave the channels-last loops mostly
 * idle: those convolutions stay with the plane-by-plane loops. */
enum { DEPTHWISE_MIN_CHANNELS = 8 };

static bool use_depthwise(const nn_conv2d_geom *g) {
  return ngroups(g) > 1 && ngroups(g) == g->c && g->o == g->c && g->c >= DEPTHWISE_MIN_CHANNELS;
}

/* A worker's scratch: padded image and padded gx, channels last; the
 * output (or its gradient) channels last; the weights [taps][C] and the
 * weight gradient's accumulators [taps][C]. */
static int64_t depthwise_work_floats(const nn_conv2d_geom *g) {
  direct_conv d = small_pad(g);
  return 2 * pad_floats(&d) + g->c * positions(g) + 2 * g->kh * g->kw * g->c;
}

/* Channels move in blocks of 16 (TRANSPOSE_BLOCK): a block's 16 planes
 * are read row by row, so the 16 cache lines being read stay in L1 across
 * a row, and each cell's 16 channels are written as one run. */
enum { TRANSPOSE_BLOCK = 16 };

/* dst [rows][stride][C] = src [C][h][w] placed at (top, left), zeros around. */
static void to_channels_last(float *dst, const float *src, int64_t c, int64_t h, int64_t w,
                             int64_t rows, int64_t stride, int64_t top, int64_t left) {
  memset(dst, 0, sizeof(float) * (size_t)(rows * stride * c));
  int64_t y1 = h < rows - top ? h : rows - top, x1 = w < stride - left ? w : stride - left;
  for (int64_t k0 = 0; k0 < c; k0 += TRANSPOSE_BLOCK) {
    int64_t k1 = k0 + TRANSPOSE_BLOCK < c ? k0 + TRANSPOSE_BLOCK : c;
    for (int64_t y = 0; y < y1; y++)
      for (int64_t x = 0; x < x1; x++) {
        float *d = dst + ((y + top) * stride + x + left) * c;
        const float *s = src + y * w + x;
        for (int64_t k = k0; k < k1; k++) d[k] = s[k * h * w];
      }
  }
}

/* dst [C][h][w] (+)= src [rows][stride][C] read from (top, left). */
static void from_channels_last(float *dst, const float *src, int64_t c, int64_t h, int64_t w,
                               int64_t rows, int64_t stride, int64_t top, int64_t left, bool add) {
  int64_t y1 = h < rows - top ? h : rows - top, x1 = w < stride - left ? w : stride - left;
  for (int64_t k0 = 0; k0 < c; k0 += TRANSPOSE_BLOCK) {
    int64_t k1 = k0 + TRANSPOSE_BLOCK < c ? k0 + TRANSPOSE_BLOCK : c;
    for (int64_t y = 0; y < y1; y++)
      for (int64_t x = 0; x < x1; x++) {
        const float *s = src + ((y + top) * stride + x + left) * c;
        float *d = dst + y * w + x;
        if (add)
          for (int64_t k = k0; k < k1; k++) d[k * h * w] += s[k];
        else
          for (int64_t k = k0; k < k1; k++) d[k * h * w] = s[k];
      }
  }
}

/* out [OH][OW][C] = bias + sum over taps of wt [taps][C] * xp [rows][stride][C]. */
VECTOR_CLONES static void dw_forward(float *restrict out, const float *restrict xp,
                                     const float *restrict wt, const float *restrict bias,
                                     const nn_conv2d_geom *g, int64_t wp) {
  int64_t C = g->c;
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ox = 0; ox < g->ow; ox++) {
      float *restrict d = out + (oy * g->ow + ox) * C;
      for (int64_t k = 0; k < C; k++) d[k] = bias ? bias[k] : 0.0f;
      for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
          int64_t cell = (oy * g->sh + i * g->dh) * wp + ox * g->sw + j * g->dw;
          const float *restrict s = xp + cell * C;
          const float *restrict w = wt + (i * g->kw + j) * C;
          for (int64_t k = 0; k < C; k++) d[k] += w[k] * s[k];
        }
    }
}

/* gxp [rows][stride][C] += wt * go [OH][OW][C] at each tap. */
VECTOR_CLONES static void dw_input_grad(float *restrict gxp, const float *restrict go,
                                        const float *restrict wt, const nn_conv2d_geom *g,
                                        int64_t wp) {
  int64_t C = g->c;
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ox = 0; ox < g->ow; ox++) {
      const float *restrict s = go + (oy * g->ow + ox) * C;
      for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
          float *restrict d = gxp + ((oy * g->sh + i * g->dh) * wp + ox * g->sw + j * g->dw) * C;
          const float *restrict w = wt + (i * g->kw + j) * C;
          for (int64_t k = 0; k < C; k++) d[k] += w[k] * s[k];
        }
    }
}

/* acc [taps][C] += go [OH][OW][C] * xp at each tap. */
VECTOR_CLONES static void dw_weight_grad(float *restrict acc, const float *restrict go,
                                         const float *restrict xp, const nn_conv2d_geom *g,
                                         int64_t wp) {
  int64_t C = g->c;
  for (int64_t oy = 0; oy < g->oh; oy++)
    for (int64_t ox = 0; ox < g->ow; ox++) {
      const float *restrict s = go + (oy * g->ow + ox) * C;
      for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
          int64_t cell = (oy * g->sh + i * g->dh) * wp + ox * g->sw + j * g->dw;
          const float *restrict x = xp + cell * C;
          float *restrict a = acc + (i * g->kw + j) * C;
          for (int64_t k = 0; k < C; k++) a[k] += s[k] * x[k];
        }
    }
}

/* wt [taps][C] = w [C][taps]. */
static void dw_pack(float *wt, const float *w, int64_t c, int64_t taps) {
  for (int64_t k = 0; k < c; k++)
    for (int64_t t = 0; t < taps; t++) wt[t * c + k] = w[k * taps + t];
}

static void depthwise_forward_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  direct_conv d = small_pad(g);
  int64_t taps = g->kh * g->kw;
  float *xp = j->work, *out = xp + 2 * pad_floats(&d), *wt = out + g->c * positions(g);
  if (n == j->n0) dw_pack(wt, j->w, g->c, taps);
  to_channels_last(xp, j->x + n * image_size(g), g->c, g->h, g->w, d.rows, d.stride, g->ph, g->pw);
  dw_forward(out, xp, wt, j->bias, g, d.stride);
  from_channels_last(j->out + n * output_size(g), out, g->c, g->oh, g->ow, g->oh, g->ow, 0, 0,
                     false);
}

static void depthwise_backward_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  direct_conv d = small_pad(g);
  int64_t taps = g->kh * g->kw;
  float *xp = j->work, *gxp = xp + pad_floats(&d), *go = gxp + pad_floats(&d);
  float *wt = go + g->c * positions(g), *acc = wt + taps * g->c;
  if (n == j->n0) {
    if (j->gx) dw_pack(wt, j->w, g->c, taps);
    memset(acc, 0, sizeof(float) * (size_t)(taps * g->c));
  }
  to_channels_last(go, j->gout + n * output_size(g), g->c, g->oh, g->ow, g->oh, g->ow, 0, 0);
  if (j->gw) {
    to_channels_last(xp, j->x + n * image_size(g), g->c, g->h, g->w, d.rows, d.stride, g->ph,
                     g->pw);
    dw_weight_grad(acc, go, xp, g, d.stride);
    if (n == j->n1 - 1) /* the worker's last image: acc [taps][C] into gw [C][taps] */
      for (int64_t k = 0; k < g->c; k++)
        for (int64_t t = 0; t < taps; t++) j->gw[k * taps + t] += acc[t * g->c + k];
  }
  if (j->gx) {
    memset(gxp, 0, sizeof(float) * (size_t)pad_floats(&d));
    dw_input_grad(gxp, go, wt, g, d.stride);
    from_channels_last(j->gx + n * image_size(g), gxp, g->c, g->h, g->w, d.rows, d.stride, g->ph,
                       g->pw, true);
  }
}

static void forward_direct_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  pad_copy(j->work, j->x + n * image_size(g), g->c, g->h, g->w, j->d, g->ph, g->pw);
  direct_kernel(j->out + n * output_size(g), j->work, j->packed, j->packed_bias, j->d, false);
}

static void forward_gemm_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  if (ngroups(g) > 1) {
    forward_groups(j, n);
    return;
  }
  const float *col = j->x + n * image_size(g); /* a pointwise image is its own columns */
  if (!is_pointwise(g)) {
    im2col(j->work, col, g);
    col = j->work;
  }
  /* The bias is the GEMM's starting value (OpenBLAS would otherwise clear
   * the output first, then we would add it: two passes). */
  float *dst = j->out + n * output_size(g);
  if (j->bias) fill_bias(dst, j->bias, g->o, positions(g));
  gemm(false, false, g->o, positions(g), patch_size(g), j->w, col, j->bias ? 1.0f : 0.0f, dst);
}

/* gw and, unless a direct pass does it, gx, by GEMM. */
static void backward_gemm_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  int64_t K = patch_size(g), P = positions(g), O = g->o;
  const float *go = j->gout + n * output_size(g), *xn = j->x ? j->x + n * image_size(g) : NULL;
  float *gxn = j->gx ? j->gx + n * image_size(g) : NULL;
  if (ngroups(g) > 1) {
    backward_groups(j, go, xn, gxn);
    return;
  }
  if (is_pointwise(g)) { /* columns = x itself; col2im = identity */
    if (j->gw) gemm(false, true, O, K, P, go, xn, 1.0f, j->gw);
    if (gxn) gemm(true, false, K, P, O, j->w, go, 1.0f, gxn);
    return;
  }
  if (j->gw) {
    im2col(j->work, xn, g);
    gemm(false, true, O, K, P, go, j->work, 1.0f, j->gw);
  }
  if (gxn) {
    gemm(true, false, K, P, O, j->w, go, 0.0f, j->work);
    col2im(gxn, j->work, g);
  }
}

static void input_grad_direct_image(const conv_job *j, int64_t n) {
  const nn_conv2d_geom *g = j->g;
  pad_copy(j->work, j->gout + n * output_size(g), g->o, g->oh, g->ow, j->d,
           g->dh * (g->kh - 1) - g->ph, g->dw * (g->kw - 1) - g->pw);
  direct_kernel(j->gx + n * image_size(g), j->work, j->packed, NULL, j->d, true);
}

static void run_jobs(void *ctx, int64_t begin, int64_t end) {
  const conv_job *jobs = ctx;
  for (int64_t k = begin; k < end; k++)
    for (int64_t n = jobs[k].n0; n < jobs[k].n1; n++) jobs[k].image(&jobs[k], n);
}

/* Grouped convolutions do little work per image (MobileNet's last layers:
 * 1x1 images): a worker gets at least GROUPED_MIN_MACS multiply-adds, or
 * starting its thread costs more than it saves. */
enum { GROUPED_MIN_MACS = 1 << 19 };

static int64_t workers_for(const nn_conv2d_geom *g) {
  int64_t w = nn_get_num_threads();
  if (w > g->n) w = g->n;
  if (ngroups(g) > 1) {
    int64_t macs = g->n * output_size(g) * patch_size(g);
    if (w > macs / GROUPED_MIN_MACS) w = macs / GROUPED_MIN_MACS;
  }
  if (w > MAX_WORKERS) w = MAX_WORKERS;
  return w < 1 ? 1 : w;
}

/* Runs job over every image, split among workers_for(g) jobs on the
 * engine's pool: job k's scratch is job->work + k * work_floats and,
 * when job->gw is set, its accumulator (k > 0) is partials + (k - 1) *
 * O*K, added into job->gw at the end in job order (deterministic). */
static void run_split(const conv_job *job, int64_t work_floats, float *partials) {
  const nn_conv2d_geom *g = job->g;
  int64_t workers = workers_for(g), gw_size = g->o * patch_size(g);
  conv_job jobs[MAX_WORKERS];
  for (int64_t k = 0; k < workers; k++) {
    jobs[k] = *job;
    jobs[k].n0 = g->n * k / workers;
    jobs[k].n1 = g->n * (k + 1) / workers;
    jobs[k].work = job->work + k * work_floats;
    if (job->gw && k > 0) {
      jobs[k].gw = partials + (k - 1) * gw_size;
      memset(jobs[k].gw, 0, sizeof(float) * (size_t)gw_size);
    }
  }
  nn_parallel_for(workers, 1, run_jobs, jobs); /* a job per thread */
  for (int64_t k = 1; job->gw && k < workers; k++)
    for (int64_t i = 0; i < gw_size; i++) job->gw[i] += jobs[k].gw[i];
}

/* ---- small images: the whole batch in one GEMM ----
 * With few output positions per image (ResNet-18's last stages on 64x64
 * inputs: 8x8 down to 2x2) a GEMM per image is thin (n = P = 4: the
 * weights are read once per 4 columns) and the direct kernel's 16-column
 * rows are mostly padding. Unfolding the batch into columns [K, N*P]
 * makes it one GEMM [O, K] x [K, N*P], whose [O, N*P] result is then
 * reordered into [N, O, P]; the backward reorders gout the other way:
 *   gw [O, K]         += gout [O, N*P] x columns^T
 *   columns [K, N*P]   = w^T [K, O] x gout [O, N*P], folded back into gx
 * OpenBLAS threads the one GEMM. On ResNet-18's training step (batch 32,
 * 64x64, 1 thread; bench/models.lua) this took the step from 2.75 s to
 * 0.58 s, from 3.5x PyTorch's time to under 1x. */

enum { BATCHED_MAX_POSITIONS = 256 };

static bool batched_enabled = true;

void nn_conv2d_use_batched(bool on) { batched_enabled = on; }

static bool use_batched(const nn_conv2d_geom *g) {
  return batched_enabled && ngroups(g) == 1 && g->n > 1 && positions(g) < BATCHED_MAX_POSITIONS;
}

/* Scratch: columns [K, N*P], then the [O, N*P] product or gout. */
static int64_t batched_floats(const nn_conv2d_geom *g) {
  return (patch_size(g) + g->o) * g->n * positions(g);
}

static void unfold_batch(float *cols, const float *x, const nn_conv2d_geom *g) {
  int64_t P = positions(g), NP = g->n * P;
  for (int64_t n = 0; n < g->n; n++) col_transfer(UNFOLD, cols + n * P, (float *)x + n * image_size(g), g, NP);
}

static void forward_batched(float *out, const float *x, const float *w, const float *bias,
                            const nn_conv2d_geom *g, float *scratch) {
  int64_t K = patch_size(g), P = positions(g), O = g->o, NP = g->n * P;
  float *cols = scratch, *prod = scratch + K * NP;
  unfold_batch(cols, x, g);
  gemm(false, false, O, NP, K, w, cols, 0.0f, prod);
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t o = 0; o < O; o++) {
      const float *src = prod + o * NP + n * P;
      float *dst = out + (n * O + o) * P, b = bias ? bias[o] : 0.0f;
      for (int64_t p = 0; p < P; p++) dst[p] = src[p] + b;
    }
}

static void backward_batched(float *gx, float *gw, const float *gout, const float *x,
                             const float *w, const nn_conv2d_geom *g, float *scratch) {
  int64_t K = patch_size(g), P = positions(g), O = g->o, NP = g->n * P;
  float *cols = scratch, *gob = scratch + K * NP;
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t o = 0; o < O; o++)
      memcpy(gob + o * NP + n * P, gout + (n * O + o) * P, sizeof(float) * (size_t)P);
  if (gw) {
    unfold_batch(cols, x, g);
    gemm(false, true, O, K, NP, gob, cols, 1.0f, gw);
  }
  if (gx) {
    gemm(true, false, K, NP, O, w, gob, 0.0f, cols);
    for (int64_t n = 0; n < g->n; n++) col_transfer(FOLD, cols + n * P, gx + n * image_size(g), g, NP);
  }
}

/* oneDNN (conv_dnnl.c) serves every geometry it accepts except those
 * with few channels per group, depthwise included, where the direct
 * loops above were measured faster (MobileNetV2's depthwise layers,
 * bench/conv_variants.lua, 1 thread: 14.7 ms here, 57 ms by oneDNN). */
static bool use_dnnl(const nn_conv2d_geom *g) { return !use_small_groups(g); }

/* Scratch of each pass: what all workers share, then per-worker parts.
 *   forward direct:  packed weights and bias | a padded image per worker
 *   forward GEMM:    columns per worker
 *   backward GEMM:   columns per worker | gw accumulators of workers 1..
 *   gx direct:       packed weights | a padded gout per worker */

static int64_t columns_floats(const nn_conv2d_geom *g) {
  return is_pointwise(g) ? 0 : patch_size(g) * positions(g);
}

size_t nn_conv2d_scratch_floats(const nn_conv2d_geom *g) {
  int64_t workers = workers_for(g), columns = columns_floats(g);
  int64_t partials = (workers - 1) * g->o * patch_size(g);
  if (use_depthwise(g)) return (size_t)(workers * depthwise_work_floats(g) + partials);
  if (use_small_groups(g)) return (size_t)(workers * small_work_floats(g) + partials);
  if (use_batched(g)) return (size_t)batched_floats(g);
  int64_t need = workers * columns + partials;
  if (use_direct(g, g->o)) {
    direct_conv f = forward_direct(g);
    need = max64(need, patch_size(g) * f.coutpad + f.coutpad + workers * pad_floats(&f));
  }
  if (use_direct(g, g->c)) {
    direct_conv b = input_grad_direct(g);
    need = max64(need, g->o * g->kh * g->kw * b.coutpad + workers * pad_floats(&b));
  }
  return (size_t)need;
}

void nn_kernel_conv2d_forward(float *out, const float *x, const float *w, const float *bias,
                       const nn_conv2d_geom *g, float *scratch) {
  if (use_dnnl(g) && nn_dnnl_conv2d_forward(out, x, w, bias, g)) return;
  conv_job job = {.g = g, .x = x, .w = w, .bias = bias, .out = out, .work = scratch};
  if (use_depthwise(g)) {
    job.image = depthwise_forward_image;
    run_split(&job, depthwise_work_floats(g), NULL);
    return;
  }
  if (use_small_groups(g)) {
    job.image = small_forward_image;
    run_split(&job, small_work_floats(g), NULL);
    return;
  }
  if (use_batched(g)) {
    forward_batched(out, x, w, bias, g, scratch);
    return;
  }
  if (!use_direct(g, g->o)) {
    job.image = forward_gemm_image;
    run_split(&job, columns_floats(g), NULL);
    return;
  }
  direct_conv d = forward_direct(g);
  float *bias_pad = scratch + patch_size(g) * d.coutpad;
  pack_forward_weights(scratch, bias_pad, w, bias, g, d.coutpad);
  job.image = forward_direct_image;
  job.d = &d;
  job.packed = scratch;
  job.packed_bias = bias ? bias_pad : NULL;
  job.work = bias_pad + d.coutpad;
  run_split(&job, pad_floats(&d), NULL);
}

void nn_kernel_conv2d_backward(float *gx, float *gw, float *gb, const float *gout, const float *x,
                        const float *w, const nn_conv2d_geom *g, float *scratch) {
  if (gb) bias_grad(gb, gout, g->n, g->o, positions(g));
  if (use_dnnl(g)) {
    if (gx && nn_dnnl_conv2d_backward_data(gx, gout, w, g)) gx = NULL;
    if (gw && nn_dnnl_conv2d_backward_weights(gw, gout, x, g)) gw = NULL;
  }
  if (use_depthwise(g) || use_small_groups(g)) {
    if (!gx && !gw) return;
    bool dw = use_depthwise(g);
    int64_t work = dw ? depthwise_work_floats(g) : small_work_floats(g);
    conv_job job = {.g = g, .image = dw ? depthwise_backward_image : small_backward_image,
                    .x = x, .w = w, .gout = gout,
                    .gx = gx, .gw = gw, .work = scratch};
    run_split(&job, work, scratch + workers_for(g) * work);
    return;
  }
  if (use_batched(g)) {
    if (gx || gw) backward_batched(gx, gw, gout, x, w, g, scratch);
    return;
  }
  bool direct = gx && use_direct(g, g->c);
  if (gw || (gx && !direct)) {
    int64_t workers = workers_for(g), columns = columns_floats(g);
    conv_job job = {.g = g, .image = backward_gemm_image, .x = x, .w = w, .gout = gout,
                    .gx = direct ? NULL : gx, .gw = gw, .work = scratch};
    run_split(&job, columns, scratch + workers * columns);
  }
  if (!direct) return;
  direct_conv d = input_grad_direct(g);
  pack_input_grad_weights(scratch, w, g, d.coutpad);
  conv_job job = {.g = g, .image = input_grad_direct_image, .gout = gout, .gx = gx, .d = &d,
                  .packed = scratch, .work = scratch + g->o * g->kh * g->kw * d.coutpad};
  run_split(&job, pad_floats(&d), NULL);
}

/* ---- entry point ---- */

void nn_conv2d_pad_same(nn_conv2d_args *args, int64_t kh, int64_t kw) {
  args->total_ph = args->dh * (kh - 1);
  args->total_pw = args->dw * (kw - 1);
  args->ph = args->total_ph / 2;
  args->pw = args->total_pw / 2;
}

nn_conv2d_geom nn_conv2d_geometry(const nn_tensor *x, const nn_tensor *w,
                                  const nn_conv2d_args *a) {
  const int64_t *xs = x->shape, *ws = w->shape;
  return (nn_conv2d_geom){
      .n = xs[0], .c = xs[1], .h = xs[2], .w = xs[3], .o = ws[0], .kh = ws[2], .kw = ws[3],
      .oh = nn_conv_out_size(xs[2], ws[2], a->sh, a->total_ph, a->dh),
      .ow = nn_conv_out_size(xs[3], ws[3], a->sw, a->total_pw, a->dw),
      .sh = a->sh, .sw = a->sw, .ph = a->ph, .pw = a->pw, .dh = a->dh, .dw = a->dw,
      .groups = a->groups > 1 ? a->groups : 1,
  };
}

/* A float32 scratch tensor of floats floats, NULL when none is needed. */
static nn_status scratch_of(size_t floats, nn_tensor **scratch) {
  int64_t size = (int64_t)floats;
  *scratch = NULL;
  if (floats > 0 && !(*scratch = nn_tensor_empty(NN_FLOAT32, 1, &size))) return NN_ERR_NOMEM;
  return NN_OK;
}

static float *data_or_null(const nn_tensor *t) { return t ? nn_tensor_data(t) : NULL; }

/* What conv2d and conv_transpose2d run on: x, w and b contiguous (copies
 * where they were not) and the scratch of geometry g. */
typedef struct conv_operands {
  const nn_tensor *x, *w, *b;
  nn_tensor *copies[3], *scratch;
} conv_operands;

static nn_status operands_of(conv_operands *o, const nn_tensor *x, const nn_tensor *w,
                             const nn_tensor *b, const nn_conv2d_geom *g) {
  *o = (conv_operands){0};
  nn_status st = nn_contiguous(x, &o->copies[0], &o->x);
  if (!st) st = nn_contiguous(w, &o->copies[1], &o->w);
  if (!st) st = nn_contiguous(b, &o->copies[2], &o->b);
  if (!st) st = scratch_of(nn_conv2d_scratch_floats(g), &o->scratch);
  return st;
}

static void operands_release(conv_operands *o) {
  nn_tensor_release(o->scratch);
  for (int i = 0; i < 3; i++) nn_tensor_release(o->copies[i]);
}

/* Records op on out (inputs x, w, b), saving the contiguous x and w its
 * backward reads; *node is NULL when nothing is recorded, else the caller
 * sets its args. */
static nn_status record_conv(nn_node **node, nn_op op, nn_tensor *out, const nn_tensor *x,
                             const nn_tensor *w, const nn_tensor *b, const conv_operands *o) {
  nn_status st = nn_record(node, op, out, 3, (nn_tensor *[]){(nn_tensor *)x, (nn_tensor *)w, (nn_tensor *)b});
  if (!st && *node) st = nn_node_save(*node, o->x);
  if (!st && *node) st = nn_node_save(*node, o->w);
  return st;
}

nn_status nn_conv2d(nn_tensor *out, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                    const nn_conv2d_args *args) {
  nn_conv2d_geom g = nn_conv2d_geometry(x, w, args);
  conv_operands o;
  nn_status st = operands_of(&o, x, w, b, &g);
  if (!st) {
    nn_kernel_conv2d_forward(nn_tensor_data(out), nn_tensor_data(o.x), nn_tensor_data(o.w),
                             data_or_null(o.b), &g, data_or_null(o.scratch));
    nn_node *node;
    st = record_conv(&node, NN_OP_CONV2D, out, x, w, b, &o);
    if (node) node->args.conv2d = *args;
  }
  operands_release(&o);
  return st;
}

/* ---- autograd ---- */

/* CONV2D node: inputs x, w, bias (NULL: none); saved x, w (contiguous),
 * whose shapes and args.conv2d give the geometry. */
bool nn_conv2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0], *w = n->saved[1];
  nn_conv2d_geom geom = nn_conv2d_geometry(x, w, &n->args.conv2d);
  nn_tensor *scratch = NULL;
  if ((gi[0] || gi[1]) && scratch_of(nn_conv2d_scratch_floats(&geom), &scratch)) return false;
  nn_kernel_conv2d_backward(data_or_null(gi[0]), data_or_null(gi[1]), data_or_null(gi[2]),
                            nn_tensor_data(g), nn_tensor_data(x), nn_tensor_data(w), &geom,
                            data_or_null(scratch));
  nn_tensor_release(scratch);
  return true;
}

/* ---- transposed convolution ----
 * conv_transpose2d(x, w) is the input gradient of the convolution
 * nn_conv_transpose2d_geometry describes, given x as that convolution's
 * output gradient: the backward kernel above, into a zeroed output. Its
 * own backward runs the same convolution forward (for gx) and its
 * weight gradient with the roles of input and output gradient swapped. */

int64_t nn_conv_transpose_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad,
                                   int64_t out_pad, int64_t dilation) {
  return (in - 1) * stride - 2 * pad + dilation * (k - 1) + out_pad + 1;
}

nn_conv2d_geom nn_conv_transpose2d_geometry(const nn_tensor *x, const nn_tensor *w,
                                            const nn_conv_transpose2d_args *a) {
  const int64_t *xs = x->shape, *ws = w->shape;
  int64_t groups = a->groups > 1 ? a->groups : 1;
  return (nn_conv2d_geom){
      .n = xs[0], .c = ws[1] * groups,
      .h = nn_conv_transpose_out_size(xs[2], ws[2], a->sh, a->ph, a->oph, a->dh),
      .w = nn_conv_transpose_out_size(xs[3], ws[3], a->sw, a->pw, a->opw, a->dw),
      .o = xs[1], .kh = ws[2], .kw = ws[3], .oh = xs[2], .ow = xs[3],
      .sh = a->sh, .sw = a->sw, .ph = a->ph, .pw = a->pw, .dh = a->dh, .dw = a->dw,
      .groups = groups,
  };
}

/* out [N, C, P] += bias [C] at every position. */
static void add_bias(float *out, const float *bias, int64_t n, int64_t c, int64_t p) {
  for (int64_t i = 0; i < n * c; i++) {
    float v = bias[i % c], *row = out + i * p;
    for (int64_t j = 0; j < p; j++) row[j] += v;
  }
}

nn_status nn_conv_transpose2d(nn_tensor *out, const nn_tensor *x, const nn_tensor *w,
                              const nn_tensor *b, const nn_conv_transpose2d_args *args) {
  nn_conv2d_geom g = nn_conv_transpose2d_geometry(x, w, args);
  conv_operands o;
  nn_status st = operands_of(&o, x, w, b, &g);
  if (!st) {
    /* The forward of a transposed convolution is the input gradient of
     * the convolution it transposes: a backward that adds into zeros. */
    float *y = nn_tensor_data(out);
    memset(y, 0, sizeof(float) * (size_t)(g.n * image_size(&g)));
    nn_kernel_conv2d_backward(y, NULL, NULL, nn_tensor_data(o.x), NULL, nn_tensor_data(o.w), &g,
                              data_or_null(o.scratch));
    if (o.b) add_bias(y, nn_tensor_data(o.b), g.n, g.c, g.h * g.w);
    nn_node *node;
    st = record_conv(&node, NN_OP_CONV_TRANSPOSE2D, out, x, w, b, &o);
    if (node) node->args.conv_transpose2d = *args;
  }
  operands_release(&o);
  return st;
}

/* CONV_TRANSPOSE2D node: inputs x, w, bias (NULL: none); saved x, w
 * (contiguous). g is the result's gradient, the convolution's input. */
bool nn_conv_transpose2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0], *w = n->saved[1];
  nn_conv2d_geom geom = nn_conv_transpose2d_geometry(x, w, &n->args.conv_transpose2d);
  if (gi[2]) bias_grad(nn_tensor_data(gi[2]), nn_tensor_data(g), geom.n, geom.c, geom.h * geom.w);
  if (!gi[0] && !gi[1]) return true;
  nn_tensor *scratch = NULL, *gx = NULL;
  if (scratch_of(nn_conv2d_scratch_floats(&geom), &scratch)) return false;
  if (gi[0] && !(gx = nn_tensor_empty(NN_FLOAT32, x->ndim, x->shape))) {
    nn_tensor_release(scratch);
    return false;
  }
  if (gi[1])
    nn_kernel_conv2d_backward(NULL, nn_tensor_data(gi[1]), NULL, nn_tensor_data(x),
                              nn_tensor_data(g), nn_tensor_data(w), &geom, data_or_null(scratch));
  if (gx) {
    float *dst = nn_tensor_data(gi[0]), *src = nn_tensor_data(gx);
    nn_kernel_conv2d_forward(src, nn_tensor_data(g), nn_tensor_data(w), NULL, &geom,
                             data_or_null(scratch));
    for (int64_t i = 0, len = geom.n * output_size(&geom); i < len; i++) dst[i] += src[i];
  }
  nn_tensor_release(gx);
  nn_tensor_release(scratch);
  return true;
}
