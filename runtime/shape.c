/*
 * Views and copies (see nn_shape.h): each op's forward beside its
 * backward. A view's forward is pure geometry over its input's storage;
 * the gradient buffers of the backwards are always contiguous float32, so
 * each backward is one strided add.
 */
#include "nn_shape.h"

#include <assert.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_elementwise.h"

/* ---- borrowed views ---- */

void nn_view_select(nn_tensor *view, const nn_tensor *t, int dim, int64_t i) {
  assert(dim >= 0 && dim < t->ndim && i >= 0 && i < t->shape[dim]);
  *view = *t;
  view->refcount = 1;
  view->offset = t->offset + i * t->stride[dim];
  for (int d = dim; d < t->ndim - 1; d++) {
    view->shape[d] = t->shape[d + 1];
    view->stride[d] = t->stride[d + 1];
  }
  view->ndim = t->ndim - 1;
}

void nn_view_narrow(nn_tensor *view, const nn_tensor *t, int dim, int64_t start,
                    int64_t len) {
  assert(dim >= 0 && dim < t->ndim && start >= 0 && len >= 0 &&
         start + len <= t->shape[dim]);
  *view = *t;
  view->refcount = 1;
  view->offset = t->offset + start * t->stride[dim];
  view->shape[dim] = len;
}

void nn_view_drop_leading_ones(nn_tensor *view, const nn_tensor *t) {
  int lead = 0;
  while (lead < t->ndim && t->shape[lead] == 1) lead++;
  *view = *t;
  view->refcount = 1;
  view->ndim = t->ndim - lead;
  memmove(view->shape, t->shape + lead, (size_t)view->ndim * sizeof *t->shape);
  memmove(view->stride, t->stride + lead, (size_t)view->ndim * sizeof *t->stride);
}

/* The slice [start, start+len) of dim `dim` of t, with that dim dropped
 * when `dropped` (then len is 1): a select. */
static nn_tensor slice_of(const nn_tensor *t, int dim, int64_t start, int64_t len, bool dropped) {
  nn_tensor s;
  if (dropped) nn_view_select(&s, t, dim, start);
  else nn_view_narrow(&s, t, dim, start, len);
  return s;
}

/* ---- view entry points ---- */

/* Gives out (a header over t's storage) the geometry of v, a borrowed
 * header computed from t, and records op with t as its input. */
static nn_status record_view(nn_node **node, nn_op op, nn_tensor *out, const nn_tensor *t,
                             const nn_tensor *v) {
  assert(out->storage == t->storage && out->dtype == t->dtype);
  out->ndim = v->ndim;
  out->offset = v->offset;
  memcpy(out->shape, v->shape, sizeof out->shape);
  memcpy(out->stride, v->stride, sizeof out->stride);
  return nn_record(node, op, out, 1, (nn_tensor *[]){(nn_tensor *)t});
}

nn_status nn_reshape(nn_tensor *out, const nn_tensor *t, int ndim, const int64_t *shape) {
  nn_tensor v = *t;
  bool viewable = nn_view_strides(t, ndim, shape, v.stride);
  assert(viewable && nn_shape_numel(ndim, shape) == nn_tensor_numel(t));
  (void)viewable;
  v.ndim = ndim;
  memcpy(v.shape, shape, (size_t)ndim * sizeof *shape);
  nn_node *node;
  return record_view(&node, NN_OP_RESHAPE, out, t, &v);
}

nn_status nn_squeeze(nn_tensor *out, const nn_tensor *t, int dim) {
  assert(dim < t->ndim && (dim < 0 || t->shape[dim] == 1));
  nn_tensor v = *t;
  v.ndim = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (dim < 0 ? t->shape[i] == 1 : i == dim) continue;
    v.shape[v.ndim] = t->shape[i];
    v.stride[v.ndim++] = t->stride[i];
  }
  nn_node *node;
  return record_view(&node, NN_OP_RESHAPE, out, t, &v);
}

/* The new dim's stride is what the dims after it span, as PyTorch. */
nn_status nn_unsqueeze(nn_tensor *out, const nn_tensor *t, int dim) {
  assert(dim >= 0 && dim <= t->ndim && t->ndim < NN_MAX_DIMS);
  nn_tensor v = *t;
  v.ndim = t->ndim + 1;
  for (int i = 0, j = 0; i <= t->ndim; i++) {
    if (i == dim) {
      v.shape[i] = 1;
      v.stride[i] = j < t->ndim ? t->stride[j] * t->shape[j] : 1;
    } else {
      v.shape[i] = t->shape[j];
      v.stride[i] = t->stride[j++];
    }
  }
  nn_node *node;
  return record_view(&node, NN_OP_RESHAPE, out, t, &v);
}

int nn_flatten_shape(const nn_tensor *t, int start, int end, int64_t *shape) {
  if (t->ndim == 0) {
    shape[0] = 1;
    return 1;
  }
  assert(0 <= start && start <= end && end < t->ndim);
  int n = 0;
  for (int i = 0; i < t->ndim; i++) {
    if (i > start && i <= end) continue;
    shape[n++] = i == start ? nn_shape_numel(end - start + 1, t->shape + start) : t->shape[i];
  }
  return n;
}

