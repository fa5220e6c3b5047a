/*
 * nn_elementwise: the elementwise ops (their kernel tables in
 * elementwise.c are indexed by the NN_OP_BINARY_* and NN_OP_UNARY_* ranges
 * of nn_op.h), where, clamp, and the tensor primitives the rest of the
 * runtime computes with.
 *
 * Adding an elementwise op: its NN_OP_ value inside its range in nn_op.h
 * and its row in op.c; its row in elementwise.c's kernel table (a
 * static_assert counts them) with a per-element function for each dtype it
 * supports (NULL: the bindings promote the inputs to float32 first), and
 * its backward beside the others there. bindings/elementwise.c registers
 * every op of the ranges by looping over them. Tests: a naive loop in
 * tests/runtime/test_elementwise.c, PyTorch values and gradcheck in
 * tests/lua/elementwise_spec.lua.
 *
 * Every function takes the output first. Inputs already have the op's
 * compute dtype (the bindings promote), and broadcast to out's shape.
 * out may be one of the inputs (in-place) when it has the broadcast shape.
 */
#ifndef NN_ELEMENTWISE_H
#define NN_ELEMENTWISE_H

#include "nn_op.h"
#include "nn_status.h"
#include "nn_tensor.h"

/* Does the op have a kernel for this input dtype? */
bool nn_binary_supports(nn_op op, nn_dtype dtype);
bool nn_unary_supports(nn_op op, nn_dtype dtype);
/* Comparisons produce bool; everything else keeps the input dtype. */
bool nn_binary_is_comparison(nn_op op);
/* Unary predicates (isnan, isinf, isfinite) write bool and record no node;
 * every other unary op keeps the input dtype. */
bool nn_unary_is_predicate(nn_op op);

/* ---- entry points: run the kernel, record the node ---- */

/* out = a op b (op in the binary range), recorded unless a comparison.
 * Either operand may be a borrowed scalar (nn_scalar_f32). */
nn_status nn_apply_binary(nn_op op, nn_tensor *out, const nn_tensor *a, const nn_tensor *b);
/* out = op(a), op in the unary range; out is bool for a predicate. */
nn_status nn_apply_unary(nn_op op, nn_tensor *out, const nn_tensor *a);

typedef struct nn_clamp_args {
  bool has_lo, has_hi; /* either bound may be absent */
  double lo, hi;
} nn_clamp_args;
/* out = x clamped to [lo, hi] (out may be x: in place). */
nn_status nn_clamp(nn_tensor *out, const nn_tensor *x, const nn_clamp_args *args);

/* out = mask ? a : b; a gradient flows to a and b. */
nn_status nn_where(nn_tensor *out, const nn_tensor *mask, const nn_tensor *a, const nn_tensor *b);

/* ---- primitives: no recording ---- */

/* out[...] = a[...] op b[...]; a, b share a dtype the op supports. */
void nn_binary(nn_op op, nn_tensor *out, const nn_tensor *a, const nn_tensor *b);
/* out[...] = op(a[...]); same dtype (bool out for a predicate). */
void nn_unary(nn_op op, nn_tensor *out, const nn_tensor *a);
/* out[...] = src[...] converted to out's dtype (src broadcasts). */
void nn_copy(nn_tensor *out, const nn_tensor *src);
/* *c = t when t is contiguous (or NULL), else a contiguous copy made into
 * *copy, which the caller releases (*copy is NULL when none was made). */
nn_status nn_contiguous(const nn_tensor *t, nn_tensor **copy, const nn_tensor **c);
/* Every element of out = value, converted to out's dtype. */
void nn_fill(nn_tensor *out, double value);
/* out[...] = mask[...] ? a[...] : b[...]; mask is bool, a/b of out's dtype. */
void nn_select(nn_tensor *out, const nn_tensor *mask, const nn_tensor *a,
              const nn_tensor *b);

/* A 0-dim tensor over its own inline memory, for scalar operands that need
 * no allocation: `nn_scalar s; nn_binary(op, out, a, nn_scalar_f32(&s, 2));`
 * It lives as long as the nn_scalar and is borrowed (nn_tensor_is_borrowed):
 * never retain or release it. */
typedef struct nn_scalar {
  nn_tensor tensor;
  nn_storage storage;
  union { float f32; int64_t i64; uint8_t b; } value;
} nn_scalar;
const nn_tensor *nn_scalar_f32(nn_scalar *s, float value);
const nn_tensor *nn_scalar_i64(nn_scalar *s, int64_t value);

#endif
