/* The program's Lua state and its small-object allocator (program/lua_alloc.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "check.h"
#include "lua_alloc.h"

/* Lua's calls: allocate (ptr NULL, osize a type tag), free (nsize 0), resize. */
static void *alloc(lua_alloc_pool *pool, size_t n) { return lua_alloc_pool_alloc(pool, NULL, LUA_TTABLE, n); }
static void release(lua_alloc_pool *pool, void *p, size_t n) { CHECK(lua_alloc_pool_alloc(pool, p, n, 0) == NULL); }
static void *resize(lua_alloc_pool *pool, void *p, size_t o, size_t n) { return lua_alloc_pool_alloc(pool, p, o, n); }

static void test_freed_blocks_serve_their_class(void) {
  lua_alloc_pool *pool = lua_alloc_pool_new();
  char *p = alloc(pool, 40);
  memset(p, 1, 40);
  release(pool, p, 40);
  CHECK(pool->cached[2] == 1);
  char *q = alloc(pool, 33); /* 33..48 bytes: the same class */
  CHECK(q == p);
  CHECK(pool->cached[2] == 0);
  memset(q, 2, 48); /* the whole class size is the caller's */
  char *r = alloc(pool, 49); /* the next class: a new block */
  CHECK(r != NULL && r != q);
  release(pool, q, 33);
  release(pool, r, 49);
  CHECK(pool->cached[2] == 1 && pool->cached[3] == 1);
  CHECK(lua_alloc_pool_alloc(pool, NULL, 0, 0) == NULL); /* nothing asked, nothing given */
  lua_alloc_pool_delete(pool);
}

static void test_free_lists_are_capped(void) {
  lua_alloc_pool *pool = lua_alloc_pool_new();
  size_t c = LUA_ALLOC_CLASSES - 1, limit = pool->cache_limit[c], n = limit + 10;
  CHECK(limit == LUA_ALLOC_CLASS_CACHE / LUA_ALLOC_SMALL_MAX);
  void **blocks = malloc(n * sizeof *blocks);
  for (size_t i = 0; i < n; i++) blocks[i] = alloc(pool, LUA_ALLOC_SMALL_MAX);
  for (size_t i = 0; i < n; i++) release(pool, blocks[i], LUA_ALLOC_SMALL_MAX);
  CHECK(pool->cached[c] == limit); /* the other 10 went back to the system */
  for (size_t i = 0; i < n; i++) blocks[i] = alloc(pool, LUA_ALLOC_SMALL_MAX);
  CHECK(pool->cached[c] == 0);
  for (size_t i = 0; i < n; i++) release(pool, blocks[i], LUA_ALLOC_SMALL_MAX);
  free(blocks);
  /* Blocks over the small limit are never cached. */
  void *big = alloc(pool, LUA_ALLOC_SMALL_MAX + 1);
  release(pool, big, LUA_ALLOC_SMALL_MAX + 1);
  for (size_t k = 0; k < LUA_ALLOC_CLASSES; k++) CHECK(pool->cached[k] <= pool->cache_limit[k]);
  lua_alloc_pool_delete(pool);
}

static bool counts_up(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != (unsigned char)i) return false;
  return true;
}

static void test_resizes_keep_contents(void) {
  lua_alloc_pool *pool = lua_alloc_pool_new();
  unsigned char *p = alloc(pool, 20);
  for (int i = 0; i < 20; i++) p[i] = (unsigned char)i;
  CHECK(resize(pool, p, 20, 30) == p); /* same class: in place */
  for (int i = 20; i < 30; i++) p[i] = (unsigned char)i;
  p = resize(pool, p, 30, 100); /* to a bigger class */
  CHECK(p && counts_up(p, 30));
  for (int i = 30; i < 100; i++) p[i] = (unsigned char)i;
  p = resize(pool, p, 100, 5000); /* small to large */
  CHECK(p && counts_up(p, 100));
  for (int i = 100; i < 5000; i++) p[i] = (unsigned char)i;
  p = resize(pool, p, 5000, 9000); /* large to large */
  CHECK(p && counts_up(p, 5000));
  p = resize(pool, p, 9000, 64); /* large to small: the class's full size */
  CHECK(p && counts_up(p, 64));
  release(pool, p, 64);
  CHECK(pool->cached[3] == 1);
  p = alloc(pool, 64); /* the shrunk block serves a full 64-byte request */
  memset(p, 0, 64);
  release(pool, p, 64);
  lua_alloc_pool_delete(pool);
}

