/*
 * 2-D max and average pooling over planes [N*C, H, W] (nn_pool.h has the
 * shapes), with PyTorch's window rules: output sizes from
 * nn_pool_out_size, windows clipped to the input (max) or to the padded
 * input (average's count_include_pad divisor).
 *
 * Max pooling records where each maximum came from, so its backward is a
 * scatter of the output gradient; the 2x2, stride 2 window of most CNNs
 * has its own loop.
 */
#include "nn_pool.h"

#include <math.h>

#include "nn_autograd.h"
#include "nn_threads.h"

int64_t nn_pool_out_size(int64_t in, int64_t k, int64_t stride, int64_t pad,
                         int64_t dilation, bool ceil_mode) {
  int64_t span = in + 2 * pad - dilation * (k - 1) - 1 + (ceil_mode ? stride - 1 : 0);
  /* floor division, as PyTorch's div_rtn, for a span that may be negative */
  int64_t out = (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
  if (ceil_mode && (out - 1) * stride >= in + pad) out--; /* last window starts inside */
  return out;
}

/* The first row (or column) of the window starting at start that lies
 * inside [0, in), stepping by dilation; end is one past the last tap
 * clipped to in, so taps are first, first + d, ... < end. */
static void window(int64_t start, int64_t k, int64_t d, int64_t in, int64_t *first,
                   int64_t *end) {
  int64_t e = start + (k - 1) * d + 1;
  *end = e < in ? e : in;
  while (start < 0) start += d;
  *first = start;
}

/* A maximum replaces the current one when larger, or NaN (NaN
 * propagates; among equal values the first stays). */
static inline bool beats(float v, float best) { return v > best || isnan(v); }

/* One 2x2 window at columns 2*ox, 2*ox + 1 of rows r0, r1 = r0 + W:
 * its maximum, and in *at the maximum's offset from r0. */
static inline float max_2x2(const float *r0, const float *r1, int64_t ox, int64_t W, int64_t *at) {
  float best = r0[2 * ox];
  *at = 2 * ox;
  if (beats(r0[2 * ox + 1], best)) best = r0[*at = 2 * ox + 1];
  if (beats(r1[2 * ox], best)) best = r1[2 * ox], *at = W + 2 * ox;
  if (beats(r1[2 * ox + 1], best)) best = r1[2 * ox + 1], *at = W + 2 * ox + 1;
  return best;
}

#ifdef __SSE2__
#include <emmintrin.h>

/* Four windows of one output row at once: the comparisons of random data
 * are unpredictable, so they become masks and selects, not branches.
 * which[k] gets the winning cell of window k: 0, 1 (top row), 2, 3. */
static inline __m128 max_2x2_x4(const float *r0, const float *r1, __m128i *which) {
  __m128 a = _mm_loadu_ps(r0), b = _mm_loadu_ps(r0 + 4);
  __m128 c = _mm_loadu_ps(r1), d = _mm_loadu_ps(r1 + 4);
  __m128 cells[4] = {_mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0)),
                     _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1)),
                     _mm_shuffle_ps(c, d, _MM_SHUFFLE(2, 0, 2, 0)),
                     _mm_shuffle_ps(c, d, _MM_SHUFFLE(3, 1, 3, 1))};
  __m128 best = cells[0];
  __m128i w = _mm_setzero_si128();
  for (int k = 1; k < 4; k++) {
    __m128 v = cells[k];
    __m128 m = _mm_or_ps(_mm_cmpgt_ps(v, best), _mm_cmpunord_ps(v, v)); /* as beats() */
    best = _mm_or_ps(_mm_and_ps(m, v), _mm_andnot_ps(m, best));
    __m128i mi = _mm_castps_si128(m);
    w = _mm_or_si128(_mm_and_si128(mi, _mm_set1_epi32(k)), _mm_andnot_si128(mi, w));
  }
  *which = w;
  return best;
}
#endif

/* The 2x2 stride-2 window, no padding or dilation, every window whole
 * (ceil_mode may add partial ones). */
