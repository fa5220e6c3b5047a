/*
 * PNG plots with cairo (see nn_plot.h): a line chart with axes, nice
 * ticks, grid, labels and legend, and a grid of images with captions.
 * Text uses cairo's toy font API ("sans"), enough for labels and ticks.
 */
#include <cairo.h>
#include <errno.h>
#include <fontconfig/fontconfig.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_io.h"
#include "nn_plot.h"

#define MAX_SIDE 32767 /* cairo's largest image surface */

/* The tab10 palette (matplotlib's default cycle), RGB in 0..1. */
static const double palette[10][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173},
    {0.839, 0.153, 0.157}, {0.580, 0.404, 0.741}, {0.549, 0.337, 0.294},
    {0.890, 0.467, 0.761}, {0.498, 0.498, 0.498}, {0.737, 0.741, 0.133},
    {0.090, 0.745, 0.812}};

/* ---- series values from tensors ---- */

void nn_plot_tensor_values(double *out, const nn_tensor *t) {
  const char *base = nn_tensor_data(t);
  int64_t step = t->stride[0] * (int64_t)nn_dtype_size(t->dtype);
  for (int64_t i = 0; i < t->shape[0]; i++) {
    const char *p = base + i * step;
    switch (t->dtype) {
    case NN_FLOAT32: out[i] = *(const float *)p; break;
    case NN_INT64: out[i] = (float)*(const int64_t *)p; break; /* as float32, see nn_plot.h */
    default: out[i] = *(const bool *)p ? 1.0 : 0.0; break;
    }
  }
}

/* ---- atomic PNG writing ---- */

static cairo_status_t write_chunk(void *closure, const unsigned char *data, unsigned int len) {
  nn_io_writer_put(closure, data, len);
  return CAIRO_STATUS_SUCCESS; /* a failed write is reported by the commit */
}

/* Writes surface as a PNG through the shared atomic writer (temporary
 * file beside path, synced, renamed). 0, or -1 with err filled. */
static int write_png(cairo_surface_t *surface, const char *path, char *err) {
  nn_io_writer w;
  if (nn_io_writer_open(&w, path, err)) return -1;
  cairo_status_t st = cairo_surface_write_to_png_stream(surface, write_chunk, &w);
  if (st != CAIRO_STATUS_SUCCESS) {
    nn_io_writer_abort(&w);
    snprintf(err, NN_PLOT_ERRLEN, "cannot write '%s': %s", path, cairo_status_to_string(st));
    return -1;
  }
  return nn_io_writer_commit(&w, err) ? -1 : 0;
}

/* Writes surface to path, unless drawing it failed (st), and frees it. */
static int finish(cairo_surface_t *surface, cairo_status_t st, const char *path, char *err) {
  int rc;
  if (st != CAIRO_STATUS_SUCCESS) {
    snprintf(err, NN_PLOT_ERRLEN, "cannot draw '%s': %s", path, cairo_status_to_string(st));
    rc = -1;
  } else {
    rc = write_png(surface, path, err);
  }
  cairo_surface_destroy(surface);
  return rc;
}

/* ---- text ---- */

static void set_font(cairo_t *cr, double size, bool bold) {
  cairo_select_font_face(cr, "sans", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

/* Draws s with its anchor point (ax, ay in 0..1 of the text's extents:
 * 0.5, 0.5 centres it) at (x, y), rotated by angle radians. */
static void draw_text(cairo_t *cr, const char *s, double x, double y, double ax, double ay,
                      double angle) {
  cairo_text_extents_t e;
  cairo_font_extents_t fe;
  cairo_text_extents(cr, s, &e);
  cairo_font_extents(cr, &fe);
  double th = fe.ascent + fe.descent;
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_rotate(cr, angle);
  cairo_move_to(cr, -ax * e.x_advance, -ay * th + fe.ascent);
  cairo_show_text(cr, s);
  cairo_restore(cr);
}

static double text_width(cairo_t *cr, const char *s) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, s, &e);
  return e.x_advance;
}

/* ---- nice ticks (Heckbert, Graphics Gems I) and log axes ---- */

/* A "nice" number near x: 1, 2, 5 or 10 times a power of ten, rounded
 * when round, else the smallest such >= x. */
static double nice_num(double x, bool round) {
  double e = floor(log10(x)), f = x / pow(10, e), nf;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * pow(10, e);
}

#define MAX_TICKS 64

typedef struct axis {
  double lo, hi; /* data units; lo, hi > 0 on a log axis */
  bool log;
  double step;  /* linear: tick step */
  int decimals; /* for linear tick labels; -1: use %g */
  int nt;
  double t[MAX_TICKS]; /* tick positions, data units */
} axis;

/* Where v sits along the axis: 0 at lo, 1 at hi. */
double nn_plot_axis_frac(double lo, double hi, bool log, double v) {
  if (log) return (log10(v) - log10(lo)) / (log10(hi) - log10(lo));
  return (v - lo) / (hi - lo);
}

static void label_decimals(axis *a) {
  double mag = fmax(fabs(a->lo), fabs(a->hi));
  if (a->step >= 1e-4 && mag < 1e7) {
    int d = (int)-floor(log10(a->step) + 1e-9);
    a->decimals = d > 0 ? d : 0;
  } else {
    a->decimals = -1;
  }
}

/* Linear ticks every step from the first multiple of step >= lo to hi. */
static void linear_ticks(axis *a) {
  a->nt = 0;
  for (double v = ceil(a->lo / a->step - 1e-9) * a->step;
       v <= a->hi + a->step * 1e-6 && a->nt < MAX_TICKS; v += a->step)
    a->t[a->nt++] = fabs(v) < a->step * 1e-9 ? 0 : v;
  label_decimals(a);
}

/* An axis covering [mn, mx]: nice linear ticks (step >= 1 when integral),
 * or powers of ten on a log axis. A degenerate range is widened. */
