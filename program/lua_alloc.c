/* The program's Lua state and its small-object allocator (lua_alloc.h). */
#include "lua_alloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

struct lua_alloc_block {
  lua_alloc_block *next;
};

static size_t class_of(size_t nbytes) { return (nbytes - 1) / LUA_ALLOC_GRAIN; }
static size_t class_bytes(size_t cls) { return (cls + 1) * LUA_ALLOC_GRAIN; }

lua_alloc_pool *lua_alloc_pool_new(void) {
  lua_alloc_pool *pool = calloc(1, sizeof *pool);
  if (pool == NULL) return NULL;
  for (size_t c = 0; c < LUA_ALLOC_CLASSES; c++)
    pool->cache_limit[c] = (unsigned)(LUA_ALLOC_CLASS_CACHE / class_bytes(c));
  return pool;
}

void lua_alloc_pool_delete(lua_alloc_pool *pool) {
  if (pool == NULL) return;
  for (size_t c = 0; c < LUA_ALLOC_CLASSES; c++)
    while (pool->free_list[c]) {
      lua_alloc_block *b = pool->free_list[c];
      pool->free_list[c] = b->next;
      free(b);
    }
  free(pool);
}

/* A new block of nbytes (> 0): a small one is its class's full size, so
 * any block of the class can serve it later. */
static void *take(lua_alloc_pool *pool, size_t nbytes) {
  if (nbytes > LUA_ALLOC_SMALL_MAX) return malloc(nbytes);
  size_t c = class_of(nbytes);
  lua_alloc_block *b = pool->free_list[c];
  if (b == NULL) return malloc(class_bytes(c));
  pool->free_list[c] = b->next;
  pool->cached[c]--;
  return b;
}

static void give_back(lua_alloc_pool *pool, void *ptr, size_t nbytes) {
  if (nbytes <= LUA_ALLOC_SMALL_MAX) {
    size_t c = class_of(nbytes);
    if (pool->cached[c] < pool->cache_limit[c]) {
      lua_alloc_block *b = ptr;
      b->next = pool->free_list[c];
      pool->free_list[c] = b;
      pool->cached[c]++;
      return;
    }
  }
  free(ptr);
}

/* Lua's contract: ptr NULL allocates nsize bytes (osize then names the
 * object's type, not a size); nsize 0 frees ptr, of osize bytes; else
 * ptr's block is resized, and a NULL result leaves it untouched. */
void *lua_alloc_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
  lua_alloc_pool *pool = ud;
  if (ptr == NULL) return nsize ? take(pool, nsize) : NULL;
  if (nsize == 0) {
    give_back(pool, ptr, osize);
    return NULL;
  }
  bool was_small = osize <= LUA_ALLOC_SMALL_MAX, small = nsize <= LUA_ALLOC_SMALL_MAX;
  if (was_small && small && class_of(osize) == class_of(nsize)) return ptr;
  /* Every block is a malloc block, so realloc resizes across classes; a
   * small result is given its class's full size. */
  return realloc(ptr, small ? class_bytes(class_of(nsize)) : nsize);
}

/* ---------------------------------------------------------------------- */
/* The state */

/* Sanitizer builds: the plain allocator. */
#if defined(__SANITIZE_ADDRESS__)
#define NNLUA_PLAIN_ALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NNLUA_PLAIN_ALLOC 1
#endif
#endif

#ifndef NNLUA_PLAIN_ALLOC
/* What luaL_newstate adds to lua_newstate (Lua 5.4's lauxlib.c, which
 * keeps these functions to itself). */

static int panic(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  if (msg == NULL) msg = "error object is not a string";
  lua_writestringerror("PANIC: unprotected error in call to Lua API (%s)\n", msg);
  return 0;
}

static void warn_off(void *ud, const char *message, int tocont);
static void warn_on(void *ud, const char *message, int tocont);

/* "@on" and "@off" switch warnings; true when message was one of them. */
static bool warn_control(lua_State *L, const char *message, int tocont) {
  if (tocont || *(message++) != '@') return false;
  if (strcmp(message, "off") == 0) lua_setwarnf(L, warn_off, L);
  else if (strcmp(message, "on") == 0) lua_setwarnf(L, warn_on, L);
  return true;
}

static void warn_off(void *ud, const char *message, int tocont) {
  warn_control(ud, message, tocont);
}

/* A message's pieces after the first. */
static void warn_continue(void *ud, const char *message, int tocont) {
  lua_State *L = ud;
  lua_writestringerror("%s", message);
  if (tocont) {
    lua_setwarnf(L, warn_continue, L);
  } else {
    lua_writestringerror("%s", "\n");
    lua_setwarnf(L, warn_on, L);
  }
}

static void warn_on(void *ud, const char *message, int tocont) {
  if (warn_control(ud, message, tocont)) return;
  lua_writestringerror("%s", "Lua warning: ");
  warn_continue(ud, message, tocont);
}
#endif

lua_State *nnlua_newstate(void) {
#ifdef NNLUA_PLAIN_ALLOC
  return luaL_newstate();
#else
  lua_alloc_pool *pool = lua_alloc_pool_new();
  if (pool == NULL) return NULL;
  lua_State *L = lua_newstate(lua_alloc_pool_alloc, pool);
  if (L == NULL) {
    lua_alloc_pool_delete(pool);
    return NULL;
  }
  lua_atpanic(L, panic);
  lua_setwarnf(L, warn_off, L);
  return L;
#endif
}

void nnlua_close(lua_State *L) {
  void *ud = NULL;
  lua_Alloc f = lua_getallocf(L, &ud);
  lua_close(L);
  if (f == lua_alloc_pool_alloc) lua_alloc_pool_delete(ud);
}
