/*
 * nn.distributed.mpi: the private C side of nn.distributed, a Lua module
 * of its own linked against MPI (CMake's nn_distributed_mpi), so that the
 * engine, nn.core and nnlua never need libmpi: stdlib/nn/distributed
 * requires it only when a script asks for nn.distributed.
 *
 * It links neither the engine nor liblua: it reads the tensor userdata
 * through nn_tensor.h's struct and leaves every tensor it returns to the
 * Lua side (nn.core makes them), so it works beside nnlua's linked-in
 * engine as beside stock lua5.4's nn/core.so. The Lua side checks every
 * argument and formats the errors; this file trusts it.
 */
#define _GNU_SOURCE /* dladdr */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "nn_bind.h"
#include "nn_collectives.h"

static int world_rank = 0, world_size = 1;

/* The tensor at idx, which the Lua side made contiguous. */
static nn_tensor *check_contiguous(lua_State *L, int idx) {
  nnb_box *box = luaL_checkudata(L, idx, NNB_TENSOR_MT);
  nn_tensor *t = box->t;
  luaL_argcheck(L, t != NULL, idx, "closed tensor");
  int64_t expected = 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    luaL_argcheck(L, t->shape[d] == 1 || t->stride[d] == expected, idx, "tensor must be contiguous");
    expected *= t->shape[d];
  }
  luaL_argcheck(L, t->dtype == NN_FLOAT32 || t->dtype == NN_INT64, idx, "dtype must be float32 or int64");
  return t;
}

static int64_t numel(const nn_tensor *t) {
  int64_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
  return n;
}

static void *data(const nn_tensor *t) {
  return (char *)t->storage->data + t->offset * (t->dtype == NN_INT64 ? 8 : 4);
}

/* {rank = r, dtype = "float32", shape = {2, 3}, arg = n}, r 1-based. */
static void push_desc(lua_State *L, int rank, const nn_dist_desc *d) {
  lua_createtable(L, 0, 4);
  lua_pushinteger(L, rank + 1);
  lua_setfield(L, -2, "rank");
  lua_pushstring(L, d->dtype == NN_INT64 ? "int64" : "float32");
  lua_setfield(L, -2, "dtype");
  lua_createtable(L, (int)d->ndim, 0);
  for (int i = 0; i < d->ndim && i < NN_MAX_DIMS; i++) {
    lua_pushinteger(L, d->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "shape");
  lua_pushinteger(L, d->arg);
  lua_setfield(L, -2, "arg");
}

/* Compares t and arg across the ranks before any data moves. Returns 0
 * when every rank passed the same; else pushes rank 1's description and
 * the first differing rank's (push_desc) and returns 2. */
static int check_same(lua_State *L, const nn_tensor *t, int64_t arg) {
  nn_dist_desc mine, first, theirs;
  memset(&mine, 0, sizeof mine);
  mine.dtype = t->dtype;
  mine.ndim = t->ndim;
  mine.arg = arg;
  memcpy(mine.shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  int r = nn_dist_check_same(&mine, &first, &theirs);
  if (r < 0) return 0;
  push_desc(L, 0, &first);
  push_desc(L, r, &theirs);
  return 2;
}

/* ---- the end of the job ---- */

/* Called by nnlua (NNB_ERROR_HOOK_KEY) with (program, message) when a
 * script fails: prints the message with this rank and ends every rank,
 * so none is left waiting in a collective for this one. */
static int l_abort_job(lua_State *L) {
  const char *prog = luaL_checkstring(L, 1), *msg = luaL_checkstring(L, 2);
  fflush(stdout);
  fprintf(stderr, "%s: rank %d of %d: %s\n", prog, world_rank + 1, world_size, msg);
  fflush(stderr);
  nn_dist_abort(1);
  return 0;
}

/* mpi.init(launched) -> rank (1-based), world size. A world of several
 * ranks installs the abort hook. (MPI ends at exit: nn_dist_init.) */
static int l_init(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  nn_dist_init(lua_toboolean(L, 1), &world_rank, &world_size);
  if (world_size > 1) {
    lua_pushcfunction(L, l_abort_job);
    lua_setfield(L, LUA_REGISTRYINDEX, NNB_ERROR_HOOK_KEY);
  }
  lua_pushinteger(L, world_rank + 1);
  lua_pushinteger(L, world_size);
  return 2;
}

/* ---- collectives: nil on success, else check_same's two descriptions ---- */

static const char *const OPS[] = {"sum", "mean", "max", "min", NULL};

/* mpi.all_reduce(t, op): op is compared across ranks as its position. */
static int l_all_reduce(lua_State *L) {
  nn_tensor *t = check_contiguous(L, 1);
  int op = luaL_checkoption(L, 2, NULL, OPS);
  if (check_same(L, t, op + 1)) return 2;
  nn_dist_all_reduce(data(t), numel(t), t->dtype, (nn_dist_op)op);
  return 0;
}

/* mpi.broadcast(t, root), root 1-based and inside the world. */
static int l_broadcast(lua_State *L) {
  nn_tensor *t = check_contiguous(L, 1);
  lua_Integer root = luaL_checkinteger(L, 2);
  luaL_argcheck(L, root >= 1 && root <= world_size, 2, "root outside the world");
  if (check_same(L, t, root)) return 2;
  nn_dist_broadcast(data(t), numel(t), t->dtype, (int)root - 1);
  return 0;
}

/* mpi.all_gather(out, t): out [world_size, t.shape...] of t's dtype. */
static int l_all_gather(lua_State *L) {
  nn_tensor *out = check_contiguous(L, 1), *t = check_contiguous(L, 2);
  luaL_argcheck(L, out->dtype == t->dtype && numel(out) == numel(t) * world_size, 1, "output size");
  if (check_same(L, t, 0)) return 2;
  nn_dist_all_gather(data(out), data(t), numel(t), t->dtype);
  return 0;
}

static int l_barrier(lua_State *L) {
  (void)L;
  nn_dist_barrier();
  return 0;
}

static const luaL_Reg funcs[] = {
    {"init", l_init},           {"all_reduce", l_all_reduce}, {"broadcast", l_broadcast},
    {"all_gather", l_all_gather}, {"barrier", l_barrier},       {NULL, NULL},
};

int luaopen_nn_distributed_mpi(lua_State *L) {
  /* Never unloaded (lua_close would dlclose it): MPI's exit handler is
   * in this module, and libmpi cannot be initialized twice anyway. */
  Dl_info self;
  if (dladdr((void *)luaopen_nn_distributed_mpi, &self) && self.dli_fname != NULL)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  luaL_newlib(L, funcs);
  return 1;
}
