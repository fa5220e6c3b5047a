/*
 * The GEMM recorder of runtime/gemm.c for the benchmarks (bench/epoch.lua):
 * private functions of nn.core, not part of the nn API.
 *   _gemm_record(on)                 true: start a new list; false: stop
 *   _gemm_calls()                    the list: {{m=, n=, k=, ta=, tb=,
 *                                    lda=, ldb=, ldc=, alpha=, beta=,
 *                                    row_major=}, ...}
 *   _gemm_replay(calls, threads, reps[, through_engine])
 *                                    seconds for reps passes over calls
 *                                    (a list as _gemm_calls returns) with
 *                                    raw cblas_sgemm on threads threads,
 *                                    or through_engine: as the engine
 *                                    runs them on its pool
 */
#include "nn_bind.h"
#include "nn_gemm.h"

static int l_gemm_record(lua_State *L) {
  if (lua_type(L, 1) != LUA_TBOOLEAN)
    nnb_error(L, "_gemm_record", "on must be a boolean, got %s", luaL_typename(L, 1));
  if (lua_toboolean(L, 1)) nn_gemm_record_start();
  else nn_gemm_record_stop();
  return 0;
}

static void set_int(lua_State *L, const char *key, int v) {
  lua_pushinteger(L, v);
  lua_setfield(L, -2, key);
}

static void set_bool(lua_State *L, const char *key, bool v) {
  lua_pushboolean(L, v);
  lua_setfield(L, -2, key);
}

static void set_number(lua_State *L, const char *key, float v) {
  lua_pushnumber(L, v);
  lua_setfield(L, -2, key);
}

static int l_gemm_calls(lua_State *L) {
  const nn_gemm_call *calls;
  bool complete;
  size_t count = nn_gemm_recorded(&calls, &complete);
  if (!complete) nnb_error(L, "_gemm_calls", "out of memory while recording: the list is incomplete");
  lua_createtable(L, (int)count, 0);
  for (size_t i = 0; i < count; i++) {
    const nn_gemm_call *c = &calls[i];
    lua_createtable(L, 0, 11);
    set_int(L, "m", c->m), set_int(L, "n", c->n), set_int(L, "k", c->k);
    set_int(L, "lda", c->lda), set_int(L, "ldb", c->ldb), set_int(L, "ldc", c->ldc);
    set_bool(L, "ta", c->ta), set_bool(L, "tb", c->tb), set_bool(L, "row_major", c->row_major);
    set_number(L, "alpha", c->alpha), set_number(L, "beta", c->beta);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* Field key of the call table at the top of the stack. */
static lua_Integer call_int(lua_State *L, size_t i, const char *key) {
  lua_getfield(L, -1, key);
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  if (!ok || v < 0 || v > INT32_MAX)
    nnb_error(L, "_gemm_replay", "call %zu: %s must be an integer in 0..%d, got %s", i, key,
              INT32_MAX, luaL_tolstring(L, -1, NULL));
  lua_pop(L, 1);
  return v;
}

static bool call_bool(lua_State *L, size_t i, const char *key) {
  lua_getfield(L, -1, key);
  if (!lua_isboolean(L, -1))
    nnb_error(L, "_gemm_replay", "call %zu: %s must be a boolean, got %s", i, key,
              luaL_typename(L, -1));
  bool v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

static float call_number(lua_State *L, size_t i, const char *key) {
  lua_getfield(L, -1, key);
  if (lua_type(L, -1) != LUA_TNUMBER)
    nnb_error(L, "_gemm_replay", "call %zu: %s must be a number, got %s", i, key,
              luaL_typename(L, -1));
  float v = (float)lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

static int l_gemm_replay(lua_State *L) {
  if (!lua_istable(L, 1))
    nnb_error(L, "_gemm_replay", "calls must be a list of GEMM calls, got %s", luaL_typename(L, 1));
  int64_t threads = nnb_check_int(L, 2, "_gemm_replay", "threads");
  int64_t reps = nnb_check_int(L, 3, "_gemm_replay", "reps");
  if (threads < 1 || threads > 1024)
    nnb_error(L, "_gemm_replay", "threads must be in 1..1024, got %lld", (long long)threads);
  if (reps < 1) nnb_error(L, "_gemm_replay", "reps must be >= 1, got %lld", (long long)reps);
  size_t count = (size_t)lua_rawlen(L, 1);
  /* a userdata owns the array, so an error below frees it */
  nn_gemm_call *calls = lua_newuserdatauv(L, (count ? count : 1) * sizeof *calls, 0);
  for (size_t i = 0; i < count; i++) {
    if (lua_rawgeti(L, 1, (lua_Integer)i + 1) != LUA_TTABLE)
      nnb_error(L, "_gemm_replay", "call %zu must be a table, got %s", i + 1, luaL_typename(L, -1));
    nn_gemm_call *c = &calls[i];
    c->m = (int)call_int(L, i + 1, "m"), c->n = (int)call_int(L, i + 1, "n");
    c->k = (int)call_int(L, i + 1, "k");
    c->lda = (int)call_int(L, i + 1, "lda"), c->ldb = (int)call_int(L, i + 1, "ldb");
    c->ldc = (int)call_int(L, i + 1, "ldc");
    c->ta = call_bool(L, i + 1, "ta"), c->tb = call_bool(L, i + 1, "tb");
    c->row_major = call_bool(L, i + 1, "row_major");
    c->alpha = call_number(L, i + 1, "alpha"), c->beta = call_number(L, i + 1, "beta");
    lua_pop(L, 1);
  }
  bool through_engine = lua_toboolean(L, 4);
  double seconds = 0;
  nnb_check_status(L, "_gemm_replay",
                   nn_gemm_replay(calls, count, (int)threads, through_engine, reps, &seconds));
  lua_pushnumber(L, seconds);
  return 1;
}

void nnb_open_gemm(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg funcs[] = {{"_gemm_record", l_gemm_record},
                                   {"_gemm_calls", l_gemm_calls},
                                   {"_gemm_replay", l_gemm_replay},
                                   {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
}
