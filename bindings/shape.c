/*
 * Shape and view ops: size/dim/numel, view/reshape, transpose/permute,
 * squeeze/unsqueeze/flatten, expand, contiguous, and cat/stack/split/chunk.
 * Views share storage with their base; only reshape of a non-viewable
 * tensor, contiguous, cat and stack copy.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_elementwise.h"

/* t:size() / t:stride(): the whole array, or one dim's entry. */
static int dims_or_one(lua_State *L, const char *fname, bool strides) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  const int64_t *values = strides ? t->stride : t->shape;
  if (lua_isnoneornil(L, 2)) {
    nnb_push_int_array(L, t->ndim, values);
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

/* Pushes t itself when contiguous, else a contiguous copy. */
static nn_tensor *push_contiguous(lua_State *L, int idx, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  nn_tensor *c = nnb_push_as(L, fname, idx, t->dtype, true);
  if (c != t) nnb_record(L, fname, NN_OP_COPY, c, 1, &t);
  return c;
}

/* Pushes a view of t that autograd sees as a reshape. */
static nn_tensor *push_reshaped(lua_State *L, nn_tensor *t, int ndim, const int64_t *shape,
                                const int64_t *stride, const char *fname) {
  nn_tensor *v = nnb_new_view(L, fname, t, ndim, shape, stride, t->offset);
  nnb_record(L, fname, NN_OP_RESHAPE, v, 1, &t);
  return v;
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
  if (infer >= 0) {
    if (known == 0 || numel % known != 0)
      nnb_error(L, fname, "shape %s is invalid for a tensor of %" PRId64 " elements %s",
                nnb_shape_str(a, sizeof a, ndim, shape), numel, nnb_shape_str(b, sizeof b, t->ndim, t->shape));
    shape[infer] = numel / known;
  } else if (known != numel) {
    nnb_error(L, fname, "shape %s is invalid for a tensor of %" PRId64 " elements %s",
              nnb_shape_str(a, sizeof a, ndim, shape), numel, nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  return ndim;
}

static int l_view(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "view");
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  int ndim = target_shape(L, t, shape, "view");
  char a[128], b[128];
  if (!nn_view_strides(t, ndim, shape, stride))
    nnb_error(L, "view", "cannot view a non-contiguous %s tensor as %s; use reshape (it copies)",
              nnb_shape_str(a, sizeof a, t->ndim, t->shape), nnb_shape_str(b, sizeof b, ndim, shape));
  push_reshaped(L, t, ndim, shape, stride, "view");
  return 1;
}

static int l_reshape(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "reshape");
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  int ndim = target_shape(L, t, shape, "reshape");
  if (!nn_view_strides(t, ndim, shape, stride)) {
    t = push_contiguous(L, 1, "reshape");
    nn_contiguous_strides(ndim, shape, stride);
  }
  push_reshaped(L, t, ndim, shape, stride, "reshape");
  return 1;
}

/* Pushes a view of t with its dims reordered: new dim i is old perm[i]. */
static void push_permuted(lua_State *L, nn_tensor *t, const int *perm, const char *fname) {
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) {
    shape[i] = t->shape[perm[i]];
    stride[i] = t->stride[perm[i]];
  }
  nn_tensor *v = nnb_new_view(L, fname, t, t->ndim, shape, stride, t->offset);
  nn_node *node = nnb_record(L, fname, NN_OP_PERMUTE, v, 1, &t);
  for (int i = 0; node && i < t->ndim; i++) node->params[i] = perm[i];
}

static int l_transpose(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "transpose");
  if (t->ndim == 0) {
    lua_settop(L, 1);
    return 1;
  }
  int d1 = nnb_check_dim(L, 2, t->ndim, "transpose"), d2 = nnb_check_dim(L, 3, t->ndim, "transpose");
  int perm[NN_MAX_DIMS];
  for (int i = 0; i < t->ndim; i++) perm[i] = i;
  perm[d1] = d2;
  perm[d2] = d1;
  push_permuted(L, t, perm, "transpose");
  return 1;
}

/* t:t(): transpose of a tensor of at most 2 dims. */
static int l_t(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "t");
  if (t->ndim > 2) nnb_error(L, "t", "expects a tensor of at most 2 dims, got %d; use transpose", t->ndim);
  int perm[2] = {t->ndim == 2 ? 1 : 0, 0};
  push_permuted(L, t, perm, "t");
  return 1;
}

