/*
 * Indexing from Lua: t[i] and t[i] = v, select, narrow, index
 * (index_select), gather, scatter(_), scatter_add(_), index_add(_),
 * masked_fill(_), masked_select.
 *
 * Positions given as numbers (t[i], select, narrow) are 1-based, negative
 * ones counting from the end; to_position is the one place they become
 * 0-based. Index TENSORS stay 1-based all the way into the kernels, which
 * shift each value (nn_index.h); the runtime checks every value first
 * (nn_index_check), so a bad index raises before anything is written.
 * select, narrow and t[i] are views made by runtime/shape.c (nn_narrow).
 *
 * Anything that writes in place (t[i] = v, scatter_, scatter_add_,
 * index_add_, masked_fill_) refuses a tensor whose elements share memory
 * (an expanded view), as PyTorch does — t[i] = v checks all of t, since a
 * row of an expanded tensor may alias the other rows — and copies an
 * operand that shares storage with the destination first.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_elementwise.h"
#include "nn_index.h"
#include "nn_shape.h"

/* Name used in the errors of t[i] and t[i] = v. */
#define INDEX_FNAME "tensor"

/* ---- argument checks ---- */

/* A position i given from Lua (1-based, or negative from the end) along
 * dim of size `size`, returned 0-based. With one_past_end the position
 * just after the last is allowed too (narrow's start with length 0). */
static int64_t to_position(lua_State *L, int64_t i, int dim, int64_t size,
                           bool one_past_end, const char *what, const char *fname) {
  int64_t last = one_past_end ? size + 1 : size;
  if (i == 0)
    nnb_error(L, fname, "%s 0 is out of range for dim %d of size %" PRId64
              ": indices are 1-based (1..%" PRId64 ", or -%" PRId64 "..-1 from the end)",
              what, dim + 1, size, last, size);
  if (i > last || i < -size)
    nnb_error(L, fname, "%s %" PRId64 " is out of range for dim %d of size %" PRId64, what, i,
              dim + 1, size);
  return i > 0 ? i - 1 : i + size;
}

/* The tensor at idx, which must have at least one dim to index. */
static nn_tensor *check_indexable(lua_State *L, int idx, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (t->ndim == 0)
    nnb_error(L, fname, "cannot index a 0-dim tensor (use item() for its value)");
  return t;
}

/* A Lua array of integers at idx as a new int64 tensor, which replaces the
 * array in its stack slot (keeping it alive). */
static nn_tensor *index_from_array(lua_State *L, int idx, const char *fname) {
  int64_t n = (int64_t)luaL_len(L, idx);
  nn_tensor *t = nnb_new_tensor(L, fname, NN_INT64, 1, &n);
  int64_t *p = nn_tensor_data(t);
  for (int64_t i = 0; i < n; i++) {
    char what[48];
    snprintf(what, sizeof what, "index[%" PRId64 "]", i + 1);
    lua_geti(L, idx, i + 1);
    p[i] = nnb_check_int(L, -1, fname, what);
    lua_pop(L, 1);
  }
  lua_replace(L, idx);
  return t;
}

/* The int64 index tensor at idx (or, when allow_array, a Lua array). */
static nn_tensor *check_index_arg(lua_State *L, int idx, bool allow_array, const char *fname) {
  if (allow_array && lua_type(L, idx) == LUA_TTABLE) return index_from_array(L, idx, fname);
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (!t)
    nnb_error(L, fname, "index (argument %d) must be an int64 tensor%s, got %s", idx,
              allow_array ? " or a Lua array" : "", luaL_typename(L, idx));
  if (t->dtype != NN_INT64)
    nnb_error(L, fname, "index tensor must be int64, got %s", nn_dtype_name(t->dtype));
  return t;
}

/* gather/scatter: idx has t's ndim and fits in t on every dim but dim. */
static void check_index_fits(lua_State *L, const nn_tensor *idx, const nn_tensor *t, int dim,
                             const char *fname) {
  char a[128], b[128];
  if (idx->ndim != t->ndim)
    nnb_error(L, fname, "index has %d dims but the tensor has %d (they must match)", idx->ndim,
              t->ndim);
  for (int d = 0; d < t->ndim; d++)
    if (d != dim && idx->shape[d] > t->shape[d])
      nnb_error(L, fname, "index of shape %s does not fit the tensor's shape %s at dim %d (%" PRId64
                " > %" PRId64 ")", nnb_shape_str(a, sizeof a, idx->ndim, idx->shape),
                nnb_shape_str(b, sizeof b, t->ndim, t->shape), d + 1, idx->shape[d], t->shape[d]);
}

