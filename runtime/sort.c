/*
 * Sorting and selection along a dim, counting, and cdist (nn_sort.h).
 *
 * Rows: a contiguous input read as [outer, n, inner]; row r = (o, i)
 * starts at o * n * inner + i and steps by inner. Each row's order keys
 * (key_f32, key_i64) are sorted with their positions by radix_sort, LSD,
 * 11 bits a pass, skipping the passes whose digit is the same for every
 * key (the upper passes of float32 keys). topk with a small k keeps the k
 * best in a sorted buffer instead, one compare for most elements.
 */
#include "nn_sort.h"

#include <assert.h>
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_elementwise.h"
#include "nn_index.h"
#include "nn_iter.h"
#include "nn_threads.h"

/* ---- order keys ---- */

/* float32 -> unsigned key in numeric order: -0 == +0, every NaN last. */
static inline uint64_t key_f32(float x) {
  uint32_t u;
  if (x != x) return 0xFFFFFFFFu;
  if (x == 0) x = 0;
  memcpy(&u, &x, sizeof u);
  return (u & 0x80000000u) ? (uint32_t)~u : (u | 0x80000000u);
}
static inline uint64_t key_i64(int64_t x) { return (uint64_t)x ^ 0x8000000000000000ull; }
#define NAN_KEY 0xFFFFFFFFu /* key_f32 of every NaN */

/* ---- the row sort ---- */

#define RADIX_BITS 11
#define RADIX_SIZE (1 << RADIX_BITS)
#define RADIX_MAX_PASSES 6 /* 64-bit keys */
#define INSERTION_MAX 32

/* Stable insertion sort of keys[0..n) with their positions. */
static void insertion_sort(uint64_t *keys, uint32_t *pos, int64_t n) {
  for (int64_t i = 1; i < n; i++) {
    uint64_t k = keys[i];
    uint32_t p = pos[i];
    int64_t j = i;
    for (; j > 0 && keys[j - 1] > k; j--) {
      keys[j] = keys[j - 1];
      pos[j] = pos[j - 1];
    }
    keys[j] = k;
    pos[j] = p;
  }
}

/* Sorts (*keys, *pos)[0..n) stably by key, using ktmp/ptmp (n each) as the
 * other buffer; on return *keys and *pos point at whichever holds the
 * result. passes: 3 covers 32-bit keys, 6 64-bit ones. */
static inline __attribute__((always_inline)) void
radix_sort(uint64_t **keys, uint32_t **pos, uint64_t *ktmp, uint32_t *ptmp, int64_t n,
           int passes) {
  if (n <= INSERTION_MAX) {
    insertion_sort(*keys, *pos, n);
    return;
  }
  uint32_t hist[RADIX_MAX_PASSES][RADIX_SIZE];
  memset(hist, 0, sizeof hist[0] * (size_t)passes);
  uint64_t *ka = *keys, *kb = ktmp;
  uint32_t *pa = *pos, *pb = ptmp;
  for (int64_t i = 0; i < n; i++)
    for (int d = 0; d < passes; d++) hist[d][(ka[i] >> (d * RADIX_BITS)) & (RADIX_SIZE - 1)]++;
  for (int d = 0; d < passes; d++) {
    int shift = d * RADIX_BITS;
    uint32_t *h = hist[d];
    if (h[(ka[0] >> shift) & (RADIX_SIZE - 1)] == (uint32_t)n) continue; /* one digit */
    uint32_t sum = 0;
    for (int b = 0; b < RADIX_SIZE; b++) {
      uint32_t c = h[b];
      h[b] = sum;
      sum += c;
    }
    for (int64_t i = 0; i < n; i++) {
      uint32_t j = h[(ka[i] >> shift) & (RADIX_SIZE - 1)]++;
      kb[j] = ka[i];
      pb[j] = pa[i];
    }
    uint64_t *kt = ka;
    ka = kb;
    kb = kt;
    uint32_t *pt = pa;
    pa = pb;
    pb = pt;
  }
  *keys = ka;
  *pos = pa;
}

/* ---- one pass over rows ---- */

typedef enum row_op { ROW_SORT, ROW_TOPK, ROW_KTH, ROW_MEDIAN, ROW_MODE } row_op;

