/*
 * cJSON on the engine allocator (json_alloc.c): the safetensors header and
 * checkpoint metadata count in nn.memory_stats(), and the
 * allocation-failure sweep (tests/sweep) reaches cJSON's failures.
 */
#ifndef NN_CJSON_H
#define NN_CJSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* cJSON_ParseWithLengthOpts (not NUL-terminated) that tells a parse that
 * ran out of memory (*nomem) from one that met invalid JSON. */
cJSON *nn_cjson_parse(const char *text, size_t n, const char **end, bool *nomem);

#endif
