/*
 * nn_json: reading the JSON that checkpoints keep in their safetensors
 * __metadata__ (stdlib/nn/checkpoint.lua, through bindings/json.c), so the
 * parse and its checks are plain C that a fuzz target can call.
 *
 * A parsed document is a tree of values; each value has a kind, as the
 * bindings turn it into Lua: numbers that are exact integers below 2^53
 * are NN_JSON_INT, other numbers NN_JSON_FLOAT, and an object whose only
 * member is {"$float": "inf" | "-inf" | "nan"} (how the encoder writes
 * numbers JSON cannot hold) is an NN_JSON_FLOAT of that value.
 */
#ifndef NN_JSON_H
#define NN_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "nn_io.h"

/* Deeper documents are refused (the Lua side recurses once per level). */
#define NN_JSON_MAX_DEPTH 64

typedef struct nn_json nn_json; /* one value of a parsed document */

typedef enum nn_json_kind {
  NN_JSON_NULL,
  NN_JSON_BOOL,
  NN_JSON_INT,
  NN_JSON_FLOAT,
  NN_JSON_STRING,
  NN_JSON_ARRAY,
  NN_JSON_OBJECT,
} nn_json_kind;

/* What a value holds; the field of its kind is set. */
typedef struct nn_json_scalar {
  int boolean;
  int64_t integer;
  double number;
  const char *string; /* NUL-terminated, owned by the document */
} nn_json_scalar;

/* Parses text[0..len) into *doc: "invalid JSON near byte N" or "document
 * nested deeper than 64 levels" on failure (nothing held then). */
nn_io_status nn_json_parse(nn_json **doc, const char *text, size_t len, char *err);
nn_json_kind nn_json_kind_of(const nn_json *v, nn_json_scalar *out);
/* Arrays and objects: the first element or member (NULL when empty), the
 * next one, and an object member's key. */
const nn_json *nn_json_first(const nn_json *v);
const nn_json *nn_json_next(const nn_json *v);
const char *nn_json_key(const nn_json *v);
int nn_json_count(const nn_json *v);
/* Frees a document from nn_json_parse; NULL is ignored. */
void nn_json_free(nn_json *doc);

#endif
