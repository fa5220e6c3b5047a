/* nn_kernel_matmul against a naive triple loop: plain, transposed A and B,
 * row-strided (narrowed) operands, batched, broadcast batch (stride 0) on
 * either side, 1xK / Kx1 / k=0 / empty edge shapes, and int64; the matmul
 * and outer entry points with PyTorch's shape rules and their gradients. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_matmul.h"

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})

static nn_tensor *filled(nn_dtype dt, int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(dt, ndim, shape);
  int64_t n = nn_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    if (dt == NN_FLOAT32) ((float *)nn_tensor_data(t))[i] = (float)rnd();
    else ((int64_t *)nn_tensor_data(t))[i] = (int64_t)floor(rnd() * 10);
  }
  return t;
}

/* A view of base with the given geometry; base is released (the view
 * keeps the storage). */
static nn_tensor *view_of(nn_tensor *base, int ndim, const int64_t *shape, const int64_t *stride,
                          int64_t offset) {
  nn_tensor *v = nn_tensor_view(base, ndim, shape, stride, offset);
  nn_tensor_release(base);
  return v;
}

static double elem(const nn_tensor *t, const int64_t *idx) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += idx[d] * t->stride[d];
  return t->dtype == NN_FLOAT32 ? ((const float *)nn_tensor_data(t))[off]
                                : (double)((const int64_t *)nn_tensor_data(t))[off];
}

/* Runs nn_kernel_matmul into a fresh out (pre-filled with garbage, so a kernel
 * that skips writing is caught) and compares with the naive loop. */
static bool check_product(const nn_tensor *a, const nn_tensor *b) {
  int d = a->ndim;
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, a->shape, sizeof shape);
  shape[d - 1] = b->shape[d - 1];
  nn_tensor *out = nn_tensor_empty(a->dtype, d, shape);
  int64_t numel = nn_tensor_numel(out);
  for (int64_t i = 0; i < numel; i++) {
    if (a->dtype == NN_FLOAT32) ((float *)nn_tensor_data(out))[i] = NAN;
    else ((int64_t *)nn_tensor_data(out))[i] = 12345;
  }
  nn_kernel_matmul(out, a, b);
  int64_t n = shape[d - 2], m = shape[d - 1], k = a->shape[d - 1];
  bool ok = true;
  for (int64_t flat = 0; flat < numel && ok; flat++) {
    int64_t idx[NN_MAX_DIMS], r = flat;
    for (int j = d - 1; j >= 0; j--) {
      idx[j] = r % shape[j];
      r /= shape[j];
    }
    int64_t i = idx[d - 2], j = idx[d - 1];
    int64_t ia[NN_MAX_DIMS], ib[NN_MAX_DIMS];
    memcpy(ia, idx, sizeof ia);
    memcpy(ib, idx, sizeof ib);
    double want = 0;
    for (int64_t p = 0; p < k; p++) {
      ia[d - 2] = i, ia[d - 1] = p;
      ib[d - 2] = p, ib[d - 1] = j;
      want += elem(a, ia) * elem(b, ib);
    }
    double got = elem(out, idx);
    ok = a->dtype == NN_FLOAT32 ? fabs(got - want) <= 1e-5 * (1 + fabs(want)) : got == want;
    if (!ok)
      fprintf(stderr, "  [n=%lld k=%lld m=%lld] element %lld: got %g, want %g\n", (long long)n, (long long)k,
              (long long)m, (long long)flat, got, want);
  }
  nn_tensor_release(out);
  return ok;
}

/* Runs check_product for every dtype and releases the operands. */
static bool check_and_release(nn_tensor *a, nn_tensor *b) {
  bool ok = check_product(a, b);
  nn_tensor_release(a);
  nn_tensor_release(b);
  return ok;
}

