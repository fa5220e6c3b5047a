/* nn_tensor (geometry, views, broadcasting helpers, refcounts) and nn_iter
 * (coalescing into runs, the strided walk) against hand-worked cases and
 * a naive index walk. */
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_iter.h"
#include "nn_tensor.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

static bool same(int n, const int64_t *a, const int64_t *b) {
  return memcmp(a, b, (size_t)n * sizeof *a) == 0;
}

/* ---- dtypes and sizes ---- */

static void test_dtypes(void) {
  CHECK(nn_dtype_size(NN_FLOAT32) == 4);
  CHECK(nn_dtype_size(NN_INT64) == 8);
  CHECK(nn_dtype_size(NN_BOOL) == 1);
  CHECK(strcmp(nn_dtype_name(NN_FLOAT32), "float32") == 0);
  CHECK(strcmp(nn_dtype_name(NN_INT64), "int64") == 0);
  CHECK(strcmp(nn_dtype_name(NN_BOOL), "bool") == 0);
  /* bool < int64 < float32, symmetric */
  CHECK(nn_dtype_promote(NN_BOOL, NN_BOOL) == NN_BOOL);
  CHECK(nn_dtype_promote(NN_BOOL, NN_INT64) == NN_INT64);
  CHECK(nn_dtype_promote(NN_INT64, NN_BOOL) == NN_INT64);
  CHECK(nn_dtype_promote(NN_INT64, NN_FLOAT32) == NN_FLOAT32);
  CHECK(nn_dtype_promote(NN_FLOAT32, NN_BOOL) == NN_FLOAT32);
  CHECK(nn_dtype_promote(NN_INT64, NN_INT64) == NN_INT64);
}

static void test_shape_sizes(void) {
  CHECK(nn_shape_numel(0, NULL) == 1);
  CHECK(nn_shape_numel(3, SHAPE(2, 3, 4)) == 24);
  CHECK(nn_shape_numel(2, SHAPE(5, 0)) == 0);
  size_t nb = 0;
  CHECK(nn_shape_nbytes(2, SHAPE(3, 4), NN_FLOAT32, &nb) && nb == 48);
  CHECK(nn_shape_nbytes(1, SHAPE(3), NN_INT64, &nb) && nb == 24);
  CHECK(nn_shape_nbytes(0, NULL, NN_BOOL, &nb) && nb == 1);
  CHECK(nn_shape_nbytes(2, SHAPE(0, 1000), NN_FLOAT32, &nb) && nb == 0);
  /* overflow and negative sizes are refused, not wrapped */
  CHECK(!nn_shape_nbytes(1, SHAPE(-1), NN_FLOAT32, &nb));
  CHECK(!nn_shape_nbytes(3, SHAPE(1LL << 30, 1LL << 30, 1LL << 30), NN_FLOAT32, &nb));
  CHECK(!nn_shape_nbytes(1, SHAPE(INT64_MAX), NN_INT64, &nb));

  int64_t st[4];
  nn_contiguous_strides(3, SHAPE(2, 3, 4), st);
  CHECK(same(3, st, SHAPE(12, 4, 1)));
  nn_contiguous_strides(3, SHAPE(2, 0, 4), st); /* a zero size must not zero the outer strides */
  CHECK(same(3, st, SHAPE(4, 4, 1)));
}

/* ---- creation, refcounts ---- */

