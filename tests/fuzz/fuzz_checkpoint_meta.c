/* libFuzzer target: the JSON a checkpoint keeps in __metadata__
 * (nnlua_checkpoint), parsed with nn_json_parse and walked with
 * nn_json_kind_of as bindings/json.c does when nn.checkpoint.load
 * decodes it. (The safetensors envelope around it is fuzz_safetensors'.) */
#include <math.h>

#include "fuzz_common.h"
#include "nn_json.h"

/* Visits every value; returns how many, so the walk is not optimised out. */
static uint64_t walk(const nn_json *v, int depth) {
  if (depth > NN_JSON_MAX_DEPTH) abort(); /* nn_json_parse promised */
  nn_json_scalar x;
  uint64_t n = 1;
  switch (nn_json_kind_of(v, &x)) {
  case NN_JSON_STRING: n += strlen(x.string) > 0; break;
  case NN_JSON_INT:
    if (x.integer <= -9007199254740992LL || x.integer >= 9007199254740992LL) abort();
    break;
  case NN_JSON_ARRAY:
  case NN_JSON_OBJECT: {
    int count = 0;
    for (const nn_json *e = nn_json_first(v); e; e = nn_json_next(e), count++) {
      if (nn_json_key(e) && strlen(nn_json_key(e)) == SIZE_MAX) abort();
      n += walk(e, depth + 1);
    }
    if (count != nn_json_count(v)) abort();
    break;
  }
  default: break;
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint64_t live = fuzz_live_bytes();
  char err[NN_IO_ERRLEN] = "";
  nn_json *doc;
  if (nn_json_parse(&doc, (const char *)data, size, err) != NN_IO_OK) {
    fuzz_check_error(err, "checkpoint_meta");
  } else {
    if (walk(doc, 0) == 0) abort();
    nn_json_free(doc);
  }
  fuzz_check_live(live, "checkpoint_meta");
  return 0;
}
