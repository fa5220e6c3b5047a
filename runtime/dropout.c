/*
 * Dropout: each element is kept with probability 1 - p and multiplied by
 * scale (1/(1-p) for inverted dropout, 1 for the classic form); the mask
 * holds 0 or scale so the backward is one multiply.
 */
#include "nn_autograd.h"
#include "nn_dropout.h"
#include "nn_random.h"

void nn_kernel_dropout_forward(float *y, float *mask, const float *x, int64_t n, float p, float scale,
                        nn_rng *rng) {
  nn_rng_uniform(rng, mask, n, 0.0f, 1.0f);
  for (int64_t i = 0; i < n; i++) {
    mask[i] = mask[i] < p ? 0.0f : scale;
    y[i] = x[i] * mask[i];
  }
}

bool nn_dropout_is_identity(const nn_dropout_args *args) {
  return args->p == 0 || (!args->training && args->mode == NN_DROPOUT_INVERTED);
}

/* Eval without dropping: x * (1 - p) for classic dropout, else a copy. */
static nn_status dropout_eval(nn_tensor *out, const nn_tensor *x, const nn_dropout_args *args) {
  if (!nn_dropout_is_identity(args)) {
    nn_scalar keep;
    return nn_apply_binary(NN_OP_MUL, out, x, nn_scalar_f32(&keep, (float)(1 - args->p)));
  }
  nn_copy(out, x);
  nn_node *node;
  return nn_record(&node, NN_OP_COPY, out, 1, (nn_tensor *[]){(nn_tensor *)x});
}

nn_status nn_dropout(nn_tensor *out, const nn_tensor *x, const nn_dropout_args *args, nn_rng *rng) {
  if (!args->training || args->p == 0) return dropout_eval(out, x, args);
  bool classic = args->mode == NN_DROPOUT_CLASSIC;
  float scale = classic ? 1.0f : args->p < 1 ? (float)(1 / (1 - args->p)) : 0.0f;
  nn_tensor *copy = NULL, *mask = nn_tensor_empty(NN_FLOAT32, x->ndim, x->shape);
  const nn_tensor *xc;
  nn_status st = mask ? nn_contiguous(x, &copy, &xc) : NN_ERR_NOMEM;
  if (!st) {
    nn_kernel_dropout_forward(nn_tensor_data(out), nn_tensor_data(mask), nn_tensor_data(xc),
                              nn_tensor_numel(x), (float)args->p, scale, rng);
    nn_node *node;
    st = nn_record(&node, NN_OP_DROPOUT, out, 1, (nn_tensor *[]){(nn_tensor *)x});
    if (!st && node) {
      node->args.dropout = *args;
      st = nn_node_save(node, mask);
    }
  }
  nn_tensor_release(mask);
  nn_tensor_release(copy);
  return st;
}

/* Input x; saved mask (x's shape, contiguous): gx += g * mask. */
bool nn_dropout_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const float *gp = nn_tensor_data(g), *m = nn_tensor_data(n->saved[0]);
  float *o = nn_tensor_data(gi[0]);
  int64_t count = nn_tensor_numel(g);
  for (int64_t i = 0; i < count; i++) o[i] += gp[i] * m[i];
  return true;
}
