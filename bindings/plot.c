/*
 * Plots for stdlib/nn/plot.lua (runtime/plot.c draws them):
 *   nn.core._plot_lines(series, path, {title=, xlabel=, ylabel=, width=, height=})
 *     series = { {name=, x=, y=}, ... }, x and y Lua arrays or 1-D tensors.
 *   nn.core._plot_images(t, path, {nrow=, captions=, highlight=, title=})
 *     t a [N,C,H,W] (C 1 or 3) or [N,H,W] tensor; captions an array of N
 *     strings, highlight an array of N booleans (red captions).
 * Everything is checked before drawing; buffers are userdata, so an error
 * raised half-way leaks nothing. Errors name the caller given as opts.name
 * (plot.lua passes "plot.lines" and the like) or the binding itself.
 */
#include <math.h>
#include <string.h>

#include "nn_bind.h"
#include "nn_plot.h"

/* Whether this process drew a plot, so the font caches are worth freeing
 * when the Lua state closes. */
static bool drew;

/* opts.name when it is a string, else dflt. */
static const char *caller_name(lua_State *L, int opts, const char *dflt) {
  if (lua_type(L, opts) != LUA_TTABLE) return dflt;
  const char *s = dflt;
  if (lua_getfield(L, opts, "name") == LUA_TSTRING) s = lua_tostring(L, -1);
  lua_pop(L, 1); /* the string stays alive in opts */
  return s;
}

/* opts.field as a string or NULL; the string stays alive in opts. */
static const char *opt_string(lua_State *L, int opts, const char *field, const char *fname) {
  if (lua_type(L, opts) != LUA_TTABLE) return NULL;
  int t = lua_getfield(L, opts, field);
  if (t != LUA_TNIL && t != LUA_TSTRING)
    nnb_error(L, fname, "option %s must be a string, got %s", field, lua_typename(L, t));
  const char *s = lua_tostring(L, -1);
  lua_pop(L, 1);
  return s;
}

/* opts.field as an integer in [lo, hi], or dflt when absent. */
static int64_t opt_int(lua_State *L, int opts, const char *field, int64_t dflt, int64_t lo,
                       int64_t hi, const char *fname) {
  if (lua_type(L, opts) != LUA_TTABLE) return dflt;
  lua_getfield(L, opts, field);
  int64_t v = dflt;
  if (!lua_isnil(L, -1)) {
    int ok;
    lua_Integer i = lua_tointegerx(L, -1, &ok);
    if (!ok) nnb_error(L, fname, "option %s must be an integer, got %s", field, luaL_typename(L, -1));
    if (i < lo || i > hi)
      nnb_error(L, fname, "option %s = %lld out of range [%lld, %lld]", field, (long long)i,
                (long long)lo, (long long)hi);
    v = i;
  }
  lua_pop(L, 1);
  return v;
}

/* The path argument: a non-empty string. */
static const char *check_path(lua_State *L, int idx, const char *fname) {
  if (lua_type(L, idx) != LUA_TSTRING || lua_rawlen(L, idx) == 0)
    nnb_error(L, fname, "path (argument %d) must be a non-empty string, got %s", idx,
              lua_type(L, idx) == LUA_TSTRING ? "\"\"" : luaL_typename(L, idx));
  return lua_tostring(L, idx);
}

/* Reads the numbers of the value at idx (a Lua array of numbers or a 1-D
 * tensor) into a new userdata buffer, left on the stack; returns it and
 * sets *n. what names the value in errors ("series 2 y"). */
