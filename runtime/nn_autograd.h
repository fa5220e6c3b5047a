/*
 * nn_autograd: define-by-run reverse mode.
 *
 * An op's entry point (nn_op.h) runs its kernel and, while gradients are
 * wanted, records a node with nn_record: which op (its row in op.c names
 * the backward), an edge per input (to the node that produced it, or to
 * the leaf tensor whose .grad collects it), the tensors its backward needs
 * and its typed arguments (node->args, a union with one struct per op
 * family, each written and read only in that family's source file). The
 * output tensor holds the node as its grad_fn.
 *
 * nn_backward walks the nodes reachable from a root in reverse
 * topological order. Each backward function ADDS its input gradients into
 * the buffers the engine hands it (a producer node's gradient buffer, or
 * a leaf's .grad), so an input used twice needs no special case. Unless
 * the graph is retained, each node drops its saved tensors once it has
 * run, so graph memory goes as soon as backward finishes; a second
 * backward through it is refused.
 */
#ifndef NN_AUTOGRAD_H
#define NN_AUTOGRAD_H

#include "nn_activation.h"
#include "nn_conv.h"
#include "nn_dropout.h"
#include "nn_elementwise.h"
#include "nn_index.h"
#include "nn_loss.h"
#include "nn_norm.h"
#include "nn_op.h"
#include "nn_pool.h"
#include "nn_reduce.h"
#include "nn_shape.h"
#include "nn_sort.h"
#include "nn_status.h"
#include "nn_tensor.h"
#include "nn_upsample.h"

#define NN_NODE_MAX_SAVED 4

/* Every op family's node arguments; each family's source writes and
 * reads only its own member. */
typedef union nn_op_args {
  nn_clamp_args clamp;
  nn_reduce_args reduce;
  nn_cumulative_args cumulative; /* cumsum, cumprod */
  nn_dropout_args dropout;
  nn_batch_norm_args batch_norm;
  nn_conv2d_args conv2d;
  nn_conv_transpose2d_args conv_transpose2d;
  nn_pool2d_args pool2d;
  nn_upsample2d_args upsample2d;
  nn_permute_args permute;
  nn_narrow_args narrow;
  nn_cat_args cat;
  nn_index_args index; /* index_select, gather */
  nn_masked_select_args masked_select;
  nn_leaky_relu_args leaky_relu;
  nn_elu_args elu;
  nn_hardtanh_args hardtanh;
  nn_gelu_args gelu;
  nn_softplus_args softplus;
  nn_softmax_args softmax;
  nn_class_loss_node class_loss;
  nn_pointwise_loss_node pointwise_loss;
  nn_multi_margin_node multi_margin;
  nn_distillation_args distillation;
  nn_sort_args sort; /* sort, topk, kthvalue, median, mode */
  nn_cdist_args cdist;
} nn_op_args;

/* One per op input: the node that produced it, or the leaf that collects
 * its gradient; both NULL when that input needs no gradient. */
typedef struct nn_edge {
  nn_node *fn;
  nn_tensor *leaf;
} nn_edge;

/* Nodes with up to this many inputs keep their edges in the node itself. */
#define NN_NODE_LOCAL_EDGES 3

struct nn_node {
  nn_op op;
  long refcount;
  int ninputs;
  nn_edge *edges; /* local_edges, or an array of its own (cat) */
  nn_edge local_edges[NN_NODE_LOCAL_EDGES];
  int nsaved;
  nn_tensor *saved[NN_NODE_MAX_SAVED];
  nn_op_args args;   /* the op's own arguments (its family's member) */
  int out_ndim;      /* the output's (and its gradient's) shape */
  int64_t out_shape[NN_MAX_DIMS];
  bool released;     /* saved tensors dropped after backward */
  /* Engine scratch, valid during nn_backward only. */
  nn_tensor *grad;
  unsigned fresh; /* bit i: grad_in[i] is uninitialized (nn_grad_is_fresh) */
  int deps;
  uint64_t mark;
  nn_node *release_next; /* the to-free list of nn_node_release */
};

/* Gradient recording is on unless turned off (no_grad). */
bool nn_grad_enabled(void);
void nn_set_grad_enabled(bool on);
/* Does recording an op on this input make sense? */
bool nn_tensor_needs_grad(const nn_tensor *t);

/* When gradients are wanted for some input (recording on, out float32),
 * makes a node for op the grad_fn of out and stores it in *node, which the
 * caller then fills (nn_node_save, node->args); else *node = NULL.
 * NN_ERR_NOMEM when the node cannot be allocated. */
nn_status nn_record(nn_node **node, nn_op op, nn_tensor *out, int ninputs,
                    nn_tensor *const *inputs);

/* Keeps t for the backward: a reference, or a copy of a borrowed scalar
 * (nn_scalar_f32), which lives only as long as the caller's frame.
 * NN_ERR_NOMEM when that copy cannot be made. */
nn_status nn_node_save(nn_node *node, const nn_tensor *t);
/* Keeps the op's own output for the backward, as a header without
 * history: saving out itself would make a cycle (out -> node -> out) that
 * no refcount frees. */
nn_status nn_node_save_output(nn_node *node, const nn_tensor *out);
void nn_node_release(nn_node *node);

/* In an overwriting backward (nn_op_desc.overwrites): must grad_in[i] be
 * written rather than added to? */
static inline bool nn_grad_is_fresh(const nn_node *node, int i) {
  return i < 32 && (node->fresh >> i & 1u);
}

typedef enum nn_backward_status {
  NN_BACKWARD_OK,
  NN_BACKWARD_NO_MEMORY,
  NN_BACKWARD_RELEASED, /* the graph was already used and freed */
  NN_BACKWARD_ANOMALY,  /* detect_anomaly found NaN/Inf */
} nn_backward_status;

typedef struct nn_backward_error {
  nn_backward_status status;
  const char *op; /* the node at fault */
} nn_backward_error;

/* Runs backward from root with gradient grad_root (root's shape). */
nn_backward_error nn_backward(nn_tensor *root, const nn_tensor *grad_root, bool retain_graph);

/* When on, backward checks every gradient it produces for NaN/Inf. */
void nn_set_detect_anomaly(bool on);
bool nn_detect_anomaly(void);
/* Does t hold a NaN or Inf? */
bool nn_tensor_has_nonfinite(const nn_tensor *t);

/* dst += src summed down to dst's shape (src has the broadcast shape). */
void nn_accumulate(nn_tensor *dst, const nn_tensor *src);

#endif
