/*
 * Activations and losses from Lua: nn.leaky_relu, elu, softmax and
 * log_softmax (also tensor methods); nn.cross_entropy, nll_loss, mse_loss,
 * l1_loss, bce_loss, bce_with_logits, kl_div, distillation_loss,
 * l1_penalty and l2_penalty. Every result takes part in autograd; the
 * kernels are in runtime/activation.c and runtime/loss.c.
 *
 * Losses take a trailing options table ({reduction='sum', weight=w, ...};
 * a bare reduction string works too), with PyTorch's names and defaults.
 * Class labels are 1-based here; they are checked and copied 0-based
 * before any kernel sees them.
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_loss.h"
#include "nn_elementwise.h"

/* ---- options ---- */

enum {
  OPT_REDUCTION = 1 << 0,
  OPT_WEIGHT = 1 << 1,
  OPT_POS_WEIGHT = 1 << 2,
  OPT_SMOOTHING = 1 << 3,
  OPT_IGNORE = 1 << 4,
  OPT_LOG_TARGET = 1 << 5,
  OPT_T = 1 << 6,
  OPT_ALPHA = 1 << 7,
  OPT_BATCHMEAN = 1 << 8, /* reduction may also be 'batchmean' */
};

/* Option names, in the order of their bits. */
static const char *const option_names[] = {
    "reduction", "weight", "pos_weight", "label_smoothing", "ignore_index", "log_target", "T", "alpha",
};
#define NOPTIONS ((int)(sizeof option_names / sizeof *option_names))

typedef struct loss_opts {
  nn_reduction reduction;
  int weight, pos_weight; /* stack slots of the tensors; 0: not given */
  double smoothing;
  bool has_ignore;
  int64_t ignore; /* 1-based, as the user wrote it */
  bool log_target;
  bool has_T, has_alpha;
  double T, alpha;
} loss_opts;

static const char *const reduction_names[] = {"none", "mean", "sum", "batchmean"};

static void check_option_keys(lua_State *L, int idx, unsigned allowed, const char *fname) {
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
    bool known = false;
    for (int i = 0; key && i < NOPTIONS; i++) known = known || ((allowed >> i & 1) && !strcmp(key, option_names[i]));
    if (known) continue;
    char list[160] = "";
    for (int i = 0; i < NOPTIONS; i++)
      if (allowed >> i & 1) {
        if (*list) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, option_names[i], sizeof list - strlen(list) - 1);
      }
    if (key) nnb_error(L, fname, "unknown option '%s' (options: %s)", key, list);
    nnb_error(L, fname, "option names must be strings, got a %s key (options: %s)", luaL_typename(L, -1), list);
  }
}

static nn_reduction check_reduction(lua_State *L, int idx, unsigned allowed, const char *fname) {
  const char *s = lua_tostring(L, idx);
  int n = allowed & OPT_BATCHMEAN ? 4 : 3;
  for (int i = 0; s && lua_type(L, idx) == LUA_TSTRING && i < n; i++)
    if (!strcmp(s, reduction_names[i])) return (nn_reduction)i;
  const char *choices = n == 4 ? "'mean', 'sum', 'none' or 'batchmean'" : "'mean', 'sum' or 'none'";
  if (lua_type(L, idx) == LUA_TSTRING) nnb_error(L, fname, "reduction must be %s, got '%s'", choices, s);
  nnb_error(L, fname, "reduction must be %s, got %s", choices, luaL_typename(L, idx));
}

static double check_number_option(lua_State *L, const char *name, const char *fname) {
  if (lua_type(L, -1) != LUA_TNUMBER)
    nnb_error(L, fname, "option %s must be a number, got %s", name, luaL_typename(L, -1));
  return lua_tonumber(L, -1);
}

/* Reads the options at idx (a table, a reduction string, or nil). Tensor
 * options stay pushed on the stack, at the slots recorded in o. */
