/*
 * nn_image: PNG images (libpng's simplified API) and resizing, for
 * nn.image (bindings/image.c).
 *
 * The PNG functions return NN_IO_OK or an nn_io_status code and then fill
 * err (NN_IO_ERRLEN bytes) with a message naming the path and the reason.
 * Reading is two-phase, so the caller allocates: first the sizes, then the
 * read into the caller's contiguous buffer, with no file or libpng state
 * held between the calls.
 *
 * Memory ceilings: reading refuses images with a side above 16384 pixels
 * (libpng's user limits) or whose decoded float32 [c,h,w] tensor would
 * exceed 1 GiB, before any pixel memory is taken; each error names its
 * limit.
 */
#ifndef NN_IMAGE_H
#define NN_IMAGE_H

#include <stdint.h>

#include "nn_io.h"
#include "nn_status.h"
#include "nn_tensor.h"

/* Channels, height and width the file loads as: gray 1, gray+alpha 2,
 * RGB 3, RGBA 4 (palette images expand to RGB or RGBA). */
nn_io_status nn_png_info(const char *path, int *c, int64_t *h, int64_t *w, char *err);
/* Decodes into out [c,h,w] (planar) as floats in [0,1]; 16-bit files are
 * reduced to 8-bit precision by libpng. c, h, w must be what nn_png_info
 * gave (checked again, in case the file changed). */
nn_io_status nn_png_read(const char *path, int c, int64_t h, int64_t w, float *out, char *err);
/* The same decode into out [c,h,w] (planar) as the file's 8-bit values:
 * image datasets keep these bytes (nn_byte_store.h). */
nn_io_status nn_png_read_bytes(const char *path, int c, int64_t h, int64_t w, unsigned char *out,
                               char *err);
/* Writes src [c,h,w] (planar floats, clamped to [0,1], NaN -> 0) as an
 * 8-bit PNG with c = 1..4 channels, atomically (temp file + rename). */
nn_io_status nn_png_write(const char *path, int c, int64_t h, int64_t w, const float *src,
                          char *err);

/* out (C,OH,OW), x (C,H,W), contiguous: bilinear resize with PyTorch's
 * align_corners=False sampling (interpolate(mode='bilinear'), no
 * antialiasing). Pure kernel: no allocation, no errors. */
void nn_kernel_resize(float *out, const float *x, int64_t c, int64_t h, int64_t w, int64_t oh,
                      int64_t ow);

/* out [C,OH,OW] = x [C,H,W] resized by nn_kernel_resize; both contiguous
 * float32, H and W at least 1. */
nn_status nn_resize(nn_tensor *out, const nn_tensor *x);

#endif
