/*
 * Tensor files: nn.save / nn.load (safetensors) and nn.save_npy /
 * nn.load_npy (NumPy). The formats live in runtime/io_*.c; this file checks
 * the Lua arguments and builds the results.
 *
 * A reader (an open file plus its parsed header) lives in a userdata made
 * before the file is opened and marked to-be-closed, so the file is closed
 * and its memory freed however the function ends: normally, or by an error
 * raised while the result tensors are created.
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_io.h"

#define READER_MT "nn.io.reader"

typedef struct io_reader {
  bool npy;
  union {
    nn_st_file st;
    nn_npy_file npy;
  } u;
} io_reader;

/* __gc and __close; the close functions cope with zeroed and closed readers. */
static int reader_close(lua_State *L) {
  io_reader *r = luaL_checkudata(L, 1, READER_MT);
  if (r->npy)
    nn_npy_close(&r->u.npy);
  else
    nn_st_close(&r->u.st);
  return 0;
}

/* Pushes a closed reader in a to-be-closed slot. */
static io_reader *push_reader(lua_State *L, bool npy) {
  io_reader *r = lua_newuserdatauv(L, sizeof *r, 0);
  memset(r, 0, sizeof *r);
  r->npy = npy;
  luaL_setmetatable(L, READER_MT);
  lua_toclose(L, -1);
  return r;
}

static const char *check_path(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) != LUA_TSTRING)
    nnb_error(L, fname, "path (argument %d) must be a string, got %s", idx, luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

/* ---- safetensors ---- */

/* The metadata as a Lua table, or nil when the file has none. */
static void push_metadata(lua_State *L, const nn_st_file *f) {
  if (!f->meta) {
    lua_pushnil(L);
    return;
  }
  lua_createtable(L, 0, f->nmeta);
  for (int i = 0; i < f->nmeta; i++) {
    lua_pushstring(L, f->meta[i].value);
    lua_setfield(L, -2, f->meta[i].key);
  }
}

/* nn.load(path) -> {name = tensor}, metadata or nil */
static int l_load(lua_State *L) {
  const char *path = check_path(L, 1, "load");
  lua_settop(L, 1);
  io_reader *r = push_reader(L, false);
  nn_st_file *f = &r->u.st;
  char err[NN_IO_ERRLEN];
  if (nn_st_open(f, path, err)) nnb_error(L, "load", "%s", err);
  lua_createtable(L, 0, f->count);
  for (int i = 0; i < f->count; i++) {
    const nn_st_entry *e = &f->entries[i];
    nn_tensor *t = nnb_new_tensor(L, "load", e->dtype, e->ndim, e->shape);
    if (nn_st_read(f, i, t, err)) nnb_error(L, "load", "%s", err);
    lua_setfield(L, -2, e->name);
  }
  push_metadata(L, f);
  return 2;
}

/* The string key at -2 as a C name, refusing other keys and embedded NULs. */
static const char *check_name(lua_State *L, const char *fname, const char *what) {
  if (lua_type(L, -2) != LUA_TSTRING) {
    const char *type = luaL_typename(L, -2);
    nnb_error(L, fname, "%s keys must be strings, got %s key %s", what, type,
              luaL_tolstring(L, -2, NULL));
  }
  size_t len;
  const char *name = lua_tolstring(L, -2, &len);
  if (strlen(name) != len) nnb_error(L, fname, "%s key '%s...' contains a NUL byte", what, name);
  return name;
}

/* Number of entries of the table at idx. */
static int count_entries(lua_State *L, int idx) {
  int n = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) lua_pop(L, 1), n++;
  return n;
}

/* The items to save, in a userdata pushed on the stack: the table's
 * entries, or one tensor named "tensor". Names and tensors stay owned by
 * argument 1. */
static nn_st_item *collect_items(lua_State *L, int *count) {
  if (nnb_to_tensor(L, 1)) {
    nn_st_item *items = lua_newuserdatauv(L, sizeof *items, 0);
    items[0] = (nn_st_item){"tensor", nnb_to_tensor(L, 1), 0, 0};
    *count = 1;
    return items;
  }
  if (!lua_istable(L, 1))
    nnb_error(L, "save", "argument 1 must be a tensor or a table of tensors, got %s",
              luaL_typename(L, 1));
  int n = count_entries(L, 1);
  nn_st_item *items = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *items, 0);
  *count = 0;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    const char *name = check_name(L, "save", "tensor table");
    if (!nnb_to_tensor(L, -1))
      nnb_error(L, "save", "value for '%s' must be a tensor, got %s", name,
                luaL_typename(L, -1));
    items[(*count)++] = (nn_st_item){name, nnb_to_tensor(L, -1), 0, 0};
    lua_pop(L, 1);
  }
  return items;
}

/* The metadata table at 3 (nil: none) as pairs, in a pushed userdata. */
static nn_st_meta *collect_metadata(lua_State *L, int *count) {
  *count = 0;
  if (lua_isnoneornil(L, 3)) return NULL;
  if (!lua_istable(L, 3))
    nnb_error(L, "save", "metadata (argument 3) must be a table, got %s", luaL_typename(L, 3));
  int n = count_entries(L, 3);
  nn_st_meta *meta = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *meta, 0);
  lua_pushnil(L);
  while (lua_next(L, 3)) {
    const char *key = check_name(L, "save", "metadata");
    if (lua_type(L, -1) != LUA_TSTRING)
      nnb_error(L, "save", "metadata value for '%s' must be a string, got %s", key,
                luaL_typename(L, -1));
    meta[(*count)++] = (nn_st_meta){key, lua_tostring(L, -1)};
    lua_pop(L, 1);
  }
  return meta;
}

/* nn.save(tensor_or_table, path [, metadata]) */
static int l_save(lua_State *L) {
  const char *path = check_path(L, 2, "save");
  lua_settop(L, 3);
  int count, nmeta;
  nn_st_item *items = collect_items(L, &count);
  nn_st_meta *meta = collect_metadata(L, &nmeta);
  char err[NN_IO_ERRLEN];
  if (nn_st_save(path, items, count, meta, nmeta, err)) nnb_error(L, "save", "%s", err);
  return 0;
}

/* ---- NumPy ---- */

/* nn.load_npy(path) -> tensor */
static int l_load_npy(lua_State *L) {
  const char *path = check_path(L, 1, "load_npy");
  lua_settop(L, 1);
  nn_npy_file *f = &push_reader(L, true)->u.npy;
  char err[NN_IO_ERRLEN];
  if (nn_npy_open(f, path, err)) nnb_error(L, "load_npy", "%s", err);
  nn_tensor *t = nnb_new_tensor(L, "load_npy", f->dtype, f->ndim, f->shape);
  if (nn_npy_read(f, t, err)) nnb_error(L, "load_npy", "%s", err);
  return 1;
}

/* nn.save_npy(tensor, path) */
static int l_save_npy(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "save_npy");
  const char *path = check_path(L, 2, "save_npy");
  char err[NN_IO_ERRLEN];
  if (nn_npy_save(path, t, err)) nnb_error(L, "save_npy", "%s", err);
  return 0;
}

static const luaL_Reg module_funcs[] = {
    {"load", l_load},
    {"save", l_save},
    {"load_npy", l_load_npy},
    {"save_npy", l_save_npy},
    {NULL, NULL},
};

void nnb_open_io(lua_State *L, int module, int methods) {
  (void)methods;
  luaL_newmetatable(L, READER_MT);
  lua_pushcfunction(L, reader_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, reader_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
  nnb_set_funcs(L, module, module_funcs);
}
