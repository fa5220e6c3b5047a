/* Shared argument checks, errors and tensor userdata (see nn_bind.h). */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_bind.h"
#include "nn_index.h"
#include "nn_elementwise.h"

void nnb_set_funcs(lua_State *L, int table, const luaL_Reg *funcs) {
  lua_pushvalue(L, table);
  luaL_setfuncs(L, funcs, 0);
  lua_pop(L, 1);
}

void nnb_push_int_array(lua_State *L, int n, const int64_t *values) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushinteger(L, values[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

void nnb_push_element(lua_State *L, const nn_tensor *t, const void *p) {
  switch (t->dtype) {
  case NN_FLOAT32: lua_pushnumber(L, *(const float *)p); break;
  case NN_INT64: lua_pushinteger(L, *(const int64_t *)p); break;
  default: lua_pushboolean(L, *(const bool *)p); break;
  }
}

/* Whether source (a chunk name) is one of the library's Lua modules: a
 * file under the folder nn/init.lua recorded with nn.core._set_library_dir. */
static bool in_library(lua_State *L, const char *source) {
  if (source[0] != '@') return false;
  lua_getfield(L, LUA_REGISTRYINDEX, NNB_LIBRARY_DIR_KEY);
  size_t n = 0;
  const char *dir = lua_tolstring(L, -1, &n);
  bool inside = dir && n > 0 && strncmp(source + 1, dir, n) == 0 && source[1 + n] == '/';
  lua_pop(L, 1);
  return inside;
}

void nnb_push_where(lua_State *L, int level) {
  lua_Debug ar;
  for (; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (strcmp(ar.what, "C") == 0 || in_library(L, ar.source)) continue;
    if (ar.currentline > 0) {
      lua_pushfstring(L, "%s:%d: ", ar.short_src, ar.currentline);
      return;
    }
    break;
  }
  lua_pushliteral(L, "");
}

int nnb_error(lua_State *L, const char *fname, const char *fmt, ...) {
  char msg[512];
  int n = snprintf(msg, sizeof msg, "%s: ", fname);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  nnb_push_where(L, 1);
  lua_pushstring(L, msg);
  lua_concat(L, 2);
  lua_error(L);
  __builtin_unreachable();
}

/* The metatable is also kept under this address in the registry: a
 * lightuserdata lookup avoids interning the name for every new tensor. */
static const char metatable_key;

/* Faster still, for the state that opened the module last: its slot in
 * the registry's array part (luaL_ref) to push it from (every result),
 * and its address, which tells that state's metatable from whatever
 * another state keeps in the same slot. Other states take the registry
 * lookup. Cleared when that state closes (a sentinel's __gc), so the
 * address of a freed table never matches. */
static const void *fast_mt;
static int fast_mt_ref = LUA_NOREF;

static int forget_fast_mt(lua_State *L) {
  const void **owner = lua_touserdata(L, 1);
  if (owner && *owner == fast_mt) fast_mt = NULL;
  return 0;
}

void nnb_set_metatable_key(lua_State *L, int mt) {
  mt = lua_absindex(L, mt);
  lua_pushvalue(L, mt);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &metatable_key);
  lua_pushvalue(L, mt);
  fast_mt_ref = luaL_ref(L, LUA_REGISTRYINDEX);
  fast_mt = lua_topointer(L, mt);
  const void **owner = lua_newuserdatauv(L, sizeof *owner, 0);
  *owner = fast_mt;
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, forget_fast_mt);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  luaL_ref(L, LUA_REGISTRYINDEX); /* the sentinel lives as long as the state */
}

static void push_metatable(lua_State *L) {
  if (fast_mt) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, fast_mt_ref);
    if (lua_topointer(L, -1) == fast_mt) return;
    lua_pop(L, 1);
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &metatable_key);
}

/* Every argument of every op is checked, so the test is two cheap API
 * calls, not a metatable fetch and compare: a tensor is a full userdata
 * of nnb_box's size (light userdata and strings fail one call or the
 * other) that starts with nnb_box_tag's address, which only push_box
 * writes. Boxes made by any state that loaded this module pass. */
const char nnb_box_tag;

nnb_box *nnb_to_box(lua_State *L, int idx) {
  nnb_box *box = lua_touserdata(L, idx);
  if (box == NULL || lua_rawlen(L, idx) != sizeof *box || box->tag != &nnb_box_tag) return NULL;
  return box;
}