static void parse_opts(lua_State *L, int idx, unsigned allowed, const char *fname, loss_opts *o) {
  *o = (loss_opts){.reduction = NN_REDUCTION_MEAN};
  idx = lua_absindex(L, idx);
  if (lua_isnoneornil(L, idx)) return;
  if (lua_type(L, idx) == LUA_TSTRING && (allowed & OPT_REDUCTION)) {
    o->reduction = check_reduction(L, idx, allowed, fname);
    return;
  }
  if (!lua_istable(L, idx)) nnb_error(L, fname, "options must be a table, got %s", luaL_typename(L, idx));
  check_option_keys(L, idx, allowed, fname);
  if (lua_getfield(L, idx, "reduction") != LUA_TNIL) o->reduction = check_reduction(L, -1, allowed, fname);
  lua_pop(L, 1);
  for (int k = 0; k < 2; k++) {
    const char *name = k ? "pos_weight" : "weight";
    if (lua_getfield(L, idx, name) == LUA_TNIL) {
      lua_pop(L, 1);
      continue;
    }
    if (!nnb_to_tensor(L, -1))
      nnb_error(L, fname, "option %s must be a tensor, got %s", name, luaL_typename(L, -1));
    *(k ? &o->pos_weight : &o->weight) = lua_gettop(L); /* stays pushed */
  }
  if (lua_getfield(L, idx, "label_smoothing") != LUA_TNIL) {
    o->smoothing = check_number_option(L, "label_smoothing", fname);
    if (!(o->smoothing >= 0 && o->smoothing <= 1))
      nnb_error(L, fname, "label_smoothing must be in [0, 1], got %g", o->smoothing);
  }
  if (lua_getfield(L, idx, "ignore_index") != LUA_TNIL) {
    o->has_ignore = true;
    o->ignore = nnb_check_int(L, -1, fname, "ignore_index");
  }
  if (lua_getfield(L, idx, "log_target") != LUA_TNIL) o->log_target = lua_toboolean(L, -1);
  if ((o->has_T = lua_getfield(L, idx, "T") != LUA_TNIL)) o->T = check_number_option(L, "T", fname);
  if ((o->has_alpha = lua_getfield(L, idx, "alpha") != LUA_TNIL))
    o->alpha = check_number_option(L, "alpha", fname);
  lua_pop(L, 5);
}

/* ---- shared helpers ---- */

static bool same_shape(const nn_tensor *a, int ndim, const int64_t *shape) {
  return a->ndim == ndim && !memcmp(a->shape, shape, sizeof(int64_t) * (size_t)ndim);
}

/* A weight-like option (weight, pos_weight) is a constant of the loss. */
static void check_no_grad(lua_State *L, const nn_tensor *t, const char *name, const char *fname) {
  if (nn_grad_enabled() && nn_tensor_needs_grad(t))
    nnb_error(L, fname, "%s does not take gradients; pass %s:detach()", name, name);
}

/* Pushes a 0-dim float32 tensor holding v. */
static nn_tensor *push_scalar(lua_State *L, double v, const char *fname) {
  nn_tensor *t = nnb_new_tensor(L, fname, NN_FLOAT32, 0, NULL);
  *(float *)nn_tensor_data(t) = (float)v;
  return t;
}

/* "position 5" (1-D), "position [2,3]" (N-D), "" (0-D) for flat index i. */
static const char *position_str(char *buf, size_t len, int ndim, const int64_t *shape, int64_t i) {
  if (ndim == 0) return "";
  if (ndim == 1) {
    snprintf(buf, len, " at position %" PRId64, i + 1);
    return buf;
  }
  int64_t idx[NN_MAX_DIMS];
  for (int d = ndim - 1; d >= 0; d--) {
    idx[d] = shape[d] ? i % shape[d] + 1 : 1;
    i = shape[d] ? i / shape[d] : 0;
  }
  char s[128];
  snprintf(buf, len, " at position %s", nnb_shape_str(s, sizeof s, ndim, idx));
  return buf;
}

/* ---- activations ---- */

static double opt_number(lua_State *L, int idx, double dflt, const char *what, const char *fname) {
  if (lua_isnoneornil(L, idx)) return dflt;
  if (lua_type(L, idx) != LUA_TNUMBER)
    nnb_error(L, fname, "%s must be a number, got %s", what, luaL_typename(L, idx));
  return lua_tonumber(L, idx);
}

