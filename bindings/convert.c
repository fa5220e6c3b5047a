/*
 * Conversions between tensors and Lua values, and whole-tensor copies:
 * item, totable, clone, copy_, fill_, zero_, and dtype casts (to, float,
 * long, bool).
 */
#include <inttypes.h>

#include "nn_bind.h"
#include "nn_elementwise.h"
#include "nn_shape.h"


static int l_item(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "item");
  if (nn_tensor_numel(t) != 1) {
    char s[128];
    nnb_error(L, "item", "only a one-element tensor can be converted to a number, got %s (%" PRId64 " elements)",
              nnb_shape_str(s, sizeof s, t->ndim, t->shape), nn_tensor_numel(t));
  }
  nnb_push_element(L, t, nn_tensor_data(t));
  return 1;
}

static void push_nested(lua_State *L, const nn_tensor *t, int dim, const char *p) {
  if (dim == t->ndim) {
    nnb_push_element(L, t, p);
    return;
  }
  luaL_checkstack(L, 4, "totable: nesting too deep");
  int64_t n = t->shape[dim], step = t->stride[dim] * (int64_t)nn_dtype_size(t->dtype);
  lua_createtable(L, n < INT32_MAX ? (int)n : 0, 0);
  for (int64_t i = 0; i < n; i++) {
    push_nested(L, t, dim + 1, p + i * step);
    lua_rawseti(L, -2, i + 1);
  }
}

/* Nested Lua arrays; a 0-dim tensor gives its number. */
static int l_totable(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "totable");
  if (nn_tensor_numel(t) > 100000000)
    nnb_error(L, "totable", "%" PRId64 " elements is too many for a Lua table", nn_tensor_numel(t));
  push_nested(L, t, 0, nn_tensor_data(t));
  return 1;
}

static int l_clone(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "clone");
  nn_tensor *c = nnb_new_tensor(L, "clone", t->dtype, t->ndim, t->shape);
  nnb_check_status(L, "clone", nn_clone(c, t));
  return 1;
}

/* t:copy_(src): src broadcasts to t and converts to t's dtype. */
static int l_copy_(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "copy_"), *src = nnb_check_tensor(L, 2, "copy_");
  int ndim;
  int64_t shape[NN_MAX_DIMS];
  char a[128], b[128];
  if (!nn_broadcast_shape(t->ndim, t->shape, src->ndim, src->shape, &ndim, shape) || ndim != t->ndim ||
      nn_shape_numel(ndim, shape) != nn_tensor_numel(t))
    nnb_error(L, "copy_", "source %s cannot be broadcast to destination %s",
              nnb_shape_str(a, sizeof a, src->ndim, src->shape), nnb_shape_str(b, sizeof b, t->ndim, t->shape));
  nnb_check_writable(L, t, "copy_");
  if (t->storage == src->storage && t != src) {
    /* Overlapping views: go through a copy so no element is read after
     * being overwritten. */
    lua_pushvalue(L, 2);
    src = nnb_new_tensor(L, "copy_", src->dtype, src->ndim, src->shape);
    nn_copy(src, nnb_to_tensor(L, 2));
  }
  nn_copy(t, src);
  lua_settop(L, 1);
  return 1;
}

static int l_fill_(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "fill_");
  int type = lua_type(L, 2);
  if (type != LUA_TNUMBER && type != LUA_TBOOLEAN)
    nnb_error(L, "fill_", "value must be a number or boolean, got %s", luaL_typename(L, 2));
  nnb_check_writable(L, t, "fill_");
  if (t->dtype == NN_INT64 && lua_isinteger(L, 2)) {
    nn_scalar s;
    nn_copy(t, nn_scalar_i64(&s, lua_tointeger(L, 2)));
  } else {
    nn_fill(t, type == LUA_TBOOLEAN ? lua_toboolean(L, 2) : lua_tonumber(L, 2));
  }
  lua_settop(L, 1);
  return 1;
}

static int l_zero_(lua_State *L) {
  nn_tensor *t = nnb_check_tensor(L, 1, "zero_");
  nnb_check_writable(L, t, "zero_");
  nn_fill(t, 0);
  lua_settop(L, 1);
  return 1;
}

/* The tensor itself when it has the dtype already (as PyTorch), else a
 * converted copy. */
static int convert_to(lua_State *L, nn_dtype dtype, const char *fname) {
  nnb_push_as(L, fname, 1, dtype, false);
  return 1;
}

static int l_to(lua_State *L) {
  nnb_check_tensor(L, 1, "to");
  if (lua_isnoneornil(L, 2)) nnb_error(L, "to", "needs a dtype ('float32', 'int64' or 'bool')");
  return convert_to(L, nnb_opt_dtype(L, 2, NN_FLOAT32, "to"), "to");
}

static int l_float(lua_State *L) { return convert_to(L, NN_FLOAT32, "float"); }
static int l_long(lua_State *L) { return convert_to(L, NN_INT64, "long"); }
static int l_bool(lua_State *L) { return convert_to(L, NN_BOOL, "bool"); }

static const luaL_Reg methods_list[] = {
    {"item", l_item},   {"totable", l_totable}, {"tolist", l_totable},
    {"clone", l_clone}, {"copy_", l_copy_},     {"fill_", l_fill_},
    {"zero_", l_zero_}, {"to", l_to},           {"type", l_to},
    {"float", l_float}, {"long", l_long},       {"bool", l_bool},
    {NULL, NULL},
};

void nnb_open_convert(lua_State *L, int module, int methods) {
  nnb_set_funcs(L, module, methods_list);
  nnb_set_funcs(L, methods, methods_list);
}
