/*
 * Indexing kernels and entry points (see nn_index.h). Gather, index_select, scatter and
 * their adding forms share one trick, the one PyTorch's TensorIterator uses: the tensor
 * indexed along dim is walked with its stride along dim set to 0, so the
 * shared strided iterator yields the start of the right row and each
 * element adds (index - 1) * stride[dim] to it.
 */
#include "nn_index.h"

#include <assert.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_elementwise.h"
#include "nn_iter.h"
#include "nn_threads.h"

/* One element of any dtype, for values converted once before a walk. */
typedef union elem_cell {
  float f32;
  int64_t i64;
  bool b;
} elem_cell;

/* Copies one element of es bytes (1, 4 or 8): a switch so the compiler
 * emits plain loads and stores instead of a memcpy call per element. */
static inline void copy_elem(char *dst, const char *src, int64_t es) {
  switch (es) {
  case 8: memcpy(dst, src, 8); break;
  case 4: memcpy(dst, src, 4); break;
  default: *dst = *src; break;
  }
}

/* value (0-dim, any dtype) converted to dtype into *cell, by nn_copy over
 * a borrowed 0-dim header, so the conversion rules are nn_copy's. */
static void convert_to_cell(elem_cell *cell, nn_dtype dtype, const nn_tensor *value) {
  nn_storage storage = {.data = cell, .nbytes = sizeof *cell, .refcount = 1};
  nn_tensor dst = {.storage = &storage, .dtype = dtype, .ndim = 0, .refcount = 1};
  nn_copy(&dst, value);
}

/* ---- checks ---- */

bool nn_has_internal_overlap(const nn_tensor *t) {
  for (int d = 0; d < t->ndim; d++)
    if (t->shape[d] > 1 && t->stride[d] == 0) return true;
  return false;
}

bool nn_index_find_invalid(const nn_tensor *idx, int64_t size, int64_t *bad) {
  assert(idx->dtype == NN_INT64);
  nn_iter it;
  nn_iter_init_tensors(&it, idx->ndim, idx->shape, 1, (const nn_tensor *[]){idx});
  while (nn_iter_next(&it)) {
    const int64_t *p = (const int64_t *)it.ptr[0];
    for (int64_t i = 0; i < it.n; i++) {
      int64_t k = nn_index_to_0based(p[i * it.step[0]]);
      if (k < 0 || k >= size) {
        *bad = p[i * it.step[0]];
        return true;
      }
    }
  }
  return false;
}

nn_status nn_index_check(const nn_tensor *idx, int dim, int64_t size) {
  int64_t bad;
  if (!nn_index_find_invalid(idx, size, &bad)) return NN_OK;
  return nn_fail("index %lld is out of range for dim %d of size %lld (indices are 1-based: 1..%lld)",
                 (long long)bad, dim + 1, (long long)size, (long long)size);
}

/* ---- take: gather and index_select ---- */

/* One run of a take. o: output run, base: source row start with the
 * indexed dim at 0, ix: the run's indices; step (out, base, ix) in
 * elements; along: the source's stride along the indexed dim. */
static void take_run(char *o, const char *base, const char *ix, const int64_t *step,
                     int64_t n, int64_t along, int64_t es) {
  if (step[2] == 0) { /* the whole run reads one source slice */
    const char *src = base + nn_index_to_0based(*(const int64_t *)ix) * along * es;
    if (step[0] == 1 && step[1] == 1) {
      memcpy(o, src, (size_t)(n * es));
      return;
    }
    for (int64_t i = 0; i < n; i++) copy_elem(o + i * step[0] * es, src + i * step[1] * es, es);
    return;
  }
  const int64_t *k = (const int64_t *)ix;
  for (int64_t i = 0; i < n; i++) {
    int64_t pos = nn_index_to_0based(k[i * step[2]]);
    copy_elem(o + i * step[0] * es, base + (i * step[1] + pos * along) * es, es);
  }
}

/* out[p] = t[p with p[dim] = idx read at p], where idx_stride gives how
 * the index operand is read over out's shape. */
