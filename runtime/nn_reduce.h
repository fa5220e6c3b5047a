/*
 * nn_reduce: reductions (sum, mean, max, min, argmax, argmin, var, std,
 * norm, any, all, count_nonzero) over one dim or over the whole tensor,
 * and the cumulative sum and product along a dim (reduce_scan.c).
 *
 * Adding a reduction:
 *   1. add NN_REDUCE_<OP> to the enum below, before NN_REDUCE_COUNT;
 *   2. give it a row in the op table in reduce.c (the static_assert there
 *      fails until you do): its name, the reducer per input dtype (NULL:
 *      the bindings convert the input to float32 first), whether it
 *      writes values, indices or both, and its node op (nn_op.h) if it is
 *      differentiable, whose backward goes in reduce_backward.c;
 *   3. if its value dtype is new, teach nn_reduce_value_dtype;
 *   4. expose it in bindings/reduce.c;
 *   5. test it: tests/runtime/test_reduce.c against a naive loop (contiguous,
 *      transposed, expanded inputs, every dtype) and through
 *      nn_apply_reduce and nn_backward, tests/lua/reduce_spec.lua for the
 *      API, and a PyTorch reference case in
 *      tests/fixtures/gen_reduce_fixtures.py.
 *
 * Numerics: float sums accumulate in double (eight partial sums on
 * contiguous runs), so 1M-element float32 sums agree with PyTorch to
 * float32 rounding; var/std take two passes (mean, then squared deviations),
 * also in double. int64 sums are exact (wrapping on overflow). max/min
 * propagate NaN and, like argmax/argmin, report the first occurrence of
 * the extreme (the first NaN if there is one).
 */
#ifndef NN_REDUCE_H
#define NN_REDUCE_H

#include "nn_status.h"
#include "nn_tensor.h"

typedef enum nn_reduce_op {
  NN_REDUCE_SUM,
  NN_REDUCE_MEAN,
  NN_REDUCE_MAX, /* values and, optionally, indices */
  NN_REDUCE_MIN,
  NN_REDUCE_ARGMAX, /* indices only */
  NN_REDUCE_ARGMIN,
  NN_REDUCE_VAR, /* param: the correction (1 = unbiased, 0 = population) */
  NN_REDUCE_STD,
  NN_REDUCE_NORM, /* param: p >= 0, or INFINITY for the max of |x| */
  NN_REDUCE_ANY,  /* bool: some element is nonzero (NaN counts) */
  NN_REDUCE_ALL,  /* bool: every element is nonzero */
  NN_REDUCE_COUNT_NONZERO, /* int64 */
  NN_REDUCE_COUNT
} nn_reduce_op;

const char *nn_reduce_name(nn_reduce_op op);
/* Is there a kernel for this input dtype? Where not (mean/var/std/norm of
 * int64 or bool) the caller converts the input to float32 first. */
bool nn_reduce_supports(nn_reduce_op op, nn_dtype dtype);
/* Does the op write values / indices? (max, min: both; argmax, argmin:
 * indices only; the rest: values only.) */
bool nn_reduce_has_values(nn_reduce_op op);
bool nn_reduce_has_indices(nn_reduce_op op);
/* dtype of the values for a supported input dtype: sum of int64 or bool is
 * int64, max/min keep the dtype, any/all are bool, count_nonzero is int64,
 * the rest are float32. */
nn_dtype nn_reduce_value_dtype(nn_reduce_op op, nn_dtype dtype);
/* Must the reduced extent be non-empty? (max, min, argmax, argmin: there
 * is no identity to return for nothing.) */
bool nn_reduce_needs_elements(nn_reduce_op op);

/* Shape of the result of reducing in over dim (0-based, -1: every dim):
 * dim dropped, or kept as size 1 with keepdim. Returns its ndim. */
int nn_reduce_shape(const nn_tensor *in, int dim, bool keepdim, int64_t *shape);