nn_tensor *nnb_to_tensor(lua_State *L, int idx) {
  nnb_box *box = nnb_to_box(L, idx);
  return box ? box->t : NULL;
}

nn_tensor *nnb_check_tensor(lua_State *L, int idx, const char *fname) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (!t) {
    if (nnb_to_box(L, idx))
      nnb_error(L, fname, "argument %d is a closed tensor", idx);
    nnb_error(L, fname, "argument %d must be a tensor, got %s", idx, luaL_typename(L, idx));
  }
  return t;
}

/* Lua's collector paces itself by the bytes Lua allocates, and to it a
 * tensor is a 48-byte userdata whatever engine memory it holds (a
 * 1-element tensor: 384 bytes of header and storage). Left alone, a loop
 * of small ops piled up about 100k dead tensors between two young
 * collections: tens of MB that no cache holds, and walking them cost more
 * than the ops themselves. So each new tensor hands the engine's small
 * blocks (headers, small storages, autograd nodes: nn_alloc_small_total)
 * allocated since the last one to the collector as debt, as if they were
 * Lua objects: young collections come as often as for Lua objects of
 * that size, and dead tensors' blocks go back to the allocator while
 * still cached. Debt brings the next collection closer without changing
 * the heap size the collector measures, so when to run a major collection
 * stays Lua's decision. Large data is left out: a collection per big
 * allocation would make every tensor that outlives the next op old (it
 * has then lived through two), which only a major collection frees; big
 * data has nnb_gc_account's full collections instead. Handed over in
 * chunks of 16 KB: one lua_gc call per chunk, not per tensor. */
static void pace_collector(lua_State *L) {
  static uint64_t handed; /* of nn_alloc_small_total(), bytes already handed over */
  uint64_t pending = nn_alloc_small_total() - handed;
  if (pending < (16u << 10)) return;
  uint64_t kb = pending >> 10;
  handed += kb << 10;
  if (lua_gc(L, LUA_GCISRUNNING) != 1) return; /* stopped, or inside a finalizer (-1) */
  lua_gc(L, LUA_GCSTEP, kb > INT32_MAX ? INT32_MAX : (int)kb);
}

static nnb_box *push_box(lua_State *L) {
  nnb_box *box = lua_newuserdatauv(L, sizeof *box, 0);
  box->tag = &nnb_box_tag;
  box->t = NULL;
  push_metatable(L);
  lua_setmetatable(L, -2);
  pace_collector(L);
  return box;
}

void nnb_push_tensor(lua_State *L, nn_tensor *t) { push_box(L)->t = t; }

/* A young collection frees only the tensors that died young; big data
 * would pile up until Lua's own heap grew enough for a major collection
 * (a loop of 4 MB temporaries grew to 8 GB). So once the engine has
 * allocated 2 MB of tensor data since the last look (about a core's L2),
 * see what it holds: if that grew by more than 2 MB, or 8 times the Lua
 * heap if that is more, since the last full collection, collect in full.
 * A full collection costs in proportion to the Lua heap (a tensor is one
 * small object however big its data), so this bounds its share of the
 * run, and garbage tensors wait for at most one threshold of growth.
 * Growth, not allocation: in a training loop the young collections free
 * each step's tensors, so the engine holds the same bytes step after
 * step and no full collection is needed (the MLP epoch made 67, 0.35 ms
 * each, when they followed allocation). */
void nnb_gc_account(lua_State *L, size_t nbytes) {
  static size_t pending;
  static uint64_t collected = UINT64_MAX; /* engine bytes held after the last full collection */
  const size_t floor = 2u << 20;
  pending += nbytes;
  if (pending < floor) return;
  pending = 0;
  uint64_t held = nn_memory_stats_get().live_bytes;
  if (held < collected) collected = held; /* freed without a collection (close(), the graph) */
  size_t heap = (size_t)lua_gc(L, LUA_GCCOUNT) * 1024;
  size_t allowed = heap * 8 > floor ? heap * 8 : floor;
  if (held - collected < allowed || lua_gc(L, LUA_GCISRUNNING) != 1) return; /* stopped, or in a finalizer */
  /* Lua judges a full collection by its own heap only: one that freed
   * megabytes of tensor data but few Lua bytes is "bad" to it, and after
   * a bad one it stops young collections for full ones paced by its heap,
   * so garbage tensors pile up until the next of ours. Leaving
   * generational mode and entering it again collects in full and starts
   * it afresh (lua_gc's LUA_GCGEN); a program that chose incremental mode
   * keeps it. */
  if (lua_gc(L, LUA_GCINC, 0, 0, 0) == LUA_GCGEN) lua_gc(L, LUA_GCGEN, 0, 0);
  else lua_gc(L, LUA_GCCOLLECT);
  collected = nn_memory_stats_get().live_bytes;
}