static void max_pool_2x2(float *out, int64_t *idx, const float *x, const nn_pool2d_geom *g) {
  int64_t W = g->w;
  for (int64_t p = 0; p < g->planes; p++) {
    const float *xp = x + p * g->h * W;
    for (int64_t oy = 0; oy < g->oh; oy++) {
      const float *r0 = xp + 2 * oy * W, *r1 = r0 + W;
      float *o = out + (p * g->oh + oy) * g->ow;
      int64_t *ix = idx ? idx + (p * g->oh + oy) * g->ow : NULL;
      int64_t base = 2 * oy * W, ox = 0;
#ifdef __SSE2__
      /* Blocks of four; a row that is not a multiple of four ends with a
       * block overlapping the previous one (rewriting equal values).
       * Positions are computed in 32 bits (the caller checked the plane
       * fits) and widened to int64. */
      for (; ox < g->ow && g->ow >= 4; ox += 4) {
        if (ox + 4 > g->ow) ox = g->ow - 4;
        __m128i which;
        _mm_storeu_ps(o + ox, max_2x2_x4(r0 + 2 * ox, r1 + 2 * ox, &which));
        if (!ix) continue;
        int32_t left = (int32_t)(base + 2 * ox);
        __m128i at = _mm_add_epi32(_mm_set_epi32(left + 6, left + 4, left + 2, left),
                                   _mm_and_si128(which, _mm_set1_epi32(1)));
        __m128i lower = _mm_cmpgt_epi32(which, _mm_set1_epi32(1)); /* the second row */
        at = _mm_add_epi32(at, _mm_and_si128(lower, _mm_set1_epi32((int32_t)W)));
        _mm_storeu_si128((__m128i *)(ix + ox), _mm_unpacklo_epi32(at, _mm_setzero_si128()));
        _mm_storeu_si128((__m128i *)(ix + ox + 2), _mm_unpackhi_epi32(at, _mm_setzero_si128()));
      }
#endif
      for (; ox < g->ow; ox++) {
        int64_t at;
        o[ox] = max_2x2(r0, r1, ox, W, &at);
        if (ix) ix[ox] = base + at;
      }
    }
  }
}

static void max_forward(float *out, int64_t *idx, const float *x, const nn_pool2d_geom *g) {
  if (g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0 &&
      g->dh == 1 && g->dw == 1 && 2 * g->oh <= g->h && 2 * g->ow <= g->w &&
      g->h * g->w < INT32_MAX) {
    max_pool_2x2(out, idx, x, g);
    return;
  }
  for (int64_t p = 0; p < g->planes; p++) {
    const float *xp = x + p * g->h * g->w;
    for (int64_t oy = 0; oy < g->oh; oy++) {
      int64_t y0, y1;
      window(oy * g->sh - g->ph, g->kh, g->dh, g->h, &y0, &y1);
      for (int64_t ox = 0; ox < g->ow; ox++) {
        int64_t x0, x1;
        window(ox * g->sw - g->pw, g->kw, g->dw, g->w, &x0, &x1);
        int64_t at = y0 * g->w + x0;
        float best = -INFINITY;
        for (int64_t iy = y0; iy < y1; iy += g->dh)
          for (int64_t ix = x0; ix < x1; ix += g->dw) {
            float v = xp[iy * g->w + ix];
            if (beats(v, best)) best = v, at = iy * g->w + ix;
          }
        int64_t o = (p * g->oh + oy) * g->ow + ox;
        out[o] = best;
        if (idx) idx[o] = at;
      }
    }
  }
}

static void max_backward(float *gx, const float *gout, const int64_t *idx, const nn_pool2d_geom *g) {
  int64_t per_out = g->oh * g->ow, per_in = g->h * g->w;
  for (int64_t p = 0; p < g->planes; p++) {
    float *gp = gx + p * per_in;
    const float *go = gout + p * per_out;
    const int64_t *ip = idx + p * per_out;
    for (int64_t o = 0; o < per_out; o++) gp[ip[o]] += go[o];
  }
}

/* The window of output (oy, ox) clipped to the input, and its divisor. */
typedef struct avg_window {
  int64_t y0, y1, x0, x1;
  float div; /* the divisor; 0 for a window wholly in the padding */
} avg_window;

static avg_window avg_window_at(const nn_pool2d_geom *g, int64_t oy, int64_t ox) {
  int64_t y0 = oy * g->sh - g->ph, x0 = ox * g->sw - g->pw;
  int64_t y1 = y0 + g->kh, x1 = x0 + g->kw;
  if (y1 > g->h + g->ph) y1 = g->h + g->ph;
  if (x1 > g->w + g->pw) x1 = g->w + g->pw;
  int64_t padded = (y1 - y0) * (x1 - x0);
  avg_window a = {y0 < 0 ? 0 : y0, y1 < g->h ? y1 : g->h, x0 < 0 ? 0 : x0, x1 < g->w ? x1 : g->w, 0};
  int64_t inside = (a.y1 - a.y0) * (a.x1 - a.x0);
  int64_t div = g->divisor ? g->divisor : g->count_include_pad ? padded : inside;
  a.div = a.y0 < a.y1 && a.x0 < a.x1 ? (float)div : 0.0f;
  return a;
}

