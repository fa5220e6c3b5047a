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

/* ---- nice ticks (Heckbert, Graphics Gems I) ---- */

/* A "nice" number near x: 1, 2, 5 or 10 times a power of ten, rounded
 * when round, else the smallest such >= x. */
static double nice_num(double x, bool round) {
  double e = floor(log10(x)), f = x / pow(10, e), nf;
  if (round) nf = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
  else nf = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nf * pow(10, e);
}

typedef struct axis {
  double lo, hi, step; /* the axis spans [lo, hi], ticks every step */
  int decimals;        /* for the tick labels; -1: use %g */
} axis;

/* An axis covering [mn, mx] with about 6 ticks; integral_only keeps the
 * step >= 1 (epochs). A degenerate range is widened around its value. */
static axis make_axis(double mn, double mx, bool integral_only) {
  if (!(mn <= mx)) mn = 0, mx = 1; /* no finite data */
  if (mx - mn < 1e-12 * fmax(1, fmax(fabs(mn), fabs(mx)))) {
    double pad = mn == 0 ? 1 : fabs(mn) * 0.1;
    mn -= pad, mx += pad;
  }
  axis a;
  double range = nice_num(mx - mn, false);
  a.step = nice_num(range / 5, true);
  if (integral_only && a.step < 1) a.step = 1;
  a.lo = floor(mn / a.step) * a.step;
  a.hi = ceil(mx / a.step) * a.step;
  double mag = fmax(fabs(a.lo), fabs(a.hi));
  if (a.step >= 1e-4 && mag < 1e7) {
    int d = (int)-floor(log10(a.step) + 1e-9);
    a.decimals = d > 0 ? d : 0;
  } else {
    a.decimals = -1;
  }
  return a;
}

static void tick_label(char *buf, size_t len, const axis *a, double v) {
  if (fabs(v) < a->step * 1e-9) v = 0; /* no "-0" */
  if (a->decimals >= 0) snprintf(buf, len, "%.*f", a->decimals, v);
  else snprintf(buf, len, "%.3g", v);
}

/* ---- line chart ---- */

typedef struct frame {
  double left, top, width, height; /* plot area in pixels */
  axis x, y;
} frame;

/* Data to pixels: the axis ends sit INSET pixels inside the frame, so
 * points on them (and their dots) stay clear of it. */
#define INSET 8.0

static double px(const frame *f, double x) {
  return f->left + INSET + (x - f->x.lo) / (f->x.hi - f->x.lo) * (f->width - 2 * INSET);
}
static double py(const frame *f, double y) {
  return f->top + f->height - INSET - (y - f->y.lo) / (f->y.hi - f->y.lo) * (f->height - 2 * INSET);
}

/* x of point i: the series' own, or i + 1 when it has none. */
static double xat(const nn_plot_series *s, int64_t i) { return s->x ? s->x[i] : (double)(i + 1); }

/* Ranges of the finite values over all series; whether every x is an
 * integer. */
static void data_ranges(const nn_plot_series *s, int ns, double *xr, double *yr, bool *xint) {
  xr[0] = yr[0] = INFINITY, xr[1] = yr[1] = -INFINITY;
  *xint = true;
  for (int k = 0; k < ns; k++)
    for (int64_t i = 0; i < s[k].n; i++) {
      double x = xat(&s[k], i), y = s[k].y[i];
      if (!isfinite(x) || !isfinite(y)) continue;
      xr[0] = fmin(xr[0], x), xr[1] = fmax(xr[1], x);
      yr[0] = fmin(yr[0], y), yr[1] = fmax(yr[1], y);
      if (x != floor(x)) *xint = false;
    }
}

/* Grid lines, ticks and tick labels of both axes, then the frame. */
static void draw_axes(cairo_t *cr, const frame *f) {
  char buf[64];
  set_font(cr, 12, false);
  cairo_set_line_width(cr, 1);
  for (int k = 0; k <= 1000; k++) {
    double v = f->x.lo + k * f->x.step;
    if (v > f->x.hi + f->x.step * 1e-6) break;
    double x = round(px(f, v)) + 0.5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, x, f->top), cairo_line_to(cr, x, f->top + f->height), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, x, f->top + f->height), cairo_line_to(cr, x, f->top + f->height + 5);
    cairo_stroke(cr);
    tick_label(buf, sizeof buf, &f->x, v);
    draw_text(cr, buf, x, f->top + f->height + 8, 0.5, 0, 0);
  }
  for (int k = 0; k <= 1000; k++) {
    double v = f->y.lo + k * f->y.step;
    if (v > f->y.hi + f->y.step * 1e-6) break;
    double y = round(py(f, v)) + 0.5;
    cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
    cairo_move_to(cr, f->left, y), cairo_line_to(cr, f->left + f->width, y), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_move_to(cr, f->left - 5, y), cairo_line_to(cr, f->left, y), cairo_stroke(cr);
    tick_label(buf, sizeof buf, &f->y, v);
    draw_text(cr, buf, f->left - 8, y, 1, 0.5, 0);
  }
  cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
  cairo_rectangle(cr, f->left + 0.5, f->top + 0.5, f->width - 1, f->height - 1);
  cairo_stroke(cr);
}

