/*
 * nn_iter: the one strided walk every elementwise kernel shares.
 *
 * Operands are read as tensors of a common shape (inputs broadcast to it).
 * The walk yields "runs": stretches along the innermost dimension, each a
 * start pointer per operand plus an element step, so a kernel is a plain
 * 1-D loop. Adjacent dimensions that are laid out back to back are merged
 * first, so a contiguous tensor is a single run however many dims it has.
 *
 *   nn_iter it;
 *   nn_iter_init_tensors(&it, ndim, shape, 2, (const nn_tensor *[]){out, a});
 *   while (nn_iter_next(&it)) kernel(it.ptr[0], it.ptr[1], it.step, it.n);
 *
 * Big walks split over the engine's pool with nn_iter_parallel.
 */
#ifndef NN_ITER_H
#define NN_ITER_H

#include "nn_tensor.h"

#define NN_ITER_MAX_OPS 4

typedef struct nn_iter {
  /* Valid after each successful nn_iter_next. */
  char *ptr[NN_ITER_MAX_OPS]; /* first element of the run, per operand */
  int64_t step[NN_ITER_MAX_OPS]; /* element stride within the run */
  int64_t n;                  /* run length */

  int nops, ndim;
  size_t elsize[NN_ITER_MAX_OPS];
  int64_t shape[NN_MAX_DIMS];
  int64_t stride[NN_ITER_MAX_OPS][NN_MAX_DIMS]; /* elements */
  char *base[NN_ITER_MAX_OPS];
  int64_t index[NN_MAX_DIMS];
  int64_t runs_left;
  int64_t head, tail; /* the next run starts at head, the last one ends at tail */
} nn_iter;

/* Operand k starts at data[k] with strides[k] (elements) over shape. */
void nn_iter_init(nn_iter *it, int ndim, const int64_t *shape, int nops,
                  void *const *data, const int64_t (*strides)[NN_MAX_DIMS],
                  const size_t *elsize);
/* Operands are tensors broadcastable to shape. */
void nn_iter_init_tensors(nn_iter *it, int ndim, const int64_t *shape, int nops,
                          const nn_tensor *const *operands);
/* Advances to the next run; false when the walk is over. */
bool nn_iter_next(nn_iter *it);

/* Elements in the whole walk of a fresh iterator. */
int64_t nn_iter_numel(const nn_iter *it);

/* Restricts a fresh iterator to elements [begin, end) of its walk (in
 * walk order): its first and last runs may be parts of runs. */
void nn_iter_restrict(nn_iter *it, int64_t begin, int64_t end);

/* Runs body(ctx, part) on the engine's pool (nn_threads.h), each part a
 * copy of the fresh iterator it restricted to a range of at least grain
 * elements; body walks its part with nn_iter_next. Operand 0 must be
 * the one written. Serial, on it itself, below 2 * grain elements or
 * when operand 0 has a zero stride (a walk that sums into it). */
void nn_iter_parallel(nn_iter *it, int64_t grain, void (*body)(void *ctx, nn_iter *part), void *ctx);

#endif
