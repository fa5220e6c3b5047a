/* nn_optim's update kernels against the textbook formulas evaluated in
 * double (several steps, every option), the clipping helpers and the
 * clipping entry points (nn_clip_grad_norm, nn_clip_grad_value) and the
 * gradient buckets (nn_bucket_attach, nn_bucket_divide). The
 * exact match with PyTorch's rounding is checked by tests/lua/optim_spec.lua
 * against PyTorch's own trajectories. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nn_alloc.h"
#include "nn_optim.h"

#define N 37     /* elements per parameter: not a multiple of any vector width */
#define STEPS 6

/* A parameter in float (for the kernel) and in double (the reference),
 * the gradients of every step, and up to three state arrays of each. */
typedef struct problem {
  float p[N], s[3][N];
  double rp[N], rs[3][N];
  float g[STEPS][N];
} problem;

static void setup(problem *pb, double state_init) {
  for (int i = 0; i < N; i++) {
    pb->p[i] = (float)(2 * rnd());
    pb->rp[i] = pb->p[i];
    for (int k = 0; k < 3; k++) {
      pb->s[k][i] = (float)state_init;
      pb->rs[k][i] = state_init;
    }
    for (int t = 0; t < STEPS; t++) pb->g[t][i] = (float)rnd();
  }
}

/* Every element of the kernel's parameter within rel of the reference. */
static void expect_close(const problem *pb, double rel) {
  double worst = 0;
  for (int i = 0; i < N; i++) {
    double err = fabs(pb->p[i] - pb->rp[i]) / (fabs(pb->rp[i]) + 1e-2);
    if (!(err <= worst)) worst = err; /* NaN sticks */
  }
  CHECK_NEAR(worst, 0, rel);
}

/* ---- SGD ---- */

static void sgd_case(double lr, double mom, double damp, double wd, bool nesterov) {
  problem pb;
  setup(&pb, 0);
  for (int t = 0; t < STEPS; t++) {
    nn_sgd_opts o = {lr, mom, damp, wd, nesterov, t == 0, 0};
    nn_sgd_step(pb.p, pb.g[t], mom != 0 ? pb.s[0] : NULL, N, &o);
    for (int i = 0; i < N; i++) {
      double d = pb.g[t][i] + wd * pb.rp[i];
      if (mom != 0) {
        double *b = &pb.rs[0][i];
        *b = t == 0 ? d : mom * *b + (1 - damp) * d;
        d = nesterov ? d + mom * *b : *b;
      }
      pb.rp[i] -= lr * d;
    }
  }
  expect_close(&pb, 1e-5);
}

static void test_sgd(void) {
  sgd_case(0.1, 0, 0, 0, false);
  sgd_case(0.1, 0.9, 0, 0, false);
  sgd_case(0.1, 0.9, 0.5, 0, false);
  sgd_case(0.05, 0.9, 0, 0, true);
  sgd_case(0.1, 0, 0, 0.1, false);
  sgd_case(0.1, 0.8, 0.2, 0.05, false);
}

/* The first momentum step copies the gradient (plus decay) into the
 * buffer, whatever the buffer held. */
static void test_sgd_first_step(void) {
  float p[2] = {1, -2}, g[2] = {0.5f, 0.25f}, buf[2] = {100, 100};
  nn_sgd_opts o = {.lr = 0.5, .momentum = 0.9, .weight_decay = 0.5, .first_step = true};
  nn_sgd_step(p, g, buf, 2, &o);
  CHECK(buf[0] == 1.0f && buf[1] == -0.75f);
  CHECK(p[0] == 0.5f && p[1] == -1.625f);
}

/* ---- Adam / AdamW ---- */

