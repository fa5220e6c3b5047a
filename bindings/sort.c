/*
 * Sorting and selection, counting, distances (runtime/sort.c), as methods
 * and module functions. Dims are positional and 1-based (negative from the
 * end), defaulting to the last dim; returned indices are 1-based int64:
 *
 *   t:sort([dim [, descending]])            -> values, indices (stable)
 *   t:argsort([dim [, descending]])         -> indices
 *   t:topk(k [, dim [, largest [, sorted]]]) -> values, indices
 *   t:kthvalue(k [, dim [, keepdim]])        -> values, indices
 *   t:median()                               -> the lower median (0-dim)
 *   t:median(dim [, keepdim]) / t:mode([dim [, keepdim]]) -> values, indices
 *   t:unique([{sorted=, return_inverse=, return_counts=}])
 *                                 -> values [, inverse] [, counts]
 *   nn.bincount(t [, {weights=, minlength=}])  t holds integers >= 1
 *   t:histc([bins [, min [, max]]])          bins 100, min = max = 0
 *   nn.cdist(x1, x2 [, p])                   [N,D] x [M,D] -> [N,M], p 2
 *
 * Inputs are float32 or int64 (histc and cdist: float32; histc converts
 * int64). topk's sorted=false returns them sorted too (PyTorch leaves the
 * order unspecified) and unique's sorted=false likewise.
 */
#include <inttypes.h>
#include <math.h>

#include "nn_bind.h"
#include "nn_sort.h"

/* Rows are sorted with 32-bit positions. */
#define MAX_ROW ((int64_t)UINT32_MAX)

/* The float32 or int64 tensor at idx. */
static nn_tensor *check_sortable(lua_State *L, int idx, const char *fname) {
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (t->dtype != NN_FLOAT32 && t->dtype != NN_INT64)
    nnb_error(L, fname, "expected a float32 or int64 tensor, got %s", nn_dtype_name(t->dtype));
  return t;
}

/* The dim at idx (0-based), the last one when none. */
static int opt_dim(lua_State *L, int idx, const nn_tensor *t, const char *fname) {
  if (lua_isnoneornil(L, idx)) return t->ndim > 0 ? t->ndim - 1 : 0;
  return nnb_check_dim(L, idx, t->ndim, fname);
}

/* The boolean at idx, dflt when none. */
static bool opt_flag(lua_State *L, int idx, const char *what, bool dflt, const char *fname) {
  if (lua_isnoneornil(L, idx)) return dflt;
  if (!lua_isboolean(L, idx))
    nnb_error(L, fname, "%s must be a boolean, got %s", what, luaL_typename(L, idx));
  return lua_toboolean(L, idx);
}

/* The number at idx, dflt when none. */
static double opt_number(lua_State *L, int idx, const char *what, double dflt, const char *fname) {
  if (lua_isnoneornil(L, idx)) return dflt;
  if (lua_type(L, idx) != LUA_TNUMBER)
    nnb_error(L, fname, "%s must be a number, got %s", what, luaL_typename(L, idx));
  return lua_tonumber(L, idx);
}

/* The size of dim (1 for a 0-dim tensor), which must fit a row. */
static int64_t dim_size(lua_State *L, const nn_tensor *t, int dim, const char *fname) {
  int64_t n = t->ndim > 0 ? t->shape[dim] : 1;
  if (n > MAX_ROW)
    nnb_error(L, fname, "dim %d has %" PRId64 " elements, at most %" PRId64 " supported",
              dim + 1, n, MAX_ROW);
  return n;
}

/* t's shape with dim's size set to k, or dropped (drop). Returns ndim. */
static int shape_with(const nn_tensor *t, int dim, int64_t k, bool drop, int64_t *shape) {
  int nd = 0;
  for (int d = 0; d < t->ndim; d++)
    if (d != dim) shape[nd++] = t->shape[d];
    else if (!drop) shape[nd++] = k;
  return nd;
}