static void take_along(nn_tensor *out, const nn_tensor *t, int dim, const nn_tensor *idx,
                       const int64_t *idx_stride) {
  int nd = out->ndim;
  int64_t strides[3][NN_MAX_DIMS];
  memcpy(strides[0], out->stride, (size_t)nd * sizeof(int64_t));
  memcpy(strides[1], t->stride, (size_t)nd * sizeof(int64_t));
  strides[1][dim] = 0;
  memcpy(strides[2], idx_stride, (size_t)nd * sizeof(int64_t));
  int64_t es = (int64_t)nn_dtype_size(out->dtype);
  void *data[3] = {nn_tensor_data(out), nn_tensor_data(t), nn_tensor_data(idx)};
  size_t elsize[3] = {(size_t)es, (size_t)es, sizeof(int64_t)};
  nn_iter it;
  nn_iter_init(&it, nd, out->shape, 3, data, (const int64_t (*)[NN_MAX_DIMS])strides, elsize);
  while (nn_iter_next(&it))
    take_run(it.ptr[0], it.ptr[1], it.ptr[2], it.step, it.n, t->stride[dim], es);
}

/* index_select of whole contiguous slices (a batch of rows of a
 * dataset): one memcpy per slice, split over the pool, the next slice's
 * source prefetched while this one copies (the rows are scattered over a
 * dataset far larger than the caches). */
typedef struct slice_take {
  char *out;
  const char *src;
  const int64_t *idx;
  int64_t idx_step, nidx, src_len; /* slices per outer block in idx and in src */
  size_t bytes;                    /* one slice */
} slice_take;

static const char *slice_src(const slice_take *c, int64_t r) {
  int64_t outer = r / c->nidx, i = r % c->nidx;
  int64_t pos = nn_index_to_0based(c->idx[i * c->idx_step]);
  return c->src + (size_t)(outer * c->src_len + pos) * c->bytes;
}

static void slice_take_range(void *ctx, int64_t begin, int64_t end) {
  const slice_take *c = ctx;
  const char *next = begin < end ? slice_src(c, begin) : NULL;
  for (int64_t r = begin; r < end; r++) {
    const char *src = next;
    if (r + 1 < end) {
      next = slice_src(c, r + 1);
      for (size_t b = 0; b < c->bytes && b < 1024; b += 64) __builtin_prefetch(next + b);
    }
    memcpy(c->out + (size_t)r * c->bytes, src, c->bytes);
  }
}

void nn_kernel_index_select(nn_tensor *out, const nn_tensor *t, int dim, const nn_tensor *idx) {
  assert(t->ndim >= 1 && idx->ndim <= 1 && out->ndim == t->ndim);
  if (nn_tensor_is_contiguous(out) && nn_tensor_is_contiguous(t)) {
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < dim; d++) outer *= t->shape[d];
    for (int d = dim + 1; d < t->ndim; d++) inner *= t->shape[d];
    slice_take c = {nn_tensor_data(out), nn_tensor_data(t), nn_tensor_data(idx),
                    idx->ndim ? idx->stride[0] : 0, out->shape[dim], t->shape[dim],
                    (size_t)inner * nn_dtype_size(t->dtype)};
    /* At least 64 KB a part: below that the pool's wake-up costs more. */
    int64_t grain = c.bytes ? (int64_t)((1 << 16) / c.bytes) + 1 : 1;
    if (inner > 0 && c.nidx > 0) nn_parallel_for(outer * c.nidx, grain, slice_take_range, &c);
    return;
  }
  /* The index runs along dim only: stride 0 everywhere else. */
  int64_t idx_stride[NN_MAX_DIMS] = {0};
  idx_stride[dim] = idx->ndim ? idx->stride[0] : 0;
  take_along(out, t, dim, idx, idx_stride);
}

void nn_kernel_gather(nn_tensor *out, const nn_tensor *t, int dim, const nn_tensor *idx) {
  assert(t->ndim >= 1 && idx->ndim == t->ndim && out->ndim == t->ndim);
  take_along(out, t, dim, idx, idx->stride);
}

