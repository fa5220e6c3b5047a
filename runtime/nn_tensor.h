/*
 * nn_tensor: refcounted storage and the strided tensors that view it.
 *
 * A tensor is (storage, offset, shape, strides, dtype). Views share the
 * storage and bump its refcount, so a view may outlive the tensor it came
 * from. Offsets and strides count elements, not bytes.
 *
 * The index rule, followed by the whole runtime:
 *   - dims and positions passed as C integers are 0-based (the bindings
 *     turn Lua's 1-based dims and positions into these, in one helper);
 *   - index-valued tensors — user indices (index_select, gather, scatter),
 *     class labels, returned argmax/max indices — are 1-based, as users
 *     see them: the kernel that produces one writes it 1-based, the kernel
 *     that reads one converts it (nn_index_to_0based); nothing shifts a
 *     whole tensor in a separate pass;
 *   - positions a node keeps for its own backward only (max-pool's argmax
 *     inside a plane) are internal and 0-based.
 *
 * Functions that allocate return NULL when memory runs out; none of them
 * raises or aborts. Preconditions (valid dims, shapes that fit) are the
 * caller's to check and are asserted only in debug builds.
 */
#ifndef NN_TENSOR_H
#define NN_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_MAX_DIMS 8

typedef enum nn_dtype { NN_FLOAT32, NN_INT64, NN_BOOL, NN_DTYPE_COUNT } nn_dtype;

typedef struct nn_storage {
  void *data;
  size_t nbytes;
  long refcount;
} nn_storage;

typedef struct nn_node nn_node; /* an autograd node (nn_autograd.h) */

typedef struct nn_tensor {
  nn_storage *storage;
  int64_t offset;
  int ndim;
  nn_dtype dtype;
  int64_t shape[NN_MAX_DIMS];
  int64_t stride[NN_MAX_DIMS];
  long refcount;
  /* Autograd (nn_autograd.h): a leaf has requires_grad and no grad_fn. */
  bool requires_grad;
  struct nn_tensor *grad;  /* accumulated gradient of a leaf, or NULL */
  nn_node *grad_fn; /* the node that produced this tensor, or NULL */
} nn_tensor;

/* Inline: the address of every operand of every op is computed with it. */
static inline size_t nn_dtype_size(nn_dtype dtype) {
  _Static_assert(NN_DTYPE_COUNT == 3, "one size per dtype");
  return dtype == NN_FLOAT32 ? 4 : dtype == NN_INT64 ? 8 : 1;
}
const char *nn_dtype_name(nn_dtype dtype);
/* The common dtype of two operands, as PyTorch: bool < int64 < float32. */
nn_dtype nn_dtype_promote(nn_dtype a, nn_dtype b);

/* Product of the sizes; 1 for ndim 0. */
int64_t nn_shape_numel(int ndim, const int64_t *shape);
/* Bytes for a contiguous tensor of this shape; false if it overflows. */
bool nn_shape_nbytes(int ndim, const int64_t *shape, nn_dtype dtype, size_t *nbytes);

/* New contiguous tensor, uninitialized / zero-filled. */
nn_tensor *nn_tensor_empty(nn_dtype dtype, int ndim, const int64_t *shape);
nn_tensor *nn_tensor_zeros(nn_dtype dtype, int ndim, const int64_t *shape);
/* New tensor header over base's storage with the given geometry. */
nn_tensor *nn_tensor_view(const nn_tensor *base, int ndim, const int64_t *shape,
                          const int64_t *stride, int64_t offset);

/* A borrowed tensor (an nn_scalar on the caller's stack, refcount 0) is
 * never retained or released; whoever keeps one keeps a copy. */
static inline bool nn_tensor_is_borrowed(const nn_tensor *t) { return t->refcount == 0; }

void nn_tensor_retain(nn_tensor *t);
/* Drops one reference; frees the header (and storage) at zero. NULL is ok. */
void nn_tensor_release(nn_tensor *t);

static inline int64_t nn_tensor_numel(const nn_tensor *t) {
  return nn_shape_numel(t->ndim, t->shape);
}
/* Address of the first element. */
static inline void *nn_tensor_data(const nn_tensor *t) {
  return (char *)t->storage->data + t->offset * (int64_t)nn_dtype_size(t->dtype);
}
bool nn_tensor_is_contiguous(const nn_tensor *t);
/* Fills stride[] with the row-major strides of shape. */
void nn_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* Strides that let t be read as if it had shape[ndim] (numpy broadcasting:
 * missing leading dims and size-1 dims get stride 0). Caller checked that
 * the shapes broadcast. */
void nn_broadcast_strides(const nn_tensor *t, int ndim, const int64_t *shape,
                          int64_t *stride);
/* Broadcast result of two shapes; false if they are incompatible. */
bool nn_broadcast_shape(int na, const int64_t *a, int nb, const int64_t *b,
                        int *nout, int64_t *out);

/* Geometry of a view without copying. Returns false where the strides
 * cannot express it (view of a non-contiguous tensor). */
bool nn_view_strides(const nn_tensor *t, int ndim, const int64_t *shape,
                     int64_t *stride);

#endif
