#include "nn_tensor.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_autograd.h"

static const char *const dtype_names[] = {"float32", "int64", "bool"};
_Static_assert(sizeof dtype_names / sizeof *dtype_names == NN_DTYPE_COUNT,
               "one name per dtype");

const char *nn_dtype_name(nn_dtype dtype) { return dtype_names[dtype]; }

nn_dtype nn_dtype_promote(nn_dtype a, nn_dtype b) {
  if (a == NN_FLOAT32 || b == NN_FLOAT32) return NN_FLOAT32;
  if (a == NN_INT64 || b == NN_INT64) return NN_INT64;
  return NN_BOOL;
}

int64_t nn_shape_numel(int ndim, const int64_t *shape) {
  int64_t n = 1;
  for (int i = 0; i < ndim; i++) n *= shape[i];
  return n;
}

bool nn_shape_nbytes(int ndim, const int64_t *shape, nn_dtype dtype, size_t *nbytes) {
  uint64_t n = nn_dtype_size(dtype);
  /* The strides multiply the sides with zeros taken as 1: an empty
   * [0, 2^40, 2^40] would overflow them (found by tests/fuzz/fuzz_idx). */
  int64_t span = 1;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return false;
    /* Overflow checks without divisions: every new tensor comes here. */
    if (__builtin_mul_overflow(span, shape[i] ? shape[i] : 1, &span)) return false;
    if (__builtin_mul_overflow(n, (uint64_t)shape[i], &n) || n > UINT64_MAX / 2) return false;
  }
  if (n > SIZE_MAX / 2) return false;
  *nbytes = (size_t)n;
  return true;
}

void nn_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
}

static void header_init(nn_tensor *t, nn_storage *storage, nn_dtype dtype, int ndim,
                        const int64_t *shape, const int64_t *stride, int64_t offset) {
  memset(t, 0, sizeof *t);
  t->storage = storage;
  t->dtype = dtype;
  t->ndim = ndim;
  t->offset = offset;
  t->refcount = 1;
  if (ndim > 0) {
    memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
    memcpy(t->stride, stride, (size_t)ndim * sizeof *stride);
  }
  storage->refcount++;
}

static nn_tensor *header_new(nn_storage *storage, nn_dtype dtype, int ndim,
                             const int64_t *shape, const int64_t *stride,
                             int64_t offset) {
  nn_tensor *t = nn_alloc(sizeof *t);
  if (t) header_init(t, storage, dtype, ndim, shape, stride, offset);
  return t;
}

/* A small tensor is one block: its header, its storage, then its data
 * (16-byte aligned, all the kernels' unaligned vector loads need), so
 * making one costs one allocation instead of three and a 1-element tensor
 * takes 256 bytes. The header dies with the tensor's last reference, the
 * block with the storage's (a view may keep it). */
typedef struct small_block {
  nn_tensor header;
  nn_storage storage;
} small_block;
#define SMALL_DATA_OFFSET ((sizeof(small_block) + 15) & ~(size_t)15)
#define SMALL_BLOCK_MAX 1024

/* Whether s is the storage of a small block (then its data is in it). */
static bool storage_in_block(const nn_storage *s) {
  uintptr_t block = (uintptr_t)s - offsetof(small_block, storage);
  return (uintptr_t)s->data == block + SMALL_DATA_OFFSET;
}

static void storage_release(nn_storage *s) {
  if (--s->refcount > 0) return;
  if (storage_in_block(s)) {
    nn_free((char *)s - offsetof(small_block, storage), SMALL_DATA_OFFSET + s->nbytes);
    return;
  }
  nn_free(s->data, s->nbytes);
  nn_free(s, sizeof *s);
}

static nn_storage *storage_new(size_t nbytes, bool zeroed) {
  nn_storage *s = nn_alloc(sizeof *s);
  if (!s) return NULL;
  s->data = zeroed ? nn_alloc_zeroed(nbytes) : nn_alloc(nbytes);
  if (!s->data) {
    nn_free(s, sizeof *s);
    return NULL;
  }
  s->nbytes = nbytes;
  s->refcount = 0;
  return s;
}