/* ---- put: scatter, scatter_add, index_add ---- */

/* How put_along combines a source element with its target. */
typedef enum put_mode { PUT_COPY, PUT_ADD } put_mode;

/* One put walk over `shape`: the target t[p with p[dim] = idx at p] gets
 * src at p (copied or added). idx_stride and src_stride say how idx and
 * src are read over shape (0 where they do not move). */
static void put_along(nn_tensor *t, int dim, int ndim, const int64_t *shape,
                      const nn_tensor *idx, const int64_t *idx_stride, const void *src_data,
                      const int64_t *src_stride, put_mode mode) {
  int64_t strides[3][NN_MAX_DIMS];
  memcpy(strides[0], t->stride, (size_t)ndim * sizeof(int64_t));
  strides[0][dim] = 0;
  memcpy(strides[1], idx_stride, (size_t)ndim * sizeof(int64_t));
  memcpy(strides[2], src_stride, (size_t)ndim * sizeof(int64_t));
  int64_t es = (int64_t)nn_dtype_size(t->dtype);
  void *data[3] = {nn_tensor_data(t), nn_tensor_data(idx), (void *)src_data};
  size_t elsize[3] = {(size_t)es, sizeof(int64_t), (size_t)es};
  int64_t along = t->stride[dim];
  nn_iter it;
  nn_iter_init(&it, ndim, shape, 3, data, (const int64_t (*)[NN_MAX_DIMS])strides, elsize);
  while (nn_iter_next(&it)) {
    const int64_t *k = (const int64_t *)it.ptr[1];
    for (int64_t i = 0; i < it.n; i++) {
      char *dst = it.ptr[0] + (i * it.step[0] + nn_index_to_0based(k[i * it.step[1]]) * along) * es;
      const char *src = it.ptr[2] + i * it.step[2] * es;
      if (mode == PUT_COPY) copy_elem(dst, src, es);
      else if (t->dtype == NN_FLOAT32) *(float *)dst += *(const float *)src;
      else *(int64_t *)dst = (int64_t)((uint64_t)*(int64_t *)dst + (uint64_t)*(const int64_t *)src);
    }
  }
}

void nn_scatter(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src) {
  assert(t->ndim >= 1 && idx->ndim == t->ndim && src->ndim == t->ndim &&
         src->dtype == t->dtype);
  put_along(t, dim, idx->ndim, idx->shape, idx, idx->stride, nn_tensor_data(src), src->stride,
            PUT_COPY);
}

void nn_scatter_value(nn_tensor *t, int dim, const nn_tensor *idx,
                      const nn_tensor *value) {
  assert(t->ndim >= 1 && idx->ndim == t->ndim && value->ndim == 0);
  elem_cell cell;
  convert_to_cell(&cell, t->dtype, value);
  int64_t zero[NN_MAX_DIMS] = {0};
  put_along(t, dim, idx->ndim, idx->shape, idx, idx->stride, &cell, zero, PUT_COPY);
}

void nn_scatter_add(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src) {
  assert(t->ndim >= 1 && idx->ndim == t->ndim && src->ndim == t->ndim &&
         src->dtype == t->dtype && t->dtype != NN_BOOL);
  put_along(t, dim, idx->ndim, idx->shape, idx, idx->stride, nn_tensor_data(src), src->stride,
            PUT_ADD);
}

void nn_index_add(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src) {
  assert(t->ndim >= 1 && idx->ndim <= 1 && src->ndim == t->ndim &&
         src->dtype == t->dtype && t->dtype != NN_BOOL);
  /* Walk src's shape; the index moves along dim only. */
  int64_t idx_stride[NN_MAX_DIMS] = {0};
  idx_stride[dim] = idx->ndim ? idx->stride[0] : 0;
  put_along(t, dim, src->ndim, src->shape, idx, idx_stride, nn_tensor_data(src), src->stride,
            PUT_ADD);
}