static nn_tensor *new_tensor(lua_State *L, const char *fname, nn_dtype dtype,
                             int ndim, const int64_t *shape, bool zeroed) {
  char buf[128];
  size_t nbytes;
  if (!nn_shape_nbytes(ndim, shape, dtype, &nbytes))
    nnb_error(L, fname, "size %s is too large to allocate",
              nnb_shape_str(buf, sizeof buf, ndim, shape));
  uint64_t phys = nn_physical_memory();
  if (nbytes > phys)
    nnb_error(L, fname, "size %s needs %.1f GB, more than this machine's %.1f GB of memory",
              nnb_shape_str(buf, sizeof buf, ndim, shape), (double)nbytes / 1e9,
              (double)phys / 1e9);
  nnb_box *box = push_box(L);
  box->t = zeroed ? nn_tensor_zeros(dtype, ndim, shape) : nn_tensor_empty(dtype, ndim, shape);
  if (!box->t)
    nnb_error(L, fname, "out of memory allocating %s (%.3g MB)",
              nnb_shape_str(buf, sizeof buf, ndim, shape), (double)nbytes / 1e6);
  nnb_gc_account(L, nbytes);
  return box->t;
}

nn_tensor *nnb_new_tensor(lua_State *L, const char *fname, nn_dtype dtype,
                          int ndim, const int64_t *shape) {
  return new_tensor(L, fname, dtype, ndim, shape, false);
}

nn_tensor *nnb_new_zeros(lua_State *L, const char *fname, nn_dtype dtype,
                         int ndim, const int64_t *shape) {
  return new_tensor(L, fname, dtype, ndim, shape, true);
}

nn_tensor *nnb_new_view(lua_State *L, const char *fname, const nn_tensor *base,
                        int ndim, const int64_t *shape, const int64_t *stride,
                        int64_t offset) {
  nnb_box *box = push_box(L);
  box->t = nn_tensor_view(base, ndim, shape, stride, offset);
  if (!box->t) nnb_error(L, fname, "out of memory creating a view");
  return box->t;
}

nn_tensor *nnb_push_as(lua_State *L, const char *fname, int idx, nn_dtype dtype,
                       bool need_contiguous) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (t->dtype == dtype && (!need_contiguous || nn_tensor_is_contiguous(t))) {
    lua_pushvalue(L, idx);
    return t;
  }
  nn_tensor *out = nnb_new_tensor(L, fname, dtype, t->ndim, t->shape);
  nn_copy(out, t);
  return out;
}

const char *nnb_shape_str(char *buf, size_t len, int ndim, const int64_t *shape) {
  size_t n = (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < ndim && n < len; i++)
    n += (size_t)snprintf(buf + n, len - n, i ? ",%" PRId64 : "%" PRId64, shape[i]);
  if (n < len) snprintf(buf + n, len - n, "]");
  return buf;
}

void nnb_check_writable(lua_State *L, const nn_tensor *t, const char *fname) {
  nnb_check_inplace_grad(L, t, fname);
  if (!nn_has_internal_overlap(t)) return;
  char shape[128], stride[128];
  nnb_error(L, fname,
            "cannot write in place into an expanded tensor: more than one element of the "
            "written-to tensor refers to a single memory location (shape %s, strides %s); "
            "clone() it first",
            nnb_shape_str(shape, sizeof shape, t->ndim, t->shape),
            nnb_shape_str(stride, sizeof stride, t->ndim, t->stride));
}

int64_t nnb_check_int(lua_State *L, int idx, const char *fname, const char *what) {
  int isnum;
  lua_Integer v = lua_tointegerx(L, idx, &isnum);
  if (!isnum) {
    if (lua_type(L, idx) == LUA_TNUMBER)
      nnb_error(L, fname, "%s must be an integer, got %s", what, lua_tostring(L, idx));
    nnb_error(L, fname, "%s must be an integer, got %s", what, luaL_typename(L, idx));
  }
  return v;
}