typedef void (*activation_fn)(nn_tensor *y, const nn_tensor *x, float a);

/* y = f(x, a) elementwise, recorded with x saved and a as scalars[0]. */
static int activation(lua_State *L, activation_fn f, nn_op op, double a, const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  const nn_tensor *in = nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, x->ndim, x->shape);
  f(out, in, (float)a);
  nn_node *node = nnb_record(L, fname, op, out, 1, &x);
  if (node) {
    nn_node_save(node, x); /* float32: only those can require grad */
    node->scalars[0] = a;
  }
  return 1;
}

/* leaky_relu(x, negative_slope = 0.01) */
static int l_leaky_relu(lua_State *L) {
  double slope = opt_number(L, 2, 0.01, "negative_slope", "leaky_relu");
  return activation(L, nn_leaky_relu_forward, NN_OP_LEAKY_RELU, slope, "leaky_relu");
}

/* elu(x, alpha = 1) */
static int l_elu(lua_State *L) {
  double alpha = opt_number(L, 2, 1.0, "alpha", "elu");
  return activation(L, nn_elu_forward, NN_OP_ELU, alpha, "elu");
}

/* softmax(x, dim = -1), log_softmax(x, dim = -1) */
static int softmax(lua_State *L, bool logp, const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  int dim = lua_isnoneornil(L, 2) ? (x->ndim ? x->ndim - 1 : 0) : nnb_check_dim(L, 2, x->ndim, fname);
  const nn_tensor *xc = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, x->ndim, x->shape);
  int64_t M = 1, C = x->ndim ? x->shape[dim] : 1, S = 1;
  for (int i = 0; i < dim; i++) M *= x->shape[i];
  for (int i = dim + 1; i < x->ndim; i++) S *= x->shape[i];
  nn_kernel_softmax_forward(nn_tensor_data(out), nn_tensor_data(xc), M, C, S, logp);
  nn_node *node = nnb_record(L, fname, logp ? NN_OP_LOG_SOFTMAX : NN_OP_SOFTMAX, out, 1, &x);
  if (node) {
    nnb_save_output(L, fname, node, out);
    node->params[0] = dim;
  }
  return 1;
}

static int l_softmax(lua_State *L) { return softmax(L, false, "softmax"); }
static int l_log_softmax(lua_State *L) { return softmax(L, true, "log_softmax"); }

/* ---- class labels ---- */

/* Logits [C], [N,C] or [N,C,d1,...] read as (N, C, S); the target has
 * shape tshape: [], [N] or [N,d1,...]. */
typedef struct class_geom {
  int64_t N, C, S;
  int tdim;
  int64_t tshape[NN_MAX_DIMS];
} class_geom;

static class_geom class_geometry(lua_State *L, const nn_tensor *x, const char *fname) {
  if (x->ndim == 0) nnb_error(L, fname, "input must be [C], [N,C] or [N,C,d1,...], got a 0-dim tensor");
  class_geom g = {.N = 1, .C = x->shape[x->ndim == 1 ? 0 : 1], .S = 1, .tdim = 0};
  if (x->ndim == 1) return g;
  g.N = x->shape[0];
  g.tshape[g.tdim++] = g.N;
  for (int i = 2; i < x->ndim; i++) {
    g.S *= x->shape[i];
    g.tshape[g.tdim++] = x->shape[i];
  }
  return g;
}

/* A Lua array of integer labels (or one integer) pushed as int64. */
static nn_tensor *push_label_values(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) == LUA_TNUMBER) {
    nn_tensor *t = nnb_new_tensor(L, fname, NN_INT64, 0, NULL);
    *(int64_t *)nn_tensor_data(t) = nnb_check_int(L, idx, fname, "target");
    return t;
  }
  int64_t n = (int64_t)lua_rawlen(L, idx);
  nn_tensor *t = nnb_new_tensor(L, fname, NN_INT64, 1, &n);
  int64_t *d = nn_tensor_data(t);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, idx, i + 1);
    int ok = lua_type(L, -1) == LUA_TNUMBER;
    d[i] = ok ? (int64_t)lua_tointegerx(L, -1, &ok) : 0;
    if (!ok) {
      if (lua_type(L, -1) == LUA_TNUMBER)
        nnb_error(L, fname, "target[%" PRId64 "] must be an integer class label, got %s", i + 1, lua_tostring(L, -1));
      nnb_error(L, fname, "target[%" PRId64 "] must be an integer class label, got %s", i + 1, luaL_typename(L, -1));
    }
    lua_pop(L, 1);
  }
  return t;
}

