/* Indexing kernels against naive loops over explicit multi-indices, on
 * contiguous and strided (transposed, narrowed, expanded) operands; the
 * entry points (index checks, recording) forward and backward. */
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_index.h"
#include "nn_elementwise.h"
#include "tensors.h"

/* ---- helpers ---- */

/* Uniform in 0 .. n-1. */
static int64_t below(int64_t n) {
  int64_t k = (int64_t)((rnd() + 1) * 0.5 * (double)n);
  return k < n ? k : n - 1;
}

static void set(nn_tensor *t, const int64_t *pos, double v) {
  int64_t off = offset_of(t, pos);
  switch (t->dtype) {
  case NN_FLOAT32: ((float *)t->storage->data)[off] = (float)v; break;
  case NN_INT64: ((int64_t *)t->storage->data)[off] = (int64_t)v; break;
  default: ((bool *)t->storage->data)[off] = v != 0; break;
  }
}

static bool empty_shape(int ndim, const int64_t *shape) {
  return nn_shape_numel(ndim, shape) == 0;
}

/* Fills every element of t (through its strides) with distinct values;
 * bools alternate. */
static void fill_distinct(nn_tensor *t) {
  int64_t pos[NN_MAX_DIMS] = {0}, k = 0;
  if (empty_shape(t->ndim, t->shape)) return;
  do set(t, pos, t->dtype == NN_BOOL ? (double)(k % 3 == 0) : (double)(k * 2 + 1));
  while (k++, next_pos(t->ndim, t->shape, pos));
}

/* Random 1-based indices in 1..size into every element of idx. */
static void fill_indices(nn_tensor *idx, int64_t size) {
  int64_t pos[NN_MAX_DIMS] = {0};
  if (empty_shape(idx->ndim, idx->shape)) return;
  do set(idx, pos, (double)(1 + below(size)));
  while (next_pos(idx->ndim, idx->shape, pos));
}

static nn_tensor *make(nn_dtype dtype, int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_zeros(dtype, ndim, shape);
  fill_distinct(t);
  return t;
}

