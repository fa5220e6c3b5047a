/*
 * Losses from Lua: nn.cross_entropy, nll_loss, multi_margin_loss,
 * mse_loss, l1_loss, smooth_l1_loss, huber_loss, bce_loss,
 * bce_with_logits, kl_div, distillation_loss, l1_penalty and l2_penalty. Every result takes part in autograd; the ops (label checks,
 * reductions, recording) run in runtime/loss.c.
 *
 * Losses take a trailing options table ({reduction='sum', weight=w, ...};
 * a bare reduction string works too), with PyTorch's names and defaults.
 * Class labels are 1-based, passed to the runtime as the user gave them.
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_loss.h"

/* ---- options ---- */

static const char *const reduction_names[] = {"none", "mean", "sum", "batchmean"};

static nn_reduction check_reduction(lua_State *L, int idx, bool batchmean, const char *fname) {
  const char *s = lua_tostring(L, idx);
  int n = batchmean ? 4 : 3;
  for (int i = 0; s && lua_type(L, idx) == LUA_TSTRING && i < n; i++)
    if (!strcmp(s, reduction_names[i])) return (nn_reduction)i;
  const char *choices = batchmean ? "'mean', 'sum', 'none' or 'batchmean'" : "'mean', 'sum' or 'none'";
  if (lua_type(L, idx) == LUA_TSTRING) nnb_error(L, fname, "reduction must be %s, got '%s'", choices, s);
  nnb_error(L, fname, "reduction must be %s, got %s", choices, luaL_typename(L, idx));
}

/* The options at idx: nil, a bare reduction string, or a table whose keys
 * are all in known. Returns the table's index (0: none). */
static int loss_options(lua_State *L, int idx, const char *const *known, bool batchmean, nn_reduction *reduction,
                        const char *fname) {
  *reduction = NN_REDUCTION_MEAN;
  if (lua_type(L, idx) == LUA_TSTRING) {
    *reduction = check_reduction(L, idx, batchmean, fname);
    return 0;
  }
  int opts = nnb_check_options(L, idx, known, fname);
  if (opts) {
    if (lua_getfield(L, opts, "reduction") != LUA_TNIL) *reduction = check_reduction(L, -1, batchmean, fname);
    lua_pop(L, 1);
  }
  return opts;
}

static bool has_option(lua_State *L, int opts, const char *key) {
  if (!opts) return false;
  bool has = lua_getfield(L, opts, key) != LUA_TNIL;
  lua_pop(L, 1);
  return has;
}

/* opts[key], a tensor, left pushed: its stack slot, or 0 when absent. */
static int opt_tensor(lua_State *L, int opts, const char *key, const char *fname) {
  if (!has_option(L, opts, key)) return 0;
  lua_getfield(L, opts, key);
  if (!nnb_to_tensor(L, -1)) nnb_error(L, fname, "option %s must be a tensor, got %s", key, luaL_typename(L, -1));
  return lua_gettop(L);
}

/* ---- shared checks ---- */

static bool same_shape(const nn_tensor *a, int ndim, const int64_t *shape) {
  return a->ndim == ndim && !memcmp(a->shape, shape, sizeof(int64_t) * (size_t)ndim);
}

/* A weight-like option (weight, pos_weight) is a constant of the loss. */
static void check_no_grad(lua_State *L, const nn_tensor *t, const char *name, const char *fname) {
  if (nn_grad_enabled() && nn_tensor_needs_grad(t))
    nnb_error(L, fname, "%s does not take gradients; pass %s:detach()", name, name);
}

/* ---- class labels ---- */

/* Logits [C], [N,C] or [N,C,d1,...] read as (N, C, S); the target has
 * shape tshape: [], [N] or [N,d1,...]. */
typedef struct class_geom {
  int64_t N, C;
  int tdim;
  int64_t tshape[NN_MAX_DIMS];
} class_geom;

static class_geom class_geometry(lua_State *L, const nn_tensor *x, const char *fname) {
  if (x->ndim == 0) nnb_error(L, fname, "input must be [C], [N,C] or [N,C,d1,...], got a 0-dim tensor");
  class_geom g = {.N = 1, .C = x->shape[x->ndim == 1 ? 0 : 1], .tdim = 0};
  if (x->ndim == 1) return g;
  g.N = x->shape[0];
  g.tshape[g.tdim++] = g.N;
  for (int i = 2; i < x->ndim; i++) g.tshape[g.tdim++] = x->shape[i];
  return g;
}

/* A Lua array of integer labels (or one integer) pushed as int64: the
 * Lua values read into a new tensor. */
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

