/*
 * nn_sort: sorting and selection along a dim (sort, argsort, topk,
 * kthvalue, median, mode), counting (unique, bincount, histc) and pairwise
 * distances (cdist).
 *
 * Every selection op works on rows: the input, made contiguous, is read as
 * [outer, n, inner] around its dim, and each of the outer * inner rows of
 * n elements (stride inner) is sorted on its own, rows split over the
 * engine's threads. A row is sorted by an LSD radix sort on order keys
 * (float32: the bits flipped so that unsigned order is numeric order, -0
 * equal to +0, every NaN after +inf; int64: the sign bit flipped), which
 * is stable: equal values keep their input order, and descending order
 * sorts the complemented keys, so it is stable too and puts NaN first, as
 * PyTorch does.
 *
 * Tie rule: sort is stable; topk, kthvalue, median and mode return
 * PyTorch's values and, where several positions hold the chosen value,
 * the first one (topk: the earliest of equal values ranks first).
 * Returned indices are int64 and 1-based (nn_tensor.h's index rule),
 * written so by these kernels. Rows (and unique's input) hold fewer than
 * 2^32 elements: positions are kept in 32 bits (the bindings check).
 */
#ifndef NN_SORT_H
#define NN_SORT_H

#include "nn_op.h"
#include "nn_status.h"
#include "nn_tensor.h"

/* A selection's node arguments (node->args.sort). */
typedef struct nn_sort_args {
  int dim;      /* 0-based; -1: every element (median of everything) */
  bool keepdim; /* kthvalue/median/mode: the dim stays as size 1 */
} nn_sort_args;

/* ---- entry points: values (float32 or int64, in's dtype) and 1-based
 * int64 indices; in is float32 or int64, any strides. dim is 0-based; a
 * 0-dim in is one row of one element. Values from a float32 in record a
 * node whose backward adds each gradient at its index. ---- */

/* sort / argsort: values and indices have in's shape; values may be NULL
 * (argsort: nothing recorded). Stable. */
nn_status nn_sort(nn_tensor *values, nn_tensor *indices, const nn_tensor *in, int dim,
                  bool descending);

/* topk: the k largest (smallest) of each row, in order, the earliest of
 * equal values first. values, indices: in's shape with k at dim;
 * 0 <= k <= size of dim (the caller checked). */
nn_status nn_topk(nn_tensor *values, nn_tensor *indices, const nn_tensor *in, int dim,
                  int64_t k, bool largest);

/* kthvalue: the k-th smallest of each row (NaN counts as the largest),
 * and the first position holding it. 1 <= k <= size of dim.
 * values, indices: in's shape with dim dropped, or size 1 with keepdim. */
nn_status nn_kthvalue(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                      int64_t k, const nn_sort_args *args);

/* median: the lower median of each row (the ((n+1)//2)-th smallest), NaN
 * with the first NaN's position where the row has one; shapes as
 * kthvalue. With args->dim == -1, the median of every element: values is
 * 0-dim, indices NULL; an empty in gives NaN (float32 only). Along a dim,
 * its size > 0. */
nn_status nn_median(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                    const nn_sort_args *args);

/* mode: the most frequent value of each row, the smallest of those equally
 * frequent (each NaN counts once), and its first position; shapes as
 * kthvalue; the size of dim > 0. */
nn_status nn_mode(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                  const nn_sort_args *args);

/* ---- counting: no gradient ---- */

/* The number of distinct values of in (float32 or int64, any shape; NaNs
 * are each distinct), which sizes nn_unique's outputs. */
nn_status nn_unique_count(const nn_tensor *in, int64_t *count);
/* unique: the distinct values of in in ascending order.
 *   values  (K) in's dtype, K = nn_unique_count(in)
 *   inverse in's shape, int64, 1-based: values[inverse[p]] == in[p]; or NULL
 *   counts  (K) int64, how often each value occurs; or NULL */
nn_status nn_unique(nn_tensor *values, nn_tensor *inverse, nn_tensor *counts,
                    const nn_tensor *in);

/* The length of bincount(in): max(largest value of in, minlength); fails
 * naming the value when one is < 1 or not an integer. in is 1-D, int64 or
 * float32. */
nn_status nn_bincount_length(const nn_tensor *in, int64_t minlength, int64_t *length);
/* bincount: out[v] (1-based) = the number of elements of in equal to v, or
 * the sum of their weights.
 *   out     (L) zero-filled; int64 without weights, float32 with them
 *   in      (N) values in 1..L (nn_bincount_length checked them)
 *   weights (N) float32, or NULL */
void nn_bincount(nn_tensor *out, const nn_tensor *in, const nn_tensor *weights);

/* histc: out[b] counts the elements of in (float32) in bin b of bins
 * equal-width bins from lo to hi (the last bin includes hi; elements
 * outside, and NaN, are not counted). lo == hi takes in's smallest and
 * largest element instead, widened by 1 each way if they too are equal.
 * out (bins) float32; lo <= hi (the caller checked). */
void nn_histc(nn_tensor *out, const nn_tensor *in, double lo, double hi);

/* ---- cdist ---- */

typedef struct nn_cdist_args {
  double p; /* >= 0, or INFINITY */
} nn_cdist_args;

/* cdist: out[i,j] = ||x1[i] - x2[j]||_p, the distance between row i of x1
 * and row j of x2: for p = 2 with more than 25 rows on either side, one GEMM
 * (|a|^2 + |b|^2 - 2 a.b), else directly, as PyTorch's default compute_mode.
 *   out [N, M] float32
 *   x1  [N, D] float32, any strides
 *   x2  [M, D] float32
 * Records a node whose backward gives both inputs their gradients. */
nn_status nn_cdist(nn_tensor *out, const nn_tensor *x1, const nn_tensor *x2,
                   const nn_cdist_args *args);

#endif