/* A view of base with dims a and b swapped (a transposed operand). */
static nn_tensor *transposed(const nn_tensor *base, int a, int b) {
  int64_t shape[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  memcpy(shape, base->shape, sizeof shape);
  memcpy(stride, base->stride, sizeof stride);
  shape[a] = base->shape[b], shape[b] = base->shape[a];
  stride[a] = base->stride[b], stride[b] = base->stride[a];
  return nn_tensor_view(base, base->ndim, shape, stride, base->offset);
}

/* Tensor of logical shape `shape` stored non-contiguously: the transpose
 * of a contiguous tensor of the swapped shape (needs ndim >= 2), or every
 * other element of a longer 1-D tensor. */
static nn_tensor *make_strided(nn_dtype dtype, int ndim, const int64_t *shape) {
  if (ndim >= 2) {
    int64_t sw[NN_MAX_DIMS];
    memcpy(sw, shape, (size_t)ndim * sizeof *sw);
    sw[0] = shape[ndim - 1], sw[ndim - 1] = shape[0];
    nn_tensor *base = nn_tensor_zeros(dtype, ndim, sw);
    nn_tensor *t = transposed(base, 0, ndim - 1);
    nn_tensor_release(base);
    fill_distinct(t);
    return t;
  }
  int64_t n = 2 * shape[0] + 1, stride = 2;
  nn_tensor *base = nn_tensor_zeros(dtype, 1, &n);
  nn_tensor *t = nn_tensor_view(base, 1, shape, &stride, 1);
  nn_tensor_release(base);
  fill_distinct(t);
  return t;
}

static bool same_values(const nn_tensor *a, const nn_tensor *b) {
  if (a->ndim != b->ndim) return false;
  for (int d = 0; d < a->ndim; d++)
    if (a->shape[d] != b->shape[d]) return false;
  int64_t pos[NN_MAX_DIMS] = {0};
  if (empty_shape(a->ndim, a->shape)) return true;
  do
    if (get(a, pos) != get(b, pos)) return false;
  while (next_pos(a->ndim, a->shape, pos));
  return true;
}

/* ---- checks ---- */

static void test_find_invalid_and_overlap(void) {
  int64_t n = 6, bad = 0;
  nn_tensor *idx = nn_tensor_zeros(NN_INT64, 1, &n);
  int64_t *p = nn_tensor_data(idx);
  for (int i = 0; i < 6; i++) p[i] = i + 1;
  CHECK(!nn_index_find_invalid(idx, 6, &bad));
  CHECK(nn_index_find_invalid(idx, 5, &bad) && bad == 6);
  p[2] = 0;
  CHECK(nn_index_find_invalid(idx, 6, &bad) && bad == 0);
  p[2] = -1;
  CHECK(nn_index_find_invalid(idx, 6, &bad) && bad == -1);
  /* strided: every other element (1, 3, 5) skips the bad one at 2 */
  p[2] = 3, p[1] = 99;
  int64_t half = 3, stride = 2;
  nn_tensor *v = nn_tensor_view(idx, 1, &half, &stride, 0);
  CHECK(!nn_index_find_invalid(v, 5, &bad));
  CHECK(nn_index_find_invalid(v, 4, &bad) && bad == 5);
  CHECK(nn_index_find_invalid(idx, 6, &bad) && bad == 99);
  int64_t zero = 0;
  nn_tensor *e = nn_tensor_view(idx, 1, &zero, &stride, 0);
  CHECK(!nn_index_find_invalid(e, 0, &bad));

  int64_t shape[2] = {3, 4}, st0[2] = {0, 1}, st1[2] = {1, 0}, one[2] = {1, 4};
  nn_tensor *t = make(NN_FLOAT32, 2, shape);
  nn_tensor *x0 = nn_tensor_view(t, 2, shape, st0, 0);
  nn_tensor *x1 = nn_tensor_view(t, 2, shape, st1, 0);
  nn_tensor *x2 = nn_tensor_view(t, 2, one, st0, 0); /* size-1 dim: no overlap */
  CHECK(!nn_has_internal_overlap(t));
  CHECK(nn_has_internal_overlap(x0) && nn_has_internal_overlap(x1));
  CHECK(!nn_has_internal_overlap(x2));
  nn_tensor_release(x0), nn_tensor_release(x1), nn_tensor_release(x2);
  nn_tensor_release(t), nn_tensor_release(e), nn_tensor_release(v), nn_tensor_release(idx);
}

/* ---- index_select ---- */

static void naive_index_select(nn_tensor *out, const nn_tensor *t, int dim,
                               const nn_tensor *idx) {
  int64_t pos[NN_MAX_DIMS] = {0}, src[NN_MAX_DIMS];
  if (empty_shape(out->ndim, out->shape)) return;
  do {
    memcpy(src, pos, sizeof src);
    int64_t j = pos[dim];
    src[dim] = (int64_t)get(idx, idx->ndim ? &j : NULL) - 1;
    set(out, pos, get(t, src));
  } while (next_pos(out->ndim, out->shape, pos));
}

static void check_index_select(const nn_tensor *t, int dim, const nn_tensor *idx) {
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, t->shape, sizeof shape);
  shape[dim] = nn_tensor_numel(idx);
  nn_tensor *out = nn_tensor_zeros(t->dtype, t->ndim, shape);
  nn_tensor *want = nn_tensor_zeros(t->dtype, t->ndim, shape);
  nn_kernel_index_select(out, t, dim, idx);
  naive_index_select(want, t, dim, idx);
  CHECK(same_values(out, want));
  /* into a strided output too */
  if (t->ndim >= 2) {
    nn_tensor *sout = make_strided(t->dtype, t->ndim, shape);
    nn_kernel_index_select(sout, t, dim, idx);
    CHECK(same_values(sout, want));
    nn_tensor_release(sout);
  }
  nn_tensor_release(out);
  nn_tensor_release(want);
}