/* The labels at idx (int64 tensor, Lua array or integer) as an int64
 * tensor of the target shape of g (pushed when made from Lua values).
 * Their range is the runtime's to check. */
static nn_tensor *check_labels(lua_State *L, int idx, const nn_tensor *x, const class_geom *g, const char *fname) {
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
  return t;
}

/* The class weights (option slot wi) as float32 [C], pushed; NULL when
 * none were given. */
static nn_tensor *push_class_weight(lua_State *L, int wi, int64_t C, const char *fname) {
  if (!wi) return NULL;
  nn_tensor *w = nnb_to_tensor(L, wi);
  if (w->ndim != 1 || w->shape[0] != C) {
    char b[128];
    nnb_error(L, fname, "weight must be a 1-D tensor of %" PRId64 " class weights, got %s", C,
              nnb_shape_str(b, sizeof b, w->ndim, w->shape));
  }
  check_no_grad(L, w, "weight", fname);
  return nnb_push_as(L, fname, wi, NN_FLOAT32, false);
}

/* ---- cross_entropy and nll_loss ---- */

/* cross_entropy(logits, target, {reduction=, weight=, label_smoothing=,
 * ignore_index=}); nll_loss(log_probs, target, {reduction=, weight=,
 * ignore_index=}). A float target of the input's shape holds class
 * probabilities (cross_entropy only). */
static int class_loss(lua_State *L, bool nll, const char *fname) {
  static const char *const ce_keys[] = {"reduction", "weight", "label_smoothing", "ignore_index", NULL};
  static const char *const nll_keys[] = {"reduction", "weight", "ignore_index", NULL};
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  nn_cross_entropy_args args;
  int opts = loss_options(L, 3, nll ? nll_keys : ce_keys, false, &args.reduction, fname);
  int wi = opt_tensor(L, opts, "weight", fname);
  double eps = nnb_opt_number(L, opts, "label_smoothing", 0, fname);
  if (!(eps >= 0 && eps <= 1)) nnb_error(L, fname, "label_smoothing must be in [0, 1], got %g", eps);
  args.label_smoothing = (float)eps;
  args.has_ignore = has_option(L, opts, "ignore_index");
  args.ignore_index = nnb_opt_int(L, opts, "ignore_index", 0, fname);
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
  if (!probs) t = check_labels(L, 2, x, &g, fname);
  nn_tensor *w = push_class_weight(L, wi, g.C, fname);
  x = nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  bool none = args.reduction == NN_REDUCTION_NONE;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, none ? g.tdim : 0, g.tshape);
  nnb_check_status(L, fname, (nll ? nn_nll_loss : nn_cross_entropy)(out, x, t, w, &args));
  return 1;
}

static int l_cross_entropy(lua_State *L) { return class_loss(L, false, "cross_entropy"); }
static int l_nll_loss(lua_State *L) { return class_loss(L, true, "nll_loss"); }

/* multi_margin_loss(x, target, {reduction=, p=1, margin=1, weight=}):
 * scores [C] or [N,C], 1-based labels [] or [N]. */
static int l_multi_margin_loss(lua_State *L) {
  static const char *const keys[] = {"reduction", "p", "margin", "weight", NULL};
  const char *fname = "multi_margin_loss";
  nn_tensor *x = nnb_check_tensor(L, 1, fname);
  nn_multi_margin_loss_args args;
  int opts = loss_options(L, 3, keys, false, &args.reduction, fname);
  int wi = opt_tensor(L, opts, "weight", fname);
  int64_t p = nnb_opt_int(L, opts, "p", 1, fname);
  if (p != 1 && p != 2) nnb_error(L, fname, "p must be 1 or 2, got %" PRId64, p);
  double margin = nnb_opt_number(L, opts, "margin", 1, fname);
  if (!(margin >= 0)) nnb_error(L, fname, "margin must be >= 0, got %g", margin);
  args.p = (int)p;
  args.margin = (float)margin;
  if ((x->ndim != 1 && x->ndim != 2) || x->shape[x->ndim - 1] == 0) {
    char a[128];
    nnb_error(L, fname, "input must be [C] or [N,C] with C >= 1, got %s", nnb_shape_str(a, sizeof a, x->ndim, x->shape));
  }
  class_geom g = class_geometry(L, x, fname);
  nn_tensor *t = check_labels(L, 2, x, &g, fname);
  nn_tensor *w = push_class_weight(L, wi, g.C, fname);
  x = nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  bool none = args.reduction == NN_REDUCTION_NONE;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, none ? g.tdim : 0, g.tshape);
  nnb_check_status(L, fname, nn_multi_margin_loss(out, x, t, w, &args));
  return 1;
}

