/*
 * nn_plot: PNG plots drawn with cairo — line charts (learning curves, any
 * x/y series) and image grids (samples, conv filters, feature maps).
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

/* One line of a chart: n points (x[i], y[i]); NaN or infinite values
 * break the line. name may be NULL (no legend entry); x may be NULL for
 * the points 1..n. */
typedef struct nn_plot_series {
  const char *name;
  const double *x; /* (n), or NULL */
  const double *y; /* (n) */
  int64_t n;
} nn_plot_series;

/* Texts and size of a chart; NULL texts are left out. */
typedef struct nn_plot_labels {
  const char *title, *xlabel, *ylabel;
  int width, height; /* pixels; 0 -> 800 x 500 */
} nn_plot_labels;

/* out[i] = t[i] for a 1-D tensor t of any dtype and strides (out holds
 * t->shape[0] values): series data from tensors. Values go through
 * float32, as every tensor is plotted: large int64 values round. */
void nn_plot_tensor_values(double *out, const nn_tensor *t);

/* Draws the series (nseries >= 1, each n >= 1) with axes, nice ticks,
 * grid, labels and a legend. Returns 0, or -1 with err set. */
int nn_plot_lines(const char *path, const nn_plot_series *series, int nseries,
                  const nn_plot_labels *labels, char *err);

/* Draws n images of c channels (1 gray, 3 RGB) and h x w pixels, nrow per
 * row, each min-max normalized on its own and scaled up to a readable
 * size. captions (n strings, or NULL) go under the images; highlight[i]
 * (or NULL) draws caption i in red. title may be NULL. Returns 0, or -1
 * with err set (also when the grid would exceed cairo's 32767 pixels). */
int nn_plot_images(const char *path, const float *data /* (n,c,h,w) */, int64_t n,
                   int64_t c, int64_t h, int64_t w, int64_t nrow,
                   const char *const *captions, const bool *highlight,
                   const char *title, char *err);

/* Frees the font caches cairo and fontconfig keep for the whole process
 * (so leak checkers see a clean exit). Call only when no plot is being
 * drawn and nothing else in the process holds fontconfig or cairo
 * objects; a later plot loads the fonts again. */
void nn_plot_release(void);

#endif
