/*
 * k-nearest-neighbour search and voting (nn_knn.h).
 *
 * The search goes by blocks: QUERY_BLOCK queries against TRAIN_BLOCK
 * training rows make one GEMM into a scratch block of scores, and each
 * query's k best scores so far sit in a sorted buffer that a score enters
 * only when it beats the k-th (one compare for most). A query block is
 * finished by computing its k candidates' distances directly.
 */
#include "nn_knn.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_elementwise.h"
#include "nn_threads.h"

#define QUERY_BLOCK 512
#define TRAIN_BLOCK 2048

/* Inserts (s, j) into the ascending buffer of cnt (< k or beating the
 * last) scores; equal scores keep the earlier index first. */
static inline void offer(float *bs, int64_t *bi, int64_t k, int64_t *cnt, float s, int64_t j) {
  int64_t p = *cnt < k ? (*cnt)++ : k - 1;
  while (p > 0 && bs[p - 1] > s) {
    bs[p] = bs[p - 1];
    bi[p] = bi[p - 1];
    p--;
  }
  bs[p] = s;
  bi[p] = j;
}

/* The exact distance between rows a and b of d elements. */
static double row_distance(const float *a, const float *b, int64_t d, nn_knn_metric metric) {
  if (metric == NN_KNN_EUCLIDEAN) {
    double s = 0;
    for (int64_t i = 0; i < d; i++) {
      double t = (double)a[i] - b[i];
      s += t * t;
    }
    return sqrt(s);
  }
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < d; i++) {
    ab += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  /* scikit-learn's normalize leaves a zero row at zero: cosine 0. */
  double na = aa > 0 ? sqrt(aa) : 1, nb = bb > 0 ? sqrt(bb) : 1;
  double dist = 1 - ab / (na * nb);
  return dist < 0 ? 0 : dist > 2 ? 2 : dist;
}

nn_status nn_kernel_knn_search(float *dist, int64_t *idx, const float *x, const float *train,
                               int64_t q, int64_t n, int64_t d, int64_t k, nn_knn_metric metric) {
  assert(k >= 1 && k <= n);
  int64_t qb = q < QUERY_BLOCK ? q : QUERY_BLOCK, tb = n < TRAIN_BLOCK ? n : TRAIN_BLOCK;
  size_t nb_tn = sizeof(float) * (size_t)n, nb_s = sizeof(float) * (size_t)(qb * tb),
         nb_bs = sizeof(float) * (size_t)(qb * k), nb_bi = sizeof(int64_t) * (size_t)(qb * k),
         nb_cnt = sizeof(int64_t) * (size_t)qb, nb_ex = sizeof(double) * (size_t)k;
  float *tn = nn_alloc(nb_tn), *s = nn_alloc(nb_s), *bs = nn_alloc(nb_bs);
  int64_t *bi = nn_alloc(nb_bi), *cnt = nn_alloc(nb_cnt);
  double *ex = nn_alloc(nb_ex);
  nn_status st = tn && s && bs && bi && cnt && ex ? NN_OK : NN_ERR_NOMEM;
  if (!st) {
    nn_blas_setup();
    /* euclidean: |t|^2; cosine: 1 / |t| (1 for a zero row). */
    for (int64_t j = 0; j < n; j++) {
      const float *t = train + j * d;
      double ss = 0;
      for (int64_t i = 0; i < d; i++) ss += (double)t[i] * t[i];
      tn[j] = metric == NN_KNN_EUCLIDEAN ? (float)ss : ss > 0 ? (float)(1 / sqrt(ss)) : 1.0f;
    }
    for (int64_t q0 = 0; q0 < q; q0 += qb) {
      int64_t qn = q - q0 < qb ? q - q0 : qb;
      memset(cnt, 0, sizeof(int64_t) * (size_t)qn);
      for (int64_t t0 = 0; t0 < n; t0 += tb) {
        int64_t tw = n - t0 < tb ? n - t0 : tb;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qn, (int)tw, (int)d, 1.0f,
                    x + q0 * d, (int)d, train + t0 * d, (int)d, 0.0f, s, (int)tw);
        for (int64_t r = 0; r < qn; r++) {
          float *row = s + r * tw, *rbs = bs + r * k;
          int64_t *rbi = bi + r * k;
          const float *w = tn + t0;
          /* score: the smaller the nearer */
          if (metric == NN_KNN_EUCLIDEAN)
            for (int64_t j = 0; j < tw; j++) row[j] = w[j] - 2 * row[j];
          else
            for (int64_t j = 0; j < tw; j++) row[j] = -row[j] * w[j];
          int64_t c = cnt[r], j = 0;
          for (; j < tw && c < k; j++) offer(rbs, rbi, k, &c, row[j], t0 + j);
          float worst = rbs[k - 1];
          for (; j < tw; j++)
            if (row[j] < worst) {
              offer(rbs, rbi, k, &c, row[j], t0 + j);
              worst = rbs[k - 1];
            }
          cnt[r] = c;
        }
      }
      /* the candidates' exact distances, nearest first, smaller index first */
      for (int64_t r = 0; r < qn; r++) {
        const int64_t *rbi = bi + r * k;
        float *od = dist + (q0 + r) * k;
        int64_t *oi = idx + (q0 + r) * k;
        for (int64_t a = 0; a < k; a++) {
          double v = row_distance(x + (q0 + r) * d, train + rbi[a] * d, d, metric);
          int64_t j = rbi[a], p = a;
          while (p > 0 && (ex[p - 1] > v || (ex[p - 1] == v && oi[p - 1] > j + 1))) {
            ex[p] = ex[p - 1];
            oi[p] = oi[p - 1];
            p--;
          }
          ex[p] = v;
          oi[p] = j + 1;
        }
        for (int64_t a = 0; a < k; a++) od[a] = (float)ex[a];
      }
    }
  }
  nn_free(tn, nb_tn);
  nn_free(s, nb_s);
  nn_free(bs, nb_bs);
  nn_free(bi, nb_bi);
  nn_free(cnt, nb_cnt);
  nn_free(ex, nb_ex);
  return st;
}

