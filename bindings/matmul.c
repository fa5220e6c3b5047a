/*
 * Matrix products from Lua: nn.matmul(a, b) with PyTorch's rules (1-D
 * operands, broadcast batch dims), nn.mm(a, b) for two matrices only, and
 * nn.outer(a, b); also as methods. The products run in runtime/matmul.c.
 */
#include "nn_bind.h"
#include "nn_matmul.h"

static void check_operands(lua_State *L, const nn_tensor *a, const nn_tensor *b, bool only_2d,
                           const char *fname) {
  char x[128], y[128];
  nnb_shape_str(x, sizeof x, a->ndim, a->shape);
  nnb_shape_str(y, sizeof y, b->ndim, b->shape);
  if (a->ndim == 0 || b->ndim == 0 || (only_2d && (a->ndim != 2 || b->ndim != 2)))
    nnb_error(L, fname, "expects %s tensors, got %s and %s", only_2d ? "2-D" : "at least 1-D", x, y);
  if (nn_dtype_promote(a->dtype, b->dtype) == NN_BOOL)
    nnb_error(L, fname, "bool tensors cannot be multiplied");
  int64_t k = a->shape[a->ndim - 1], kb = b->shape[b->ndim > 1 ? b->ndim - 2 : 0];
  if (kb != k) nnb_error(L, fname, "cannot multiply %s by %s (%lld != %lld)", x, y, (long long)k, (long long)kb);
}

static int matmul(lua_State *L, const char *fname, bool only_2d) {
  nn_tensor *a = nnb_check_tensor(L, 1, fname), *b = nnb_check_tensor(L, 2, fname);
  check_operands(L, a, b, only_2d, fname);
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  if (!nn_matmul_shape(a, b, &ndim, shape)) {
    char x[128], y[128];
    nnb_error(L, fname, "batch dims of %s and %s cannot be broadcast together",
              nnb_shape_str(x, sizeof x, a->ndim, a->shape), nnb_shape_str(y, sizeof y, b->ndim, b->shape));
  }
  nn_dtype dt = nn_dtype_promote(a->dtype, b->dtype);
  lua_settop(L, 2);
  a = nnb_push_as(L, fname, 1, dt, false);
  b = nnb_push_as(L, fname, 2, dt, false);
  nn_tensor *out = nnb_new_tensor(L, fname, dt, ndim, shape);
  nnb_check_status(L, fname, nn_matmul(out, a, b));
  return 1;
}

static int l_matmul(lua_State *L) { return matmul(L, "matmul", false); }
static int l_mm(lua_State *L) { return matmul(L, "mm", true); }

static int l_outer(lua_State *L) {
  nn_tensor *a = nnb_check_tensor(L, 1, "outer"), *b = nnb_check_tensor(L, 2, "outer");
  if (a->ndim != 1 || b->ndim != 1) {
    char x[128], y[128];
    nnb_error(L, "outer", "expects two 1-D tensors, got %s and %s", nnb_shape_str(x, sizeof x, a->ndim, a->shape),
              nnb_shape_str(y, sizeof y, b->ndim, b->shape));
  }
  nn_dtype dt = nn_dtype_promote(a->dtype, b->dtype);
  if (dt == NN_BOOL) nnb_error(L, "outer", "bool tensors cannot be multiplied");
  lua_settop(L, 2);
  a = nnb_push_as(L, "outer", 1, dt, false);
  b = nnb_push_as(L, "outer", 2, dt, false);
  nn_tensor *out = nnb_new_tensor(L, "outer", dt, 2, (int64_t[]){a->shape[0], b->shape[0]});
  nnb_check_status(L, "outer", nn_outer(out, a, b));
  return 1;
}

static const luaL_Reg functions[] = {
    {"matmul", l_matmul},
    {"mm", l_mm},
    {"outer", l_outer},
    {NULL, NULL},
};

void nnb_open_matmul(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, functions);
  nnb_set_funcs(L, methods, functions);
}