static nn_tensor *tensor_new(nn_dtype dtype, int ndim, const int64_t *shape, bool zeroed) {
  assert(ndim >= 0 && ndim <= NN_MAX_DIMS);
  size_t nbytes;
  if (!nn_shape_nbytes(ndim, shape, dtype, &nbytes)) return NULL;
  int64_t stride[NN_MAX_DIMS];
  nn_contiguous_strides(ndim, shape, stride);
  if (nbytes <= SMALL_BLOCK_MAX - SMALL_DATA_OFFSET) {
    small_block *b = nn_alloc(SMALL_DATA_OFFSET + nbytes);
    if (!b) return NULL;
    nn_storage *s = &b->storage;
    s->data = (char *)b + SMALL_DATA_OFFSET;
    s->nbytes = nbytes;
    s->refcount = 0;
    if (zeroed) memset(s->data, 0, nbytes);
    header_init(&b->header, s, dtype, ndim, shape, stride, 0);
    return &b->header;
  }
  nn_storage *s = storage_new(nbytes, zeroed);
  if (!s) return NULL;
  nn_tensor *t = header_new(s, dtype, ndim, shape, stride, 0);
  if (!t) {
    s->refcount = 1;
    storage_release(s);
  }
  return t;
}

nn_tensor *nn_tensor_empty(nn_dtype dtype, int ndim, const int64_t *shape) {
  return tensor_new(dtype, ndim, shape, false);
}

nn_tensor *nn_tensor_zeros(nn_dtype dtype, int ndim, const int64_t *shape) {
  return tensor_new(dtype, ndim, shape, true);
}

nn_tensor *nn_tensor_view(const nn_tensor *base, int ndim, const int64_t *shape,
                          const int64_t *stride, int64_t offset) {
  assert(ndim >= 0 && ndim <= NN_MAX_DIMS);
  return header_new(base->storage, base->dtype, ndim, shape, stride, offset);
}

void nn_tensor_retain(nn_tensor *t) { t->refcount++; }

void nn_tensor_release(nn_tensor *t) {
  if (!t || --t->refcount > 0) return;
  nn_tensor_release(t->grad);
  nn_node_release(t->grad_fn);
  /* A small block's header goes with its storage's block. */
  bool in_block = (char *)t->storage == (char *)t + offsetof(small_block, storage);
  storage_release(t->storage);
  if (!in_block) nn_free(t, sizeof *t);
}

bool nn_tensor_is_contiguous(const nn_tensor *t) {
  int64_t s = 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    if (t->shape[i] == 1) continue; /* a size-1 dim's stride is irrelevant */
    if (t->shape[i] == 0) return true;
    if (t->stride[i] != s) return false;
    s *= t->shape[i];
  }
  return true;
}

void nn_broadcast_strides(const nn_tensor *t, int ndim, const int64_t *shape,
                          int64_t *stride) {
  int lead = ndim - t->ndim;
  assert(lead >= 0);
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    stride[i] = (j < 0 || (t->shape[j] == 1 && shape[i] != 1)) ? 0 : t->stride[j];
  }
}

bool nn_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b,
                        int *nout, int64_t *out) {
  int n = na > nb ? na : nb;
  for (int i = 0; i < n; i++) {
    int ia = i - (n - na), ib = i - (n - nb);
    int64_t da = ia >= 0 ? a[ia] : 1, db = ib >= 0 ? b[ib] : 1;
    if (da != db && da != 1 && db != 1) return false;
    out[i] = da == 1 ? db : da;
  }
  *nout = n;
  return true;
}

/* Walks the old and new shapes in chunks whose element counts agree; each
 * old chunk must be contiguous within itself for the view to exist (the
 * same rule as PyTorch's computeStride). */
bool nn_view_strides(const nn_tensor *t, int ndim, const int64_t *shape,
                     int64_t *stride) {
  if (nn_tensor_numel(t) == 0 || nn_tensor_is_contiguous(t)) {
    nn_contiguous_strides(ndim, shape, stride);
    return true;
  }
  int64_t chunk_base_stride = t->ndim ? t->stride[t->ndim - 1] : 1;
  int64_t tensor_numel = 1, view_numel = 1;
  int view_d = ndim - 1;
  for (int d = t->ndim - 1; d >= 0; d--) {
    tensor_numel *= t->shape[d];
    if (d == 0 || (t->shape[d - 1] != 1 &&
                   t->stride[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
        stride[view_d] = view_numel * chunk_base_stride;
        view_numel *= shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return false;
      if (d > 0) {
        chunk_base_stride = t->stride[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  return view_d == -1;
}
