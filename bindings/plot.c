/*
 * Plots for stdlib/nn/plot.lua (runtime/plot.c draws them):
 *   nn.core._plot_lines(series, path, chart)
 *     series = { {name=, x=, y=, style=, marker=, color=}, ... }, x and y
 *     Lua arrays or 1-D tensors; chart = {title=, xlabel=, ylabel=, width=,
 *     height=, xscale=, yscale=, vlines=, points=, categories=, field=,
 *     finite=}: categories (names) make a bar chart, field = {z=1-D tensor
 *     of ny*nx values, nx=, ny=, x={x0,x1}, y={y0,y1}, classes=, zlog=,
 *     levels=} a shaded function or class regions under the series;
 *     finite=true rejects non-finite values.
 *   nn.core._plot_panels(panels, path, {title=, width=, height=})
 *     panels = { {series=, <chart options>}, ... } side by side.
 *   nn.core._plot_hist(series, path, chart + {bins=}) overlaid histograms.
 *   nn.core._plot_heatmap(m, path, {rows=, cols=, row_names=, col_names=,
 *     annotate=, title=, xlabel=, ylabel=}), m a 1-D tensor of rows*cols.
 *   nn.core._plot_images(t, path, {nrow=, captions=, highlight=, title=, range=})
 *     t a [N,C,H,W] (C 1 or 3) or [N,H,W] tensor; captions an array of N
 *     strings, highlight an array of N booleans (red captions).
 * Everything is checked before drawing; buffers are userdata kept in an
 * anchor table, so an error raised half-way leaks nothing. Errors name the
 * caller given as opts.name (plot.lua passes "plot.lines" and the like) or
 * the binding itself.
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

/* Stores the value on top of the stack in the anchor table at index
 * anchor (which keeps buffers alive until the call returns) and pops it. */
static void keep(lua_State *L, int anchor) {
  lua_rawseti(L, anchor, (lua_Integer)lua_rawlen(L, anchor) + 1);
}

/* Reads the numbers of the value at idx (a Lua array of numbers or a 1-D
 * tensor) into a new buffer kept in anchor; returns it and sets *n. what
 * names the value in errors ("series 2 y"); finite rejects NaN and
 * infinities. */
static double *read_numbers(lua_State *L, int idx, int anchor, int64_t *n, const char *fname,
                            const char *what, bool finite) {
  idx = lua_absindex(L, idx);
  double *out;
  if (nnb_to_tensor(L, idx)) {
    nn_tensor *t = nnb_to_tensor(L, idx);
    if (t->ndim != 1) {
      char buf[128];
      nnb_error(L, fname, "%s must be a 1-D tensor, got shape %s", what,
                nnb_shape_str(buf, sizeof buf, t->ndim, t->shape));
    }
    *n = t->shape[0];
    out = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof(double), 0);
    keep(L, anchor);
    nn_plot_tensor_values(out, t);
  } else {
    if (!lua_istable(L, idx))
      nnb_error(L, fname, "%s must be an array of numbers or a 1-D tensor, got %s", what,
                luaL_typename(L, idx));
    *n = (int64_t)lua_rawlen(L, idx);
    out = lua_newuserdatauv(L, (size_t)(*n ? *n : 1) * sizeof(double), 0);
    keep(L, anchor);
    for (int64_t i = 0; i < *n; i++) {
      lua_rawgeti(L, idx, i + 1);
      int ok;
      out[i] = lua_tonumberx(L, -1, &ok);
      if (!ok || lua_type(L, -1) != LUA_TNUMBER)
        nnb_error(L, fname, "%s[%lld] must be a number, got %s", what, (long long)(i + 1),
                  luaL_typename(L, -1));
      lua_pop(L, 1);
    }
  }
  int64_t bad = finite ? nn_plot_first_nonfinite(out, *n) : -1;
  if (bad >= 0)
    nnb_error(L, fname, "%s[%lld] is %g: the values must be finite", what, (long long)(bad + 1),
              out[bad]);
  return out;
}