static void adam_case(double lr, double b1, double b2, double eps, double wd, bool amsgrad,
                      bool decoupled) {
  problem pb;
  setup(&pb, 0);
  for (int t = 0; t < STEPS; t++) {
    nn_adam_opts o = {lr, b1, b2, eps, wd, t + 1, decoupled, 0};
    nn_adam_step(pb.p, pb.s[0], pb.s[1], amsgrad ? pb.s[2] : NULL, pb.g[t], N, &o);
    for (int i = 0; i < N; i++) {
      double g = pb.g[t][i], *m = &pb.rs[0][i], *v = &pb.rs[1][i], *vmax = &pb.rs[2][i];
      if (decoupled) pb.rp[i] *= 1 - lr * wd;
      else g += wd * pb.rp[i];
      *m = b1 * *m + (1 - b1) * g;
      *v = b2 * *v + (1 - b2) * g * g;
      double vhat = *v;
      if (amsgrad) vhat = *vmax = fmax(*vmax, *v);
      double mhat = *m / (1 - pow(b1, t + 1));
      vhat /= 1 - pow(b2, t + 1);
      pb.rp[i] -= lr * mhat / (sqrt(vhat) + eps);
    }
  }
  expect_close(&pb, 1e-5);
}

static void test_adam(void) {
  adam_case(1e-3, 0.9, 0.999, 1e-8, 0, false, false);
  adam_case(0.01, 0.8, 0.9, 1e-6, 0, false, false);
  adam_case(0.01, 0.9, 0.999, 1e-8, 0.1, false, false);
  adam_case(0.01, 0.9, 0.999, 1e-8, 0, true, false);
  adam_case(0.01, 0.9, 0.999, 1e-8, 0.01, false, true);
  adam_case(0.01, 0.5, 0.6, 1e-8, 0.3, true, true);
}

/* Adam's first step moves every element by about lr (m_hat / sqrt(v_hat)
 * is the sign of the gradient). */
static void test_adam_first_step(void) {
  float p[3] = {0, 0, 0}, g[3] = {3, -0.01f, 0}, m[3] = {0}, v[3] = {0};
  nn_adam_opts o = {.lr = 0.1, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = 1};
  nn_adam_step(p, m, v, NULL, g, 3, &o);
  CHECK_NEAR(p[0], -0.1, 1e-6);
  CHECK_NEAR(p[1], 0.1, 1e-5);
  CHECK(p[2] == 0);
}

/* ---- RMSprop ---- */

static void rmsprop_case(double lr, double alpha, double eps, double wd, double mom, bool centered) {
  problem pb;
  setup(&pb, 0);
  for (int t = 0; t < STEPS; t++) {
    nn_rmsprop_opts o = {lr, alpha, eps, wd, mom};
    nn_rmsprop_step(pb.p, pb.s[0], centered ? pb.s[1] : NULL, mom > 0 ? pb.s[2] : NULL, pb.g[t], N, &o);
    for (int i = 0; i < N; i++) {
      double g = pb.g[t][i] + wd * pb.rp[i];
      double *sq = &pb.rs[0][i], *ga = &pb.rs[1][i], *b = &pb.rs[2][i];
      *sq = alpha * *sq + (1 - alpha) * g * g;
      double var = *sq;
      if (centered) {
        *ga = alpha * *ga + (1 - alpha) * g;
        var -= *ga * *ga;
      }
      double avg = sqrt(var) + eps;
      if (mom > 0) {
        *b = mom * *b + g / avg;
        pb.rp[i] -= lr * *b;
      } else {
        pb.rp[i] -= lr * g / avg;
      }
    }
  }
  expect_close(&pb, 1e-5);
}

static void test_rmsprop(void) {
  rmsprop_case(0.01, 0.99, 1e-8, 0, 0, false);
  rmsprop_case(0.01, 0.9, 1e-6, 0, 0.9, false);
  rmsprop_case(0.01, 0.99, 1e-8, 0, 0, true);
  rmsprop_case(0.01, 0.9, 1e-8, 0.1, 0.5, true);
}

/* ---- Adagrad ---- */

static void adagrad_case(double lr, double lr_decay, double wd, double init, double eps) {
  problem pb;
  setup(&pb, init);
  for (int t = 0; t < STEPS; t++) {
    nn_adagrad_opts o = {lr, lr_decay, wd, eps, t + 1};
    nn_adagrad_step(pb.p, pb.s[0], pb.g[t], N, &o);
    double clr = lr / (1 + t * lr_decay);
    for (int i = 0; i < N; i++) {
      double g = pb.g[t][i] + wd * pb.rp[i];
      pb.rs[0][i] += g * g;
      pb.rp[i] -= clr * g / (sqrt(pb.rs[0][i]) + eps);
    }
  }
  expect_close(&pb, 1e-5);
}