static void check_target_shape(lua_State *L, const nn_tensor *x, const nn_tensor *t, const class_geom *g,
                               const char *fname) {
  if (same_shape(t, g->tdim, g->tshape)) return;
  char a[128], b[128], c[128];
  nnb_shape_str(a, sizeof a, x->ndim, x->shape);
  nnb_shape_str(b, sizeof b, t->ndim, t->shape);
  if (t->ndim >= 1 && g->tdim >= 1 && t->shape[0] != g->N)
    nnb_error(L, fname, "input %s and target %s disagree on the batch size (%" PRId64 " vs %" PRId64 ")", a, b,
              g->N, t->shape[0]);
  nnb_error(L, fname, "target %s does not match input %s: expected target %s", b, a,
            nnb_shape_str(c, sizeof c, g->tdim, g->tshape));
}

/* Pushes the labels at idx (int64 tensor, Lua array or integer) as a
 * contiguous int64 tensor of 0-based labels, after checking the shape
 * against g and each label against 1..C. Labels equal to the ignore index
 * become -1, the kernels' ignore value. */
static nn_tensor *push_labels(lua_State *L, int idx, const nn_tensor *x, const class_geom *g, const loss_opts *o,
                              const char *fname) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (!t) {
    if (!lua_istable(L, idx) && lua_type(L, idx) != LUA_TNUMBER)
      nnb_error(L, fname, "target must be a tensor or Lua array of class labels, got %s", luaL_typename(L, idx));
    t = push_label_values(L, idx, fname);
  }
  if (t->dtype != NN_INT64) {
    char b[128];
    nnb_error(L, fname, "target must hold int64 class labels (1-based), got %s %s (convert with :long())",
              nn_dtype_name(t->dtype), nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  }
  check_target_shape(L, x, t, g, fname);
  nn_tensor *out = nnb_new_tensor(L, fname, NN_INT64, g->tdim, g->tshape);
  nn_copy(out, t);
  int64_t *d = nn_tensor_data(out), n = nn_tensor_numel(out);
  for (int64_t i = 0; i < n; i++) {
    if (o->has_ignore && d[i] == o->ignore) {
      d[i] = -1;
    } else if (d[i] < 1 || d[i] > g->C) {
      char pos[160];
      nnb_error(L, fname, "target %" PRId64 "%s is out of range 1..%" PRId64 " (labels are 1-based)", d[i],
                position_str(pos, sizeof pos, g->tdim, g->tshape, i), g->C);
    } else {
      d[i] -= 1;
    }
  }
  return out;
}

/* The class weights (option slot wi) as a contiguous float32 [C]; NULL
 * when none were given. */
static nn_tensor *push_class_weight(lua_State *L, int wi, int64_t C, const char *fname) {
  if (!wi) return NULL;
  nn_tensor *w = nnb_to_tensor(L, wi);
  if (w->ndim != 1 || w->shape[0] != C) {
    char b[128];
    nnb_error(L, fname, "weight must be a 1-D tensor of %" PRId64 " class weights, got %s", C,
              nnb_shape_str(b, sizeof b, w->ndim, w->shape));
  }
  check_no_grad(L, w, "weight", fname);
  return nnb_push_as(L, fname, wi, NN_FLOAT32, true);
}

/* ---- cross_entropy and nll_loss ---- */

static float *data_of(const nn_tensor *t) { return t ? nn_tensor_data(t) : NULL; }

/* cross_entropy(logits, target, {reduction=, weight=, label_smoothing=,
 * ignore_index=}); nll_loss(log_probs, target, {reduction=, weight=,
 * ignore_index=}). A float target of the input's shape holds class
 * probabilities (cross_entropy only). */