/* t[field] as a string that must be one of names (NULL-terminated);
 * returns its index, or dflt when absent. */
static int opt_choice(lua_State *L, int t, const char *field, const char *const *names, int dflt,
                      const char *fname, const char *what) {
  int ty = lua_getfield(L, t, field);
  if (ty == LUA_TNIL) {
    lua_pop(L, 1);
    return dflt;
  }
  const char *s = ty == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
  for (int i = 0; s && names[i]; i++)
    if (!strcmp(s, names[i])) {
      lua_pop(L, 1);
      return i;
    }
  char list[200] = "";
  for (int i = 0; names[i]; i++) {
    if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
    strncat(list, "'", sizeof list - strlen(list) - 1);
    strncat(list, names[i], sizeof list - strlen(list) - 1);
    strncat(list, "'", sizeof list - strlen(list) - 1);
  }
  if (s) nnb_error(L, fname, "%s must be one of %s, got '%s'", what, list, s);
  nnb_error(L, fname, "%s must be one of %s, got %s", what, list, lua_typename(L, ty));
  return dflt;
}

static const char *const style_names[] = {"solid", "dashed", "dotted", "none", NULL};
static const char *const marker_names[] = {"auto", "none", "o", "s", "^", "x", NULL};
static const char *const scale_names[] = {"linear", "log", NULL};

/* Fills s from the series table at idx (the k-th, 1-based); its buffers
 * go to anchor. */
static void read_series(lua_State *L, int idx, int anchor, int k, nn_plot_series *s,
                        const char *fname, bool finite) {
  static const char *const known[] = {"name", "x", "y", "style", "marker", "color", NULL};
  char what[64];
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx) || nnb_to_tensor(L, idx))
    nnb_error(L, fname, "series %d must be a table {name=, x=, y=}, got %s", k,
              luaL_typename(L, idx));
  snprintf(what, sizeof what, "%s (series %d)", fname, k);
  nnb_check_options(L, idx, known, what);
  int t = lua_getfield(L, idx, "name");
  if (t != LUA_TNIL && t != LUA_TSTRING)
    nnb_error(L, fname, "series %d name must be a string, got %s", k, lua_typename(L, t));
  s->name = lua_tostring(L, -1); /* alive in the series table */
  lua_pop(L, 1);
  snprintf(what, sizeof what, "series %d style", k);
  s->style = opt_choice(L, idx, "style", style_names, NN_PLOT_SOLID, fname, what);
  snprintf(what, sizeof what, "series %d marker", k);
  s->marker = opt_choice(L, idx, "marker", marker_names, NN_PLOT_MARK_AUTO, fname, what);
  s->color = (int)nnb_opt_int(L, idx, "color", 0, fname);
  if (s->color < 0 || s->color > 1000)
    nnb_error(L, fname, "series %d color %d must be a palette index in 1..10", k, s->color);
  if (lua_getfield(L, idx, "y") == LUA_TNIL) nnb_error(L, fname, "series %d has no y values", k);
  snprintf(what, sizeof what, "series %d y", k);
  s->y = read_numbers(L, -1, anchor, &s->n, fname, what, finite);
  lua_pop(L, 1);
  if (s->n == 0) nnb_error(L, fname, "series %d is empty (no y values)", k);
  s->x = NULL; /* the runtime's 1..n */
  if (lua_getfield(L, idx, "x") == LUA_TNIL) {
    lua_pop(L, 1);
    return;
  }
  int64_t nx;
  snprintf(what, sizeof what, "series %d x", k);
  s->x = read_numbers(L, -1, anchor, &nx, fname, what, finite);
  lua_pop(L, 1);
  if (nx != s->n)
    nnb_error(L, fname, "series %d has %lld x values but %lld y values", k, (long long)nx,
              (long long)s->n);
}

