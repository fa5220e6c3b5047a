/*
 * Backward of sum and mean: every input element receives the gradient of
 * the output element it was reduced into (times 1/count for mean).
 */
#include "nn_grad_ops.h"
#include "nn_ops.h"

/* g viewed with the reduced dim kept as size 1, so it broadcasts to the
 * input's shape. params: dim (-1: all), keepdim. */
static nn_tensor broadcastable_grad(const nn_node *n, const nn_tensor *g, const nn_tensor *in) {
  nn_tensor v = *g;
  int dim = (int)n->params[0];
  if (dim < 0 || n->params[1]) return v; /* already broadcastable */
  for (int k = in->ndim - 1; k > dim; k--) {
    v.shape[k] = v.shape[k - 1];
    v.stride[k] = v.stride[k - 1];
  }
  v.shape[dim] = 1;
  v.stride[dim] = 0;
  v.ndim = in->ndim;
  return v;
}

bool nn_backward_sum(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor v = broadcastable_grad(n, g, gi[0]);
  nn_binary(NN_BINARY_ADD, gi[0], gi[0], &v);
  return true;
}

/* scalars[0] = 1 / (number of elements averaged per output). */
bool nn_backward_mean(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *scaled = nn_tensor_empty(NN_FLOAT32, g->ndim, g->shape);
  if (!scaled) return false;
  nn_scalar s;
  nn_binary(NN_BINARY_MUL, scaled, g, nn_scalar_f32(&s, (float)n->scalars[0]));
  nn_tensor v = broadcastable_grad(n, scaled, gi[0]);
  nn_binary(NN_BINARY_ADD, gi[0], gi[0], &v);
  nn_tensor_release(scaled);
  return true;
}
