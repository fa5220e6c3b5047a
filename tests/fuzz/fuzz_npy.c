/* libFuzzer target: a NumPy .npy file (preamble, header dict, data),
 * opened with nn_npy_open and read with nn_npy_read, as nn.load_npy does. */
#include "fuzz_common.h"
#include "nn_tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  char err[NN_IO_ERRLEN] = "";
  nn_npy_file f;
  if (nn_npy_open(&f, fuzz_memfile(data, size), err) != NN_IO_OK) {
    fuzz_check_error(err, "npy");
  } else {
    nn_tensor *t = nn_tensor_empty(f.dtype, f.ndim, f.shape);
    if (t) {
      if (nn_npy_read(&f, t, err) != NN_IO_OK) fuzz_check_error(err, "npy");
      nn_tensor_release(t);
    }
    nn_npy_close(&f);
  }
  fuzz_check_live(live, "npy");
  return 0;
}