nn_status nn_kernel_knn_vote(float *proba, int64_t *pred, const float *dist, const int64_t *idx,
                             const int64_t *labels, int64_t q, int64_t k, int64_t n, int64_t c,
                             bool by_distance) {
  for (int64_t j = 0; j < n; j++)
    if (labels[j] < 1 || labels[j] > c)
      return nn_fail("knn: label %lld of training row %lld is outside 1..%lld",
                     (long long)labels[j], (long long)(j + 1), (long long)c);
  size_t nb = sizeof(double) * (size_t)c;
  double *sum = nn_alloc(nb);
  if (!sum) return NN_ERR_NOMEM;
  for (int64_t r = 0; r < q; r++) {
    const float *rd = dist + r * k;
    const int64_t *ri = idx + r * k;
    bool zero = false;
    for (int64_t a = 0; a < k && by_distance; a++) zero = zero || rd[a] == 0;
    memset(sum, 0, nb);
    double total = 0;
    for (int64_t a = 0; a < k; a++)
      if (ri[a] < 1 || ri[a] > n) {
        nn_free(sum, nb);
        return nn_fail("knn: neighbour index %lld is outside 1..%lld", (long long)ri[a],
                       (long long)n);
      }
    for (int64_t a = 0; a < k; a++) {
      double w = !by_distance ? 1 : zero ? (rd[a] == 0) : 1.0 / rd[a];
      sum[labels[ri[a] - 1] - 1] += w;
      total += w;
    }
    double best = -1;
    for (int64_t i = 0; i < c; i++) {
      proba[r * c + i] = (float)(sum[i] / total);
      best = sum[i] > best ? sum[i] : best;
    }
    /* the nearest neighbour whose class has the largest share */
    for (int64_t a = 0; a < k; a++) {
      int64_t cls = labels[ri[a] - 1];
      if (sum[cls - 1] == best) {
        pred[r] = cls;
        break;
      }
    }
  }
  nn_free(sum, nb);
  return NN_OK;
}

nn_status nn_knn_search(nn_tensor *dist, nn_tensor *idx, const nn_tensor *x,
                        const nn_tensor *train, int64_t k, nn_knn_metric metric) {
  assert(nn_tensor_is_contiguous(dist) && nn_tensor_is_contiguous(idx));
  nn_tensor *copies[2] = {NULL, NULL};
  const nn_tensor *a, *b;
  nn_status st = nn_contiguous(x, &copies[0], &a);
  if (!st) st = nn_contiguous(train, &copies[1], &b);
  if (!st)
    st = nn_kernel_knn_search(nn_tensor_data(dist), nn_tensor_data(idx), nn_tensor_data(a),
                              nn_tensor_data(b), x->shape[0], train->shape[0], x->shape[1], k,
                              metric);
  nn_tensor_release(copies[0]);
  nn_tensor_release(copies[1]);
  return st;
}

nn_status nn_knn_vote(nn_tensor *proba, nn_tensor *pred, const nn_tensor *dist,
                      const nn_tensor *idx, const nn_tensor *labels, bool by_distance) {
  assert(nn_tensor_is_contiguous(proba) && nn_tensor_is_contiguous(pred));
  nn_tensor *copies[3] = {NULL, NULL, NULL};
  const nn_tensor *d, *i, *l;
  nn_status st = nn_contiguous(dist, &copies[0], &d);
  if (!st) st = nn_contiguous(idx, &copies[1], &i);
  if (!st) st = nn_contiguous(labels, &copies[2], &l);
  if (!st)
    st = nn_kernel_knn_vote(nn_tensor_data(proba), nn_tensor_data(pred), nn_tensor_data(d),
                            nn_tensor_data(i), nn_tensor_data(l), dist->shape[0], dist->shape[1],
                            labels->shape[0], proba->shape[1], by_distance);
  for (int c = 0; c < 3; c++) nn_tensor_release(copies[c]);
  return st;
}
