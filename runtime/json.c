/*
 * Checkpoint metadata JSON (nn_json.h) over cJSON: an nn_json is a cJSON
 * node; the checks and the classification of values live here, the Lua
 * values in bindings/json.c.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "nn_cjson.h"
#include "nn_json.h"

static const cJSON *node(const nn_json *v) { return (const cJSON *)v; }

/* Whether v or anything inside it lies deeper than NN_JSON_MAX_DEPTH (v at
 * depth). */
static int too_deep(const cJSON *v, int depth) {
  if (depth > NN_JSON_MAX_DEPTH) return 1;
  for (const cJSON *e = v->child; e; e = e->next)
    if (too_deep(e, depth + 1)) return 1;
  return 0;
}

nn_io_status nn_json_parse(nn_json **doc, const char *text, size_t len, char *err) {
  const char *end = NULL;
  bool nomem;
  cJSON *root = nn_cjson_parse(text, len, &end, &nomem);
  *doc = NULL;
  if (nomem) return nn_io_fail(err, NN_IO_ERR_NOMEM, "out of memory decoding JSON");
  if (!root)
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "invalid JSON near byte %d",
                      end ? (int)(end - text) : 0);
  if (too_deep(root, 0)) {
    cJSON_Delete(root);
    return nn_io_fail(err, NN_IO_ERR_FORMAT, "document nested deeper than %d levels",
                      NN_JSON_MAX_DEPTH);
  }
  *doc = (nn_json *)root;
  return NN_IO_OK;
}

nn_json_kind nn_json_kind_of(const nn_json *jv, nn_json_scalar *out) {
  const cJSON *v = node(jv);
  memset(out, 0, sizeof *out);
  if (cJSON_IsNull(v)) return NN_JSON_NULL;
  if (cJSON_IsBool(v)) {
    out->boolean = cJSON_IsTrue(v);
    return NN_JSON_BOOL;
  }
  if (cJSON_IsString(v)) {
    out->string = v->valuestring;
    return NN_JSON_STRING;
  }
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 9007199254740992.0) {
      out->integer = (int64_t)d;
      return NN_JSON_INT;
    }
    out->number = d;
    return NN_JSON_FLOAT;
  }
  if (cJSON_IsArray(v)) return NN_JSON_ARRAY;
  const cJSON *f = cJSON_GetObjectItemCaseSensitive(v, "$float");
  if (f && cJSON_IsString(f) && !v->child->next) {
    out->number = strcmp(f->valuestring, "inf") == 0    ? HUGE_VAL
                  : strcmp(f->valuestring, "-inf") == 0 ? -HUGE_VAL
                                                        : NAN;
    return NN_JSON_FLOAT;
  }
  return NN_JSON_OBJECT;
}

const nn_json *nn_json_first(const nn_json *v) { return (const nn_json *)node(v)->child; }
const nn_json *nn_json_next(const nn_json *v) { return (const nn_json *)node(v)->next; }
const char *nn_json_key(const nn_json *v) { return node(v)->string; }
int nn_json_count(const nn_json *v) { return cJSON_GetArraySize(node(v)); }
void nn_json_free(nn_json *doc) { cJSON_Delete((cJSON *)doc); }