/* ---- masks ----
 * Masks are often random, so these loops do not branch on each element
 * (a mispredicted branch per two elements made them ~8x slower): fill
 * blends bits, select always writes and advances by the mask. Each is
 * instantiated per element size by a switch on a literal es, so the
 * memcpys and copy_elem's own switch fold into plain loads and stores. */

static inline void fill_run(char *o, const bool *m, const int64_t *step, int64_t n,
                            const char *cell, int64_t es) {
  uint64_t v = 0;
  memcpy(&v, cell, (size_t)es);
  for (int64_t i = 0; i < n; i++) {
    char *p = o + i * step[0] * es;
    uint64_t old = 0, keep = (uint64_t)m[i * step[1]] - 1; /* all ones: not selected */
    memcpy(&old, p, (size_t)es);
    uint64_t x = (old & keep) | (v & ~keep);
    memcpy(p, &x, (size_t)es);
  }
}

void nn_kernel_masked_fill(nn_tensor *t, const nn_tensor *mask, const nn_tensor *value) {
  assert(mask->dtype == NN_BOOL && value->ndim == 0);
  elem_cell cell;
  convert_to_cell(&cell, t->dtype, value);
  const char *c = (const char *)&cell;
  nn_iter it;
  nn_iter_init_tensors(&it, t->ndim, t->shape, 2, (const nn_tensor *[]){t, mask});
  while (nn_iter_next(&it)) {
    const bool *m = (const bool *)it.ptr[1];
    switch (nn_dtype_size(t->dtype)) {
    case 8: fill_run(it.ptr[0], m, it.step, it.n, c, 8); break;
    case 4: fill_run(it.ptr[0], m, it.step, it.n, c, 4); break;
    default: fill_run(it.ptr[0], m, it.step, it.n, c, 1); break;
    }
  }
}

int64_t nn_masked_count(const nn_tensor *mask, int ndim, const int64_t *shape) {
  assert(mask->dtype == NN_BOOL);
  int64_t count = 0;
  nn_iter it;
  nn_iter_init_tensors(&it, ndim, shape, 1, (const nn_tensor *[]){mask});
  while (nn_iter_next(&it)) {
    const bool *m = (const bool *)it.ptr[0];
    for (int64_t i = 0; i < it.n; i++) count += m[i * it.step[0]];
  }
  return count;
}

/* Appends the selected elements of one run to out, whose element j is at
 * o + j * ostep (bytes) and which has room for k; returns the new j. Each
 * element is written at j and j advances only when it is selected, which
 * may write one past the last selected element: so a block runs that way
 * only while out has room for all of it, else element by element. */
static inline int64_t select_run(char *o, int64_t j, int64_t k, int64_t ostep,
                                 const char *src, const bool *m, const int64_t *step,
                                 int64_t n, int64_t es) {
  for (int64_t i = 0; i < n; i += 256) {
    int64_t block = n - i < 256 ? n - i : 256;
    if (j + block <= k) {
      for (int64_t b = i; b < i + block; b++) {
        copy_elem(o + j * ostep, src + b * step[0] * es, es);
        j += m[b * step[1]];
      }
      continue;
    }
    for (int64_t b = i; b < i + block; b++)
      if (m[b * step[1]]) copy_elem(o + j++ * ostep, src + b * step[0] * es, es);
  }
  return j;
}

void nn_kernel_masked_select(nn_tensor *out, const nn_tensor *t, const nn_tensor *mask,
                      int ndim, const int64_t *shape) {
  assert(out->ndim == 1 && mask->dtype == NN_BOOL && out->dtype == t->dtype);
  int64_t es = (int64_t)nn_dtype_size(t->dtype);
  char *o = nn_tensor_data(out);
  int64_t j = 0, k = out->shape[0], ostep = out->stride[0] * es;
  nn_iter it;
  nn_iter_init_tensors(&it, ndim, shape, 2, (const nn_tensor *[]){t, mask});
  while (nn_iter_next(&it)) {
    const bool *m = (const bool *)it.ptr[1];
    switch (es) {
    case 8: j = select_run(o, j, k, ostep, it.ptr[0], m, it.step, it.n, 8); break;
    case 4: j = select_run(o, j, k, ostep, it.ptr[0], m, it.step, it.n, 4); break;
    default: j = select_run(o, j, k, ostep, it.ptr[0], m, it.step, it.n, 1); break;
    }
  }
  assert(j == k);
}

