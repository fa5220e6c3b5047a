/*
 * The Lua state of the nnlua program, with a small-object allocator.
 *
 * Every tensor op called from Lua makes a userdata (and the collector
 * frees one); glibc's malloc and free took about 210 of the 2,740
 * instructions of `a + b` on 1-element tensors, the pool takes 40. Lua tells the allocator the size
 * of every block it frees or resizes, so small blocks need no header:
 * per-size-class free lists (16-byte classes up to 512 bytes) hand freed
 * blocks out again for the cost of a list pop. Each cached block is still
 * its own malloc block (a class's full size), so bigger blocks and resizes
 * go to realloc and free unchanged, and what a free list keeps is capped
 * (LUA_ALLOC_CLASS_CACHE bytes a class), so memory never grows past what
 * Lua holds plus that cap.
 */
#ifndef NN_LUA_ALLOC_H
#define NN_LUA_ALLOC_H

#include <stddef.h>

#include <lua.h>

#define LUA_ALLOC_GRAIN 16
#define LUA_ALLOC_SMALL_MAX 512
#define LUA_ALLOC_CLASSES (LUA_ALLOC_SMALL_MAX / LUA_ALLOC_GRAIN)
#define LUA_ALLOC_CLASS_CACHE ((size_t)128 << 10)

typedef struct lua_alloc_block lua_alloc_block;

typedef struct lua_alloc_pool {
  lua_alloc_block *free_list[LUA_ALLOC_CLASSES];
  unsigned cached[LUA_ALLOC_CLASSES];    /* blocks in each free list */
  unsigned cache_limit[LUA_ALLOC_CLASSES]; /* LUA_ALLOC_CLASS_CACHE in blocks */
} lua_alloc_pool;

/* A pool with empty free lists; NULL when out of memory. */
lua_alloc_pool *lua_alloc_pool_new(void);
/* Frees the cached blocks and the pool (after the state using it closed). */
void lua_alloc_pool_delete(lua_alloc_pool *pool);
/* The lua_Alloc function: ud is the pool. */
void *lua_alloc_pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* A new state as luaL_newstate makes one (its panic function, warnings
 * off until "@on"), allocating through a pool; in sanitizer builds plain
 * luaL_newstate, so AddressSanitizer sees each Lua object's lifetime.
 * NULL when out of memory. */
lua_State *nnlua_newstate(void);
/* lua_close, then the pool's lua_alloc_pool_delete. */
void nnlua_close(lua_State *L);

#endif