static void test_empty_zeros_views(void) {
  uint64_t live0 = nn_memory_stats_get().live_count;
  nn_tensor *t = nn_tensor_zeros(NN_FLOAT32, 2, SHAPE(3, 4));
  CHECK(t && t->ndim == 2 && t->dtype == NN_FLOAT32 && t->offset == 0);
  CHECK(same(2, t->shape, SHAPE(3, 4)) && same(2, t->stride, SHAPE(4, 1)));
  CHECK(nn_tensor_numel(t) == 12 && nn_tensor_is_contiguous(t));
  float *p = nn_tensor_data(t);
  bool zero = true;
  for (int i = 0; i < 12; i++) zero = zero && p[i] == 0;
  CHECK(zero);
  CHECK(t->storage->refcount == 1 && t->refcount == 1);

  /* A view shares storage, outlives its base, and points at its offset. */
  for (int i = 0; i < 12; i++) p[i] = (float)i;
  nn_tensor *v = nn_tensor_view(t, 1, SHAPE(3), SHAPE(4), 2); /* column 2 */
  CHECK(v && v->storage == t->storage && t->storage->refcount == 2);
  CHECK(((float *)nn_tensor_data(v))[0] == 2 && ((float *)nn_tensor_data(v))[4] == 6);
  CHECK(!nn_tensor_is_contiguous(v));
  nn_tensor_release(t);
  CHECK(v->storage->refcount == 1);
  CHECK(((float *)nn_tensor_data(v))[8] == 10); /* storage still alive */
  nn_tensor_retain(v);
  nn_tensor_release(v);
  CHECK(v->refcount == 1);
  nn_tensor_release(v);
  nn_tensor_release(NULL);
  CHECK(nn_memory_stats_get().live_count == live0);

  nn_tensor *s = nn_tensor_empty(NN_INT64, 0, NULL); /* 0-dim: one element */
  CHECK(s && s->ndim == 0 && nn_tensor_numel(s) == 1 && nn_tensor_is_contiguous(s));
  *(int64_t *)nn_tensor_data(s) = 42;
  CHECK(*(int64_t *)nn_tensor_data(s) == 42);
  nn_tensor_release(s);
  nn_tensor *e = nn_tensor_zeros(NN_BOOL, 2, SHAPE(0, 5));
  CHECK(e && nn_tensor_numel(e) == 0 && nn_tensor_is_contiguous(e));
  nn_tensor_release(e);
  CHECK(nn_tensor_empty(NN_FLOAT32, 1, SHAPE(-3)) == NULL);
  CHECK(nn_memory_stats_get().live_count == live0);
}

static void test_is_contiguous(void) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 3, SHAPE(2, 3, 4));
  CHECK(nn_tensor_is_contiguous(t));
  nn_tensor *tr = nn_tensor_view(t, 2, SHAPE(4, 6), SHAPE(1, 4), 0); /* transposed */
  CHECK(!nn_tensor_is_contiguous(tr));
  /* size-1 dims may carry any stride */
  nn_tensor *u = nn_tensor_view(t, 3, SHAPE(2, 1, 12), SHAPE(12, 999, 1), 0);
  CHECK(nn_tensor_is_contiguous(u));
  nn_tensor *ex = nn_tensor_view(t, 2, SHAPE(3, 4), SHAPE(0, 1), 0); /* expanded */
  CHECK(!nn_tensor_is_contiguous(ex));
  nn_tensor *nar = nn_tensor_view(t, 2, SHAPE(6, 2), SHAPE(4, 1), 1); /* narrowed last dim */
  CHECK(!nn_tensor_is_contiguous(nar));
  nn_tensor *row = nn_tensor_view(t, 2, SHAPE(1, 4), SHAPE(4, 1), 8); /* offset row */
  CHECK(nn_tensor_is_contiguous(row));
  nn_tensor_release(tr);
  nn_tensor_release(u);
  nn_tensor_release(ex);
  nn_tensor_release(nar);
  nn_tensor_release(row);
  nn_tensor_release(t);
}

/* ---- broadcasting ---- */

static void test_broadcast(void) {
  int n;
  int64_t out[NN_MAX_DIMS];
  CHECK(nn_broadcast_shape(2, SHAPE(3, 1), 1, SHAPE(4), &n, out) && n == 2 && same(2, out, SHAPE(3, 4)));
  CHECK(nn_broadcast_shape(1, SHAPE(4), 2, SHAPE(3, 1), &n, out) && n == 2 && same(2, out, SHAPE(3, 4)));
  CHECK(nn_broadcast_shape(3, SHAPE(2, 1, 5), 2, SHAPE(3, 1), &n, out) && n == 3 &&
        same(3, out, SHAPE(2, 3, 5)));
  CHECK(nn_broadcast_shape(0, NULL, 2, SHAPE(2, 3), &n, out) && n == 2 && same(2, out, SHAPE(2, 3)));
  CHECK(nn_broadcast_shape(0, NULL, 0, NULL, &n, out) && n == 0);
  CHECK(nn_broadcast_shape(2, SHAPE(1, 0), 1, SHAPE(3), &n, out) == false); /* 0 vs 3 */
  CHECK(nn_broadcast_shape(2, SHAPE(4, 1), 1, SHAPE(0), &n, out) && same(2, out, SHAPE(4, 0)));
  CHECK(!nn_broadcast_shape(1, SHAPE(3), 1, SHAPE(4), &n, out));
  CHECK(!nn_broadcast_shape(2, SHAPE(2, 3), 2, SHAPE(3, 3), &n, out));

  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(3, 1));
  int64_t st[NN_MAX_DIMS];
  nn_broadcast_strides(t, 3, SHAPE(2, 3, 4), st);
  CHECK(same(3, st, SHAPE(0, 1, 0)));
  nn_broadcast_strides(t, 2, SHAPE(3, 1), st); /* no broadcasting: own strides */
  CHECK(same(2, st, SHAPE(1, 1)));
  nn_tensor_release(t);
  nn_tensor *r = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(4));
  nn_broadcast_strides(r, 2, SHAPE(3, 4), st);
  CHECK(same(2, st, SHAPE(0, 1)));
  nn_tensor_release(r);
}