static int class_loss(lua_State *L, bool nll, const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  loss_opts o;
  parse_opts(L, 3, OPT_REDUCTION | OPT_WEIGHT | OPT_IGNORE | (nll ? 0 : OPT_SMOOTHING), fname, &o);
  class_geom g = class_geometry(L, x, fname);
  nn_tensor *t = nnb_to_tensor(L, 2);
  bool probs = t && t->dtype == NN_FLOAT32;
  if (probs && (nll || !same_shape(t, x->ndim, x->shape))) {
    char a[128], b[128];
    nnb_error(L, fname, "target must hold int64 class labels (1-based), got float32 %s%s%s%s",
              nnb_shape_str(b, sizeof b, t->ndim, t->shape),
              nll ? "" : " (class-probability targets must have the input's shape ",
              nll ? "" : nnb_shape_str(a, sizeof a, x->ndim, x->shape), nll ? "" : ")");
  }
  nn_tensor *labels = probs ? NULL : push_labels(L, 2, x, &g, &o, fname);
  nn_tensor *tp = probs ? nnb_push_as(L, fname, 2, NN_FLOAT32, true) : NULL;
  nn_tensor *w = push_class_weight(L, o.weight, g.C, fname);
  nn_tensor *xc = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  bool record = nn_grad_enabled() && (nn_tensor_needs_grad(x) || (probs && nn_tensor_needs_grad(t)));
  nn_tensor *lse = record && !nll ? nnb_new_tensor(L, fname, NN_FLOAT32, 2, (int64_t[]){g.N * g.S, 2}) : NULL;
  bool none = o.reduction == NN_REDUCTION_NONE;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, none ? g.tdim : 0, g.tshape);
  float *per = none ? nn_tensor_data(out) : NULL, eps = (float)o.smoothing;
  int64_t ignore = o.has_ignore ? -1 : NN_NO_IGNORE;
  double wsum = (double)(g.N * g.S), total;
  if (nll)
    total = nn_kernel_nll_forward(per, &wsum, data_of(xc), nn_tensor_data(labels), data_of(w), g.N, g.C, g.S, ignore);
  else if (probs)
    total = nn_kernel_cross_entropy_probs_forward(per, data_of(lse), data_of(xc), data_of(tp), data_of(w), g.N,
                                                  g.C, g.S, eps);
  else
    total = nn_kernel_cross_entropy_forward(per, data_of(lse), &wsum, data_of(xc), nn_tensor_data(labels), data_of(w),
                                            g.N, g.C, g.S, eps, ignore);
  bool mean = o.reduction == NN_REDUCTION_MEAN;
  if (!none) *(float *)nn_tensor_data(out) = (float)(mean ? total / wsum : total);
  nn_node *node = nnb_record(L, fname, nll ? NN_OP_NLL_LOSS : NN_OP_CROSS_ENTROPY, out, 2,
                             (nn_tensor *[]){x, probs ? t : NULL});
  if (node) {
    if (!nll) nn_node_save(node, xc);
    nn_node_save(node, probs ? tp : labels);
    if (!nll) nn_node_save(node, lse);
    if (w) nn_node_save(node, w);
    int64_t params[] = {o.reduction, g.N, g.C, g.S, ignore, probs};
    memcpy(node->params, params, sizeof params);
    node->scalars[0] = eps;
    node->scalars[1] = mean ? 1.0 / wsum : 1.0;
  }
  return 1;
}

static int l_cross_entropy(lua_State *L) { return class_loss(L, false, "cross_entropy"); }
static int l_nll_loss(lua_State *L) { return class_loss(L, true, "nll_loss"); }

/* ---- pointwise losses ---- */

/* Pushes the tensor at idx as contiguous float32 with the broadcast
 * shape's elements: itself when it already is, else a broadcast copy. */
static nn_tensor *push_expanded(lua_State *L, int idx, int ndim, const int64_t *shape, const char *fname) {
  nn_tensor *t = nnb_to_tensor(L, idx);
  if (t->dtype == NN_FLOAT32 && nn_tensor_is_contiguous(t) && nn_tensor_numel(t) == nn_shape_numel(ndim, shape)) {
    lua_pushvalue(L, idx);
    return t;
  }
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, ndim, shape);
  nn_copy(out, t);
  return out;
}