/* sort and argsort: (t [, dim [, descending]]). */
static int sort_common(lua_State *L, bool want_values, const char *fname) {
  nn_tensor *t = check_sortable(L, 1, fname);
  int dim = opt_dim(L, 2, t, fname);
  bool descending = opt_flag(L, 3, "descending", false, fname);
  dim_size(L, t, dim, fname);
  nn_tensor *values = want_values ? nnb_new_tensor(L, fname, t->dtype, t->ndim, t->shape) : NULL;
  nn_tensor *indices = nnb_new_tensor(L, fname, NN_INT64, t->ndim, t->shape);
  nnb_check_status(L, fname, nn_sort(values, indices, t, dim, descending));
  return want_values ? 2 : 1;
}

static int l_sort(lua_State *L) { return sort_common(L, true, "sort"); }
static int l_argsort(lua_State *L) { return sort_common(L, false, "argsort"); }

/* topk: (t, k [, dim [, largest [, sorted]]]). */
static int l_topk(lua_State *L) {
  nn_tensor *t = check_sortable(L, 1, "topk");
  int64_t k = nnb_check_int(L, 2, "topk", "k");
  int dim = opt_dim(L, 3, t, "topk");
  bool largest = opt_flag(L, 4, "largest", true, "topk");
  opt_flag(L, 5, "sorted", true, "topk"); /* always sorted */
  int64_t n = dim_size(L, t, dim, "topk");
  if (k < 0) nnb_error(L, "topk", "k %" PRId64 " is negative", k);
  if (k > n)
    nnb_error(L, "topk", "k %" PRId64 " is larger than dim %d's size %" PRId64, k, dim + 1, n);
  int64_t shape[NN_MAX_DIMS];
  int nd = shape_with(t, dim, k, false, shape);
  if (t->ndim == 0 && k == 0) nd = 1, shape[0] = 0;
  nn_tensor *values = nnb_new_tensor(L, "topk", t->dtype, nd, shape);
  nn_tensor *indices = nnb_new_tensor(L, "topk", NN_INT64, nd, shape);
  nnb_check_status(L, "topk", nn_topk(values, indices, t, dim, k, largest));
  return 2;
}

/* Pushes the values and indices of one pick per row along dim. */
static void push_picks(lua_State *L, const nn_tensor *t, int dim, bool keepdim,
                       const char *fname, nn_tensor **values, nn_tensor **indices) {
  int64_t shape[NN_MAX_DIMS];
  int nd = shape_with(t, dim, 1, !keepdim, shape);
  *values = nnb_new_tensor(L, fname, t->dtype, nd, shape);
  *indices = nnb_new_tensor(L, fname, NN_INT64, nd, shape);
}

/* kthvalue: (t, k [, dim [, keepdim]]). */
static int l_kthvalue(lua_State *L) {
  nn_tensor *t = check_sortable(L, 1, "kthvalue");
  int64_t k = nnb_check_int(L, 2, "kthvalue", "k");
  nn_sort_args a = {.dim = opt_dim(L, 3, t, "kthvalue")};
  a.keepdim = opt_flag(L, 4, "keepdim", false, "kthvalue");
  int64_t n = dim_size(L, t, a.dim, "kthvalue");
  if (k < 1 || k > n)
    nnb_error(L, "kthvalue", "k %" PRId64 " is out of range for dim %d of size %" PRId64
              " (1..%" PRId64 ")", k, a.dim + 1, n, n);
  nn_tensor *values, *indices;
  push_picks(L, t, a.dim, a.keepdim, "kthvalue", &values, &indices);
  nnb_check_status(L, "kthvalue", nn_kthvalue(values, indices, t, k, &a));
  return 2;
}

