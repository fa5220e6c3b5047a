/* libFuzzer target: an IDX file as stored, plain or gzipped (the seeds
 * hold both), through nn_idx_open and nn_idx_read. */
#include "idx_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  fuzz_idx_read(fuzz_memfile(data, size), size % 2 == 1);
  fuzz_check_live(live, "idx");
  return 0;
}
