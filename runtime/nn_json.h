/*
 * cJSON on the engine allocator: the safetensors header and checkpoint
 * metadata count in nn.memory_stats(), and the allocation-failure sweep
 * (tests/sweep) reaches cJSON's failures.
 */
#ifndef NN_JSON_H
#define NN_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* cJSON_ParseWithLengthOpts (not NUL-terminated) that tells a parse that
 * ran out of memory (*nomem) from one that met invalid JSON. */
cJSON *nn_json_parse(const char *text, size_t n, const char **end, bool *nomem);

#endif