/* bce_loss takes probabilities: every element of t must lie in [0, 1]. */
static void check_unit_range(lua_State *L, const nn_tensor *t, int ndim, const int64_t *shape, const char *what,
                             const char *fname) {
  const float *d = nn_tensor_data(t);
  int64_t n = nn_tensor_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (!(d[i] >= 0 && d[i] <= 1)) {
      char pos[160];
      nnb_error(L, fname, "%s must hold probabilities in [0, 1], got %g%s", what, d[i],
                position_str(pos, sizeof pos, ndim, shape, i));
    }
}

/* A weight option broadcast to the loss shape, pushed; NULL when absent. */
static nn_tensor *push_weight_option(lua_State *L, int slot, const char *name, int ndim, const int64_t *shape,
                                     const char *fname) {
  if (!slot) return NULL;
  nn_tensor *w = nnb_to_tensor(L, slot);
  int bn;
  int64_t bs[NN_MAX_DIMS];
  if (!nn_broadcast_shape(ndim, shape, w->ndim, w->shape, &bn, bs) || bn != ndim ||
      memcmp(bs, shape, sizeof(int64_t) * (size_t)ndim)) {
    char a[128], b[128];
    nnb_error(L, fname, "%s %s cannot be broadcast to the loss shape %s", name,
              nnb_shape_str(a, sizeof a, w->ndim, w->shape), nnb_shape_str(b, sizeof b, ndim, shape));
  }
  check_no_grad(L, w, name, fname);
  return push_expanded(L, slot, ndim, shape, fname);
}

static int pointwise_loss(lua_State *L, nn_pointwise_loss kind, nn_op op, unsigned allowed, const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname), *y = nnb_to_tensor(L, 2);
  if (!y) nnb_error(L, fname, "target must be a tensor, got %s", luaL_typename(L, 2));
  loss_opts o;
  parse_opts(L, 3, allowed, fname, &o);
  if (kind == NN_LOSS_KL_DIV && o.log_target) kind = NN_LOSS_KL_DIV_LOG;
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  bool strict = kind == NN_LOSS_BCE || kind == NN_LOSS_BCE_LOGITS; /* PyTorch refuses to broadcast these */
  char a[128], b[128];
  if (!nn_broadcast_shape(x->ndim, x->shape, y->ndim, y->shape, &ndim, shape) ||
      (strict && !same_shape(y, x->ndim, x->shape)))
    nnb_error(L, fname, "input %s and target %s %s", nnb_shape_str(a, sizeof a, x->ndim, x->shape),
              nnb_shape_str(b, sizeof b, y->ndim, y->shape),
              strict ? "must have the same shape" : "cannot be broadcast together");
  nn_tensor *w = push_weight_option(L, o.weight, "weight", ndim, shape, fname);
  nn_tensor *pw = push_weight_option(L, o.pos_weight, "pos_weight", ndim, shape, fname);
  nn_tensor *xe = push_expanded(L, 1, ndim, shape, fname), *ye = push_expanded(L, 2, ndim, shape, fname);
  if (kind == NN_LOSS_BCE) {
    check_unit_range(L, xe, ndim, shape, "input", fname);
    check_unit_range(L, ye, ndim, shape, "target", fname);
  }
  int64_t n = nn_shape_numel(ndim, shape);
  bool none = o.reduction == NN_REDUCTION_NONE;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, none ? ndim : 0, shape);
  double total = nn_kernel_pointwise_loss_forward(kind, none ? nn_tensor_data(out) : NULL, data_of(xe),
                                                  data_of(ye), data_of(w), data_of(pw), n);
  double count = o.reduction == NN_REDUCTION_MEAN ? (double)n
                 : o.reduction == NN_REDUCTION_BATCHMEAN && x->ndim ? (double)x->shape[0] : 1.0;
  if (!none) *(float *)nn_tensor_data(out) = (float)(total / count);
  nn_node *node = nnb_record(L, fname, op, out, 2, (nn_tensor *[]){x, y});
  if (node) {
    nn_node_save(node, xe);
    nn_node_save(node, ye);
    node->params[0] = kind;
    node->params[1] = o.reduction;
    node->params[2] = w ? node->nsaved : -1;
    if (w) nn_node_save(node, w);
    node->params[3] = pw ? node->nsaved : -1;
    if (pw) nn_node_save(node, pw);
    node->params[4] = ndim;
    memcpy(&node->params[5], shape, sizeof(int64_t) * (size_t)ndim);
    node->scalars[0] = 1.0 / count;
  }
  return 1;
}

