/* Tensor text in PyTorch's layout (see nn_print.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nn_autograd.h"
#include "nn_print.h"

#define SUMMARIZE_OVER 1000
#define EDGE_ITEMS 3

typedef enum { FMT_INT, FMT_FLOAT_INTEGRAL, FMT_FIXED, FMT_SCI } float_style;

typedef struct float_stats {
  double max_abs, min_abs;
  bool all_integral;
} float_stats;

/* The caller's buffer, written as snprintf does: len counts the whole
 * text, only what fits is stored. */
typedef struct sink {
  char *dst;
  size_t cap, len;
} sink;

typedef struct printer {
  const nn_tensor *t;
  bool summarize;
  float_style style;
  int width; /* every element is padded to this */
  sink *out;
  float_stats stats; /* of the displayed finite values, to pick the style */
} printer;

static void put(sink *s, const char *p, size_t n) {
  if (s->len + 1 < s->cap) {
    size_t room = s->cap - 1 - s->len;
    memcpy(s->dst + s->len, p, n < room ? n : room);
  }
  s->len += n;
}

static void put_str(sink *s, const char *p) { put(s, p, strlen(p)); }

static void put_char(sink *s, char c) { put(s, &c, 1); }

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
  for (int i = n; i < pr->width; i++) put_char(pr->out, ' ');
  put(pr->out, s, (size_t)n);
}

static void add_indent(printer *pr, int spaces) {
  for (int i = 0; i < spaces; i++) put_char(pr->out, ' ');
}

/* Writes dim `dim` of the tensor as a bracketed list; indent is the column
 * of its opening bracket. */
static void write_dim(printer *pr, int dim, int64_t *index, int indent) {
  int64_t n = pr->t->shape[dim];
  put_char(pr->out, '[');
  bool last = dim == pr->t->ndim - 1;
  for (int64_t i = 0; i < n; i++) {
    if (i > 0) {
      if (last) {
        put_str(pr->out, ", ");
      } else {
        put_char(pr->out, ',');
        for (int k = 0; k < pr->t->ndim - dim - 1; k++) put_char(pr->out, '\n');
        add_indent(pr, indent + 1);
      }
    }
    if (pr->summarize && n > 2 * EDGE_ITEMS && i == EDGE_ITEMS) {
      put_str(pr->out, last ? " ..." : "..."); /* PyTorch's spacing */
      if (last) {
        put_str(pr->out, ", ");
      } else {
        put_char(pr->out, ',');
        for (int k = 0; k < pr->t->ndim - dim - 1; k++) put_char(pr->out, '\n');
        add_indent(pr, indent + 1);
      }
      i = n - EDGE_ITEMS;
    }
    index[dim] = i;
    if (last) add_padded(pr, index);
    else write_dim(pr, dim + 1, index, indent + 1);
  }
  put_char(pr->out, ']');
}

/* ", size=[2,0]": the shape as the bindings write it in errors. */
static void put_size(sink *s, const nn_tensor *t) {
  char num[32];
  put_str(s, ", size=[");
  for (int d = 0; d < t->ndim; d++) {
    snprintf(num, sizeof num, d ? ",%" PRId64 : "%" PRId64, t->shape[d]);
    put_str(s, num);
  }
  put_char(s, ']');
}

size_t nn_print(char *dst, size_t cap, const nn_tensor *t) {
  sink out = {dst, cap, 0};
  printer pr = {t, nn_tensor_numel(t) > SUMMARIZE_OVER, FMT_INT, 0, &out, {0, 0, true}};
  choose_style(&pr);
  int64_t index[NN_MAX_DIMS] = {0};
  walk(&pr, 0, index, measure);
  put_str(&out, "tensor(");
  if (t->ndim == 0) add_padded(&pr, index);
  else write_dim(&pr, 0, index, 7);
  if (nn_tensor_numel(t) == 0 && t->ndim > 1) put_size(&out, t);
  if (t->dtype == NN_INT64 && nn_tensor_numel(t) == 0) put_str(&out, ", dtype=int64");
  if (t->dtype == NN_BOOL && nn_tensor_numel(t) == 0) put_str(&out, ", dtype=bool");
  /* As PyTorch: what autograd will do with it (the op that made it). */
  if (t->grad_fn != NULL) {
    put_str(&out, ", grad_fn=<");
    put_str(&out, nn_op_name(t->grad_fn->op));
    put_char(&out, '>');
  } else if (t->requires_grad) {
    put_str(&out, ", requires_grad=true");
  }
  put_char(&out, ')');
  if (cap > 0) dst[out.len < cap ? out.len : cap - 1] = '\0';
  return out.len;
}