static axis make_axis(double mn, double mx, bool log, bool integral) {
  axis a = {.log = log};
  if (log) {
    if (!(mn <= mx) || !(mn > 0)) mn = 1, mx = 10;
    double e0 = floor(log10(mn) + 1e-9), e1 = ceil(log10(mx) - 1e-9);
    if (e1 <= e0) e1 = e0 + 1;
    double k = ceil((e1 - e0) / 8);
    e0 = floor(e0 / k) * k, e1 = ceil(e1 / k) * k;
    a.lo = pow(10, e0), a.hi = pow(10, e1), a.step = k, a.decimals = -1;
    for (double e = e0; e <= e1 + 1e-9 && a.nt < MAX_TICKS; e += k)
      a.t[a.nt++] = pow(10, e);
    return a;
  }
  if (!(mn <= mx)) mn = 0, mx = 1; /* no finite data */
  if (mx - mn < 1e-12 * fmax(1, fmax(fabs(mn), fabs(mx)))) {
    double pad = mn == 0 ? 1 : fabs(mn) * 0.1;
    mn -= pad, mx += pad;
  }
  double range = nice_num(mx - mn, false);
  a.step = nice_num(range / 5, true);
  if (integral && a.step < 1) a.step = 1;
  a.lo = floor(mn / a.step) * a.step;
  a.hi = ceil(mx / a.step) * a.step;
  linear_ticks(&a);
  return a;
}

/* A linear axis spanning exactly [lo, hi] (a sampled field), nice ticks
 * inside it. */
static axis exact_axis(double lo, double hi) {
  axis a = {.lo = lo, .hi = hi};
  a.step = nice_num(nice_num(hi - lo, false) / 5, true);
  linear_ticks(&a);
  return a;
}

int nn_plot_ticks(double mn, double mx, bool log, bool integral, double *ticks, int max, double *lo,
                  double *hi) {
  axis a = make_axis(mn, mx, log, integral);
  int n = a.nt < max ? a.nt : max;
  memcpy(ticks, a.t, (size_t)n * sizeof *ticks);
  *lo = a.lo, *hi = a.hi;
  return n;
}

static void tick_label(char *buf, size_t len, const axis *a, double v) {
  if (a->log)
    snprintf(buf, len, "%g", v);
  else if (a->decimals >= 0)
    snprintf(buf, len, "%.*f", a->decimals, v);
  else snprintf(buf, len, "%.3g", v);
}

/* ---- charts ---- */

typedef struct frame {
  double left, top, width, height; /* plot area in pixels */
  double inset_x, inset_y;         /* axis ends this far inside the frame */
  axis x, y;
  bool categorical; /* x is 0..ncat-1 with names */
} frame;

/* Data to pixels; the axis ends sit inset pixels inside the frame, so
 * points on them (and their dots) stay clear of it. */
#define INSET 8.0

static double px(const frame *f, double x) {
  return f->left + f->inset_x +
         nn_plot_axis_frac(f->x.lo, f->x.hi, f->x.log, x) * (f->width - 2 * f->inset_x);
}
static double py(const frame *f, double y) {
  return f->top + f->height - f->inset_y -
         nn_plot_axis_frac(f->y.lo, f->y.hi, f->y.log, y) * (f->height - 2 * f->inset_y);
}

/* x of point i: the series' own, or i + 1 when it has none. */
static double xat(const nn_plot_series *s, int64_t i) { return s->x ? s->x[i] : (double)(i + 1); }

static const double *series_rgb(const nn_plot_series *s, int k) {
  return palette[(s->color > 0 ? s->color - 1 : k) % 10];
}

static bool usable(double x, bool log) { return isfinite(x) && (!log || x > 0); }

/* Ranges of the finite values over all series, marked points and
 * vertical lines; whether every x is an integer. */
static void data_ranges(const nn_plot_series *s, int ns, const nn_plot_labels *lb, double *xr,
                        double *yr, bool *xint) {
  xr[0] = yr[0] = INFINITY, xr[1] = yr[1] = -INFINITY;
  *xint = true;
  for (int k = 0; k < ns; k++)
    for (int64_t i = 0; i < s[k].n; i++) {
      double x = xat(&s[k], i), y = s[k].y[i];
      if (!usable(x, lb->xlog) || !usable(y, lb->ylog)) continue;
      xr[0] = fmin(xr[0], x), xr[1] = fmax(xr[1], x);
      yr[0] = fmin(yr[0], y), yr[1] = fmax(yr[1], y);
      if (x != floor(x)) *xint = false;
    }
  for (int i = 0; i < lb->npoints; i++) {
    double x = lb->points[i].x, y = lb->points[i].y;
    if (!usable(x, lb->xlog) || !usable(y, lb->ylog)) continue;
    xr[0] = fmin(xr[0], x), xr[1] = fmax(xr[1], x);
    yr[0] = fmin(yr[0], y), yr[1] = fmax(yr[1], y);
    if (x != floor(x)) *xint = false;
  }
  for (int i = 0; i < lb->nvlines; i++)
    if (usable(lb->vlines[i], lb->xlog)) {
      xr[0] = fmin(xr[0], lb->vlines[i]), xr[1] = fmax(xr[1], lb->vlines[i]);
      if (lb->vlines[i] != floor(lb->vlines[i])) *xint = false;
    }
}

/* A log axis needs positive values: the first one that is not names
 * itself in err. */
static int check_log(const nn_plot_series *s, int ns, const nn_plot_labels *lb, char *err) {
  for (int k = 0; k < ns; k++)
    for (int64_t i = 0; i < s[k].n; i++) {
      double x = xat(&s[k], i), y = s[k].y[i];
      if (lb->xlog && isfinite(x) && x <= 0) {
        snprintf(err, NN_PLOT_ERRLEN, "xscale 'log' needs positive values, series %d x[%lld] = %g",
                 k + 1, (long long)(i + 1), x);
        return -1;
      }
      if (lb->ylog && isfinite(y) && y <= 0) {
        snprintf(err, NN_PLOT_ERRLEN, "yscale 'log' needs positive values, series %d y[%lld] = %g",
                 k + 1, (long long)(i + 1), y);
        return -1;
      }
    }
  for (int i = 0; i < lb->nvlines; i++)
    if (lb->xlog && !(lb->vlines[i] > 0)) {
      snprintf(err, NN_PLOT_ERRLEN, "xscale 'log' needs positive values, vlines[%d] = %g", i + 1,
               lb->vlines[i]);
      return -1;
    }
  for (int i = 0; i < lb->npoints; i++)
    if ((lb->xlog && !(lb->points[i].x > 0)) || (lb->ylog && !(lb->points[i].y > 0))) {
      snprintf(err, NN_PLOT_ERRLEN, "a log scale needs positive values, points[%d] = (%g, %g)",
               i + 1, lb->points[i].x, lb->points[i].y);
      return -1;
    }
  return 0;
}

static void vertical_tick(cairo_t *cr, const frame *f, double x, bool grid) {
  if (grid) {
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, x, f->top), cairo_line_to(cr, x, f->top + f->height), cairo_stroke(cr);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_move_to(cr, x, f->top + f->height), cairo_line_to(cr, x, f->top + f->height + 5);
  cairo_stroke(cr);
}

