/* The sort family against naive loops: sort, topk, kthvalue, median and
 * mode along each dim of contiguous and transposed inputs (rows short
 * enough for the insertion sort and long enough for the radix passes and
 * topk's chunks; ties, NaN, -0; float32 and int64; 1 and 2 threads);
 * unique, bincount, histc; cdist by GEMM and directly for every p. The
 * entry points forward and backward, each allocation failing in turn. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_sort.h"
#include "nn_threads.h"

/* ---- helpers ---- */

/* A [rows, cols] tensor of small integers (ties) or of rnd() values, with
 * a NaN and a -0 sprinkled in; transposed: the [cols, rows] tensor's
 * transpose (strided). */
static nn_tensor *input(nn_dtype dt, int64_t rows, int64_t cols, bool ties, bool transposed) {
  int64_t shape[2] = {transposed ? cols : rows, transposed ? rows : cols};
  nn_tensor *t = nn_tensor_empty(dt, 2, shape);
  for (int64_t i = 0; i < rows * cols; i++) {
    double v = ties ? floor(rnd() * 4) : rnd();
    if (dt == NN_INT64) ((int64_t *)nn_tensor_data(t))[i] = (int64_t)floor(rnd() * 5);
    else ((float *)nn_tensor_data(t))[i] = i % 37 == 5 ? NAN : i % 41 == 7 ? -0.0f : (float)v;
  }
  if (!transposed) return t;
  int64_t s[2] = {rows, cols}, st[2] = {1, rows};
  nn_tensor *v = nn_tensor_view(t, 2, s, st, 0);
  nn_tensor_release(t);
  return v;
}

static double at(const nn_tensor *t, int64_t i, int64_t j) {
  int64_t off = t->offset + i * t->stride[0] + (t->ndim > 1 ? j * t->stride[1] : 0);
  return t->dtype == NN_FLOAT32 ? ((float *)t->storage->data)[off]
                                : (double)((int64_t *)t->storage->data)[off];
}

/* Element k of row r along dim (0 or 1) of a 2-D tensor. */
static double along(const nn_tensor *t, int dim, int64_t r, int64_t k) {
  return dim == 1 ? at(t, r, k) : at(t, k, r);
}

