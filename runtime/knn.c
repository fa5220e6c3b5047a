/*
 * k-nearest-neighbour search and voting (nn_knn.h).
 *
 * The search goes by blocks: QUERY_BLOCK queries against TRAIN_BLOCK
 * training rows make one GEMM into a scratch block of scores, and each
 * query's k best scores so far sit in a sorted buffer that a score enters
 * only when it beats the k-th (one compare for most). A query block is
 * finished by computing its k candidates' distances directly. The
 * engine's threads split the queries, each with its own scratch and
 * single-threaded GEMMs (OpenBLAS paused, as conv.c's workers).
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

/* One worker's share: queries q0..q1 by blocks, with its own scratch. */
typedef struct search_job {
  float *dist;
  int64_t *idx;
  const float *x, *train, *tn;
  int64_t q0, q1, n, d, k, qb, tb;
  nn_knn_metric metric;
  float *s, *bs;    /* [qb, tb] scores; [qb, k] best scores */
  int64_t *bi, *cnt; /* [qb, k] their rows; [qb] how many */
  double *ex;       /* [k] exact distances */
} search_job;

static void search_block(const search_job *j, int64_t q0, int64_t qn) {
  int64_t n = j->n, d = j->d, k = j->k, tb = j->tb;
  const float *x = j->x, *train = j->train;
  float *s = j->s, *bs = j->bs;
  int64_t *bi = j->bi, *cnt = j->cnt;
  memset(cnt, 0, sizeof(int64_t) * (size_t)qn);
  for (int64_t t0 = 0; t0 < n; t0 += tb) {
    int64_t tw = n - t0 < tb ? n - t0 : tb;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)qn, (int)tw, (int)d, 1.0f,
                x + q0 * d, (int)d, train + t0 * d, (int)d, 0.0f, s, (int)tw);
    const float *w = j->tn + t0;
    for (int64_t r = 0; r < qn; r++) {
      float *row = s + r * tw, *rbs = bs + r * k;
      int64_t *rbi = bi + r * k;
      /* score: the smaller the nearer */
      if (j->metric == NN_KNN_EUCLIDEAN)
        for (int64_t c = 0; c < tw; c++) row[c] = w[c] - 2 * row[c];
      else
        for (int64_t c = 0; c < tw; c++) row[c] = -row[c] * w[c];
      int64_t got = cnt[r], c = 0;
      for (; c < tw && got < k; c++) offer(rbs, rbi, k, &got, row[c], t0 + c);
      float worst = rbs[k - 1];
      for (; c < tw; c++)
        if (row[c] < worst) {
          offer(rbs, rbi, k, &got, row[c], t0 + c);
          worst = rbs[k - 1];
        }
      cnt[r] = got;
    }
  }
  /* the candidates' exact distances, nearest first, smaller index first */
  double *ex = j->ex;
  for (int64_t r = 0; r < qn; r++) {
    const int64_t *rbi = bi + r * k;
    float *od = j->dist + (q0 + r) * k;
    int64_t *oi = j->idx + (q0 + r) * k;
    for (int64_t a = 0; a < k; a++) {
      double v = row_distance(x + (q0 + r) * d, train + rbi[a] * d, d, j->metric);
      int64_t one = rbi[a] + 1, p = a;
      while (p > 0 && (ex[p - 1] > v || (ex[p - 1] == v && oi[p - 1] > one))) {
        ex[p] = ex[p - 1];
        oi[p] = oi[p - 1];
        p--;
      }
      ex[p] = v;
      oi[p] = one;
    }
    for (int64_t a = 0; a < k; a++) od[a] = (float)ex[a];
  }
}

static void run_searches(void *ctx, int64_t begin, int64_t end) {
  const search_job *jobs = ctx;
  for (int64_t i = begin; i < end; i++) {
    const search_job *j = &jobs[i];
    for (int64_t q0 = j->q0; q0 < j->q1; q0 += j->qb)
      search_block(j, q0, j->q1 - q0 < j->qb ? j->q1 - q0 : j->qb);
  }
}

#define MAX_WORKERS 64

/* Scratch bytes of one worker, a multiple of 8 (the next one's start). */
static size_t worker_bytes(int64_t qb, int64_t tb, int64_t k) {
  size_t b = sizeof(float) * (size_t)(qb * tb + qb * k) + sizeof(int64_t) * (size_t)(qb * k + qb) +
             sizeof(double) * (size_t)k;
  return (b + 7) / 8 * 8;
}

nn_status nn_kernel_knn_search(float *dist, int64_t *idx, const float *x, const float *train,
                               int64_t q, int64_t n, int64_t d, int64_t k, nn_knn_metric metric) {
  assert(k >= 1 && k <= n);
  /* Workers split the queries, each running single-threaded GEMMs on its
   * own blocks (OpenBLAS is single-threaded in the pool's regions); a worker gets at least one
   * block of queries. */
  int64_t w = nn_get_num_threads();
  if (w > (q + QUERY_BLOCK - 1) / QUERY_BLOCK) w = (q + QUERY_BLOCK - 1) / QUERY_BLOCK;
  if (w > MAX_WORKERS) w = MAX_WORKERS;
  if (w < 1) w = 1;
  int64_t share = (q + w - 1) / w;
  int64_t qb = share < QUERY_BLOCK ? share : QUERY_BLOCK, tb = n < TRAIN_BLOCK ? n : TRAIN_BLOCK;
  if (qb < 1) qb = 1;
  size_t per = worker_bytes(qb, tb, k), nb_tn = sizeof(float) * (size_t)n;
  float *tn = nn_alloc(nb_tn);
  char *scratch = nn_alloc(per * (size_t)w);
  if (!tn || !scratch) {
    nn_free(tn, nb_tn);
    nn_free(scratch, per * (size_t)w);
    return NN_ERR_NOMEM;
  }
  nn_blas_setup();
  /* euclidean: |t|^2; cosine: 1 / |t| (1 for a zero row). */
  for (int64_t j = 0; j < n; j++) {
    const float *t = train + j * d;
    double ss = 0;
    for (int64_t i = 0; i < d; i++) ss += (double)t[i] * t[i];
    tn[j] = metric == NN_KNN_EUCLIDEAN ? (float)ss : ss > 0 ? (float)(1 / sqrt(ss)) : 1.0f;
  }
  search_job jobs[MAX_WORKERS];
  for (int64_t i = 0; i < w; i++) {
    char *p = scratch + per * (size_t)i;
    search_job *j = &jobs[i];
    *j = (search_job){.dist = dist, .idx = idx, .x = x, .train = train, .tn = tn,
                      .q0 = share * i < q ? share * i : q, .q1 = share * (i + 1) < q ? share * (i + 1) : q,
                      .n = n, .d = d, .k = k, .qb = qb, .tb = tb, .metric = metric};
    /* 8-byte members first: every part stays aligned */
    j->ex = (double *)p;
    j->bi = (int64_t *)(j->ex + k);
    j->cnt = j->bi + qb * k;
    j->s = (float *)(j->cnt + qb);
    j->bs = j->s + qb * tb;
  }
  nn_parallel_for(w, 1, run_searches, jobs); /* a job per thread of the pool */
  nn_free(tn, nb_tn);
  nn_free(scratch, per * (size_t)w);
  return NN_OK;
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