static void test_index_select(void) {
  int64_t shape[3] = {4, 5, 3};
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *c = make(dt, 3, shape);
    nn_tensor *s = make_strided(dt, 3, shape);
    for (int dim = 0; dim < 3; dim++) {
      int64_t n = 7;
      nn_tensor *idx = nn_tensor_zeros(NN_INT64, 1, &n);
      fill_indices(idx, shape[dim]);
      nn_tensor *sidx = make_strided(NN_INT64, 1, &n);
      fill_indices(sidx, shape[dim]);
      nn_tensor *scalar = nn_tensor_zeros(NN_INT64, 0, NULL);
      fill_indices(scalar, shape[dim]);
      int64_t zero = 0;
      nn_tensor *none = nn_tensor_zeros(NN_INT64, 1, &zero);
      check_index_select(c, dim, idx);
      check_index_select(s, dim, idx);
      check_index_select(c, dim, sidx);
      check_index_select(s, dim, sidx);
      check_index_select(c, dim, scalar);
      check_index_select(s, dim, none);
      nn_tensor_release(idx), nn_tensor_release(sidx);
      nn_tensor_release(scalar), nn_tensor_release(none);
    }
    nn_tensor_release(c), nn_tensor_release(s);
  }
  /* a known case by hand: rows 3, 1, 3 of [[1,3],[5,7],[9,11]] */
  int64_t s2[2] = {3, 2}, n = 3;
  nn_tensor *t = make(NN_FLOAT32, 2, s2);
  nn_tensor *idx = nn_tensor_zeros(NN_INT64, 1, &n);
  int64_t *ip = nn_tensor_data(idx);
  ip[0] = 3, ip[1] = 1, ip[2] = 3;
  nn_tensor *out = nn_tensor_zeros(NN_FLOAT32, 2, s2);
  nn_kernel_index_select(out, t, 0, idx);
  const float *o = nn_tensor_data(out);
  CHECK(o[0] == 9 && o[1] == 11 && o[2] == 1 && o[3] == 3 && o[4] == 9 && o[5] == 11);
  nn_tensor_release(t), nn_tensor_release(idx), nn_tensor_release(out);
}

/* ---- gather ---- */

static void naive_gather(nn_tensor *out, const nn_tensor *t, int dim, const nn_tensor *idx) {
  int64_t pos[NN_MAX_DIMS] = {0}, src[NN_MAX_DIMS];
  if (empty_shape(idx->ndim, idx->shape)) return;
  do {
    memcpy(src, pos, sizeof src);
    src[dim] = (int64_t)get(idx, pos) - 1;
    set(out, pos, get(t, src));
  } while (next_pos(idx->ndim, idx->shape, pos));
}

static void check_gather(const nn_tensor *t, int dim, const nn_tensor *idx) {
  nn_tensor *out = nn_tensor_zeros(t->dtype, idx->ndim, idx->shape);
  nn_tensor *want = nn_tensor_zeros(t->dtype, idx->ndim, idx->shape);
  nn_kernel_gather(out, t, dim, idx);
  naive_gather(want, t, dim, idx);
  CHECK(same_values(out, want));
  nn_tensor_release(out), nn_tensor_release(want);
}

static void test_gather(void) {
  int64_t shape[3] = {4, 5, 3};
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *c = make(dt, 3, shape);
    nn_tensor *s = make_strided(dt, 3, shape);
    for (int dim = 0; dim < 3; dim++) {
      /* idx may be longer along dim and no larger elsewhere */
      int64_t ishape[3] = {3, 4, 2};
      ishape[dim] = 6;
      nn_tensor *idx = nn_tensor_zeros(NN_INT64, 3, ishape);
      fill_indices(idx, shape[dim]);
      nn_tensor *sidx = make_strided(NN_INT64, 3, ishape);
      fill_indices(sidx, shape[dim]);
      check_gather(c, dim, idx);
      check_gather(s, dim, idx);
      check_gather(c, dim, sidx);
      check_gather(s, dim, sidx);
      /* an expanded index (stride 0) reads the same row repeatedly */
      int64_t est[3] = {0, 0, 0};
      est[dim] = sidx->stride[dim];
      nn_tensor *eidx = nn_tensor_view(sidx, 3, ishape, est, sidx->offset);
      check_gather(s, dim, eidx);
      nn_tensor_release(idx), nn_tensor_release(sidx), nn_tensor_release(eidx);
    }
    nn_tensor_release(c), nn_tensor_release(s);
  }
  /* by hand: torch.gather([[1,2],[3,4]], 1, [[1,1],[2,1]]) (0-based) */
  int64_t s2[2] = {2, 2};
  nn_tensor *t = nn_tensor_zeros(NN_FLOAT32, 2, s2);
  nn_tensor *idx = nn_tensor_zeros(NN_INT64, 2, s2);
  float *tp = nn_tensor_data(t);
  int64_t *ip = nn_tensor_data(idx);
  for (int i = 0; i < 4; i++) tp[i] = (float)(i + 1);
  ip[0] = 1, ip[1] = 1, ip[2] = 2, ip[3] = 1;
  nn_tensor *out = nn_tensor_zeros(NN_FLOAT32, 2, s2);
  nn_kernel_gather(out, t, 1, idx);
  const float *o = nn_tensor_data(out);
  CHECK(o[0] == 1 && o[1] == 1 && o[2] == 4 && o[3] == 3);
  nn_tensor_release(t), nn_tensor_release(idx), nn_tensor_release(out);
}