static int l_mse_loss(lua_State *L) {
  return pointwise_loss(L, NN_LOSS_MSE, NN_OP_MSE_LOSS, OPT_REDUCTION, "mse_loss");
}

static int l_l1_loss(lua_State *L) {
  return pointwise_loss(L, NN_LOSS_L1, NN_OP_L1_LOSS, OPT_REDUCTION, "l1_loss");
}

static int l_bce_loss(lua_State *L) {
  return pointwise_loss(L, NN_LOSS_BCE, NN_OP_BCE_LOSS, OPT_REDUCTION | OPT_WEIGHT, "bce_loss");
}

static int l_bce_with_logits(lua_State *L) {
  return pointwise_loss(L, NN_LOSS_BCE_LOGITS, NN_OP_BCE_WITH_LOGITS, OPT_REDUCTION | OPT_WEIGHT | OPT_POS_WEIGHT,
                        "bce_with_logits");
}

static int l_kl_div(lua_State *L) {
  return pointwise_loss(L, NN_LOSS_KL_DIV, NN_OP_KL_DIV, OPT_REDUCTION | OPT_BATCHMEAN | OPT_LOG_TARGET, "kl_div");
}

/* ---- distillation ---- */

/* distillation_loss(student_logits, teacher_logits, labels, {T=, alpha=}):
 * gradients reach the student only; the teacher is a constant. */