typedef struct row_job {
  row_op op;
  bool f32;         /* else int64 */
  bool descending;  /* sort: descending; topk: largest */
  int64_t k;        /* topk: how many; kth: which (1-based) */
  const void *in;   /* [outer, n, inner] */
  void *values;     /* [outer, kout, inner], or NULL */
  int64_t *indices; /* [outer, kout, inner], 1-based */
  int64_t n, inner, kout;
  int64_t r0, r1;   /* this worker's rows */
  uint64_t *keys;   /* scratch: 2n keys, 2n positions */
  uint32_t *pos;
} row_job;

static inline uint64_t key_at(const row_job *j, const char *row, int64_t i) {
  return j->f32 ? key_f32(((const float *)row)[i * j->inner])
                : key_i64(((const int64_t *)row)[i * j->inner]);
}

/* Writes element p of the row as output position o of values/indices. */
static inline void put(const row_job *j, const char *row, int64_t p, char *vals, int64_t *idx,
                       int64_t o) {
  size_t es = j->f32 ? sizeof(float) : sizeof(int64_t);
  if (vals) memcpy(vals + (size_t)(o * j->inner) * es, row + (size_t)(p * j->inner) * es, es);
  idx[o * j->inner] = p + 1;
}

/* key_f32 without branches, for loops the compiler vectorizes. */
static inline uint32_t key_f32_vec(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  u = x == 0 ? 0 : u;
  u ^= (uint32_t)((int32_t)u >> 31) | 0x80000000u;
  return x != x ? 0xFFFFFFFFu : u;
}

/* The k smallest keys so far, sorted, in kb/pb (*cnt of them): key, at
 * position i, enters only if it beats the last (an equal key stays behind
 * the earlier ones). */
static inline void topk_offer(uint64_t *kb, uint32_t *pb, int64_t k, int64_t *cnt,
                              uint64_t key, int64_t i) {
  if (*cnt == k && key >= kb[k - 1]) return;
  int64_t at = *cnt < k ? (*cnt)++ : k - 1;
  for (; at > 0 && kb[at - 1] > key; at--) {
    kb[at] = kb[at - 1];
    pb[at] = pb[at - 1];
  }
  kb[at] = key;
  pb[at] = (uint32_t)i;
}

#define TOPK_CHUNK 64

/* topk with a small k: one pass keeping the k best (topk_offer). A
 * contiguous float32 row goes by chunks whose keys are computed at once;
 * a chunk none of whose keys beats the k-th best is skipped whole. */
static void topk_small(const row_job *j, const char *row, uint64_t flip, char *vals,
                       int64_t *idx) {
  uint64_t *kb = j->keys;
  uint32_t *pb = j->pos;
  int64_t k = j->k, cnt = 0, i = 0;
  if (j->f32 && j->inner == 1) {
    const float *x = (const float *)row;
    uint32_t f = (uint32_t)flip, chunk[TOPK_CHUNK];
    for (; i + TOPK_CHUNK <= j->n; i += TOPK_CHUNK) {
      uint32_t lo = 0xFFFFFFFFu;
      for (int c = 0; c < TOPK_CHUNK; c++) {
        chunk[c] = key_f32_vec(x[i + c]) ^ f;
        lo = chunk[c] < lo ? chunk[c] : lo;
      }
      if (cnt == k && lo >= kb[k - 1]) continue;
      for (int c = 0; c < TOPK_CHUNK; c++) topk_offer(kb, pb, k, &cnt, chunk[c], i + c);
    }
  }
  for (; i < j->n; i++) topk_offer(kb, pb, k, &cnt, key_at(j, row, i) ^ flip, i);
  for (int64_t o = 0; o < k; o++) put(j, row, pb[o], vals, idx, o);
}

/* Sorted keys and positions of the row (ascending keys ^ flip). */
static void sort_row(const row_job *j, const char *row, uint64_t flip, uint64_t **keys,
                     uint32_t **pos) {
  int64_t n = j->n;
  uint64_t *k = j->keys;
  uint32_t *p = j->pos;
  for (int64_t i = 0; i < n; i++) {
    k[i] = key_at(j, row, i) ^ flip;
    p[i] = (uint32_t)i;
  }
  *keys = k;
  *pos = p;
  if (j->f32) radix_sort(keys, pos, k + n, p + n, n, 3);
  else radix_sort(keys, pos, k + n, p + n, n, RADIX_MAX_PASSES);
}