static int l_permute(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "permute");
  /* dims as separate numbers or one table; negative dims count from the end */
  bool table = lua_istable(L, 2);
  int n = table ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
  if (n != t->ndim) nnb_error(L, "permute", "got %d dims for a %d-D tensor", n, t->ndim);
  int perm[NN_MAX_DIMS];
  bool seen[NN_MAX_DIMS] = {false};
  for (int i = 0; i < n; i++) {
    if (table) lua_geti(L, 2, i + 1);
    else lua_pushvalue(L, i + 2);
    perm[i] = nnb_check_dim(L, -1, t->ndim, "permute");
    lua_pop(L, 1);
    if (seen[perm[i]]) nnb_error(L, "permute", "dim %d appears twice", perm[i] + 1);
    seen[perm[i]] = true;
  }
  push_permuted(L, t, perm, "permute");
  return 1;
}

/* Pushes a view of t without dim d. */
static void push_without_dim(lua_State *L, nn_tensor *t, int d, const char *fname) {
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (i == d) continue;
    shape[n] = t->shape[i];
    stride[n++] = t->stride[i];
  }
  push_reshaped(L, t, n, shape, stride, fname);
}

static int l_squeeze(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "squeeze");
  if (!lua_isnoneornil(L, 2)) {
    if (t->ndim == 0) {
      lua_settop(L, 1);
      return 1;
    }
    int d = nnb_check_dim(L, 2, t->ndim, "squeeze");
    if (t->shape[d] != 1) {
      lua_settop(L, 1); /* as PyTorch: squeezing a dim that is not 1 is a no-op */
      return 1;
    }
    push_without_dim(L, t, d, "squeeze");
    return 1;
  }
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] == 1) continue;
    shape[n] = t->shape[i];
    stride[n++] = t->stride[i];
  }
  push_reshaped(L, t, n, shape, stride, "squeeze");
  return 1;
}

static int l_unsqueeze(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "unsqueeze");
  if (t->ndim == NN_MAX_DIMS) nnb_error(L, "unsqueeze", "a tensor can have at most %d dims", NN_MAX_DIMS);
  int d = nnb_check_dim(L, 2, t->ndim + 1, "unsqueeze");
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  for (int i = 0, j = 0; i <= t->ndim; i++) {
    if (i == d) {
      shape[i] = 1;
      stride[i] = j < t->ndim ? t->stride[j] * t->shape[j] : 1;
    } else {
      shape[i] = t->shape[j];
      stride[i] = t->stride[j++];
    }
  }
  push_reshaped(L, t, t->ndim + 1, shape, stride, "unsqueeze");
  return 1;
}

/* flatten([start_dim=1 [, end_dim=-1]]): merges dims start..end; a view
 * when the layout allows, else a copy (as reshape). */
static int l_flatten(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "flatten");
  if (t->ndim == 0) {
    int64_t one = 1, s = 1;
    push_reshaped(L, t, 1, &one, &s, "flatten");
    return 1;
  }
  int start = lua_isnoneornil(L, 2) ? 0 : nnb_check_dim(L, 2, t->ndim, "flatten");
  int end = lua_isnoneornil(L, 3) ? t->ndim - 1 : nnb_check_dim(L, 3, t->ndim, "flatten");
  if (start > end) nnb_error(L, "flatten", "start dim %d comes after end dim %d", start + 1, end + 1);
  lua_settop(L, 1);
  lua_createtable(L, t->ndim, 0);
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (i > start && i <= end) continue;
    int64_t size = t->shape[i];
    if (i == start) size = nn_shape_numel(end - start + 1, t->shape + start);
    lua_pushinteger(L, size);
    lua_rawseti(L, -2, ++n);
  }
  return l_reshape(L);
}

/* expand(sizes): size-1 dims repeat without copying (stride 0); -1 keeps
 * a size; new leading dims may be added. */
