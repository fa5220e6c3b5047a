/*
 * nn_shape: views and copies — reshape (view, flatten, squeeze,
 * unsqueeze), permute (transpose, t), narrow (select, split, chunk, t[i]),
 * expand, the recorded copy (contiguous, clone) and cat/stack.
 *
 * A view op writes the view's geometry into out, a tensor header over t's
 * storage that the caller made beforehand with any geometry (the binding
 * pushes nnb_new_view(L, fname, t, 0, NULL, NULL, 0), its userdata first;
 * C code calls nn_tensor_view(t, 0, NULL, NULL, 0)), and records the node
 * (out's grad_fn). The caller has checked the arguments (dims in range,
 * sizes that fit); these functions only assert them. Dims and positions
 * are 0-based.
 */
#ifndef NN_SHAPE_H
#define NN_SHAPE_H

#include "nn_status.h"
#include "nn_tensor.h"

/* ---- borrowed views ----
 * These fill *view with a header over t's storage that holds NO
 * reference: it is valid while t lives and must never be retained or
 * released. Give its geometry to nn_tensor_view for an owning view. */

/* view = t with dim removed, at position i (0-based, in range). */
void nn_view_select(nn_tensor *view, const nn_tensor *t, int dim, int64_t i);
/* view = t with dim cut to positions start .. start+len-1. */
void nn_view_narrow(nn_tensor *view, const nn_tensor *t, int dim, int64_t start,
                    int64_t len);
/* view = t without its leading size-1 dims. */
void nn_view_drop_leading_ones(nn_tensor *view, const nn_tensor *t);

/* ---- view entry points: out (over t's storage) gets the geometry ---- */

/* out = t read as shape[ndim] (numel(shape) == numel(t)); t must be
 * viewable so (nn_view_strides true: reshape passes a contiguous copy
 * otherwise). Recorded as RESHAPE. */
nn_status nn_reshape(nn_tensor *out, const nn_tensor *t, int ndim, const int64_t *shape);
/* out = t without dim (whose size is 1), or without every size-1 dim when
 * dim < 0. Recorded as RESHAPE. */
nn_status nn_squeeze(nn_tensor *out, const nn_tensor *t, int dim);
/* out = t with a size-1 dim inserted at dim (0 .. t->ndim; t->ndim <
 * NN_MAX_DIMS). Recorded as RESHAPE. */
nn_status nn_unsqueeze(nn_tensor *out, const nn_tensor *t, int dim);
/* The shape of t with dims start..end (0 <= start <= end < ndim) merged
 * into one, as flatten reshapes to; a 0-dim t gives [1]. Returns ndim. */
int nn_flatten_shape(const nn_tensor *t, int start, int end, int64_t *shape);

typedef struct nn_permute_args {
  int perm[NN_MAX_DIMS]; /* out dim i is t's dim perm[i]; a permutation of 0..ndim-1 */
} nn_permute_args;
/* out = t with its dims reordered. */
nn_status nn_permute(nn_tensor *out, const nn_tensor *t, const nn_permute_args *args);

typedef struct nn_narrow_args {
  int dim;
  int64_t start, len; /* positions start .. start+len-1 along dim */
  bool dropped;       /* a select: len 1 and dim removed */
} nn_narrow_args;
/* out = t cut along dim (nn_view_narrow), or one position of it with dim
 * removed when dropped (nn_view_select). */
nn_status nn_narrow(nn_tensor *out, const nn_tensor *t, const nn_narrow_args *args);

/* out = t repeated along size-1 dims (stride 0) and new leading dims to
 * shape[ndim] (ndim >= t->ndim); -1 keeps t's size. The caller checked
 * that every size is t's, -1 (not on a new dim) or expands a 1. */
nn_status nn_expand(nn_tensor *out, const nn_tensor *t, int ndim, const int64_t *shape);

/* ---- copies ---- */

/* out = a copy of t (out: t's shape and dtype, any strides), recorded as
 * COPY: contiguous, clone and reshape's copy of a non-viewable tensor. */
nn_status nn_clone(nn_tensor *out, const nn_tensor *t);

typedef struct nn_cat_args {
  int dim;      /* out's dim the inputs are laid along */
  bool stacked; /* stack: each input is one slice of out, dim inserted */
} nn_cat_args;
/* The shape of cat/stack's out (inputs[0]'s ndim, + 1 when stacked)
 * into shape. -1 when the inputs fit, else the index of the first that
 * does not: for cat, one whose ndim or size at a dim other than dim
 * differs from inputs[0]'s; for stack, any shape but inputs[0]'s. */
int nn_cat_shape(int n, nn_tensor *const *inputs, const nn_cat_args *args, int64_t *shape);
/* cat: out = inputs[0..n) one after another along dim; each input has
 * out's shape but its own size at dim. stack: input i is out's slice i
 * along dim (n = out.shape[dim]), every input of out's shape without dim.
 * Inputs are converted to out's dtype. */
nn_status nn_cat(nn_tensor *out, int n, nn_tensor *const *inputs, const nn_cat_args *args);

#endif