/* The start of the run of keys equal to keys[i] (the first position). */
static int64_t run_start(const uint64_t *keys, int64_t i) {
  while (i > 0 && keys[i - 1] == keys[i]) i--;
  return i;
}

static void run_row(const row_job *j, int64_t r) {
  size_t es = j->f32 ? sizeof(float) : sizeof(int64_t);
  int64_t o = r / j->inner, i = r % j->inner;
  const char *row = (const char *)j->in + (size_t)(o * j->n * j->inner + i) * es;
  size_t out_at = (size_t)(o * j->kout * j->inner + i);
  char *vals = j->values ? (char *)j->values + out_at * es : NULL;
  int64_t *idx = j->indices + out_at;
  uint64_t flip = !j->descending ? 0 : j->f32 ? 0xFFFFFFFFu : ~0ull;
  if (j->op == ROW_TOPK && j->k * 8 <= j->n) {
    if (j->k > 0) topk_small(j, row, flip, vals, idx);
    return;
  }
  uint64_t *keys;
  uint32_t *pos;
  sort_row(j, row, flip, &keys, &pos);
  int64_t n = j->n, pick;
  switch (j->op) {
  case ROW_SORT:
  case ROW_TOPK:
    for (int64_t q = 0; q < j->kout; q++) put(j, row, pos[q], vals, idx, q);
    return;
  case ROW_KTH:
    pick = run_start(keys, j->k - 1);
    break;
  case ROW_MEDIAN:
    pick = j->f32 && keys[n - 1] == NAN_KEY ? run_start(keys, n - 1)
                                            : run_start(keys, (n - 1) / 2);
    break;
  case ROW_MODE: {
    int64_t best = 0, best_len = 0;
    for (int64_t s = 0, e; s < n; s = e) {
      e = s + 1;
      if (!(j->f32 && keys[s] == NAN_KEY)) /* each NaN counts alone */
        while (e < n && keys[e] == keys[s]) e++;
      if (e - s > best_len) best = s, best_len = e - s;
    }
    pick = best;
    break;
  }
  default:
    return;
  }
  put(j, row, pos[pick], vals, idx, 0);
}

static void run_jobs(void *ctx, int64_t begin, int64_t end) {
  const row_job *jobs = ctx;
  for (int64_t k = begin; k < end; k++)
    for (int64_t r = jobs[k].r0; r < jobs[k].r1; r++) run_row(&jobs[k], r);
}

#define MAX_WORKERS 64
#define MIN_ELEMENTS_PER_WORKER 32768

/* Scratch of one worker: 2n keys and 2n positions. */
static size_t scratch_bytes(int64_t n) {
  return (size_t)(2 * n) * (sizeof(uint64_t) + sizeof(uint32_t));
}

/* Runs job over rows 0..rows, split over the engine's pool.
 * NN_ERR_NOMEM without scratch. */
static nn_status run_split(const row_job *job, int64_t rows) {
  int64_t w = nn_get_num_threads();
  int64_t by_size = rows * job->n / MIN_ELEMENTS_PER_WORKER;
  if (w > by_size) w = by_size;
  if (w > rows) w = rows;
  if (w > MAX_WORKERS) w = MAX_WORKERS;
  if (w < 1) w = 1;
  size_t per = scratch_bytes(job->n < 1 ? 1 : job->n);
  char *scratch = nn_alloc(per * (size_t)w);
  if (!scratch) return NN_ERR_NOMEM;
  row_job jobs[MAX_WORKERS];
  for (int64_t k = 0; k < w; k++) {
    jobs[k] = *job;
    jobs[k].r0 = rows * k / w;
    jobs[k].r1 = rows * (k + 1) / w;
    jobs[k].keys = (uint64_t *)(scratch + per * (size_t)k);
    jobs[k].pos = (uint32_t *)(jobs[k].keys + 2 * (job->n < 1 ? 1 : job->n));
  }
  nn_parallel_for(w, 1, run_jobs, jobs); /* a job per thread of the pool */
  nn_free(scratch, per * (size_t)w);
  return NN_OK;
}

