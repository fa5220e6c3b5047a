/*
 * nnbench_mpi: the raw MPI peer of bench/distributed.lua, one
 * MPI_Allreduce of a float buffer, timed in C in the same job as the
 * bucketed all-reduce of nn.distributed.Optimizer it is compared with:
 *   nnbench_mpi.allreduce(nfloats, reps) -> {seconds, ...}
 * Each rep is MPI_Barrier, then one in-place MPI_Allreduce (MPI_SUM over
 * MPI_COMM_WORLD) of nfloats floats timed alone. MPI must be running
 * already (nn.distributed.init()); this module shares its libmpi.
 * Built only when nn.distributed is (bench/CMakeLists.txt).
 */
#include <lauxlib.h>
#include <lua.h>
#include <mpi.h>
#include <stdlib.h>

static int l_allreduce(lua_State *L) {
  lua_Integer n = luaL_checkinteger(L, 1), reps = luaL_checkinteger(L, 2);
  luaL_argcheck(L, n > 0 && n <= (1 << 28), 1, "nfloats must be in 1..2^28");
  luaL_argcheck(L, reps > 0, 2, "reps must be > 0");
  int running = 0;
  MPI_Initialized(&running);
  if (!running) return luaL_error(L, "nnbench_mpi.allreduce: MPI is not running (call nn.distributed.init())");
  float *buf = malloc((size_t)n * sizeof *buf);
  if (!buf) return luaL_error(L, "nnbench_mpi.allreduce: out of memory");
  for (lua_Integer i = 0; i < n; i++) buf[i] = (float)(i % 7) * 0.125f;
  lua_createtable(L, (int)reps, 0);
  for (lua_Integer r = 1; r <= reps; r++) {
    MPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    lua_pushnumber(L, MPI_Wtime() - t0);
    lua_rawseti(L, -2, r);
  }
  free(buf);
  return 1;
}

int luaopen_nnbench_mpi(lua_State *L) {
  lua_newtable(L);
  lua_pushcfunction(L, l_allreduce);
  lua_setfield(L, -2, "allreduce");
  return 1;
}