/* ---- pointwise losses ---- */

/* A weight option (slot 0: absent) that broadcasts to the loss shape,
 * pushed as float32; NULL when absent. */
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
  return nnb_push_as(L, fname, slot, NN_FLOAT32, false);
}

/* A binary loss's target: the input's shape, or [N] against an input
 * [N,1], or [N,1] against an input [N] (the loss then has the input's
 * shape). */
static bool binary_target_fits(const nn_tensor *x, const nn_tensor *y) {
  if (same_shape(y, x->ndim, x->shape)) return true;
  const nn_tensor *col = x->ndim == 2 ? x : y, *vec = x->ndim == 2 ? y : x;
  return col->ndim == 2 && col->shape[1] == 1 && vec->ndim == 1 && vec->shape[0] == col->shape[0];
}

static int pointwise_loss(lua_State *L, nn_op op, const char *const *known, const char *fname) {
  nn_tensor *x = nnb_check_tensor(L, 1, fname), *y = nnb_to_tensor(L, 2);
  if (!y) nnb_error(L, fname, "target must be a tensor, got %s", luaL_typename(L, 2));
  nn_pointwise_loss_args args;
  int opts = loss_options(L, 3, known, op == NN_OP_KL_DIV, &args.reduction, fname);
  int wi = opt_tensor(L, opts, "weight", fname), pwi = opt_tensor(L, opts, "pos_weight", fname);
  args.log_target = nnb_opt_bool(L, opts, "log_target", false, fname);
  args.param = 0;
  if (op == NN_OP_SMOOTH_L1_LOSS || op == NN_OP_HUBER_LOSS) {
    bool huber = op == NN_OP_HUBER_LOSS;
    const char *key = huber ? "delta" : "beta";
    double v = nnb_opt_number(L, opts, key, 1, fname);
    if (huber ? !(v > 0) : !(v >= 0)) nnb_error(L, fname, "%s must be %s, got %g", key, huber ? "> 0" : ">= 0", v);
    args.param = (float)v;
  }
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  bool binary = op == NN_OP_BCE_LOSS || op == NN_OP_BCE_WITH_LOGITS; /* no broadcasting, as PyTorch */
  char a[128], b[128];
  if (binary) {
    if (!binary_target_fits(x, y))
      nnb_error(L, fname, "input %s and target %s must have the same shape (or be [N] and [N,1])",
                nnb_shape_str(a, sizeof a, x->ndim, x->shape), nnb_shape_str(b, sizeof b, y->ndim, y->shape));
    ndim = x->ndim;
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)ndim);
  } else if (!nn_broadcast_shape(x->ndim, x->shape, y->ndim, y->shape, &ndim, shape)) {
    nnb_error(L, fname, "input %s and target %s cannot be broadcast together",
              nnb_shape_str(a, sizeof a, x->ndim, x->shape), nnb_shape_str(b, sizeof b, y->ndim, y->shape));
  }
  nn_tensor *w = push_weight_option(L, wi, "weight", ndim, shape, fname);
  nn_tensor *pw = push_weight_option(L, pwi, "pos_weight", ndim, shape, fname);
  x = nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  y = nnb_push_as(L, fname, 2, NN_FLOAT32, false);
  bool none = args.reduction == NN_REDUCTION_NONE;
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, none ? ndim : 0, shape);
  nnb_check_status(L, fname, nn_pointwise_loss(op, out, x, y, w, pw, &args));
  return 1;
}

static int l_mse_loss(lua_State *L) {
  static const char *const keys[] = {"reduction", NULL};
  return pointwise_loss(L, NN_OP_MSE_LOSS, keys, "mse_loss");
}

static int l_l1_loss(lua_State *L) {
  static const char *const keys[] = {"reduction", NULL};
  return pointwise_loss(L, NN_OP_L1_LOSS, keys, "l1_loss");
}

static int l_smooth_l1_loss(lua_State *L) {
  static const char *const keys[] = {"reduction", "beta", NULL};
  return pointwise_loss(L, NN_OP_SMOOTH_L1_LOSS, keys, "smooth_l1_loss");
}

static int l_huber_loss(lua_State *L) {
  static const char *const keys[] = {"reduction", "delta", NULL};
  return pointwise_loss(L, NN_OP_HUBER_LOSS, keys, "huber_loss");
}

static int l_bce_loss(lua_State *L) {
  static const char *const keys[] = {"reduction", "weight", NULL};
  return pointwise_loss(L, NN_OP_BCE_LOSS, keys, "bce_loss");
}