/* ---- nn_view_strides ---- */

static bool view_ok(const nn_tensor *t, int ndim, const int64_t *shape, const int64_t *want) {
  int64_t st[NN_MAX_DIMS];
  return nn_view_strides(t, ndim, shape, st) && same(ndim, st, want);
}

static void test_view_strides(void) {
  int64_t st[NN_MAX_DIMS];
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 3, SHAPE(2, 3, 4));
  /* contiguous: any shape of the same numel */
  CHECK(view_ok(t, 1, SHAPE(24), SHAPE(1)));
  CHECK(view_ok(t, 2, SHAPE(6, 4), SHAPE(4, 1)));
  CHECK(view_ok(t, 4, SHAPE(4, 1, 3, 2), SHAPE(6, 6, 2, 1)));
  CHECK(view_ok(t, 3, SHAPE(2, 3, 4), SHAPE(12, 4, 1)));

  /* transposed [4, 6] of a [6, 4]: cannot flatten, can split the outer dim */
  nn_tensor *tr = nn_tensor_view(t, 2, SHAPE(4, 6), SHAPE(1, 4), 0);
  CHECK(!nn_view_strides(tr, 1, SHAPE(24), st));
  CHECK(!nn_view_strides(tr, 2, SHAPE(6, 4), st));
  CHECK(view_ok(tr, 3, SHAPE(4, 2, 3), SHAPE(1, 12, 4))); /* split dim 2 */
  CHECK(view_ok(tr, 3, SHAPE(2, 2, 6), SHAPE(2, 1, 4)));  /* split dim 1 */
  CHECK(view_ok(tr, 3, SHAPE(4, 1, 6), SHAPE(1, 24, 4))); /* a size-1 dim slots in */

  /* narrowed last dim ([2,3,4] -> [2,3,2]): rows of 2 are viewable, the whole is not */
  nn_tensor *nar = nn_tensor_view(t, 3, SHAPE(2, 3, 2), SHAPE(12, 4, 1), 1);
  CHECK(view_ok(nar, 2, SHAPE(6, 2), SHAPE(4, 1)));
  CHECK(view_ok(nar, 4, SHAPE(2, 3, 2, 1), SHAPE(12, 4, 1, 1)));
  CHECK(!nn_view_strides(nar, 1, SHAPE(12), st));
  CHECK(!nn_view_strides(nar, 2, SHAPE(3, 4), st));

  /* narrowed outer dim ([2,3,4] -> [1,3,4] at offset 12): contiguous */
  nn_tensor *outer = nn_tensor_view(t, 3, SHAPE(1, 3, 4), SHAPE(12, 4, 1), 12);
  CHECK(view_ok(outer, 1, SHAPE(12), SHAPE(1)));

  /* expanded (stride 0): splitting keeps the zero */
  nn_tensor *ex = nn_tensor_view(t, 2, SHAPE(4, 3), SHAPE(0, 1), 0);
  CHECK(!nn_view_strides(ex, 1, SHAPE(12), st));
  CHECK(view_ok(ex, 3, SHAPE(2, 2, 3), SHAPE(0, 0, 1)));

  /* empty tensors view as anything of numel 0 */
  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(0, 3));
  nn_tensor *et = nn_tensor_view(e, 2, SHAPE(3, 0), SHAPE(1, 3), 0);
  CHECK(nn_view_strides(et, 3, SHAPE(0, 5, 2), st));
  nn_tensor_release(tr);
  nn_tensor_release(nar);
  nn_tensor_release(outer);
  nn_tensor_release(ex);
  nn_tensor_release(et);
  nn_tensor_release(e);
  nn_tensor_release(t);
}

/* ---- nn_iter ---- */

static int count_runs(nn_iter *it, int64_t *total) {
  int runs = 0;
  *total = 0;
  while (nn_iter_next(it)) {
    runs++;
    *total += it->n;
  }
  return runs;
}

