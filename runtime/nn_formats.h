/*
 * File formats for nn.data and nn.image (bindings/formats.c):
 * CIFAR-10 binary batches and PNG images (libpng's simplified API).
 *
 * Functions return NN_IO_OK or an nn_io_status code and then fill err
 * (NN_IO_ERRLEN bytes) with a message naming the path and the reason.
 * Each is two-phase where the caller must allocate: first the sizes, then
 * the read into the caller's contiguous buffer, so no file or libpng state
 * is held between the calls.
 */
#ifndef NN_FORMATS_H
#define NN_FORMATS_H

#include <stdint.h>

#include "nn_io.h"

/* ---- CIFAR-10 binary version ---- */

/* One record: a label byte, then 3x32x32 pixel bytes (R plane, G, B). */
#define NN_CIFAR_RECORD 3073
#define NN_CIFAR_PIXELS 3072

/* Number of records in path; fails when the file is empty or its size is
 * not a multiple of NN_CIFAR_RECORD. */
nn_io_status nn_cifar_count(const char *path, int64_t *n, char *err);
/* Reads exactly n records: x gets n*3072 floats in [0,1] (pixel/255), y
 * n labels shifted to 1..10 (a label byte over 9 is an error). */
nn_io_status nn_cifar_read(const char *path, int64_t n, float *x, int64_t *y, char *err);

/* ---- PNG ---- */

/* Channels, height and width the file loads as: gray 1, gray+alpha 2,
 * RGB 3, RGBA 4 (palette images expand to RGB or RGBA). */
nn_io_status nn_png_info(const char *path, int *c, int64_t *h, int64_t *w, char *err);
/* Decodes into out [c,h,w] (planar) as floats in [0,1]; 16-bit files are
 * reduced to 8-bit precision by libpng. c, h, w must be what nn_png_info
 * gave (checked again, in case the file changed). */
nn_io_status nn_png_read(const char *path, int c, int64_t h, int64_t w, float *out, char *err);
/* Writes src [c,h,w] (planar floats, clamped to [0,1], NaN -> 0) as an
 * 8-bit PNG with c = 1..4 channels, atomically (temp file + rename). */
nn_io_status nn_png_write(const char *path, int c, int64_t h, int64_t w, const float *src,
                          char *err);

/* out (C,OH,OW), x (C,H,W), contiguous: bilinear resize with PyTorch's
 * align_corners=False sampling (interpolate(mode='bilinear'), no
 * antialiasing). Pure kernel: no allocation, no errors. */
void nn_kernel_resize(float *out, const float *x, int64_t c, int64_t h, int64_t w, int64_t oh,
                      int64_t ow);

#endif
