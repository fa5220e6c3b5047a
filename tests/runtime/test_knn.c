/* The knn family against naive loops: the search (euclidean and cosine,
 * more queries and training rows than one block, k from 1 to N, a zero
 * row for cosine, 1 and 2 threads, a strided input through the entry
 * point), the vote (uniform and by distance, a neighbour at distance 0,
 * the tie rule, labels out of range), each allocation failing in turn and
 * no leak. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_knn.h"
#include "nn_threads.h"

/* Naive distance between rows a and b. */
static double naive_dist(const float *a, const float *b, int64_t d, nn_knn_metric m) {
  double s = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < d; i++) {
    if (m == NN_KNN_EUCLIDEAN) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    else s += (double)a[i] * b[i], aa += (double)a[i] * a[i], bb += (double)b[i] * b[i];
  }
  if (m == NN_KNN_EUCLIDEAN) return sqrt(s);
  double c = s / ((aa > 0 ? sqrt(aa) : 1) * (bb > 0 ? sqrt(bb) : 1));
  return fmin(2, fmax(0, 1 - c));
}

static void fill(float *p, int64_t n) {
  for (int64_t i = 0; i < n; i++) p[i] = (float)rnd();
}

/* Search result of each query against a naive full sort (by distance,
 * then index). */
static void check_search(int64_t q, int64_t n, int64_t d, int64_t k, nn_knn_metric m) {
  float *x = malloc(sizeof(float) * (size_t)(q * d)), *t = malloc(sizeof(float) * (size_t)(n * d));
  float *dist = malloc(sizeof(float) * (size_t)(q * k));
  int64_t *idx = malloc(sizeof(int64_t) * (size_t)(q * k));
  double *all = malloc(sizeof(double) * (size_t)n);
  int64_t *order = malloc(sizeof(int64_t) * (size_t)n);
  fill(x, q * d);
  fill(t, n * d);
  if (m == NN_KNN_COSINE) memset(t + 2 * d, 0, sizeof(float) * (size_t)d); /* a zero row */
  CHECK(nn_kernel_knn_search(dist, idx, x, t, q, n, d, k, m) == NN_OK);
  int bad = 0;
  for (int64_t r = 0; r < q; r++) {
    for (int64_t j = 0; j < n; j++) all[j] = naive_dist(x + r * d, t + j * d, d, m), order[j] = j;
    for (int64_t a = 0; a < k; a++) { /* selection by (distance, index) */
      int64_t best = a;
      for (int64_t b = a + 1; b < n; b++)
        if (all[order[b]] < all[order[best]] ||
            (all[order[b]] == all[order[best]] && order[b] < order[best]))
          best = b;
      int64_t s = order[a];
      order[a] = order[best], order[best] = s;
    }
    for (int64_t a = 0; a < k; a++) {
      bad += fabs(dist[r * k + a] - all[order[a]]) > 1e-5;
      /* the same row, or another at the same distance */
      bad += idx[r * k + a] != order[a] + 1 && fabs(all[idx[r * k + a] - 1] - all[order[a]]) > 1e-6;
    }
  }
  CHECK(bad == 0);
  free(x), free(t), free(dist), free(idx), free(all), free(order);
}

static void test_search(void) {
  for (int th = 1; th <= 2; th++) {
    nn_set_num_threads(th);
    for (int m = 0; m < 2; m++) {
      check_search(7, 30, 5, 1, (nn_knn_metric)m);
      check_search(7, 30, 5, 30, (nn_knn_metric)m);
      check_search(600, 2100, 9, 4, (nn_knn_metric)m); /* several blocks each way */
    }
  }
  nn_set_num_threads(1);
}