/* a before b in ascending order: NaN last, -0 == 0. */
static bool less(double a, double b) { return !isnan(a) && (isnan(b) || a < b); }
static bool same(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* Positions 0..n-1 of row r stably sorted (descending: by reversed order). */
static void naive_order(const nn_tensor *t, int dim, int64_t r, bool desc, int64_t *pos) {
  int64_t n = t->shape[dim];
  for (int64_t i = 0; i < n; i++) {
    int64_t p = i, j = i;
    double v = along(t, dim, r, p);
    for (; j > 0; j--) {
      double u = along(t, dim, r, pos[j - 1]);
      if (!(desc ? less(u, v) : less(v, u))) break;
      pos[j] = pos[j - 1];
    }
    pos[j] = p;
  }
}

/* A contiguous [rows, k] (dim 1) or [k, cols] (dim 0) output. */
static nn_tensor *out_for(nn_dtype dt, const nn_tensor *t, int dim, int64_t k) {
  int64_t s[2] = {t->shape[0], t->shape[1]};
  s[dim] = k;
  return nn_tensor_empty(dt, 2, s);
}

/* ---- selections against naive loops ---- */

static void check_sort(nn_dtype dt, int64_t rows, int64_t cols, bool ties, bool tr, int dim,
                       bool desc) {
  nn_tensor *t = input(dt, rows, cols, ties, tr);
  int64_t n = t->shape[dim], nrows = t->shape[1 - dim], pos[600];
  nn_tensor *v = out_for(dt, t, dim, n), *i = out_for(NN_INT64, t, dim, n);
  CHECK(nn_sort(v, i, t, dim, desc) == NN_OK);
  bool ok = true;
  for (int64_t r = 0; r < nrows; r++) {
    naive_order(t, dim, r, desc, pos);
    for (int64_t k = 0; k < n; k++)
      ok = ok && along(i, dim, r, k) == pos[k] + 1 &&
           same(along(v, dim, r, k), along(t, dim, r, pos[k]));
  }
  CHECK(ok);
  nn_tensor_release(v), nn_tensor_release(i), nn_tensor_release(t);
}

static void check_topk(nn_dtype dt, int64_t rows, int64_t cols, bool tr, int dim, int64_t k,
                       bool largest) {
  nn_tensor *t = input(dt, rows, cols, true, tr);
  int64_t nrows = t->shape[1 - dim], pos[600];
  nn_tensor *v = out_for(dt, t, dim, k), *i = out_for(NN_INT64, t, dim, k);
  CHECK(nn_topk(v, i, t, dim, k, largest) == NN_OK);
  bool ok = true;
  for (int64_t r = 0; r < nrows; r++) {
    naive_order(t, dim, r, largest, pos);
    for (int64_t q = 0; q < k; q++)
      ok = ok && along(i, dim, r, q) == pos[q] + 1 &&
           same(along(v, dim, r, q), along(t, dim, r, pos[q]));
  }
  CHECK(ok);
  nn_tensor_release(v), nn_tensor_release(i), nn_tensor_release(t);
}

typedef enum { PICK_KTH, PICK_MEDIAN, PICK_MODE } pick_kind;

/* The value kthvalue/median/mode picks in row r (k: kthvalue's, 1-based). */
static double naive_pick(const nn_tensor *t, int dim, int64_t r, pick_kind kind, int64_t k) {
  int64_t n = t->shape[dim], pos[600];
  naive_order(t, dim, r, false, pos);
  if (kind == PICK_KTH) return along(t, dim, r, pos[k - 1]);
  if (kind == PICK_MEDIAN)
    return isnan(along(t, dim, r, pos[n - 1])) ? NAN : along(t, dim, r, pos[(n - 1) / 2]);
  double best = 0;
  int64_t best_count = 0;
  for (int64_t a = 0; a < n; a++) {
    double v = along(t, dim, r, pos[a]);
    int64_t c = 0;
    for (int64_t b = 0; b < n && !isnan(v); b++) c += along(t, dim, r, b) == v;
    if (isnan(v)) c = 1;
    if (c > best_count) best = v, best_count = c;
  }
  return best;
}

static void check_pick(pick_kind kind, nn_dtype dt, int64_t rows, int64_t cols, bool tr, int dim,
                       int64_t k) {
  nn_tensor *t = input(dt, rows, cols, true, tr);
  int64_t nrows = t->shape[1 - dim];
  nn_tensor *v = nn_tensor_empty(dt, 1, &nrows), *i = nn_tensor_empty(NN_INT64, 1, &nrows);
  nn_sort_args a = {.dim = dim};
  nn_status st = kind == PICK_KTH ? nn_kthvalue(v, i, t, k, &a)
                 : kind == PICK_MEDIAN ? nn_median(v, i, t, &a) : nn_mode(v, i, t, &a);
  CHECK(st == NN_OK);
  bool ok = true;
  for (int64_t r = 0; r < nrows; r++) {
    double want = naive_pick(t, dim, r, kind, k);
    int64_t first = 0;
    while (!same(along(t, dim, r, first), want)) first++;
    ok = ok && same(at(v, r, 0), want) && at(i, r, 0) == first + 1;
  }
  CHECK(ok);
  nn_tensor_release(v), nn_tensor_release(i), nn_tensor_release(t);
}

static void test_selections(void) {
  for (int threads = 1; threads <= 2; threads++) {
    nn_set_num_threads(threads);
    for (int tr = 0; tr < 2; tr++)
      for (int dim = 0; dim < 2; dim++) {
        check_sort(NN_FLOAT32, 7, 20, true, tr, dim, false);
        check_sort(NN_FLOAT32, 3, 500, false, tr, 1, dim);
        check_sort(NN_FLOAT32, 230, 300, true, tr, 1, dim); /* 2 workers */
        check_sort(NN_INT64, 5, 400, true, tr, dim, dim);
        check_topk(NN_FLOAT32, 230, 300, tr, 1, 9, dim);
        check_topk(NN_FLOAT32, 6, 500, tr, 1, 200, dim);
        check_topk(NN_FLOAT32, 9, 8, tr, dim, 3, !dim);
        check_topk(NN_INT64, 4, 300, tr, 1, 5, dim);
        check_pick(PICK_KTH, NN_FLOAT32, 5, 300, tr, 1, 150);
        check_pick(PICK_KTH, NN_FLOAT32, 6, 9, tr, dim, 4);
        check_pick(PICK_MEDIAN, NN_FLOAT32, 6, 301, tr, 1, 0);
        check_pick(PICK_MEDIAN, NN_INT64, 6, 10, tr, dim, 0);
        check_pick(PICK_MODE, NN_FLOAT32, 6, 200, tr, 1, 0);
        check_pick(PICK_MODE, NN_INT64, 7, 9, tr, dim, 0);
      }
  }
  nn_set_num_threads(1);
}

/* ---- counting ---- */

static void test_unique(void) {
  int64_t n = 9;
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, 1, &n);
  const float x[9] = {3, -1, NAN, 3, 0, -0.0f, 7, NAN, -1};
  memcpy(nn_tensor_data(t), x, sizeof x);
  int64_t k;
  CHECK(nn_unique_count(t, &k) == NN_OK && k == 6);
  nn_tensor *v = nn_tensor_empty(NN_FLOAT32, 1, &k), *inv = nn_tensor_empty(NN_INT64, 1, &n),
            *cnt = nn_tensor_empty(NN_INT64, 1, &k);
  CHECK(nn_unique(v, inv, cnt, t) == NN_OK);
  const float *pv = nn_tensor_data(v);
  const int64_t *pi = nn_tensor_data(inv), *pc = nn_tensor_data(cnt);
  CHECK(pv[0] == -1 && pv[1] == 0 && pv[2] == 3 && pv[3] == 7 && isnan(pv[4]) && isnan(pv[5]));
  CHECK(pc[0] == 2 && pc[1] == 2 && pc[2] == 2 && pc[3] == 1 && pc[4] == 1 && pc[5] == 1);
  CHECK(pi[0] == 3 && pi[1] == 1 && pi[2] == 5 && pi[4] == 2 && pi[5] == 2 && pi[7] == 6);
  nn_tensor_release(v), nn_tensor_release(inv), nn_tensor_release(cnt), nn_tensor_release(t);
}

