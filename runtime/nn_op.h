/*
 * nn_op: the one op enum and its descriptor table (op.c): name, number of
 * inputs and backward function of every op the engine runs through the
 * elementwise kernels or records in the autograd graph.
 *
 * Adding an op (CONTRIBUTING.md has the whole recipe):
 *   1. add NN_OP_<OP> below, before NN_OP_COUNT (an elementwise op inside
 *      its range, which its kernel table in elementwise.c indexes);
 *   2. give it a row in op.c (a _Static_assert there counts the rows);
 *   3. write its entry point nn_<op> in runtime/<family>.c, which runs the
 *      kernel and records the node (nn_record) with its typed arguments
 *      (nn_<op>_args in nn_<family>.h, a member of nn_op_args in
 *      nn_autograd.h), and beside it nn_<op>_backward, declared below;
 *   4. bind it in bindings/<family>.c: check, push the output, call, raise;
 *   5. test: tests/runtime/test_<family>.c calls the entry point and the
 *      backward directly; tests/lua/<family>_spec.lua checks PyTorch values,
 *      gradcheck and the error messages.
 */
#ifndef NN_OP_H
#define NN_OP_H

#include <stdbool.h>

#include "nn_tensor.h"

typedef enum nn_op {
  /* elementwise binary ops (elementwise.c); comparisons write bool */
  NN_OP_ADD,
  NN_OP_SUB,
  NN_OP_MUL,
  NN_OP_DIV,
  NN_OP_POW,
  NN_OP_MAXIMUM,
  NN_OP_MINIMUM,
  NN_OP_GT,
  NN_OP_LT,
  NN_OP_GE,
  NN_OP_LE,
  NN_OP_EQ,
  NN_OP_NE,
  /* elementwise unary ops (elementwise.c) */
  NN_OP_NEG,
  NN_OP_ABS,
  NN_OP_SIGN,
  NN_OP_RELU,
  NN_OP_EXP, /* EXP..COS: float32 only */
  NN_OP_LOG,
  NN_OP_SQRT,
  NN_OP_SIGMOID,
  NN_OP_TANH,
  NN_OP_SIN,
  NN_OP_COS,
  NN_OP_FLOOR, /* FLOOR..SQUARE: float32 and int64 */
  NN_OP_CEIL,
  NN_OP_ROUND, /* half to even */
  NN_OP_TRUNC,
  NN_OP_SQUARE,
  NN_OP_LOG1P, /* LOG1P..RSQRT: float32 only */
  NN_OP_EXPM1,
  NN_OP_RECIPROCAL,
  NN_OP_RSQRT,
  NN_OP_ISNAN, /* predicates: write bool, not differentiable */
  NN_OP_ISINF,
  NN_OP_ISFINITE,
  /* other elementwise ops (elementwise.c) */
  NN_OP_CLAMP,
  NN_OP_WHERE,
  /* views and copies (shape.c) */
  NN_OP_RESHAPE, /* view, reshape, flatten, squeeze, unsqueeze */
  NN_OP_PERMUTE, /* transpose, permute */
  NN_OP_NARROW,  /* narrow, select, split */
  NN_OP_EXPAND,
  NN_OP_COPY, /* contiguous, clone, float copies */
  NN_OP_CAT,  /* cat, stack */
  /* matrix products (matmul.c) */
  NN_OP_MATMUL,
  /* reductions (reduce.c) */
  NN_OP_SUM,
  NN_OP_MEAN,
  NN_OP_MAX_DIM,  /* max/min along a dim */
  NN_OP_EXTREMUM, /* max/min of everything */
  NN_OP_VAR,      /* var and std */
  NN_OP_NORM,
  NN_OP_CUMSUM, /* cumulative sums and products along a dim (reduce_scan.c) */
  NN_OP_CUMPROD,
  /* layers (linear.c, dropout.c, norm.c) */
  NN_OP_LINEAR,
  NN_OP_DROPOUT,
  NN_OP_BATCH_NORM,
  /* indexing (index.c) */
  NN_OP_INDEX_SELECT,
  NN_OP_GATHER,
  NN_OP_MASKED_SELECT,
  /* convolution, pooling and resampling (conv.c, pool.c, upsample.c) */
  NN_OP_CONV2D,
  NN_OP_CONV_TRANSPOSE2D,
  NN_OP_MAX_POOL2D,
  NN_OP_AVG_POOL2D,
  NN_OP_ADAPTIVE_AVG_POOL2D,
  NN_OP_UPSAMPLE2D,
  /* activations (activation.c) */
  NN_OP_LEAKY_RELU,
  NN_OP_ELU,
  NN_OP_HARDTANH, /* hardtanh, relu6 */
  NN_OP_GELU,
  NN_OP_SILU,
  NN_OP_SOFTPLUS,
  NN_OP_SOFTMAX,
  NN_OP_LOG_SOFTMAX,
  /* losses and penalties (loss.c) */
  NN_OP_CROSS_ENTROPY,
  NN_OP_NLL_LOSS,
  NN_OP_MSE_LOSS,
  NN_OP_L1_LOSS,
  NN_OP_BCE_LOSS,
  NN_OP_BCE_WITH_LOGITS,
  NN_OP_KL_DIV,
  NN_OP_SMOOTH_L1_LOSS,
  NN_OP_HUBER_LOSS,
  NN_OP_MULTI_MARGIN_LOSS,
  NN_OP_DISTILLATION,
  NN_OP_L1_PENALTY,
  NN_OP_L2_PENALTY,
  /* sorting and selection, distances (sort.c) */
  NN_OP_SORT,
  NN_OP_TOPK,
  NN_OP_KTHVALUE,
  NN_OP_MEDIAN,
  NN_OP_MODE,
  NN_OP_CDIST,
  NN_OP_COUNT
} nn_op;

