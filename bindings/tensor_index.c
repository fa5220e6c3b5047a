#include "nn_bind.h"
void nnb_open_index(lua_State *L, int module, int methods) { (void)L; (void)module; (void)methods; }
int nnb_index_get(lua_State *L) { (void)L; return 0; }
int nnb_index_set(lua_State *L) { (void)L; return 0; }
