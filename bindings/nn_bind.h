/*
 * nn_bind: what every binding file shares — the tensor userdata, argument
 * checks and error raising. Like lauxlib, this layer checks everything that
 * comes from Lua before anything is allocated, and turns 1-based Lua
 * indices and negative dims into the runtime's 0-based ones in one place.
 *
 * Errors read "fname: message" and are raised with lua_error, so nothing
 * here may hold a raw allocation across a call that can raise: tensors are
 * created by nnb_new_tensor, which pushes the owning userdata first.
 */
#ifndef NN_BIND_H
#define NN_BIND_H

#include <lauxlib.h>
#include <lua.h>

#include "nn_autograd.h"
#include "nn_tensor.h"

#define NNB_TENSOR_MT "nn.Tensor"
#define NNB_SHAPE_MT "nn.shape" /* of t.shape and t:size(): prints {64, 784} */
/* Registry keys of the tensor method table and of the property table
 * (name -> getter taking the tensor), both read by __index. */
#define NNB_METHODS_KEY "nn.Tensor.methods"
#define NNB_PROPS_KEY "nn.Tensor.props"
/* name -> setter(t, key, value) for assignable fields such as t.grad. */
#define NNB_SETTERS_KEY "nn.Tensor.setters"

/* The full userdata behind a Lua tensor; t is NULL until the tensor
 * exists, and after __close. tag is nnb_box_tag's address: what tells a
 * tensor from other userdata (nnb_to_box). */
typedef struct nnb_box {
  const void *tag;
  nn_tensor *t;
} nnb_box;
extern const char nnb_box_tag;

/* Registry key of the folder of the library's Lua modules. */
#define NNB_LIBRARY_DIR_KEY "nn.library_dir"
/* Registry key of a function(program, message) that nnlua calls, when
 * set, with the message of an error that ends a script: nn.distributed
 * sets it in a world of several ranks to end the whole job (MPI_Abort). */
#define NNB_ERROR_HOOK_KEY "nn.error_hook"

/* Raises "fname: <formatted message>" after the position of the first Lua
 * frame outside the library's Lua modules (the user's line; none if there
 * is no such frame). The message is formatted into a fixed buffer, never
 * used as a format itself. */