/* Runs op over the rows of in along dim (-1: all of in as one row). */
static nn_status run_op(row_op op, nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                        int dim, int64_t k, bool descending, int64_t kout) {
  assert(!values || nn_tensor_is_contiguous(values));
  assert(nn_tensor_is_contiguous(indices));
  nn_tensor *copy;
  const nn_tensor *c;
  nn_status st = nn_contiguous(in, &copy, &c);
  if (st) return st;
  row_job j = {.op = op, .f32 = in->dtype == NN_FLOAT32, .descending = descending, .k = k,
               .in = nn_tensor_data(c), .values = values ? nn_tensor_data(values) : NULL,
               .indices = nn_tensor_data(indices), .n = 1, .inner = 1, .kout = kout};
  int64_t outer = 1;
  if (dim < 0) {
    j.n = nn_tensor_numel(in);
  } else if (in->ndim > 0) {
    for (int d = 0; d < dim; d++) outer *= in->shape[d];
    for (int d = dim + 1; d < in->ndim; d++) j.inner *= in->shape[d];
    j.n = in->shape[dim];
  }
  if (outer * j.inner > 0 && kout > 0) st = run_split(&j, outer * j.inner);
  nn_tensor_release(copy);
  return st;
}

/* ---- entry points ---- */

/* Records op (sort family) on values with in as input, saving idx. */
static nn_status record(nn_op op, nn_tensor *values, const nn_tensor *in, nn_tensor *idx,
                        const nn_sort_args *a) {
  nn_node *node;
  nn_status st = nn_record(&node, op, values, 1, (nn_tensor *[]){(nn_tensor *)in});
  if (st || !node) return st;
  node->args.sort = *a;
  return nn_node_save(node, idx);
}

nn_status nn_sort(nn_tensor *values, nn_tensor *indices, const nn_tensor *in, int dim,
                  bool descending) {
  int64_t kout = in->ndim > 0 ? in->shape[dim] : 1;
  nn_status st = run_op(ROW_SORT, values, indices, in, dim, 0, descending, kout);
  if (st || !values) return st;
  return record(NN_OP_SORT, values, in, indices, &(nn_sort_args){.dim = dim, .keepdim = true});
}

nn_status nn_topk(nn_tensor *values, nn_tensor *indices, const nn_tensor *in, int dim,
                  int64_t k, bool largest) {
  nn_status st = run_op(ROW_TOPK, values, indices, in, dim, k, largest, k);
  if (st) return st;
  return record(NN_OP_TOPK, values, in, indices, &(nn_sort_args){.dim = dim, .keepdim = true});
}

nn_status nn_kthvalue(nn_tensor *values, nn_tensor *indices, const nn_tensor *in, int64_t k,
                      const nn_sort_args *args) {
  nn_status st = run_op(ROW_KTH, values, indices, in, args->dim, k, false, 1);
  if (st) return st;
  return record(NN_OP_KTHVALUE, values, in, indices, args);
}

nn_status nn_median(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                    const nn_sort_args *args) {
  if (args->dim >= 0) {
    nn_status st = run_op(ROW_MEDIAN, values, indices, in, args->dim, 0, false, 1);
    if (st) return st;
    return record(NN_OP_MEDIAN, values, in, indices, args);
  }
  assert(!indices);
  if (nn_tensor_numel(in) == 0) {
    nn_fill(values, NAN);
    return NN_OK;
  }
  /* Of everything: the position goes only to the node. */
  nn_tensor *pos = nn_tensor_empty(NN_INT64, 0, NULL);
  if (!pos) return NN_ERR_NOMEM;
  nn_status st = run_op(ROW_MEDIAN, values, pos, in, -1, 0, false, 1);
  if (!st) st = record(NN_OP_MEDIAN, values, in, pos, args);
  nn_tensor_release(pos);
  return st;
}

nn_status nn_mode(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                  const nn_sort_args *args) {
  nn_status st = run_op(ROW_MODE, values, indices, in, args->dim, 0, false, 1);
  if (st) return st;
  return record(NN_OP_MODE, values, in, indices, args);
}

/* ---- backward ---- */

