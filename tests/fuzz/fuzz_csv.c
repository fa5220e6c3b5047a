/* libFuzzer target: a CSV text split by nn_csv_parse, as nn.data.csv does
 * (its Lua side reads the file and gets the fields), then every field
 * checked against the table's promises: inside the input's length,
 * trimmed, one line number per row, increasing. */
#include "fuzz_common.h"
#include "nn_csv.h"

static int space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  char err[NN_IO_ERRLEN] = "";
  nn_csv_table t;
  if (nn_csv_parse(&t, "fuzz.csv", (const char *)data, size, err) != NN_IO_OK) {
    fuzz_check_error(err, "csv");
  } else {
    size_t total = 0;
    for (int64_t r = 0; r < t.nrows; r++) {
      if (t.lines[r] < 1 || (r > 0 && t.lines[r] <= t.lines[r - 1])) abort();
      for (int64_t c = 0; c < t.ncols; c++) {
        size_t n;
        const char *f = nn_csv_field(&t, r, c, &n);
        if (n > NN_CSV_MAX_FIELD || (n > 0 && (space(f[0]) || space(f[n - 1])))) abort();
        total += n;
      }
    }
    if (total > size || (t.nrows > 0 && t.ncols < 1)) abort();
    nn_csv_free(&t);
  }
  fuzz_check_live(live, "csv");
  return 0;
}
