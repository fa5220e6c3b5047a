/*
 * nn_data: dataset files for stdlib/nn/data/ (init.lua, cifar10.lua; through
 * bindings/data.c): the IDX format of MNIST and Fashion-MNIST
 * (data_idx.c) and CIFAR-10 binary batches (data_cifar.c).
 *
 * Functions return NN_IO_OK or an nn_io_status code and then fill err
 * (NN_IO_ERRLEN bytes) with a message naming the path and the reason.
 * Nothing here raises, aborts or prints.
 *
 * ---- IDX ----
 *
 * IDX files are read gzipped or not (zlib's gz* functions read plain
 * files too). IDX layout: magic 0x00 0x00 <type> <ndim>, then ndim big-endian uint32
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
 * nn_idx_close is safe on a zeroed, failed or already closed reader.
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
 * NN_MAX_DIMS dims, a sane element count and the memory ceiling: an
 * uncompressed file must hold all the values, a gzipped one must be large
 * enough to inflate to them (deflate expands at most 1032:1), so a header
 * that lies is refused before the caller allocates. */
nn_io_status nn_idx_open(nn_idx_file *f, const char *path, char *err);
/* Reads the values into out: contiguous, f's shape, float32 or int64.
 * float32 values are divided by 255 when scale, else kept as 0..255.
 * Fails on truncated data and on bytes left after the last value:
 * inflating stops one byte past what the header declares. */
nn_io_status nn_idx_read(nn_idx_file *f, nn_tensor *out, bool scale, char *err);
/* Reads the first count values (count <= f->numel) as the file's bytes
 * into out (image datasets keep them: nn_byte_store.h). When count is
 * all of them, fails on bytes left after the last value as nn_idx_read. */
nn_io_status nn_idx_read_bytes(nn_idx_file *f, unsigned char *out, int64_t count, char *err);
void nn_idx_close(nn_idx_file *f);

/* ---- CIFAR-10 binary version ----
 *
 * Two steps again: count the records of each file, then read them into
 * tensors of the total, with no file held between the calls. */

/* One record: a label byte, then 3x32x32 pixel bytes (R plane, G, B). */
#define NN_CIFAR_RECORD 3073
#define NN_CIFAR_PIXELS 3072

/* Number of records in path; fails when the file is empty or its size is
 * not a multiple of NN_CIFAR_RECORD. */
nn_io_status nn_cifar_count(const char *path, int64_t *n, char *err);
/* Reads exactly n records: x gets n*3072 floats in [0,1] (pixel/255), y
 * n labels shifted to 1..10 (a label byte over 9 is an error). */
nn_io_status nn_cifar_read(const char *path, int64_t n, float *x, int64_t *y, char *err);
/* nn_cifar_read keeping the pixels as the file's bytes: x gets n*3072
 * bytes (image datasets keep them: nn_byte_store.h). */
nn_io_status nn_cifar_read_bytes(const char *path, int64_t n, unsigned char *x, int64_t *y,
                                 char *err);
/* Reads counts[i] records of paths[i] for each of the nfiles files, in
 * order, into x [N,3,32,32] float32 and y [N] int64, contiguous, N the
 * sum of counts (each from nn_cifar_count); stops at the first failure. */
nn_io_status nn_cifar_read_files(nn_tensor *x, nn_tensor *y, int nfiles,
                                 const char *const *paths, const int64_t *counts, char *err);

#endif