/* sort, topk: each value's gradient goes back to its index. Saved the
 * indices (values' shape). */
bool nn_sort_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  if (gi[0]->ndim == 0) nn_accumulate(gi[0], g);
  else nn_scatter_add(gi[0], n->args.sort.dim, n->saved[0], g);
  return true;
}

/* Adds g (0-dim) at the flat row-major position p (0-based) of t. */
static void add_at_flat(nn_tensor *t, int64_t p, const nn_tensor *g) {
  int64_t off = 0;
  for (int d = t->ndim - 1; d >= 0; d--) {
    off += (p % t->shape[d]) * t->stride[d];
    p /= t->shape[d];
  }
  ((float *)nn_tensor_data(t))[off] += *(const float *)nn_tensor_data(g);
}

/* kthvalue, median, mode: one value per row; its gradient goes back to
 * its index. Saved the indices (values' shape, the dim dropped unless
 * keepdim; 0-dim, a flat position, for the median of everything). */
bool nn_kthvalue_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  nn_tensor *gx = gi[0];
  const nn_tensor *idx = n->saved[0];
  const nn_sort_args *a = &n->args.sort;
  if (!gx) return true;
  if (a->dim < 0) {
    add_at_flat(gx, nn_index_to_0based(*(const int64_t *)nn_tensor_data(idx)), g);
    return true;
  }
  if (gx->ndim == 0) {
    nn_accumulate(gx, g);
    return true;
  }
  if (a->keepdim) {
    nn_scatter_add(gx, a->dim, idx, g);
    return true;
  }
  /* Views of g and idx with the dropped dim back as size 1. */
  int64_t shape[NN_MAX_DIMS], gs[NN_MAX_DIMS], is[NN_MAX_DIMS];
  for (int d = 0, s = 0; d < gx->ndim; d++) {
    bool dropped = d == a->dim;
    shape[d] = dropped ? 1 : g->shape[s];
    gs[d] = dropped ? 0 : g->stride[s];
    is[d] = dropped ? 0 : idx->stride[s];
    s += !dropped;
  }
  nn_tensor *gv = nn_tensor_view(g, gx->ndim, shape, gs, g->offset);
  nn_tensor *iv = nn_tensor_view(idx, gx->ndim, shape, is, idx->offset);
  bool ok = gv && iv;
  if (ok) nn_scatter_add(gx, a->dim, iv, gv);
  nn_tensor_release(gv);
  nn_tensor_release(iv);
  return ok;
}

/* ---- counting ---- */

/* The ascending keys and positions of every element of c (contiguous),
 * in scratch the caller frees with scratch_bytes(n). */
static nn_status sort_all(const nn_tensor *c, char **scratch, uint64_t **keys, uint32_t **pos) {
  int64_t n = nn_tensor_numel(c);
  *scratch = nn_alloc(scratch_bytes(n < 1 ? 1 : n));
  if (!*scratch) return NN_ERR_NOMEM;
  row_job j = {.f32 = c->dtype == NN_FLOAT32, .in = nn_tensor_data(c), .n = n, .inner = 1,
               .keys = (uint64_t *)*scratch};
  j.pos = (uint32_t *)(j.keys + 2 * (n < 1 ? 1 : n));
  sort_row(&j, nn_tensor_data(c), 0, keys, pos);
  return NN_OK;
}

/* Does sorted key i start a new distinct value? (Each NaN is distinct.) */
static inline bool new_value(const uint64_t *keys, int64_t i, bool f32) {
  return i == 0 || keys[i] != keys[i - 1] || (f32 && keys[i] == NAN_KEY);
}

nn_status nn_unique_count(const nn_tensor *in, int64_t *count) {
  nn_tensor *copy;
  const nn_tensor *c;
  nn_status st = nn_contiguous(in, &copy, &c);
  if (st) return st;
  char *scratch;
  uint64_t *keys;
  uint32_t *pos;
  int64_t n = nn_tensor_numel(c);
  st = sort_all(c, &scratch, &keys, &pos);
  if (!st) {
    *count = 0;
    for (int64_t i = 0; i < n; i++) *count += new_value(keys, i, c->dtype == NN_FLOAT32);
    nn_free(scratch, scratch_bytes(n < 1 ? 1 : n));
  }
  nn_tensor_release(copy);
  return st;
}