/* An array of series at idx into a buffer kept in anchor; sets *ns. */
static nn_plot_series *read_series_list(lua_State *L, int idx, int anchor, int *ns,
                                        const char *fname, bool finite) {
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx) || nnb_to_tensor(L, idx))
    nnb_error(L, fname, "series (argument 1) must be a table of {name=, x=, y=}, got %s",
              luaL_typename(L, idx));
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
  if (n == 0) nnb_error(L, fname, "no series to plot (series is empty)");
  if (n > 1000) nnb_error(L, fname, "%lld series is too many (at most 1000)", (long long)n);
  nn_plot_series *s = lua_newuserdatauv(L, (size_t)n * sizeof *s, 0);
  keep(L, anchor);
  for (int k = 0; k < n; k++) {
    lua_rawgeti(L, idx, k + 1);
    read_series(L, -1, anchor, k + 1, &s[k], fname, finite);
    lua_pop(L, 1);
  }
  *ns = (int)n;
  return s;
}

/* A pair {a, b} of finite numbers a < b at t[field]. */
static void read_span(lua_State *L, int t, const char *field, double *a, double *b,
                      const char *fname) {
  lua_getfield(L, t, field);
  bool ok = lua_istable(L, -1) && lua_rawlen(L, -1) == 2;
  if (ok) {
    lua_rawgeti(L, -1, 1), lua_rawgeti(L, -2, 2);
    *a = lua_tonumber(L, -2), *b = lua_tonumber(L, -1);
    ok = lua_isnumber(L, -2) && lua_isnumber(L, -1) && isfinite(*a) && isfinite(*b) && *a < *b;
    lua_pop(L, 2);
  }
  if (!ok)
    nnb_error(L, fname, "field %s must be a range {lo, hi} of finite numbers with lo < hi", field);
  lua_pop(L, 1);
}

/* The chart options of the table at opts (a chart or a panel) into lb;
 * buffers go to anchor. known lists the keys the table may hold. */
