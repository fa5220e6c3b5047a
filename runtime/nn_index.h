/*
 * nn_index: taking and putting elements along a dimension, and masks.
 *
 * Index tensors are int64 and hold 1-BASED indices, exactly as the user
 * wrote them (nn.tensor({3, 1}, 'int64'), argmax results, class labels):
 * the kernels shift each value with nn_index_to_0based, the one place the
 * shift happens, so the bindings pass user tensors straight through — no
 * 0-based copy to allocate. Dims and scalar positions are 0-based, as in
 * the rest of the runtime.
 *
 * Kernels (nn_kernel_*, nn_scatter*, nn_index_add, nn_masked_count) trust
 * their caller: index values are in range, shapes fit, written-to tensors
 * have no internal overlap. Any operand may be strided. The entry points
 * check the index values themselves (nn_index_check, one pass over the
 * index before anything is written); the bindings call nn_index_check
 * before the in-place kernels.
 */
#ifndef NN_INDEX_H
#define NN_INDEX_H

#include "nn_status.h"
#include "nn_tensor.h"

/* A stored 1-based index as an element position along its dim. */
static inline int64_t nn_index_to_0based(int64_t i) { return i - 1; }

/* ---- checks ---- */

/* Do two elements of t share one memory location (a stride-0 dim of size
 * > 1, as expand makes)? Writing into such a tensor is refused, as in
 * PyTorch, since one write would land in several elements. */
bool nn_has_internal_overlap(const nn_tensor *t);
/* Scans idx (int64, any shape) for a value outside 1..size. Returns true
 * and stores the first such value in *bad; false when all are valid. */
bool nn_index_find_invalid(const nn_tensor *idx, int64_t size, int64_t *bad);
/* NN_OK when every value of idx is in 1..size (the size of dim, 0-based),
 * else nn_fail("index 7 is out of range for dim 2 of size 5 ..."). */
nn_status nn_index_check(const nn_tensor *idx, int dim, int64_t size);

/* ---- entry points: check the indices, run the kernel, record ---- */

typedef struct nn_index_args {
  int dim; /* the dim the index runs along */
} nn_index_args;

/* index_select: out's slice j along dim = t's slice idx[j].
 * out (.., N, ..) t's shape and dtype, except N = numel(idx) at dim
 * t   (.., S, ..) ndim >= 1
 * idx (N) or 0-dim, int64; a value outside 1..S fails (nn_index_check) */
nn_status nn_index_select(nn_tensor *out, const nn_tensor *t, const nn_tensor *idx,
                          const nn_index_args *args);

/* gather: out[p] = t[p with p[dim] = idx[p]].
 * out (idx's shape), t's dtype
 * t   same ndim as idx; idx.shape[d] <= t.shape[d] for d != dim
 * idx int64; a value outside 1..t.shape[dim] fails (nn_index_check) */
nn_status nn_gather(nn_tensor *out, const nn_tensor *t, const nn_tensor *idx,
                    const nn_index_args *args);

typedef struct nn_masked_select_args {
  int ndim; /* the shape t and the mask were broadcast to */
  int64_t shape[NN_MAX_DIMS];
} nn_masked_select_args;

/* masked_select: out = t's elements where mask, in row-major order of the
 * shape t and mask broadcast to.
 * out  (K) t's dtype, K = nn_masked_count(mask, that shape)
 * t, mask broadcast together; mask bool */
nn_status nn_masked_select(nn_tensor *out, const nn_tensor *t, const nn_tensor *mask);

/* masked_fill: out = t, with value where mask. mask is bool and
 * broadcasts to t's shape; value is 0-dim, any dtype (converted to t's),
 * read before anything is written. out has t's shape and dtype; out == t
 * fills in place (not recorded: the caller refused a t in a graph),
 * otherwise recorded as a WHERE whose gradient reaches t where the mask
 * is false. */
nn_status nn_masked_fill(nn_tensor *out, const nn_tensor *t, const nn_tensor *mask,
                         const nn_tensor *value);

/* ---- kernels ---- */

/* index_select and gather as described above, values in range. */
void nn_kernel_index_select(nn_tensor *out, const nn_tensor *t, int dim, const nn_tensor *idx);
void nn_kernel_gather(nn_tensor *out, const nn_tensor *t, int dim, const nn_tensor *idx);

/* scatter: t[p with p[dim] = idx[p]] = src[p], for each position p of
 * idx; where idx repeats a target, the last write in row-major order wins.
 * t   written in place; idx.shape[d] <= t.shape[d] for d != dim
 * idx int64, same ndim as t, values in 1..t.shape[dim]
 * src t's dtype and ndim, src.shape[d] >= idx.shape[d]; not overlapping t */
void nn_scatter(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src);
/* The same with one value for every position; value is 0-dim, any dtype
 * (converted to t's). */
void nn_scatter_value(nn_tensor *t, int dim, const nn_tensor *idx,
                      const nn_tensor *value);

/* scatter_add: t[p with p[dim] = idx[p]] += src[p], each repeat adding;
 * shapes as nn_scatter, dtype float32 or int64. The backward of gather. */
void nn_scatter_add(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src);

/* index_add: t's slice idx[j] along dim += src's slice j (repeats add).
 * The backward of index_select.
 * t   (.., S, ..) float32 or int64, written in place
 * idx (N) or 0-dim, int64, values in 1..S
 * src (.., N, ..) t's shape and dtype except N = numel(idx) at dim */
void nn_index_add(nn_tensor *t, int dim, const nn_tensor *idx, const nn_tensor *src);

/* t[p] = value where mask[p], in place; as nn_masked_fill. */
void nn_kernel_masked_fill(nn_tensor *t, const nn_tensor *mask, const nn_tensor *value);

/* Number of true elements of mask read as shape (mask broadcasts to it). */
int64_t nn_masked_count(const nn_tensor *mask, int ndim, const int64_t *shape);
/* masked_select with t and mask read as shape (both broadcast to it). */
void nn_kernel_masked_select(nn_tensor *out, const nn_tensor *t, const nn_tensor *mask,
                             int ndim, const int64_t *shape);

#endif