/* Grid lines (unless a field fills the frame), ticks and tick labels of
 * both axes; category names under a categorical x. */
static void draw_axes(cairo_t *cr, const frame *f, bool grid, const nn_plot_labels *lb) {
  char buf[64];
  set_font(cr, 12, false);
  cairo_set_line_width(cr, 1);
  if (f->categorical) {
    double slot = f->width / (double)lb->ncategories;
    double size = 12;
    for (int64_t c = 0; c < lb->ncategories; c++)
      while (size > 7 && text_width(cr, lb->categories[c]) > slot - 4)
        set_font(cr, --size, false);
    for (int64_t c = 0; c < lb->ncategories; c++) {
      double x = round(px(f, (double)c)) + 0.5;
      vertical_tick(cr, f, x, false);
      draw_text(cr, lb->categories[c], x, f->top + f->height + 8, 0.5, 0, 0);
    }
    set_font(cr, 12, false);
  } else {
    for (int k = 0; k < f->x.nt; k++) {
      double x = round(px(f, f->x.t[k])) + 0.5;
      vertical_tick(cr, f, x, grid);
      tick_label(buf, sizeof buf, &f->x, f->x.t[k]);
      cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
      draw_text(cr, buf, x, f->top + f->height + 8, 0.5, 0, 0);
    }
  }
  for (int k = 0; k < f->y.nt; k++) {
    double y = round(py(f, f->y.t[k])) + 0.5;
    if (grid) {
      cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
      cairo_move_to(cr, f->left, y), cairo_line_to(cr, f->left + f->width, y), cairo_stroke(cr);
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, f->left - 5, y), cairo_line_to(cr, f->left, y), cairo_stroke(cr);
    tick_label(buf, sizeof buf, &f->y, f->y.t[k]);
    draw_text(cr, buf, f->left - 8, y, 1, 0.5, 0);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, f->left + 0.5, f->top + 0.5, f->width - 1, f->height - 1);
  cairo_stroke(cr);
}

static void set_style(cairo_t *cr, int style) {
  static const double dash[2] = {7, 4}, dot[2] = {1.5, 4};
  if (style == NN_PLOT_DASHED)
    cairo_set_dash(cr, dash, 2, 0);
  else if (style == NN_PLOT_DOTTED)
    cairo_set_dash(cr, dot, 2, 0);
  else
    cairo_set_dash(cr, NULL, 0, 0);
  cairo_set_line_cap(cr, style == NN_PLOT_DOTTED ? CAIRO_LINE_CAP_ROUND : CAIRO_LINE_CAP_BUTT);
}

/* A marker of kind m centred on (x, y), radius r, in the current colour. */
static void draw_marker(cairo_t *cr, int m, double x, double y, double r) {
  cairo_save(cr);
  cairo_set_dash(cr, NULL, 0, 0);
  cairo_new_path(cr);
  switch (m) {
  case NN_PLOT_MARK_SQUARE:
    cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
    cairo_fill(cr);
    break;
  case NN_PLOT_MARK_TRIANGLE:
    cairo_move_to(cr, x, y - 1.2 * r), cairo_line_to(cr, x + 1.1 * r, y + 0.8 * r);
    cairo_line_to(cr, x - 1.1 * r, y + 0.8 * r), cairo_close_path(cr), cairo_fill(cr);
    break;
  case NN_PLOT_MARK_CROSS:
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x - r, y - r), cairo_line_to(cr, x + r, y + r);
    cairo_move_to(cr, x - r, y + r), cairo_line_to(cr, x + r, y - r), cairo_stroke(cr);
    break;
  default:
    cairo_arc(cr, x, y, r, 0, 2 * M_PI);
    cairo_fill(cr);
    break;
  }
  cairo_restore(cr);
}

/* The marker a series draws at its points (NONE for none). */
static int series_marker(const nn_plot_series *s) {
  if (s->marker != NN_PLOT_MARK_AUTO) return s->marker;
  if (s->style == NN_PLOT_NOLINE) return NN_PLOT_MARK_CIRCLE;
  return s->n <= 50 ? NN_PLOT_MARK_CIRCLE : NN_PLOT_MARK_NONE;
}

/* One series: a polyline broken at unusable points, with its markers. */
static void draw_series(cairo_t *cr, const frame *f, const nn_plot_series *s, const double *rgb) {
  cairo_save(cr);
  cairo_rectangle(cr, f->left, f->top, f->width, f->height);
  cairo_clip(cr);
  cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
  cairo_set_line_width(cr, 2);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  set_style(cr, s->style);
  bool pen = false;
  for (int64_t i = 0; i < s->n && s->style != NN_PLOT_NOLINE; i++) {
    if (!usable(xat(s, i), f->x.log) || !usable(s->y[i], f->y.log)) {
      pen = false;
      continue;
    }
    double x = px(f, xat(s, i)), y = py(f, s->y[i]);
    if (pen) cairo_line_to(cr, x, y);
    else cairo_move_to(cr, x, y);
    pen = true;
  }
  cairo_stroke(cr);
  int m = series_marker(s);
  double r = s->marker == NN_PLOT_MARK_AUTO && s->style != NN_PLOT_NOLINE ? 3 : 4;
  if (m != NN_PLOT_MARK_NONE)
    for (int64_t i = 0; i < s->n; i++) {
      if (!usable(xat(s, i), f->x.log) || !usable(s->y[i], f->y.log)) continue;
      draw_marker(cr, m, px(f, xat(s, i)), py(f, s->y[i]), r);
    }
  cairo_restore(cr);
}

/* The base of bars: 0, or the axis bottom when 0 is not on it. */
static double bar_base(const frame *f) {
  return f->y.log || f->y.lo > 0 ? f->y.lo : fmin(0, f->y.hi);
}

/* Bars of series k (of ns) side by side in each category. */
static void draw_bars(cairo_t *cr, const frame *f, const nn_plot_series *s, int k, int ns) {
  const double *c = series_rgb(s, k);
  double slot = 0.8 / ns, y0 = py(f, bar_base(f));
  for (int64_t i = 0; i < s->n; i++) {
    if (!usable(s->y[i], f->y.log)) continue;
    double xa = px(f, (double)i - 0.4 + k * slot), xb = px(f, (double)i - 0.4 + (k + 1) * slot);
    double y = py(f, s->y[i]);
    cairo_rectangle(cr, xa, fmin(y, y0), xb - xa, fabs(y0 - y));
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, c[0] * 0.6, c[1] * 0.6, c[2] * 0.6);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
  }
}