/* One series: a polyline broken at non-finite points, with dots when the
 * series is short (so single points and epochs show). */
static void draw_series(cairo_t *cr, const frame *f, const nn_plot_series *s, const double *rgb) {
  cairo_save(cr);
  cairo_rectangle(cr, f->left, f->top, f->width, f->height);
  cairo_clip(cr);
  cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
  cairo_set_line_width(cr, 2);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  bool pen = false;
  for (int64_t i = 0; i < s->n; i++) {
    if (!isfinite(xat(s, i)) || !isfinite(s->y[i])) {
      pen = false;
      continue;
    }
    double x = px(f, xat(s, i)), y = py(f, s->y[i]);
    if (pen) cairo_line_to(cr, x, y);
    else cairo_move_to(cr, x, y);
    pen = true;
  }
  cairo_stroke(cr);
  if (s->n <= 50)
    for (int64_t i = 0; i < s->n; i++) {
      if (!isfinite(xat(s, i)) || !isfinite(s->y[i])) continue;
      cairo_new_sub_path(cr);
      cairo_arc(cr, px(f, xat(s, i)), py(f, s->y[i]), 3, 0, 2 * M_PI);
      cairo_fill(cr);
    }
  cairo_restore(cr);
}

/* How many points of the series, and of 8 steps along each segment
 * between finite points, fall in the box (x0, y0, w, h). */
static int64_t covered(const frame *f, const nn_plot_series *s, int ns, double x0, double y0,
                       double w, double h) {
  int64_t hits = 0;
  for (int k = 0; k < ns; k++)
    for (int64_t i = 0; i < s[k].n; i++) {
      if (!isfinite(xat(&s[k], i)) || !isfinite(s[k].y[i])) continue;
      double ax = px(f, xat(&s[k], i)), ay = py(f, s[k].y[i]), bx = ax, by = ay;
      bool seg = i + 1 < s[k].n && isfinite(xat(&s[k], i + 1)) && isfinite(s[k].y[i + 1]);
      if (seg) bx = px(f, xat(&s[k], i + 1)), by = py(f, s[k].y[i + 1]);
      for (int j = 0; j < (seg ? 8 : 1); j++) {
        double x = ax + (bx - ax) * j / 8, y = ay + (by - ay) * j / 8;
        hits += x >= x0 - 4 && x <= x0 + w + 4 && y >= y0 - 4 && y <= y0 + h + 4;
      }
    }
  return hits;
}

/* The legend box, in the corner where it hides the least data. */
static void draw_legend(cairo_t *cr, const frame *f, const nn_plot_series *s, int ns) {
  set_font(cr, 12, false);
  double wmax = 0;
  int shown = 0;
  for (int k = 0; k < ns; k++)
    if (s[k].name) wmax = fmax(wmax, text_width(cr, s[k].name)), shown++;
  if (!shown) return;
  double row = 18, bw = wmax + 44, bh = shown * row + 8;
  /* The corner whose box covers the fewest samples of the lines, in the
   * order top-right, top-left, bottom-right, bottom-left. */
  double best_x = 0, best_y = 0;
  int64_t best = -1;
  for (int corner = 0; corner < 4; corner++) {
    double x0 = corner & 1 ? f->left + 10 : f->left + f->width - bw - 10;
    double y0 = corner & 2 ? f->top + f->height - bh - 10 : f->top + 10;
    int64_t hits = covered(f, s, ns, x0, y0, bw, bh);
    if (best < 0 || hits < best) best = hits, best_x = x0, best_y = y0;
  }
  double x0 = best_x, y0 = best_y;
  cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, bw, bh);
  cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
  cairo_fill_preserve(cr);
  cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
  cairo_set_line_width(cr, 1);
  cairo_stroke(cr);
  int r = 0;
  for (int k = 0; k < ns; k++) {
    if (!s[k].name) continue;
    const double *c = palette[k % 10];
    double y = y0 + 4 + row * (r++ + 0.5);
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
    cairo_set_line_width(cr, 2);
    cairo_move_to(cr, x0 + 8, y), cairo_line_to(cr, x0 + 32, y), cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    draw_text(cr, s[k].name, x0 + 38, y, 0, 0.5, 0);
  }
}

