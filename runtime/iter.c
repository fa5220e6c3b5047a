#include "nn_iter.h"

#include <assert.h>
#include <string.h>

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
  it->n = it->shape[inner];
  /* Odometer increment of the outer index for the next call. */
  for (int d = inner - 1; d >= 0; d--) {
    if (++it->index[d] < it->shape[d]) break;
    it->index[d] = 0;
  }
  it->runs_left--;
  return true;
}
