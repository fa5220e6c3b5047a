/*
 * luaopen_nn_core: the engine as a Lua C module. Builds the tensor
 * metatable (methods, properties, metamethods) and the module table, then
 * lets each binding file add its part.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nn_alloc.h"
#include "nn_bind.h"
#include "nn_threads.h"

/* t.key: methods first (the common case), then properties such as
 * t.shape (a getter from the property table), then t[i]. */
static int tensor_index(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(2)) == LUA_TNIL) return 1;
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    return 1;
  }
  return nnb_index_get(L); /* raises for a key that is not a number */
}

/* t.key = v: assignable fields by name, else t[i] = v. */
static int tensor_newindex(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING) {
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) == LUA_TNIL)
      nnb_error(L, "tensor", "cannot set field '%s'", lua_tostring(L, 2));
    lua_insert(L, 1);
    lua_call(L, 3, 0);
    return 0;
  }
  return nnb_index_set(L);
}

static int tensor_gc(lua_State *L) {
  nnb_box *box = nnb_to_box(L, 1);
  if (!box) return 0;
  nn_tensor_release(box->t);
  box->t = NULL;
  return 0;
}

static int prop_shape(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "shape");
  nnb_push_shape(L, t->ndim, t->shape);
  return 1;
}

static int prop_dtype(lua_State *L) {
  lua_pushstring(L, nn_dtype_name(nnb_check_tensor(L, 1, "dtype")->dtype));
  return 1;
}

static int l_memory_stats(lua_State *L) {
  nn_memory_stats s = nn_memory_stats_get();
  lua_createtable(L, 0, 5);
  lua_pushinteger(L, (lua_Integer)s.count);
  lua_setfield(L, -2, "count");
  lua_pushinteger(L, (lua_Integer)s.live_count);
  lua_setfield(L, -2, "live_count");
  lua_pushinteger(L, (lua_Integer)s.live_bytes);
  lua_setfield(L, -2, "live_bytes");
  lua_pushinteger(L, (lua_Integer)s.peak_bytes);
  lua_setfield(L, -2, "peak_bytes");
  lua_pushinteger(L, (lua_Integer)s.cached_bytes);
  lua_setfield(L, -2, "cached_bytes");
  return 1;
}

/* core._alloc_fail_after(n) -> pending: the allocation-failure sweep's
 * hook (tests/sweep): the n-th engine allocation from now fails, 0 disarms;
 * returns the countdown it replaces (0: the failure happened). */
static int l_alloc_fail_after(lua_State *L) {
  int64_t n = nnb_check_int(L, 1, "_alloc_fail_after", "n");
  if (n < 0) nnb_error(L, "_alloc_fail_after", "n must be >= 0, got %lld", (long long)n);
  lua_pushinteger(L, (lua_Integer)nn_alloc_fail_after((uint64_t)n));
  return 1;
}

static int l_set_num_threads(lua_State *L) {
  int64_t n = nnb_check_int(L, 1, "set_num_threads", "n");
  if (n < 1 || n > 1024) nnb_error(L, "set_num_threads", "n must be in 1..1024, got %lld", (long long)n);
  nn_set_num_threads((int)n);
  return 0;
}

static int l_get_num_threads(lua_State *L) {
  lua_pushinteger(L, nn_get_num_threads());
  return 1;
}

/* Seconds on the monotonic clock: wall time for nn.fit's epoch times and
 * ETA (os.clock sums the CPU time of every thread). */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
  return 1;
}

/* For nn.fit's progress bar: redraw in place only on a terminal. */
static int l_stdout_is_terminal(lua_State *L) {
  lua_pushboolean(L, isatty(STDOUT_FILENO));
  return 1;
}

/* nn.core._set_library_dir(dir): where nn/init.lua and the other Lua
 * modules are, so errors skip their frames for the position (nnb_error). */
static int l_set_library_dir(lua_State *L) {
  luaL_checkstring(L, 1);
  lua_settop(L, 1);
  lua_setfield(L, LUA_REGISTRYINDEX, NNB_LIBRARY_DIR_KEY);
  return 0;
}