/* A histogram: bars of width bw at the bin centres x, translucent when
 * several are overlaid, with a solid outline. */
static void draw_hist(cairo_t *cr, const frame *f, const nn_plot_series *s, int k, int ns,
                      double bw) {
  const double *c = series_rgb(s, k);
  double y0 = py(f, bar_base(f));
  cairo_save(cr);
  cairo_rectangle(cr, f->left, f->top, f->width, f->height);
  cairo_clip(cr);
  for (int pass = 0; pass < 2; pass++) {
    for (int64_t i = 0; i < s->n; i++) {
      if (!usable(s->y[i], f->y.log)) continue;
      double xa = px(f, s->x[i] - bw / 2), xb = px(f, s->x[i] + bw / 2), y = py(f, s->y[i]);
      cairo_rectangle(cr, xa, fmin(y, y0), xb - xa, fabs(y0 - y));
    }
    if (pass == 0) {
      cairo_set_source_rgba(cr, c[0], c[1], c[2], ns > 1 ? 0.4 : 0.75);
      cairo_fill(cr);
    } else {
      cairo_set_source_rgb(cr, c[0] * 0.8, c[1] * 0.8, c[2] * 0.8);
      cairo_set_line_width(cr, 1);
      cairo_stroke(cr);
    }
  }
  cairo_restore(cr);
}

/* The viridis colour map at t in 0..1 (five anchors, linear between). */
static void viridis(double t, double *rgb) {
  static const double a[5][3] = {{0.267, 0.005, 0.329},
                                 {0.229, 0.322, 0.545},
                                 {0.128, 0.567, 0.551},
                                 {0.369, 0.789, 0.383},
                                 {0.993, 0.906, 0.144}};
  t = fmin(1, fmax(0, t)) * 4;
  int i = t >= 4 ? 3 : (int)t;
  double u = t - i;
  for (int k = 0; k < 3; k++)
    rgb[k] = a[i][k] * (1 - u) + a[i + 1][k] * u;
}

/* The field value at grid coordinates (gx, gy): bilinear, or the nearest
 * sample for classes. */
static double field_at(const nn_plot_field *fd, double gx, double gy) {
  if (fd->classes) {
    int64_t j = (int64_t)lround(gx), i = (int64_t)lround(gy);
    j = j < 0 ? 0 : j >= fd->nx ? fd->nx - 1 : j;
    i = i < 0 ? 0 : i >= fd->ny ? fd->ny - 1 : i;
    return fd->z[i * fd->nx + j];
  }
  int64_t j = (int64_t)floor(gx), i = (int64_t)floor(gy);
  j = j < 0 ? 0 : j > fd->nx - 2 ? fd->nx - 2 : j;
  i = i < 0 ? 0 : i > fd->ny - 2 ? fd->ny - 2 : i;
  double u = fmin(1, fmax(0, gx - j)), v = fmin(1, fmax(0, gy - i));
  const double *z = fd->z + i * fd->nx + j;
  return (z[0] * (1 - u) + z[1] * u) * (1 - v) + (z[fd->nx] * (1 - u) + z[fd->nx + 1] * u) * v;
}

/* Paints the field over the frame, pixel by pixel: class regions, or
 * colour bands with darker contour lines where the band changes. */
static cairo_status_t draw_field(cairo_t *cr, const frame *f, const nn_plot_field *fd) {
  int W = (int)f->width, H = (int)f->height;
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  int *band = nn_alloc((size_t)W * (size_t)H * sizeof *band);
  if (!band || cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
    if (band) nn_free(band, (size_t)W * (size_t)H * sizeof *band);
    cairo_surface_destroy(img);
    return CAIRO_STATUS_NO_MEMORY;
  }
  double zmin = INFINITY, zmax = -INFINITY;
  for (int64_t i = 0; i < fd->nx * fd->ny; i++)
    zmin = fmin(zmin, fd->z[i]), zmax = fmax(zmax, fd->z[i]);
  double span = zmax > zmin ? zmax - zmin : 1;
  int levels = fd->levels > 0 ? fd->levels : 12;
  for (int r = 0; r < H; r++)
    for (int q = 0; q < W; q++) {
      double gx = (q + 0.5) / W * (double)(fd->nx - 1);
      double gy = (1 - (r + 0.5) / H) * (double)(fd->ny - 1);
      double z = field_at(fd, gx, gy);
      if (fd->classes) {
        band[r * W + q] = (int)z;
      } else {
        double t = (z - zmin) / span;
        if (fd->zlog) t = log1p(t * 1e4) / log1p(1e4);
        int b = (int)floor(t * levels);
        band[r * W + q] = b >= levels ? levels - 1 : b < 0 ? 0 : b;
      }
    }
  cairo_surface_flush(img);
  unsigned char *data = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int r = 0; r < H; r++) {
    uint32_t *row = (uint32_t *)(data + r * stride);
    for (int q = 0; q < W; q++) {
      int b = band[r * W + q];
      double rgb[3];
      if (fd->classes) {
        const double *c = palette[(unsigned)(b > 0 ? b - 1 : 0) % 10];
        for (int k = 0; k < 3; k++)
          rgb[k] = 0.3 * c[k] + 0.7;
      } else {
        viridis((b + 0.5) / levels, rgb);
      }
      bool edge =
          (q + 1 < W && band[r * W + q + 1] != b) || (r + 1 < H && band[(r + 1) * W + q] != b);
      double dim = edge ? (fd->classes ? 0.55 : 0.6) : 1;
      row[q] = (unsigned)lround(255 * rgb[0] * dim) << 16 |
               (unsigned)lround(255 * rgb[1] * dim) << 8 | (unsigned)lround(255 * rgb[2] * dim);
    }
  }
  cairo_surface_mark_dirty(img);
  nn_free(band, (size_t)W * (size_t)H * sizeof *band);
  cairo_set_source_surface(cr, img, f->left, f->top);
  cairo_paint(cr);
  cairo_surface_destroy(img);
  return CAIRO_STATUS_SUCCESS;
}

/* The colour bar right of the frame: the bands from min (bottom) to max
 * (top) with the two values. */