static void test_plain_and_transposed(void) {
  for (int dt = 0; dt < 2; dt++) {
    /* [3,4] @ [4,5] */
    CHECK(check_and_release(filled(dt, 2, SHAPE(3, 4)), filled(dt, 2, SHAPE(4, 5))));
    /* A transposed: the transpose of a [4,3] */
    CHECK(check_and_release(view_of(filled(dt, 2, SHAPE(4, 3)), 2, SHAPE(3, 4), SHAPE(1, 3), 0),
                            filled(dt, 2, SHAPE(4, 5))));
    /* B transposed */
    CHECK(check_and_release(filled(dt, 2, SHAPE(3, 4)),
                            view_of(filled(dt, 2, SHAPE(5, 4)), 2, SHAPE(4, 5), SHAPE(1, 4), 0)));
    /* both transposed */
    CHECK(check_and_release(view_of(filled(dt, 2, SHAPE(4, 3)), 2, SHAPE(3, 4), SHAPE(1, 3), 0),
                            view_of(filled(dt, 2, SHAPE(5, 4)), 2, SHAPE(4, 5), SHAPE(1, 4), 0)));
    /* row-strided: columns 2..5 of a [3,7] (leading dimension 7), offset 2 */
    CHECK(check_and_release(view_of(filled(dt, 2, SHAPE(3, 7)), 2, SHAPE(3, 4), SHAPE(7, 1), 2),
                            view_of(filled(dt, 2, SHAPE(4, 9)), 2, SHAPE(4, 5), SHAPE(9, 1), 3)));
    /* larger, so BLAS takes its blocked path */
    CHECK(check_and_release(filled(dt, 2, SHAPE(67, 129)), filled(dt, 2, SHAPE(129, 33))));
  }
}

static void test_edge_shapes(void) {
  for (int dt = 0; dt < 2; dt++) {
    CHECK(check_and_release(filled(dt, 2, SHAPE(1, 4)), filled(dt, 2, SHAPE(4, 5)))); /* 1xK */
    CHECK(check_and_release(filled(dt, 2, SHAPE(3, 4)), filled(dt, 2, SHAPE(4, 1)))); /* Kx1 */
    CHECK(check_and_release(filled(dt, 2, SHAPE(1, 4)), filled(dt, 2, SHAPE(4, 1)))); /* dot */
    CHECK(check_and_release(filled(dt, 2, SHAPE(3, 1)), filled(dt, 2, SHAPE(1, 5)))); /* outer, k=1 */
    /* vectors as the bindings pass them: a [k] with stride s as [1,k] or [k,1] */
    CHECK(check_and_release(view_of(filled(dt, 1, SHAPE(8)), 2, SHAPE(1, 4), SHAPE(1, 2), 0),
                            view_of(filled(dt, 1, SHAPE(12)), 2, SHAPE(4, 1), SHAPE(3, 1), 1)));
    CHECK(check_and_release(filled(dt, 2, SHAPE(3, 0)), filled(dt, 2, SHAPE(0, 5)))); /* k=0: zeros */
    CHECK(check_and_release(filled(dt, 2, SHAPE(0, 4)), filled(dt, 2, SHAPE(4, 5)))); /* n=0 */
    CHECK(check_and_release(filled(dt, 2, SHAPE(3, 4)), filled(dt, 2, SHAPE(4, 0)))); /* m=0 */
  }
}

