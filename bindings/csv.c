/*
 * nn.core._csv_split(text, path) -> rows, lines: the CSV tokenizer of
 * runtime/csv.c for stdlib/nn/data/csv.lua. rows[i] is the i-th non-blank
 * line's fields (strings), lines[i] its 1-based line number; a malformed
 * text raises "csv: '<path>' line <n>: <reason>".
 */
#include <string.h>

#include "nn_bind.h"
#include "nn_csv.h"

#define CSV_TABLE_MT "nn.csv.table"

/* __gc and __close; nn_csv_free copes with zeroed and freed tables. */
static int table_free(lua_State *L) {
  nn_csv_free(luaL_checkudata(L, 1, CSV_TABLE_MT));
  return 0;
}

static int l_csv_split(lua_State *L) {
  size_t len;
  const char *text = luaL_checklstring(L, 1, &len);
  const char *path = luaL_checkstring(L, 2);
  lua_settop(L, 2);
  nn_csv_table *t = lua_newuserdatauv(L, sizeof *t, 0);
  memset(t, 0, sizeof *t);
  if (luaL_newmetatable(L, CSV_TABLE_MT)) {
    lua_pushcfunction(L, table_free);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, table_free);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  lua_toclose(L, 3);
  char err[NN_IO_ERRLEN];
  if (nn_csv_parse(t, path, text, len, err)) nnb_error(L, "csv", "%s", err);
  lua_createtable(L, (int)t->nrows, 0);
  lua_createtable(L, (int)t->nrows, 0);
  for (int64_t r = 0; r < t->nrows; r++) {
    lua_createtable(L, (int)t->ncols, 0);
    for (int64_t c = 0; c < t->ncols; c++) {
      size_t n;
      const char *f = nn_csv_field(t, r, c, &n);
      lua_pushlstring(L, f, n);
      lua_rawseti(L, -2, c + 1);
    }
    lua_rawseti(L, 4, r + 1);
    lua_pushinteger(L, t->lines[r]);
    lua_rawseti(L, 5, r + 1);
  }
  return 2;
}

static const luaL_Reg functions[] = {
    {"_csv_split", l_csv_split},
    {NULL, NULL},
};

void nnb_open_csv(lua_State *L, int module, int methods) {
  (void)methods;
  nnb_set_funcs(L, module, functions);
}
