/* libFuzzer target: a safetensors file (header JSON, dtypes, shapes,
 * data_offsets), opened with nn_st_open and every tensor read with
 * nn_st_read, as nn.load does. */
#include "fuzz_common.h"
#include "nn_tensor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  char err[NN_IO_ERRLEN] = "";
  nn_st_file f;
  if (nn_st_open(&f, fuzz_memfile(data, size), err) != NN_IO_OK) {
    fuzz_check_error(err, "safetensors");
  } else {
    for (int i = 0; i < f.nmeta; i++)
      if (strlen(f.meta[i].key) + strlen(f.meta[i].value) == SIZE_MAX) abort();
    for (int i = 0; i < f.count; i++) {
      const nn_st_entry *e = &f.entries[i];
      nn_tensor *t = nn_tensor_empty(e->dtype, e->ndim, e->shape);
      if (!t) continue;
      if (nn_st_read(&f, i, t, err) != NN_IO_OK) fuzz_check_error(err, "safetensors");
      nn_tensor_release(t);
    }
    nn_st_close(&f);
  }
  fuzz_check_live(live, "safetensors");
  return 0;
}