static int l_distillation_loss(lua_State *L) {
  const char *fname = "distillation_loss";
  nn_tensor *s = nnb_check_tensor(L, 1, fname), *t = nnb_check_tensor(L, 2, fname);
  char a[128], b[128];
  if (s->ndim != 2 || !same_shape(t, s->ndim, s->shape))
    nnb_error(L, fname, "student %s and teacher %s logits must both be [N,C] of the same shape",
              nnb_shape_str(a, sizeof a, s->ndim, s->shape), nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  loss_opts o;
  parse_opts(L, 4, OPT_T | OPT_ALPHA, fname, &o);
  if (!o.has_T || !o.has_alpha)
    nnb_error(L, fname, "options T (temperature) and alpha (weight of the soft loss) are required, e.g. {T=4, alpha=0.7}");
  if (!(o.T > 0)) nnb_error(L, fname, "T must be positive, got %g", o.T);
  if (!(o.alpha >= 0 && o.alpha <= 1)) nnb_error(L, fname, "alpha must be in [0, 1], got %g", o.alpha);
  class_geom g = class_geometry(L, s, fname);
  nn_tensor *y = push_labels(L, 3, s, &g, &o, fname);
  nn_tensor *sc = nnb_push_as(L, fname, 1, NN_FLOAT32, true), *tc = nnb_push_as(L, fname, 2, NN_FLOAT32, true);
  nn_tensor *p = nnb_new_tensor(L, fname, NN_FLOAT32, 2, s->shape);
  nn_tensor *lse = nnb_new_tensor(L, fname, NN_FLOAT32, 2, (int64_t[]){g.N, 4});
  double loss = nn_kernel_distillation_forward(data_of(p), data_of(lse), data_of(sc), data_of(tc), nn_tensor_data(y),
                                               g.N, g.C, (float)o.T, (float)o.alpha);
  nn_tensor *out = push_scalar(L, loss, fname);
  nn_node *node = nnb_record(L, fname, NN_OP_DISTILLATION, out, 1, &s);
  if (node) {
    nn_node_save(node, sc);
    nn_node_save(node, p);
    nn_node_save(node, y);
    nn_node_save(node, lse);
    node->params[0] = g.N;
    node->params[1] = g.C;
    node->scalars[0] = o.T;
    node->scalars[1] = o.alpha;
  }
  return 1;
}

/* ---- regularizers ---- */

/* l1_penalty(params) = sum |p|, l2_penalty(params) = sum p^2 over a list
 * of tensors (or one tensor, or a module: its parameters()). One node per
 * tensor, summed with recorded adds. */
static int penalty(lua_State *L, bool l2, const char *fname) {
  if (nnb_to_tensor(L, 1)) { /* one tensor: a list of it */
    lua_createtable(L, 1, 0);
    lua_pushvalue(L, 1);
    lua_rawseti(L, -2, 1);
    lua_replace(L, 1);
  } else if (lua_istable(L, 1) && lua_getfield(L, 1, "parameters") == LUA_TFUNCTION) {
    lua_pushvalue(L, 1);
    lua_call(L, 1, 1);
    lua_replace(L, 1);
  }
  if (!lua_istable(L, 1)) nnb_error(L, fname, "params must be a list of tensors, got %s", luaL_typename(L, 1));
  lua_settop(L, 1);
  lua_pushnil(L); /* slot 2: the running sum */
  int64_t n = (int64_t)lua_rawlen(L, 1);
  for (int64_t i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i); /* 3 */
    nn_tensor *p = nnb_to_tensor(L, 3);
    if (!p) nnb_error(L, fname, "params[%" PRId64 "] must be a tensor, got %s", i, luaL_typename(L, 3));
    if (p->dtype != NN_FLOAT32)
      nnb_error(L, fname, "params[%" PRId64 "] must be float32, got %s", i, nn_dtype_name(p->dtype));
    nn_tensor *pc = nnb_push_as(L, fname, 3, NN_FLOAT32, true); /* 4 */
    int64_t cnt = nn_tensor_numel(pc);
    double v = l2 ? nn_kernel_square_sum(nn_tensor_data(pc), cnt) : nn_kernel_abs_sum(nn_tensor_data(pc), cnt);
    nn_tensor *term = push_scalar(L, v, fname); /* 5 */
    nn_node *node = nnb_record(L, fname, l2 ? NN_OP_L2_PENALTY : NN_OP_L1_PENALTY, term, 1, &p);
    if (node) nn_node_save(node, pc);
    if (i > 1) {
      nn_tensor *acc = nnb_to_tensor(L, 2);
      nn_tensor *sum = push_scalar(L, *(float *)nn_tensor_data(acc) + (double)*(float *)nn_tensor_data(term), fname);
      nnb_record(L, fname, NN_OP_ADD, sum, 2, (nn_tensor *[]){acc, term});
    }
    lua_replace(L, 2);
    lua_settop(L, 2);
  }
  if (n == 0) push_scalar(L, 0, fname);
  return 1;
}

static int l_l1_penalty(lua_State *L) { return penalty(L, false, "l1_penalty"); }
static int l_l2_penalty(lua_State *L) { return penalty(L, true, "l2_penalty"); }

static const luaL_Reg functions[] = {
    {"leaky_relu", l_leaky_relu},
    {"elu", l_elu},
    {"softmax", l_softmax},
    {"log_softmax", l_log_softmax},
    {"cross_entropy", l_cross_entropy},
    {"nll_loss", l_nll_loss},
    {"mse_loss", l_mse_loss},
    {"l1_loss", l_l1_loss},
    {"bce_loss", l_bce_loss},
    {"bce_with_logits", l_bce_with_logits},
    {"kl_div", l_kl_div},
    {"distillation_loss", l_distillation_loss},
    {"l1_penalty", l_l1_penalty},
    {"l2_penalty", l_l2_penalty},
    {NULL, NULL},
};

static const luaL_Reg methods_list[] = {
    {"leaky_relu", l_leaky_relu},
    {"elu", l_elu},
    {"softmax", l_softmax},
    {"log_softmax", l_log_softmax},
    {NULL, NULL},
};

void nnb_open_loss(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, functions);
  nnb_set_funcs(L, methods, methods_list);
}