/* The elementwise ranges, which elementwise.c's kernel tables index. */
#define NN_OP_BINARY_FIRST NN_OP_ADD
#define NN_OP_BINARY_LAST NN_OP_NE
#define NN_OP_UNARY_FIRST NN_OP_NEG
#define NN_OP_UNARY_LAST NN_OP_ISFINITE
static inline bool nn_op_is_binary(nn_op op) {
  return op >= NN_OP_BINARY_FIRST && op <= NN_OP_BINARY_LAST;
}
static inline bool nn_op_is_unary(nn_op op) {
  return op >= NN_OP_UNARY_FIRST && op <= NN_OP_UNARY_LAST;
}

/* Adds into grad_in[i] (NULL: input i needs none) the gradient of input i
 * given grad_out, the gradient of the node's output — or, for an op whose
 * desc says overwrites, writes it when nn_grad_is_fresh(node, i): that
 * buffer was just created for this gradient and holds garbage, not zeros.
 * Returns false only when scratch memory runs out. */
typedef bool (*nn_backward_fn)(const nn_node *node, const nn_tensor *grad_out,
                               nn_tensor *const *grad_in);

typedef struct nn_op_desc {
  const char *name;        /* as users write it: "add", "conv2d" */
  int ninputs;             /* graph inputs; -1: any number (cat) */
  nn_backward_fn backward; /* NULL: not differentiable (comparisons) */
  /* The backward writes every element of a fresh gradient buffer, so the
   * engine need not zero it (the big per-step buffers: linear, relu). */
  bool overwrites;
} nn_op_desc;

const nn_op_desc *nn_op_info(nn_op op);
static inline const char *nn_op_name(nn_op op) { return nn_op_info(op)->name; }

/* The backward of each differentiable op, beside its forward in the
 * family's source file. */
bool nn_add_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sub_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_mul_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_div_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_pow_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_maximum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_minimum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_neg_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_abs_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sign_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_relu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_exp_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_log_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sqrt_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sigmoid_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_tanh_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sin_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_cos_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_rounding_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_square_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_log1p_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_expm1_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_reciprocal_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_rsqrt_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_clamp_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_where_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_reshape_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_permute_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_narrow_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_expand_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_copy_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_cat_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_matmul_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_mean_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_max_dim_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_extremum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_var_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_norm_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_cumsum_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_cumprod_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_linear_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_dropout_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_batch_norm_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_index_select_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_gather_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_masked_select_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_conv2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_conv_transpose2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_max_pool2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_avg_pool2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_adaptive_avg_pool2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_upsample2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_leaky_relu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_elu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_hardtanh_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_gelu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_silu_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_softplus_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_softmax_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_log_softmax_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_cross_entropy_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_nll_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_pointwise_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_multi_margin_loss_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_distillation_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_l1_penalty_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_l2_penalty_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_sort_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_kthvalue_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);
bool nn_cdist_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi);

#endif
