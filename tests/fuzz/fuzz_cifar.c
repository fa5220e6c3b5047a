/* libFuzzer target: a CIFAR-10 binary batch, counted with nn_cifar_count
 * and read with nn_cifar_read_bytes, as nn.data.cifar10 does. */
#include <stdlib.h>

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
    unsigned char *x = malloc((size_t)n * NN_CIFAR_PIXELS);
    int64_t *y = malloc((size_t)n * sizeof *y);
    if (x && y && nn_cifar_read_bytes(path, n, x, y, err) != NN_IO_OK) fuzz_check_error(err, "cifar");
    free(x);
    free(y);
  }
  fuzz_check_live(live, "cifar");
  return 0;
}