int nnb_dim_index(lua_State *L, int64_t dim, int ndim, const char *fname) {
  int n = ndim > 0 ? ndim : 1;
  if (dim == 0 || dim > n || dim < -n) {
    if (dim == 0)
      nnb_error(L, fname, "dim 0 is out of range: dims are 1-based, 1..%d or -%d..-1", n, n);
    nnb_error(L, fname, "dim %" PRId64 " is out of range for a %d-D tensor (1..%d or -%d..-1)",
              dim, ndim, n, n);
  }
  return (int)(dim > 0 ? dim - 1 : dim + n);
}

int nnb_check_dim(lua_State *L, int idx, int ndim, const char *fname) {
  return nnb_dim_index(L, nnb_check_int(L, idx, fname, "dim"), ndim, fname);
}

static int64_t check_size(lua_State *L, int idx, const char *fname, bool allow_infer) {
  int64_t v = nnb_check_int(L, idx, fname, "size");
  if (v < 0 && !(allow_infer && v == -1))
    nnb_error(L, fname, "size %" PRId64 " is negative", v);
  return v;
}

int nnb_check_shape(lua_State *L, int idx, int last, int64_t *shape,
                    const char *fname, bool allow_infer) {
  int ndim = 0, inferred = 0;
  if (lua_istable(L, idx)) {
    lua_Integer n = luaL_len(L, idx);
    if (n > NN_MAX_DIMS) nnb_error(L, fname, "%lld dims given, at most %d supported", (long long)n, NN_MAX_DIMS);
    for (int i = 1; i <= n; i++) {
      lua_geti(L, idx, i);
      shape[ndim++] = check_size(L, -1, fname, allow_infer);
      lua_pop(L, 1);
    }
  } else {
    if (last - idx + 1 > NN_MAX_DIMS) nnb_error(L, fname, "%d dims given, at most %d supported", last - idx + 1, NN_MAX_DIMS);
    for (int i = idx; i <= last; i++) shape[ndim++] = check_size(L, i, fname, allow_infer);
  }
  for (int i = 0; i < ndim; i++) inferred += shape[i] == -1;
  if (inferred > 1) nnb_error(L, fname, "only one size can be -1, got %d", inferred);
  return ndim;
}

nn_dtype nnb_opt_dtype(lua_State *L, int idx, nn_dtype dflt, const char *fname) {
  if (lua_isnoneornil(L, idx)) return dflt;
  const char *s = lua_tostring(L, idx);
  if (!s || lua_type(L, idx) != LUA_TSTRING)
    nnb_error(L, fname, "dtype must be a string ('float32', 'int64' or 'bool'), got %s",
              luaL_typename(L, idx));
  for (int d = 0; d < NN_DTYPE_COUNT; d++)
    if (strcmp(s, nn_dtype_name(d)) == 0) return (nn_dtype)d;
  if (strcmp(s, "float") == 0) return NN_FLOAT32;
  if (strcmp(s, "long") == 0) return NN_INT64;
  nnb_error(L, fname, "unknown dtype '%s' (expected 'float32', 'int64' or 'bool')", s);
}

/* ---- options tables ---- */

/* Edit distance of a and b (insertions, deletions, substitutions), capped
 * at 8: option names are short, and only small distances matter. */
static int edit_distance(const char *a, const char *b) {
  size_t na = strlen(a), nb = strlen(b);
  if (na > 31 || nb > 31) return 8;
  int row[32];
  for (size_t j = 0; j <= nb; j++) row[j] = (int)j;
  for (size_t i = 1; i <= na; i++) {
    int diag = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= nb; j++) {
      int up = row[j], best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      diag = up;
      row[j] = best;
    }
  }
  return row[nb] < 8 ? row[nb] : 8;
}

/* The known name a mistyped key most likely meant (within 2 edits, or
 * one a prefix of the other), or NULL: the same rule as nn.args. */
static const char *nearest_name(const char *key, const char *const *known) {
  const char *best = NULL;
  int best_d = 3;
  size_t nk = strlen(key);
  for (int i = 0; known[i]; i++) {
    size_t n = strlen(known[i]);
    int d = edit_distance(key, known[i]);
    bool prefix = nk >= 3 && n >= 3 && !strncmp(key, known[i], nk < n ? nk : n);
    if (prefix && d > 2) d = 2;
    if (d < best_d) best = known[i], best_d = d;
  }
  return best;
}