/* The bool mask at idx. */
static nn_tensor *check_mask(lua_State *L, int idx, const char *fname) {
  nn_tensor *m = nnb_to_tensor(L, idx);
  if (!m) nnb_error(L, fname, "mask must be a bool tensor, got %s", luaL_typename(L, idx));
  if (m->dtype != NN_BOOL)
    nnb_error(L, fname, "mask must be a bool tensor, got %s", nn_dtype_name(m->dtype));
  return m;
}

/* Does src broadcast to exactly shape (without growing it)? */
static bool broadcasts_to(const nn_tensor *src, int ndim, const int64_t *shape) {
  int n;
  int64_t out[NN_MAX_DIMS];
  if (src->ndim > ndim || !nn_broadcast_shape(src->ndim, src->shape, ndim, shape, &n, out))
    return false;
  return memcmp(out, shape, (size_t)ndim * sizeof *shape) == 0;
}

/* The number or boolean at idx as a 0-dim operand in *s (integers stay
 * exact); NULL when the value is not one. */
static const nn_tensor *to_scalar(lua_State *L, int idx, nn_scalar *s) {
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return nn_scalar_i64(s, lua_toboolean(L, idx));
  case LUA_TNUMBER:
    if (lua_isinteger(L, idx)) return nn_scalar_i64(s, lua_tointeger(L, idx));
    return nn_scalar_f32(s, (float)lua_tonumber(L, idx));
  default: return NULL;
  }
}

/* The tensor at idx as one that does not share storage with dst and has
 * dtype: itself, or a copy that replaces it in its stack slot. */
static nn_tensor *operand_for(lua_State *L, int idx, const nn_tensor *dst, nn_dtype dtype,
                              const char *fname) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (t->storage != dst->storage && t->dtype == dtype) return t;
  nn_tensor *c = nnb_new_tensor(L, fname, dtype, t->ndim, t->shape);
  nn_copy(c, t);
  lua_replace(L, idx);
  return c;
}

/* Replaces the tensor at slot 1 with a contiguous copy (for the
 * out-of-place forms of in-place ops) and returns it. */
static nn_tensor *clone_self(lua_State *L, const nn_tensor *t, const char *fname) {
  nn_tensor *c = nnb_new_tensor(L, fname, t->dtype, t->ndim, t->shape);
  nn_copy(c, t);
  lua_replace(L, 1);
  return c;
}

/* Pushes the view of t that args cut (a select when dropped, else a
 * narrow), recorded for autograd. */
static int push_slice(lua_State *L, nn_tensor *t, nn_narrow_args args, const char *fname) {
  nn_tensor *v = nnb_new_view(L, fname, t, 0, NULL, NULL, 0); /* nn_narrow shapes it */
  nnb_check_status(L, fname, nn_narrow(v, t, &args));
  return 1;
}

/* ---- t[i] and t[i] = v ---- */

/* __index with a number key: row i as a view, or on a 1-D tensor the
 * element as a Lua value. Any other key (t[{{}, 1}], t[true]) raises:
 * returning nil would let the mistake surface far away. */
int nnb_index_get(lua_State *L) {
  if (lua_type(L, 2) != LUA_TNUMBER)
    nnb_error(L, "index", "cannot index a tensor with a %s key (t[i] takes an integer i; "
              "use t:narrow, t:select or t:index for slices)", luaL_typename(L, 2));
  nn_tensor *t = check_indexable(L, 1, INDEX_FNAME);
  int64_t i = to_position(L, nnb_check_int(L, 2, INDEX_FNAME, "index"), 0, t->shape[0], false,
                          "index", INDEX_FNAME);
  if (t->ndim > 1) return push_slice(L, t, (nn_narrow_args){0, i, 1, true}, INDEX_FNAME);
  nn_tensor row; /* a number, as Torch7 */
  nn_view_select(&row, t, 0, i);
  nnb_push_element(L, &row, nn_tensor_data(&row));
  return 1;
}

/* __newindex: t[i] = number, boolean or tensor (broadcast and converted
 * into row i). Any other key is an error: tensors have no free fields. */