static void draw_scale_bar(cairo_t *cr, const frame *f, const nn_plot_field *fd) {
  double zmin = INFINITY, zmax = -INFINITY;
  for (int64_t i = 0; i < fd->nx * fd->ny; i++)
    zmin = fmin(zmin, fd->z[i]), zmax = fmax(zmax, fd->z[i]);
  int levels = fd->levels > 0 ? fd->levels : 12;
  double x = f->left + f->width + 14, bh = f->height / levels;
  for (int b = 0; b < levels; b++) {
    double rgb[3];
    viridis((b + 0.5) / levels, rgb);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(cr, x, f->top + f->height - (b + 1) * bh, 14, bh + 0.5), cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, x + 0.5, f->top + 0.5, 14, f->height - 1), cairo_stroke(cr);
  char buf[32];
  set_font(cr, 11, false);
  snprintf(buf, sizeof buf, "%.3g", zmax);
  draw_text(cr, buf, x + 18, f->top, 0, 0, 0);
  snprintf(buf, sizeof buf, "%.3g", zmin);
  draw_text(cr, buf, x + 18, f->top + f->height, 0, 1, 0);
  if (fd->zlog) draw_text(cr, "log", x + 18, f->top + f->height / 2, 0, 0.5, 0);
}

/* Dashed grey vertical lines, then the marked points with their labels. */
static void draw_marks(cairo_t *cr, const frame *f, const nn_plot_labels *lb) {
  cairo_save(cr);
  cairo_rectangle(cr, f->left, f->top, f->width, f->height);
  cairo_clip(cr);
  cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
  cairo_set_line_width(cr, 1.2);
  set_style(cr, NN_PLOT_DASHED);
  for (int i = 0; i < lb->nvlines; i++) {
    double x = round(px(f, lb->vlines[i])) + 0.5;
    cairo_move_to(cr, x, f->top), cairo_line_to(cr, x, f->top + f->height), cairo_stroke(cr);
  }
  set_style(cr, NN_PLOT_SOLID);
  set_font(cr, 12, false);
  for (int i = 0; i < lb->npoints; i++) {
    double x = px(f, lb->points[i].x), y = py(f, lb->points[i].y);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_arc(cr, x, y, 6, 0, 2 * M_PI), cairo_fill(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    cairo_arc(cr, x, y, 4.5, 0, 2 * M_PI), cairo_fill(cr);
    if (lb->points[i].label) {
      /* Right of the point, or left when it would leave the frame. */
      bool left = x + 8 + text_width(cr, lb->points[i].label) > f->left + f->width - 4;
      bool below = y - 8 - 12 < f->top;
      draw_text(cr, lb->points[i].label, left ? x - 8 : x + 8, below ? y + 8 : y - 8, left ? 1 : 0,
                below ? 0 : 1, 0);
    }
  }
  cairo_restore(cr);
}

/* How many points of the series, and of 8 steps along each segment
 * between usable points, fall in the box (x0, y0, w, h). */
static int64_t covered(const frame *f, const nn_plot_series *s, int ns, const nn_plot_labels *lb,
                       double x0, double y0, double w, double h) {
  int64_t hits = 0;
  bool lx = f->x.log, ly = f->y.log;
  for (int k = 0; k < ns; k++) {
    bool line = s[k].style != NN_PLOT_NOLINE && !lb->categories && !(lb->bin_width > 0);
    for (int64_t i = 0; i < s[k].n; i++) {
      double xi = lb->categories ? (double)i : xat(&s[k], i);
      if (!usable(xi, lx) || !usable(s[k].y[i], ly)) continue;
      double ax = px(f, xi), ay = py(f, s[k].y[i]), bx = ax, by = ay;
      bool seg =
          line && i + 1 < s[k].n && usable(xat(&s[k], i + 1), lx) && usable(s[k].y[i + 1], ly);
      if (seg) bx = px(f, xat(&s[k], i + 1)), by = py(f, s[k].y[i + 1]);
      if (!line) by = py(f, bar_base(f)); /* a bar covers down to its base */
      for (int j = 0; j <= 8; j++) {
        if (j > 0 && !seg && line) break;
        double x = ax + (bx - ax) * j / 8, y = ay + (by - ay) * j / 8;
        hits += x >= x0 - 4 && x <= x0 + w + 4 && y >= y0 - 4 && y <= y0 + h + 4;
      }
    }
  }
  for (int i = 0; i < lb->npoints; i++) {
    double x = px(f, lb->points[i].x), y = py(f, lb->points[i].y);
    hits += 4 * (x >= x0 - 8 && x <= x0 + w + 8 && y >= y0 - 8 && y <= y0 + h + 8);
  }
  return hits;
}

/* The legend box, in the corner where it hides the least data. */
static void draw_legend(cairo_t *cr, const frame *f, const nn_plot_series *s, int ns,
                        const nn_plot_labels *lb) {
  set_font(cr, 12, false);
  double wmax = 0;
  int shown = 0;
  for (int k = 0; k < ns; k++)
    if (s[k].name) wmax = fmax(wmax, text_width(cr, s[k].name)), shown++;
  if (!shown) return;
  double row = 18, bw = wmax + 44, bh = shown * row + 8;
  /* The corner whose box covers the fewest samples of the data, in the
   * order top-right, top-left, bottom-right, bottom-left. */
  double best_x = 0, best_y = 0;
  int64_t best = -1;
  for (int corner = 0; corner < 4; corner++) {
    double x0 = corner & 1 ? f->left + 10 : f->left + f->width - bw - 10;
    double y0 = corner & 2 ? f->top + f->height - bh - 10 : f->top + 10;
    int64_t hits = covered(f, s, ns, lb, x0, y0, bw, bh);
    if (best < 0 || hits < best) best = hits, best_x = x0, best_y = y0;
  }
  double x0 = best_x, y0 = best_y;
  cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, bw, bh);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  bool boxes = lb->categories || lb->bin_width > 0;
  int r = 0;
  for (int k = 0; k < ns; k++) {
    if (!s[k].name) continue;
    const double *c = series_rgb(&s[k], k);
    double y = y0 + 4 + row * (r++ + 0.5);
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    if (boxes) {
      cairo_rectangle(cr, x0 + 12, y - 6, 16, 12), cairo_fill(cr);
    } else {
      cairo_save(cr);
      cairo_set_line_width(cr, 2);
      set_style(cr, s[k].style);
      if (s[k].style != NN_PLOT_NOLINE) {
        cairo_move_to(cr, x0 + 8, y), cairo_line_to(cr, x0 + 32, y), cairo_stroke(cr);
      }
      int m = series_marker(&s[k]);
      if (m != NN_PLOT_MARK_NONE) draw_marker(cr, m, x0 + 20, y, 3.5);
      cairo_restore(cr);
    }
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    draw_text(cr, s[k].name, x0 + 38, y, 0, 0.5, 0);
  }
}