int nnb_check_options(lua_State *L, int idx, const char *const *known, const char *fname) {
  if (lua_isnoneornil(L, idx)) return 0;
  if (!lua_istable(L, idx) || nnb_to_tensor(L, idx))
    nnb_error(L, fname, "options must be a table, got %s", luaL_typename(L, idx));
  idx = lua_absindex(L, idx);
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    int i = 0;
    while (key && known[i] && strcmp(known[i], key)) i++;
    if (key && known[i]) continue;
    char list[256] = "";
    for (int k = 0; known[k]; k++) {
      if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
      strncat(list, known[k], sizeof list - strlen(list) - 1);
    }
    if (!key) nnb_error(L, fname, "option names must be strings, got a %s key (known: %s)", luaL_typename(L, -1), list);
    const char *near = nearest_name(key, known);
    if (near) nnb_error(L, fname, "unknown option '%s' (did you mean '%s'? known: %s)", key, near, list);
    nnb_error(L, fname, "unknown option '%s' (known: %s)", key, list);
  }
  return idx;
}

/* Pushes opts[key]; false (nothing pushed) when opts is 0 or the value nil. */
static bool push_option(lua_State *L, int opts, const char *key) {
  if (!opts) return false;
  if (lua_getfield(L, opts, key) != LUA_TNIL) return true;
  lua_pop(L, 1);
  return false;
}

bool nnb_opt_bool(lua_State *L, int opts, const char *key, bool dflt, const char *fname) {
  if (!push_option(L, opts, key)) return dflt;
  if (!lua_isboolean(L, -1)) nnb_error(L, fname, "option %s must be a boolean, got %s", key, luaL_typename(L, -1));
  bool v = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return v;
}

double nnb_opt_number(lua_State *L, int opts, const char *key, double dflt, const char *fname) {
  if (!push_option(L, opts, key)) return dflt;
  if (lua_type(L, -1) != LUA_TNUMBER)
    nnb_error(L, fname, "option %s must be a number, got %s", key, luaL_typename(L, -1));
  double v = lua_tonumber(L, -1);
  lua_pop(L, 1);
  return v;
}

int64_t nnb_opt_int(lua_State *L, int opts, const char *key, int64_t dflt, const char *fname) {
  if (!push_option(L, opts, key)) return dflt;
  int64_t v = nnb_check_int(L, -1, fname, key);
  lua_pop(L, 1);
  return v;
}

/* ---- sizes ---- */

/* Size options beyond this are refused (they would overflow sizes). */
#define MAX_SIZE_OPTION ((int64_t)1 << 30)

int64_t nnb_check_size(lua_State *L, int idx, int64_t lo, const char *what, const char *fname) {
  int64_t v = nnb_check_int(L, idx, fname, what);
  if (v < lo || v > MAX_SIZE_OPTION)
    nnb_error(L, fname, "%s must be %s, got %" PRId64, what, lo ? ">= 1" : ">= 0", v);
  return v;
}

nnb_pair nnb_check_pair(lua_State *L, int idx, int64_t lo, const char *what, const char *fname) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    int64_t v = nnb_check_size(L, idx, lo, what, fname);
    return (nnb_pair){v, v};
  }
  if (!lua_istable(L, idx) || nnb_to_tensor(L, idx) || luaL_len(L, idx) != 2)
    nnb_error(L, fname, "%s must be a number or a pair {h, w}, got %s", what,
              lua_istable(L, idx) ? "a table that is not a pair" : luaL_typename(L, idx));
  nnb_pair p;
  idx = lua_absindex(L, idx);
  lua_geti(L, idx, 1);
  p.h = nnb_check_size(L, -1, lo, what, fname);
  lua_geti(L, idx, 2);
  p.w = nnb_check_size(L, -1, lo, what, fname);
  lua_pop(L, 2);
  return p;
}

nnb_pair nnb_opt_pair(lua_State *L, int opts, const char *key, int64_t lo, nnb_pair dflt, const char *fname) {
  if (!push_option(L, opts, key)) return dflt;
  nnb_pair p = nnb_check_pair(L, -1, lo, key, fname);
  lua_pop(L, 1);
  return p;
}

void nnb_check_float32(lua_State *L, const nn_tensor *t, const char *what, const char *fname) {
  if (t->dtype != NN_FLOAT32) nnb_error(L, fname, "%s must be float32, got %s", what, nn_dtype_name(t->dtype));
}