static void test_bincount_histc(void) {
  int64_t n = 5, len;
  nn_tensor *t = nn_tensor_empty(NN_INT64, 1, &n), *w = nn_tensor_empty(NN_FLOAT32, 1, &n);
  memcpy(nn_tensor_data(t), (int64_t[]){2, 4, 2, 1, 4}, 5 * sizeof(int64_t));
  memcpy(nn_tensor_data(w), (float[]){0.5f, 1, 2, 4, 8}, 5 * sizeof(float));
  CHECK(nn_bincount_length(t, 0, &len) == NN_OK && len == 4);
  CHECK(nn_bincount_length(t, 6, &len) == NN_OK && len == 6);
  nn_tensor *c = nn_tensor_zeros(NN_INT64, 1, &len), *cw = nn_tensor_zeros(NN_FLOAT32, 1, &len);
  nn_bincount(c, t, NULL);
  nn_bincount(cw, t, w);
  const int64_t *pc = nn_tensor_data(c);
  const float *pw = nn_tensor_data(cw);
  CHECK(pc[0] == 1 && pc[1] == 2 && pc[2] == 0 && pc[3] == 2 && pc[5] == 0);
  CHECK(pw[0] == 4 && pw[1] == 2.5f && pw[3] == 9);
  ((int64_t *)nn_tensor_data(t))[2] = 0;
  CHECK(nn_bincount_length(t, 0, &len) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "value 0 at position 3 is < 1") != NULL);
  ((float *)nn_tensor_data(w))[1] = 1.5f;
  CHECK(nn_bincount_length(w, 0, &len) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "value 0.5 at position 1") != NULL);
  int64_t bins = 4;
  nn_tensor *h = nn_tensor_empty(NN_FLOAT32, 1, &bins);
  memcpy(nn_tensor_data(w), (float[]){0, 1, 2, 3, NAN}, 5 * sizeof(float));
  nn_histc(h, w, 0, 4);
  const float *ph = nn_tensor_data(h);
  CHECK(ph[0] == 1 && ph[1] == 1 && ph[2] == 1 && ph[3] == 1);
  nn_histc(h, w, 1, 3); /* 3 lands in the last bin; 0 is outside */
  CHECK(ph[0] == 1 && ph[1] == 0 && ph[2] == 1 && ph[3] == 1);
  nn_histc(h, w, 0, 0); /* the data's range, 0..3 */
  CHECK(ph[0] == 1 && ph[1] == 1 && ph[2] == 1 && ph[3] == 1);
  nn_tensor_release(h), nn_tensor_release(c), nn_tensor_release(cw);
  nn_tensor_release(t), nn_tensor_release(w);
}