/* One chart in the box (ox, oy, W, H) of the surface. 0, or -1 with err. */
static int draw_chart(cairo_t *cr, double ox, double oy, double W, double H,
                      const nn_plot_series *s, int ns, const nn_plot_labels *lb, const char *path,
                      char *err) {
  if (check_log(s, ns, lb, err)) return -1;
  double xr[2], yr[2];
  bool xint;
  data_ranges(s, ns, lb, xr, yr, &xint);
  frame f = {
      .left = ox + 80, .top = oy + (lb->title ? 44 : 20), .inset_x = INSET, .inset_y = INSET};
  f.width = W - 80 - 24;
  f.height = H - (f.top - oy) - (lb->xlabel ? 60 : 40);
  if (f.width < 50 || f.height < 50) {
    snprintf(err, NN_PLOT_ERRLEN, "plot of %dx%d pixels is too small for '%s'", (int)W, (int)H,
             path);
    return -1;
  }
  bool scale_bar = lb->field && !lb->field->classes;
  if (scale_bar) f.width -= 70; /* room for the colour bar */
  bool bars = lb->categories != NULL, hist = !bars && lb->bin_width > 0;
  if (bars || hist) { /* bars stand on 0 */
    if (!lb->ylog) yr[0] = fmin(yr[0], 0), yr[1] = fmax(yr[1], 0);
    f.inset_y = 0;
  }
  if (lb->field) {
    f.x = exact_axis(lb->field->x0, lb->field->x1);
    f.y = exact_axis(lb->field->y0, lb->field->y1);
    f.inset_x = f.inset_y = 0;
  } else if (bars) {
    f.categorical = true;
    f.x.lo = -0.5, f.x.hi = (double)lb->ncategories - 0.5;
    f.inset_x = 0;
    f.y = make_axis(yr[0], yr[1], lb->ylog, false);
  } else {
    if (hist) xr[0] -= lb->bin_width / 2, xr[1] += lb->bin_width / 2, xint = false;
    f.x = make_axis(xr[0], xr[1], lb->xlog, xint);
    f.y = make_axis(yr[0], yr[1], lb->ylog, false);
    if (hist) f.x.lo = xr[0], f.x.hi = xr[1], f.inset_x = 0, linear_ticks(&f.x);
  }
  bool legend = false;
  for (int k = 0; k < ns; k++)
    legend = legend || s[k].name;
  if ((bars || hist) && legend && !lb->ylog) /* headroom over the bars for the legend */
    f.y.hi += fmin(0.3, 0.06 * (ns + 1)) * (f.y.hi - f.y.lo);
  if (lb->field) {
    cairo_status_t st = draw_field(cr, &f, lb->field);
    if (st != CAIRO_STATUS_SUCCESS) {
      snprintf(err, NN_PLOT_ERRLEN, "cannot draw '%s': %s", path, cairo_status_to_string(st));
      return -1;
    }
  }
  if (scale_bar) draw_scale_bar(cr, &f, lb->field);
  draw_axes(cr, &f, !lb->field, lb);
  for (int k = 0; k < ns; k++) {
    if (bars)
      draw_bars(cr, &f, &s[k], k, ns);
    else if (hist)
      draw_hist(cr, &f, &s[k], k, ns, lb->bin_width);
    else
      draw_series(cr, &f, &s[k], series_rgb(&s[k], k));
  }
  draw_marks(cr, &f, lb);
  draw_legend(cr, &f, s, ns, lb);
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (lb->title) {
    set_font(cr, 16, true);
    draw_text(cr, lb->title, f.left + f.width / 2, oy + 12, 0.5, 0, 0);
  }
  set_font(cr, 13, false);
  if (lb->xlabel) draw_text(cr, lb->xlabel, f.left + f.width / 2, oy + H - 10, 0.5, 1, 0);
  if (lb->ylabel) draw_text(cr, lb->ylabel, ox + 10, f.top + f.height / 2, 0.5, 0, -M_PI / 2);
  return 0;
}

int nn_plot_panels(const char *path, const nn_plot_panel *panels, int npanels, const char *title,
                   int width, int height, char *err) {
  int W = width > 0 ? width : 420 * npanels, H = height > 0 ? height : 400;
  int top = title ? 36 : 0;
  if (W > MAX_SIDE || H > MAX_SIDE) {
    snprintf(err, NN_PLOT_ERRLEN, "plot of %dx%d pixels is too large for '%s'", W, H, path);
    return -1;
  }
  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  double pw = (double)W / npanels;
  for (int p = 0; p < npanels; p++)
    if (draw_chart(cr, p * pw, top, pw, H - top, panels[p].series, panels[p].nseries,
                   panels[p].labels, path, err)) {
      cairo_destroy(cr);
      cairo_surface_destroy(surface);
      return -1;
    }
  if (title) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, 17, true);
    draw_text(cr, title, W / 2.0, 10, 0.5, 0, 0);
  }
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  return finish(surface, st, path, err);
}

int nn_plot_lines(const char *path, const nn_plot_series *series, int nseries,
                  const nn_plot_labels *labels, char *err) {
  nn_plot_panel p = {series, nseries, labels};
  return nn_plot_panels(path, &p, 1, NULL, labels->width > 0 ? labels->width : 800,
                        labels->height > 0 ? labels->height : 500, err);
}

/* ---- histograms ---- */

void nn_plot_bin_counts(const double *v, int64_t n, double lo, double hi, int64_t bins,
                        double *counts) {
  for (int64_t b = 0; b < bins; b++)
    counts[b] = 0;
  double width = (hi - lo) / (double)bins;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(v[i]) || v[i] < lo || v[i] > hi) continue;
    int64_t b = width > 0 ? (int64_t)floor((v[i] - lo) / width) : 0;
    counts[b >= bins ? bins - 1 : b < 0 ? 0 : b] += 1;
  }
}

int64_t nn_plot_first_nonfinite(const double *v, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(v[i])) return i;
  return -1;
}