static void test_adagrad(void) {
  adagrad_case(0.01, 0, 0, 0, 1e-10);
  adagrad_case(0.1, 0.1, 0, 0, 1e-10);
  adagrad_case(0.1, 0, 0.1, 0.5, 1e-6);
}

/* ---- the proximal L1 step ---- */

/* The soft-threshold in double: sign(x) * max(|x| - t, 0). */
static double soft(double x, double t) {
  double a = fabs(x) - t;
  return a > 0 ? copysign(a, x) : 0;
}

/* SGD and Adam with l1: each step is the plain update followed by the
 * soft-threshold by lr * l1, step for step; exact zeros appear. */
static void test_l1(void) {
  for (int k = 0; k < 2; k++) {
    bool adam = k == 1;
    problem pb, plain;
    setup(&pb, 0);
    plain = pb;
    const double lr = adam ? 0.05 : 0.1, lambda = 1.5, mom = 0.9;
    int zeros = 0;
    for (int t = 0; t < STEPS; t++) {
      if (adam) {
        nn_adam_opts o = {.lr = lr, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = t + 1, .l1 = lambda};
        nn_adam_step(pb.p, pb.s[0], pb.s[1], NULL, pb.g[t], N, &o);
        /* the reference: the same kernel without l1 from the same start,
         * then the formula */
        nn_adam_opts q = o;
        q.l1 = 0;
        nn_adam_step(plain.p, plain.s[0], plain.s[1], NULL, plain.g[t], N, &q);
      } else {
        nn_sgd_opts o = {.lr = lr, .momentum = mom, .first_step = t == 0, .l1 = lambda};
        nn_sgd_step(pb.p, pb.g[t], pb.s[0], N, &o);
        nn_sgd_opts q = o;
        q.l1 = 0;
        nn_sgd_step(plain.p, plain.g[t], plain.s[0], N, &q);
      }
      for (int i = 0; i < N; i++) {
        float want = (float)soft(plain.p[i], (float)(lr * lambda));
        CHECK(pb.p[i] == want);
        plain.p[i] = pb.p[i]; /* continue from the thresholded weights */
      }
    }
    for (int i = 0; i < N; i++) zeros += pb.p[i] == 0;
    CHECK(zeros > 0);
  }
  /* l1 0 changes nothing; a zero stays +0 */
  float x[4] = {0.5f, -0.5f, 0.1f, -0.1f}, g[4] = {0, 0, 0, 0};
  nn_sgd_opts o = {.lr = 1, .l1 = 0.25};
  nn_sgd_step(x, g, NULL, 4, &o);
  CHECK(x[0] == 0.25f && x[1] == -0.25f && x[2] == 0 && !signbit(x[2]) && x[3] == 0 && !signbit(x[3]));
  float y[3] = {2, NAN, -3};
  nn_soft_threshold(y, 3, 1);
  CHECK(y[0] == 1 && isnan(y[1]) && y[2] == -2);
}

/* Zero elements: nothing is touched. */
static void test_empty(void) {
  float x = 7;
  nn_sgd_opts so = {.lr = 1, .momentum = 0.9, .first_step = true};
  nn_sgd_step(&x, &x, &x, 0, &so);
  nn_adam_opts ao = {.lr = 1, .beta1 = 0.9, .beta2 = 0.99, .step = 1};
  nn_adam_step(&x, &x, &x, &x, &x, 0, &ao);
  nn_rmsprop_opts ro = {.lr = 1, .alpha = 0.9, .momentum = 0.5};
  nn_rmsprop_step(&x, &x, &x, &x, &x, 0, &ro);
  nn_adagrad_opts go = {.lr = 1, .step = 1};
  nn_adagrad_step(&x, &x, &x, 0, &go);
  CHECK(x == 7);
  CHECK(nn_pow_sum(&x, 0, 2) == 0);
}

/* ---- clipping helpers ---- */

