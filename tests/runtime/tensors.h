/*
 * What the C tests that build and read tensors share: random data, a
 * tensor's values out in row-major order, single elements by multi-index,
 * and comparisons against double-precision references.
 *
 *   nn_tensor *x = random_tensor(4, shape, true);   (a non-contiguous view)
 *   float *v = floats_of(x);                         (row-major, malloc'ed)
 *   CHECK(max_err(v, ref, n) < 1e-5);
 */
#ifndef NN_TEST_TENSORS_H
#define NN_TEST_TENSORS_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_elementwise.h"
#include "nn_tensor.h"

/* ---- random data ---- */

/* n values of rnd() (malloc'ed); p[0] is set even when n is 0. */
static inline float *random_floats(int64_t n) {
  float *p = calloc((size_t)(n > 0 ? n : 1), sizeof(float));
  for (int64_t i = 0; i < n; i++) p[i] = (float)rnd();
  return p;
}

/* x[0..n) uniform in [lo, hi). */
static inline void fill_uniform(float *x, int64_t n, double lo, double hi) {
  for (int64_t i = 0; i < n; i++) x[i] = (float)(lo + (hi - lo) * (rnd() + 1) / 2);
}

/* A contiguous float32 tensor of shape, uniform in [lo, hi). */
static inline nn_tensor *uniform_tensor(int ndim, const int64_t *shape, double lo, double hi) {
  nn_tensor *t = nn_tensor_empty(NN_FLOAT32, ndim, shape);
  fill_uniform(nn_tensor_data(t), nn_tensor_numel(t), lo, hi);
  return t;
}

/* A float32 tensor of shape with values of rnd(); transposed: a view, not
 * contiguous, of a [.., W, H] tensor with its last two dims swapped. */
static inline nn_tensor *random_tensor(int ndim, const int64_t *shape, bool transposed) {
  int64_t s[NN_MAX_DIMS], stride[NN_MAX_DIMS];
  memcpy(s, shape, sizeof(int64_t) * (size_t)ndim);
  if (transposed) s[ndim - 2] = shape[ndim - 1], s[ndim - 1] = shape[ndim - 2];
  nn_tensor *base = nn_tensor_empty(NN_FLOAT32, ndim, s);
  float *p = nn_tensor_data(base);
  for (int64_t i = 0; i < nn_tensor_numel(base); i++) p[i] = (float)rnd();
  if (!transposed) return base;
  memcpy(stride, base->stride, sizeof stride);
  stride[ndim - 2] = base->stride[ndim - 1], stride[ndim - 1] = base->stride[ndim - 2];
  nn_tensor *view = nn_tensor_view(base, ndim, shape, stride, 0);
  nn_tensor_release(base);
  return view;
}

/* ---- values out ---- */

/* A malloc'ed copy of src[0..n); never NULL for n of 0. */
static inline float *copy_floats(const float *src, int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  memcpy(p, src, sizeof(float) * (size_t)n);
  return p;
}

/* t's values in row-major order (malloc'ed); NULL for NULL. */
static inline float *floats_of(const nn_tensor *t) {
  if (!t) return NULL;
  nn_tensor *c = nn_tensor_empty(NN_FLOAT32, t->ndim, t->shape);
  nn_copy(c, t);
  float *p = copy_floats(nn_tensor_data(c), nn_tensor_numel(t));
  nn_tensor_release(c);
  return p;
}

/* Storage offset of the element of t at multi-index pos. */
static inline int64_t offset_of(const nn_tensor *t, const int64_t *pos) {
  int64_t off = t->offset;
  for (int d = 0; d < t->ndim; d++) off += pos[d] * t->stride[d];
  return off;
}

/* The element at storage offset off of t (float32, int64 or bool) as double. */
static inline double value_at(const nn_tensor *t, int64_t off) {
  const void *p = t->storage->data;
  switch (t->dtype) {
  case NN_FLOAT32: return ((const float *)p)[off];
  case NN_INT64: return (double)((const int64_t *)p)[off];
  default: return ((const bool *)p)[off];
  }
}

/* The element of t at multi-index pos, as double. */
static inline double get(const nn_tensor *t, const int64_t *pos) {
  return value_at(t, offset_of(t, pos));
}

/* Odometer over shape; pos starts all zero. False after the last. */
static inline bool next_pos(int ndim, const int64_t *shape, int64_t *pos) {
  for (int d = ndim - 1; d >= 0; d--) {
    if (++pos[d] < shape[d]) return true;
    pos[d] = 0;
  }
  return false;
}

/* ---- comparisons ---- */

/* |a - b| within tol relative to 1 + |b|. */
static inline bool near(double a, double b, double tol) {
  return fabs(a - b) <= tol * (1 + fabs(b));
}

/* Largest |a - b| relative to 1 + |b|; NaN (anywhere) counts as the worst. */
static inline double max_err(const float *a, const double *b, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(a[i] - b[i]) / (1 + fabs(b[i]));
    if (isnan(e)) return e;
    if (e > worst) worst = e;
  }
  return worst;
}

/* How many gx[i] - base miss want[i] (near, tol); backward kernels add
 * into gx, which held base. Prints the first miss. */
static inline int check_added(const float *gx, float base, const double *want, int64_t n,
                              double tol) {
  int bad = 0;
  for (int64_t i = 0; i < n; i++)
    if (!near((double)gx[i] - base, want[i], tol)) {
      if (!bad) fprintf(stderr, "  element %lld: %.9g, want %.9g\n", (long long)i, gx[i] - base, want[i]);
      bad++;
    }
  return bad;
}

#endif