static void read_chart(lua_State *L, int opts, int anchor, nn_plot_labels *lb,
                       const char *const *known, const char *fname, bool *finite) {
  memset(lb, 0, sizeof *lb);
  if (lua_isnoneornil(L, opts)) return;
  if (!lua_istable(L, opts))
    nnb_error(L, fname, "options (argument 3) must be a table, got %s", luaL_typename(L, opts));
  opts = nnb_check_options(L, opts, known, fname);
  lb->title = opt_string(L, opts, "title", fname);
  lb->xlabel = opt_string(L, opts, "xlabel", fname);
  lb->ylabel = opt_string(L, opts, "ylabel", fname);
  lb->width = (int)opt_int(L, opts, "width", 0, 200, 8000, fname);
  lb->height = (int)opt_int(L, opts, "height", 0, 150, 8000, fname);
  lb->xlog = opt_choice(L, opts, "xscale", scale_names, 0, fname, "xscale") == 1;
  lb->ylog = opt_choice(L, opts, "yscale", scale_names, 0, fname, "yscale") == 1;
  *finite = nnb_opt_bool(L, opts, "finite", false, fname);
  if (lua_getfield(L, opts, "vlines") != LUA_TNIL) {
    int64_t n;
    lb->vlines = read_numbers(L, -1, anchor, &n, fname, "vlines", true);
    if (n > 10000) nnb_error(L, fname, "%lld vlines is too many (at most 10000)", (long long)n);
    lb->nvlines = (int)n;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, opts, "points") != LUA_TNIL) {
    int pts = lua_gettop(L);
    if (!lua_istable(L, pts) || nnb_to_tensor(L, pts))
      nnb_error(L, fname, "points must be an array of {x=, y=, label=}, got %s",
                luaL_typename(L, pts));
    lua_Integer n = (lua_Integer)lua_rawlen(L, pts);
    if (n > 10000) nnb_error(L, fname, "%lld points is too many (at most 10000)", (long long)n);
    nn_plot_point *p = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *p, 0);
    keep(L, anchor);
    for (lua_Integer i = 0; i < n; i++) {
      lua_rawgeti(L, pts, i + 1);
      int e = lua_gettop(L);
      bool ok = lua_istable(L, e);
      if (ok) {
        lua_getfield(L, e, "x"), lua_getfield(L, e, "y");
        ok = lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER;
        p[i].x = lua_tonumber(L, -2), p[i].y = lua_tonumber(L, -1);
        ok = ok && isfinite(p[i].x) && isfinite(p[i].y);
        lua_pop(L, 2);
      }
      if (!ok)
        nnb_error(L, fname, "points[%lld] must be {x=, y=, label=} with finite x and y",
                  (long long)(i + 1));
      int t = lua_getfield(L, e, "label");
      if (t != LUA_TNIL && t != LUA_TSTRING)
        nnb_error(L, fname, "points[%lld] label must be a string, got %s", (long long)(i + 1),
                  lua_typename(L, t));
      p[i].label = lua_tostring(L, -1); /* alive in the point table */
      lua_pop(L, 2);
    }
    lb->points = p, lb->npoints = (int)n;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, opts, "categories") != LUA_TNIL) {
    int c = lua_gettop(L);
    lua_Integer n = lua_istable(L, c) ? (lua_Integer)lua_rawlen(L, c) : 0;
    if (n == 0 || n > 10000)
      nnb_error(L, fname, "categories must be an array of 1 to 10000 names, got %s",
                luaL_typename(L, c));
    const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names, 0);
    keep(L, anchor);
    for (lua_Integer i = 0; i < n; i++) {
      if (lua_rawgeti(L, c, i + 1) != LUA_TSTRING)
        nnb_error(L, fname, "categories[%lld] must be a string, got %s", (long long)(i + 1),
                  luaL_typename(L, -1));
      names[i] = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    lb->categories = names, lb->ncategories = n;
  }
  lua_pop(L, 1);
  if (lua_getfield(L, opts, "field") != LUA_TNIL) {
    static const char *const fknown[] = {"z",       "nx",   "ny",     "x", "y",
                                         "classes", "zlog", "levels", NULL};
    int f = nnb_check_options(L, lua_gettop(L), fknown, fname);
    nn_plot_field *fd = lua_newuserdatauv(L, sizeof *fd, 0);
    keep(L, anchor);
    memset(fd, 0, sizeof *fd);
    fd->nx = opt_int(L, f, "nx", 0, 2, 100000, fname);
    fd->ny = opt_int(L, f, "ny", 0, 2, 100000, fname);
    fd->levels = (int)opt_int(L, f, "levels", 12, 1, 256, fname);
    fd->classes = nnb_opt_bool(L, f, "classes", false, fname);
    fd->zlog = nnb_opt_bool(L, f, "zlog", false, fname);
    read_span(L, f, "x", &fd->x0, &fd->x1, fname);
    read_span(L, f, "y", &fd->y0, &fd->y1, fname);
    int64_t n;
    lua_getfield(L, f, "z");
    fd->z = read_numbers(L, -1, anchor, &n, fname, "field values (row-major)", true);
    lua_pop(L, 1);
    if (n != fd->nx * fd->ny)
      nnb_error(L, fname, "field has %lld values for a %lldx%lld grid", (long long)n,
                (long long)fd->ny, (long long)fd->nx);
    lb->field = fd;
  }
  lua_pop(L, 1);
}

static const char *const chart_known[] = {"name",       "title",  "xlabel", "ylabel", "width",
                                          "height",     "xscale", "yscale", "vlines", "points",
                                          "categories", "field",  "finite", NULL};

/* nn.core._plot_lines(series, path, chart) -> path */
static int l_plot_lines(lua_State *L) {
  const char *fname = caller_name(L, 3, "_plot_lines");
  const char *path = check_path(L, 2, fname);
  lua_settop(L, 3);
  lua_newtable(L); /* 4: anchor */
  nn_plot_labels lb;
  bool finite;
  read_chart(L, 3, 4, &lb, chart_known, fname, &finite);
  if (lb.categories) finite = true;
  int ns;
  nn_plot_series *s = read_series_list(L, 1, 4, &ns, fname, finite);
  for (int k = 0; k < ns && lb.categories; k++)
    if (s[k].n != lb.ncategories)
      nnb_error(L, fname, "series %d has %lld values for %lld groups", k + 1, (long long)s[k].n,
                (long long)lb.ncategories);
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_lines(path, s, ns, &lb, err)) nnb_error(L, fname, "%s", err);
  lua_pushvalue(L, 2);
  return 1;
}

