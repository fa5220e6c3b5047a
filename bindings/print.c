/*
 * tostring(t): PyTorch's layout, so output reads the same as the users'
 * old notebooks: tensor([[ 1.5000, -2.0000], ...]). Tensors of more than
 * 1000 elements show the first and last 3 entries of each dim around "...".
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_bind.h"

#define SUMMARIZE_OVER 1000
#define EDGE_ITEMS 3

typedef enum { FMT_INT, FMT_FLOAT_INTEGRAL, FMT_FIXED, FMT_SCI } float_style;

typedef struct float_stats {
  double max_abs, min_abs;
  bool all_integral;
} float_stats;

typedef struct printer {
  const nn_tensor *t;
  bool summarize;
  float_style style;
  int width; /* every element is padded to this */
  luaL_Buffer *b;
  float_stats stats; /* of the displayed finite values, to pick the style */
} printer;

static double element(const nn_tensor *t, const int64_t *index) {
  int64_t off = 0;
  for (int d = 0; d < t->ndim; d++) off += index[d] * t->stride[d];
  const char *p = (const char *)t->storage->data + (t->offset + off) * (int64_t)nn_dtype_size(t->dtype);
  switch (t->dtype) {
  case NN_FLOAT32: return *(const float *)p;
  case NN_INT64: return (double)*(const int64_t *)p;
  default: return *(const bool *)p;
  }
}

static int format_element(const printer *pr, const int64_t *index, char *out, size_t len) {
  const nn_tensor *t = pr->t;
  if (t->dtype == NN_BOOL) return snprintf(out, len, "%s", element(t, index) != 0 ? "True" : "False");
  if (t->dtype == NN_INT64) {
    int64_t off = 0;
    for (int d = 0; d < t->ndim; d++) off += index[d] * t->stride[d];
    return snprintf(out, len, "%" PRId64, ((const int64_t *)t->storage->data)[t->offset + off]);
  }
  double v = element(t, index);
  if (isnan(v)) return snprintf(out, len, "nan");
  if (isinf(v)) return snprintf(out, len, v > 0 ? "inf" : "-inf");
  switch (pr->style) {
  case FMT_FLOAT_INTEGRAL: return snprintf(out, len, "%.0f.", v);
  case FMT_SCI: return snprintf(out, len, "%.4e", v);
  default: return snprintf(out, len, "%.4f", v);
  }
}

/* Calls visit on every displayed element (all of them, or the edges of
 * each dim when summarizing), in row-major order. */
static void walk(printer *pr, int dim, int64_t *index, void (*visit)(printer *, const int64_t *)) {
  if (dim == pr->t->ndim) {
    visit(pr, index);
    return;
  }
  int64_t n = pr->t->shape[dim];
  for (int64_t i = 0; i < n; i++) {
    if (pr->summarize && n > 2 * EDGE_ITEMS && i == EDGE_ITEMS) i = n - EDGE_ITEMS;
    index[dim] = i;
    walk(pr, dim + 1, index, visit);
  }
}

static void gather_stats(printer *pr, const int64_t *index) {
  float_stats *st = &pr->stats;
  double v = element(pr->t, index);
  if (!isfinite(v)) return;
  double a = fabs(v);
  if (a > st->max_abs) st->max_abs = a;
  if (a != 0 && (st->min_abs == 0 || a < st->min_abs)) st->min_abs = a;
  if (v != floor(v)) st->all_integral = false;
}

/* As PyTorch, only finite values set the width: nan and inf are padded to
 * it but never widen it. */
static void measure(printer *pr, const int64_t *index) {
  if (pr->t->dtype == NN_FLOAT32 && !isfinite(element(pr->t, index))) return;
  char s[64];
  int n = format_element(pr, index, s, sizeof s);
  if (n > pr->width) pr->width = n;
}