static void test_pow_sum(void) {
  float x[5] = {3, -4, 0, 1, -2};
  CHECK_NEAR(nn_pow_sum(x, 5, 2), 30, 1e-12);
  CHECK_NEAR(nn_pow_sum(x, 5, 1), 10, 1e-12);
  CHECK_NEAR(nn_pow_sum(x, 5, 3), 27 + 64 + 1 + 8, 1e-9);
  CHECK_NEAR(nn_pow_sum(x, 5, 0.5), sqrt(3) + 2 + 1 + sqrt(2), 1e-9);
  CHECK(nn_pow_sum(x, 5, INFINITY) == 4);
  x[2] = NAN;
  CHECK(isnan(nn_pow_sum(x, 5, INFINITY)));
  CHECK(isnan(nn_pow_sum(x, 5, 2)));
}

static void test_scale_and_clamp(void) {
  float x[5] = {3, -4, 0.25f, NAN, -0.5f};
  nn_scale(x, 5, 0.5f);
  CHECK(x[0] == 1.5f && x[1] == -2 && x[2] == 0.125f && isnan(x[3]) && x[4] == -0.25f);
  nn_clamp_values(x, 5, -1, 1);
  CHECK(x[0] == 1 && x[1] == -1 && x[2] == 0.125f && isnan(x[3]) && x[4] == -0.25f);
}

/* ---- the clipping entry points ---- */

/* A [n] float32 tensor holding values. */
static nn_tensor *vector(int64_t n, const float *values) {
  nn_tensor *t = nn_tensor_zeros(NN_FLOAT32, 1, &n);
  memcpy(nn_tensor_data(t), values, (size_t)n * sizeof(float));
  return t;
}

static void test_clip_grad_norm(void) {
  nn_tensor *a = vector(2, (float[]){3, 4}), *b = vector(1, (float[]){12});
  nn_tensor *grads[] = {a, NULL, b}; /* the second parameter has no gradient */
  /* ||(3, 4, 12)|| = 13: above 6.5, so everything is halved (to float32 rounding). */
  CHECK_NEAR(nn_clip_grad_norm(grads, 3, 6.5, 2), 13, 1e-5);
  float *da = nn_tensor_data(a), *db = nn_tensor_data(b);
  CHECK_NEAR(da[0], 1.5, 1e-6);
  CHECK_NEAR(da[1], 2, 1e-6);
  CHECK_NEAR(db[0], 6, 1e-5);
  /* Below max_norm: nothing changes. The max norm and the 1-norm. */
  float a0 = da[0], b0 = db[0];
  CHECK_NEAR(nn_clip_grad_norm(grads, 3, 100, 2), 6.5, 1e-5);
  CHECK(da[0] == a0 && db[0] == b0);
  CHECK_NEAR(nn_clip_grad_norm(grads, 3, 100, INFINITY), 6, 1e-6);
  CHECK_NEAR(nn_clip_grad_norm(grads, 3, 100, 1), 9.5, 1e-5);
  /* A NaN wins the max norm; no gradients at all give 0. */
  da[0] = NAN;
  CHECK(isnan(nn_clip_grad_norm(grads, 3, 100, INFINITY)));
  nn_tensor *none[] = {NULL};
  CHECK(nn_clip_grad_norm(none, 1, 1, 2) == 0);
  CHECK(nn_clip_grad_norm(none, 0, 1, 2) == 0);
  nn_tensor_release(a);
  nn_tensor_release(b);
}

static void test_clip_grad_value(void) {
  nn_tensor *a = vector(3, (float[]){-3, 0.5f, 2});
  nn_tensor *grads[] = {NULL, a};
  nn_clip_grad_value(grads, 2, 1);
  const float *d = nn_tensor_data(a);
  CHECK(d[0] == -1 && d[1] == 0.5f && d[2] == 1);
  nn_tensor_release(a);
}

/* Gradient buckets: the gradients of parameters of 2x3, 0 and 4 elements
 * (and one without a gradient) become views of a 10-element bucket, their
 * values copied in; attaching again copies nothing; a gradient set anew is
 * copied into its slice again; every allocation failing in turn leaves a
 * consistent state and no leak. Then the division by 3 (rounding as each
 * quotient) and by 4 (the product by 0.25, exact). */