/* nn.core._plot_panels(panels, path, {name=, title=, width=, height=}) -> path */
static int l_plot_panels(lua_State *L) {
  static const char *const known[] = {"name", "title", "width", "height", NULL};
  static const char *const panel_known[] = {"series", "title",  "xlabel", "ylabel", "xscale",
                                            "yscale", "vlines", "points", NULL};
  const char *fname = caller_name(L, 3, "_plot_panels");
  const char *path = check_path(L, 2, fname);
  lua_settop(L, 3);
  int opts = nnb_check_options(L, 3, known, fname);
  const char *title = opt_string(L, opts, "title", fname);
  int W = (int)opt_int(L, opts, "width", 0, 200, 16000, fname);
  int H = (int)opt_int(L, opts, "height", 0, 150, 8000, fname);
  lua_newtable(L); /* 4: anchor */
  lua_Integer np = lua_istable(L, 1) ? (lua_Integer)lua_rawlen(L, 1) : 0;
  if (np < 1 || np > 16)
    nnb_error(L, fname, "panels must be an array of 1 to 16 charts, got %s of %lld",
              luaL_typename(L, 1), (long long)np);
  nn_plot_panel *p = lua_newuserdatauv(L, (size_t)np * sizeof *p, 0);
  keep(L, 4);
  nn_plot_labels *lbs = lua_newuserdatauv(L, (size_t)np * sizeof *lbs, 0);
  keep(L, 4);
  for (int k = 0; k < np; k++) {
    lua_rawgeti(L, 1, k + 1);
    bool finite;
    read_chart(L, 5, 4, &lbs[k], panel_known, fname, &finite);
    lua_getfield(L, 5, "series");
    p[k].series = read_series_list(L, 6, 4, &p[k].nseries, fname, false);
    p[k].labels = &lbs[k];
    lua_settop(L, 4);
  }
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_panels(path, p, (int)np, title, W, H, err)) nnb_error(L, fname, "%s", err);
  lua_pushvalue(L, 2);
  return 1;
}

/* nn.core._plot_hist(series, path, chart + {bins=}) -> path */
static int l_plot_hist(lua_State *L) {
  static const char *const known[] = {"name",   "title",  "xlabel", "ylabel", "width",
                                      "height", "yscale", "bins",   NULL};
  const char *fname = caller_name(L, 3, "_plot_hist");
  const char *path = check_path(L, 2, fname);
  lua_settop(L, 3);
  lua_newtable(L); /* 4: anchor */
  nn_plot_labels lb;
  bool finite;
  read_chart(L, 3, 4, &lb, known, fname, &finite);
  int64_t bins = opt_int(L, 3, "bins", 20, 1, 10000, fname);
  int ns;
  nn_plot_series *s = read_series_list(L, 1, 4, &ns, fname, true);
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_hist(path, s, ns, bins, &lb, err)) nnb_error(L, fname, "%s", err);
  lua_pushvalue(L, 2);
  return 1;
}

