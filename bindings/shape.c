/*
 * Shape and view ops from Lua: size/dim/numel, view/reshape, transpose/permute,
 * squeeze/unsqueeze/flatten, expand, contiguous, and cat/stack/split/chunk.
 * Views share storage with their base; only reshape of a non-viewable
 * tensor, contiguous, cat and stack copy. The geometry and the recording
 * are runtime/shape.c's: a view op pushes a header over its input's
 * storage (push_view) and the entry point shapes it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_shape.h"

/* __tostring of a shape array: its entries as {64, 784}. */
static int shape_tostring(lua_State *L) {
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addchar(&b, '{');
  lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
  for (lua_Integer i = 1; i <= n; i++) {
    if (i > 1) luaL_addstring(&b, ", ");
    lua_rawgeti(L, 1, i);
    luaL_tolstring(L, -1, NULL);
    lua_remove(L, -2); /* the element: luaL_addvalue wants the string right above the buffer */
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '}');
  luaL_pushresult(&b);
  return 1;
}

void nnb_push_shape(lua_State *L, int ndim, const int64_t *shape) {
  nnb_push_int_array(L, ndim, shape);
  luaL_setmetatable(L, NNB_SHAPE_MT);
}

/* t:size() / t:stride(): the whole array, or one dim's entry. */
static int dims_or_one(lua_State *L, const char *fname, bool strides) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  const int64_t *values = strides ? t->stride : t->shape;
  if (lua_isnoneornil(L, 2)) {
    if (strides) nnb_push_int_array(L, t->ndim, values);
    else nnb_push_shape(L, t->ndim, values);
    return 1;
  }
  if (t->ndim == 0) nnb_error(L, fname, "a 0-dim tensor has no dims");
  lua_pushinteger(L, values[nnb_check_dim(L, 2, t->ndim, fname)]);
  return 1;
}

static int l_size(lua_State *L) { return dims_or_one(L, "size", false); }
static int l_stride(lua_State *L) { return dims_or_one(L, "stride", true); }

static int l_dim(lua_State *L) {
  lua_pushinteger(L, nnb_check_tensor(L, 1, "dim")->ndim);
  return 1;
}

static int l_numel(lua_State *L) {
  lua_pushinteger(L, nn_tensor_numel(nnb_check_tensor(L, 1, "numel")));
  return 1;
}

/* #t is t:size(1), as Torch7. */
static int l_len(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "#");
  if (t->ndim == 0) nnb_error(L, "#", "a 0-dim tensor has no length");
  lua_pushinteger(L, t->shape[0]);
  return 1;
}

static int l_is_contiguous(lua_State *L) {
  lua_pushboolean(L, nn_tensor_is_contiguous(nnb_check_tensor(L, 1, "is_contiguous")));
  return 1;
}

/* Pushes a header over t's storage, for a view entry point to shape. */
static nn_tensor *push_view(lua_State *L, const nn_tensor *t, const char *fname) {
  return nnb_new_view(L, fname, t, 0, NULL, NULL, 0);
}

/* Pushes the tensor at idx itself when contiguous, else a contiguous copy. */
static nn_tensor *push_contiguous(lua_State *L, int idx, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (nn_tensor_is_contiguous(t)) {
    lua_pushvalue(L, idx);
    return t;
  }
  nn_tensor *c = nnb_new_tensor(L, fname, t->dtype, t->ndim, t->shape);
  nnb_check_status(L, fname, nn_clone(c, t));
  return c;
}

static int l_contiguous(lua_State *L) {
  push_contiguous(L, 1, "contiguous");
  return 1;
}

/* Reads the target shape of view/reshape and resolves a -1. */
static int target_shape(lua_State *L, const nn_tensor *t, int64_t *shape, const char *fname) {
  int ndim = nnb_check_shape(L, 2, lua_gettop(L), shape, fname, true);
  int64_t known = 1, numel = nn_tensor_numel(t);
  int infer = -1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == -1) infer = i;
    else known *= shape[i];
  }
  char a[128], b[128];
  if (infer >= 0 ? known == 0 || numel % known != 0 : known != numel)
    nnb_error(L, fname, "shape %s is invalid for a tensor of %" PRId64 " elements %s",
              nnb_shape_str(a, sizeof a, ndim, shape), numel, nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  if (infer >= 0) shape[infer] = numel / known;
  return ndim;
}

/* Pushes the tensor at 1 read as shape: a view, or when copy_ok
 * (reshape, flatten) a view of a contiguous copy where no view can be. */
