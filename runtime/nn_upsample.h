/*
 * nn_upsample: 2-D resampling (upsample.c), forward and backward, on
 * float32 planes: the entry point nn_upsample2d (nn.interpolate) and the
 * pointer kernels under it, which see x [N, C, H, W] as planes
 * [N*C, H, W] (contiguous).
 *
 * Output cell (oy, ox) reads the input at a source coordinate computed as
 * PyTorch does, in float:
 *   nearest:  min(floor(oy * r), H - 1)
 *   bilinear: align_corners: oy * r, r = (H - 1)/(OH - 1) (0 when OH is 1);
 *             else max((oy + 0.5) * r - 0.5, 0),
 * where r, the step, is 1/scale_factor when the caller gave a scale
 * factor and H/OH when it gave the size (nn_upsample2d_step). Bilinear
 * blends the two rows (columns) around the coordinate, the second
 * clamped to the last.
 *
 * Kernels and the entry point trust their caller: the bindings check
 * every size first. Backward functions ADD into their gradient buffers.
 */
#ifndef NN_UPSAMPLE_H
#define NN_UPSAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_status.h"
#include "nn_tensor.h"

typedef enum { NN_UPSAMPLE_NEAREST, NN_UPSAMPLE_BILINEAR } nn_upsample_mode;

typedef struct nn_upsample2d_geom {
  int64_t planes, h, w; /* input [planes = N*C, H, W] */
  int64_t oh, ow;       /* output [planes, OH, OW] */
  float rh, rw;         /* source step per output row (column) */
  nn_upsample_mode mode;
  bool align_corners;   /* bilinear only */
} nn_upsample2d_geom;

/* out [planes, OH, OW] = x [planes, H, W] resampled. */
void nn_kernel_upsample2d_forward(float *out, const float *x, const nn_upsample2d_geom *g);
/* gx [planes, H, W] += gout [planes, OH, OW] sent back to the cells each
 * output read, with the same weights. */
void nn_kernel_upsample2d_backward(float *gx, const float *gout, const nn_upsample2d_geom *g);

/* ---- entry point ---- */

/* interpolate's options; the node keeps them as its arguments. */
typedef struct nn_upsample2d_args {
  nn_upsample_mode mode;
  bool align_corners;     /* bilinear only */
  double scale_h, scale_w; /* the caller's scale factors; 0 when it gave the size */
} nn_upsample2d_args;

/* The step of one dim (in cells, out cells, the caller's scale or 0). */
float nn_upsample2d_step(int64_t in, int64_t out, double scale, const nn_upsample2d_args *args);

/* The geometry of resampling x [N, C, H, W] to out [N, C, OH, OW]. */
nn_upsample2d_geom nn_upsample2d_geometry(const nn_tensor *x, const nn_tensor *out,
                                          const nn_upsample2d_args *args);

/* out [N, C, OH, OW] (contiguous, OH and OW >= 1) = x [N, C, H, W]
 * (float32, H and W >= 1) resampled. A non-contiguous x is copied first;
 * the node saves nothing (its gradients' shapes give the geometry). */
nn_status nn_upsample2d(nn_tensor *out, const nn_tensor *x, const nn_upsample2d_args *args);

#endif
