/*
 * IDX files as tensors (runtime/data_idx.c): nn.core._read_idx(path, opts)
 * reads one IDX file for stdlib/nn/data/init.lua (the labels; images stay
 * bytes: bindings/byte_store.c). The loaders themselves are Lua.
 *
 * The IDX reader lives in a to-be-closed userdata made before the file is
 * opened, so the file is closed however the function ends.
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_data.h"

#define IDX_READER_MT "nn.idx.reader"

/* __gc and __close; nn_idx_close copes with zeroed and closed readers. */
static int reader_close(lua_State *L) {
  nn_idx_close(luaL_checkudata(L, 1, IDX_READER_MT));
  return 0;
}

/* nn.core._read_idx(path, {scale=, name=}) -> tensor of the file's shape:
 * float32 divided by 255 when scale, else int64 0..255. Errors start with
 * opts.name (the calling loader) or "_read_idx". */
static int l_read_idx(lua_State *L) {
  const char *fname = "_read_idx";
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_getfield(L, 2, "name") == LUA_TSTRING) fname = lua_tostring(L, -1);
    lua_pop(L, 1); /* the string stays alive in opts */
  }
  if (lua_type(L, 1) != LUA_TSTRING)
    nnb_error(L, fname, "path (argument 1) must be a string, got %s", luaL_typename(L, 1));
  const char *path = lua_tostring(L, 1);
  bool scale = nnb_opt_bool(L, lua_isnoneornil(L, 2) ? 0 : 2, "scale", false, fname);
  lua_settop(L, 2);
  nn_idx_file *f = lua_newuserdatauv(L, sizeof *f, 0);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, IDX_READER_MT);
  lua_toclose(L, -1);
  char err[NN_IO_ERRLEN];
  if (nn_idx_open(f, path, err)) nnb_error(L, fname, "%s", err);
  nn_tensor *t = nnb_new_tensor(L, fname, scale ? NN_FLOAT32 : NN_INT64, f->ndim, f->shape);
  if (nn_idx_read(f, t, scale, err)) nnb_error(L, fname, "%s", err);
  return 1;
}

void nnb_open_data(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg meta[] = {{"__gc", reader_close}, {"__close", reader_close}, {NULL, NULL}};
  luaL_newmetatable(L, IDX_READER_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"_read_idx", l_read_idx}, {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
}
