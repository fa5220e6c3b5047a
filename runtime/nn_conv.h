/*
 * nn_conv: 2-D convolution (conv.c) and pooling (pool.c), forward and
 * backward, on contiguous float32 NCHW tensors.
 *
 * Letters mean the same everywhere: N images of C channels, H x W in;
 * O output channels, KH x KW kernel; OH x OW out; K = C*KH*KW (one
 * column of the unfolded input) and P = OH*OW (positions of one image).
 * Padding is the zero (conv) or ignored (pool) border before the first
 * row and column; the output size implies the border after, so the
 * asymmetric padding of padding='same' with an even kernel needs nothing
 * special.
 *
 * Kernels trust their caller: the bindings check every size first (output
 * sizes >= 1, windows that fit), and the geometry is consistent. Backward
 * functions ADD into their gradient buffers.
 */
#ifndef NN_CONV_H
#define NN_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One output dim: floor((in + pad_total - dilation*(k-1) - 1) / stride) + 1,
 * which is <= 0 when the dilated kernel does not fit the padded input. */
int64_t nn_conv_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad_total,
                         int64_t dilation);

/* ---- convolution (conv.c) ---- */

typedef struct nn_conv2d_geom {
  int64_t n, c, h, w; /* input x [N, C, H, W] */
  int64_t o, kh, kw;  /* weight [O, C, KH, KW] */
  int64_t oh, ow;     /* output [N, O, OH, OW] */
  int64_t sh, sw;     /* stride */
  int64_t ph, pw;     /* zero rows above / columns left of the input */
  int64_t dh, dw;     /* dilation */
} nn_conv2d_geom;

/* Floats of scratch nn_kernel_conv2d_forward and nn_kernel_conv2d_backward need. It
 * grows with nn_get_num_threads() (each thread's share of the images has
 * its own), so size it right before the pass it serves. */
size_t nn_conv2d_scratch_floats(const nn_conv2d_geom *g);

/* Test hook: false makes every convolution take the im2col + GEMM path,
 * even where the direct AVX-512 kernel would run (the default, true). */
void nn_conv2d_use_direct(bool on);

/* out = conv(x, w) + bias, image by image (the images split among
 * nn_get_num_threads() threads): by im2col and one GEMM, or for stride 1
 * on AVX-512 CPUs by a direct kernel.
 * out     [N, O, OH, OW]
 * x       [N, C, H, W]
 * w       [O, C, KH, KW]
 * bias    [O] or NULL
 * scratch nn_conv2d_scratch_floats(g) floats */
void nn_kernel_conv2d_forward(float *out, const float *x, const float *w, const float *bias,
                       const nn_conv2d_geom *g, float *scratch);

/* Adds the gradients of a convolution given gout, the output's gradient;
 * each of gx, gw, gb may be NULL (not wanted).
 * gx      [N, C, H, W]     += conv_transpose(gout, w)
 * gw      [O, C, KH, KW]   += gout (x) unfolded x
 * gb      [O]              += gout summed over N, OH, OW
 * gout    [N, O, OH, OW]
 * x, w    the forward's inputs (x only read when gw, w only when gx)
 * scratch nn_conv2d_scratch_floats(g) floats */
void nn_kernel_conv2d_backward(float *gx, float *gw, float *gb, const float *gout, const float *x,
                        const float *w, const nn_conv2d_geom *g, float *scratch);

/* ---- pooling (pool.c) ---- */

typedef struct nn_pool2d_geom {
  int64_t planes, h, w; /* input [planes = N*C, H, W] */
  int64_t oh, ow;       /* output [planes, OH, OW] */
  int64_t kh, kw;       /* window */
  int64_t sh, sw;       /* stride */
  int64_t ph, pw;       /* padding, at most half the window */
  int64_t dh, dw;       /* dilation (max pooling only; 1 for average) */
  bool count_include_pad; /* average: padded cells count in the divisor */
  int64_t divisor;        /* average: fixed divisor, 0 for none */
} nn_pool2d_geom;

/* One pooled dim as PyTorch: floor (or ceil with ceil_mode) of
 * (in + 2*pad - dilation*(k-1) - 1) / stride, plus 1; in ceil mode the
 * last window must start inside the input or its left padding. */
int64_t nn_pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad,
                         int64_t dilation, bool ceil_mode);

/* out = the maximum of each window (padding never wins; NaN does, and
 * among equal values the first in row-major order). idx, when not NULL,
 * receives each maximum's position in its plane (iy*W + ix), 0-based.
 * out [planes, OH, OW], idx [planes, OH, OW] or NULL, x [planes, H, W] */
void nn_kernel_max_pool2d_forward(float *out, int64_t *idx, const float *x, const nn_pool2d_geom *g);
/* gx[plane][idx] += gout: each output's gradient goes to its maximum.
 * gx [planes, H, W], gout and idx [planes, OH, OW] */
void nn_kernel_max_pool2d_backward(float *gx, const float *gout, const int64_t *idx,
                            const nn_pool2d_geom *g);

/* out = the mean of each window: the sum of its cells inside the input
 * over the divisor (g->divisor if set, else the window's cells inside the
 * padded input when count_include_pad, else its cells inside the input).
 * out [planes, OH, OW], x [planes, H, W] */
void nn_kernel_avg_pool2d_forward(float *out, const float *x, const nn_pool2d_geom *g);
/* gx += each output's gradient over its divisor, on its window's cells.
 * gx [planes, H, W], gout [planes, OH, OW] */
void nn_kernel_avg_pool2d_backward(float *gx, const float *gout, const nn_pool2d_geom *g);

#endif
