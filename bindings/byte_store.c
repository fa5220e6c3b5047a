/*
 * Datasets held as bytes (runtime/byte_store.c) for stdlib/nn/data/bytes.lua:
 * a store is a userdata (nn.ByteStore) owning one nn_byte_store; the
 * loaders fill one from a file, and each batch is one call that gathers,
 * converts and normalizes into a new float32 tensor.
 *
 *   nn.core._bytes_read_idx(path, limit, fname) -> store [N,1,H,W], N in the header
 *   nn.core._bytes_read_cifar({path, ...}, limit, fname) -> store [N,3,32,32], y
 *   nn.core._bytes_new(n, {C, H, W}, fname) -> store to fill with _bytes_read_png
 *   nn.core._bytes_read_png(store, i, path, fname) -> store's sample i from a PNG
 *   nn.core._png_info(path, fname) -> c, h, w
 *   nn.core._bytes_batch(store, first, count, index, start, len, mean, std, fname) -> x
 *   nn.core._bytes_select(store, first, count, index, start, len, fname) -> store
 *   nn.core._bytes_info(store) -> n, sample shape, bytes
 *
 * Samples are picked as nn_byte_rows says: the run first..first+count-1
 * (0-based) of the store, and in it either the 1-based int64 indices of
 * `index` (a 1-D tensor) or, with index nil, len samples from 0-based
 * start. Limits are nil or a positive count: at most that many samples.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_bind.h"
#include "nn_byte_store.h"
#include "nn_data.h"
#include "nn_image.h"

#define STORE_MT "nn.ByteStore"
#define READER_MT "nn.ByteStore.idx_reader"
#define CIFAR_MAX_FILES 16

static int store_gc(lua_State *L) {
  nn_byte_store_free(luaL_checkudata(L, 1, STORE_MT));
  return 0;
}

static int reader_close(lua_State *L) {
  nn_idx_close(luaL_checkudata(L, 1, READER_MT));
  return 0;
}

/* Pushes an empty store userdata, to be filled by nn_byte_store_init. */
static nn_byte_store *push_store(lua_State *L) {
  nn_byte_store *s = lua_newuserdatauv(L, sizeof *s, 0);
  memset(s, 0, sizeof *s);
  luaL_setmetatable(L, STORE_MT);
  return s;
}

/* Makes the pushed store n samples of shape, raising on failure; refuses
 * more bytes than the machine has (a header that lies), as tensors do. */
static void init_store(lua_State *L, nn_byte_store *s, int64_t n, int ndim, const int64_t *shape,
                       const char *fname) {
  double need = (double)n;
  for (int d = 0; d < ndim; d++) need *= (double)shape[d];
  uint64_t phys = nn_physical_memory();
  if (need > (double)phys)
    nnb_error(L, fname, "%" PRId64 " samples need %.1f GB, more than this machine's %.1f GB of memory",
              n, need / 1e9, (double)phys / 1e9);
  nn_status st = nn_byte_store_init(s, n, ndim, shape);
  nnb_check_status(L, fname, st);
  nnb_gc_account(L, (size_t)(s->n * s->row));
}

static nn_byte_store *check_store(lua_State *L, int idx, const char *fname) {
  nn_byte_store *s = luaL_testudata(L, idx, STORE_MT);
  if (!s) nnb_error(L, fname, "argument %d must be a byte store, got %s", idx, luaL_typename(L, idx));
  return s;
}