/* ---- scatter ---- */

static void naive_scatter(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src) {
  int64_t pos[NN_MAX_DIMS] = {0}, dst[NN_MAX_DIMS];
  if (empty_shape(idx->ndim, idx->shape)) return;
  do {
    memcpy(dst, pos, sizeof dst);
    dst[dim] = (int64_t)get(idx, pos) - 1;
    set(t, dst, src->ndim ? get(src, pos) : get(src, NULL));
  } while (next_pos(idx->ndim, idx->shape, pos));
}

/* Distinct targets along dim for each line, so the order of writes does
 * not matter: a random permutation prefix of 1..size. */
static void fill_unique_indices(nn_tensor *idx, int dim, int64_t size) {
  int64_t pos[NN_MAX_DIMS] = {0};
  int64_t line[64];
  if (empty_shape(idx->ndim, idx->shape)) return;
  do {
    if (pos[dim] == 0) {
      for (int64_t i = 0; i < size; i++) line[i] = i + 1;
      for (int64_t i = size - 1; i > 0; i--) {
        int64_t j = below(i + 1), tmp = line[i];
        line[i] = line[j], line[j] = tmp;
      }
    }
    set(idx, pos, (double)line[pos[dim]]);
  } while (next_pos(idx->ndim, idx->shape, pos));
}

static void check_scatter(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src,
                          bool value) {
  nn_tensor *want = nn_tensor_zeros(t->dtype, t->ndim, t->shape);
  nn_copy(want, t);
  naive_scatter(want, dim, idx, src);
  if (value) nn_scatter_value(t, dim, idx, src);
  else nn_scatter(t, dim, idx, src);
  CHECK(same_values(t, want));
  nn_tensor_release(want);
}

static void test_scatter(void) {
  int64_t shape[3] = {4, 5, 3};
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++)
    for (int dim = 0; dim < 3; dim++) {
      int64_t ishape[3] = {3, 4, 2}, sshape[3] = {4, 6, 3};
      ishape[dim] = shape[dim] - 1;
      sshape[dim] = shape[dim] + 2;
      nn_tensor *c = make(dt, 3, shape);
      nn_tensor *s = make_strided(dt, 3, shape);
      nn_tensor *idx = nn_tensor_zeros(NN_INT64, 3, ishape);
      fill_unique_indices(idx, dim, shape[dim]);
      nn_tensor *sidx = make_strided(NN_INT64, 3, ishape);
      fill_unique_indices(sidx, dim, shape[dim]);
      nn_tensor *src = make_strided(dt, 3, sshape); /* larger than idx */
      nn_fill(src, 0);
      check_scatter(c, dim, idx, src, false);
      nn_fill(src, 1); /* changed values so a no-op would be caught */
      check_scatter(s, dim, sidx, src, false);
      nn_tensor *csrc = make(dt, 3, ishape);
      check_scatter(c, dim, sidx, csrc, false);
      nn_scalar sc;
      check_scatter(s, dim, idx, nn_scalar_i64(&sc, 0), true);
      check_scatter(c, dim, idx, nn_scalar_f32(&sc, 1), true);
      nn_tensor_release(c), nn_tensor_release(s), nn_tensor_release(idx);
      nn_tensor_release(sidx), nn_tensor_release(src), nn_tensor_release(csrc);
    }
  /* scatter_value converts: 2.7 into int64 truncates to 2 */
  int64_t n = 4, one = 1;
  nn_tensor *t = nn_tensor_zeros(NN_INT64, 1, &n);
  nn_tensor *idx = nn_tensor_zeros(NN_INT64, 1, &one);
  *(int64_t *)nn_tensor_data(idx) = 3;
  nn_scalar sc;
  nn_scatter_value(t, 0, idx, nn_scalar_f32(&sc, 2.7f));
  const int64_t *tp = nn_tensor_data(t);
  CHECK(tp[0] == 0 && tp[1] == 0 && tp[2] == 2 && tp[3] == 0);
  nn_tensor_release(t), nn_tensor_release(idx);
}