static void avg_forward(float *out, const float *x, const nn_pool2d_geom *g) {
  for (int64_t p = 0; p < g->planes; p++) {
    const float *xp = x + p * g->h * g->w;
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        avg_window a = avg_window_at(g, oy, ox);
        float sum = 0;
        for (int64_t iy = a.y0; iy < a.y1; iy++)
          for (int64_t ix = a.x0; ix < a.x1; ix++) sum += xp[iy * g->w + ix];
        out[(p * g->oh + oy) * g->ow + ox] = a.div ? sum / a.div : 0.0f;
      }
  }
}

static void avg_backward(float *gx, const float *gout, const nn_pool2d_geom *g) {
  for (int64_t p = 0; p < g->planes; p++) {
    float *gp = gx + p * g->h * g->w;
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        avg_window a = avg_window_at(g, oy, ox);
        if (!a.div) continue;
        float v = gout[(p * g->oh + oy) * g->ow + ox] / a.div;
        for (int64_t iy = a.y0; iy < a.y1; iy++)
          for (int64_t ix = a.x0; ix < a.x1; ix++) gp[iy * g->w + ix] += v;
      }
  }
}

/* ---- the kernels on the engine's pool ----
 * Planes are independent: each part of the pool runs a kernel on its
 * own planes (positions in idx are within a plane, so they need no
 * offset). A part gets at least GRAIN input cells. */

enum { GRAIN = 32768 };

static void adaptive_forward(float *out, const float *x, int64_t planes, int64_t h, int64_t w,
                             int64_t oh, int64_t ow);
static void adaptive_backward(float *gx, const float *gout, int64_t planes, int64_t h, int64_t w,
                              int64_t oh, int64_t ow);

typedef enum { MAX_FORWARD, MAX_BACKWARD, AVG_FORWARD, AVG_BACKWARD, ADAPTIVE_FORWARD, ADAPTIVE_BACKWARD } pool_kind;

typedef struct pool_job {
  pool_kind kind;
  float *out;          /* the forward's output, or the backward's gx */
  int64_t *idx;        /* max forward: the positions written (or NULL) */
  const float *in;     /* the forward's x, or the backward's gout */
  const int64_t *from; /* max backward: the positions read */
  nn_pool2d_geom g;
} pool_job;

static void pool_planes(void *ctx, int64_t p0, int64_t p1) {
  const pool_job *j = ctx;
  nn_pool2d_geom g = j->g;
  g.planes = p1 - p0;
  int64_t cells = p0 * g.h * g.w, outs = p0 * g.oh * g.ow;
  switch (j->kind) {
  case MAX_FORWARD: max_forward(j->out + outs, j->idx ? j->idx + outs : NULL, j->in + cells, &g); break;
  case MAX_BACKWARD: max_backward(j->out + cells, j->in + outs, j->from + outs, &g); break;
  case AVG_FORWARD: avg_forward(j->out + outs, j->in + cells, &g); break;
  case AVG_BACKWARD: avg_backward(j->out + cells, j->in + outs, &g); break;
  case ADAPTIVE_FORWARD: adaptive_forward(j->out + outs, j->in + cells, g.planes, g.h, g.w, g.oh, g.ow); break;
  case ADAPTIVE_BACKWARD: adaptive_backward(j->out + cells, j->in + outs, g.planes, g.h, g.w, g.oh, g.ow); break;
  }
}

static void split_planes(const pool_job *j) {
  int64_t cells = j->g.h * j->g.w + j->g.oh * j->g.ow;
  int64_t grain = cells >= GRAIN ? 1 : GRAIN / (cells < 1 ? 1 : cells);
  nn_parallel_for(j->g.planes, grain, pool_planes, (void *)j);
}

void nn_kernel_max_pool2d_forward(float *out, int64_t *idx, const float *x, const nn_pool2d_geom *g) {
  split_planes(&(pool_job){MAX_FORWARD, out, idx, x, NULL, *g});
}

