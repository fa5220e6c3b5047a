/*
 * Backward of the view ops (reshape, permute, narrow, expand) and of
 * cat/stack. Their forwards are pure geometry, done where the views are
 * made (bindings/tensor_shape.c); the gradient buffers here are always
 * contiguous float32, so each backward is one strided add.
 */
#include <string.h>

#include "nn_autograd.h"
#include "nn_elementwise.h"

/* dst[...] += src[...], same shape. */
static void add_into(nn_tensor *dst, const nn_tensor *src) {
  nn_binary(NN_OP_ADD, dst, dst, src);
}

/* g read with the input's shape: both are contiguous with equal numel. */
bool nn_reshape_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  if (!gi[0]) return true;
  nn_tensor view = *g;
  view.ndim = gi[0]->ndim;
  memcpy(view.shape, gi[0]->shape, sizeof view.shape);
  nn_contiguous_strides(view.ndim, view.shape, view.stride);
  add_into(gi[0], &view);
  return true;
}

/* Output dim i was input dim perm[i]: view gi permuted the same way. */
bool nn_permute_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor view = *gi[0];
  for (int i = 0; i < g->ndim; i++) {
    view.shape[i] = gi[0]->shape[n->params[i]];
    view.stride[i] = gi[0]->stride[n->params[i]];
  }
  add_into(&view, g);
  return true;
}

/* The slice [start, start+len) of dim `dim` of gi, with that dim dropped
 * when the forward was a select. */
static nn_tensor slice_of(const nn_tensor *t, int dim, int64_t start, int64_t len, bool dropped) {
  nn_tensor s = *t;
  s.offset += start * t->stride[dim];
  s.shape[dim] = len;
  if (dropped) {
    for (int k = dim; k < s.ndim - 1; k++) {
      s.shape[k] = s.shape[k + 1];
      s.stride[k] = s.stride[k + 1];
    }
    s.ndim--;
  }
  return s;
}

bool nn_narrow_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor s = slice_of(gi[0], (int)n->params[0], n->params[1], n->params[2], n->params[3] != 0);
  add_into(&s, g);
  return true;
}

bool nn_expand_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  if (gi[0]) nn_accumulate(gi[0], g);
  return true;
}

/* Input i's gradient is its slice of g; lengths (int64) were saved since
 * an input that needs no gradient has no buffer to read its length from. */
bool nn_cat_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  int dim = (int)n->params[0];
  bool stacked = n->params[1] != 0;
  const int64_t *lens = nn_tensor_data(n->saved[0]);
  int64_t start = 0;
  for (int i = 0; i < n->ninputs; i++) {
    if (gi[i]) {
      nn_tensor s = slice_of(g, dim, start, lens[i], stacked);
      nn_accumulate(gi[i], &s);
    }
    start += lens[i];
  }
  return true;
}
