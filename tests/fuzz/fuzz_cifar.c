/* libFuzzer target: a CIFAR-10 binary batch, counted with nn_cifar_count
 * and read with nn_cifar_read_files, as nn.data.cifar10 does. */
#include "fuzz_common.h"
#include "nn_data.h"
#include "nn_tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  char err[NN_IO_ERRLEN] = "";
  const char *path = fuzz_memfile(data, size);
  int64_t n = 0;
  if (nn_cifar_count(path, &n, err) != NN_IO_OK) {
    fuzz_check_error(err, "cifar");
  } else {
    nn_tensor *x = nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){n, 3, 32, 32});
    nn_tensor *y = nn_tensor_empty(NN_INT64, 1, (int64_t[]){n});
    if (x && y && nn_cifar_read_files(x, y, 1, (const char *[]){path}, &n, err) != NN_IO_OK)
      fuzz_check_error(err, "cifar");
    nn_tensor_release(x);
    nn_tensor_release(y);
  }
  fuzz_check_live(live, "cifar");
  return 0;
}
