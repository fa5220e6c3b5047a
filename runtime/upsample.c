/*
 * 2-D resampling, nearest and bilinear (nn_upsample.h has the rules).
 * Each output row's (column's) source cells and weights are computed once
 * per plane walk, as PyTorch's kernels compute them, so forward and
 * backward agree to the bit on which cells an output reads.
 */
#include "nn_upsample.h"

#include <math.h>

#include "nn_autograd.h"

float nn_upsample2d_step(int64_t in, int64_t out, double scale, const nn_upsample2d_args *args) {
  if (args->mode == NN_UPSAMPLE_BILINEAR && args->align_corners)
    return out > 1 ? (float)(in - 1) / (float)(out - 1) : 0.0f;
  return scale > 0 ? (float)(1.0 / scale) : (float)in / (float)out;
}

nn_upsample2d_geom nn_upsample2d_geometry(const nn_tensor *x, const nn_tensor *out,
                                          const nn_upsample2d_args *a) {
  nn_upsample2d_geom g = {.planes = x->shape[0] * x->shape[1], .h = x->shape[2],
                          .w = x->shape[3], .oh = out->shape[2], .ow = out->shape[3],
                          .mode = a->mode, .align_corners = a->align_corners};
  g.rh = nn_upsample2d_step(g.h, g.oh, a->scale_h, a);
  g.rw = nn_upsample2d_step(g.w, g.ow, a->scale_w, a);
  return g;
}

/* Where output cell i of a dim reads: cells i0 and i0 + step, weights
 * l0 and l1 (nearest: i0 alone, weight 1, step 0). */
typedef struct source {
  int64_t i0, step;
  float l0, l1;
} source;

static source source_of(const nn_upsample2d_geom *g, int64_t i, float r, int64_t in) {
  if (g->mode == NN_UPSAMPLE_NEAREST) {
    int64_t s = (int64_t)floorf((float)i * r);
    return (source){.i0 = s < in - 1 ? s : in - 1, .l0 = 1.0f};
  }
  float real = g->align_corners ? r * (float)i : r * ((float)i + 0.5f) - 0.5f;
  if (real < 0) real = 0;
  int64_t i0 = (int64_t)real;
  float l1 = real - (float)i0;
  if (l1 > 1) l1 = 1;
  return (source){.i0 = i0, .step = i0 < in - 1 ? 1 : 0, .l0 = 1.0f - l1, .l1 = l1};
}

void nn_kernel_upsample2d_forward(float *out, const float *x, const nn_upsample2d_geom *g) {
  for (int64_t p = 0; p < g->planes; p++)
    for (int64_t oy = 0; oy < g->oh; oy++) {
      source sy = source_of(g, oy, g->rh, g->h);
      for (int64_t ox = 0; ox < g->ow; ox++) {
        source sx = source_of(g, ox, g->rw, g->w);
        const float *r0 = x + (p * g->h + sy.i0) * g->w, *r1 = r0 + sy.step * g->w;
        float v = sy.l0 * (sx.l0 * r0[sx.i0] + sx.l1 * r0[sx.i0 + sx.step]);
        if (g->mode == NN_UPSAMPLE_BILINEAR)
          v += sy.l1 * (sx.l0 * r1[sx.i0] + sx.l1 * r1[sx.i0 + sx.step]);
        out[(p * g->oh + oy) * g->ow + ox] = v;
      }
    }
}

void nn_kernel_upsample2d_backward(float *gx, const float *gout, const nn_upsample2d_geom *g) {
  for (int64_t p = 0; p < g->planes; p++)
    for (int64_t oy = 0; oy < g->oh; oy++) {
      source sy = source_of(g, oy, g->rh, g->h);
      for (int64_t ox = 0; ox < g->ow; ox++) {
        source sx = source_of(g, ox, g->rw, g->w);
        float v = gout[(p * g->oh + oy) * g->ow + ox];
        float *r0 = gx + (p * g->h + sy.i0) * g->w, *r1 = r0 + sy.step * g->w;
        if (g->mode == NN_UPSAMPLE_NEAREST) {
          r0[sx.i0] += v;
          continue;
        }
        r0[sx.i0] += sy.l0 * sx.l0 * v;
        r0[sx.i0 + sx.step] += sy.l0 * sx.l1 * v;
        r1[sx.i0] += sy.l1 * sx.l0 * v;
        r1[sx.i0 + sx.step] += sy.l1 * sx.l1 * v;
      }
    }
}

nn_status nn_upsample2d(nn_tensor *out, const nn_tensor *x, const nn_upsample2d_args *args) {
  nn_upsample2d_geom g = nn_upsample2d_geometry(x, out, args);
  nn_tensor *copy;
  const nn_tensor *xc;
  nn_status st = nn_contiguous(x, &copy, &xc);
  if (!st) {
    nn_kernel_upsample2d_forward(nn_tensor_data(out), nn_tensor_data(xc), &g);
    nn_node *node;
    st = nn_record(&node, NN_OP_UPSAMPLE2D, out, 1, (nn_tensor *[]){(nn_tensor *)x});
    if (!st && node) node->args.upsample2d = *args;
  }
  nn_tensor_release(copy);
  return st;
}

/* UPSAMPLE2D node: no saved tensor; gi[0] has the input's shape, g the
 * output's; args.upsample2d. */
bool nn_upsample2d_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  if (!gi[0]) return true;
  nn_upsample2d_geom geom = nn_upsample2d_geometry(gi[0], g, &n->args.upsample2d);
  nn_kernel_upsample2d_backward(nn_tensor_data(gi[0]), nn_tensor_data(g), &geom);
  return true;
}
