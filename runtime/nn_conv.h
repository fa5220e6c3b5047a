/*
 * nn_conv: 2-D convolution (conv.c), forward and backward, on float32
 * NCHW tensors: the entry points nn_conv2d (channel groups included) and
 * nn_conv_transpose2d, and the pointer kernels under them (contiguous
 * operands). Pooling is nn_pool.h, resampling nn_upsample.h.
 *
 * Letters mean the same everywhere: N images of C channels, H x W in;
 * O output channels, KH x KW kernel; OH x OW out; K = C*KH*KW (one
 * column of the unfolded input) and P = OH*OW (positions of one image).
 * Padding is the zero border before the first row and column; the output size implies the border after, so the
 * asymmetric padding of padding='same' with an even kernel needs nothing
 * special.
 *
 * Kernels and the entry point trust their caller: the bindings check
 * every size first (output sizes >= 1 from nn_conv2d_geometry, GEMM
 * dims < 2^31), and the geometry is consistent. Backward functions ADD
 * into their gradient buffers.
 */
#ifndef NN_CONV_H
#define NN_CONV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn_status.h"
#include "nn_tensor.h"

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
  int64_t groups;     /* channel groups (1: none); weight is [O, C/groups, KH, KW] */
} nn_conv2d_geom;

/* Floats of scratch nn_kernel_conv2d_forward and nn_kernel_conv2d_backward need. It
 * grows with nn_get_num_threads() (each thread's share of the images has
 * its own), so size it right before the pass it serves. */
size_t nn_conv2d_scratch_floats(const nn_conv2d_geom *g);

/* Test hook: false keeps every convolution off oneDNN (conv_dnnl.c, the
 * default where it serves), on the paths below. */
void nn_conv2d_use_dnnl(bool on);

/* Test hook: false makes every convolution take the im2col + GEMM path,
 * even where the direct AVX-512 kernel would run (the default, true). */
void nn_conv2d_use_direct(bool on);

/* Test hook: false makes every convolution run image by image, even where
 * small images would be unfolded as one batch (the default, true). */
void nn_conv2d_use_batched(bool on);

/* out = conv(x, w) + bias, image by image (the images split among
 * nn_get_num_threads() threads): by im2col and one GEMM, or for stride 1
 * on AVX-512 CPUs by a direct kernel.
 * With g->groups > 1, output channels [k*O/groups, (k+1)*O/groups) see
 * only input channels [k*C/groups, (k+1)*C/groups): few channels per
 * group (depthwise) by direct loops, more by one GEMM per group.
 * out     [N, O, OH, OW]
 * x       [N, C, H, W]
 * w       [O, C/groups, KH, KW]
 * bias    [O] or NULL
 * scratch nn_conv2d_scratch_floats(g) floats */
void nn_kernel_conv2d_forward(float *out, const float *x, const float *w, const float *bias,
                       const nn_conv2d_geom *g, float *scratch);

/* Adds the gradients of a convolution given gout, the output's gradient;
 * each of gx, gw, gb may be NULL (not wanted).
 * gx      [N, C, H, W]     += conv_transpose(gout, w)
 * gw      [O, C/groups, KH, KW] += gout (x) unfolded x
 * gb      [O]              += gout summed over N, OH, OW
 * gout    [N, O, OH, OW]
 * x, w    the forward's inputs (x only read when gw, w only when gx)
 * scratch nn_conv2d_scratch_floats(g) floats */
void nn_kernel_conv2d_backward(float *gx, float *gw, float *gb, const float *gout, const float *x,
                        const float *w, const nn_conv2d_geom *g, float *scratch);

/* ---- entry point: run the convolution, record the node ---- */

/* conv2d's options; the node keeps them as its arguments. */
typedef struct nn_conv2d_args {
  int64_t sh, sw;             /* stride */
  int64_t ph, pw;             /* zero rows above / columns left of the input */
  int64_t total_ph, total_pw; /* zero rows (columns) on both sides together */
  int64_t dh, dw;             /* dilation */
  int64_t groups;             /* channel groups; 0 or 1: none */
} nn_conv2d_args;

/* padding='same' for a kh x kw kernel (stride 1): a dilated kernel's
 * reach in total, the odd row and column after, as PyTorch. */
void nn_conv2d_pad_same(nn_conv2d_args *args, int64_t kh, int64_t kw);

/* The geometry of conv2d(x [N, C, H, W], w [O, C, KH, KW]) with args;
 * its oh or ow is < 1 when the dilated kernel does not fit the padded
 * input (the caller refuses that). */
nn_conv2d_geom nn_conv2d_geometry(const nn_tensor *x, const nn_tensor *w,
                                  const nn_conv2d_args *args);

/* out [N, O, OH, OW] = conv(x [N, C, H, W], w [O, C/groups, KH, KW]) + b [O]
 * (b may be NULL), all float32, out contiguous and sized by
 * nn_conv2d_geometry. Non-contiguous operands are copied first; the
 * contiguous x and w are saved for the backward. */
nn_status nn_conv2d(nn_tensor *out, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b,
                    const nn_conv2d_args *args);

/* ---- transposed convolution: the gradient of conv2d with respect to
 * its input, as a layer ---- */

/* conv_transpose2d's options; the node keeps them as its arguments. */
typedef struct nn_conv_transpose2d_args {
  int64_t sh, sw;   /* stride */
  int64_t ph, pw;   /* rows (columns) cropped from each side of the full output */
  int64_t oph, opw; /* output_padding: rows (columns) added at the bottom (right) */
  int64_t dh, dw;   /* dilation */
  int64_t groups;   /* channel groups; 0 or 1: none */
} nn_conv_transpose2d_args;

/* One output dim: (in - 1)*stride - 2*pad + dilation*(k - 1) + out_pad + 1. */
int64_t nn_conv_transpose_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad,
                                   int64_t out_pad, int64_t dilation);

/* The geometry of the convolution whose input gradient
 * conv_transpose2d(x [N, Ci, H, W], w [Ci, Co/groups, KH, KW]) is: that
 * convolution's input is the result [N, Co, OH, OW], its output x (so
 * its n, c, h, w are N, Co, OH, OW and its o, oh, ow are Ci, H, W). */
nn_conv2d_geom nn_conv_transpose2d_geometry(const nn_tensor *x, const nn_tensor *w,
                                            const nn_conv_transpose2d_args *args);

/* out [N, Co, OH, OW] = conv_transpose(x [N, Ci, H, W], w [Ci, Co/groups,
 * KH, KW]) + b [Co] (b may be NULL), all float32, out contiguous and sized
 * by nn_conv_transpose2d_geometry (its n, c, h, w). The bindings check
 * output_padding < stride or < dilation. Non-contiguous operands are
 * copied first; the contiguous x and w are saved for the backward. */
nn_status nn_conv_transpose2d(nn_tensor *out, const nn_tensor *x, const nn_tensor *w,
                              const nn_tensor *b, const nn_conv_transpose2d_args *args);

#endif
