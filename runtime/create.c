/* Ranges and the identity matrix (see nn_create.h). */
#include "nn_create.h"

#include <assert.h>

#include "nn_elementwise.h"

nn_status nn_arange(nn_tensor *out, double start, double step) {
  assert(out->ndim == 1 && nn_tensor_is_contiguous(out));
  int64_t n = out->shape[0];
  if (out->dtype == NN_INT64) {
    int64_t *p = nn_tensor_data(out), s0 = (int64_t)start, st = (int64_t)step;
    for (int64_t i = 0; i < n; i++) p[i] = s0 + i * st;
  } else if (out->dtype == NN_FLOAT32) {
    float *p = nn_tensor_data(out);
    for (int64_t i = 0; i < n; i++) p[i] = (float)(start + (double)i * step);
  } else {
    return nn_fail("dtype bool is not supported");
  }
  return NN_OK;
}

nn_status nn_linspace(nn_tensor *out, double start, double end) {
  assert(out->ndim == 1 && out->dtype == NN_FLOAT32 && nn_tensor_is_contiguous(out));
  int64_t n = out->shape[0];
  float *p = nn_tensor_data(out);
  double step = n > 1 ? (end - start) / (double)(n - 1) : 0;
  for (int64_t i = 0; i < n; i++)
    p[i] = (float)(i < n / 2 || n == 1 ? start + step * (double)i
                                       : end - step * (double)(n - 1 - i));
  return NN_OK;
}

nn_status nn_eye(nn_tensor *out) {
  assert(out->ndim == 2 && nn_tensor_is_contiguous(out));
  nn_fill(out, 0);
  nn_tensor diagonal = *out; /* header-only view of the diagonal */
  diagonal.ndim = 1;
  diagonal.shape[0] = out->shape[0] < out->shape[1] ? out->shape[0] : out->shape[1];
  diagonal.stride[0] = out->shape[1] + 1;
  nn_fill(&diagonal, 1);
  return NN_OK;
}