/* ---- entry points: recording, backward, allocation failures ---- */

static nn_tensor *leaf(int ndim, const int64_t *shape) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  for (int64_t i = 0; i < nn_tensor_numel(t); i++) ((float *)nn_tensor_data(t))[i] = (float)rnd();
  t->requires_grad = true;
  return t;
}

/* Backward from out with gradient 1, 2, 3, ... */
static bool backward_ramp(nn_tensor *out) {
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, out->ndim, out->shape);
  for (int64_t i = 0; i < nn_tensor_numel(g); i++) ((float *)nn_tensor_data(g))[i] = (float)(i + 1);
  bool ok = nn_backward(out, g, false).status == NN_BACKWARD_OK;
  nn_tensor_release(g);
  return ok;
}

/* Each gradient element of x is what the output positions that chose it
 * got from the ramp: x.grad[idx[p]] == p + 1 along dim 1 of [2, n]. */
static void test_sort_entry(void) {
  int64_t s[2] = {2, 50}, k = 7, sk[2] = {2, 7};
  nn_tensor *x = leaf(2, s);
  nn_tensor *v = nn_tensor_empty(NN_FLOAT32, 2, s), *i = nn_tensor_empty(NN_INT64, 2, s);
  CHECK(nn_sort(v, i, x, 1, true) == NN_OK && v->grad_fn && v->grad_fn->op == NN_OP_SORT);
  CHECK(backward_ramp(v) && x->grad);
  bool ok = true;
  for (int64_t p = 0; p < 100; p++)
    ok = ok && ((float *)nn_tensor_data(x->grad))[(p / 50) * 50 +
                                                  ((int64_t *)nn_tensor_data(i))[p] - 1] == p + 1;
  CHECK(ok);
  nn_tensor_release(v), nn_tensor_release(i);
  nn_tensor_release(x->grad);
  x->grad = NULL;
  v = nn_tensor_empty(NN_FLOAT32, 2, sk), i = nn_tensor_empty(NN_INT64, 2, sk);
  CHECK(nn_topk(v, i, x, 1, k, false) == NN_OK && v->grad_fn->op == NN_OP_TOPK);
  CHECK(backward_ramp(v));
  const int64_t *pi = nn_tensor_data(i);
  CHECK(((float *)nn_tensor_data(x->grad))[pi[3] - 1] == 4);
  CHECK(((float *)nn_tensor_data(x->grad))[50 + pi[9] - 1] == 10);
  nn_tensor_release(v), nn_tensor_release(i), nn_tensor_release(x);
}

/* kthvalue with the dim dropped, median of everything: one element gets
 * each gradient. */
