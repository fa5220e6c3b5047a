/*
 * The backward of the reductions recorded by nn_apply_reduce (reduce.c).
 * Every node keeps its nn_reduce_args in node->args.reduce, with dim -1
 * for a full reduction.
 *
 * Sum and mean: every input element receives the gradient of the output
 * element it was reduced into (times 1/count for mean).
 */
#include <math.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_elementwise.h"
#include "nn_index.h"
#include "nn_reduce.h"

/* Elements reduced into each output of the node, for an input of in's
 * shape. */
static int64_t reduced_count(const nn_node *n, const nn_tensor *in) {
  int dim = n->args.reduce.dim;
  return dim < 0 ? nn_tensor_numel(in) : in->shape[dim];
}

/* g viewed with the reduced dim kept as size 1, so it broadcasts to the
 * input's shape. */
static nn_tensor broadcastable_grad(const nn_node *n, const nn_tensor *g, const nn_tensor *in) {
  nn_tensor v = *g;
  int dim = n->args.reduce.dim;
  if (dim < 0 || n->args.reduce.keepdim) return v; /* already broadcastable */
  for (int k = in->ndim - 1; k > dim; k--) {
    v.shape[k] = v.shape[k - 1];
    v.stride[k] = v.stride[k - 1];
  }
  v.shape[dim] = 1;
  v.stride[dim] = 0;
  v.ndim = in->ndim;
  return v;
}

bool nn_sum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor v = broadcastable_grad(n, g, gi[0]);
  nn_binary(NN_OP_ADD, gi[0], gi[0], &v);
  return true;
}

/* Each gradient times 1 / (number of elements averaged per output). */
bool nn_mean_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor *scaled = nn_tensor_empty(NN_FLOAT32, g->ndim, g->shape);
  if (!scaled) return false;
  nn_scalar s;
  int64_t count = reduced_count(n, gi[0]);
  double scale = count > 0 ? 1.0 / (double)count : NAN;
  nn_binary(NN_OP_MUL, scaled, g, nn_scalar_f32(&s, (float)scale));
  nn_tensor v = broadcastable_grad(n, scaled, gi[0]);
  nn_binary(NN_OP_ADD, gi[0], gi[0], &v);
  nn_tensor_release(scaled);
  return true;
}

/* ---- max/min, var/std, norm ---- */

/* A contiguous tensor t viewed with the reduced dim kept as size 1 (it
 * is that already when keepdim or a full reduction). */
static nn_tensor kept_dim_view(const nn_node *n, const nn_tensor *t, const nn_tensor *in) {
  nn_tensor v = *t;
  int dim = n->args.reduce.dim;
  if (dim < 0 || n->args.reduce.keepdim) return v;
  v.ndim = in->ndim;
  for (int k = in->ndim - 1; k > dim; k--) v.shape[k] = t->shape[k - 1];
  for (int k = 0; k < dim; k++) v.shape[k] = t->shape[k];
  v.shape[dim] = 1;
  nn_contiguous_strides(v.ndim, v.shape, v.stride);
  return v;
}

/* max/min along a dim: the gradient goes to the element each index names.
 * Input t; saved indices (1-based int64, the output's shape, converted by
 * nn_scatter_add as it reads them). */
bool nn_max_dim_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_tensor idx = kept_dim_view(n, n->saved[0], gi[0]), gv = kept_dim_view(n, g, gi[0]);
  nn_scatter_add(gi[0], n->args.reduce.dim, &idx, &gv);
  return true;
}

/* max/min of everything: the gradient is shared evenly by the elements
 * equal to the result, as PyTorch. Saved t, the result. */
bool nn_extremum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const nn_tensor *t = n->saved[0], *value = n->saved[1];
  nn_tensor *mask = nn_tensor_empty(NN_BOOL, t->ndim, t->shape);
  nn_tensor *share = nn_tensor_empty(NN_FLOAT32, t->ndim, t->shape);
  bool ok = mask && share;
  if (ok) {
    nn_binary(NN_OP_EQ, mask, t, value);
    nn_copy(share, mask);
    double count = 0;
    const float *s = nn_tensor_data(share);
    for (int64_t i = 0; i < nn_tensor_numel(share); i++) count += s[i];
    nn_scalar c;
    nn_binary(NN_OP_MUL, share, share, g);
    nn_binary(NN_OP_DIV, share, share, nn_scalar_f32(&c, (float)(count > 0 ? count : 1)));
    nn_accumulate(gi[0], share);
  }
  nn_tensor_release(mask);
  nn_tensor_release(share);
  return ok;
}