/* ---- scatter_add, index_add: repeats accumulate ---- */

static void naive_put_add(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src,
                          bool index_add) {
  const nn_tensor *walk = index_add ? src : idx;
  int64_t pos[NN_MAX_DIMS] = {0}, dst[NN_MAX_DIMS];
  if (empty_shape(walk->ndim, walk->shape)) return;
  do {
    memcpy(dst, pos, sizeof dst);
    int64_t j = pos[dim];
    dst[dim] = (int64_t)(index_add ? get(idx, &j) : get(idx, pos)) - 1;
    set(t, dst, get(t, dst) + get(src, pos));
  } while (next_pos(walk->ndim, walk->shape, pos));
}

static void test_scatter_add_index_add(void) {
  int64_t shape[3] = {4, 5, 3};
  for (nn_dtype dt = 0; dt < NN_BOOL; dt++)
    for (int dim = 0; dim < 3; dim++)
      for (int strided = 0; strided < 2; strided++) {
        /* scatter_add: idx longer than t along dim, so targets repeat */
        int64_t ishape[3] = {3, 4, 2}, sshape[3] = {4, 5, 3};
        ishape[dim] = 2 * shape[dim];
        sshape[dim] = 2 * shape[dim] + 1;
        nn_tensor *t = strided ? make_strided(dt, 3, shape) : make(dt, 3, shape);
        nn_tensor *idx = strided ? make_strided(NN_INT64, 3, ishape) : nn_tensor_zeros(NN_INT64, 3, ishape);
        fill_indices(idx, shape[dim]);
        nn_tensor *src = strided ? make(dt, 3, sshape) : make_strided(dt, 3, sshape);
        nn_tensor *want = nn_tensor_zeros(dt, 3, shape);
        nn_copy(want, t);
        naive_put_add(want, dim, idx, src, false);
        nn_scatter_add(t, dim, idx, src);
        CHECK(same_values(t, want));
        nn_tensor_release(idx), nn_tensor_release(src);

        /* index_add: 7 slices into a dim of size shape[dim] */
        int64_t n = 7, srcshape[3] = {4, 5, 3};
        srcshape[dim] = n;
        idx = strided ? make_strided(NN_INT64, 1, &n) : nn_tensor_zeros(NN_INT64, 1, &n);
        fill_indices(idx, shape[dim]);
        src = strided ? make_strided(dt, 3, srcshape) : make(dt, 3, srcshape);
        naive_put_add(want, dim, idx, src, true);
        nn_index_add(t, dim, idx, src);
        CHECK(same_values(t, want));
        nn_tensor_release(t), nn_tensor_release(idx), nn_tensor_release(src), nn_tensor_release(want);
      }
  /* by hand: bincount-like scatter_add of ones */
  int64_t n = 6, k = 3;
  nn_tensor *counts = nn_tensor_zeros(NN_INT64, 1, &k);
  nn_tensor *idx = nn_tensor_zeros(NN_INT64, 1, &n);
  nn_tensor *ones = nn_tensor_zeros(NN_INT64, 1, &n);
  int64_t *ip = nn_tensor_data(idx);
  ip[0] = 1, ip[1] = 3, ip[2] = 3, ip[3] = 1, ip[4] = 3, ip[5] = 2;
  nn_fill(ones, 1);
  nn_scatter_add(counts, 0, idx, ones);
  const int64_t *c = nn_tensor_data(counts);
  CHECK(c[0] == 2 && c[1] == 1 && c[2] == 3);
  nn_tensor_release(counts), nn_tensor_release(idx), nn_tensor_release(ones);
}

/* ---- masks ---- */