static void test_batched(void) {
  for (int dt = 0; dt < 2; dt++) {
    /* [2,3,4] @ [2,4,5] */
    CHECK(check_and_release(filled(dt, 3, SHAPE(2, 3, 4)), filled(dt, 3, SHAPE(2, 4, 5))));
    /* b's batch broadcast (stride 0): [2,3,4] @ [4,5] as the bindings pass it */
    CHECK(check_and_release(filled(dt, 3, SHAPE(2, 3, 4)),
                            view_of(filled(dt, 2, SHAPE(4, 5)), 3, SHAPE(2, 4, 5), SHAPE(0, 5, 1), 0)));
    /* a's batch broadcast: [3,4] @ [2,4,5] */
    CHECK(check_and_release(view_of(filled(dt, 2, SHAPE(3, 4)), 3, SHAPE(2, 3, 4), SHAPE(0, 4, 1), 0),
                            filled(dt, 3, SHAPE(2, 4, 5))));
    /* 4-D with each side broadcasting a different batch dim: [2,1,3,4] @ [1,3,4,5] */
    CHECK(check_and_release(view_of(filled(dt, 3, SHAPE(2, 3, 4)), 4, SHAPE(2, 3, 3, 4), SHAPE(12, 0, 4, 1), 0),
                            view_of(filled(dt, 3, SHAPE(3, 4, 5)), 4, SHAPE(2, 3, 4, 5), SHAPE(0, 20, 5, 1), 0)));
    /* transposed matrices inside a batch, batch dim not outermost in memory */
    CHECK(check_and_release(view_of(filled(dt, 3, SHAPE(4, 2, 3)), 3, SHAPE(2, 3, 4), SHAPE(3, 1, 6), 0),
                            view_of(filled(dt, 3, SHAPE(2, 5, 4)), 3, SHAPE(2, 4, 5), SHAPE(20, 1, 4), 0)));
    /* b broadcast but a's batches not back to back (a narrowed): must not fold */
    CHECK(check_and_release(view_of(filled(dt, 3, SHAPE(2, 5, 4)), 3, SHAPE(2, 3, 4), SHAPE(20, 4, 1), 4),
                            view_of(filled(dt, 2, SHAPE(4, 5)), 3, SHAPE(2, 4, 5), SHAPE(0, 5, 1), 0)));
    /* batch of size 1 and batch with k=0 */
    CHECK(check_and_release(filled(dt, 3, SHAPE(1, 3, 4)), filled(dt, 3, SHAPE(1, 4, 5))));
    CHECK(check_and_release(filled(dt, 3, SHAPE(2, 3, 0)), filled(dt, 3, SHAPE(2, 0, 5))));
  }
}

static void test_blas_compatible(void) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 2, SHAPE(6, 8));
  nn_tensor *v;
  CHECK(nn_matmul_blas_compatible(t));
  v = nn_tensor_view(t, 2, SHAPE(8, 6), SHAPE(1, 8), 0); /* transposed */
  CHECK(nn_matmul_blas_compatible(v));
  nn_tensor_release(v);
  v = nn_tensor_view(t, 2, SHAPE(3, 4), SHAPE(16, 2), 0); /* no unit stride */
  CHECK(!nn_matmul_blas_compatible(v));
  nn_tensor_release(v);
  v = nn_tensor_view(t, 2, SHAPE(6, 4), SHAPE(8, 1), 0); /* narrowed columns: ld 8 */
  CHECK(nn_matmul_blas_compatible(v));
  nn_tensor_release(v);
  v = nn_tensor_view(t, 2, SHAPE(6, 4), SHAPE(2, 1), 0); /* overlapping rows: ld < cols */
  CHECK(!nn_matmul_blas_compatible(v));
  nn_tensor_release(v);
  v = nn_tensor_view(t, 2, SHAPE(1, 8), SHAPE(1, 6), 0); /* a strided row vector */
  CHECK(nn_matmul_blas_compatible(v));
  nn_tensor_release(v);
  v = nn_tensor_view(t, 3, SHAPE(2, 3, 8), SHAPE(0, 8, 1), 0); /* batch dims are not its concern */
  CHECK(nn_matmul_blas_compatible(v));
  nn_tensor_release(v);
  nn_tensor_release(t);
}

/* ---- entry points ---- */

static nn_tensor *leaf(int ndim, const int64_t *shape) {
  nn_tensor *t = filled(NN_FLOAT32, ndim, shape);
  t->requires_grad = true;
  return t;
}

/* The output of nn_matmul(a, b) (or nn_outer), sized by nn_matmul_shape. */
static nn_tensor *product(const nn_tensor *a, const nn_tensor *b, bool outer) {
  int ndim = 2;
  int64_t shape[NN_MAX_DIMS] = {a->shape[0], b->shape[0]};
  if (!outer) CHECK(nn_matmul_shape(a, b, &ndim, shape));
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  CHECK((outer ? nn_outer(out, a, b) : nn_matmul(out, a, b)) == NN_OK);
  return out;
}