nn_status nn_permute(nn_tensor *out, const nn_tensor *t, const nn_permute_args *args) {
  nn_tensor v = *t;
  for (int i = 0; i < t->ndim; i++) {
    assert(args->perm[i] >= 0 && args->perm[i] < t->ndim);
    v.shape[i] = t->shape[args->perm[i]];
    v.stride[i] = t->stride[args->perm[i]];
  }
  nn_node *node;
  nn_status st = record_view(&node, NN_OP_PERMUTE, out, t, &v);
  if (!st && node) node->args.permute = *args;
  return st;
}

nn_status nn_narrow(nn_tensor *out, const nn_tensor *t, const nn_narrow_args *args) {
  assert(!args->dropped || args->len == 1);
  nn_tensor v = slice_of(t, args->dim, args->start, args->len, args->dropped);
  nn_node *node;
  nn_status st = record_view(&node, NN_OP_NARROW, out, t, &v);
  if (!st && node) node->args.narrow = *args;
  return st;
}

nn_status nn_expand(nn_tensor *out, const nn_tensor *t, int ndim, const int64_t *shape) {
  assert(ndim >= t->ndim && ndim <= NN_MAX_DIMS);
  nn_tensor v = *t;
  v.ndim = ndim;
  int lead = ndim - t->ndim;
  for (int i = 0; i < ndim; i++) {
    int j = i - lead;
    int64_t have = j >= 0 ? t->shape[j] : 1;
    v.shape[i] = shape[i] == -1 ? have : shape[i];
    assert(have == v.shape[i] || have == 1);
    v.stride[i] = (j < 0 || have != v.shape[i]) ? 0 : t->stride[j];
  }
  nn_node *node;
  return record_view(&node, NN_OP_EXPAND, out, t, &v);
}

/* ---- copies ---- */

nn_status nn_clone(nn_tensor *out, const nn_tensor *t) {
  nn_copy(out, t);
  nn_node *node;
  return nn_record(&node, NN_OP_COPY, out, 1, (nn_tensor *[]){(nn_tensor *)t});
}

int nn_cat_shape(int n, nn_tensor *const *inputs, const nn_cat_args *args, int64_t *shape) {
  const nn_tensor *first = inputs[0];
  int d = args->dim;
  for (int i = 0; i < n; i++) {
    const nn_tensor *t = inputs[i];
    bool fits = t->ndim == first->ndim;
    for (int k = 0; fits && k < t->ndim; k++)
      fits = t->shape[k] == first->shape[k] || (k == d && !args->stacked);
    if (!fits) return i;
  }
  for (int k = 0, j = 0; k < first->ndim + args->stacked; k++)
    shape[k] = k == d && args->stacked ? n : first->shape[j++];
  if (!args->stacked)
    for (int i = 1; i < n; i++) shape[d] += inputs[i]->shape[d];
  return -1;
}

nn_status nn_cat(nn_tensor *out, int n, nn_tensor *const *inputs, const nn_cat_args *args) {
  int d = args->dim;
  int64_t pos = 0;
  for (int i = 0; i < n; i++) { /* stack: t broadcasts into its slice without dim */
    int64_t len = args->stacked ? 1 : inputs[i]->shape[d];
    nn_tensor slice = slice_of(out, d, pos, len, args->stacked);
    nn_copy(&slice, inputs[i]);
    pos += len;
  }
  nn_node *node;
  nn_status st = nn_record(&node, NN_OP_CAT, out, n, inputs);
  if (st || !node) return st;
  node->args.cat = *args;
  /* The lengths are saved: an input that needs no gradient has no
   * buffer in the backward to read its length from. */
  nn_tensor *lens = nn_tensor_empty(NN_INT64, 1, (int64_t[]){n});
  if (!lens) return NN_ERR_NOMEM;
  for (int i = 0; i < n; i++) ((int64_t *)nn_tensor_data(lens))[i] = args->stacked ? 1 : inputs[i]->shape[d];
  st = nn_node_save(node, lens);
  nn_tensor_release(lens);
  return st;
}

/* ---- backward ---- */

/* dst[...] += src[...], same shape. */
static void add_into(nn_tensor *dst, const nn_tensor *src) {
  nn_binary(NN_OP_ADD, dst, dst, src);
}

/* g read with the input's shape: both are contiguous with equal numel. */
/* contiguous, clone and copies: the gradient passes unchanged. */
bool nn_copy_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  if (gi[0]) nn_accumulate(gi[0], g);
  return true;
}

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
  const int *perm = n->args.permute.perm;
  nn_tensor view = *gi[0];
  for (int i = 0; i < g->ndim; i++) {
    view.shape[i] = gi[0]->shape[perm[i]];
    view.stride[i] = gi[0]->stride[perm[i]];
  }
  add_into(&view, g);
  return true;
}

/* The input's gradient slice the view was cut from gets g. */
bool nn_narrow_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const nn_narrow_args *a = &n->args.narrow;
  nn_tensor s = slice_of(gi[0], a->dim, a->start, a->len, a->dropped);
  add_into(&s, g);
  return true;
}

bool nn_expand_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  if (gi[0]) nn_accumulate(gi[0], g);
  return true;
}

/* Input i's gradient is its slice of g; saved the int64 lengths. */
bool nn_cat_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_cat_args *a = &n->args.cat;
  const int64_t *lens = nn_tensor_data(n->saved[0]);
  int64_t start = 0;
  for (int i = 0; i < n->ninputs; i++) {
    if (gi[i]) {
      nn_tensor s = slice_of(g, a->dim, start, lens[i], a->stacked);
      nn_accumulate(gi[i], &s);
    }
    start += lens[i];
  }
  return true;
}