void nn_kernel_max_pool2d_backward(float *gx, const float *gout, const int64_t *idx,
                                   const nn_pool2d_geom *g) {
  split_planes(&(pool_job){MAX_BACKWARD, gx, NULL, gout, idx, *g});
}

void nn_kernel_avg_pool2d_forward(float *out, const float *x, const nn_pool2d_geom *g) {
  split_planes(&(pool_job){AVG_FORWARD, out, NULL, x, NULL, *g});
}

void nn_kernel_avg_pool2d_backward(float *gx, const float *gout, const nn_pool2d_geom *g) {
  split_planes(&(pool_job){AVG_BACKWARD, gx, NULL, gout, NULL, *g});
}

/* ---- entry points ---- */

nn_pool2d_geom nn_pool2d_geometry(const nn_tensor *x, const nn_pool2d_args *a) {
  int d = x->ndim;
  nn_pool2d_geom g = {.h = x->shape[d - 2], .w = x->shape[d - 1], .kh = a->kh, .kw = a->kw,
                      .sh = a->sh, .sw = a->sw, .ph = a->ph, .pw = a->pw, .dh = a->dh, .dw = a->dw,
                      .count_include_pad = a->count_include_pad, .divisor = a->divisor};
  g.planes = x->shape[d - 3] * (d == 4 ? x->shape[0] : 1);
  g.oh = nn_pool_out_size(g.h, a->kh, a->sh, a->ph, a->dh, a->ceil_mode);
  g.ow = nn_pool_out_size(g.w, a->kw, a->sw, a->pw, a->dw, a->ceil_mode);
  return g;
}

nn_status nn_max_pool2d(nn_tensor *out, const nn_tensor *x, const nn_pool2d_args *args) {
  nn_pool2d_geom g = nn_pool2d_geometry(x, args);
  nn_tensor *copy, *idx = NULL;
  const nn_tensor *xc;
  nn_node *node = NULL;
  nn_status st = nn_contiguous(x, &copy, &xc);
  /* Recorded first: the positions the backward needs are then written by
   * the forward itself, straight into a tensor the node owns. */
  if (!st) st = nn_record(&node, NN_OP_MAX_POOL2D, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  if (!st && node) {
    node->args.pool2d = *args;
    if (!(idx = nn_tensor_empty(NN_INT64, out->ndim, out->shape))) st = NN_ERR_NOMEM;
    if (!st) st = nn_node_save(node, idx);
  }
  if (!st)
    nn_kernel_max_pool2d_forward(nn_tensor_data(out), idx ? nn_tensor_data(idx) : NULL,
                                 nn_tensor_data(xc), &g);
  nn_tensor_release(idx);
  nn_tensor_release(copy);
  return st;
}

nn_status nn_avg_pool2d(nn_tensor *out, const nn_tensor *x, const nn_pool2d_args *args) {
  nn_pool2d_geom g = nn_pool2d_geometry(x, args);
  nn_tensor *copy;
  const nn_tensor *xc;
  nn_status st = nn_contiguous(x, &copy, &xc);
  if (!st) {
    nn_kernel_avg_pool2d_forward(nn_tensor_data(out), nn_tensor_data(xc), &g);
    nn_node *node;
    st = nn_record(&node, NN_OP_AVG_POOL2D, out, 1, (nn_tensor *[]){(nn_tensor *)x});
    if (!st && node) node->args.pool2d = *args;
  }
  nn_tensor_release(copy);
  return st;
}

/* ---- autograd ----
 * Both nodes take one input, whose gradient buffer has its shape, and
 * keep args.pool2d. */

/* No planes when the input has no cells: its windows, all padding, send
 * nothing back (and the positions saved for them point nowhere). */
static nn_pool2d_geom backward_geom(const nn_node *n, const nn_tensor *gx) {
  nn_pool2d_geom g = nn_pool2d_geometry(gx, &n->args.pool2d);
  if (nn_tensor_numel(gx) == 0) g.planes = 0;
  return g;
}

/* MAX_POOL2D: saved the int64 positions [.., OH, OW] of the maxima. */
bool nn_max_pool2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_pool2d_geom geom = backward_geom(n, gi[0]);
  nn_kernel_max_pool2d_backward(nn_tensor_data(gi[0]), nn_tensor_data(g),
                                nn_tensor_data(n->saved[0]), &geom);
  return true;
}

bool nn_avg_pool2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_pool2d_geom geom = backward_geom(n, gi[0]);
  nn_kernel_avg_pool2d_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), &geom);
  return true;
}

