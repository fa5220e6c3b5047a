/* libFuzzer target: the input is an IDX file's content, gzipped here
 * before nn_idx_open reads it, so mutations reach the header and data
 * checks behind zlib's inflate (mutating compressed bytes mostly breaks
 * the stream; fuzz_idx covers that). */
#include <zlib.h>

#include "idx_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  z_stream z = {0};
  /* windowBits 15 + 16: a gzip wrapper, as gzip(1) writes */
  if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) abort();
  uLong cap = deflateBound(&z, (uLong)size);
  unsigned char *gz = malloc(cap);
  if (!gz) abort();
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)size;
  z.next_out = gz;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
  size_t n = z.total_out;
  deflateEnd(&z);
  fuzz_idx_read(fuzz_memfile(gz, n), size % 2 == 1);
  free(gz);
  fuzz_check_live(live, "idx_gz");
  return 0;
}