/* The mean of t over the node's dim (or all), kept as size-1 dims. */
static nn_tensor *kept_mean(const nn_node *n, const nn_tensor *t) {
  int64_t shape[NN_MAX_DIMS];
  int dim = n->args.reduce.dim;
  for (int k = 0; k < t->ndim; k++) shape[k] = (dim < 0 || k == dim) ? 1 : t->shape[k];
  nn_tensor *m = nn_tensor_empty(NN_FLOAT32, t->ndim, shape);
  if (m) nn_reduce(NN_REDUCE_MEAN, m, NULL, t, dim, 0);
  return m;
}

/* var: g * 2 (x - mean) / (K - correction); std: g (x - mean) / ((K -
 * correction) std). Input t; saved t, and for std the result; the
 * correction is args.param. */
bool nn_var_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  const nn_tensor *t = n->saved[0];
  bool is_std = n->args.reduce.op == NN_REDUCE_STD;
  double dof = (double)reduced_count(n, t) - n->args.reduce.param;
  nn_tensor *mean = kept_mean(n, t), *d = nn_tensor_empty(NN_FLOAT32, t->ndim, t->shape);
  bool ok = mean && d;
  if (ok) {
    nn_scalar s;
    nn_tensor gv = kept_dim_view(n, g, t);
    nn_binary(NN_OP_SUB, d, t, mean);
    nn_binary(NN_OP_MUL, d, d, &gv);
    nn_binary(NN_OP_MUL, d, d, nn_scalar_f32(&s, (float)((is_std ? 1.0 : 2.0) / dof)));
    if (is_std) {
      nn_tensor sv = kept_dim_view(n, n->saved[1], t);
      nn_binary(NN_OP_DIV, d, d, &sv);
    }
    nn_accumulate(gi[0], d);
  }
  nn_tensor_release(mean);
  nn_tensor_release(d);
  return ok;
}

/* p-norm: g x |x|^(p-2) / norm^(p-1); p = 1: g sign(x); p = inf: shared
 * evenly by the elements of largest |x|, signed; p = 0: no gradient.
 * Zero norms give zero gradients. Input t; saved t, the result; p is
 * args.param. */
bool nn_norm_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  double p = n->args.reduce.param;
  if (!gi[0] || p == 0) return true;
  const nn_tensor *t = n->saved[0];
  nn_tensor nv = kept_dim_view(n, n->saved[1], t), gv = kept_dim_view(n, g, t);
  nn_tensor *d = nn_tensor_empty(NN_FLOAT32, t->ndim, t->shape);
  nn_tensor *w = nn_tensor_empty(NN_FLOAT32, t->ndim, t->shape);
  bool ok = d && w;
  if (ok) {
    nn_scalar s;
    if (isinf(p)) { /* sign(x) [|x| == norm] / count, count per output */
      nn_tensor *mask = nn_tensor_empty(NN_BOOL, t->ndim, t->shape);
      nn_tensor *count = nn_tensor_empty(NN_FLOAT32, nv.ndim, nv.shape);
      if (mask && count) {
        nn_unary(NN_OP_ABS, w, t);
        nn_binary(NN_OP_EQ, mask, w, &nv);
        nn_copy(w, mask);
        nn_reduce(NN_REDUCE_SUM, count, NULL, w, n->args.reduce.dim, 0);
        nn_unary(NN_OP_SIGN, d, t);
        nn_binary(NN_OP_MUL, d, d, w);
        nn_binary(NN_OP_DIV, d, d, count);
      } else {
        ok = false;
      }
      nn_tensor_release(mask);
      nn_tensor_release(count);
    } else if (p == 1) {
      nn_unary(NN_OP_SIGN, d, t);
    } else { /* x |x|^(p-2) / norm^(p-1) */
      nn_unary(NN_OP_ABS, w, t);
      nn_binary(NN_OP_POW, w, w, nn_scalar_f32(&s, (float)(p - 2)));
      nn_binary(NN_OP_MUL, d, t, w);
      nn_binary(NN_OP_POW, w, &nv, nn_scalar_f32(&s, (float)(p - 1)));
      nn_binary(NN_OP_DIV, d, d, w);
    }
    if (ok) {
      /* Where the norm is 0 the quotient is NaN; PyTorch's gradient is 0. */
      float *dp = nn_tensor_data(d);
      for (int64_t i = 0; i < nn_tensor_numel(d); i++)
        if (dp[i] != dp[i]) dp[i] = 0;
      nn_binary(NN_OP_MUL, d, d, &gv);
      nn_accumulate(gi[0], d);
    }
  }
  nn_tensor_release(d);
  nn_tensor_release(w);
  return ok;
}