/* d sum(a @ b) / da[i, k] = sum_j b[k, j]; / db[k, j] = sum_i a[i, k]. */
static void test_matmul_entry(void) {
  nn_tensor *a = leaf(2, SHAPE(3, 4)), *b = leaf(2, SHAPE(4, 2));
  nn_tensor *out = product(a, b, false);
  CHECK(out->ndim == 2 && out->shape[0] == 3 && out->shape[1] == 2 && check_product(a, b));
  nn_tensor *ones = nn_tensor_empty(NN_FLOAT32, 2, out->shape);
  nn_fill(ones, 1);
  CHECK(nn_backward(out, ones, false).status == NN_BACKWARD_OK);
  bool ok = a->grad && b->grad;
  for (int i = 0; ok && i < 3; i++)
    for (int k = 0; k < 4; k++)
      ok = fabs(elem(a->grad, (int64_t[]){i, k}) - (elem(b, (int64_t[]){k, 0}) + elem(b, (int64_t[]){k, 1}))) < 1e-5;
  for (int k = 0; ok && k < 4; k++) {
    double col = 0;
    for (int i = 0; i < 3; i++) col += elem(a, (int64_t[]){i, k});
    ok = fabs(elem(b->grad, (int64_t[]){k, 0}) - col) < 1e-5;
  }
  CHECK(ok);
  nn_tensor_release(ones);
  nn_tensor_release(out);
  /* a 1-D operand drops its unit dim: [4] @ [2, 4, 2] -> [2, 2] */
  nn_tensor *v = leaf(1, SHAPE(4)), *batch = leaf(3, SHAPE(2, 4, 2));
  out = product(v, batch, false);
  CHECK(out->ndim == 2 && out->shape[0] == 2 && out->shape[1] == 2);
  nn_tensor_release(out);
  /* a strided operand BLAS cannot read is copied first: same result */
  nn_tensor *base = filled(NN_FLOAT32, 2, SHAPE(4, 6));
  nn_tensor *strided = view_of(base, 2, SHAPE(4, 2), SHAPE(6, 3), 0);
  out = product(a, strided, false);
  double want = 0;
  for (int k = 0; k < 4; k++) want += elem(a, (int64_t[]){1, k}) * elem(strided, (int64_t[]){k, 1});
  CHECK(fabs(elem(out, (int64_t[]){1, 1}) - want) < 1e-5);
  nn_tensor_release(out);
  /* outer: the gradient reaches both vectors through the reshape views */
  nn_tensor *u = leaf(1, SHAPE(3));
  out = product(u, v, true);
  CHECK(out->shape[0] == 3 && out->shape[1] == 4);
  CHECK(fabs(elem(out, (int64_t[]){2, 1}) - elem(u, (int64_t[]){2}) * elem(v, (int64_t[]){1})) < 1e-6);
  ones = nn_tensor_empty(NN_FLOAT32, 2, out->shape);
  nn_fill(ones, 1);
  CHECK(nn_backward(out, ones, false).status == NN_BACKWARD_OK);
  double vsum = 0;
  for (int j = 0; j < 4; j++) vsum += elem(v, (int64_t[]){j});
  CHECK(u->grad && fabs(elem(u->grad, (int64_t[]){0}) - vsum) < 1e-5);
  CHECK(v->grad != NULL);
  nn_tensor *all[] = {ones, out, a, b, v, batch, strided, u};
  for (size_t i = 0; i < sizeof all / sizeof *all; i++) nn_tensor_release(all[i]);
}

int main(void) {
  rng_state = 0x2545F4914F6CDD1Dull; /* the data these tests were written with */
  uint64_t live0 = nn_memory_stats_get().live_count;
  RUN(test_plain_and_transposed);
  RUN(test_edge_shapes);
  RUN(test_batched);
  RUN(test_blas_compatible);
  RUN(test_matmul_entry);
  CHECK(nn_memory_stats_get().live_count == live0);
  return check_summary();
}