static const char script[] =
    "local t, n = {}, 0\n"
    "for i = 1, 20000 do\n"
    "  t[i] = {i, tostring(i), string.rep('x', i % 700), function() return i end}\n"
    "  if i % 3 == 0 then t[i - 1] = nil end\n"
    "  setmetatable(t[i], {__gc = function() n = n + 1 end})\n"
    "end\n"
    "collectgarbage()\n"
    "local sum = 0\n"
    "for i = 1, 20000 do if t[i] then sum = sum + t[i][4]() + #t[i][3] end end\n"
    "t = nil\n"
    "collectgarbage()\n"
    "return sum, n\n";

static void test_runs_lua(void) {
  lua_alloc_pool *pool = lua_alloc_pool_new();
  lua_State *L = lua_newstate(lua_alloc_pool_alloc, pool);
  CHECK(L != NULL);
  luaL_openlibs(L);
  CHECK(luaL_dostring(L, script) == LUA_OK);
  long long want = 0;
  for (long long i = 1; i <= 20000; i++)
    if (!((i + 1) % 3 == 0 && i + 1 <= 20000)) want += i + i % 700;
  CHECK(lua_tointeger(L, -2) == want);
  CHECK(lua_tointeger(L, -1) == 20000); /* every finalizer ran */
  lua_close(L);
  size_t cached = 0;
  for (size_t c = 0; c < LUA_ALLOC_CLASSES; c++) cached += pool->cached[c];
  CHECK(cached > 0); /* the closed state's blocks wait for reuse */
  lua_alloc_pool_delete(pool);
}

/* What the program's state writes to stderr while f runs. */
static void capture_stderr(void (*f)(lua_State *), lua_State *L, char *out, size_t len) {
  fflush(stderr);
  FILE *tmp = tmpfile();
  int saved = dup(2);
  dup2(fileno(tmp), 2);
  f(L);
  fflush(stderr);
  dup2(saved, 2);
  close(saved);
  rewind(tmp);
  size_t n = fread(out, 1, len - 1, tmp);
  out[n] = '\0';
  fclose(tmp);
}

static void warn_sequence(lua_State *L) {
  lua_warning(L, "hidden: warnings start off", 0);
  lua_warning(L, "@on", 0);
  lua_warning(L, "one ", 1);
  lua_warning(L, "message", 0);
  lua_warning(L, "@off", 0);
  lua_warning(L, "hidden again", 0);
}

static void test_state_as_luaL_newstate(void) {
  lua_State *L = nnlua_newstate();
  CHECK(L != NULL);
  CHECK(lua_atpanic(L, NULL) != NULL); /* a panic function was set */
  char text[256];
  capture_stderr(warn_sequence, L, text, sizeof text);
  CHECK(strcmp(text, "Lua warning: one message\n") == 0);
  luaL_openlibs(L);
  CHECK(luaL_dostring(L, "return #string.rep('ab', 1000)") == LUA_OK && lua_tointeger(L, -1) == 2000);
  nnlua_close(L);
}

int main(void) {
  RUN(test_freed_blocks_serve_their_class);
  RUN(test_free_lists_are_capped);
  RUN(test_resizes_keep_contents);
  RUN(test_runs_lua);
  RUN(test_state_as_luaL_newstate);
  return check_summary();
}