static void choose_style(printer *pr) {
  if (pr->t->dtype != NN_FLOAT32) {
    pr->style = FMT_INT;
    return;
  }
  int64_t index[NN_MAX_DIMS] = {0};
  pr->stats = (float_stats){0, 0, true};
  walk(pr, 0, index, gather_stats);
  const float_stats *st = &pr->stats;
  /* PyTorch's rule, over the nonzero finite values: a range wider than
   * 1000x or a value above 1e8 needs exponents, integral or not; so does
   * a fraction below 1e-4. */
  bool wide = st->min_abs > 0 && (st->max_abs / st->min_abs > 1000 || st->max_abs > 1e8);
  if (st->all_integral && !wide) pr->style = FMT_FLOAT_INTEGRAL;
  else if (wide || (st->min_abs > 0 && st->min_abs < 1e-4)) pr->style = FMT_SCI;
  else pr->style = FMT_FIXED;
}

static void add_padded(printer *pr, const int64_t *index) {
  char s[64];
  int n = format_element(pr, index, s, sizeof s);
  for (int i = n; i < pr->width; i++) luaL_addchar(pr->b, ' ');
  luaL_addlstring(pr->b, s, (size_t)n);
}

static void add_indent(printer *pr, int spaces) {
  for (int i = 0; i < spaces; i++) luaL_addchar(pr->b, ' ');
}

/* Writes dim `dim` of the tensor as a bracketed list; indent is the column
 * of its opening bracket. */
static void write_dim(printer *pr, int dim, int64_t *index, int indent) {
  int64_t n = pr->t->shape[dim];
  luaL_addchar(pr->b, '[');
  bool last = dim == pr->t->ndim - 1;
  for (int64_t i = 0; i < n; i++) {
    if (i > 0) {
      if (last) {
        luaL_addstring(pr->b, ", ");
      } else {
        luaL_addchar(pr->b, ',');
        for (int k = 0; k < pr->t->ndim - dim - 1; k++) luaL_addchar(pr->b, '\n');
        add_indent(pr, indent + 1);
      }
    }
    if (pr->summarize && n > 2 * EDGE_ITEMS && i == EDGE_ITEMS) {
      luaL_addstring(pr->b, last ? " ..." : "..."); /* PyTorch's spacing */
      if (last) {
        luaL_addstring(pr->b, ", ");
      } else {
        luaL_addchar(pr->b, ',');
        for (int k = 0; k < pr->t->ndim - dim - 1; k++) luaL_addchar(pr->b, '\n');
        add_indent(pr, indent + 1);
      }
      i = n - EDGE_ITEMS;
    }
    index[dim] = i;
    if (last) add_padded(pr, index);
    else write_dim(pr, dim + 1, index, indent + 1);
  }
  luaL_addchar(pr->b, ']');
}

static int l_tostring(lua_State *L) {
  nn_tensor *t = nnb_to_tensor(L, 1);
  if (!t) {
    lua_pushstring(L, luaL_testudata(L, 1, NNB_TENSOR_MT) ? "tensor(closed)" : "?");
    return 1;
  }
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  printer pr = {t, nn_tensor_numel(t) > SUMMARIZE_OVER, FMT_INT, 0, &b, {0, 0, true}};
  choose_style(&pr);
  int64_t index[NN_MAX_DIMS] = {0};
  walk(&pr, 0, index, measure);
  luaL_addstring(&b, "tensor(");
  if (t->ndim == 0) add_padded(&pr, index);
  else write_dim(&pr, 0, index, 7);
  char shape[128];
  if (nn_tensor_numel(t) == 0 && t->ndim > 1) {
    luaL_addstring(&b, ", size=");
    luaL_addstring(&b, nnb_shape_str(shape, sizeof shape, t->ndim, t->shape));
  }
  if (t->dtype == NN_INT64 && nn_tensor_numel(t) == 0) luaL_addstring(&b, ", dtype=int64");
  if (t->dtype == NN_BOOL && nn_tensor_numel(t) == 0) luaL_addstring(&b, ", dtype=bool");
  luaL_addchar(&b, ')');
  luaL_pushresult(&b);
  return 1;
}

void nnb_open_print(lua_State *L) {
  luaL_getmetatable(L, NNB_TENSOR_MT);
  lua_pushcfunction(L, l_tostring);
  lua_setfield(L, -2, "__tostring");
  lua_pop(L, 1);
}