static int l_bce_with_logits(lua_State *L) {
  static const char *const keys[] = {"reduction", "weight", "pos_weight", NULL};
  return pointwise_loss(L, NN_OP_BCE_WITH_LOGITS, keys, "bce_with_logits");
}

static int l_kl_div(lua_State *L) {
  static const char *const keys[] = {"reduction", "log_target", NULL};
  return pointwise_loss(L, NN_OP_KL_DIV, keys, "kl_div");
}

/* ---- distillation ---- */

/* distillation_loss(student_logits, teacher_logits, labels, {T=, alpha=}):
 * gradients reach the student only; the teacher is a constant. */
static int l_distillation_loss(lua_State *L) {
  static const char *const keys[] = {"T", "alpha", NULL};
  const char *fname = "distillation_loss";
  nn_tensor *s = nnb_check_tensor(L, 1, fname), *t = nnb_check_tensor(L, 2, fname);
  char a[128], b[128];
  if (s->ndim != 2 || !same_shape(t, s->ndim, s->shape))
    nnb_error(L, fname, "student %s and teacher %s logits must both be [N,C] of the same shape",
              nnb_shape_str(a, sizeof a, s->ndim, s->shape), nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  int opts = nnb_check_options(L, 4, keys, fname);
  double T = nnb_opt_number(L, opts, "T", 0, fname), alpha = nnb_opt_number(L, opts, "alpha", 0, fname);
  if (!has_option(L, opts, "T") || !has_option(L, opts, "alpha"))
    nnb_error(L, fname, "options T (temperature) and alpha (weight of the soft loss) are required, e.g. {T=4, alpha=0.7}");
  if (!(T > 0)) nnb_error(L, fname, "T must be positive, got %g", T);
  if (!(alpha >= 0 && alpha <= 1)) nnb_error(L, fname, "alpha must be in [0, 1], got %g", alpha);
  class_geom g = class_geometry(L, s, fname);
  nn_tensor *y = check_labels(L, 3, s, &g, fname);
  s = nnb_push_as(L, fname, 1, NN_FLOAT32, false);
  t = nnb_push_as(L, fname, 2, NN_FLOAT32, false);
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 0, NULL);
  nn_distillation_args args = {(float)T, (float)alpha};
  nnb_check_status(L, fname, nn_distillation_loss(out, s, t, y, &args));
  return 1;
}

/* ---- regularizers ---- */

/* l1_penalty(params) = sum |p|, l2_penalty(params) = sum p^2 over a list
 * of tensors (or one tensor, or a module: its parameters()). */
static int penalty(lua_State *L, nn_op op, const char *fname) {
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
  lua_settop(L, 1); /* the list keeps its tensors alive */
  int64_t n = (int64_t)lua_rawlen(L, 1);
  nn_tensor **params = lua_newuserdatauv(L, sizeof *params * (size_t)(n ? n : 1), 0);
  for (int64_t i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    char what[48];
    snprintf(what, sizeof what, "params[%" PRId64 "]", i + 1);
    if (!(params[i] = nnb_to_tensor(L, -1))) nnb_error(L, fname, "%s must be a tensor, got %s", what, luaL_typename(L, -1));
    nnb_check_float32(L, params[i], what, fname);
    lua_pop(L, 1);
  }
  nn_tensor *out = nnb_new_tensor(L, fname, NN_FLOAT32, 0, NULL);
  nnb_check_status(L, fname, nn_penalty(op, out, n, params));
  return 1;
}

static int l_l1_penalty(lua_State *L) { return penalty(L, NN_OP_L1_PENALTY, "l1_penalty"); }
static int l_l2_penalty(lua_State *L) { return penalty(L, NN_OP_L2_PENALTY, "l2_penalty"); }

static const luaL_Reg functions[] = {
    {"cross_entropy", l_cross_entropy},
    {"nll_loss", l_nll_loss},
    {"multi_margin_loss", l_multi_margin_loss},
    {"mse_loss", l_mse_loss},
    {"l1_loss", l_l1_loss},
    {"smooth_l1_loss", l_smooth_l1_loss},
    {"huber_loss", l_huber_loss},
    {"bce_loss", l_bce_loss},
    {"bce_with_logits", l_bce_with_logits},
    {"kl_div", l_kl_div},
    {"distillation_loss", l_distillation_loss},
    {"l1_penalty", l_l1_penalty},
    {"l2_penalty", l_l2_penalty},
    {NULL, NULL},
};

void nnb_open_loss(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