static nn_tensor *param_with_grad(int ndim, const int64_t *shape, float first) {
  nn_tensor *p = nn_tensor_zeros(NN_FLOAT32, ndim, shape);
  p->grad = nn_tensor_zeros(NN_FLOAT32, ndim, shape);
  float *g = nn_tensor_data(p->grad);
  for (int64_t i = 0; i < nn_tensor_numel(p->grad); i++) g[i] = first + (float)i;
  return p;
}

static void test_bucket(void) {
  int64_t s23[2] = {2, 3}, s0 = 0, s4 = 4, s10 = 10;
  nn_tensor *a = param_with_grad(2, s23, 1), *e = param_with_grad(1, &s0, 0), *b = param_with_grad(1, &s4, 7);
  nn_tensor *none = nn_tensor_zeros(NN_FLOAT32, 1, &s4); /* no gradient: skipped */
  nn_tensor *ps[] = {a, none, e, b};
  nn_tensor *bucket = nn_tensor_zeros(NN_FLOAT32, 1, &s10);
  float *x = nn_tensor_data(bucket);
  CHECK(nn_bucket_attach(bucket, ps, 4) == NN_OK);
  for (int i = 0; i < 10; i++) CHECK(x[i] == (float)(i + 1));
  CHECK(a->grad->storage == bucket->storage && a->grad->offset == 0 && a->grad->ndim == 2);
  CHECK(a->grad->shape[0] == 2 && a->grad->stride[0] == 3 && a->grad->stride[1] == 1);
  CHECK(b->grad->storage == bucket->storage && b->grad->offset == 6);
  CHECK(none->grad == NULL);
  /* backward accumulating into a view writes the bucket; attaching again keeps it */
  nn_tensor *view = a->grad;
  ((float *)nn_tensor_data(view))[1] = 50;
  CHECK(nn_bucket_attach(bucket, ps, 4) == NN_OK);
  CHECK(a->grad == view && x[1] == 50);
  /* a gradient set anew (zero_grad{set_to_none=true}, then backward) */
  nn_tensor_release(b->grad);
  b->grad = nn_tensor_zeros(NN_FLOAT32, 1, &s4);
  ((float *)nn_tensor_data(b->grad))[2] = -3;
  CHECK(nn_bucket_attach(bucket, ps, 4) == NN_OK);
  CHECK(x[6] == 0 && x[8] == -3 && b->grad->storage == bucket->storage);
  /* out of memory making the view: the old gradient is kept */
  nn_tensor_release(b->grad);
  b->grad = nn_tensor_zeros(NN_FLOAT32, 1, &s4);
  nn_tensor *fresh = b->grad;
  nn_alloc_fail_after(1);
  CHECK(nn_bucket_attach(bucket, ps, 4) == NN_ERR_NOMEM);
  nn_alloc_fail_after(0);
  CHECK(b->grad == fresh);
  CHECK(nn_bucket_attach(bucket, ps, 4) == NN_OK && b->grad != fresh);

  float q[5] = {1, 2, 10, -7, 1e-3f}, want[5];
  for (int i = 0; i < 5; i++) want[i] = q[i] / 3.0f;
  nn_bucket_divide(q, 5, 3.0f);
  for (int i = 0; i < 5; i++) CHECK(q[i] == want[i]);
  for (int i = 0; i < 5; i++) want[i] = q[i] / 4.0f;
  nn_bucket_divide(q, 5, 4.0f);
  for (int i = 0; i < 5; i++) CHECK(q[i] == want[i]);
  nn_bucket_divide(q, 0, 3.0f); /* nothing */

  nn_tensor *all[] = {a, none, e, b, bucket};
  for (int i = 0; i < 5; i++) nn_tensor_release(all[i]);
}

int main(void) {
  RUN(test_sgd);
  RUN(test_sgd_first_step);
  RUN(test_adam);
  RUN(test_adam_first_step);
  RUN(test_rmsprop);
  RUN(test_adagrad);
  RUN(test_l1);
  RUN(test_empty);
  RUN(test_pow_sum);
  RUN(test_scale_and_clamp);
  RUN(test_clip_grad_norm);
  RUN(test_clip_grad_value);
  RUN(test_bucket);
  return check_summary();
}