static void test_pick_entry(void) {
  int64_t s[2] = {3, 4}, three = 3;
  nn_tensor *x = leaf(2, s);
  nn_tensor *v = nn_tensor_empty(NN_FLOAT32, 1, &three), *i = nn_tensor_empty(NN_INT64, 1, &three);
  nn_sort_args a = {.dim = 1};
  CHECK(nn_kthvalue(v, i, x, 2, &a) == NN_OK && v->grad_fn->op == NN_OP_KTHVALUE);
  CHECK(backward_ramp(v));
  const int64_t *pi = nn_tensor_data(i);
  const float *gx = nn_tensor_data(x->grad);
  float sum = 0;
  for (int e = 0; e < 12; e++) sum += gx[e];
  CHECK(sum == 6 && gx[4 + pi[1] - 1] == 2 && gx[8 + pi[2] - 1] == 3);
  nn_tensor_release(v), nn_tensor_release(i);
  nn_tensor_release(x->grad);
  x->grad = NULL;
  nn_tensor *m = nn_tensor_empty(NN_FLOAT32, 0, NULL);
  CHECK(nn_median(m, NULL, x, &(nn_sort_args){.dim = -1}) == NN_OK && m->grad_fn);
  CHECK(backward_ramp(m));
  int hits = 0;
  for (int e = 0; e < 12; e++) {
    hits += gx != NULL && ((float *)nn_tensor_data(x->grad))[e] == 1;
    if (((float *)nn_tensor_data(x->grad))[e] == 1)
      CHECK(((float *)nn_tensor_data(x))[e] == *(float *)nn_tensor_data(m));
  }
  CHECK(hits == 1);
  nn_tensor_release(m), nn_tensor_release(x);
}

/* Every allocation of nn_sort (the contiguous copy, the scratch, the node)
 * made to fail in turn: NN_ERR_NOMEM, nothing leaked. */
static void test_sort_out_of_memory(void) {
  int64_t s[2] = {4, 40};
  nn_tensor *base = leaf(2, s);
  int64_t ts[2] = {40, 4}, st[2] = {1, 40};
  nn_tensor *x = nn_tensor_view(base, 2, ts, st, 0);
  x->requires_grad = true;
  uint64_t live = nn_memory_stats_get().live_count;
  int failures = 0;
  nn_status status = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 20 && status == NN_ERR_NOMEM; n++) {
    nn_tensor *v = nn_tensor_empty(NN_FLOAT32, 2, ts), *i = nn_tensor_empty(NN_INT64, 2, ts);
    nn_alloc_fail_after(n);
    status = nn_sort(v, i, x, 0, false);
    nn_alloc_fail_after(0);
    failures += status == NN_ERR_NOMEM;
    CHECK(status == NN_ERR_NOMEM || (status == NN_OK && v->grad_fn));
    nn_tensor_release(v), nn_tensor_release(i);
  }
  CHECK(failures >= 2 && status == NN_OK);
  CHECK(nn_memory_stats_get().live_count == live);
  nn_tensor_release(x), nn_tensor_release(base);
}

/* ---- cdist ---- */

/* Naive distances and gradients (g = 1 everywhere) of x1 [n, d], x2 [m, d]. */
static void naive_cdist(const float *a, const float *b, int64_t n, int64_t m, int64_t d, double p,
                        double *dist, double *ga, double *gb) {
  memset(ga, 0, sizeof(double) * (size_t)(n * d));
  memset(gb, 0, sizeof(double) * (size_t)(m * d));
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) {
      double s = 0;
      for (int64_t k = 0; k < d; k++) {
        double t = fabs((double)a[i * d + k] - b[j * d + k]);
        s = isinf(p) ? fmax(s, t) : p == 0 ? s + (t != 0) : s + pow(t, p);
      }
      double r = isinf(p) || p == 0 ? s : pow(s, 1 / p);
      dist[i * m + j] = r;
      for (int64_t k = 0; k < d && r > 0 && p > 0; k++) {
        double df = (double)a[i * d + k] - b[j * d + k];
        double gk = isinf(p) ? (fabs(df) == r) * ((df > 0) - (df < 0))
                             : ((df > 0) - (df < 0)) * pow(fabs(df), p - 1) / pow(r, p - 1);
        ga[i * d + k] += gk;
        gb[j * d + k] -= gk;
      }
    }
}