/* ---- entry points ---- */

nn_status nn_index_select(nn_tensor *out, const nn_tensor *t, const nn_tensor *idx,
                          const nn_index_args *args) {
  nn_status st = nn_index_check(idx, args->dim, t->shape[args->dim]);
  if (st) return st;
  nn_kernel_index_select(out, t, args->dim, idx);
  nn_node *node;
  st = nn_record(&node, NN_OP_INDEX_SELECT, out, 1, (nn_tensor *[]){(nn_tensor *)t});
  if (st || !node) return st;
  node->args.index = *args;
  return nn_node_save(node, idx);
}

nn_status nn_gather(nn_tensor *out, const nn_tensor *t, const nn_tensor *idx,
                    const nn_index_args *args) {
  nn_status st = nn_index_check(idx, args->dim, t->shape[args->dim]);
  if (st) return st;
  nn_kernel_gather(out, t, args->dim, idx);
  nn_node *node;
  st = nn_record(&node, NN_OP_GATHER, out, 1, (nn_tensor *[]){(nn_tensor *)t});
  if (st || !node) return st;
  node->args.index = *args;
  return nn_node_save(node, idx);
}

nn_status nn_masked_select(nn_tensor *out, const nn_tensor *t, const nn_tensor *mask) {
  nn_masked_select_args a;
  bool ok = nn_broadcast_shape(t->ndim, t->shape, mask->ndim, mask->shape, &a.ndim, a.shape);
  assert(ok);
  (void)ok;
  nn_kernel_masked_select(out, t, mask, a.ndim, a.shape);
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_MASKED_SELECT, out, 1, (nn_tensor *[]){(nn_tensor *)t});
  if (st || !node) return st;
  node->args.masked_select = a;
  return nn_node_save(node, mask);
}

nn_status nn_masked_fill(nn_tensor *out, const nn_tensor *t, const nn_tensor *mask,
                         const nn_tensor *value) {
  if (out != t) nn_copy(out, t);
  nn_kernel_masked_fill(out, mask, value);
  if (out == t) return NN_OK;
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_WHERE, out, 3, (nn_tensor *[]){NULL, NULL, (nn_tensor *)t});
  if (st || !node) return st;
  return nn_node_save(node, mask);
}

/* ---- backward ---- */

/* index_select: the gradient of each picked slice goes back to its slot
 * (repeated indices add up). Saved idx. */
bool nn_index_select_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (gi[0]) nn_index_add(gi[0], n->args.index.dim, n->saved[0], g);
  return true;
}

/* gather: scatter the gradient back, adding. Saved idx. */
bool nn_gather_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (gi[0]) nn_scatter_add(gi[0], n->args.index.dim, n->saved[0], g);
  return true;
}

/* masked_select: g's elements go back, in row-major order, to the places
 * the mask selected, in a tensor of the broadcast shape, which is then
 * summed down to the input's shape. Saved mask. */
bool nn_masked_select_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const nn_masked_select_args *a = &n->args.masked_select;
  nn_tensor *full = nn_tensor_zeros(NN_FLOAT32, a->ndim, a->shape);
  if (!full) return false;
  nn_iter it;
  nn_iter_init_tensors(&it, a->ndim, a->shape, 2, (const nn_tensor *[]){full, n->saved[0]});
  const float *src = nn_tensor_data(g);
  while (nn_iter_next(&it))
    for (int64_t i = 0; i < it.n; i++)
      if (*(const bool *)(it.ptr[1] + i * it.step[1])) ((float *)it.ptr[0])[i * it.step[0]] = *src++;
  nn_accumulate(gi[0], full);
  nn_tensor_release(full);
  return true;
}