static int push_reshaped(lua_State *L, int ndim, const int64_t *shape, bool copy_ok, const char *fname) {
  nn_tensor *t = nnb_to_tensor(L, 1);
  int64_t stride[NN_MAX_DIMS];
  if (!nn_view_strides(t, ndim, shape, stride)) {
    char a[128], b[128];
    if (!copy_ok)
      nnb_error(L, fname, "cannot view a non-contiguous %s tensor as %s; use reshape (it copies)",
                nnb_shape_str(a, sizeof a, t->ndim, t->shape), nnb_shape_str(b, sizeof b, ndim, shape));
    t = push_contiguous(L, 1, fname);
  }
  nnb_check_status(L, fname, nn_reshape(push_view(L, t, fname), t, ndim, shape));
  return 1;
}

static int l_view(lua_State *L) {
  int64_t shape[NN_MAX_DIMS];
  int ndim = target_shape(L, nnb_check_tensor(L, 1, "view"), shape, "view");
  return push_reshaped(L, ndim, shape, false, "view");
}

static int l_reshape(lua_State *L) {
  int64_t shape[NN_MAX_DIMS];
  int ndim = target_shape(L, nnb_check_tensor(L, 1, "reshape"), shape, "reshape");
  return push_reshaped(L, ndim, shape, true, "reshape");
}

/* flatten([start_dim=1 [, end_dim=-1]]): merges dims start..end; a view
 * when the layout allows, else a copy (as reshape). */
static int l_flatten(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "flatten");
  int start = 0, end = 0;
  if (t->ndim > 0) {
    start = lua_isnoneornil(L, 2) ? 0 : nnb_check_dim(L, 2, t->ndim, "flatten");
    end = lua_isnoneornil(L, 3) ? t->ndim - 1 : nnb_check_dim(L, 3, t->ndim, "flatten");
    if (start > end) nnb_error(L, "flatten", "start dim %d comes after end dim %d", start + 1, end + 1);
  }
  int64_t shape[NN_MAX_DIMS];
  int ndim = nn_flatten_shape(t, start, end, shape);
  return push_reshaped(L, ndim, shape, true, "flatten");
}

static int push_permuted(lua_State *L, nn_tensor *t, const nn_permute_args *args, const char *fname) {
  nnb_check_status(L, fname, nn_permute(push_view(L, t, fname), t, args));
  return 1;
}

static int l_transpose(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "transpose");
  if (t->ndim == 0) {
    lua_settop(L, 1);
    return 1;
  }
  int d1 = nnb_check_dim(L, 2, t->ndim, "transpose"), d2 = nnb_check_dim(L, 3, t->ndim, "transpose");
  nn_permute_args a;
  for (int i = 0; i < t->ndim; i++) a.perm[i] = i;
  a.perm[d1] = d2;
  a.perm[d2] = d1;
  return push_permuted(L, t, &a, "transpose");
}

/* t:t(): transpose of a tensor of at most 2 dims. */
static int l_t(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "t");
  if (t->ndim > 2) nnb_error(L, "t", "expects a tensor of at most 2 dims, got %d; use transpose", t->ndim);
  return push_permuted(L, t, &(nn_permute_args){{t->ndim == 2 ? 1 : 0, 0}}, "t");
}

static int l_permute(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "permute");
  /* dims as separate numbers or one table; negative dims count from the end */
  bool table = lua_istable(L, 2);
  int n = table ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim) nnb_error(L, "permute", "got %d dims for a %d-D tensor", n, t->ndim);
  nn_permute_args a;
  bool seen[NN_MAX_DIMS] = {false};
  for (int i = 0; i < n; i++) {
    if (table) lua_geti(L, 2, i + 1);
    else lua_pushvalue(L, i + 2);
    a.perm[i] = nnb_check_dim(L, -1, t->ndim, "permute");
    lua_pop(L, 1);
    if (seen[a.perm[i]]) nnb_error(L, "permute", "dim %d appears twice", a.perm[i] + 1);
    seen[a.perm[i]] = true;
  }
  return push_permuted(L, t, &a, "permute");
}

static int l_squeeze(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "squeeze");
  int d = -1; /* every size-1 dim */
  if (!lua_isnoneornil(L, 2)) {
    if (t->ndim > 0) d = nnb_check_dim(L, 2, t->ndim, "squeeze");
    if (d < 0 || t->shape[d] != 1) {
      lua_settop(L, 1); /* as PyTorch: squeezing a dim that is not 1 is a no-op */
      return 1;
    }
  }
  nnb_check_status(L, "squeeze", nn_squeeze(push_view(L, t, "squeeze"), t, d));
  return 1;
}