static const char *check_path(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) != LUA_TSTRING)
    nnb_error(L, fname, "path (argument %d) must be a string, got %s", idx, luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

/* The limit at idx: nil (no limit, INT64_MAX) or a positive integer. */
static int64_t check_limit(lua_State *L, int idx, const char *fname) {
  if (lua_isnoneornil(L, idx)) return INT64_MAX;
  int64_t v = nnb_check_int(L, idx, fname, "limit");
  if (v < 1) nnb_error(L, fname, "limit must be a positive integer, got %" PRId64, v);
  return v;
}

static int l_read_idx(lua_State *L) {
  const char *fname = luaL_optstring(L, 3, "_bytes_read_idx");
  const char *path = check_path(L, 1, fname);
  int64_t limit = check_limit(L, 2, fname);
  lua_settop(L, 3);
  nn_idx_file *f = lua_newuserdatauv(L, sizeof *f, 0);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, READER_MT);
  lua_toclose(L, -1);
  char err[NN_IO_ERRLEN];
  if (nn_idx_open(f, path, err)) nnb_error(L, fname, "%s", err);
  if (f->ndim != 3)
    nnb_error(L, fname, "'%s' holds %d-D data, expected [N,H,W] images", path, f->ndim);
  int64_t total = f->shape[0], n = total < limit ? total : limit;
  int64_t shape[3] = {1, f->shape[1], f->shape[2]};
  if (shape[1] < 1 || shape[2] < 1)
    nnb_error(L, fname, "'%s' holds images of %" PRId64 "x%" PRId64, path, shape[1], shape[2]);
  nn_byte_store *s = push_store(L);
  init_store(L, s, n, 3, shape, fname);
  if (nn_idx_read_bytes(f, s->bytes, n * s->row, err)) nnb_error(L, fname, "%s", err);
  lua_pushinteger(L, total);
  return 2;
}

static int l_read_cifar(lua_State *L) {
  const char *fname = luaL_optstring(L, 3, "_bytes_read_cifar");
  luaL_checktype(L, 1, LUA_TTABLE);
  int64_t limit = check_limit(L, 2, fname);
  lua_settop(L, 3);
  lua_Integer nfiles = luaL_len(L, 1);
  if (nfiles < 1 || nfiles > CIFAR_MAX_FILES)
    nnb_error(L, fname, "expected 1..%d batch files, got %d", CIFAR_MAX_FILES, (int)nfiles);
  luaL_checkstack(L, CIFAR_MAX_FILES + 4, NULL);
  const char *paths[CIFAR_MAX_FILES];
  int64_t counts[CIFAR_MAX_FILES];
  int64_t total = 0;
  char err[NN_IO_ERRLEN];
  for (int i = 0; i < nfiles; i++) { /* the paths stay on the stack */
    lua_geti(L, 1, i + 1);
    if (lua_type(L, -1) != LUA_TSTRING)
      nnb_error(L, fname, "paths[%d] must be a string, got %s", i + 1, luaL_typename(L, -1));
    paths[i] = lua_tostring(L, -1);
    if (nn_cifar_count(paths[i], &counts[i], err)) nnb_error(L, fname, "%s", err);
    if (counts[i] > limit - total) counts[i] = limit - total; /* the first `limit` records */
    total += counts[i];
  }
  int64_t shape[3] = {3, 32, 32};
  nn_byte_store *s = push_store(L);
  init_store(L, s, total, 3, shape, fname);
  nn_tensor *y = nnb_new_tensor(L, fname, NN_INT64, 1, &total);
  unsigned char *xp = s->bytes;
  int64_t *yp = nn_tensor_data(y);
  for (int i = 0; i < nfiles && counts[i] > 0; i++) {
    if (nn_cifar_read_bytes(paths[i], counts[i], xp, yp, err)) nnb_error(L, fname, "%s", err);
    xp += counts[i] * NN_CIFAR_PIXELS, yp += counts[i];
  }
  return 2;
}

static int l_new(lua_State *L) {
  const char *fname = luaL_optstring(L, 3, "_bytes_new");
  int64_t n = nnb_check_int(L, 1, fname, "n");
  if (n < 0) nnb_error(L, fname, "n must be >= 0, got %" PRId64, n);
  luaL_checktype(L, 2, LUA_TTABLE);
  int64_t shape[NN_MAX_DIMS];
  int ndim = nnb_check_shape(L, 2, 2, shape, fname, false);
  if (ndim < 1 || ndim >= NN_MAX_DIMS)
    nnb_error(L, fname, "a sample has 1 to %d dims, got %d", NN_MAX_DIMS - 1, ndim);
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 1) nnb_error(L, fname, "sample sizes must be positive, got %" PRId64, shape[d]);
  lua_settop(L, 3);
  init_store(L, push_store(L), n, ndim, shape, fname);
  return 1;
}

