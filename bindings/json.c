/*
 * JSON for checkpoint metadata, through cJSON: nn.core._json_encode(value) and
 * nn.core._json_decode(text). Tables with keys 1..n are arrays, others objects
 * with string keys; numbers that JSON cannot hold (inf, nan) travel as
 * {"$float": "inf"}; integers are written without a fraction and come back
 * as Lua integers. Decoding parses and classifies in runtime/json.c
 * (nn_json.h, fuzzed by tests/fuzz/fuzz_checkpoint_meta.c); here the
 * values become Lua values.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_json.h"

#define MAX_DEPTH 64

/* The encoder builds a cJSON tree while walking the Lua value; the tree
 * hangs from a userdata whose __gc frees it, so an error midway leaks
 * nothing. */
typedef struct json_box {
  cJSON *root; /* encoding */
  nn_json *doc; /* decoding */
} json_box;

static int json_box_gc(lua_State *L) {
  json_box *b = lua_touserdata(L, 1);
  cJSON_Delete(b->root);
  nn_json_free(b->doc);
  b->root = NULL;
  b->doc = NULL;
  return 0;
}

static bool is_array(lua_State *L, int idx, lua_Integer *n) {
  *n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
      lua_pop(L, 1);
      return false;
    }
    (*n)++;
  }
  return *n > 0 && (lua_Integer)lua_rawlen(L, idx) == *n;
}

/* Creates the JSON value of the Lua value at idx and attaches it to
 * parent (under key for an object) before filling it, so the whole tree
 * stays reachable from the box's root if a later value raises. */
static void encode_into(lua_State *L, int idx, cJSON *parent, const char *key, int depth);

static cJSON *number_item(lua_State *L, int idx) {
  if (lua_isinteger(L, idx)) return cJSON_CreateNumber((double)lua_tointeger(L, idx));
  double v = lua_tonumber(L, idx);
  if (isfinite(v)) return cJSON_CreateNumber(v);
  cJSON *o = cJSON_CreateObject();
  if (o && !cJSON_AddStringToObject(o, "$float", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf")) {
    cJSON_Delete(o);
    o = NULL;
  }
  return o;
}

static void attach(lua_State *L, cJSON *parent, const char *key, cJSON *item) {
  if (!item) nnb_error(L, "json", "out of memory encoding");
  /* Adding to an object copies the key: that can fail, and then the item
   * is not in the tree that the box frees. */
  if (!(key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item))) {
    cJSON_Delete(item);
    nnb_error(L, "json", "out of memory encoding");
  }
}

static void encode_table(lua_State *L, int idx, cJSON *parent, const char *key, int depth) {
  if (depth > MAX_DEPTH) nnb_error(L, "json", "value nested deeper than %d levels (a cycle?)", MAX_DEPTH);
  luaL_checkstack(L, 4, "json: nesting too deep");
  lua_Integer n;
  if (is_array(L, idx, &n)) {
    cJSON *a = cJSON_CreateArray();
    attach(L, parent, key, a);
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      encode_into(L, lua_gettop(L), a, NULL, depth + 1);
      lua_pop(L, 1);
    }
    return;
  }
  cJSON *o = cJSON_CreateObject();
  attach(L, parent, key, o);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      nnb_error(L, "json", "table keys must be strings (or 1..n for arrays), got a %s key", luaL_typename(L, -2));
    encode_into(L, lua_gettop(L), o, lua_tostring(L, -2), depth + 1);
    lua_pop(L, 1);
  }
}

static void encode_into(lua_State *L, int idx, cJSON *parent, const char *key, int depth) {
  switch (lua_type(L, idx)) {
  case LUA_TNIL: attach(L, parent, key, cJSON_CreateNull()); break;
  case LUA_TBOOLEAN: attach(L, parent, key, cJSON_CreateBool(lua_toboolean(L, idx))); break;
  case LUA_TNUMBER: attach(L, parent, key, number_item(L, idx)); break;
  case LUA_TSTRING: attach(L, parent, key, cJSON_CreateString(lua_tostring(L, idx))); break;
  case LUA_TTABLE: encode_table(L, idx, parent, key, depth); break;
  default:
    nnb_error(L, "json", "cannot encode a %s (checkpoint fields must be numbers, strings, booleans or tables)",
              luaL_typename(L, idx));
  }
}

/* Pushes a userdata whose __gc frees the cJSON tree at its root. */
static json_box *push_box(lua_State *L) {
  json_box *b = lua_newuserdatauv(L, sizeof *b, 0);
  b->root = NULL;
  b->doc = NULL;
  lua_newtable(L);
  lua_pushcfunction(L, json_box_gc);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  return b;
}

static int l_json_encode(lua_State *L) {
  luaL_checkany(L, 1);
  lua_settop(L, 1);
  json_box *b = push_box(L);
  b->root = cJSON_CreateArray(); /* a holder: the value is its only child */
  if (!b->root) nnb_error(L, "json", "out of memory encoding");
  encode_into(L, 1, b->root, NULL, 0);
  char *text = cJSON_PrintUnformatted(b->root->child);
  if (!text) nnb_error(L, "json", "out of memory encoding");
  lua_pushstring(L, text);
  cJSON_free(text);
  return 1;
}

/* nn_json_parse has bounded the depth (NN_JSON_MAX_DEPTH). */
static void push_decoded(lua_State *L, const nn_json *v) {
  luaL_checkstack(L, 4, "json: nesting too deep");
  nn_json_scalar x;
  switch (nn_json_kind_of(v, &x)) {
  case NN_JSON_NULL: lua_pushnil(L); break;
  case NN_JSON_BOOL: lua_pushboolean(L, x.boolean); break;
  case NN_JSON_INT: lua_pushinteger(L, (lua_Integer)x.integer); break;
  case NN_JSON_FLOAT: lua_pushnumber(L, x.number); break;
  case NN_JSON_STRING: lua_pushstring(L, x.string); break;
  case NN_JSON_ARRAY: {
    lua_createtable(L, nn_json_count(v), 0);
    int i = 1;
    for (const nn_json *e = nn_json_first(v); e; e = nn_json_next(e), i++) {
      push_decoded(L, e);
      lua_rawseti(L, -2, i);
    }
    break;
  }
  case NN_JSON_OBJECT:
    lua_newtable(L);
    for (const nn_json *e = nn_json_first(v); e; e = nn_json_next(e)) {
      push_decoded(L, e);
      lua_setfield(L, -2, nn_json_key(e));
    }
    break;
  }
}

static int l_json_decode(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  json_box *b = push_box(L);
  char err[NN_IO_ERRLEN];
  if (nn_json_parse(&b->doc, text, len, err)) nnb_error(L, "json", "%s", err);
  push_decoded(L, b->doc);
  return 1;
}

static const luaL_Reg functions[] = {
    {"_json_encode", l_json_encode},
    {"_json_decode", l_json_decode},
    {NULL, NULL},
};

void nnb_open_json(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
