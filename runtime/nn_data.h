/*
 * nn_data: dataset files. For now the IDX format of MNIST and
 * Fashion-MNIST, gzipped or not (zlib's gz* functions read plain files too).
 *
 * IDX layout: magic 0x00 0x00 <type> <ndim>, then ndim big-endian uint32
 * sizes, then the values row-major. Only type 0x08 (unsigned byte) loads.
 *
 * Like the tensor files of nn_io.h, reading takes two steps so the caller
 * creates the destination tensor itself:
 *
 *   nn_idx_file f;
 *   if (nn_idx_open(&f, path, err)) return ...;   header read and validated
 *   out = contiguous float32 or int64 tensor of f.ndim, f.shape;
 *   nn_idx_read(&f, out, scale, err);
 *   nn_idx_close(&f);
 *
 * Functions return NN_IO_OK or an nn_io_status code and then fill err
 * (NN_IO_ERRLEN bytes) with a message naming the path and the reason.
 * Nothing here raises, aborts or prints. nn_idx_close is safe on a zeroed,
 * failed or already closed reader.
 */
#ifndef NN_DATA_H
#define NN_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_io.h"
#include "nn_tensor.h"

/* The one IDX element type that loads: unsigned byte. */
#define NN_IDX_UBYTE 0x08

typedef struct nn_idx_file {
  void *gz; /* gzFile while open, else NULL */
  char path[1024];
  int type; /* stored element type code */
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  int64_t numel;
} nn_idx_file;

/* Opens path and validates the header: magic, a supported type, 1 to
 * NN_MAX_DIMS dims, a sane element count and, for uncompressed files, a
 * size that holds all the values. */
nn_io_status nn_idx_open(nn_idx_file *f, const char *path, char *err);
/* Reads the values into out: contiguous, f's shape, float32 or int64.
 * float32 values are divided by 255 when scale, else kept as 0..255.
 * Fails on truncated data and on bytes left after the last value. */
nn_io_status nn_idx_read(nn_idx_file *f, nn_tensor *out, bool scale, char *err);
void nn_idx_close(nn_idx_file *f);

#endif