static int l_unsqueeze(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "unsqueeze");
  if (t->ndim == NN_MAX_DIMS) nnb_error(L, "unsqueeze", "a tensor can have at most %d dims", NN_MAX_DIMS);
  int d = nnb_check_dim(L, 2, t->ndim + 1, "unsqueeze");
  nnb_check_status(L, "unsqueeze", nn_unsqueeze(push_view(L, t, "unsqueeze"), t, d));
  return 1;
}

/* expand(sizes): size-1 dims repeat without copying (stride 0); -1 keeps
 * a size; new leading dims may be added. */
static int push_expanded(lua_State *L, nn_tensor *t, int ndim, const int64_t *want, const char *fname) {
  char a[128], b[128];
  if (ndim < t->ndim)
    nnb_error(L, fname, "cannot expand %s to fewer dims %s", nnb_shape_str(a, sizeof a, t->ndim, t->shape),
              nnb_shape_str(b, sizeof b, ndim, want));
  for (int i = 0, j = t->ndim - ndim; i < ndim; i++, j++) {
    int64_t have = j >= 0 ? t->shape[j] : 1;
    if (want[i] == -1 && j < 0)
      nnb_error(L, fname, "size -1 is not allowed for the new leading dim %d", i + 1);
    if (want[i] != -1 && have != want[i] && have != 1)
      nnb_error(L, fname, "cannot expand %s to %s: dim %d has size %" PRId64 ", not 1",
                nnb_shape_str(a, sizeof a, t->ndim, t->shape), nnb_shape_str(b, sizeof b, ndim, want), j + 1, have);
  }
  nnb_check_status(L, fname, nn_expand(push_view(L, t, fname), t, ndim, want));
  return 1;
}

static int l_expand(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "expand");
  int64_t want[NN_MAX_DIMS];
  int ndim = nnb_check_shape(L, 2, lua_gettop(L), want, "expand", true);
  for (int i = 0; i < ndim; i++)
    if (want[i] < -1) nnb_error(L, "expand", "size %" PRId64 " is negative", want[i]);
  return push_expanded(L, t, ndim, want, "expand");
}

static int l_expand_as(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "expand_as"), *other = nnb_check_tensor(L, 2, "expand_as");
  return push_expanded(L, t, other->ndim, other->shape, "expand_as");
}

/* ---- joining and splitting ---- */

/* The tensors of the Lua array at 1, in a pushed array, and their common
 * dtype. */
static nn_tensor **check_tensor_list(lua_State *L, const char *fname, int *n, nn_dtype *dtype) {
  if (!lua_istable(L, 1)) nnb_error(L, fname, "argument 1 must be a list of tensors, got %s", luaL_typename(L, 1));
  *n = (int)luaL_len(L, 1);
  if (*n == 0) nnb_error(L, fname, "expects a non-empty list of tensors");
  lua_settop(L, 2); /* the list, the dim */
  nn_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)*n, 0);
  *dtype = NN_BOOL; /* the lowest: promotes to any */
  for (int i = 0; i < *n; i++) {
    lua_geti(L, 1, i + 1);
    if (!(ts[i] = nnb_to_tensor(L, -1)))
      nnb_error(L, fname, "element %d of the list must be a tensor, got %s", i + 1, luaL_typename(L, -1));
    *dtype = nn_dtype_promote(*dtype, ts[i]->dtype);
    lua_pop(L, 1); /* still referenced by the list */
  }
  return ts;
}

/* cat(list [, dim]) joins along an existing dim, stack(list [, dim])
 * along a new one. */
static int join(lua_State *L, bool stacked, const char *fname) {
  int n;
  nn_dtype dtype;
  nn_tensor **ts = check_tensor_list(L, fname, &n, &dtype), *first = ts[0];
  if (!stacked && first->ndim == 0) nnb_error(L, fname, "zero-dim tensors cannot be concatenated; use stack");
  if (stacked && first->ndim == NN_MAX_DIMS) nnb_error(L, fname, "the result would have more than %d dims", NN_MAX_DIMS);
  nn_cat_args args = {lua_isnoneornil(L, 2) ? 0 : nnb_check_dim(L, 2, first->ndim + stacked, fname), stacked};
  int64_t shape[NN_MAX_DIMS];
  int bad = nn_cat_shape(n, ts, &args, shape);
  if (bad >= 0) {
    char a[128], b[128], only[48] = "";
    if (!stacked) snprintf(only, sizeof only, " (they may differ only in dim %d)", args.dim + 1);
    nnb_error(L, fname, "tensor %d has shape %s, but tensor 1 has %s%s", bad + 1,
              nnb_shape_str(a, sizeof a, ts[bad]->ndim, ts[bad]->shape),
              nnb_shape_str(b, sizeof b, first->ndim, first->shape), only);
  }
  nn_tensor *out = nnb_new_tensor(L, fname, dtype, first->ndim + stacked, shape);
  nnb_check_status(L, fname, nn_cat(out, n, ts, &args));
  return 1;
}

