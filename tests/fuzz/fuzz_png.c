/* libFuzzer target: a PNG file through libpng, sized with nn_png_info and
 * decoded with nn_png_read, as nn.image.load does. Images whose decode
 * would exceed FUZZ_PNG_MAX_SAMPLES are sized but not decoded, so one
 * input cannot take seconds; their header still goes through libpng. */
#include "fuzz_common.h"
#include "nn_image.h"

#define FUZZ_PNG_MAX_SAMPLES (1 << 22)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  char err[NN_IO_ERRLEN] = "";
  const char *path = fuzz_memfile(data, size);
  int c;
  int64_t h, w;
  if (nn_png_info(path, &c, &h, &w, err) != NN_IO_OK) {
    fuzz_check_error(err, "png");
  } else if (c * h * w <= FUZZ_PNG_MAX_SAMPLES) {
    float *out = malloc(((size_t)c * h * w + 1) * sizeof *out);
    if (!out) abort();
    if (nn_png_read(path, c, h, w, out, err) != NN_IO_OK) fuzz_check_error(err, "png");
    free(out);
  }
  fuzz_check_live(live, "png");
  return 0;
}