static int l_read_png(lua_State *L) {
  const char *fname = luaL_optstring(L, 4, "_bytes_read_png");
  nn_byte_store *s = check_store(L, 1, fname);
  int64_t i = nnb_check_int(L, 2, fname, "index");
  const char *path = check_path(L, 3, fname);
  if (s->ndim != 3 || i < 1 || i > s->n)
    nnb_error(L, fname, "index %" PRId64 " out of range 1..%" PRId64 " of a [C,H,W] store", i, s->n);
  char err[NN_IO_ERRLEN];
  if (nn_byte_store_read_png(s, i - 1, path, err)) nnb_error(L, fname, "%s", err);
  return 0;
}

static int l_png_info(lua_State *L) {
  const char *fname = luaL_optstring(L, 2, "_png_info");
  const char *path = check_path(L, 1, fname);
  char err[NN_IO_ERRLEN];
  int c;
  int64_t h, w;
  if (nn_png_info(path, &c, &h, &w, err)) nnb_error(L, fname, "%s", err);
  lua_pushinteger(L, c);
  lua_pushinteger(L, h);
  lua_pushinteger(L, w);
  return 3;
}

/* Reads the run and the selection at idx..idx+4 (first, count, index,
 * start, len) into r; an index tensor is pushed contiguous (and stays on
 * the stack while r is used). */
static void check_rows(lua_State *L, int idx, const nn_byte_store *s, nn_byte_rows *r,
                       const char *fname) {
  r->first = nnb_check_int(L, idx, fname, "first");
  r->count = nnb_check_int(L, idx + 1, fname, "count");
  if (r->first < 0 || r->count < 0 || r->first > s->n - r->count)
    nnb_error(L, fname, "samples %" PRId64 "..%" PRId64 " are outside a store of %" PRId64,
              r->first + 1, r->first + r->count, s->n);
  r->index = NULL;
  r->start = 0;
  if (lua_isnil(L, idx + 2)) {
    r->start = nnb_check_int(L, idx + 3, fname, "start");
    r->len = nnb_check_int(L, idx + 4, fname, "len");
    if (r->start < 0 || r->len < 0 || r->start > r->count - r->len)
      nnb_error(L, fname, "samples %" PRId64 "..%" PRId64 " out of range 1..%" PRId64,
                r->start + 1, r->start + r->len, r->count);
    return;
  }
  nn_tensor *t = nnb_check_tensor(L, idx + 2, fname);
  char sh[64];
  if (t->dtype != NN_INT64 || t->ndim != 1)
    nnb_error(L, fname, "indices must be a 1-D int64 tensor, got %s %s",
              t->dtype == NN_FLOAT32 ? "float32" : t->dtype == NN_INT64 ? "int64" : "bool",
              nnb_shape_str(sh, sizeof sh, t->ndim, t->shape));
  t = nnb_push_as(L, fname, idx + 2, NN_INT64, true);
  r->index = nn_tensor_data(t);
  r->len = t->shape[0];
}

/* The values of Normalize's mean or std at idx for c channels: a number
 * or an array of 1 or c numbers (std nonzero), all finite. Pushes them
 * in a userdata; *count is 1 or c (0 when idx is nil). */
