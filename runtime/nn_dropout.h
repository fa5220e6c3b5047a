/*
 * nn_dropout: dropout behind nn.Dropout (runtime/dropout.c, forward and
 * backward side by side), in two modes:
 *   inverted (PyTorch's): survivors are scaled by 1/(1-p) in training and
 *     eval is the identity;
 *   classic: survivors are kept as they are and eval multiplies by 1-p.
 */
#ifndef NN_DROPOUT_H
#define NN_DROPOUT_H

#include <stdbool.h>

#include "nn_status.h"
#include "nn_tensor.h"

struct nn_rng; /* nn_random.h */

typedef enum nn_dropout_mode { NN_DROPOUT_INVERTED, NN_DROPOUT_CLASSIC } nn_dropout_mode;

typedef struct nn_dropout_args {
  double p; /* drop probability, in [0, 1] */
  bool training;
  nn_dropout_mode mode;
} nn_dropout_args;

/* mask (n) = 0 with probability p, else scale; y = x * mask. Contiguous
 * float32; draws n uniforms from rng. */
void nn_kernel_dropout_forward(float *y, float *mask, const float *x, int64_t n, float p, float scale,
                        struct nn_rng *rng);

/* ---- entry point: run the kernel, record the node ---- */

/* Is dropout with these args the identity (eval of inverted dropout, or
 * p = 0)? Then its result is x itself, and callers that can return x
 * need not call nn_dropout. */
bool nn_dropout_is_identity(const nn_dropout_args *args);

/* out = dropout(x) for a float32 x of any strides; out is contiguous
 * float32 of x's shape. Training draws one uniform per element from rng
 * and records NN_OP_DROPOUT (saving the mask); eval of classic dropout is
 * x * (1 - p), recorded as NN_OP_MUL; the identity copies x (NN_OP_COPY). */
nn_status nn_dropout(nn_tensor *out, const nn_tensor *x, const nn_dropout_args *args,
                     struct nn_rng *rng);

#endif