static int l_is_tensor(lua_State *L) {
  lua_pushboolean(L, nnb_to_tensor(L, 1) != NULL);
  return 1;
}

static const luaL_Reg module_funcs[] = {
    {"memory_stats", l_memory_stats},
    {"set_num_threads", l_set_num_threads},
    {"get_num_threads", l_get_num_threads},
    {"is_tensor", l_is_tensor},
    {"_stdout_is_terminal", l_stdout_is_terminal},
    {"_now", l_now},
    {"_alloc_fail_after", l_alloc_fail_after},
    {"_set_library_dir", l_set_library_dir},
    {NULL, NULL},
};

static const luaL_Reg props[] = {
    {"shape", prop_shape},
    {"dtype", prop_dtype},
    {NULL, NULL},
};

/* Keeps this module loaded until the process ends. Lua unloads C modules
 * when a state closes, and the libraries they pull in (OpenBLAS, cairo)
 * keep process-wide state that must not be unmapped under them; it also
 * lets leak checkers see that state as reachable. */
static void stay_loaded(void) {
  Dl_info info;
  if (dladdr((void *)luaopen_nn_core, &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
}

int luaopen_nn_core(lua_State *L) {
  stay_loaded();
  nn_blas_setup();
  lua_newtable(L); /* module */
  int module = lua_gettop(L);
  luaL_setfuncs(L, module_funcs, 0);

  luaL_newmetatable(L, NNB_TENSOR_MT);
  int mt = lua_gettop(L);
  nnb_set_metatable_key(L, mt);
  lua_pushcfunction(L, tensor_gc);
  lua_setfield(L, mt, "__gc");
  lua_pushcfunction(L, tensor_gc);
  lua_setfield(L, mt, "__close");

  lua_newtable(L); /* methods */
  int methods = lua_gettop(L);
  lua_pushvalue(L, methods);
  lua_setfield(L, LUA_REGISTRYINDEX, NNB_METHODS_KEY);
  luaL_newlib(L, props);
  lua_setfield(L, LUA_REGISTRYINDEX, NNB_PROPS_KEY);
  lua_newtable(L);
  lua_setfield(L, LUA_REGISTRYINDEX, NNB_SETTERS_KEY);

  nnb_open_create(L, module, methods);
  nnb_open_shape(L, module, methods);
  nnb_open_elementwise(L, module, methods);
  nnb_open_matmul(L, module, methods);
  nnb_open_reduce(L, module, methods);
  nnb_open_index(L, module, methods);
  nnb_open_convert(L, module, methods);
  nnb_open_io(L, module, methods);
  nnb_open_autograd(L, module, methods);
  nnb_open_activation(L, module, methods);
  nnb_open_loss(L, module, methods);
  nnb_open_conv(L, module, methods);
  nnb_open_pool(L, module, methods);
  nnb_open_upsample(L, module, methods);
  nnb_open_optim(L, module, methods);
  nnb_open_linear(L, module, methods);
  nnb_open_dropout(L, module, methods);
  nnb_open_norm(L, module, methods);
  nnb_open_json(L, module, methods);
  nnb_open_transforms(L, module, methods);
  nnb_open_plot(L, module, methods);
  nnb_open_image(L, module, methods);
  nnb_open_print(L);
  nnb_open_data(L, module, methods);
  nnb_open_csv(L, module, methods);
  nnb_open_byte_store(L, module, methods);
  nnb_open_sort(L, module, methods);
  nnb_open_knn(L, module, methods);
  nnb_open_gemm(L, module, methods);

  /* __index closes over the method and property tables. */
  lua_pushvalue(L, methods);
  lua_getfield(L, LUA_REGISTRYINDEX, NNB_PROPS_KEY);
  lua_pushcclosure(L, tensor_index, 2);
  lua_setfield(L, mt, "__index");
  lua_getfield(L, LUA_REGISTRYINDEX, NNB_SETTERS_KEY);
  lua_pushcclosure(L, tensor_newindex, 1);
  lua_setfield(L, mt, "__newindex");

  lua_settop(L, module);
  return 1;
}