/*
 * Reduces in over dim (0-based), or over every element when dim is -1 or
 * in is 0-dim. A primitive: records nothing (nn_apply_reduce does).
 *   values  the results, dtype nn_reduce_value_dtype(op, in->dtype); NULL
 *           for argmax/argmin
 *   indices int64, 1-based position of the extreme along dim (the flat
 *           row-major index, from 1, for a full reduction); required for
 *           argmax/argmin, optional (NULL) for max/min, NULL otherwise
 *   in      any strides (transposed, narrowed, stride-0 expanded)
 *   param   see the enum (ignored by the other ops)
 * The outputs hold one element per position of in's other dims, shaped
 * either with dim dropped or with dim kept as size 1 (keepdim); any
 * strides. A full reduction writes one element, whatever its shape.
 * Preconditions (asserted in debug builds): op supports in->dtype, the
 * outputs have the right dtype and element count and do not overlap in,
 * and the reduced extent is non-empty where nn_reduce_needs_elements.
 * Reducing nothing gives sum 0, mean/var/std NaN, norm 0, any false, all
 * true, count_nonzero 0.
 */
void nn_reduce(nn_reduce_op op, nn_tensor *values, nn_tensor *indices,
               const nn_tensor *in, int dim, double param);

/* A reduction's arguments, kept by its node (node->args.reduce). */
typedef struct nn_reduce_args {
  nn_reduce_op op;
  int dim;      /* 0-based; -1: every element */
  bool keepdim; /* the reduced dim(s) stay as size 1 */
  double param; /* var/std: the correction; norm: p; ignored otherwise */
} nn_reduce_args;

/*
 * The entry point: nn_reduce, then, when a gradient is wanted, the node.
 *   values   nn_reduce_shape(in, dim, keepdim), dtype
 *            nn_reduce_value_dtype(op, in->dtype); NULL for argmax/argmin
 *   indices  same shape, int64, 1-based; required for argmax/argmin and
 *            for max/min over a dim (its node saves them); optional for
 *            max/min over every element (its node shares the gradient
 *            among the equal extremes); NULL for the other ops
 *   in       a dtype the op supports (nn_reduce_supports)
 * Nodes: sum, mean: NN_OP_SUM/MEAN; max/min: NN_OP_MAX_DIM (saves the
 * indices) or NN_OP_EXTREMUM; var/std: NN_OP_VAR; norm: NN_OP_NORM;
 * argmax/argmin, any/all/count_nonzero record nothing. NN_ERR_NOMEM when the node cannot be kept.
 */
nn_status nn_apply_reduce(nn_tensor *values, nn_tensor *indices, const nn_tensor *in,
                          const nn_reduce_args *args);

/* ---- cumulative sum and product along a dim (reduce_scan.c) ---- */

/* Their node's arguments (node->args.cumulative). */
typedef struct nn_cumulative_args {
  int dim; /* 0-based; a 0-dim input is read as [1] */
} nn_cumulative_args;

/* Kernels over a contiguous [N, K, M] (outer dims, the scanned dim, inner
 * dims), accumulating in double as PyTorch does on the CPU:
 *   out [N, K, M] = running sum / product of x [N, K, M] along K. */
void nn_kernel_cumsum_forward(float *out, const float *x, int64_t N, int64_t K, int64_t M);
void nn_kernel_cumprod_forward(float *out, const float *x, int64_t N, int64_t K, int64_t M);
/* gx [N, K, M] += the sum over j >= k of g[j] (a reversed cumsum). */
void nn_kernel_cumsum_backward(float *gx, const float *g, int64_t N, int64_t K, int64_t M);
/* gx [N, K, M] += sum over j >= k of g[j] * prod_{i <= j, i != k} x[i],
 * given y = cumprod(x): before the first zero of a line this is
 * (sum_{j >= k} g[j] y[j]) / x[k]; at the first zero the product is
 * formed without it; after it the gradient is 0 (as PyTorch). */
void nn_kernel_cumprod_backward(float *gx, const float *g, const float *x, const float *y,
                                int64_t N, int64_t K, int64_t M);

/*
 * The entry points: out = cumsum / cumprod of x along args->dim, recorded
 * when a gradient is wanted (cumsum saves nothing, cumprod its input and
 * output).
 *   out  x's shape and dtype, contiguous
 *   x    float32 or int64, any strides
 * NN_ERR_NOMEM when a contiguous copy or the node cannot be made.
 */
nn_status nn_cumsum(nn_tensor *out, const nn_tensor *x, const nn_cumulative_args *args);
nn_status nn_cumprod(nn_tensor *out, const nn_tensor *x, const nn_cumulative_args *args);

#endif