nn_status nn_unique(nn_tensor *values, nn_tensor *inverse, nn_tensor *counts,
                    const nn_tensor *in) {
  nn_tensor *copy;
  const nn_tensor *c;
  nn_status st = nn_contiguous(in, &copy, &c);
  if (st) return st;
  char *scratch;
  uint64_t *keys;
  uint32_t *pos;
  int64_t n = nn_tensor_numel(c), u = -1;
  bool f32 = c->dtype == NN_FLOAT32;
  st = sort_all(c, &scratch, &keys, &pos);
  if (!st) {
    const char *src = nn_tensor_data(c);
    char *vals = nn_tensor_data(values);
    size_t es = nn_dtype_size(c->dtype);
    int64_t *inv = inverse ? nn_tensor_data(inverse) : NULL;
    int64_t *cnt = counts ? nn_tensor_data(counts) : NULL;
    for (int64_t i = 0; i < n; i++) {
      if (new_value(keys, i, f32)) {
        u++;
        memcpy(vals + (size_t)u * es, src + (size_t)pos[i] * es, es);
        if (cnt) cnt[u] = 0;
      }
      if (cnt) cnt[u]++;
      if (inv) inv[pos[i]] = u + 1;
    }
    nn_free(scratch, scratch_bytes(n < 1 ? 1 : n));
  }
  nn_tensor_release(copy);
  return st;
}

/* Element i of a 1-D int64 or float32 tensor as a double. */
static double elem(const nn_tensor *t, int64_t i) {
  const char *p = (const char *)nn_tensor_data(t) + i * t->stride[0] * (int64_t)nn_dtype_size(t->dtype);
  return t->dtype == NN_FLOAT32 ? *(const float *)p : (double)*(const int64_t *)p;
}

nn_status nn_bincount_length(const nn_tensor *in, int64_t minlength, int64_t *length) {
  int64_t len = minlength;
  for (int64_t i = 0; i < in->shape[0]; i++) {
    double v = elem(in, i);
    if (!(v >= 1))
      return nn_fail("bincount: value %g at position %lld is < 1 (values count from 1, like "
                     "class labels)", v, (long long)i + 1);
    if (v != floor(v))
      return nn_fail("bincount: value %g at position %lld is not an integer", v,
                     (long long)i + 1);
    if (v > 0x1p62) return nn_fail("bincount: value %g at position %lld is too large", v,
                                   (long long)i + 1);
    if ((int64_t)v > len) len = (int64_t)v;
  }
  *length = len;
  return NN_OK;
}

void nn_bincount(nn_tensor *out, const nn_tensor *in, const nn_tensor *weights) {
  assert(nn_tensor_is_contiguous(out));
  for (int64_t i = 0; i < in->shape[0]; i++) {
    int64_t b = nn_index_to_0based((int64_t)elem(in, i));
    if (weights) ((float *)nn_tensor_data(out))[b] += (float)elem(weights, i);
    else ((int64_t *)nn_tensor_data(out))[b]++;
  }
}

/* Edge e of bins equal-width bins from lo to hi, as torch.linspace in
 * float32 computes it (from the nearer end). */
static float edge(float lo, float hi, int64_t bins, int64_t e) {
  float step = (hi - lo) / (float)bins;
  return e < (bins + 1) / 2 ? lo + step * (float)e : hi - step * (float)(bins - e);
}

