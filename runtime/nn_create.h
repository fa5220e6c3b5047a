/*
 * nn_create: the values of new tensors that are neither constant nor
 * random (those are nn_fill of nn_elementwise.h and nn_rng_* of
 * nn_random.h): ranges and the identity matrix. The caller allocates out.
 */
#ifndef NN_CREATE_H
#define NN_CREATE_H

#include "nn_status.h"
#include "nn_tensor.h"

/* out (n), contiguous: out[i] = start + i * step, in int64 arithmetic
 * (start and step truncated) for int64, in double rounded once for
 * float32. A bool out fails with "dtype bool is not supported". */
nn_status nn_arange(nn_tensor *out, double start, double step);

/* out (n), contiguous float32: n values evenly spaced from start to end,
 * both included. Filled from both ends as PyTorch, so the last is
 * exactly end; n == 1 gives start. */
nn_status nn_linspace(nn_tensor *out, double start, double end);

/* out (n, m), contiguous, of any dtype: 1 on the main diagonal, 0
 * elsewhere. */
nn_status nn_eye(nn_tensor *out);

#endif
