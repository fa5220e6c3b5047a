#include "nn_iter.h"

#include <assert.h>
#include <string.h>

#include "nn_threads.h"

/* Can dims d (outer) and d+1 (inner) be read as one for every operand? */
static bool mergeable(const nn_iter *it, int d) {
  for (int k = 0; k < it->nops; k++)
    if (it->stride[k][d] != it->stride[k][d + 1] * it->shape[d + 1]) return false;
  return true;
}

static void coalesce(nn_iter *it) {
  /* Drop size-1 dims: they never move a pointer. */
  int n = 0;
  for (int d = 0; d < it->ndim; d++) {
    if (it->shape[d] == 1) continue;
    it->shape[n] = it->shape[d];
    for (int k = 0; k < it->nops; k++) it->stride[k][n] = it->stride[k][d];
    n++;
  }
  it->ndim = n;
  /* Merge from the inside out. */
  for (int d = it->ndim - 2; d >= 0; d--) {
    if (!mergeable(it, d)) continue;
    it->shape[d] *= it->shape[d + 1];
    for (int k = 0; k < it->nops; k++) it->stride[k][d] = it->stride[k][d + 1];
    for (int e = d + 1; e < it->ndim - 1; e++) {
      it->shape[e] = it->shape[e + 1];
      for (int k = 0; k < it->nops; k++) it->stride[k][e] = it->stride[k][e + 1];
    }
    it->ndim--;
  }
  if (it->ndim == 0) { /* a scalar is one run of length 1 */
    it->ndim = 1;
    it->shape[0] = 1;
    for (int k = 0; k < it->nops; k++) it->stride[k][0] = 0;
  }
}

void nn_iter_init(nn_iter *it, int ndim, const int64_t *shape, int nops,
                  void *const *data, const int64_t (*strides)[NN_MAX_DIMS],
                  const size_t *elsize) {
  assert(nops <= NN_ITER_MAX_OPS && ndim <= NN_MAX_DIMS);
  it->nops = nops;
  it->ndim = ndim;
  int64_t numel = 1;
  for (int d = 0; d < ndim; d++) {
    it->shape[d] = shape[d];
    it->index[d] = 0;
    numel *= shape[d];
  }
  for (int k = 0; k < nops; k++) {
    it->base[k] = data[k];
    it->elsize[k] = elsize[k];
    for (int d = 0; d < ndim; d++) it->stride[k][d] = strides[k][d];
  }
  coalesce(it);
  int64_t inner = it->shape[it->ndim - 1];
  it->runs_left = numel == 0 ? 0 : numel / inner;
  it->head = 0;
  it->tail = inner;
}

void nn_iter_init_tensors(nn_iter *it, int ndim, const int64_t *shape, int nops,
                          const nn_tensor *const *operands) {
  void *data[NN_ITER_MAX_OPS];
  int64_t strides[NN_ITER_MAX_OPS][NN_MAX_DIMS];
  size_t elsize[NN_ITER_MAX_OPS];
  for (int k = 0; k < nops; k++) {
    data[k] = nn_tensor_data(operands[k]);
    nn_broadcast_strides(operands[k], ndim, shape, strides[k]);
    elsize[k] = nn_dtype_size(operands[k]->dtype);
  }
  nn_iter_init(it, ndim, shape, nops, data, (const int64_t (*)[NN_MAX_DIMS])strides,
               elsize);
}

bool nn_iter_next(nn_iter *it) {
  if (it->runs_left == 0) return false;
  int inner = it->ndim - 1;
  for (int k = 0; k < it->nops; k++) {
    int64_t off = 0;
    for (int d = 0; d < inner; d++) off += it->index[d] * it->stride[k][d];
    it->ptr[k] = it->base[k] + off * (int64_t)it->elsize[k];
    it->step[k] = it->stride[k][inner];
  }
  int64_t lo = it->head, hi = it->runs_left == 1 ? it->tail : it->shape[inner];
  if (lo)
    for (int k = 0; k < it->nops; k++) it->ptr[k] += lo * it->step[k] * (int64_t)it->elsize[k];
  it->n = hi - lo;
  it->head = 0;
  /* Odometer increment of the outer index for the next call. */
  for (int d = inner - 1; d >= 0; d--) {
    if (++it->index[d] < it->shape[d]) break;
    it->index[d] = 0;
  }
  it->runs_left--;
  return true;
}

int64_t nn_iter_numel(const nn_iter *it) { return it->runs_left * it->shape[it->ndim - 1]; }

void nn_iter_restrict(nn_iter *it, int64_t begin, int64_t end) {
  int64_t inner = it->shape[it->ndim - 1];
  if (begin >= end) {
    it->runs_left = 0;
    return;
  }
  int64_t first = begin / inner, last = (end - 1) / inner;
  it->head = begin - first * inner;
  it->tail = end - last * inner;
  it->runs_left = last - first + 1;
  for (int d = it->ndim - 2; d >= 0; d--) { /* the outer index of run `first` */
    it->index[d] = first % it->shape[d];
    first /= it->shape[d];
  }
}

typedef struct iter_job {
  const nn_iter *it;
  void (*body)(void *ctx, nn_iter *part);
  void *ctx;
} iter_job;

static void iter_part(void *ctx, int64_t begin, int64_t end) {
  const iter_job *j = ctx;
  nn_iter part = *j->it;
  nn_iter_restrict(&part, begin, end);
  j->body(j->ctx, &part);
}

/* Operand 0 is the one written: with a zero stride along some dim the
 * walk sums into it (nn_accumulate), and parts would race. */
static bool sums_into_first(const nn_iter *it) {
  for (int d = 0; d < it->ndim; d++)
    if (it->stride[0][d] == 0 && it->shape[d] > 1) return true;
  return false;
}

void nn_iter_parallel(nn_iter *it, int64_t grain, void (*body)(void *ctx, nn_iter *part), void *ctx) {
  int64_t n = nn_iter_numel(it);
  if (n < 2 * grain || nn_parallel_parts(n, grain) < 2 || sums_into_first(it)) {
    body(ctx, it);
    return;
  }
  iter_job j = {it, body, ctx};
  nn_parallel_for(n, grain, iter_part, &j);
}
