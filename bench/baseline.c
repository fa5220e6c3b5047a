/*
 * nnbench: same-process baselines for the benchmarks in the bench/ scripts.
 *
 * The ratios the benchmarks print compare nnlua with what the hardware and
 * OpenBLAS give C code in the same process, on the same cores, within
 * the same minute:
 *   nnbench.now()               seconds on the monotonic clock
 *   nnbench.sgemm(n [, threads]) a job: C = A*B on n x n float32 buffers,
 *                               OpenBLAS on threads threads (default 1:
 *                               the engine keeps OpenBLAS single-threaded
 *                               and splits products over its own pool)
 *   nnbench.memcpy(nfloats)     a job: memcpy of nfloats floats
 *   job:run(iters)              seconds for iters back-to-back calls
 *   nnbench.blas_threads()      OpenBLAS's thread count outside a job (1
 *                               once the engine has set it up)
 *   nnbench.blas_config()       OpenBLAS's build string and core name
 *
 * A job owns its buffers, filled and faulted in (with one untimed call)
 * when it is made, so run() times only the work. Not part of the engine:
 * the memory comes from malloc, not nn_alloc, as the C baselines do.
 */
#include <cblas.h>
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOB_METATABLE "nnbench.job"

typedef enum job_kind { JOB_SGEMM, JOB_MEMCPY } job_kind;

typedef struct job {
  job_kind kind;
  size_t n;            /* sgemm: matrix side; memcpy: floats copied */
  float *a, *b, *c;    /* sgemm: c = a*b; memcpy: b = a (c unused) */
  int threads;         /* sgemm: OpenBLAS's threads while it runs */
} job;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 64-byte aligned like nn_alloc's blocks, so neither side gets an
 * alignment advantage. */
static float *alloc_floats(size_t count) {
  size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
  return aligned_alloc(64, bytes ? bytes : 64);
}

/* Values in [-0.5, 0.5): no denormals, no overflow in any product. */
static void fill(float *p, size_t count) {
  unsigned x = 12345;
  for (size_t i = 0; i < count; i++) {
    x = x * 1103515245u + 12345u;
    p[i] = (float)(x >> 8) / 16777216.0f - 0.5f;
  }
}

static void run_once(const job *j) {
  if (j->kind == JOB_SGEMM) {
    int n = (int)j->n;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, j->a, n, j->b, n,
                0.0f, j->c, n);
  } else {
    memcpy(j->b, j->a, j->n * sizeof(float));
  }
}

static job *check_job(lua_State *L, int idx) {
  return luaL_checkudata(L, idx, JOB_METATABLE);
}

static int job_gc(lua_State *L) {
  job *j = check_job(L, 1);
  free(j->a);
  free(j->b);
  free(j->c);
  j->a = j->b = j->c = NULL;
  return 0;
}

/* Userdata first, buffers after: a failed allocation raises with the
 * userdata already owning whatever was taken, and __gc frees it. */
static job *new_job(lua_State *L, job_kind kind, size_t n) {
  job *j = lua_newuserdatauv(L, sizeof *j, 0);
  *j = (job){kind, n, NULL, NULL, NULL, 1};
  luaL_setmetatable(L, JOB_METATABLE);
  return j;
}

static lua_Integer check_size(lua_State *L, int idx, lua_Integer max) {
  lua_Integer v = luaL_checkinteger(L, idx);
  luaL_argcheck(L, v >= 1 && v <= max, idx, "size out of range");
  return v;
}

static int l_sgemm(lua_State *L) {
  size_t n = (size_t)check_size(L, 1, 1 << 15);
  int threads = (int)luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, threads >= 1 && threads <= 1024, 2, "threads must be 1..1024");
  job *j = new_job(L, JOB_SGEMM, n);
  j->threads = threads;
  j->a = alloc_floats(n * n);
  j->b = alloc_floats(n * n);
  j->c = alloc_floats(n * n);
  if (!j->a || !j->b || !j->c)
    return luaL_error(L, "nnbench.sgemm: out of memory for n=%I", (lua_Integer)n);
  fill(j->a, n * n);
  fill(j->b, n * n);
  int saved = openblas_get_num_threads();
  openblas_set_num_threads(threads);
  run_once(j); /* starts OpenBLAS's threads, faults in c */
  openblas_set_num_threads(saved);
  return 1;
}

static int l_memcpy(lua_State *L) {
  size_t n = (size_t)check_size(L, 1, (lua_Integer)1 << 32);
  job *j = new_job(L, JOB_MEMCPY, n);
  j->a = alloc_floats(n);
  j->b = alloc_floats(n);
  if (!j->a || !j->b) return luaL_error(L, "nnbench.memcpy: out of memory for %I floats", (lua_Integer)n);
  fill(j->a, n);
  run_once(j); /* faults in the destination */
  return 1;
}

static int job_run(lua_State *L) {
  job *j = check_job(L, 1);
  lua_Integer iters = luaL_optinteger(L, 2, 1);
  luaL_argcheck(L, iters >= 1, 2, "iters must be >= 1");
  luaL_argcheck(L, j->a != NULL, 1, "job already freed");
  int saved = openblas_get_num_threads();
  if (j->kind == JOB_SGEMM) openblas_set_num_threads(j->threads);
  double t0 = now();
  for (lua_Integer i = 0; i < iters; i++) run_once(j);
  double seconds = now() - t0;
  openblas_set_num_threads(saved);
  lua_pushnumber(L, seconds);
  return 1;
}

static int l_now(lua_State *L) {
  lua_pushnumber(L, now());
  return 1;
}

static int l_blas_threads(lua_State *L) {
  lua_pushinteger(L, openblas_get_num_threads());
  return 1;
}

static int l_blas_config(lua_State *L) {
  lua_pushstring(L, openblas_get_config());
  lua_pushstring(L, openblas_get_corename());
  return 2;
}

static const luaL_Reg job_methods[] = {
    {"run", job_run},
    {"__gc", job_gc},
    {"__close", job_gc},
    {NULL, NULL},
};

static const luaL_Reg module_funcs[] = {
    {"now", l_now},
    {"sgemm", l_sgemm},
    {"memcpy", l_memcpy},
    {"blas_threads", l_blas_threads},
    {"blas_config", l_blas_config},
    {NULL, NULL},
};

int luaopen_nnbench(lua_State *L) {
  luaL_newmetatable(L, JOB_METATABLE);
  luaL_setfuncs(L, job_methods, 0);
  lua_pushvalue(L, -1);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, module_funcs);
  return 1;
}