static void test_vote(void) {
  /* 2 queries, k = 3, 4 training rows of classes {1, 2, 2, 3} */
  int64_t labels[4] = {1, 2, 2, 3};
  float dist[6] = {0.5f, 1.0f, 2.0f, 0.0f, 1.0f, 3.0f};
  int64_t idx[6] = {1, 2, 4, 4, 2, 3};
  float proba[6];
  int64_t pred[2];
  CHECK(nn_kernel_knn_vote(proba, pred, dist, idx, labels, 2, 3, 4, 3, false) == NN_OK);
  /* query 1: classes 1, 2, 3 one vote each: the nearest (class 1) wins */
  CHECK_NEAR(proba[0], 1.0 / 3, 1e-7);
  CHECK(pred[0] == 1);
  /* query 2: class 3 once, class 2 twice */
  CHECK_NEAR(proba[4], 2.0 / 3, 1e-7);
  CHECK(pred[1] == 2);
  CHECK(nn_kernel_knn_vote(proba, pred, dist, idx, labels, 2, 3, 4, 3, true) == NN_OK);
  /* weights 2, 1, 0.5 */
  CHECK_NEAR(proba[0], 2 / 3.5, 1e-6);
  CHECK_NEAR(proba[1], 1 / 3.5, 1e-6);
  CHECK(pred[0] == 1);
  /* a neighbour at distance 0 takes the whole vote */
  CHECK(proba[3] == 0 && proba[4] == 0 && proba[5] == 1 && pred[1] == 3);
  labels[2] = 4;
  CHECK(nn_kernel_knn_vote(proba, pred, dist, idx, labels, 2, 3, 4, 3, false) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "label 4 of training row 3 is outside 1..3") != NULL);
  labels[2] = 2;
  idx[1] = 5;
  CHECK(nn_kernel_knn_vote(proba, pred, dist, idx, labels, 2, 3, 4, 3, false) == NN_ERR_VALUE);
  CHECK(strstr(nn_error_message(), "neighbour index 5 is outside 1..4") != NULL);
}

/* The entry points on a strided (transposed) x, each allocation failing in turn. */
static void test_entry(void) {
  uint64_t live = nn_memory_stats_get().live_count;
  int64_t ts[2] = {40, 3}, xs[2] = {3, 10}, k = 4;
  nn_tensor *train = nn_tensor_empty(NN_FLOAT32, 2, ts), *xb = nn_tensor_empty(NN_FLOAT32, 2, xs);
  fill(nn_tensor_data(train), 120);
  fill(nn_tensor_data(xb), 30);
  nn_tensor *x = nn_tensor_view(xb, 2, (int64_t[]){10, 3}, (int64_t[]){1, 10}, 0);
  int64_t os[2] = {10, k}, ls[1] = {40}, ps[2] = {10, 5};
  nn_tensor *labels = nn_tensor_empty(NN_INT64, 1, ls);
  for (int64_t j = 0; j < 40; j++) ((int64_t *)nn_tensor_data(labels))[j] = 1 + j % 5;
  nn_status st = NN_ERR_NOMEM;
  int failures = 0;
  for (uint64_t n = 1; n < 30 && st == NN_ERR_NOMEM; n++) {
    nn_tensor *d = nn_tensor_empty(NN_FLOAT32, 2, os), *i = nn_tensor_empty(NN_INT64, 2, os);
    nn_tensor *p = nn_tensor_empty(NN_FLOAT32, 2, ps), *c = nn_tensor_empty(NN_INT64, 1, ps);
    nn_alloc_fail_after(n);
    st = nn_knn_search(d, i, x, train, k, NN_KNN_EUCLIDEAN);
    if (!st) st = nn_knn_vote(p, c, d, i, labels, true);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    if (!st) {
      /* row 3 of x is column 3 of xb */
      const float *xd = nn_tensor_data(xb), *td = nn_tensor_data(train);
      float row[3] = {xd[3], xd[13], xd[23]};
      int64_t first = ((int64_t *)nn_tensor_data(i))[3 * k] - 1;
      CHECK_NEAR(((float *)nn_tensor_data(d))[3 * k],
                 naive_dist(row, td + first * 3, 3, NN_KNN_EUCLIDEAN), 1e-5);
      double sum = 0;
      for (int c5 = 0; c5 < 5; c5++) sum += ((float *)nn_tensor_data(p))[3 * 5 + c5];
      CHECK_NEAR(sum, 1, 1e-6);
    }
    nn_tensor_release(d), nn_tensor_release(i), nn_tensor_release(p), nn_tensor_release(c);
  }
  CHECK(failures >= 2 && st == NN_OK);
  nn_tensor_release(x), nn_tensor_release(xb), nn_tensor_release(train), nn_tensor_release(labels);
  CHECK(nn_memory_stats_get().live_count == live);
}

int main(void) {
  RUN(test_search);
  RUN(test_vote);
  RUN(test_entry);
  return check_summary();
}