static void check_cdist(int64_t n, int64_t m, int64_t d, double p) {
  int64_t s1[2] = {n, d}, s2[2] = {m, d}, so[2] = {n, m};
  nn_tensor *x1 = leaf(2, s1), *x2 = leaf(2, s2), *out = nn_tensor_empty(NN_FLOAT32, 2, so);
  CHECK(nn_cdist(out, x1, x2, &(nn_cdist_args){p}) == NN_OK && out->grad_fn);
  nn_tensor *g = nn_tensor_empty(NN_FLOAT32, 2, so);
  for (int64_t i = 0; i < n * m; i++) ((float *)nn_tensor_data(g))[i] = 1;
  CHECK(nn_backward(out, g, false).status == NN_BACKWARD_OK);
  double dist[40 * 40], ga[40 * 8], gb[40 * 8];
  naive_cdist(nn_tensor_data(x1), nn_tensor_data(x2), n, m, d, p, dist, ga, gb);
  double err = 0, gerr = 0;
  for (int64_t i = 0; i < n * m; i++) err = fmax(err, fabs(((float *)nn_tensor_data(out))[i] - dist[i]));
  for (int64_t i = 0; i < n * d; i++) gerr = fmax(gerr, fabs(((float *)nn_tensor_data(x1->grad))[i] - ga[i]));
  for (int64_t i = 0; i < m * d; i++) gerr = fmax(gerr, fabs(((float *)nn_tensor_data(x2->grad))[i] - gb[i]));
  CHECK_NEAR(err, 0, 1e-5);
  CHECK_NEAR(gerr, 0, 1e-4);
  nn_tensor_release(g), nn_tensor_release(out), nn_tensor_release(x1), nn_tensor_release(x2);
}

static void test_cdist(void) {
  check_cdist(5, 7, 3, 2);   /* direct */
  check_cdist(30, 4, 6, 2);  /* GEMM */
  check_cdist(6, 40, 8, 2);
  check_cdist(5, 4, 3, 1);
  check_cdist(5, 4, 3, 3);
  check_cdist(5, 4, 3, 0.5);
  check_cdist(5, 4, 3, INFINITY);
  check_cdist(5, 4, 3, 0);
}

/* cdist's forward and its backward with each allocation failing in turn:
 * NOMEM (or NO_MEMORY), nothing leaked. */
static void test_cdist_out_of_memory(void) {
  int64_t s1[2] = {30, 4}, s2[2] = {3, 4}, so[2] = {30, 3};
  nn_tensor *x1 = leaf(2, s1), *x2 = leaf(2, s2);
  uint64_t live = nn_memory_stats_get().live_count;
  int failures = 0;
  nn_status status = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 20 && status == NN_ERR_NOMEM; n++) {
    nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, so);
    nn_alloc_fail_after(n);
    status = nn_cdist(out, x1, x2, &(nn_cdist_args){2});
    nn_alloc_fail_after(0);
    failures += status == NN_ERR_NOMEM;
    nn_tensor_release(out);
  }
  CHECK(failures > 0 && status == NN_OK);
  CHECK(nn_memory_stats_get().live_count == live);
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 2, so), *g = nn_tensor_zeros(NN_FLOAT32, 2, so);
  CHECK(nn_cdist(out, x1, x2, &(nn_cdist_args){2}) == NN_OK);
  nn_backward_error err = {NN_BACKWARD_NO_MEMORY, NULL};
  failures = 0;
  for (uint64_t n = 1; n < 20 && err.status == NN_BACKWARD_NO_MEMORY; n++) {
    nn_alloc_fail_after(n);
    err = nn_backward(out, g, true);
    nn_alloc_fail_after(0);
    failures += err.status == NN_BACKWARD_NO_MEMORY;
  }
  CHECK(failures > 0 && err.status == NN_BACKWARD_OK && x1->grad && x2->grad);
  nn_tensor_release(g), nn_tensor_release(out), nn_tensor_release(x1), nn_tensor_release(x2);
}

int main(void) {
  RUN(test_selections);
  RUN(test_unique);
  RUN(test_bincount_histc);
  RUN(test_sort_entry);
  RUN(test_pick_entry);
  RUN(test_sort_out_of_memory);
  RUN(test_cdist);
  RUN(test_cdist_out_of_memory);
  return check_summary();
}