void nn_histc(nn_tensor *out, const nn_tensor *in, double lo, double hi) {
  assert(nn_tensor_is_contiguous(out));
  int64_t bins = out->shape[0], n = nn_tensor_numel(in);
  float *h = nn_tensor_data(out);
  memset(h, 0, sizeof(float) * (size_t)bins);
  nn_iter it;
  float flo = (float)lo, fhi = (float)hi;
  if (flo == fhi && n > 0) {
    flo = INFINITY, fhi = -INFINITY;
    nn_iter_init_tensors(&it, in->ndim, in->shape, 1, (const nn_tensor *[]){in});
    while (nn_iter_next(&it))
      for (int64_t i = 0; i < it.n; i++) {
        float x = ((const float *)it.ptr[0])[i * it.step[0]];
        flo = fminf(flo, x), fhi = fmaxf(fhi, x);
      }
  }
  if (flo == fhi) flo -= 1, fhi += 1;
  nn_iter_init_tensors(&it, in->ndim, in->shape, 1, (const nn_tensor *[]){in});
  while (nn_iter_next(&it))
    for (int64_t i = 0; i < it.n; i++) {
      float x = ((const float *)it.ptr[0])[i * it.step[0]];
      if (!(x >= flo && x <= fhi)) continue;
      int64_t b = (int64_t)((x - flo) * (float)bins / (fhi - flo));
      /* PyTorch's local search: the bin whose edges hold x. */
      if (b > bins) b = bins;
      while (b > 0 && x < edge(flo, fhi, bins, b)) b--;
      while (b < bins && x >= edge(flo, fhi, bins, b + 1)) b++;
      if (b == bins) b--;
      h[b] += 1;
    }
}

/* ---- cdist ---- */

/* Is cdist computed by GEMM? As PyTorch's default compute_mode: for p = 2
 * when either side has more than 25 rows (a direct loop is exact for
 * equal rows, the GEMM is faster). */
static bool cdist_by_gemm(int64_t n, int64_t m, double p) { return p == 2 && (n > 25 || m > 25); }

/* out [N, M] = ||x1[i] - x2[j]||_p, x1 [N, D], x2 [M, D] contiguous;
 * cdist_by_gemm: one GEMM (norms [N + M] scratch). */
static void cdist_forward(float *out, const float *x1, const float *x2, int64_t n, int64_t m,
                          int64_t d, double p, float *norms) {
  if (cdist_by_gemm(n, m, p)) {
    for (int64_t i = 0; i < n + m; i++) {
      const float *r = i < n ? x1 + i * d : x2 + (i - n) * d;
      double s = 0;
      for (int64_t k = 0; k < d; k++) s += (double)r[k] * r[k];
      norms[i] = (float)s;
    }
    if (n > 0 && m > 0 && d > 0)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)m, (int)d, -2.0f, x1,
                  (int)d, x2, (int)d, 0.0f, out, (int)m);
    else memset(out, 0, sizeof(float) * (size_t)(n * m));
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < m; j++) {
        float s = out[i * m + j] + norms[i] + norms[n + j];
        out[i * m + j] = s > 0 ? sqrtf(s) : 0;
      }
    return;
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) {
      const float *a = x1 + i * d, *b = x2 + j * d;
      double s = 0;
      for (int64_t k = 0; k < d; k++) {
        double t = fabs((double)a[k] - b[k]);
        if (p == 0) s += t != 0;
        else if (isinf(p)) s = t > s ? t : s;
        else if (p == 1) s += t;
        else if (p == 2) s += t * t;
        else s += pow(t, p);
      }
      out[i * m + j] = (float)(p == 0 || p == 1 || isinf(p) ? s : pow(s, 1 / p));
    }
}

nn_status nn_cdist(nn_tensor *out, const nn_tensor *x1, const nn_tensor *x2,
                   const nn_cdist_args *args) {
  assert(nn_tensor_is_contiguous(out));
  nn_tensor *copies[2] = {NULL, NULL};
  const nn_tensor *a, *b;
  nn_status st = nn_contiguous(x1, &copies[0], &a);
  if (!st) st = nn_contiguous(x2, &copies[1], &b);
  int64_t n = x1->shape[0], m = x2->shape[0], d = x1->shape[1];
  size_t nb = sizeof(float) * (size_t)(n + m + 1);
  float *norms = st ? NULL : nn_alloc(nb);
  if (!st && !norms) st = NN_ERR_NOMEM;
  if (!st) {
    cdist_forward(nn_tensor_data(out), nn_tensor_data(a), nn_tensor_data(b), n, m, d, args->p,
                  norms);
    nn_node *node;
    st = nn_record(&node, NN_OP_CDIST, out, 2, (nn_tensor *[]){(nn_tensor *)x1, (nn_tensor *)x2});
    if (!st && node) {
      node->args.cdist = *args;
      st = nn_node_save(node, a);
      if (!st) st = nn_node_save(node, b);
      if (!st) st = nn_node_save_output(node, out);
    }
  }
  nn_free(norms, nb);
  nn_tensor_release(copies[0]);
  nn_tensor_release(copies[1]);
  return st;
}

