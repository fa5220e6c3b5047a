/* Resampling (nn_upsample.h). The kernels against naive loops in double
 * (nearest and bilinear, align_corners or not, by size or by scale
 * factor, up and down), the backward as the adjoint of the forward
 * (adding into buffers that already hold values), the step rule, and
 * the entry point nn_upsample2d: strided input, the node and its
 * arguments, the gradient through nn_backward, no node without
 * requires_grad, every allocation failing in turn. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_upsample.h"

static float *random_floats(int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) p[i] = (float)rnd();
  return p;
}

static double max_err(const float *a, const double *b, int64_t n) {
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double e = fabs(a[i] - b[i]) / (1 + fabs(b[i]));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}

/* Source cells and weights of output cell i along a dim, in double. */
static int naive_taps(const nn_upsample2d_args *a, int64_t i, int64_t in, int64_t out,
                      double scale, int64_t cell[2], double weight[2]) {
  double r = scale > 0 ? 1.0 / scale : (double)in / (double)out;
  if (a->mode == NN_UPSAMPLE_NEAREST) {
    int64_t s = (int64_t)floor((double)i * r);
    cell[0] = s < in - 1 ? s : in - 1;
    weight[0] = 1;
    return 1;
  }
  double real;
  if (a->align_corners) real = out > 1 ? (double)i * (double)(in - 1) / (double)(out - 1) : 0;
  else real = fmax((i + 0.5) * r - 0.5, 0);
  int64_t i0 = (int64_t)real;
  cell[0] = i0;
  cell[1] = i0 < in - 1 ? i0 + 1 : i0;
  weight[1] = real - (double)i0;
  weight[0] = 1 - weight[1];
  return 2;
}

/* out = resampled x; gx += the adjoint applied to gout. */
static void naive_upsample(double *out, double *gx, const float *x, const float *gout,
                           const nn_upsample2d_args *a, int64_t planes, int64_t h, int64_t w,
                           int64_t oh, int64_t ow) {
  for (int64_t p = 0; p < planes; p++)
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox++) {
        int64_t cy[2], cx[2];
        double wy[2], wx[2];
        int ny = naive_taps(a, oy, h, oh, a->scale_h, cy, wy);
        int nx = naive_taps(a, ox, w, ow, a->scale_w, cx, wx);
        int64_t at = (p * oh + oy) * ow + ox;
        double v = 0;
        for (int u = 0; u < ny; u++)
          for (int k = 0; k < nx; k++) {
            int64_t src = (p * h + cy[u]) * w + cx[k];
            v += wy[u] * wx[k] * x[src];
            gx[src] += wy[u] * wx[k] * gout[at];
          }
        out[at] = v;
      }
}

typedef struct up_case {
  nn_upsample_mode mode;
  bool align_corners;
  double sh, sw; /* scale factors, 0: by size */
  int64_t planes, h, w, oh, ow;
} up_case;

static const up_case cases[] = {
    {NN_UPSAMPLE_NEAREST, false, 2, 2, 3, 3, 4, 6, 8},
    {NN_UPSAMPLE_NEAREST, false, 0, 0, 2, 5, 4, 7, 3},
    {NN_UPSAMPLE_NEAREST, false, 1.5, 3, 2, 4, 3, 6, 9},
    {NN_UPSAMPLE_NEAREST, false, 0, 0, 1, 6, 6, 2, 3},
    {NN_UPSAMPLE_BILINEAR, false, 2, 2, 3, 3, 4, 6, 8},
    {NN_UPSAMPLE_BILINEAR, false, 0, 0, 2, 7, 6, 4, 5},
    {NN_UPSAMPLE_BILINEAR, false, 0, 0, 2, 1, 5, 3, 8},
    {NN_UPSAMPLE_BILINEAR, true, 0, 0, 2, 3, 4, 5, 9},
    {NN_UPSAMPLE_BILINEAR, true, 2.5, 2, 1, 4, 3, 10, 6},
    {NN_UPSAMPLE_BILINEAR, true, 0, 0, 1, 4, 3, 1, 1},
};

static void test_kernels(void) {
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    const up_case *c = &cases[k];
    nn_upsample2d_args a = {.mode = c->mode, .align_corners = c->align_corners,
                            .scale_h = c->sh, .scale_w = c->sw};
    nn_upsample2d_geom g = {.planes = c->planes, .h = c->h, .w = c->w, .oh = c->oh, .ow = c->ow,
                            .mode = c->mode, .align_corners = c->align_corners};
    g.rh = nn_upsample2d_step(c->h, c->oh, c->sh, &a);
    g.rw = nn_upsample2d_step(c->w, c->ow, c->sw, &a);
    int64_t xn = c->planes * c->h * c->w, on = c->planes * c->oh * c->ow;
    float *x = random_floats(xn), *gout = random_floats(on), *gx = random_floats(xn);
    float *out = malloc(sizeof(float) * (size_t)on);
    double *ref = calloc((size_t)on, sizeof(double)), *rgx = calloc((size_t)xn, sizeof(double));
    for (int64_t i = 0; i < xn; i++) rgx[i] = gx[i];
    naive_upsample(ref, rgx, x, gout, &a, c->planes, c->h, c->w, c->oh, c->ow);
    nn_kernel_upsample2d_forward(out, x, &g);
    CHECK(max_err(out, ref, on) < 1e-5);
    nn_kernel_upsample2d_backward(gx, gout, &g);
    CHECK(max_err(gx, rgx, xn) < 1e-5);
    free(x), free(gout), free(gx), free(out), free(ref), free(rgx);
  }
}