static double *read_numbers(lua_State *L, int idx, int64_t *n, const char *fname,
                            const char *what) {
  idx = lua_absindex(L, idx);
  if (nnb_to_tensor(L, idx)) {
    nn_tensor *t = nnb_to_tensor(L, idx);
    if (t->ndim != 1) {
      char buf[128];
      nnb_error(L, fname, "%s must be a 1-D tensor, got shape %s", what,
                nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
    }
    *n = t->shape[0];
    double *out = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof(double), 0);
    nn_plot_tensor_values(out, t);
    return out;
  }
  if (!lua_istable(L, idx))
    nnb_error(L, fname, "%s must be an array of numbers or a 1-D tensor, got %s", what,
              luaL_typename(L, idx));
  *n = (int64_t)lua_rawlen(L, idx);
  double *out = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof(double), 0);
  for (int64_t i = 0; i < *n; i++) {
    lua_rawgeti(L, idx, i + 1);
    int ok;
    out[i] = lua_tonumberx(L, -1, &ok);
    if (!ok || lua_type(L, -1) != LUA_TNUMBER)
      nnb_error(L, fname, "%s[%lld] must be a number, got %s", what, (long long)(i + 1),
                luaL_typename(L, -1));
    lua_pop(L, 1);
  }
  return out;
}

/* Fills s from the series table at idx (the k-th, 1-based); leaves its
 * y and x buffers (nil for no x) on the stack. */
static void read_series(lua_State *L, int idx, int k, nn_plot_series *s, const char *fname) {
  char what[64];
  if (!lua_istable(L, idx))
    nnb_error(L, fname, "series %d must be a table {name=, x=, y=}, got %s", k,
              luaL_typename(L, idx));
  int t = lua_getfield(L, idx, "name");
  if (t != LUA_TNIL && t != LUA_TSTRING)
    nnb_error(L, fname, "series %d name must be a string, got %s", k, lua_typename(L, t));
  s->name = lua_tostring(L, -1); /* alive in the series table */
  lua_pop(L, 1);
  if (lua_getfield(L, idx, "y") == LUA_TNIL) nnb_error(L, fname, "series %d has no y values", k);
  snprintf(what, sizeof what, "series %d y", k);
  s->y = read_numbers(L, -1, &s->n, fname, what);
  lua_remove(L, -2);
  if (s->n == 0) nnb_error(L, fname, "series %d is empty (no y values)", k);
  s->x = NULL; /* the runtime's 1..n; the nil stays as its stack slot */
  if (lua_getfield(L, idx, "x") == LUA_TNIL) return;
  int64_t nx;
  snprintf(what, sizeof what, "series %d x", k);
  s->x = read_numbers(L, -1, &nx, fname, what);
  lua_remove(L, -2);
  if (nx != s->n)
    nnb_error(L, fname, "series %d has %lld x values but %lld y values", k, (long long)nx,
              (long long)s->n);
}

/* nn.core._plot_lines(series, path, opts) -> path */
static int l_plot_lines(lua_State *L) {
  const char *fname = caller_name(L, 3, "_plot_lines");
  if (!lua_istable(L, 1))
    nnb_error(L, fname, "series (argument 1) must be a table of {name=, x=, y=}, got %s",
              luaL_typename(L, 1));
  const char *path = check_path(L, 2, fname);
  if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
    nnb_error(L, fname, "options (argument 3) must be a table, got %s", luaL_typename(L, 3));
  nn_plot_labels labels = {
      .title = opt_string(L, 3, "title", fname),
      .xlabel = opt_string(L, 3, "xlabel", fname),
      .ylabel = opt_string(L, 3, "ylabel", fname),
      .width = (int)opt_int(L, 3, "width", 800, 200, 8000, fname),
      .height = (int)opt_int(L, 3, "height", 500, 150, 8000, fname),
  };
  lua_Integer ns = (lua_Integer)lua_rawlen(L, 1);
  if (ns == 0) nnb_error(L, fname, "no series to plot (series is empty)");
  if (ns > 1000) nnb_error(L, fname, "%lld series is too many (at most 1000)", (long long)ns);
  lua_settop(L, 3);
  nn_plot_series *s = lua_newuserdatauv(L, (size_t)ns * sizeof *s, 0);
  luaL_checkstack(L, (int)ns * 2 + 8, fname);
  for (int k = 0; k < ns; k++) {
    lua_rawgeti(L, 1, k + 1);
    read_series(L, lua_gettop(L), k + 1, &s[k], fname);
    lua_remove(L, -3); /* the series table; its x and y buffers stay */
  }
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_lines(path, s, (int)ns, &labels, err)) nnb_error(L, fname, "%s", err);
  lua_pushvalue(L, 2);
  return 1;
}

