/*
 * nn_plot: PNG plots drawn with cairo — charts (lines with linear or log
 * axes, bars side by side, overlaid histograms, a 2-D function or a
 * classifier's regions under lines and points), chart panels side by side,
 * heatmaps (confusion matrices) and image grids (samples, conv filters,
 * feature maps).
 *
 * Both writers take plain arrays, validate nothing the bindings already
 * checked (lengths, ranks), and report failure through err (NN_PLOT_ERRLEN
 * bytes, the caller's) with a message for people that names the path.
 * The PNG is written to a temporary file next to path and renamed over it,
 * so a failed write never leaves a partial file at path.
 */
#ifndef NN_PLOT_H
#define NN_PLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_tensor.h"

#define NN_PLOT_ERRLEN 512

/* Line styles and markers of a series. */
enum { NN_PLOT_SOLID, NN_PLOT_DASHED, NN_PLOT_DOTTED, NN_PLOT_NOLINE };
enum {
  NN_PLOT_MARK_AUTO, /* dots when the series has at most 50 points */
  NN_PLOT_MARK_NONE,
  NN_PLOT_MARK_CIRCLE,
  NN_PLOT_MARK_SQUARE,
  NN_PLOT_MARK_TRIANGLE,
  NN_PLOT_MARK_CROSS
};

/* One series of a chart: n points (x[i], y[i]); NaN or infinite values
 * break the line. name may be NULL (no legend entry); x may be NULL for
 * the points 1..n. style and marker as above (0: solid, auto); color 0
 * takes the palette colour of the series' index, k > 0 palette colour k. */
typedef struct nn_plot_series {
  const char *name;
  const double *x; /* (n), or NULL */
  const double *y; /* (n) */
  int64_t n;
  int style, marker, color;
} nn_plot_series;

/* A marked point with an optional label beside it. */
typedef struct nn_plot_point {
  double x, y;
  const char *label; /* or NULL */
} nn_plot_point;

/* A function sampled on a regular grid, drawn under the series: z[i * nx
 * + j] is the value at (x0 + j (x1 - x0) / (nx - 1), y0 + i (y1 - y0) /
 * (ny - 1)), nx, ny >= 2. With classes, z holds 1-based class indices
 * drawn as regions in light palette colours; else z is shaded with a
 * colour map in `levels` bands with contour lines between them, on a log
 * scale of z - min(z) when zlog. The axes span exactly [x0, x1], [y0, y1]. */
typedef struct nn_plot_field {
  const double *z; /* (ny, nx), finite */
  int64_t nx, ny;
  double x0, x1, y0, y1;
  bool classes, zlog;
  int levels;
} nn_plot_field;

/* Texts, size and options of a chart; NULL/0 members are left out.
 * categories (ncategories names) makes a bar chart: the y of each series
 * are its bar heights per category, bars of the series side by side.
 * bin_width > 0 makes a histogram: the x of each series are bin centres,
 * its y the counts, drawn as translucent bars overlaid. */
typedef struct nn_plot_labels {
  const char *title, *xlabel, *ylabel;
  int width, height;    /* pixels; 0 -> 800 x 500 (a panel: its share) */
  bool xlog, ylog;      /* log10 axes: every finite value must be > 0 */
  const double *vlines; /* (nvlines) x positions of dashed vertical lines */
  int nvlines;
  const nn_plot_point *points; /* (npoints) */
  int npoints;
  const nn_plot_field *field;    /* or NULL */
  const char *const *categories; /* (ncategories), or NULL */
  int64_t ncategories;
  double bin_width;
} nn_plot_labels;

/* One chart among panels drawn side by side. */
typedef struct nn_plot_panel {
  const nn_plot_series *series;
  int nseries;
  const nn_plot_labels *labels; /* its width and height are ignored */
} nn_plot_panel;

/* out[i] = t[i] for a 1-D tensor t of any dtype and strides (out holds
 * t->shape[0] values): series data from tensors. Values go through
 * float32, as every tensor is plotted: large int64 values round. */
void nn_plot_tensor_values(double *out, const nn_tensor *t);

/* Draws the series (nseries >= 1, each n >= 1) with axes, nice ticks,
 * grid, labels and a legend. Returns 0, or -1 with err set (a log axis
 * with a value <= 0, a size too small). */
int nn_plot_lines(const char *path, const nn_plot_series *series, int nseries,
                  const nn_plot_labels *labels, char *err);

/* Draws npanels charts side by side in one width x height PNG (0: 420
 * pixels per panel x 400) under an optional title. Returns 0, or -1 with
 * err set. */
int nn_plot_panels(const char *path, const nn_plot_panel *panels, int npanels, const char *title,
                   int width, int height, char *err);

/* counts[b] (bins >= 1 entries) = how many v[i] fall in bin b of [lo, hi]
 * cut in bins equal bins, hi in the last bin (as numpy); values outside
 * [lo, hi] or not finite are not counted. */
void nn_plot_bin_counts(const double *v, int64_t n, double lo, double hi, int64_t bins,
                        double *counts);

/* Histograms of nseries sets of values (series[k].y, n >= 1, all finite;
 * x unused) in bins shared bins over the range of all the values, drawn
 * overlaid. Returns 0, or -1 with err set. */
int nn_plot_hist(const char *path, const nn_plot_series *series, int nseries, int64_t bins,
                 const nn_plot_labels *labels, char *err);

/* A rows x cols matrix m (finite) as coloured cells, with the value in
 * each cell when annotate, row names down the left and column names under
 * the cells (either may be NULL for 1..n). Returns 0, or -1 with err set. */
int nn_plot_heatmap(const char *path, const double *m /* (rows, cols) */, int64_t rows,
                    int64_t cols, const char *const *row_names, const char *const *col_names,
                    bool annotate, const nn_plot_labels *labels, char *err);

/* Where v sits along an axis from lo to hi (linear, or log10 when log;
 * lo, hi > 0 then): 0 at lo, 1 at hi. */
double nn_plot_axis_frac(double lo, double hi, bool log, double v);

/* The ticks of an axis covering [mn, mx] (mn, mx > 0 when log): a linear
 * axis gets about 6 nice ticks (steps >= 1 when integral), a log axis the
 * powers of ten around the range (every k-th for a wide one). Writes at
 * most max ticks, the axis ends to *lo, *hi, returns the count. */
int nn_plot_ticks(double mn, double mx, bool log, bool integral, double *ticks, int max, double *lo,
                  double *hi);

/* The index of the first value of v (n) that is not finite, or -1. */
int64_t nn_plot_first_nonfinite(const double *v, int64_t n);

/* Draws n images of c channels (1 gray, 3 RGB) and h x w pixels, nrow per
 * row, each min-max normalized on its own (or all mapped from [lo, hi]
 * to black..white when lo < hi; NaN, NaN for per-image) and scaled up to
 * a readable size. captions (n strings, or NULL) go under the images; highlight[i]
 * (or NULL) draws caption i in red. title may be NULL. Returns 0, or -1
 * with err set (also when the grid would exceed cairo's 32767 pixels). */
int nn_plot_images(const char *path, const float *data /* (n,c,h,w) */, int64_t n, int64_t c,
                   int64_t h, int64_t w, int64_t nrow, double lo, double hi,
                   const char *const *captions, const bool *highlight, const char *title,
                   char *err);

/* Frees the font caches cairo and fontconfig keep for the whole process
 * (so leak checkers see a clean exit). Call only when no plot is being
 * drawn and nothing else in the process holds fontconfig or cairo
 * objects; a later plot loads the fonts again. */
void nn_plot_release(void);

#endif