int nnb_index_set(lua_State *L) {
  if (lua_type(L, 2) == LUA_TSTRING)
    nnb_error(L, INDEX_FNAME, "cannot set field '%s'", lua_tostring(L, 2));
  if (lua_type(L, 2) != LUA_TNUMBER)
    nnb_error(L, INDEX_FNAME, "cannot set a key of type %s (only t[i] = v with an integer i)",
              luaL_typename(L, 2));
  nn_tensor *t = check_indexable(L, 1, INDEX_FNAME);
  int64_t given = nnb_check_int(L, 2, INDEX_FNAME, "index");
  int64_t i = to_position(L, given, 0, t->shape[0], false, "index", INDEX_FNAME);
  nnb_check_writable(L, t, INDEX_FNAME);
  nn_tensor row, stripped;
  nn_view_select(&row, t, 0, i);
  nn_scalar s;
  const nn_tensor *v = to_scalar(L, 3, &s);
  if (!v) {
    const nn_tensor *src = nnb_to_tensor(L, 3);
    char a[128], b[128];
    if (!src)
      nnb_error(L, INDEX_FNAME, "cannot assign a %s to t[%" PRId64
                "] (expected a number, boolean or tensor)", luaL_typename(L, 3), given);
    nn_view_drop_leading_ones(&stripped, src);
    if (!broadcasts_to(&stripped, row.ndim, row.shape))
      nnb_error(L, INDEX_FNAME, "cannot assign a tensor of shape %s to t[%" PRId64
                "] of shape %s", nnb_shape_str(a, sizeof a, src->ndim, src->shape), given,
                nnb_shape_str(b, sizeof b, row.ndim, row.shape));
    nn_view_drop_leading_ones(&stripped, operand_for(L, 3, t, src->dtype, INDEX_FNAME));
    v = &stripped; /* so t[i] = u:narrow(1, j, 1) fits a row, as in PyTorch */
  }
  nn_copy(&row, v);
  return 0;
}

/* ---- views: select, narrow ---- */

/* t:select(dim, i): t with dim removed at position i, a view (0-dim when
 * t is 1-D, which keeps autograd where t[i] gives a number). */
static int l_select(lua_State *L) {
  nn_tensor *t = check_indexable(L, 1, "select");
  int dim = nnb_check_dim(L, 2, t->ndim, "select");
  int64_t i = to_position(L, nnb_check_int(L, 3, "select", "index"), dim, t->shape[dim], false,
                          "index", "select");
  return push_slice(L, t, (nn_narrow_args){dim, i, 1, true}, "select");
}

/* t:narrow(dim, start, length): positions start .. start+length-1, a view. */
static int l_narrow(lua_State *L) {
  nn_tensor *t = check_indexable(L, 1, "narrow");
  int dim = nnb_check_dim(L, 2, t->ndim, "narrow");
  int64_t size = t->shape[dim];
  int64_t given = nnb_check_int(L, 3, "narrow", "start");
  int64_t len = nnb_check_int(L, 4, "narrow", "length");
  int64_t start = to_position(L, given, dim, size, true, "start", "narrow");
  if (len < 0) nnb_error(L, "narrow", "length %" PRId64 " is negative", len);
  if (len > size - start)
    nnb_error(L, "narrow", "start %" PRId64 " with length %" PRId64
              " runs past the end of dim %d of size %" PRId64, given, len, dim + 1, size);
  return push_slice(L, t, (nn_narrow_args){dim, start, len, false}, "narrow");
}

/* ---- index, gather, scatter ---- */

/* t:index(dim, idx): the slices idx[1], idx[2], ... of t along dim, as a
 * new tensor (torch.index_select). idx: 1-D int64 tensor or Lua array. */
static int index_select(lua_State *L, const char *fname) {
  nn_tensor *t = check_indexable(L, 1, fname);
  int dim = nnb_check_dim(L, 2, t->ndim, fname);
  nn_tensor *idx = check_index_arg(L, 3, true, fname);
  if (idx->ndim > 1) {
    char a[128];
    nnb_error(L, fname, "index must be 1-D, got shape %s",
              nnb_shape_str(a, sizeof a, idx->ndim, idx->shape));
  }
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[dim] = nn_tensor_numel(idx);
  nn_tensor *out = nnb_new_tensor(L, fname, t->dtype, t->ndim, shape);
  nnb_check_status(L, fname, nn_index_select(out, t, idx, &(nn_index_args){dim}));
  return 1;
}

static int l_index(lua_State *L) { return index_select(L, "index"); }
static int l_index_select(lua_State *L) { return index_select(L, "index_select"); }

/* t:gather(dim, idx): out[p] = t[p with p[dim] = idx[p]], shaped as idx. */
static int l_gather(lua_State *L) {
  nn_tensor *t = check_indexable(L, 1, "gather");
  int dim = nnb_check_dim(L, 2, t->ndim, "gather");
  nn_tensor *idx = check_index_arg(L, 3, false, "gather");
  check_index_fits(L, idx, t, dim, "gather");
  nn_tensor *out = nnb_new_tensor(L, "gather", t->dtype, idx->ndim, idx->shape);
  nnb_check_status(L, "gather", nn_gather(out, t, idx, &(nn_index_args){dim}));
  return 1;
}

