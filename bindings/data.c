/*
 * Dataset files (runtime/data_idx.c, runtime/data_cifar.c):
 * nn.core._read_idx(path, opts) reads one IDX file for stdlib/nn/data/init.lua,
 * nn.core._read_cifar(paths, fname) CIFAR-10 binary batches for
 * stdlib/nn/data/cifar10.lua. The loaders themselves are Lua.
 *
 * The IDX reader lives in a to-be-closed userdata made before the file is
 * opened, so the file is closed however the function ends; the CIFAR
 * reader holds nothing between its runtime calls.
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_data.h"

#define IDX_READER_MT "nn.idx.reader"
#define CIFAR_MAX_FILES 16

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

/* nn.core._read_cifar({path, ...}, fname) -> x float32 [N,3,32,32] in [0,1],
 * y int64 [N] with labels 1..10, N the records of all files in order. */
static int l_read_cifar(lua_State *L) {
  const char *fname = luaL_optstring(L, 2, "cifar10");
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer nfiles = luaL_len(L, 1);
  if (nfiles < 1 || nfiles > CIFAR_MAX_FILES)
    nnb_error(L, fname, "expected 1..%d batch files, got %d", CIFAR_MAX_FILES, (int)nfiles);
  luaL_checkstack(L, CIFAR_MAX_FILES, NULL);
  const char *paths[CIFAR_MAX_FILES];
  int64_t counts[CIFAR_MAX_FILES];
  int64_t total = 0;
  char err[NN_IO_ERRLEN];
  for (int i = 0; i < nfiles; i++) { /* the paths stay on the stack */
    lua_geti(L, 1, i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      nnb_error(L, fname, "path (argument -1) must be a string, got %s", luaL_typename(L, -1));
    paths[i] = lua_tostring(L, -1);
    if (nn_cifar_count(paths[i], &counts[i], err)) nnb_error(L, fname, "%s", err);
    total += counts[i];
  }
  int64_t xs[4] = {total, 3, 32, 32};
  nn_tensor *x = nnb_new_tensor(L, fname, NN_FLOAT32, 4, xs);
  nn_tensor *y = nnb_new_tensor(L, fname, NN_INT64, 1, &total);
  if (nn_cifar_read_files(x, y, (int)nfiles, paths, counts, err)) nnb_error(L, fname, "%s", err);
  return 2;
}

void nnb_open_data(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg meta[] = {{"__gc", reader_close}, {"__close", reader_close}, {NULL, NULL}};
  luaL_newmetatable(L, IDX_READER_MT);
  luaL_setfuncs(L, meta, 0);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"_read_idx", l_read_idx}, {"_read_cifar", l_read_cifar}, {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
}