static void test_step(void) {
  nn_upsample2d_args nearest = {.mode = NN_UPSAMPLE_NEAREST};
  nn_upsample2d_args corners = {.mode = NN_UPSAMPLE_BILINEAR, .align_corners = true};
  CHECK_NEAR(nn_upsample2d_step(4, 8, 2, &nearest), 0.5, 0);
  CHECK_NEAR(nn_upsample2d_step(5, 7, 0, &nearest), 5.0f / 7.0f, 0);
  CHECK_NEAR(nn_upsample2d_step(5, 7, 1.5, &nearest), (float)(1 / 1.5), 0);
  CHECK_NEAR(nn_upsample2d_step(4, 7, 2, &corners), 0.5, 0);
  CHECK_NEAR(nn_upsample2d_step(4, 1, 0, &corners), 0, 0);
}

/* x [2, 3, 4, 5] seen through a transposed view of a [2, 3, 5, 4] tensor. */
static nn_tensor *strided_input(void) {
  nn_tensor *base = nn_tensor_empty(NN_FLOAT32, 4, (int64_t[]){2, 3, 5, 4});
  float *p = nn_tensor_data(base);
  for (int64_t i = 0; i < 120; i++) p[i] = (float)rnd();
  nn_tensor *x = nn_tensor_view(base, 4, (int64_t[]){2, 3, 4, 5}, (int64_t[]){60, 20, 1, 4}, 0);
  nn_tensor_release(base);
  return x;
}

static void test_entry(void) {
  nn_upsample2d_args a = {.mode = NN_UPSAMPLE_BILINEAR, .scale_h = 1.5, .scale_w = 2};
  int64_t os[4] = {2, 3, 6, 10};
  nn_tensor *x = strided_input();
  nn_tensor *out = nn_tensor_empty(NN_FLOAT32, 4, os);
  CHECK(nn_upsample2d(out, x, &a) == NN_OK && !out->grad_fn);
  nn_tensor_release(out);
  x->requires_grad = true;
  out = nn_tensor_empty(NN_FLOAT32, 4, os);
  nn_tensor *gout = nn_tensor_empty(NN_FLOAT32, 4, os);
  float *go = nn_tensor_data(gout);
  for (int64_t i = 0; i < 360; i++) go[i] = (float)rnd();
  CHECK(nn_upsample2d(out, x, &a) == NN_OK);
  nn_node *node = out->grad_fn;
  CHECK(node && node->op == NN_OP_UPSAMPLE2D && !memcmp(&node->args.upsample2d, &a, sizeof a));
  /* the input's values in row-major order */
  nn_tensor *xc = nn_tensor_empty(NN_FLOAT32, 4, x->shape);
  nn_copy(xc, x);
  double ref[360], rgx[120] = {0};
  naive_upsample(ref, rgx, nn_tensor_data(xc), go, &a, 6, 4, 5, 6, 10);
  CHECK(max_err(nn_tensor_data(out), ref, 360) < 1e-5);
  CHECK(nn_backward(out, gout, false).status == NN_BACKWARD_OK);
  CHECK(x->grad && max_err(nn_tensor_data(x->grad), rgx, 120) < 1e-5);
  nn_tensor_release(out), nn_tensor_release(xc);

  uint64_t live = nn_memory_stats_get().live_count;
  int failures = 0;
  nn_status st = NN_ERR_NOMEM;
  for (uint64_t n = 1; n < 20 && st == NN_ERR_NOMEM; n++) {
    out = nn_tensor_empty(NN_FLOAT32, 4, os);
    nn_alloc_fail_after(n);
    st = nn_upsample2d(out, x, &a);
    nn_alloc_fail_after(0);
    failures += st == NN_ERR_NOMEM;
    CHECK(st == NN_ERR_NOMEM || (st == NN_OK && out->grad_fn));
    nn_tensor_release(out);
  }
  CHECK(failures > 0 && st == NN_OK);
  CHECK(nn_memory_stats_get().live_count == live);
  nn_tensor_release(gout), nn_tensor_release(x);
}

int main(void) {
  RUN(test_kernels);
  RUN(test_step);
  RUN(test_entry);
  return check_summary();
}
