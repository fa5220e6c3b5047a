/*
 * nn_print: a tensor as text, in PyTorch's layout, so output reads the
 * same as the users' old notebooks: tensor([[ 1.5000, -2.0000], ...]).
 *
 * PyTorch's rules: float32 tensors whose finite values are all integral
 * print as "1.", others with 4 decimals ("%.4f"), or in scientific notation
 * ("%.4e") when the nonzero finite values span more than 1000x, exceed 1e8
 * or go below 1e-4. Every element is padded to the widest finite one.
 * Tensors of more than 1000 elements show the first and last 3 entries of
 * each dim around "...". Empty tensors of more than one dim add
 * ", size=[2,0]"; empty int64 and bool tensors add their dtype.
 */
#ifndef NN_PRINT_H
#define NN_PRINT_H

#include <stddef.h>

#include "nn_tensor.h"

/* Writes the text of t (any shape, strides and dtype) into dst as snprintf
 * does: at most cap bytes including a terminating NUL (none when cap is 0;
 * dst may then be NULL), and returns the length of the whole text, so a
 * caller whose buffer was too small calls again with length + 1 bytes.
 * Allocates nothing and cannot fail. */
size_t nn_print(char *dst, size_t cap, const nn_tensor *t);

#endif
