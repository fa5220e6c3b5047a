/* The IDX targets' common step: open path with nn_idx_open and read it
 * with nn_idx_read into a float32 (scaled) or int64 tensor, as
 * nn.core._read_idx does. */
#ifndef FUZZ_IDX_READ_H
#define FUZZ_IDX_READ_H

#include "fuzz_common.h"
#include "nn_data.h"
#include "nn_tensor.h"

static inline void fuzz_idx_read(const char *path, bool as_float) {
  char err[NN_IO_ERRLEN] = "";
  nn_idx_file f;
  if (nn_idx_open(&f, path, err) != NN_IO_OK) {
    fuzz_check_error(err, "idx");
    return;
  }
  nn_tensor *t = nn_tensor_empty(as_float ? NN_FLOAT32 : NN_INT64, f.ndim, f.shape);
  if (t) {
    if (nn_idx_read(&f, t, as_float, err) != NN_IO_OK) fuzz_check_error(err, "idx");
    nn_tensor_release(t);
  }
  nn_idx_close(&f);
}

#endif