int nn_plot_hist(const char *path, const nn_plot_series *series, int nseries, int64_t bins,
                 const nn_plot_labels *labels, char *err) {
  double lo = INFINITY, hi = -INFINITY;
  for (int k = 0; k < nseries; k++)
    for (int64_t i = 0; i < series[k].n; i++)
      lo = fmin(lo, series[k].y[i]), hi = fmax(hi, series[k].y[i]);
  if (!(hi > lo)) lo -= 0.5, hi += 0.5; /* one value: one bin around it */
  size_t per = (size_t)bins * sizeof(double);
  size_t nbytes = per * (size_t)(nseries * 2 + 1) + (size_t)nseries * sizeof(nn_plot_series);
  char *buf = nn_alloc(nbytes);
  if (!buf) {
    snprintf(err, NN_PLOT_ERRLEN, "out of memory drawing '%s'", path);
    return -1;
  }
  double *centres = (double *)buf;
  nn_plot_series *hs = (nn_plot_series *)(buf + per * (size_t)(nseries * 2 + 1));
  double width = (hi - lo) / (double)bins;
  for (int64_t b = 0; b < bins; b++)
    centres[b] = lo + (b + 0.5) * width;
  for (int k = 0; k < nseries; k++) {
    double *counts = centres + bins * (1 + k);
    nn_plot_bin_counts(series[k].y, series[k].n, lo, hi, bins, counts);
    hs[k] = series[k];
    hs[k].x = centres, hs[k].y = counts, hs[k].n = bins;
  }
  nn_plot_labels lb = *labels;
  lb.bin_width = width;
  lb.categories = NULL;
  int rc = nn_plot_lines(path, hs, nseries, &lb, err);
  nn_free(buf, nbytes);
  return rc;
}

/* ---- heatmap ---- */

static void heat_rgb(double t, double *rgb) { /* white to dark blue */
  static const double a[3] = {0.97, 0.98, 1.0}, b[3] = {0.03, 0.19, 0.42};
  t = fmin(1, fmax(0, t));
  for (int k = 0; k < 3; k++)
    rgb[k] = a[k] * (1 - t) + b[k] * t;
}

int nn_plot_heatmap(const char *path, const double *m, int64_t rows, int64_t cols,
                    const char *const *row_names, const char *const *col_names, bool annotate,
                    const nn_plot_labels *labels, char *err) {
  int64_t big = rows > cols ? rows : cols;
  double cell = floor(560.0 / (double)big);
  cell = cell > 64 ? 64 : cell < 12 ? 12 : cell;
  /* Name widths, measured on a scratch surface. */
  cairo_surface_t *scratch = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create(scratch);
  set_font(cr, 12, false);
  char buf[64];
  double rw = 0, cwid = 0;
  for (int64_t i = 0; i < rows; i++) {
    const char *s =
        row_names ? row_names[i] : (snprintf(buf, sizeof buf, "%lld", (long long)(i + 1)), buf);
    rw = fmax(rw, text_width(cr, s));
  }
  for (int64_t j = 0; j < cols; j++) {
    const char *s =
        col_names ? col_names[j] : (snprintf(buf, sizeof buf, "%lld", (long long)(j + 1)), buf);
    cwid = fmax(cwid, text_width(cr, s));
  }
  double tw = 0; /* the title's width: a small matrix widens the image to fit it */
  if (labels->title) {
    set_font(cr, 16, true);
    tw = text_width(cr, labels->title);
  }
  cairo_destroy(cr);
  cairo_surface_destroy(scratch);
  rw = fmin(rw, 300), cwid = fmin(cwid, 300);
  bool rotate = cwid > cell - 4;
  double left = 16 + (labels->ylabel ? 24 : 0) + rw + 10;
  double top = labels->title ? 44 : 16;
  double bottom = (rotate ? cwid + 14 : 24) + (labels->xlabel ? 30 : 0) + 8;
  double bar = 60; /* the colour bar and its labels on the right */
  double gw = cell * (double)cols, gh = cell * (double)rows;
  double Wd = ceil(left + gw + bar + 20), Hd = ceil(top + gh + bottom);
  if (Wd < 240) Wd = 240;
  if (Wd > MAX_SIDE || Hd > MAX_SIDE) {
    snprintf(err, NN_PLOT_ERRLEN, "heatmap of %lldx%lld cells is too large for '%s'",
             (long long)rows, (long long)cols, path);
    return -1;
  }
  double grown = fmin(fmax(ceil(tw + 40) - Wd, 0), MAX_SIDE - Wd);
  Wd += grown, left += grown / 2; /* the grid stays centred */
  int W = (int)Wd, H = (int)Hd;
  double mn = INFINITY, mx = -INFINITY;
  for (int64_t i = 0; i < rows * cols; i++)
    mn = fmin(mn, m[i]), mx = fmax(mx, m[i]);
  double span = mx > mn ? mx - mn : 1;
  bool integral = true;
  for (int64_t i = 0; i < rows * cols && integral; i++)
    integral = m[i] == floor(m[i]) && fabs(m[i]) < 1e15;
  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  double fs = fmin(13, cell * 0.32);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t j = 0; j < cols; j++) {
      double v = m[i * cols + j], t = (v - mn) / span, rgb[3];
      heat_rgb(t, rgb);
      double x = left + cell * (double)j, y = top + cell * (double)i;
      cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
      cairo_rectangle(cr, x, y, cell, cell), cairo_fill(cr);
      if (annotate && fs >= 6) {
        if (integral)
          snprintf(buf, sizeof buf, "%.0f", v);
        else
          snprintf(buf, sizeof buf, "%.3g", v);
        set_font(cr, fs, false);
        double g = t > 0.5 ? 1 : 0.1;
        cairo_set_source_rgb(cr, g, g, g);
        draw_text(cr, buf, x + cell / 2, y + cell / 2, 0.5, 0.5, 0);
      }
    }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_set_line_width(cr, 1);
  cairo_rectangle(cr, left + 0.5, top + 0.5, gw - 1, gh - 1), cairo_stroke(cr);
  set_font(cr, 12, false);
  for (int64_t i = 0; i < rows; i++) {
    const char *s =
        row_names ? row_names[i] : (snprintf(buf, sizeof buf, "%lld", (long long)(i + 1)), buf);
    draw_text(cr, s, left - 6, top + cell * ((double)i + 0.5), 1, 0.5, 0);
  }
  for (int64_t j = 0; j < cols; j++) {
    const char *s =
        col_names ? col_names[j] : (snprintf(buf, sizeof buf, "%lld", (long long)(j + 1)), buf);
    double x = left + cell * ((double)j + 0.5);
    if (rotate)
      draw_text(cr, s, x, top + gh + 6, 1, 0.5, -M_PI / 2);
    else
      draw_text(cr, s, x, top + gh + 6, 0.5, 0, 0);
  }
  /* Colour bar with its min and max. */
  double bx = left + gw + 16, bh = fmin(gh, 300);
  for (int k = 0; k < (int)bh; k++) {
    double rgb[3];
    heat_rgb(1 - (k + 0.5) / bh, rgb);
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(cr, bx, top + k, 12, 1), cairo_fill(cr);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, bx + 0.5, top + 0.5, 12, bh - 1), cairo_stroke(cr);
  set_font(cr, 10, false);
  snprintf(buf, sizeof buf, integral ? "%.0f" : "%.3g", mx);
  draw_text(cr, buf, bx + 16, top, 0, 0, 0);
  snprintf(buf, sizeof buf, integral ? "%.0f" : "%.3g", mn);
  draw_text(cr, buf, bx + 16, top + bh, 0, 1, 0);
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (labels->title) {
    set_font(cr, 16, true);
    /* over the grid, shifted to stay whole when it is wider than the grid */
    double tx = fmax(fmin(left + gw / 2, W - tw / 2 - 20), tw / 2 + 20);
    draw_text(cr, labels->title, tx, 12, 0.5, 0, 0);
  }
  set_font(cr, 13, false);
  if (labels->xlabel) draw_text(cr, labels->xlabel, left + gw / 2, H - 10, 0.5, 1, 0);
  if (labels->ylabel) draw_text(cr, labels->ylabel, 12, top + gh / 2, 0.5, 0, -M_PI / 2);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  return finish(surface, st, path, err);
}