/* src (argument 4) of a scatter: a tensor with idx's ndim and at least its
 * sizes, or NULL when it is one value (number, boolean, 0-dim tensor),
 * which is then stored in *value. */
static const nn_tensor *check_scatter_src(lua_State *L, const nn_tensor *idx, nn_scalar *s,
                                          const nn_tensor **value, const char *fname) {
  *value = to_scalar(L, 4, s);
  if (*value) return NULL;
  const nn_tensor *src = nnb_to_tensor(L, 4);
  if (!src)
    nnb_error(L, fname, "src must be a tensor, number or boolean, got %s", luaL_typename(L, 4));
  if (src->ndim == 0 && idx->ndim > 0) {
    *value = src;
    return NULL;
  }
  char a[128], b[128];
  if (src->ndim != idx->ndim)
    nnb_error(L, fname, "src has %d dims but index has %d (they must match)", src->ndim,
              idx->ndim);
  for (int d = 0; d < idx->ndim; d++)
    if (idx->shape[d] > src->shape[d])
      nnb_error(L, fname, "index of shape %s is larger than src of shape %s at dim %d (%" PRId64
                " > %" PRId64 ")", nnb_shape_str(a, sizeof a, idx->ndim, idx->shape),
                nnb_shape_str(b, sizeof b, src->ndim, src->shape), d + 1, idx->shape[d],
                src->shape[d]);
  return src;
}

/* Adding forms work on numbers, not on bool. */
static void check_addable(lua_State *L, const nn_tensor *t, const char *fname) {
  if (t->dtype == NN_BOOL) nnb_error(L, fname, "not supported for bool tensors");
}

/* t:scatter_(dim, idx, src): t[p with p[dim] = idx[p]] = src[p] (or the
 * one value src) for each position p of idx; returns t. scatter does the
 * same into a copy; scatter_add_ / scatter_add add instead (src a tensor),
 * so repeated targets accumulate. */
static int scatter(lua_State *L, bool inplace, bool add, const char *fname) {
  nn_tensor *t = check_indexable(L, 1, fname);
  int dim = nnb_check_dim(L, 2, t->ndim, fname);
  nn_tensor *idx = check_index_arg(L, 3, false, fname);
  check_index_fits(L, idx, t, dim, fname);
  nn_scalar s;
  const nn_tensor *value;
  const nn_tensor *src = check_scatter_src(L, idx, &s, &value, fname);
  if (add) {
    check_addable(L, t, fname);
    if (!src) nnb_error(L, fname, "src must be a tensor with the index's dims");
  }
  nnb_check_status(L, fname, nn_index_check(idx, dim, t->shape[dim]));
  if (inplace) nnb_check_writable(L, t, fname);
  else t = clone_self(L, t, fname);
  idx = operand_for(L, 3, t, NN_INT64, fname);
  if (src) src = operand_for(L, 4, t, t->dtype, fname);
  if (add) nn_scatter_add(t, dim, idx, src);
  else if (src) nn_scatter(t, dim, idx, src);
  else nn_scatter_value(t, dim, idx, value);
  lua_settop(L, 1);
  return 1;
}

static int l_scatter_(lua_State *L) { return scatter(L, true, false, "scatter_"); }
static int l_scatter(lua_State *L) { return scatter(L, false, false, "scatter"); }
static int l_scatter_add_(lua_State *L) { return scatter(L, true, true, "scatter_add_"); }
static int l_scatter_add(lua_State *L) { return scatter(L, false, true, "scatter_add"); }

/* t:index_add_(dim, idx, src): t's slice idx[j] along dim += src's slice
 * j; returns t. idx: 1-D int64 tensor or Lua array; src has t's shape but
 * numel(idx) along dim. index_add does the same into a copy. */
