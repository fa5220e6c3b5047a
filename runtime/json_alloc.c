/*
 * cJSON's allocation hooks (nn_cjson.h). They are set before main (or when
 * the module is loaded), before any cJSON tree exists: a tree taken from
 * malloc must never reach nn_free.
 */
#include "nn_alloc.h"
#include "nn_cjson.h"

/* nn_free needs the size: it travels in a header before the block. */
#define HEADER 16

/* Set when an allocation failed; nn_cjson_parse clears it first. */
static bool alloc_failed;

static void *json_malloc(size_t n) {
  size_t total = n + HEADER;
  size_t *p = total > n ? nn_alloc(total) : NULL;
  if (!p) {
    alloc_failed = true;
    return NULL;
  }
  p[0] = total;
  return (char *)p + HEADER;
}

static void json_free(void *q) {
  if (!q) return;
  size_t *p = (size_t *)((char *)q - HEADER);
  nn_free(p, p[0]);
}

__attribute__((constructor)) static void use_engine_allocator(void) {
  cJSON_InitHooks(&(cJSON_Hooks){.malloc_fn = json_malloc, .free_fn = json_free});
}

cJSON *nn_cjson_parse(const char *text, size_t n, const char **end, bool *nomem) {
  alloc_failed = false;
  cJSON *root = cJSON_ParseWithLengthOpts(text, n, end, false);
  *nomem = !root && alloc_failed;
  return root;
}