static void test_masked_fill(void) {
  int64_t shape[3] = {3, 4, 5};
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *variants[2] = {make(dt, 3, shape), make_strided(dt, 3, shape)};
    for (int v = 0; v < 2; v++) {
      nn_tensor *t = variants[v];
      /* mask [4,1] broadcast to [3,4,5] */
      int64_t mshape[2] = {4, 1};
      nn_tensor *mask = nn_tensor_zeros(NN_BOOL, 2, mshape);
      bool *mp = nn_tensor_data(mask);
      mp[1] = mp[3] = true;
      nn_tensor *want = nn_tensor_zeros(dt, 3, shape);
      nn_copy(want, t);
      int64_t pos[3] = {0};
      do
        if (mp[pos[1]]) set(want, pos, 1);
      while (next_pos(3, shape, pos));
      nn_scalar sc;
      nn_kernel_masked_fill(t, mask, nn_scalar_i64(&sc, 1));
      CHECK(same_values(t, want));
      nn_tensor_release(mask), nn_tensor_release(want), nn_tensor_release(t);
    }
  }
  /* value converted: -2.5 into int64 is -2 */
  int64_t n = 3;
  nn_tensor *t = nn_tensor_zeros(NN_INT64, 1, &n);
  nn_tensor *mask = nn_tensor_zeros(NN_BOOL, 1, &n);
  ((bool *)nn_tensor_data(mask))[1] = true;
  nn_scalar sc;
  nn_kernel_masked_fill(t, mask, nn_scalar_f32(&sc, -2.5f));
  const int64_t *tp = nn_tensor_data(t);
  CHECK(tp[0] == 0 && tp[1] == -2 && tp[2] == 0);
  nn_tensor_release(t), nn_tensor_release(mask);
}

static void test_masked_select(void) {
  /* t [3,1,4] (strided) and mask [5,1] broadcast to [3,5,4] */
  int64_t tshape[3] = {3, 1, 4}, mshape[2] = {5, 1}, shape[3] = {3, 5, 4};
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++) {
    nn_tensor *t = make_strided(dt, 3, tshape);
    nn_tensor *mask = make_strided(NN_BOOL, 2, mshape);
    int64_t k = nn_masked_count(mask, 3, shape);
    int64_t want_k = 0, pos[3] = {0};
    do {
      int64_t mp[2] = {pos[1], 0};
      want_k += get(mask, mp) != 0;
    } while (next_pos(3, shape, pos));
    CHECK(k == want_k && k > 0);
    nn_tensor *out = nn_tensor_zeros(dt, 1, &k);
    nn_kernel_masked_select(out, t, mask, 3, shape);
    int64_t j = 0;
    bool ok = true;
    memset(pos, 0, sizeof pos);
    do {
      int64_t mp[2] = {pos[1], 0}, tp[3] = {pos[0], 0, pos[2]};
      if (get(mask, mp) != 0) ok = ok && get(out, &j) == get(t, tp), j++;
    } while (next_pos(3, shape, pos));
    CHECK(ok && j == k);
    nn_tensor_release(t), nn_tensor_release(mask), nn_tensor_release(out);
  }
  /* long random masks: both the block path and the per-element tail of
   * select, and the blend of fill, on contiguous and strided operands */
  int64_t big[2] = {37, 41};
  for (nn_dtype dt = 0; dt < NN_DTYPE_COUNT; dt++)
    for (int strided = 0; strided < 2; strided++) {
      nn_tensor *t = strided ? make_strided(dt, 2, big) : make(dt, 2, big);
      nn_tensor *mask = strided ? make_strided(NN_BOOL, 2, big) : make(NN_BOOL, 2, big);
      int64_t pos[2] = {0};
      do set(mask, pos, below(3) != 0);
      while (next_pos(2, big, pos));
      int64_t k = nn_masked_count(mask, 2, big);
      nn_tensor *out = nn_tensor_zeros(dt, 1, &k);
      nn_kernel_masked_select(out, t, mask, 2, big);
      nn_tensor *want = nn_tensor_zeros(dt, 2, big);
      nn_copy(want, t);
      int64_t j = 0;
      bool ok = true;
      do
        if (get(mask, pos) != 0) {
          ok = ok && get(out, &j) == get(t, pos);
          j++;
          set(want, pos, dt == NN_BOOL ? 1 : -7);
        }
      while (next_pos(2, big, pos));
      CHECK(ok && j == k);
      nn_scalar sc;
      nn_kernel_masked_fill(t, mask, nn_scalar_i64(&sc, -7));
      CHECK(same_values(t, want));
      nn_tensor_release(t), nn_tensor_release(mask), nn_tensor_release(out), nn_tensor_release(want);
    }
  /* an all-false mask selects nothing */
  int64_t n = 4;
  nn_tensor *mask = nn_tensor_zeros(NN_BOOL, 1, &n);
  CHECK(nn_masked_count(mask, 1, &n) == 0);
  nn_tensor_release(mask);
}