int nn_plot_lines(const char *path, const nn_plot_series *series, int nseries,
                  const nn_plot_labels *labels, char *err) {
  int W = labels->width > 0 ? labels->width : 800;
  int H = labels->height > 0 ? labels->height : 500;
  double xr[2], yr[2];
  bool xint;
  data_ranges(series, nseries, xr, yr, &xint);
  frame f = {.left = 80, .top = labels->title ? 44 : 20};
  f.width = W - f.left - 24;
  f.height = H - f.top - (labels->xlabel ? 60 : 40);
  if (f.width < 50 || f.height < 50) {
    snprintf(err, NN_PLOT_ERRLEN, "plot of %dx%d pixels is too small for '%s'", W, H, path);
    return -1;
  }
  f.x = make_axis(xr[0], xr[1], xint);
  f.y = make_axis(yr[0], yr[1], false);

  cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
  cairo_t *cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  draw_axes(cr, &f);
  for (int k = 0; k < nseries; k++) draw_series(cr, &f, &series[k], palette[k % 10]);
  draw_legend(cr, &f, series, nseries);
  cairo_set_source_rgb(cr, 0, 0, 0);
  if (labels->title) {
    set_font(cr, 16, true);
    draw_text(cr, labels->title, f.left + f.width / 2, 12, 0.5, 0, 0);
  }
  set_font(cr, 13, false);
  if (labels->xlabel) draw_text(cr, labels->xlabel, f.left + f.width / 2, H - 10, 0.5, 1, 0);
  if (labels->ylabel)
    draw_text(cr, labels->ylabel, 10, f.top + f.height / 2, 0.5, 0, -M_PI / 2);
  cairo_status_t st = cairo_status(cr);
  cairo_destroy(cr);
  return finish(surface, st, path, err);
}

/* ---- image grid ---- */

/* Fills the h x w RGB24 surface img with image `in` (c, h, w) scaled so
 * its finite minimum is black and maximum white; a constant image keeps
 * its value clamped to [0, 1], non-finite pixels are black. */
static void fill_image(cairo_surface_t *img, const float *in, int64_t c, int64_t h, int64_t w) {
  int64_t count = c * h * w;
  double mn = INFINITY, mx = -INFINITY;
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

/* Width in pixels of the widest caption in the caption font, measured on
 * a scratch surface (at most 600: longer ones overflow their cell). */
static int64_t widest_caption(const char *const *captions, int64_t n) {
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
  cairo_t *cr = cairo_create(s);
  set_font(cr, 11, false);
  double wmax = 0;
  for (int64_t i = 0; i < n; i++)
    if (captions[i]) wmax = fmax(wmax, text_width(cr, captions[i]));
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  return (int64_t)ceil(fmin(wmax, 600));
}

int nn_plot_images(const char *path, const float *data, int64_t n, int64_t c, int64_t h,
                   int64_t w, int64_t nrow, const char *const *captions, const bool *highlight,
                   const char *title, char *err) {
  /* Integer zoom so the longer side is at least 64 pixels. */
  int64_t side = h > w ? h : w, zoom = side >= 64 ? 1 : (64 + side - 1) / side;
  int64_t cols = nrow < n ? nrow : n, rows = (n + cols - 1) / cols;
  int64_t pad = 6, cap = captions ? 18 : 0, top = title ? 32 : 0;
  int64_t cw = w * zoom, ch = h * zoom;
  if (captions) {
    int64_t text = widest_caption(captions, n) + 8;
    if (text > cw) cw = text;
  }
  int64_t W = pad + cols * (cw + pad), H = top + pad + rows * (ch + cap + pad);
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
    double x = (double)(pad + (i % cols) * (cw + pad)) + (double)(cw - w * zoom) / 2;
    double y = (double)(top + pad + (i / cols) * (ch + cap + pad));
    fill_image(img, data + i * c * h * w, c, h, w);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, (double)zoom, (double)zoom);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    if (captions && captions[i]) {
      bool red = highlight && highlight[i];
      cairo_set_source_rgb(cr, red ? 0.85 : 0.1, red ? 0.1 : 0.1, red ? 0.1 : 0.1);
      double cx = (double)(pad + (i % cols) * (cw + pad)) + cw / 2.0;
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