/* Names at opts[field]: NULL, or an array of n strings kept in anchor. */
static const char **read_names(lua_State *L, int opts, const char *field, int64_t n, int anchor,
                               const char *fname) {
  if (lua_getfield(L, opts, field) == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  int t = lua_gettop(L);
  if (!lua_istable(L, t) || (int64_t)lua_rawlen(L, t) != n)
    nnb_error(L, fname, "%s must be an array of %lld names, got %s of %lld", field, (long long)n,
              luaL_typename(L, t), (long long)(lua_istable(L, t) ? lua_rawlen(L, t) : 0));
  const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names, 0);
  keep(L, anchor);
  for (int64_t i = 0; i < n; i++) {
    int ty = lua_rawgeti(L, t, i + 1);
    if (ty != LUA_TSTRING && ty != LUA_TNUMBER)
      nnb_error(L, fname, "%s[%lld] must be a string, got %s", field, (long long)(i + 1),
                lua_typename(L, ty));
    names[i] = lua_tostring(L, -1); /* a number becomes a string in place: alive in t */
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return names;
}

/* nn.core._plot_heatmap(m, path, {rows=, cols=, ...}) -> path */
static int l_plot_heatmap(lua_State *L) {
  static const char *const known[] = {"name", "title",     "xlabel",    "ylabel",   "rows",
                                      "cols", "row_names", "col_names", "annotate", NULL};
  const char *fname = caller_name(L, 3, "_plot_heatmap");
  const char *path = check_path(L, 2, fname);
  lua_settop(L, 3);
  lua_newtable(L); /* 4: anchor */
  int opts = nnb_check_options(L, 3, known, fname);
  nn_plot_labels lb = {.title = opt_string(L, opts, "title", fname),
                       .xlabel = opt_string(L, opts, "xlabel", fname),
                       .ylabel = opt_string(L, opts, "ylabel", fname)};
  int64_t rows = opt_int(L, opts, "rows", 0, 1, 1000, fname);
  int64_t cols = opt_int(L, opts, "cols", 0, 1, 1000, fname);
  bool annotate = nnb_opt_bool(L, opts, "annotate", true, fname);
  int64_t n;
  double *m = read_numbers(L, 1, 4, &n, fname, "matrix", true);
  if (n != rows * cols)
    nnb_error(L, fname, "matrix has %lld values for %lldx%lld", (long long)n, (long long)rows,
              (long long)cols);
  const char **rn = read_names(L, opts, "row_names", rows, 4, fname);
  const char **cn = read_names(L, opts, "col_names", cols, 4, fname);
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_heatmap(path, m, rows, cols, rn, cn, annotate, &lb, err))
    nnb_error(L, fname, "%s", err);
  lua_pushvalue(L, 2);
  return 1;
}

/* nn.core._plot_images(t, path, opts) -> path */
static int l_plot_images(lua_State *L) {
  static const char *const known[] = {"name",      "nrow",  "title", "captions",
                                      "highlight", "range", NULL};
  const char *fname = caller_name(L, 3, "_plot_images");
  nnb_check_options(L, 3, known, fname);
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
  double lo = NAN, hi = NAN;
  if (lua_istable(L, 3) && lua_getfield(L, 3, "range") != LUA_TNIL) {
    int r = lua_gettop(L);
    bool ok = lua_istable(L, r) && lua_rawlen(L, r) == 2;
    if (ok) {
      lua_rawgeti(L, r, 1), lua_rawgeti(L, r, 2);
      ok = lua_type(L, -2) == LUA_TNUMBER && lua_type(L, -1) == LUA_TNUMBER;
      lo = lua_tonumber(L, -2), hi = lua_tonumber(L, -1);
      lua_pop(L, 2);
    }
    if (!ok || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
      nnb_error(L, fname, "option range must be {lo, hi} with finite lo < hi, got %s",
                ok ? lua_pushfstring(L, "{%f, %f}", lo, hi) : luaL_typename(L, r));
  }
  nn_tensor *data = nnb_push_as(L, fname, 1, NN_FLOAT32, true);
  char err[NN_PLOT_ERRLEN];
  drew = true;
  if (nn_plot_images(path, nn_tensor_data(data), n, c, h, w, nrow, lo, hi, captions, highlight,
                     title, err))
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
      {"_plot_lines", l_plot_lines},   {"_plot_panels", l_plot_panels},
      {"_plot_hist", l_plot_hist},     {"_plot_heatmap", l_plot_heatmap},
      {"_plot_images", l_plot_images}, {NULL, NULL}};
  nnb_set_funcs(L, module, funcs);
  lua_newuserdatauv(L, 1, 0);
  lua_newtable(L);
  lua_pushcfunction(L, release_fonts);
  lua_setfield(L, -2, "__gc");
  lua_setmetatable(L, -2);
  lua_setfield(L, LUA_REGISTRYINDEX, "nn.plot.fonts");
}
