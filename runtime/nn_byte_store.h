/*
 * nn_byte_store: image datasets held as their files' bytes (SPEC §8), for
 * stdlib/nn/data/bytes.lua (through bindings/byte_store.c).
 *
 * The engine has no uint8 dtype, and a dataset that decoded its file into
 * float32 would cost four times the file's pixels. So the pixels of
 * fashion_mnist, mnist, cifar10 and image_folder stay here, one C buffer
 * of n samples, and each batch is made in one pass: gather the batch's
 * samples by index, byte -> float (v / 255) -> per-channel normalize,
 * written straight into the batch tensor. The values are bit-identical to
 * decoding the whole file to floats in [0,1] (nn_unit_from_byte) and then
 * normalizing with nn.transforms.Normalize (nn_kernel_normalize): the pass
 * does the same float operations in the same order, only without the
 * float copy in between.
 *
 * A sample has `ndim` dims (`shape`); shape[0] is its channels, the rest
 * one channel's plane. Samples are addressed through nn_byte_rows: a
 * contiguous run of the store (a dataset, or a view of one such as a
 * validation split) and, optionally, 1-based indices into that run.
 */
#ifndef NN_BYTE_STORE_H
#define NN_BYTE_STORE_H

#include <stdint.h>

#include "nn_io.h"
#include "nn_status.h"
#include "nn_tensor.h"

typedef struct nn_byte_store {
  unsigned char *bytes; /* n * row bytes, sample-major; NULL when empty */
  int64_t n;            /* samples */
  int ndim;             /* dims of one sample, 1..NN_MAX_DIMS-1 */
  int64_t shape[NN_MAX_DIMS];
  int64_t row;          /* bytes per sample: the product of shape */
} nn_byte_store;

/* Which samples of a store a batch (or a subset) takes: sample i of len is
 * store row first + index[i] - 1 (index 1-based, each in 1..count), or
 * first + start + i when index is NULL (start 0-based, start + len <=
 * count). */
typedef struct nn_byte_rows {
  int64_t first, count;
  const int64_t *index;
  int64_t start, len;
} nn_byte_rows;

/* Per-channel normalization fused into the conversion: channel c's values
 * become (v / 255 - mean[c]) / std[c]. nmean and nstd are 1 (the same for
 * every channel) or the sample's channels; 0 for both: no normalization. */
typedef struct nn_byte_norm {
  const float *mean, *std;
  int64_t nmean, nstd;
} nn_byte_norm;

/* Makes s a store of n samples of the given shape, not initialized (the
 * caller fills every sample). ndim is 1..NN_MAX_DIMS-1 and sizes at
 * least 1 (n may be 0). NN_ERR_NOMEM, or nn_fail when n * row overflows. */
nn_status nn_byte_store_init(nn_byte_store *s, int64_t n, int ndim, const int64_t *shape);
/* Frees the bytes; safe on a zeroed or already freed store. */
void nn_byte_store_free(nn_byte_store *s);

/* out [len, shape...] float32 contiguous = the samples rows picks,
 * converted and normalized as above. Fails (nn_fail) on an index or a
 * range outside the run, naming it; NN_ERR_NOMEM. Runs
 * on the engine's thread pool (nn_parallel_for) when the batch holds
 * more than a few hundred thousand values (a whole dataset, not a
 * training batch). */
nn_status nn_byte_store_gather(nn_tensor *out, const nn_byte_store *s, const nn_byte_rows *rows,
                               const nn_byte_norm *norm);

/* dst = a new store of the samples rows picks, copied (a subset that does
 * not hold the source's memory). Same failures as gather; dst is left
 * zeroed on failure. */
nn_status nn_byte_store_select(nn_byte_store *dst, const nn_byte_store *s,
                               const nn_byte_rows *rows);

/* Stores the PNG at path as row `row` of s, a store of [C,H,W] samples:
 * the file must have C channels (nn_png_info's count); one of another
 * size is resized bilinearly to H x W (nn_kernel_resize on the byte
 * values, rounded half to even: torchvision's resize of a uint8 image
 * without antialiasing). NN_IO_OK or a status with err filled (naming
 * the path). */
nn_io_status nn_byte_store_read_png(nn_byte_store *s, int64_t row, const char *path, char *err);

/* ---- kernels ---- */

/* out (len, row) floats, bytes (store rows, row) bytes, rows_of (len)
 * store rows (0-based), mean and std (row / plane channels, or both
 * NULL): for batch samples i = lo..hi-1 and v = bytes[rows_of[i]][k],
 * out[i][k] = (nn_unit_from_byte(v) - mean[c]) / std[c] with c = k / plane
 * (nn_kernel_normalize's expression), or nn_unit_from_byte(v).
 * Pure: no allocation, no errors; any range may run on any thread. */
void nn_kernel_bytes_to_float(float *out, const unsigned char *bytes, const int64_t *rows_of,
                              const float *mean, const float *std, int64_t row, int64_t plane,
                              int64_t lo, int64_t hi);

#endif
