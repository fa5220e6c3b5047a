/*
 * nn_pool: 2-D max and average pooling (pool.c), forward and backward, on
 * float32 planes: the entry points nn_max_pool2d and nn_avg_pool2d, and
 * the pointer kernels under them, which see x [N, C, H, W] (or [C, H, W])
 * as planes [N*C, H, W] (contiguous).
 *
 * Kernels and entry points trust their caller: the bindings check every
 * size first (padding at most half the window, output sizes >= 1 from
 * nn_pool2d_geometry). Backward functions ADD into their gradient buffers.
 */
#ifndef NN_POOL_H
#define NN_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_status.h"
#include "nn_tensor.h"

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

/* ---- entry points: run the pooling, record the node ---- */

/* The options of both pools; the node keeps them as its arguments. */
typedef struct nn_pool2d_args {
  int64_t kh, kw;         /* window */
  int64_t sh, sw;         /* stride */
  int64_t ph, pw;         /* padding, at most half the window */
  int64_t dh, dw;         /* dilation (max pooling only; 1 for average) */
  bool ceil_mode;         /* ceil, not floor, in the output size */
  bool count_include_pad; /* average: padded cells count in the divisor */
  int64_t divisor;        /* average: fixed divisor, 0 for none */
} nn_pool2d_args;

/* The geometry of pooling x [N, C, H, W] or [C, H, W] with args; its oh or
 * ow is < 1 when no window fits (the caller refuses that). The output has
 * x's shape with the last two dims OH, OW. */
nn_pool2d_geom nn_pool2d_geometry(const nn_tensor *x, const nn_pool2d_args *args);

/* out = max_pool2d(x): x [N, C, H, W] or [C, H, W] float32, out contiguous
 * of x's shape with the last two dims from nn_pool2d_geometry. A
 * non-contiguous x is copied first. The node saves each maximum's 0-based
 * position in its plane (int64, out's shape), written by the forward. */
nn_status nn_max_pool2d(nn_tensor *out, const nn_tensor *x, const nn_pool2d_args *args);

/* out = avg_pool2d(x), shapes as nn_max_pool2d (args->dh, dw are 1). */
nn_status nn_avg_pool2d(nn_tensor *out, const nn_tensor *x, const nn_pool2d_args *args);

/* ---- adaptive average pooling ----
 * Output cell (oy, ox) averages input rows [floor(oy*H/OH),
 * ceil((oy+1)*H/OH)) and columns likewise (PyTorch's windows, which
 * overlap when OH does not divide H). */

/* out [planes, OH, OW] = each window's mean; x [planes, H, W]. */
void nn_kernel_adaptive_avg_pool2d_forward(float *out, const float *x, int64_t planes, int64_t h,
                                           int64_t w, int64_t oh, int64_t ow);
/* gx [planes, H, W] += each output's gradient over its window's cells;
 * gout [planes, OH, OW]. */
void nn_kernel_adaptive_avg_pool2d_backward(float *gx, const float *gout, int64_t planes,
                                            int64_t h, int64_t w, int64_t oh, int64_t ow);

/* out = adaptive_avg_pool2d(x): x [N, C, H, W] or [C, H, W] float32 with
 * H, W >= 1, out contiguous of x's shape with the last two dims OH, OW
 * (>= 1). A non-contiguous x is copied first; the node needs no saved
 * tensor (the shapes of its gradients give the geometry). */
nn_status nn_adaptive_avg_pool2d(nn_tensor *out, const nn_tensor *x);

#endif