/* d dist / d a_k for one pair, times g, as PyTorch's _cdist_backward. */
static double cdist_term(double diff, double dist, double p) {
  double s = (diff > 0) - (diff < 0);
  if (p == 0 || dist == 0) return 0;
  if (p == 1) return s;
  if (isinf(p)) return (float)fabs(diff) == (float)dist ? s : 0;
  if (p < 1 && diff == 0) return 0;
  return s * pow(fabs(diff), p - 1) / pow(dist, p - 1);
}

/* ga [N, D] += sum_j W[i,j] (x1[i] - x2[j]), gb [M, D] += sum_i W[i,j]
 * (x2[j] - x1[i]) with W = g / dist (p = 2, by GEMM); the general p
 * directly. g, dist [N, M]; every array contiguous. */
static void cdist_backward(float *ga, float *gb, const float *g, const float *dist,
                           const float *x1, const float *x2, int64_t n, int64_t m, int64_t d,
                           double p, float *w) {
  if (p == 2) {
    for (int64_t i = 0; i < n * m; i++) w[i] = dist[i] == 0 ? 0 : g[i] / dist[i];
    for (int64_t i = 0; ga && i < n; i++) {
      double r = 0;
      for (int64_t j = 0; j < m; j++) r += w[i * m + j];
      for (int64_t k = 0; k < d; k++) ga[i * d + k] += (float)r * x1[i * d + k];
    }
    for (int64_t j = 0; gb && j < m; j++) {
      double c = 0;
      for (int64_t i = 0; i < n; i++) c += w[i * m + j];
      for (int64_t k = 0; k < d; k++) gb[j * d + k] += (float)c * x2[j * d + k];
    }
    if (n == 0 || m == 0 || d == 0) return;
    if (ga) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)m,
                        -1.0f, w, (int)m, x2, (int)d, 1.0f, ga, (int)d);
    if (gb) cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)d, (int)n,
                        -1.0f, w, (int)m, x1, (int)d, 1.0f, gb, (int)d);
    return;
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++)
      for (int64_t k = 0; k < d; k++) {
        double t = g[i * m + j] * cdist_term((double)x1[i * d + k] - x2[j * d + k], dist[i * m + j], p);
        if (ga) ga[i * d + k] += (float)t;
        if (gb) gb[j * d + k] -= (float)t;
      }
}

/* cdist: saved x1, x2 (contiguous) and the distances. */
bool nn_cdist_backward(const nn_node *node, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x1 = node->saved[0], *x2 = node->saved[1], *dist = node->saved[2];
  int64_t n = x1->shape[0], m = x2->shape[0], d = x1->shape[1];
  nn_tensor *copies[2] = {NULL, NULL}, *ga = NULL, *gb = NULL;
  const nn_tensor *gc, *dc;
  bool ok = nn_contiguous(g, &copies[0], &gc) == NN_OK &&
            nn_contiguous(dist, &copies[1], &dc) == NN_OK;
  size_t wb = sizeof(float) * (size_t)(n * m + 1);
  float *w = ok ? nn_alloc(wb) : NULL;
  if (gi[0]) ga = nn_tensor_zeros(NN_FLOAT32, 2, x1->shape);
  if (gi[1]) gb = nn_tensor_zeros(NN_FLOAT32, 2, x2->shape);
  ok = ok && w && (!gi[0] || ga) && (!gi[1] || gb);
  if (ok) {
    cdist_backward(ga ? nn_tensor_data(ga) : NULL, gb ? nn_tensor_data(gb) : NULL,
                   nn_tensor_data(gc), nn_tensor_data(dc), nn_tensor_data(x1),
                   nn_tensor_data(x2), n, m, d, node->args.cdist.p, w);
    if (ga) nn_accumulate(gi[0], ga);
    if (gb) nn_accumulate(gi[1], gb);
  }
  nn_free(w, wb);
  nn_tensor_release(ga);
  nn_tensor_release(gb);
  nn_tensor_release(copies[0]);
  nn_tensor_release(copies[1]);
  return ok;
}