/* ---- entry points: checks, recording, backward ---- */

/* A float32 leaf requiring grad with the given values. */
static nn_tensor *leaf_of(int ndim, const int64_t *shape, const float *values) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  memcpy(nn_tensor_data(t), values, (size_t)nn_tensor_numel(t) * sizeof(float));
  t->requires_grad = true;
  return t;
}

static nn_tensor *index_of(int ndim, const int64_t *shape, const int64_t *values) {
  nn_tensor *t = nn_tensor_empty(NN_INT64, ndim, shape);
  memcpy(nn_tensor_data(t), values, (size_t)nn_tensor_numel(t) * sizeof(int64_t));
  return t;
}

/* Backward from out with gradient 1, 2, 3, ...; then x's gradient is want. */
static bool backward_gives(nn_tensor *out, const nn_tensor *x, const float *want) {
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, out->ndim, out->shape);
  for (int64_t i = 0; i < nn_tensor_numel(g); i++) ((float *)nn_tensor_data(g))[i] = (float)(i + 1);
  bool ok = nn_backward(out, g, false).status == NN_BACKWARD_OK && x->grad;
  for (int64_t i = 0; ok && i < nn_tensor_numel(x); i++) ok = ((float *)nn_tensor_data(x->grad))[i] == want[i];
  nn_tensor_release(g);
  return ok;
}

static void test_index_check(void) {
  int64_t n = 3;
  nn_tensor *idx = index_of(1, &n, (int64_t[]){1, 3, 2});
  CHECK(nn_index_check(idx, 0, 3) == NN_OK);
  CHECK(nn_index_check(idx, 1, 2) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(),
                "index 3 is out of range for dim 2 of size 2 (indices are 1-based: 1..2)"));
  nn_tensor_release(idx);
}

/* Rows 3, 1, 3 of a [3,2] leaf; row 3's gradient adds up twice. A bad
 * index fails before anything is written or recorded. */
static void test_index_select_entry(void) {
  int64_t s[2] = {3, 2}, n = 3;
  nn_tensor *t = leaf_of(2, s, (float[]){1, 2, 3, 4, 5, 6});
  nn_tensor *idx = index_of(1, &n, (int64_t[]){3, 1, 3});
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, s);
  CHECK(nn_index_select(out, t, idx, &(nn_index_args){0}) == NN_OK);
  const float *o = nn_tensor_data(out);
  CHECK(o[0] == 5 && o[1] == 6 && o[2] == 1 && o[3] == 2 && o[4] == 5 && o[5] == 6);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_INDEX_SELECT && out->grad_fn->args.index.dim == 0);
  CHECK(backward_gives(out, t, (float[]){3, 4, 0, 0, 1 + 5, 2 + 6}));
  nn_tensor_release(out);
  ((int64_t *)nn_tensor_data(idx))[1] = 4;
  out = nn_tensor_zeros(NN_FLOAT32, 2, s);
  CHECK(nn_index_select(out, t, idx, &(nn_index_args){0}) == NN_ERR_VALUE);
  CHECK(!strcmp(nn_error_message(),
                "index 4 is out of range for dim 1 of size 3 (indices are 1-based: 1..3)"));
  CHECK(!out->grad_fn && ((float *)nn_tensor_data(out))[0] == 0);
  nn_tensor_release(out), nn_tensor_release(idx), nn_tensor_release(t);
}

/* torch.gather([[1,2],[3,4]], 1, [[0,0],[1,0]]): the gradient scatters
 * back, adding. */
