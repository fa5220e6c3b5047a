/*
 * nn_transform: data-augmentation kernels over a batch of images
 * x (N,C,H,W), contiguous float32. Each sample comes with its own
 * parameters (drawn by the caller), so one call augments the whole batch.
 * Pure functions: outputs first, no allocation, no errors.
 *
 * Geometry: pixel (i, j) is row i, column j; the image centre is
 * ((H-1)/2, (W-1)/2). A warp maps each output pixel back to a source point
 * and samples it bilinearly, with zeros outside the image (torchvision's
 * rotate/affine with fill 0).
 */
#ifndef NN_TRANSFORM_H
#define NN_TRANSFORM_H

#include <stdint.h>

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