/* median and mode along a dim of nonzero size. */
static int pick_along(lua_State *L, int dim_idx, bool median, const char *fname) {
  nn_tensor *t = check_sortable(L, 1, fname);
  nn_sort_args a = {.dim = opt_dim(L, dim_idx, t, fname)};
  a.keepdim = opt_flag(L, dim_idx + 1, "keepdim", false, fname);
  if (dim_size(L, t, a.dim, fname) == 0) {
    char s[128];
    nnb_error(L, fname, "cannot take the %s of dim %d of %s: it has size 0", fname, a.dim + 1,
              nnb_shape_str(s, sizeof s, t->ndim, t->shape));
  }
  nn_tensor *values, *indices;
  push_picks(L, t, a.dim, a.keepdim, fname, &values, &indices);
  nnb_check_status(L, fname, median ? nn_median(values, indices, t, &a)
                                    : nn_mode(values, indices, t, &a));
  return 2;
}

/* median: () -> the lower median of everything; (dim [, keepdim]). */
static int l_median(lua_State *L) {
  nn_tensor *t = check_sortable(L, 1, "median");
  if (!lua_isnoneornil(L, 2)) return pick_along(L, 2, true, "median");
  if (nn_tensor_numel(t) > MAX_ROW)
    nnb_error(L, "median", "%" PRId64 " elements, at most %" PRId64 " supported",
              nn_tensor_numel(t), MAX_ROW);
  if (nn_tensor_numel(t) == 0 && t->dtype == NN_INT64)
    nnb_error(L, "median", "an empty int64 tensor has no median (NaN is float32 only)");
  nn_tensor *value = nnb_new_tensor(L, "median", t->dtype, 0, NULL);
  nnb_check_status(L, "median", nn_median(value, NULL, t, &(nn_sort_args){.dim = -1}));
  return 1;
}

static int l_mode(lua_State *L) { return pick_along(L, 2, false, "mode"); }

static const char *const unique_options[] = {"sorted", "return_inverse", "return_counts", NULL};

/* unique: (t [, opts]) -> values [, inverse] [, counts]. */
static int l_unique(lua_State *L) {
  nn_tensor *t = check_sortable(L, 1, "unique");
  int opts = nnb_check_options(L, 2, unique_options, "unique");
  nnb_opt_bool(L, opts, "sorted", true, "unique"); /* always sorted */
  bool inverse = nnb_opt_bool(L, opts, "return_inverse", false, "unique");
  bool counts = nnb_opt_bool(L, opts, "return_counts", false, "unique");
  if (nn_tensor_numel(t) > MAX_ROW)
    nnb_error(L, "unique", "%" PRId64 " elements, at most %" PRId64 " supported",
              nn_tensor_numel(t), MAX_ROW);
  int64_t k;
  nnb_check_status(L, "unique", nn_unique_count(t, &k));
  nn_tensor *v = nnb_new_tensor(L, "unique", t->dtype, 1, &k);
  nn_tensor *inv = inverse ? nnb_new_tensor(L, "unique", NN_INT64, t->ndim, t->shape) : NULL;
  nn_tensor *cnt = counts ? nnb_new_tensor(L, "unique", NN_INT64, 1, &k) : NULL;
  nnb_check_status(L, "unique", nn_unique(v, inv, cnt, t));
  return 1 + inverse + counts;
}

static const char *const bincount_options[] = {"weights", "minlength", NULL};

/* bincount: (t [, {weights=, minlength=}]). */
static int l_bincount(lua_State *L) {
  char s[128];
  nn_tensor *t = check_sortable(L, 1, "bincount");
  if (t->ndim != 1)
    nnb_error(L, "bincount", "input must be 1-D, got %s",
              nnb_shape_str(s, sizeof s, t->ndim, t->shape));
  int opts = nnb_check_options(L, 2, bincount_options, "bincount");
  int64_t minlength = nnb_opt_int(L, opts, "minlength", 0, "bincount");
  if (minlength < 0) nnb_error(L, "bincount", "minlength %" PRId64 " is negative", minlength);
  const nn_tensor *w = NULL;
  if (opts && lua_getfield(L, opts, "weights") != LUA_TNIL) {
    nn_tensor *wt = nnb_to_tensor(L, -1);
    if (!wt || wt->dtype == NN_BOOL)
      nnb_error(L, "bincount", "weights must be a float32 or int64 tensor, got %s",
                wt ? "bool" : luaL_typename(L, -1));
    if (wt->ndim != 1 || wt->shape[0] != t->shape[0])
      nnb_error(L, "bincount", "weights of shape %s do not match the input's [%" PRId64 "]",
                nnb_shape_str(s, sizeof s, wt->ndim, wt->shape), t->shape[0]);
    w = nnb_push_as(L, "bincount", lua_gettop(L), NN_FLOAT32, false);
  }
  int64_t len;
  nnb_check_status(L, "bincount", nn_bincount_length(t, minlength, &len));
  nn_tensor *out = nnb_new_zeros(L, "bincount", w ? NN_FLOAT32 : NN_INT64, 1, &len);
  nn_bincount(out, t, w);
  return 1;
}