static void push_expanded(lua_State *L, nn_tensor *t, int ndim, const int64_t *want, const char *fname) {
  char a[128], b[128];
  if (ndim < t->ndim)
    nnb_error(L, fname, "cannot expand %s to fewer dims %s", nnb_shape_str(a, sizeof a, t->ndim, t->shape),
              nnb_shape_str(b, sizeof b, ndim, want));
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    int64_t have = j >= 0 ? t->shape[j] : 1;
    shape[i] = want[i] == -1 ? have : want[i];
    if (want[i] == -1 && j < 0)
      nnb_error(L, fname, "size -1 is not allowed for the new leading dim %d", i + 1);
    if (have != shape[i] && have != 1)
      nnb_error(L, fname, "cannot expand %s to %s: dim %d has size %" PRId64 ", not 1",
                nnb_shape_str(a, sizeof a, t->ndim, t->shape), nnb_shape_str(b, sizeof b, ndim, want), j + 1, have);
    stride[i] = (j < 0 || have != shape[i]) ? 0 : t->stride[j];
  }
  nn_tensor *v = nnb_new_view(L, fname, t, ndim, shape, stride, t->offset);
  nnb_record(L, fname, NN_OP_EXPAND, v, 1, &t);
}

static int l_expand(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "expand");
  int64_t want[NN_MAX_DIMS];
  int ndim = nnb_check_shape(L, 2, lua_gettop(L), want, "expand", true);
  for (int i = 0; i < ndim; i++)
    if (want[i] < -1) nnb_error(L, "expand", "size %" PRId64 " is negative", want[i]);
  push_expanded(L, t, ndim, want, "expand");
  return 1;
}

static int l_expand_as(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "expand_as"), *other = nnb_check_tensor(L, 2, "expand_as");
  push_expanded(L, t, other->ndim, other->shape, "expand_as");
  return 1;
}

/* ---- joining and splitting ---- */

/* Checks a Lua array of tensors at idx; returns the count and the common
 * dtype. */
static int check_tensor_list(lua_State *L, int idx, const char *fname, nn_dtype *dtype) {
  if (!lua_istable(L, idx)) nnb_error(L, fname, "argument 1 must be a list of tensors, got %s", luaL_typename(L, idx));
  int n = (int)luaL_len(L, idx);
  if (n == 0) nnb_error(L, fname, "expects a non-empty list of tensors");
  for (int i = 1; i <= n; i++) {
    lua_geti(L, idx, i);
    nn_tensor *t = nnb_to_tensor(L, -1);
    if (!t) nnb_error(L, fname, "element %d of the list must be a tensor, got %s", i, luaL_typename(L, -1));
    *dtype = i == 1 ? t->dtype : nn_dtype_promote(*dtype, t->dtype);
    lua_pop(L, 1);
  }
  return n;
}

static nn_tensor *list_item(lua_State *L, int idx, int i) {
  lua_geti(L, idx, i);
  nn_tensor *t = nnb_to_tensor(L, -1);
  lua_pop(L, 1); /* still referenced by the list */
  return t;
}

/* Records cat/stack of the list's n tensors along d on out. */
static void record_cat(lua_State *L, nn_tensor *out, int list, int n, int d, bool stacked, const char *fname) {
  if (!nn_grad_enabled()) return;
  nn_tensor **inputs = lua_newuserdatauv(L, sizeof *inputs * (size_t)n, 0);
  for (int i = 0; i < n; i++) inputs[i] = list_item(L, list, i + 1);
  int64_t count = n;
  nn_tensor *lens = nnb_new_tensor(L, fname, NN_INT64, 1, &count);
  for (int i = 0; i < n; i++) ((int64_t *)nn_tensor_data(lens))[i] = stacked ? 1 : inputs[i]->shape[d];
  nn_node *node = nnb_record(L, fname, NN_OP_CAT, out, n, inputs);
  if (node) {
    nn_node_save(node, lens);
    node->params[0] = d;
    node->params[1] = stacked;
  }
  lua_pop(L, 2);
}

