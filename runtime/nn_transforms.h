/*
 * nn_transforms: data augmentation over a batch of images x (N,C,H,W),
 * contiguous float32, for stdlib/nn/transforms.lua.
 *
 * The entry points (nn_hflip, nn_warp, ...) draw every sample's parameters
 * from the generator they are given, in a fixed order, then run one kernel
 * over the whole batch: one seed gives the same augmentation. The kernels
 * (nn_kernel_*) take parameters already drawn: outputs first, no
 * allocation, no errors.
 *
 * Geometry: pixel (i, j) is row i, column j; the image centre is
 * ((H-1)/2, (W-1)/2). A warp maps each output pixel back to a source point
 * and samples it bilinearly, with zeros outside the image (torchvision's
 * rotate/affine with fill 0).
 */
#ifndef NN_TRANSFORMS_H
#define NN_TRANSFORMS_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_status.h"
#include "nn_tensor.h"

/* The generator of nn_random.h. */
struct nn_rng;

/* ---- entry points: draw the parameters, run the kernel ----
 *
 * x is an image batch (N,C,H,W) or one image (C,H,W) (then N is 1),
 * contiguous float32 with each dim below 2^31; out is a contiguous
 * float32 tensor of x's rank with x's N and C, and x's H and W unless
 * said otherwise. Scratch space comes from nn_alloc: NN_ERR_NOMEM when
 * it is refused, before anything is drawn. */

/* Each sample mirrored left-right with probability p: one uniform draw
 * per sample, u < p flips. */
nn_status nn_hflip(nn_tensor *out, const nn_tensor *x, struct nn_rng *rng, double p);

typedef enum nn_warp_kind {
  NN_WARP_ROTATE, /* by an angle in degrees, counter-clockwise */
  NN_WARP_SCALE,  /* a zoom by a factor (> 0) about the centre */
} nn_warp_kind;

typedef struct nn_warp_args {
  double flip_p;     /* probability of a left-right flip first; < 0: none */
  nn_warp_kind kind; /* the warp, by a value uniform in [lo, hi] */
  double lo, hi;
  bool crop;   /* an OH x OW crop (out's size) of the warped images */
  int64_t pad; /* zero-padded by pad on each side first */
} nn_warp_args;

/* A flip, a warp and a crop in one pass (nn_kernel_warp), each drawn per
 * sample in the order of the transforms run one by one, so with the same
 * draws: the flips (one uniform each, as nn_hflip) when flip_p >= 0, then
 * one uniform u per sample for the warp value lo + (hi - lo) * u, then
 * when crop a (top, left) position per sample, each uniform over the
 * H+2pad-OH+1 (W+2pad-OW+1) positions. out is (N,C,OH,OW) with
 * OH <= H+2pad, OW <= W+2pad when crop, else x's H and W;
 * (H+2)*(W+2) <= 2^31-1. Also nn.core._rotate and nn.core._random_scale: no flip,
 * no crop. */
nn_status nn_warp(nn_tensor *out, const nn_tensor *x, struct nn_rng *rng,
                  const nn_warp_args *args);

/* out (N,C,OH,OW): x zero-padded by pad on each side, then an OH x OW
 * window at a position drawn per sample (top, then left, each uniform
 * over the positions in the padded image); OH <= H+2pad, OW <= W+2pad. */
nn_status nn_random_crop(nn_tensor *out, const nn_tensor *x, struct nn_rng *rng, int64_t pad);

/* out = x + noise, noise normal with mean 0 and std, drawn in x's
 * element order. */
nn_status nn_gaussian_noise(nn_tensor *out, const nn_tensor *x, struct nn_rng *rng, double std);

typedef struct nn_normalize_args {
  const float *mean, *std; /* nmean / nstd values: 1 for every channel, or C */
  int64_t nmean, nstd;
} nn_normalize_args;

/* out = (x - mean[ch]) / std[ch] per channel; no draws. */
nn_status nn_normalize(nn_tensor *out, const nn_tensor *x, const nn_normalize_args *args);

/* ---- kernels ---- */

/* out (N,C,H,W), x (N,C,H,W), flip (N): sample s mirrored left-right
 * where flip[s] != 0, copied otherwise. */
void nn_kernel_hflip(float *out, const float *x, const uint8_t *flip,
                     int64_t n, int64_t c, int64_t h, int64_t w);

/* out (N,C,OH,OW), pad (C,H+2,W+2) scratch, x (N,C,H,W), m (N,4); flip,
 * top, left (N) or NULL. Warps each sample: the warped pixel at offset
 * (dy, dx) from the centre samples x at centre + (m0*dx + m1*dy,
 * m2*dx + m3*dy) (column, row), bilinear, with zeros around the image;
 * m is the inverse of the warp. Sample s is first mirrored left-right
 * where flip[s] != 0, and out[s,:,i,j] is the warped pixel
 * (i + top[s], j + left[s]), 0 outside H x W (NULL offsets are 0): so a
 * flip, a warp and a padded crop (nn_kernel_hflip, nn_kernel_crop) in
 * one pass, with the same result. (H+2)*(W+2) < 2^31. */
void nn_kernel_warp(float *out, float *pad, const float *x, const float *m, const uint8_t *flip,
                    const int64_t *top, const int64_t *left, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t oh, int64_t ow);

/* Fills m (4) with the inverse matrix of a rotation by `degrees`
 * counter-clockwise (as seen on screen, rows going down). */
void nn_transform_rotation(float *m, double degrees);
/* Fills m (4) with the inverse matrix of a zoom by factor (> 0). */
void nn_transform_scale(float *m, double factor);

/* out (N,C,OH,OW), x (N,C,H,W), top/left (N): out[s,:,i,j] =
 * x[s,:,top[s]+i-pad,left[s]+j-pad], zero outside x (x zero-padded by pad
 * on each side, then cropped at (top, left) of the padded image). */
void nn_kernel_crop(float *out, const float *x, const int64_t *top,
                    const int64_t *left, int64_t n, int64_t c, int64_t h,
                    int64_t w, int64_t oh, int64_t ow, int64_t pad);

/* out (N,C,H,W), x (N,C,H,W), mean/std (C): (x - mean[ch]) / std[ch]. */
void nn_kernel_normalize(float *out, const float *x, const float *mean,
                         const float *std, int64_t n, int64_t c, int64_t hw);

/* out (n) += x (n): noise already drawn into out, then the image added. */
void nn_kernel_add_into(float *out, const float *x, int64_t n);

#endif
