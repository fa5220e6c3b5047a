/* The differentiable op table: name and backward function per nn_grad_op. */
#include "nn_grad_ops.h"

static const struct {
  const char *name;
  nn_backward_fn backward;
} grad_ops[] = {
    [NN_GRAD_ADD] = {"add", nn_backward_add},
    [NN_GRAD_SUB] = {"sub", nn_backward_sub},
    [NN_GRAD_MUL] = {"mul", nn_backward_mul},
    [NN_GRAD_DIV] = {"div", nn_backward_div},
    [NN_GRAD_POW] = {"pow", nn_backward_pow},
    [NN_GRAD_MAXIMUM] = {"maximum", nn_backward_maximum},
    [NN_GRAD_MINIMUM] = {"minimum", nn_backward_minimum},
    [NN_GRAD_NEG] = {"neg", nn_backward_neg},
    [NN_GRAD_ABS] = {"abs", nn_backward_abs},
    [NN_GRAD_SIGN] = {"sign", nn_backward_sign},
    [NN_GRAD_RELU] = {"relu", nn_backward_relu},
    [NN_GRAD_EXP] = {"exp", nn_backward_exp},
    [NN_GRAD_LOG] = {"log", nn_backward_log},
    [NN_GRAD_SQRT] = {"sqrt", nn_backward_sqrt},
    [NN_GRAD_SIGMOID] = {"sigmoid", nn_backward_sigmoid},
    [NN_GRAD_TANH] = {"tanh", nn_backward_tanh},
    [NN_GRAD_CLAMP] = {"clamp", nn_backward_clamp},
    [NN_GRAD_WHERE] = {"where", nn_backward_where},
    [NN_GRAD_RESHAPE] = {"reshape", nn_backward_reshape},
    [NN_GRAD_PERMUTE] = {"permute", nn_backward_permute},
    [NN_GRAD_NARROW] = {"narrow", nn_backward_narrow},
    [NN_GRAD_EXPAND] = {"expand", nn_backward_expand},
    [NN_GRAD_COPY] = {"copy", nn_backward_copy},
    [NN_GRAD_CAT] = {"cat", nn_backward_cat},
    [NN_GRAD_MATMUL] = {"matmul", nn_backward_matmul},
    [NN_GRAD_SUM] = {"sum", nn_backward_sum},
    [NN_GRAD_MEAN] = {"mean", nn_backward_mean},
    [NN_GRAD_MAX_DIM] = {"max", nn_backward_max_dim},
    [NN_GRAD_EXTREMUM] = {"max", nn_backward_extremum},
    [NN_GRAD_VAR] = {"var", nn_backward_var},
    [NN_GRAD_NORM] = {"norm", nn_backward_norm},
    /* layers (nn_functional: linear, dropout, batch norm) */
    [NN_GRAD_LINEAR] = {"linear", nn_backward_linear},
    [NN_GRAD_DROPOUT] = {"dropout", nn_backward_dropout},
    [NN_GRAD_BATCH_NORM] = {"batch_norm", nn_backward_batch_norm},
    /* indexing (index.c) */
    [NN_GRAD_INDEX_SELECT] = {"index_select", nn_backward_index_select},
    [NN_GRAD_GATHER] = {"gather", nn_backward_gather},
    [NN_GRAD_MASKED_SELECT] = {"masked_select", nn_backward_masked_select},
    /* convolution and pooling (conv.c, pool.c) */
    [NN_GRAD_CONV2D] = {"conv2d", nn_backward_conv2d},
    [NN_GRAD_MAX_POOL2D] = {"max_pool2d", nn_backward_max_pool2d},
    [NN_GRAD_AVG_POOL2D] = {"avg_pool2d", nn_backward_avg_pool2d},
    /* activations and losses (activation.c, loss.c) */
    [NN_GRAD_LEAKY_RELU] = {"leaky_relu", nn_backward_leaky_relu},
    [NN_GRAD_ELU] = {"elu", nn_backward_elu},
    [NN_GRAD_SOFTMAX] = {"softmax", nn_backward_softmax},
    [NN_GRAD_LOG_SOFTMAX] = {"log_softmax", nn_backward_log_softmax},
    [NN_GRAD_CROSS_ENTROPY] = {"cross_entropy", nn_backward_cross_entropy},
    [NN_GRAD_NLL_LOSS] = {"nll_loss", nn_backward_nll_loss},
    [NN_GRAD_MSE_LOSS] = {"mse_loss", nn_backward_pointwise_loss},
    [NN_GRAD_L1_LOSS] = {"l1_loss", nn_backward_pointwise_loss},
    [NN_GRAD_BCE_LOSS] = {"bce_loss", nn_backward_pointwise_loss},
    [NN_GRAD_BCE_WITH_LOGITS] = {"bce_with_logits", nn_backward_pointwise_loss},
    [NN_GRAD_KL_DIV] = {"kl_div", nn_backward_pointwise_loss},
    [NN_GRAD_DISTILLATION] = {"distillation_loss", nn_backward_distillation},
    [NN_GRAD_L1_PENALTY] = {"l1_penalty", nn_backward_l1_penalty},
    [NN_GRAD_L2_PENALTY] = {"l2_penalty", nn_backward_l2_penalty},
};
_Static_assert(sizeof grad_ops / sizeof *grad_ops == NN_GRAD_COUNT,
               "every differentiable op needs a row");

const char *nn_grad_op_name(nn_grad_op op) { return grad_ops[op].name; }
nn_backward_fn nn_grad_backward_fn(nn_grad_op op) { return grad_ops[op].backward; }