static void test_gather_entry(void) {
  int64_t s[2] = {2, 2};
  nn_tensor *t = leaf_of(2, s, (float[]){1, 2, 3, 4});
  nn_tensor *idx = index_of(2, s, (int64_t[]){1, 1, 2, 1});
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, s);
  CHECK(nn_gather(out, t, idx, &(nn_index_args){1}) == NN_OK);
  const float *o = nn_tensor_data(out);
  CHECK(o[0] == 1 && o[1] == 1 && o[2] == 4 && o[3] == 3);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_GATHER);
  CHECK(backward_gives(out, t, (float[]){1 + 2, 0, 4, 3}));
  nn_tensor_release(out);
  ((int64_t *)nn_tensor_data(idx))[0] = 0;
  out = nn_tensor_empty(NN_FLOAT32, 2, s);
  CHECK(nn_gather(out, t, idx, &(nn_index_args){1}) == NN_ERR_VALUE && !out->grad_fn);
  CHECK(!strcmp(nn_error_message(),
                "index 0 is out of range for dim 2 of size 2 (indices are 1-based: 1..2)"));
  nn_tensor_release(out), nn_tensor_release(idx), nn_tensor_release(t);
}

/* t [2,1] and mask [1,3] broadcast to [2,3]: the gradient of the picked
 * elements sums back over the broadcast dim. */
static void test_masked_select_entry(void) {
  int64_t ts[2] = {2, 1}, ms[2] = {1, 3}, shape[2] = {2, 3};
  nn_tensor *t = leaf_of(2, ts, (float[]){1, 2});
  nn_tensor *mask = nn_tensor_zeros(NN_BOOL, 2, ms);
  bool *m = nn_tensor_data(mask);
  m[0] = m[2] = true;
  int64_t k = nn_masked_count(mask, 2, shape);
  CHECK(k == 4);
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 1, &k);
  CHECK(nn_masked_select(out, t, mask) == NN_OK);
  const float *o = nn_tensor_data(out);
  CHECK(o[0] == 1 && o[1] == 1 && o[2] == 2 && o[3] == 2);
  CHECK(out->grad_fn && out->grad_fn->args.masked_select.ndim == 2 &&
        out->grad_fn->args.masked_select.shape[1] == 3);
  CHECK(backward_gives(out, t, (float[]){1 + 2, 3 + 4}));
  nn_tensor_release(out), nn_tensor_release(mask), nn_tensor_release(t);
}

/* Out of place: a WHERE whose gradient reaches t where the mask is false;
 * in place: t itself filled, nothing recorded. */
static void test_masked_fill_entry(void) {
  int64_t s[2] = {2, 2}, n = 2;
  nn_tensor *t = leaf_of(2, s, (float[]){1, 2, 3, 4});
  nn_tensor *mask = nn_tensor_zeros(NN_BOOL, 1, &n);
  ((bool *)nn_tensor_data(mask))[0] = true;
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, s);
  nn_scalar v;
  CHECK(nn_masked_fill(out, t, mask, nn_scalar_f32(&v, 9)) == NN_OK);
  const float *o = nn_tensor_data(out), *pt = nn_tensor_data(t);
  CHECK(o[0] == 9 && o[1] == 2 && o[2] == 9 && o[3] == 4 && pt[0] == 1);
  CHECK(out->grad_fn && out->grad_fn->op == NN_OP_WHERE);
  CHECK(backward_gives(out, t, (float[]){0, 2, 0, 4}));
  nn_tensor_release(out);
  t->requires_grad = false;
  nn_tensor_release(t->grad);
  t->grad = NULL;
  CHECK(nn_masked_fill(t, t, mask, nn_scalar_i64(&v, -1)) == NN_OK && !t->grad_fn);
  CHECK(pt[0] == -1 && pt[1] == 2 && pt[2] == -1);
  nn_tensor_release(mask), nn_tensor_release(t);
}

int main(void) {
  RUN(test_find_invalid_and_overlap);
  RUN(test_index_select);
  RUN(test_gather);
  RUN(test_scatter);
  RUN(test_scatter_add_index_add);
  RUN(test_masked_fill);
  RUN(test_masked_select);
  RUN(test_index_check);
  RUN(test_index_select_entry);
  RUN(test_gather_entry);
  RUN(test_masked_select_entry);
  RUN(test_masked_fill_entry);
  CHECK(nn_memory_stats_get().live_count == 0);
  return check_summary();
}
