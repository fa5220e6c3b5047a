/*
 * nn_autograd: define-by-run reverse mode.
 *
 * Every op that runs while gradients are wanted records a node: which op
 * (an nn_grad_op, whose row in grad_ops.c names its backward function),
 * an edge per input (to the node that produced it, or to the leaf tensor
 * whose .grad collects it), the tensors its backward needs, and small
 * parameters. The output tensor holds the node as its grad_fn.
 *
 * nn_backward walks the nodes reachable from a root in reverse
 * topological order. Each backward function ADDS its input gradients into
 * the buffers the engine hands it (a producer node's gradient buffer, or
 * a leaf's .grad), so an input used twice needs no special case. Unless
 * the graph is retained, each node drops its saved tensors once it has
 * run, so graph memory goes as soon as backward finishes; a second
 * backward through it is refused.
 *
 * Adding a differentiable op:
 *   1. add NN_GRAD_<OP> to nn_grad_op below, before NN_GRAD_COUNT;
 *   2. write its backward next to its forward (same file), with the
 *      nn_backward_fn signature, and declare it in nn_grad_ops.h;
 *   3. give it a row in grad_ops.c (the static_assert there checks);
 *   4. record it in its binding with nnb_record (bindings/autograd.c);
 *   5. test: gradcheck in tests/lua/autograd_spec.lua and PyTorch values.
 */
#ifndef NN_AUTOGRAD_H
#define NN_AUTOGRAD_H

#include "nn_tensor.h"

#define NN_NODE_MAX_SAVED 4
#define NN_NODE_MAX_PARAMS 16

typedef enum nn_grad_op {
  NN_GRAD_ADD,
  NN_GRAD_SUB,
  NN_GRAD_MUL,
  NN_GRAD_DIV,
  NN_GRAD_POW,
  NN_GRAD_MAXIMUM,
  NN_GRAD_MINIMUM,
  NN_GRAD_NEG,
  NN_GRAD_ABS,
  NN_GRAD_SIGN,
  NN_GRAD_RELU,
  NN_GRAD_EXP,
  NN_GRAD_LOG,
  NN_GRAD_SQRT,
  NN_GRAD_SIGMOID,
  NN_GRAD_TANH,
  NN_GRAD_CLAMP,
  NN_GRAD_WHERE,
  NN_GRAD_RESHAPE,  /* view, reshape, flatten, squeeze, unsqueeze */
  NN_GRAD_PERMUTE,  /* transpose, permute: params = the permutation */
  NN_GRAD_NARROW,   /* narrow, select, split: params = dim, start, len, dropped */
  NN_GRAD_EXPAND,
  NN_GRAD_COPY,     /* contiguous, clone, float copies */
  NN_GRAD_CAT,      /* cat, stack: params = dim, stacked; saved[0] = lengths */
  NN_GRAD_MATMUL,
  NN_GRAD_SUM,
  NN_GRAD_MEAN,
  NN_GRAD_MAX_DIM,  /* max/min along a dim */
  NN_GRAD_EXTREMUM, /* max/min of everything */
  NN_GRAD_VAR,      /* var and std */
  NN_GRAD_NORM,
  /* layers (nn_functional: linear, dropout, batch norm) */
  NN_GRAD_LINEAR,
  NN_GRAD_DROPOUT,
  NN_GRAD_BATCH_NORM,
  /* indexing (index.c) */
  NN_GRAD_INDEX_SELECT,
  NN_GRAD_GATHER,
  NN_GRAD_MASKED_SELECT,
  /* convolution and pooling (conv.c, pool.c) */
  NN_GRAD_CONV2D,
  NN_GRAD_MAX_POOL2D,
  NN_GRAD_AVG_POOL2D,
  /* activations and losses (activation.c, loss.c) */
  NN_GRAD_LEAKY_RELU,
  NN_GRAD_ELU,
  NN_GRAD_SOFTMAX,
  NN_GRAD_LOG_SOFTMAX,
  NN_GRAD_CROSS_ENTROPY,
  NN_GRAD_NLL_LOSS,
  NN_GRAD_MSE_LOSS,
  NN_GRAD_L1_LOSS,
  NN_GRAD_BCE_LOSS,
  NN_GRAD_BCE_WITH_LOGITS,
  NN_GRAD_KL_DIV,
  NN_GRAD_DISTILLATION,
  NN_GRAD_L1_PENALTY,
  NN_GRAD_L2_PENALTY,
  NN_GRAD_COUNT
} nn_grad_op;

typedef struct nn_node nn_node;

/* One per op input: the node that produced it, or the leaf that collects
 * its gradient; both NULL when that input needs no gradient. */
typedef struct nn_edge {
  nn_node *fn;
  nn_tensor *leaf;
} nn_edge;

struct nn_node {
  nn_grad_op op;
  long refcount;
  int ninputs;
  nn_edge *edges;
  int nsaved;
  nn_tensor *saved[NN_NODE_MAX_SAVED];
  int64_t params[NN_NODE_MAX_PARAMS]; /* op parameters: dims, offsets, ... */
  double scalars[2];                  /* an op's numeric parameters */
  int out_ndim;                       /* the output's (and its gradient's) shape */
  int64_t out_shape[NN_MAX_DIMS];
  bool released;                      /* saved tensors dropped after backward */
  /* Engine scratch, valid during nn_backward only. */
  nn_tensor *grad;
  int deps;
  uint64_t mark;
  nn_node *release_next; /* the to-free list of nn_node_release */
};

/* Adds into grad_in[i] (NULL: input i needs none) the gradient of input i
 * given grad_out, the gradient of the node's output. Returns false only
 * when scratch memory runs out. */
typedef bool (*nn_backward_fn)(const nn_node *node, const nn_tensor *grad_out,
                               nn_tensor *const *grad_in);

const char *nn_grad_op_name(nn_grad_op op);

/* Gradient recording is on unless turned off (no_grad). */
bool nn_grad_enabled(void);
void nn_set_grad_enabled(bool on);
/* Does recording an op on this input make sense? */
bool nn_tensor_needs_grad(const nn_tensor *t);

/* A node for op with ninputs inputs, edges taken from the inputs (which
 * may be NULL: constants). NULL on OOM. The caller sets saved tensors
 * with nn_node_save and params, then nn_node_attach to the output. */
nn_node *nn_node_new(nn_grad_op op, int ninputs, nn_tensor *const *inputs);
/* Keeps t (a reference) for the backward. */
void nn_node_save(nn_node *node, nn_tensor *t);
/* Keeps the op's own output for the backward, as a header without
 * history: saving out itself would make a cycle (out -> node -> out) that
 * no refcount frees. False on OOM. */
bool nn_node_save_output(nn_node *node, const nn_tensor *out);
/* Makes node the grad_fn of out (taking the caller's reference). */
void nn_node_attach(nn_node *node, nn_tensor *out);
void nn_node_release(nn_node *node);

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