/* Copies each tensor of the list into consecutive slices of out along d. */
static void copy_slices(nn_tensor *out, lua_State *L, int list, int n, int d, bool stacked) {
  int64_t pos = 0;
  for (int i = 1; i <= n; i++) {
    nn_tensor *t = list_item(L, list, i), slice = *out;
    int64_t len = stacked ? 1 : t->shape[d];
    slice.offset = out->offset + pos * out->stride[d];
    slice.shape[d] = len;
    if (stacked) { /* drop the new dim so t broadcasts into the slice */
      for (int k = d; k < out->ndim - 1; k++) {
        slice.shape[k] = slice.shape[k + 1];
        slice.stride[k] = slice.stride[k + 1];
      }
      slice.ndim--;
    }
    nn_copy(&slice, t);
    pos += len;
  }
}

static int l_cat(lua_State *L) {
  nn_dtype dtype;
  int n = check_tensor_list(L, 1, "cat", &dtype);
  nn_tensor *first = list_item(L, 1, 1);
  if (first->ndim == 0) nnb_error(L, "cat", "zero-dim tensors cannot be concatenated; use stack");
  int d = lua_isnoneornil(L, 2) ? 0 : nnb_check_dim(L, 2, first->ndim, "cat");
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, first->shape, sizeof shape);
  shape[d] = 0;
  char a[128], b[128];
  for (int i = 1; i <= n; i++) {
    nn_tensor *t = list_item(L, 1, i);
    bool ok = t->ndim == first->ndim;
    for (int k = 0; ok && k < t->ndim; k++) ok = k == d || t->shape[k] == first->shape[k];
    if (!ok)
      nnb_error(L, "cat", "tensor %d has shape %s, but tensor 1 has %s (they may differ only in dim %d)", i,
                nnb_shape_str(a, sizeof a, t->ndim, t->shape), nnb_shape_str(b, sizeof b, first->ndim, first->shape),
                d + 1);
    shape[d] += t->shape[d];
  }
  nn_tensor *out = nnb_new_tensor(L, "cat", dtype, first->ndim, shape);
  copy_slices(out, L, 1, n, d, false);
  record_cat(L, out, 1, n, d, false, "cat");
  return 1;
}

static int l_stack(lua_State *L) {
  nn_dtype dtype;
  int n = check_tensor_list(L, 1, "stack", &dtype);
  nn_tensor *first = list_item(L, 1, 1);
  if (first->ndim == NN_MAX_DIMS) nnb_error(L, "stack", "the result would have more than %d dims", NN_MAX_DIMS);
  int d = lua_isnoneornil(L, 2) ? 0 : nnb_check_dim(L, 2, first->ndim + 1, "stack");
  char a[128], b[128];
  for (int i = 2; i <= n; i++) {
    nn_tensor *t = list_item(L, 1, i);
    if (t->ndim != first->ndim || memcmp(t->shape, first->shape, sizeof(int64_t) * (size_t)t->ndim))
      nnb_error(L, "stack", "tensor %d has shape %s, but tensor 1 has %s", i,
                nnb_shape_str(a, sizeof a, t->ndim, t->shape), nnb_shape_str(b, sizeof b, first->ndim, first->shape));
  }
  int64_t shape[NN_MAX_DIMS];
  for (int k = 0, j = 0; k <= first->ndim; k++) shape[k] = k == d ? n : first->shape[j++];
  nn_tensor *out = nnb_new_tensor(L, "stack", dtype, first->ndim + 1, shape);
  copy_slices(out, L, 1, n, d, true);
  record_cat(L, out, 1, n, d, true, "stack");
  return 1;
}

/* Pushes a Lua array of views of t along d with the given lengths. */
static void push_pieces(lua_State *L, nn_tensor *t, int d, const int64_t *lens, int n, const char *fname) {
  lua_createtable(L, n, 0);
  int64_t start = 0;
  for (int i = 0; i < n; i++) {
    int64_t shape[NN_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    shape[d] = lens[i];
    nn_tensor *v = nnb_new_view(L, fname, t, t->ndim, shape, t->stride, t->offset + start * t->stride[d]);
    nn_node *node = nnb_record(L, fname, NN_OP_NARROW, v, 1, &t);
    if (node) {
      node->params[0] = d;
      node->params[1] = start;
      node->params[2] = lens[i];
    }
    lua_rawseti(L, -2, i + 1);
    start += lens[i];
  }
}

/* split(size, dim) pieces of `size` (the last may be smaller), or
 * split({s1, s2, ...}, dim) pieces of those sizes. */
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
  push_pieces(L, t, d, lens, (int)n, "split");
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
}
