/*
 * nn_ops: the elementwise op table and the kernels that run it.
 *
 * Adding an elementwise op:
 *   1. add NN_BINARY_<OP> or NN_UNARY_<OP> to the enum below, before *_COUNT;
 *   2. give it a row in the descriptor table in elementwise.c (the
 *      static_assert there fails until you do), with its per-element
 *      function for each dtype it supports (NULL: the bindings promote the
 *      inputs to float32 first);
 *   3. expose it in bindings/tensor_math.c (method name, scalar forms);
 *   4. test it: tests/runtime/test_elementwise.c against a naive loop, and
 *      tests/lua/math_spec.lua on contiguous, strided and broadcast inputs.
 *
 * Every entry point takes the output first. Inputs already have the op's
 * compute dtype (the bindings promote), and broadcast to out's shape.
 * out may be one of the inputs (in-place) when it has the broadcast shape.
 */
#ifndef NN_OPS_H
#define NN_OPS_H

#include "nn_tensor.h"

typedef enum nn_binary_op {
  NN_BINARY_ADD,
  NN_BINARY_SUB,
  NN_BINARY_MUL,
  NN_BINARY_DIV,
  NN_BINARY_POW,
  NN_BINARY_MAXIMUM,
  NN_BINARY_MINIMUM,
  NN_BINARY_GT, /* comparisons write bool */
  NN_BINARY_LT,
  NN_BINARY_GE,
  NN_BINARY_LE,
  NN_BINARY_EQ,
  NN_BINARY_NE,
  NN_BINARY_COUNT
} nn_binary_op;

typedef enum nn_unary_op {
  NN_UNARY_NEG,
  NN_UNARY_ABS,
  NN_UNARY_SIGN,
  NN_UNARY_RELU,
  NN_UNARY_EXP, /* from here on float32 only */
  NN_UNARY_LOG,
  NN_UNARY_SQRT,
  NN_UNARY_SIGMOID,
  NN_UNARY_TANH,
  NN_UNARY_COUNT
} nn_unary_op;

const char *nn_binary_name(nn_binary_op op);
const char *nn_unary_name(nn_unary_op op);
/* Does the op have a kernel for this input dtype? */
bool nn_binary_supports(nn_binary_op op, nn_dtype dtype);
bool nn_unary_supports(nn_unary_op op, nn_dtype dtype);
/* Comparisons produce bool; everything else keeps the input dtype. */
bool nn_binary_is_comparison(nn_binary_op op);

/* out[...] = a[...] op b[...]; a, b share a dtype the op supports. */
void nn_binary(nn_binary_op op, nn_tensor *out, const nn_tensor *a, const nn_tensor *b);
/* out[...] = op(a[...]); same dtype. */
void nn_unary(nn_unary_op op, nn_tensor *out, const nn_tensor *a);
/* out[...] = src[...] converted to out's dtype (src broadcasts). */
void nn_copy(nn_tensor *out, const nn_tensor *src);
/* Every element of out = value, converted to out's dtype. */
void nn_fill(nn_tensor *out, double value);
/* out[...] = mask[...] ? a[...] : b[...]; mask is bool, a/b of out's dtype. */
void nn_where(nn_tensor *out, const nn_tensor *mask, const nn_tensor *a,
              const nn_tensor *b);

/* A 0-dim tensor over its own inline memory, for scalar operands that need
 * no allocation: `nn_scalar s; nn_binary(op, out, a, nn_scalar_f32(&s, 2));`
 * It lives as long as the nn_scalar; never retain or release it. */
typedef struct nn_scalar {
  nn_tensor tensor;
  nn_storage storage;
  union { float f32; int64_t i64; uint8_t b; } value;
} nn_scalar;
const nn_tensor *nn_scalar_f32(nn_scalar *s, float value);
const nn_tensor *nn_scalar_i64(nn_scalar *s, int64_t value);

#endif