/* ---- image grid ---- */

/* Fills the h x w RGB24 surface img with image `in` (c, h, w) scaled so
 * its finite minimum (lo when lo < hi) is black and maximum (hi) white; a constant image keeps
 * its value clamped to [0, 1], non-finite pixels are black. */
static void fill_image(cairo_surface_t *img, const float *in, int64_t c, int64_t h, int64_t w,
                       double lo, double hi) {
  int64_t count = c * h * w;
  double mn = INFINITY, mx = -INFINITY;
  if (lo < hi)
    mn = lo, mx = hi;
  else
    for (int64_t i = 0; i < count; i++)
      if (isfinite(in[i])) mn = fmin(mn, in[i]), mx = fmax(mx, in[i]);
  double scale = mx > mn ? 1 / (mx - mn) : 0, base = mx > mn ? mn : 0;
  cairo_surface_flush(img);
  unsigned char *px0 = cairo_image_surface_get_data(img);
  int stride = cairo_image_surface_get_stride(img);
  for (int64_t r = 0; r < h; r++) {
    uint32_t *row = (uint32_t *)(px0 + r * stride);
    for (int64_t q = 0; q < w; q++) {
      unsigned v[3];
      for (int k = 0; k < 3; k++) {
        double x = in[(c == 3 ? k : 0) * h * w + r * w + q];
        x = isfinite(x) ? (scale ? (x - base) * scale : x) : 0;
        v[k] = (unsigned)lround(255 * fmin(1, fmax(0, x)));
      }
      row[q] = v[0] << 16 | v[1] << 8 | v[2];
    }
  }
  cairo_surface_mark_dirty(img);
}

/* Width in pixels of the widest of n texts in the given font, measured on
 * a scratch surface (at most limit: longer ones overflow). */
static int64_t widest_text(const char *const *texts, int64_t n, double size, bool bold,
                           double limit) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create(s);
  set_font(cr, size, bold);
  double wmax = 0;
  for (int64_t i = 0; i < n; i++)
    if (texts[i]) wmax = fmax(wmax, text_width(cr, texts[i]));
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return (int64_t)ceil(fmin(wmax, limit));
}

int nn_plot_images(const char *path, const float *data, int64_t n, int64_t c, int64_t h, int64_t w,
                   int64_t nrow, double lo, double hi, const char *const *captions,
                   const bool *highlight, const char *title, char *err) {
  /* Integer zoom so the longer side is at least 64 pixels. */
  int64_t side = h > w ? h : w, zoom = side >= 64 ? 1 : (64 + side - 1) / side;
  int64_t cols = nrow < n ? nrow : n, rows = (n + cols - 1) / cols;
  int64_t pad = 6, cap = captions ? 18 : 0, top = title ? 32 : 0;
  int64_t cw = w * zoom, ch = h * zoom;
  if (captions) {
    int64_t text = widest_text(captions, n, 11, false, 600) + 8; /* longer ones overflow their cell */
    if (text > cw) cw = text;
  }
  /* The canvas is as wide as the title, so a small grid does not clip it;
   * the grid is then centred under it. */
  int64_t grid_w = pad + cols * (cw + pad), W = grid_w, H = top + pad + rows * (ch + cap + pad);
  if (title) {
    int64_t text = widest_text(&title, 1, 16, true, MAX_SIDE) + 2 * pad;
    if (text > W) W = text;
  }
  double left = (double)((W - grid_w) / 2);
  if (h > MAX_SIDE || w > MAX_SIDE || W > MAX_SIDE || H > MAX_SIDE) {
    snprintf(err, NN_PLOT_ERRLEN, "grid of %lld images (%lldx%lld each) is too large for '%s'",
             (long long)n, (long long)h, (long long)w, path);
    return -1;
  }
  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)W, (int)H);
  cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
  cairo_t *cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  if (title) {
    cairo_set_source_rgb(cr, 0, 0, 0);
    set_font(cr, 16, true);
    draw_text(cr, title, W / 2.0, 8, 0.5, 0, 0);
  }
  set_font(cr, 11, false);
  for (int64_t i = 0; i < n && cairo_surface_status(img) == CAIRO_STATUS_SUCCESS; i++) {
    double x = left + (double)(pad + (i % cols) * (cw + pad)) + (double)(cw - w * zoom) / 2;
    double y = (double)(top + pad + (i / cols) * (ch + cap + pad));
    fill_image(img, data + i * c * h * w, c, h, w, lo, hi);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, (double)zoom, (double)zoom);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    /* A thin grey frame, so tiles with white edges stay apart. */
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x - 0.5, y - 0.5, (double)(w * zoom) + 1, (double)(h * zoom) + 1);
    cairo_stroke(cr);
    if (captions && captions[i]) {
      bool red = highlight && highlight[i];
      cairo_set_source_rgb(cr, red ? 0.85 : 0.1, red ? 0.1 : 0.1, red ? 0.1 : 0.1);
      double cx = left + (double)(pad + (i % cols) * (cw + pad)) + cw / 2.0;
      draw_text(cr, captions[i], cx, y + ch + 3, 0.5, 0, 0);
    }
  }
  cairo_status_t st = cairo_status(cr);
  if (st == CAIRO_STATUS_SUCCESS) st = cairo_surface_status(img);
  cairo_destroy(cr);
  cairo_surface_destroy(img);
  return finish(surface, st, path, err);
}

void nn_plot_release(void) {
  cairo_debug_reset_static_data();
  FcFini();
}
