/*
 * tostring(t): PyTorch's layout (runtime/print.c writes it), so output
 * reads the same as the users' old notebooks.
 */
#include "nn_bind.h"
#include "nn_print.h"

static int l_tostring(lua_State *L) {
  nn_tensor *t = nnb_to_tensor(L, 1);
  if (!t) {
    lua_pushstring(L, luaL_testudata(L, 1, NNB_TENSOR_MT) ? "tensor(closed)" : "?");
    return 1;
  }
  /* Measure, then write into a Lua buffer: nothing to free if Lua raises. */
  size_t len = nn_print(NULL, 0, t);
  luaL_Buffer b;
  nn_print(luaL_buffinitsize(L, &b, len + 1), len + 1, t);
  luaL_pushresultsize(&b, len);
  return 1;
}

void nnb_open_print(lua_State *L) {
  luaL_getmetatable(L, NNB_TENSOR_MT);
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}