/* histc: (t [, bins [, min [, max]]]). */
static int l_histc(lua_State *L) {
  check_sortable(L, 1, "histc");
  int64_t bins = lua_isnoneornil(L, 2) ? 100 : nnb_check_size(L, 2, 1, "bins", "histc");
  double lo = opt_number(L, 3, "min", 0, "histc"), hi = opt_number(L, 4, "max", 0, "histc");
  if (!isfinite(lo) || !isfinite(hi))
    nnb_error(L, "histc", "range [%g, %g] is not finite", lo, hi);
  if (lo > hi) nnb_error(L, "histc", "min %g is larger than max %g", lo, hi);
  const nn_tensor *in = nnb_push_as(L, "histc", 1, NN_FLOAT32, false);
  nn_tensor *out = nnb_new_tensor(L, "histc", NN_FLOAT32, 1, &bins);
  nn_histc(out, in, lo, hi);
  return 1;
}

/* cdist: (x1 [N,D], x2 [M,D] [, p]). */
static int l_cdist(lua_State *L) {
  char a[128], b[128];
  nn_tensor *x1 = nnb_check_tensor(L, 1, "cdist"), *x2 = nnb_check_tensor(L, 2, "cdist");
  nnb_check_float32(L, x1, "x1", "cdist");
  nnb_check_float32(L, x2, "x2", "cdist");
  nnb_shape_str(a, sizeof a, x1->ndim, x1->shape);
  nnb_shape_str(b, sizeof b, x2->ndim, x2->shape);
  if (x1->ndim != 2 || x2->ndim != 2)
    nnb_error(L, "cdist", "x1 and x2 must be 2-D [N,D] and [M,D], got %s and %s", a, b);
  if (x1->shape[1] != x2->shape[1])
    nnb_error(L, "cdist", "x1 %s and x2 %s have different row sizes (%" PRId64 " ≠ %" PRId64 ")",
              a, b, x1->shape[1], x2->shape[1]);
  if (x1->shape[0] > INT32_MAX || x2->shape[0] > INT32_MAX || x1->shape[1] > INT32_MAX)
    nnb_error(L, "cdist", "x1 %s or x2 %s is too large", a, b);
  nn_cdist_args args = {.p = opt_number(L, 3, "p", 2, "cdist")};
  if (!(args.p >= 0)) nnb_error(L, "cdist", "p must be >= 0 or math.huge, got %g", args.p);
  int64_t shape[2] = {x1->shape[0], x2->shape[0]};
  nn_tensor *out = nnb_new_tensor(L, "cdist", NN_FLOAT32, 2, shape);
  nnb_check_status(L, "cdist", nn_cdist(out, x1, x2, &args));
  return 1;
}

static const luaL_Reg methods[] = {
    {"sort", l_sort},         {"argsort", l_argsort}, {"topk", l_topk},
    {"kthvalue", l_kthvalue}, {"median", l_median},   {"mode", l_mode},
    {"unique", l_unique},     {"bincount", l_bincount}, {"histc", l_histc},
    {NULL, NULL},
};

static const luaL_Reg functions[] = {
    {"cdist", l_cdist},
    {NULL, NULL},
};

void nnb_open_sort(lua_State *L, int module, int methods_table) {
  nnb_set_funcs(L, module, methods);
  nnb_set_funcs(L, methods_table, methods);
  nnb_set_funcs(L, module, functions);
}