/* nn.core._plot_images(t, path, opts) -> path */
static int l_plot_images(lua_State *L) {
  const char *fname = caller_name(L, 3, "_plot_images");
  nn_tensor *t = nnb_check_tensor(L, 1, fname);
  const char *path = check_path(L, 2, fname);
  if (!lua_isnoneornil(L, 3) && !lua_istable(L, 3))
    nnb_error(L, fname, "options (argument 3) must be a table, got %s", luaL_typename(L, 3));
  char buf[128];
  int64_t n, c, h, w;
  if (t->ndim == 4 && (t->shape[1] == 1 || t->shape[1] == 3))
    n = t->shape[0], c = t->shape[1], h = t->shape[2], w = t->shape[3];
  else if (t->ndim == 3)
    n = t->shape[0], c = 1, h = t->shape[1], w = t->shape[2];
  else
    nnb_error(L, fname, "expected a [N,C,H,W] tensor with C 1 or 3, or [N,H,W], got %s",
              nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
  if (n == 0 || h == 0 || w == 0)
    nnb_error(L, fname, "no images to plot in a tensor of shape %s",
              nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
  if (n > 100000) nnb_error(L, fname, "%lld images is too many (at most 100000)", (long long)n);
  const char *title = opt_string(L, 3, "title", fname);
  int64_t nrow = opt_int(L, 3, "nrow", n < 8 ? n : 8, 1, INT32_MAX, fname);
  lua_settop(L, 3);
  const char **captions = NULL;
  bool *highlight = NULL;
  if (lua_istable(L, 3) && lua_getfield(L, 3, "captions") != LUA_TNIL) { /* index 4 */
    if (!lua_istable(L, 4) || (int64_t)lua_rawlen(L, 4) != n)
      nnb_error(L, fname, "option captions must be an array of %lld strings, got %s of %lld",
                (long long)n, luaL_typename(L, 4),
                (long long)(lua_istable(L, 4) ? lua_rawlen(L, 4) : 0));
    captions = lua_newuserdatauv(L, (size_t)n * sizeof *captions, 0);
    for (int64_t i = 0; i < n; i++) {
      if (lua_rawgeti(L, 4, i + 1) != LUA_TSTRING)
        nnb_error(L, fname, "option captions[%lld] must be a string, got %s", (long long)(i + 1),
                  luaL_typename(L, -1));
      captions[i] = lua_tostring(L, -1); /* alive in the captions table */
      lua_pop(L, 1);
    }
  }
  lua_settop(L, 5);
  if (lua_istable(L, 3) && lua_getfield(L, 3, "highlight") != LUA_TNIL) { /* index 6 */
    if (!lua_istable(L, 6) || (int64_t)lua_rawlen(L, 6) != n)
      nnb_error(L, fname, "option highlight must be an array of %lld booleans", (long long)n);
    highlight = lua_newuserdatauv(L, (size_t)n * sizeof *highlight, 0);
    for (int64_t i = 0; i < n; i++) {
      lua_rawgeti(L, 6, i + 1);
      highlight[i] = lua_toboolean(L, -1);
      lua_pop(L, 1);
    }
  }
  nn_tensor *data = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_images(path, nn_tensor_data(data), n, c, h, w, nrow, captions, highlight, title,
                     err))
    nnb_error(L, fname, "%s", err);
  lua_pushvalue(L, 2);
  return 1;
}

/* __gc of a registry sentinel: runs when the state closes. */
static int release_fonts(lua_State *L) {
  (void)L;
  if (drew) nn_plot_release();
  drew = false;
  return 0;
}

void nnb_open_plot(lua_State *L, int module, int methods) {
  (void)methods;
  static const luaL_Reg funcs[] = {
      {"_plot_lines", l_plot_lines}, {"_plot_images", l_plot_images}, {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
  lua_newuserdatauv(L, 1, 0);
  lua_newtable(L);
  lua_pushcfunction(L, release_fonts);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "nn.plot.fonts");
}