static int index_add(lua_State *L, bool inplace, const char *fname) {
  nn_tensor *t = check_indexable(L, 1, fname);
  int dim = nnb_check_dim(L, 2, t->ndim, fname);
  nn_tensor *idx = check_index_arg(L, 3, true, fname);
  nn_tensor *src = nnb_check_tensor(L, 4, fname);
  char a[128], b[128];
  if (idx->ndim > 1)
    nnb_error(L, fname, "index must be 1-D, got shape %s",
              nnb_shape_str(a, sizeof a, idx->ndim, idx->shape));
  int64_t want[NN_MAX_DIMS];
  memcpy(want, t->shape, sizeof want);
  want[dim] = nn_tensor_numel(idx);
  if (src->ndim != t->ndim || memcmp(src->shape, want, (size_t)t->ndim * sizeof *want) != 0)
    nnb_error(L, fname, "src of shape %s does not match the expected shape %s",
              nnb_shape_str(a, sizeof a, src->ndim, src->shape),
              nnb_shape_str(b, sizeof b, t->ndim, want));
  check_addable(L, t, fname);
  nnb_check_status(L, fname, nn_index_check(idx, dim, t->shape[dim]));
  if (inplace) nnb_check_writable(L, t, fname);
  else t = clone_self(L, t, fname);
  idx = operand_for(L, 3, t, NN_INT64, fname);
  nn_index_add(t, dim, idx, operand_for(L, 4, t, t->dtype, fname));
  lua_settop(L, 1);
  return 1;
}

static int l_index_add_(lua_State *L) { return index_add(L, true, "index_add_"); }
static int l_index_add(lua_State *L) { return index_add(L, false, "index_add"); }

/* ---- masks ---- */

/* t:masked_fill_(mask, value): t[p] = value where mask (broadcast to t);
 * returns t. masked_fill does the same into a copy. */
static int masked_fill(lua_State *L, bool inplace, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  nn_tensor *mask = check_mask(L, 2, fname);
  char a[128], b[128];
  if (!broadcasts_to(mask, t->ndim, t->shape))
    nnb_error(L, fname, "mask of shape %s does not broadcast to the tensor's shape %s",
              nnb_shape_str(a, sizeof a, mask->ndim, mask->shape),
              nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  nn_scalar s;
  const nn_tensor *value = to_scalar(L, 3, &s);
  if (!value) {
    value = nnb_to_tensor(L, 3);
    if (!value)
      nnb_error(L, fname, "value must be a number, boolean or 0-dim tensor, got %s",
                luaL_typename(L, 3));
    if (value->ndim != 0)
      nnb_error(L, fname, "value tensor must be 0-dim, got shape %s",
                nnb_shape_str(a, sizeof a, value->ndim, value->shape));
  }
  if (inplace) {
    nnb_check_writable(L, t, fname);
    mask = operand_for(L, 2, t, NN_BOOL, fname);
  }
  nn_tensor *out = inplace ? t : nnb_new_tensor(L, fname, t->dtype, t->ndim, t->shape);
  nnb_check_status(L, fname, nn_masked_fill(out, t, mask, value));
  if (inplace) lua_settop(L, 1);
  return 1;
}

static int l_masked_fill_(lua_State *L) { return masked_fill(L, true, "masked_fill_"); }
static int l_masked_fill(lua_State *L) { return masked_fill(L, false, "masked_fill"); }

/* t:masked_select(mask): 1-D tensor of t's elements where mask, with t and
 * mask broadcast to a common shape (row-major order). */
static int l_masked_select(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "masked_select");
  nn_tensor *mask = check_mask(L, 2, "masked_select");
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  if (!nn_broadcast_shape(t->ndim, t->shape, mask->ndim, mask->shape, &ndim, shape)) {
    char a[128], b[128];
    nnb_error(L, "masked_select", "mask of shape %s does not broadcast with the tensor's shape %s",
              nnb_shape_str(a, sizeof a, mask->ndim, mask->shape),
              nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  int64_t k = nn_masked_count(mask, ndim, shape);
  nn_tensor *out = nnb_new_tensor(L, "masked_select", t->dtype, 1, &k);
  nnb_check_status(L, "masked_select", nn_masked_select(out, t, mask));
  return 1;
}

static const luaL_Reg methods_list[] = {
    {"select", l_select},
    {"narrow", l_narrow},
    {"index", l_index},
    {"index_select", l_index_select},
    {"gather", l_gather},
    {"scatter_", l_scatter_},
    {"scatter", l_scatter},
    {"scatter_add_", l_scatter_add_},
    {"scatter_add", l_scatter_add},
    {"index_add_", l_index_add_},
    {"index_add", l_index_add},
    {"masked_fill_", l_masked_fill_},
    {"masked_fill", l_masked_fill},
    {"masked_select", l_masked_select},
    {NULL, NULL},
};

/* Each method is also a module function: nn.gather(t, 2, idx). */
void nnb_open_index(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, methods_list);
  nnb_set_funcs(L, methods, methods_list);
}