static const float *channel_values(lua_State *L, int idx, const char *fname, const char *what,
                                   int64_t c, bool nonzero, int64_t *count) {
  *count = 0;
  if (lua_isnil(L, idx)) return NULL;
  bool table = lua_type(L, idx) == LUA_TTABLE;
  lua_Integer len = 1;
  if (table) {
    len = luaL_len(L, idx);
    if (len != c && len != 1) {
      if (c == 1) nnb_error(L, fname, "Normalize %s has %lld values, expected 1 (the images have one channel)",
                            what, (long long)len);
      nnb_error(L, fname, "Normalize %s has %lld values, expected 1 or %lld (one per channel)",
                what, (long long)len, (long long)c);
    }
  } else if (lua_type(L, idx) != LUA_TNUMBER) {
    nnb_error(L, fname, "Normalize %s must be a number or an array of numbers, got %s", what,
              luaL_typename(L, idx));
  }
  float *v = lua_newuserdatauv(L, (size_t)len * sizeof *v, 0);
  for (lua_Integer k = 0; k < len; k++) {
    if (table && lua_geti(L, idx, k + 1) != LUA_TNUMBER)
      nnb_error(L, fname, "Normalize %s[%lld] must be a number, got %s", what, (long long)k + 1,
                luaL_typename(L, -1));
    v[k] = (float)lua_tonumber(L, table ? -1 : idx);
    if (table) lua_pop(L, 1);
    if (nonzero && v[k] == 0)
      nnb_error(L, fname, "Normalize %s[%lld] must not be 0", what, (long long)k + 1);
    if (!isfinite(v[k]))
      nnb_error(L, fname, "Normalize %s[%lld] must be finite, got %g", what, (long long)k + 1, v[k]);
  }
  *count = len;
  return v;
}

static int l_batch(lua_State *L) {
  const char *fname = luaL_optstring(L, 9, "_bytes_batch");
  nn_byte_store *s = check_store(L, 1, fname);
  lua_settop(L, 9);
  nn_byte_rows r;
  check_rows(L, 2, s, &r, fname);
  nn_byte_norm norm;
  norm.mean = channel_values(L, 7, fname, "mean", s->shape[0], false, &norm.nmean);
  norm.std = channel_values(L, 8, fname, "std", s->shape[0], true, &norm.nstd);
  if ((norm.nmean == 0) != (norm.nstd == 0)) nnb_error(L, fname, "Normalize needs both mean and std");
  int64_t shape[NN_MAX_DIMS];
  shape[0] = r.len;
  memcpy(shape + 1, s->shape, (size_t)s->ndim * sizeof *shape);
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, s->ndim + 1, shape);
  nnb_check_status(L, fname, nn_byte_store_gather(out, s, &r, &norm));
  return 1;
}

static int l_select(lua_State *L) {
  const char *fname = luaL_optstring(L, 7, "_bytes_select");
  nn_byte_store *s = check_store(L, 1, fname);
  lua_settop(L, 7);
  nn_byte_rows r;
  check_rows(L, 2, s, &r, fname);
  nn_byte_store *dst = push_store(L);
  nnb_check_status(L, fname, nn_byte_store_select(dst, s, &r));
  nnb_gc_account(L, (size_t)(dst->n * dst->row));
  return 1;
}

static int l_info(lua_State *L) {
  nn_byte_store *s = check_store(L, 1, "_bytes_info");
  lua_pushinteger(L, s->n);
  nnb_push_shape(L, s->ndim, s->shape);
  lua_pushinteger(L, s->n * s->row);
  return 3;
}

void nnb_open_byte_store(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg store_meta[] = {{"__gc", store_gc}, {"__close", store_gc}, {NULL, NULL}};
  luaL_newmetatable(L, STORE_MT);
  luaL_setfuncs(L, store_meta, 0);
  lua_pop(L, 1);
  static const luaL_Reg reader_meta[] = {{"__gc", reader_close}, {"__close", reader_close}, {NULL, NULL}};
  luaL_newmetatable(L, READER_MT);
  luaL_setfuncs(L, reader_meta, 0);
  lua_pop(L, 1);
  static const luaL_Reg funcs[] = {{"_bytes_read_idx", l_read_idx},
                                   {"_bytes_read_cifar", l_read_cifar},
                                   {"_bytes_new", l_new},
                                   {"_bytes_read_png", l_read_png},
                                   {"_png_info", l_png_info},
                                   {"_bytes_batch", l_batch},
                                   {"_bytes_select", l_select},
                                   {"_bytes_info", l_info},
                                   {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
}