/* ---- adaptive average pooling ---- */

/* Input cells [*lo, *hi) of output cell i of out along a dim of in. */
static void adaptive_window(int64_t i, int64_t in, int64_t out, int64_t *lo, int64_t *hi) {
  *lo = i * in / out;
  *hi = ((i + 1) * in + out - 1) / out;
}

static void adaptive_forward(float *out, const float *x, int64_t planes, int64_t h, int64_t w,
                             int64_t oh, int64_t ow) {
  for (int64_t p = 0; p < planes; p++) {
    const float *xp = x + p * h * w;
    for (int64_t oy = 0; oy < oh; oy++) {
      int64_t y0, y1;
      adaptive_window(oy, h, oh, &y0, &y1);
      for (int64_t ox = 0; ox < ow; ox++) {
        int64_t x0, x1;
        adaptive_window(ox, w, ow, &x0, &x1);
        float sum = 0;
        for (int64_t iy = y0; iy < y1; iy++)
          for (int64_t ix = x0; ix < x1; ix++) sum += xp[iy * w + ix];
        out[(p * oh + oy) * ow + ox] = sum / (float)((y1 - y0) * (x1 - x0));
      }
    }
  }
}

static void adaptive_backward(float *gx, const float *gout, int64_t planes, int64_t h, int64_t w,
                              int64_t oh, int64_t ow) {
  for (int64_t p = 0; p < planes; p++) {
    float *gp = gx + p * h * w;
    for (int64_t oy = 0; oy < oh; oy++) {
      int64_t y0, y1;
      adaptive_window(oy, h, oh, &y0, &y1);
      for (int64_t ox = 0; ox < ow; ox++) {
        int64_t x0, x1;
        adaptive_window(ox, w, ow, &x0, &x1);
        float v = gout[(p * oh + oy) * ow + ox] / (float)((y1 - y0) * (x1 - x0));
        for (int64_t iy = y0; iy < y1; iy++)
          for (int64_t ix = x0; ix < x1; ix++) gp[iy * w + ix] += v;
      }
    }
  }
}

void nn_kernel_adaptive_avg_pool2d_forward(float *out, const float *x, int64_t planes, int64_t h,
                                           int64_t w, int64_t oh, int64_t ow) {
  nn_pool2d_geom g = {.planes = planes, .h = h, .w = w, .oh = oh, .ow = ow};
  split_planes(&(pool_job){ADAPTIVE_FORWARD, out, NULL, x, NULL, g});
}

void nn_kernel_adaptive_avg_pool2d_backward(float *gx, const float *gout, int64_t planes,
                                            int64_t h, int64_t w, int64_t oh, int64_t ow) {
  nn_pool2d_geom g = {.planes = planes, .h = h, .w = w, .oh = oh, .ow = ow};
  split_planes(&(pool_job){ADAPTIVE_BACKWARD, gx, NULL, gout, NULL, g});
}

/* Planes of a [N, C, H, W] or [C, H, W] tensor. */
static int64_t planes_of(const nn_tensor *t) {
  int d = t->ndim;
  return t->shape[d - 3] * (d == 4 ? t->shape[0] : 1);
}

nn_status nn_adaptive_avg_pool2d(nn_tensor *out, const nn_tensor *x) {
  nn_tensor *copy;
  const nn_tensor *xc;
  int d = x->ndim;
  nn_status st = nn_contiguous(x, &copy, &xc);
  if (!st) {
    nn_kernel_adaptive_avg_pool2d_forward(nn_tensor_data(out), nn_tensor_data(xc), planes_of(x),
                                          x->shape[d - 2], x->shape[d - 1], out->shape[d - 2],
                                          out->shape[d - 1]);
    nn_node *node;
    st = nn_record(&node, NN_OP_ADAPTIVE_AVG_POOL2D, out, 1, (nn_tensor *[]){(nn_tensor *)x});
  }
  nn_tensor_release(copy);
  return st;
}

/* ADAPTIVE_AVG_POOL2D: no saved tensor, no arguments; gi[0] has the
 * input's shape, g the output's. */
bool nn_adaptive_avg_pool2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  (void)n;
  if (!gi[0]) return true;
  int d = g->ndim;
  nn_kernel_adaptive_avg_pool2d_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), planes_of(g),
                                         gi[0]->shape[d - 2], gi[0]->shape[d - 1], g->shape[d - 2],
                                         g->shape[d - 1]);
  return true;
}