static void test_iter_coalescing(void) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 4, SHAPE(2, 3, 4, 5));
  nn_tensor *u = nn_tensor_empty(NN_FLOAT32, 4, SHAPE(2, 3, 4, 5));
  nn_iter it;
  int64_t total;
  /* contiguous 4-D: a single run */
  nn_iter_init_tensors(&it, 4, t->shape, 2, (const nn_tensor *[]){t, u});
  CHECK(count_runs(&it, &total) == 1 && total == 120);
  CHECK(it.ndim == 1);
  /* a stride-0 operand that broadcasts a scalar still merges */
  nn_tensor *s = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  nn_iter_init_tensors(&it, 4, t->shape, 2, (const nn_tensor *[]){t, s});
  CHECK(count_runs(&it, &total) == 1 && total == 120 && it.step[1] == 0 && it.step[0] == 1);

  /* transposed [5,4] view of a [4,5]: runs of 4, stepping 5 */
  nn_tensor *m = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(4, 5));
  nn_tensor *mt = nn_tensor_view(m, 2, SHAPE(5, 4), SHAPE(1, 5), 0);
  nn_tensor *o = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(5, 4));
  nn_iter_init_tensors(&it, 2, o->shape, 2, (const nn_tensor *[]){o, mt});
  CHECK(count_runs(&it, &total) == 5 && total == 20);
  CHECK(it.n == 4 && it.step[0] == 1 && it.step[1] == 5);

  /* a row broadcast down a matrix: one run per row */
  nn_tensor *row = nn_tensor_empty(NN_FLOAT32, 1, SHAPE(4));
  nn_iter_init_tensors(&it, 2, o->shape, 2, (const nn_tensor *[]){o, row});
  CHECK(count_runs(&it, &total) == 5 && total == 20 && it.step[1] == 1);

  /* size-1 dims are dropped before merging */
  nn_tensor *w = nn_tensor_view(t, 5, SHAPE(2, 1, 3, 20, 1), SHAPE(60, 7, 20, 1, 3), 0);
  nn_tensor *wo = nn_tensor_empty(NN_FLOAT32, 5, SHAPE(2, 1, 3, 20, 1));
  nn_iter_init_tensors(&it, 5, wo->shape, 2, (const nn_tensor *[]){wo, w});
  CHECK(count_runs(&it, &total) == 1 && total == 120);

  /* empty and 0-dim walks */
  nn_tensor *e = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(3, 0));
  nn_iter_init_tensors(&it, 2, e->shape, 1, (const nn_tensor *[]){e});
  CHECK(count_runs(&it, &total) == 0 && total == 0);
  nn_iter_init_tensors(&it, 0, NULL, 2, (const nn_tensor *[]){s, s});
  CHECK(count_runs(&it, &total) == 1 && total == 1);

  nn_tensor *all[] = {t, u, s, m, mt, o, row, w, wo, e};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) nn_tensor_release(all[i]);
}

/* The walk visits every element exactly once, in row-major order of the
 * output, with the right input element: checked on a permuted, narrowed,
 * broadcast 4-D case against explicit index arithmetic. */
static void test_iter_order(void) {
  nn_tensor *base = nn_tensor_empty(NN_INT64, 4, SHAPE(3, 4, 5, 6));
  int64_t *b = nn_tensor_data(base);
  for (int64_t i = 0; i < 360; i++) b[i] = i;
  /* in[i,j,k] = base[1 + k, j, 0, 2*i]: shape [3, 4, 2] (i<3, j<4, k<2) */
  nn_tensor *in = nn_tensor_view(base, 3, SHAPE(3, 4, 2), SHAPE(2, 30, 120), 120);
  nn_tensor *out = nn_tensor_zeros(NN_INT64, 4, SHAPE(2, 3, 4, 2)); /* in broadcast on a new dim */
  nn_iter it;
  nn_iter_init_tensors(&it, 4, out->shape, 2, (const nn_tensor *[]){out, in});
  while (nn_iter_next(&it))
    for (int64_t r = 0; r < it.n; r++)
      *(int64_t *)(it.ptr[0] + r * it.step[0] * 8) = *(const int64_t *)(it.ptr[1] + r * it.step[1] * 8);
  const int64_t *o = nn_tensor_data(out);
  bool ok = true;
  for (int h = 0; h < 2; h++)
    for (int i = 0; i < 3; i++)
      for (int j = 0; j < 4; j++)
        for (int k = 0; k < 2; k++)
          ok = ok && o[((h * 3 + i) * 4 + j) * 2 + k] == 120 + 2 * i + 30 * j + 120 * k;
  CHECK(ok);
  nn_tensor_release(in);
  nn_tensor_release(out);
  nn_tensor_release(base);
}

int main(void) {
  RUN(test_dtypes);
  RUN(test_shape_sizes);
  RUN(test_empty_zeros_views);
  RUN(test_is_contiguous);
  RUN(test_broadcast);
  RUN(test_view_strides);
  RUN(test_iter_coalescing);
  RUN(test_iter_order);
  return check_summary();
}