static int l_cat(lua_State *L) { return join(L, false, "cat"); }
static int l_stack(lua_State *L) { return join(L, true, "stack"); }

/* split(size, dim) pieces of `size` (the last may be smaller), or
 * split({s1, s2, ...}, dim) pieces of those sizes: a Lua array of views. */
static int l_split(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "split");
  if (t->ndim == 0) nnb_error(L, "split", "a 0-dim tensor cannot be split");
  int d = lua_isnoneornil(L, 3) ? 0 : nnb_check_dim(L, 3, t->ndim, "split");
  int64_t total = t->shape[d], sum = 0, size = 0, n;
  if (lua_istable(L, 2)) {
    n = (int64_t)luaL_len(L, 2);
  } else {
    size = nnb_check_int(L, 2, "split", "size");
    if (size <= 0) nnb_error(L, "split", "size must be positive, got %" PRId64, size);
    n = total > 0 ? (total + size - 1) / size : 1; /* an empty dim gives one empty piece */
  }
  if (n > 1000000) nnb_error(L, "split", "%" PRId64 " pieces is too many", n);
  int64_t *lens = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *lens, 0);
  for (int64_t i = 0; i < n; i++) {
    if (size) {
      lens[i] = total - i * size < size ? total - i * size : size;
      continue;
    }
    lua_geti(L, 2, i + 1);
    lens[i] = nnb_check_int(L, -1, "split", "size");
    lua_pop(L, 1);
    if (lens[i] < 0) nnb_error(L, "split", "size %" PRId64 " is negative", lens[i]);
    sum += lens[i];
  }
  if (!size && sum != total)
    nnb_error(L, "split", "sizes add up to %" PRId64 ", but dim %d has size %" PRId64, sum, d + 1, total);
  lua_createtable(L, (int)n, 0);
  nn_narrow_args a = {.dim = d};
  for (int i = 0; i < n; a.start += lens[i++]) {
    a.len = lens[i];
    nnb_check_status(L, "split", nn_narrow(push_view(L, t, "split"), t, &a));
    lua_rawseti(L, -2, i + 1);
  }
  return 1;
}

/* chunk(n, dim): n pieces of ceil(size/n) (fewer if the size runs out). */
static int l_chunk(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "chunk");
  if (t->ndim == 0) nnb_error(L, "chunk", "a 0-dim tensor cannot be chunked");
  int64_t chunks = nnb_check_int(L, 2, "chunk", "chunks");
  if (chunks <= 0) nnb_error(L, "chunk", "chunks must be positive, got %" PRId64, chunks);
  int d = lua_isnoneornil(L, 3) ? 0 : nnb_check_dim(L, 3, t->ndim, "chunk");
  int64_t size = (t->shape[d] + chunks - 1) / chunks;
  lua_settop(L, 1);
  lua_pushinteger(L, size > 0 ? size : 1);
  lua_pushinteger(L, d + 1);
  return l_split(L);
}

static const luaL_Reg methods_list[] = {
    {"size", l_size},         {"stride", l_stride},
    {"dim", l_dim},           {"numel", l_numel},
    {"is_contiguous", l_is_contiguous},
    {"contiguous", l_contiguous},
    {"view", l_view},         {"reshape", l_reshape},
    {"transpose", l_transpose}, {"t", l_t},
    {"permute", l_permute},   {"squeeze", l_squeeze},
    {"unsqueeze", l_unsqueeze}, {"flatten", l_flatten},
    {"expand", l_expand},     {"expand_as", l_expand_as},
    {"split", l_split},       {"chunk", l_chunk},
    {NULL, NULL},
};

static const luaL_Reg module_funcs[] = {
    {"cat", l_cat},
    {"stack", l_stack},
    {NULL, NULL},
};

void nnb_open_shape(lua_State *L, int module, int methods) {
  lua_pushvalue(L, module);
  luaL_setfuncs(L, module_funcs, 0);
  luaL_setfuncs(L, methods_list, 0); /* also nn.view(t, ...) etc. */
  lua_pop(L, 1);
  nnb_set_funcs(L, methods, methods_list);
  luaL_getmetatable(L, NNB_TENSOR_MT);
  lua_pushcfunction(L, l_len);
  lua_setfield(L, -2, "__len");
  lua_pop(L, 1);
  luaL_newmetatable(L, NNB_SHAPE_MT);
  lua_pushcfunction(L, shape_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}