int nnb_error(lua_State *L, const char *fname, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
/* Pushes "file:line: " of the first Lua frame from level up (0: the
 * running function) outside the library (as stdlib/nn/args.lua's
 * where()), or "" when there is none. */
void nnb_push_where(lua_State *L, int level);

/* Registers the tensor metatable at mt for the fast checks below. */
void nnb_set_metatable_key(lua_State *L, int mt);
/* The tensor userdata at idx (live or closed), or NULL. */
nnb_box *nnb_to_box(lua_State *L, int idx);
/* The tensor at idx, or NULL if the value is not a live tensor. */
nn_tensor *nnb_to_tensor(lua_State *L, int idx);
/* The tensor at idx, else raises "fname: argument N must be a tensor, got T". */
nn_tensor *nnb_check_tensor(lua_State *L, int idx, const char *fname);

/* Pushes a tensor box owning one reference to t (the caller's). */
void nnb_push_tensor(lua_State *L, nn_tensor *t);
/* Pushes a new contiguous tensor (uninitialized or zeroed) and returns it;
 * refuses sizes that overflow or exceed physical memory, and raises on OOM. */
nn_tensor *nnb_new_tensor(lua_State *L, const char *fname, nn_dtype dtype,
                          int ndim, const int64_t *shape);
nn_tensor *nnb_new_zeros(lua_State *L, const char *fname, nn_dtype dtype,
                         int ndim, const int64_t *shape);
/* Pushes a view of base with the given geometry (shares storage). */
nn_tensor *nnb_new_view(lua_State *L, const char *fname, const nn_tensor *base,
                        int ndim, const int64_t *shape, const int64_t *stride,
                        int64_t offset);
/* Pushes a contiguous tensor with t's values converted to dtype: t itself
 * (pushed again) when it already is that, else a copy. */
nn_tensor *nnb_push_as(lua_State *L, const char *fname, int idx, nn_dtype dtype,
                       bool need_contiguous);

/* Raises unless t may be written in place: not part of a graph, and no
 * two elements sharing memory (an expanded view). */
void nnb_check_writable(lua_State *L, const nn_tensor *t, const char *fname);
/* "[64,784]" into buf. */
const char *nnb_shape_str(char *buf, size_t len, int ndim, const int64_t *shape);
/* Integer argument; floats with an integral value are accepted (1e3). */
int64_t nnb_check_int(lua_State *L, int idx, const char *fname, const char *what);
/* A 1-based (or negative, from the end) dim at idx for a tensor of ndim
 * dims, returned 0-based. ndim 0 tensors accept dims 1 and -1 as PyTorch. */
int nnb_check_dim(lua_State *L, int idx, int ndim, const char *fname);
/* Same check for a dim already read from Lua. */
int nnb_dim_index(lua_State *L, int64_t dim, int ndim, const char *fname);
/* Sizes given as separate numbers from idx on, or as one table at idx:
 * zeros(2, 3) == zeros{2, 3}. Returns ndim. When allow_infer, one -1 may
 * stand for an inferred size (returned as -1). */
int nnb_check_shape(lua_State *L, int idx, int last, int64_t *shape,
                    const char *fname, bool allow_infer);
/* The options table at idx as an absolute index, or 0 when idx is none or
 * nil; raises unless it is a table whose every key is in known (a
 * NULL-terminated list): "unknown option 'epoch' (did you mean 'epochs'?
 * known: batch_size, epochs)", the suggestion only for a likely typo. */
int nnb_check_options(lua_State *L, int idx, const char *const *known, const char *fname);
/* opts[key] of a table from nnb_check_options (0: none), or dflt when
 * absent; raises "option key must be a boolean/number/integer, got T". */
bool nnb_opt_bool(lua_State *L, int opts, const char *key, bool dflt, const char *fname);
double nnb_opt_number(lua_State *L, int opts, const char *key, double dflt, const char *fname);
int64_t nnb_opt_int(lua_State *L, int opts, const char *key, int64_t dflt, const char *fname);
/* A size option: an integer in lo..2^30 (larger would overflow sizes). */
int64_t nnb_check_size(lua_State *L, int idx, int64_t lo, const char *what, const char *fname);
/* A number n (meaning {n, n}) or a pair {h, w} of sizes at idx, each >= lo;
 * nnb_opt_pair reads opts[key] so, or gives dflt when absent. */
typedef struct nnb_pair {
  int64_t h, w;
} nnb_pair;
nnb_pair nnb_check_pair(lua_State *L, int idx, int64_t lo, const char *what, const char *fname);
nnb_pair nnb_opt_pair(lua_State *L, int opts, const char *key, int64_t lo, nnb_pair dflt, const char *fname);
/* Raises "fname: what must be float32, got int64" unless t is float32. */
void nnb_check_float32(lua_State *L, const nn_tensor *t, const char *what, const char *fname);
/* dtype name at idx ('float32', 'int64', 'bool'), or dflt when none. */
nn_dtype nnb_opt_dtype(lua_State *L, int idx, nn_dtype dflt, const char *fname);
/* The generator behind nn.manual_seed and every random op. */
struct nn_rng *nnb_rng(void);
/* Tells Lua's collector about bytes the engine allocated outside its heap,
 * so temporaries are collected without the user calling collectgarbage. */
void nnb_gc_account(lua_State *L, size_t nbytes);

/* luaL_setfuncs into the table at absolute index `table`. */
void nnb_set_funcs(lua_State *L, int table, const luaL_Reg *funcs);
/* Pushes {values[0], ..., values[n-1]} as a Lua array (shapes, strides). */
void nnb_push_int_array(lua_State *L, int n, const int64_t *values);
/* The same array with NNB_SHAPE_MT, whose __tostring shows {64, 784}:
 * t.shape and t:size(). Otherwise a plain array. */
void nnb_push_shape(lua_State *L, int ndim, const int64_t *shape);
/* Pushes the element at p of t's dtype as a Lua value: float32 -> number,
 * int64 -> integer, bool -> boolean. */
void nnb_push_element(lua_State *L, const nn_tensor *t, const void *p);

/* Each binding file adds its functions to the module table and its
 * methods to the tensor method table (both given as absolute indices). */
void nnb_open_create(lua_State *L, int module, int methods);
void nnb_open_shape(lua_State *L, int module, int methods);
void nnb_open_elementwise(lua_State *L, int module, int methods);
void nnb_open_matmul(lua_State *L, int module, int methods);
void nnb_open_reduce(lua_State *L, int module, int methods);
void nnb_open_index(lua_State *L, int module, int methods);
void nnb_open_convert(lua_State *L, int module, int methods);
void nnb_open_io(lua_State *L, int module, int methods);
void nnb_open_autograd(lua_State *L, int module, int methods);
void nnb_open_conv(lua_State *L, int module, int methods);
void nnb_open_pool(lua_State *L, int module, int methods);
void nnb_open_upsample(lua_State *L, int module, int methods);
void nnb_open_optim(lua_State *L, int module, int methods);
void nnb_open_linear(lua_State *L, int module, int methods);
void nnb_open_dropout(lua_State *L, int module, int methods);
void nnb_open_norm(lua_State *L, int module, int methods);
void nnb_open_json(lua_State *L, int module, int methods);
void nnb_open_transforms(lua_State *L, int module, int methods);
void nnb_open_plot(lua_State *L, int module, int methods);
void nnb_open_image(lua_State *L, int module, int methods);
void nnb_open_activation(lua_State *L, int module, int methods);
void nnb_open_loss(lua_State *L, int module, int methods);
void nnb_open_data(lua_State *L, int module, int methods);
void nnb_open_csv(lua_State *L, int module, int methods);
void nnb_open_byte_store(lua_State *L, int module, int methods);
void nnb_open_sort(lua_State *L, int module, int methods);
void nnb_open_knn(lua_State *L, int module, int methods);
void nnb_open_gemm(lua_State *L, int module, int methods);
/* __tostring of the tensor metatable (print.c). */
void nnb_open_print(lua_State *L);

/* t[i] and t[i] = v (index.c): __index's numeric branch and
 * __newindex, called with (t, i) and (t, i, v). */
int nnb_index_get(lua_State *L);
int nnb_index_set(lua_State *L);

/* Raises "fname: out of memory" or the runtime's message (nn_fail) unless
 * st is NN_OK. */
void nnb_check_status(lua_State *L, const char *fname, nn_status st);
/* Raises if t is part of a graph and would be modified in place. */
void nnb_check_inplace_grad(lua_State *L, const nn_tensor *t, const char *fname);

int luaopen_nn_core(lua_State *L);

#endif
