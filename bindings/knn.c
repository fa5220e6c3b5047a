/*
 * k-nearest neighbours (runtime/knn.c), private entries of nn.core used by
 * stdlib/nn/neighbors.lua (nn.KNeighborsClassifier), which checks the
 * options and the shapes the user sees; these check again what the
 * runtime relies on:
 *
 *   core._knn_search(x [Q,D], train [N,D], k, metric)  -> dist [Q,k], idx [Q,k]
 *       metric 'euclidean' or 'cosine'; idx 1-based int64
 *   core._knn_vote(dist [Q,k], idx [Q,k], labels [N], classes, by_distance)
 *       -> proba [Q,classes], pred [Q] (1-based class, int64)
 */
#include <inttypes.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_knn.h"

static const char *FNAME = "kneighbors";

/* A 2-D tensor at idx; what names it in errors. */
static nn_tensor *check_2d(lua_State *L, int idx, const char *what, const char *fname) {
  char s[128];
  nn_tensor *t = nnb_check_tensor(L, idx, fname);
  if (t->ndim != 2)
    nnb_error(L, fname, "%s must be 2-D [rows, features], got %s", what,
              nnb_shape_str(s, sizeof s, t->ndim, t->shape));
  return t;
}

static int l_knn_search(lua_State *L) {
  char a[128], b[128];
  nn_tensor *x = check_2d(L, 1, "x", FNAME), *train = check_2d(L, 2, "train", FNAME);
  nnb_shape_str(a, sizeof a, x->ndim, x->shape);
  nnb_shape_str(b, sizeof b, train->ndim, train->shape);
  if (x->shape[1] != train->shape[1])
    nnb_error(L, FNAME, "x %s has %" PRId64 " features, the training data %s has %" PRId64, a,
              x->shape[1], b, train->shape[1]);
  if (x->shape[0] > INT32_MAX || train->shape[0] > INT32_MAX || x->shape[1] > INT32_MAX)
    nnb_error(L, FNAME, "x %s or the training data %s is too large", a, b);
  int64_t k = nnb_check_int(L, 3, FNAME, "n_neighbors");
  if (k < 1 || k > train->shape[0])
    nnb_error(L, FNAME, "n_neighbors %" PRId64 " is not in 1..%" PRId64 " (the training rows)",
              k, train->shape[0]);
  const char *m = luaL_checkstring(L, 4);
  nn_knn_metric metric;
  if (strcmp(m, "euclidean") == 0) metric = NN_KNN_EUCLIDEAN;
  else if (strcmp(m, "cosine") == 0) metric = NN_KNN_COSINE;
  else nnb_error(L, FNAME, "metric must be 'euclidean' or 'cosine', got '%s'", m);
  const nn_tensor *xf = nnb_push_as(L, FNAME, 1, NN_FLOAT32, false);
  const nn_tensor *tf = nnb_push_as(L, FNAME, 2, NN_FLOAT32, false);
  int64_t shape[2] = {x->shape[0], k};
  nn_tensor *dist = nnb_new_tensor(L, FNAME, NN_FLOAT32, 2, shape);
  nn_tensor *idx = nnb_new_tensor(L, FNAME, NN_INT64, 2, shape);
  nnb_check_status(L, FNAME, nn_knn_search(dist, idx, xf, tf, k, metric));
  return 2;
}

static int l_knn_vote(lua_State *L) {
  const char *fname = "predict";
  char a[128], b[128];
  nn_tensor *dist = check_2d(L, 1, "dist", fname), *idx = check_2d(L, 2, "idx", fname);
  nn_tensor *labels = nnb_check_tensor(L, 3, fname);
  nnb_check_float32(L, dist, "dist", fname);
  if (idx->dtype != NN_INT64 || labels->dtype != NN_INT64)
    nnb_error(L, fname, "idx and labels must be int64, got %s and %s",
              nn_dtype_name(idx->dtype), nn_dtype_name(labels->dtype));
  if (dist->shape[0] != idx->shape[0] || dist->shape[1] != idx->shape[1] || dist->shape[1] < 1)
    nnb_error(L, fname, "dist %s and idx %s must have one shape [Q, k], k >= 1",
              nnb_shape_str(a, sizeof a, 2, dist->shape), nnb_shape_str(b, sizeof b, 2, idx->shape));
  if (labels->ndim != 1)
    nnb_error(L, fname, "labels must be 1-D, got %s",
              nnb_shape_str(a, sizeof a, labels->ndim, labels->shape));
  int64_t c = nnb_check_int(L, 4, fname, "classes");
  if (c < 1) nnb_error(L, fname, "classes must be >= 1, got %" PRId64, c);
  if (!lua_isboolean(L, 5))
    nnb_error(L, fname, "by_distance must be a boolean, got %s", luaL_typename(L, 5));
  bool by_distance = lua_toboolean(L, 5);
  int64_t ps[2] = {dist->shape[0], c};
  nn_tensor *proba = nnb_new_tensor(L, fname, NN_FLOAT32, 2, ps);
  nn_tensor *pred = nnb_new_tensor(L, fname, NN_INT64, 1, ps);
  nnb_check_status(L, fname, nn_knn_vote(proba, pred, dist, idx, labels, by_distance));
  return 2;
}

static const luaL_Reg functions[] = {
    {"_knn_search", l_knn_search},
    {"_knn_vote", l_knn_vote},
    {NULL, NULL},
};

void nnb_open_knn(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
