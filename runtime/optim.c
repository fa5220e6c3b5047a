/*
 * Optimizer update kernels and gradient clipping (nn_optim.h).
 *
 * Each kernel is PyTorch 1.13's _single_tensor_<optim> fused into one loop.
 * The comments quote the PyTorch line each statement reproduces; float
 * locals force the rounding after every op that PyTorch rounds (each
 * tensor op writes a float32 tensor), and the float32 constants are the
 * Python scalars as ATen converts them.
 */
#include <math.h>
#include <string.h>

#include "nn_optim.h"
#include "nn_threads.h"

/* Each update is elementwise: the pool (nn_threads.h) splits a parameter
 * into parts of at least GRAIN elements, each part running the same loop
 * on its range (every element gets the same arithmetic as serially). */
enum { GRAIN = 16384 };

typedef enum { SGD, ADAM, RMSPROP, ADAGRAD } optim_kind;

typedef struct step_job {
  optim_kind kind;
  float *param, *s1, *s2, *s3; /* the optimizer's state arrays (NULL: unused) */
  const float *grad;
  const void *opts;
} step_job;

static void sgd_run(float *restrict param, const float *restrict grad, float *restrict momentum_buf,
                    int64_t n, const nn_sgd_opts *o);
static void adam_run(float *restrict param, float *restrict exp_avg, float *restrict exp_avg_sq,
                     float *restrict max_exp_avg_sq, const float *restrict grad, int64_t n,
                     const nn_adam_opts *o);
static void rmsprop_run(float *restrict param, float *restrict square_avg, float *restrict grad_avg,
                        float *restrict momentum_buf, const float *restrict grad, int64_t n,
                        const nn_rmsprop_opts *o);
static void adagrad_run(float *restrict param, float *restrict sum, const float *restrict grad,
                        int64_t n, const nn_adagrad_opts *o);

static float *at(float *p, int64_t i) { return p ? p + i : NULL; }

static void step_part(void *ctx, int64_t begin, int64_t end) {
  const step_job *j = ctx;
  float *p = j->param + begin, *s1 = at(j->s1, begin), *s2 = at(j->s2, begin), *s3 = at(j->s3, begin);
  const float *g = j->grad + begin;
  int64_t n = end - begin;
  switch (j->kind) {
  case SGD: sgd_run(p, g, s1, n, j->opts); break;
  case ADAM: adam_run(p, s1, s2, s3, g, n, j->opts); break;
  case RMSPROP: rmsprop_run(p, s1, s2, s3, g, n, j->opts); break;
  case ADAGRAD: adagrad_run(p, s1, g, n, j->opts); break;
  }
}

void nn_sgd_step(float *param, const float *grad, float *momentum_buf, int64_t n, const nn_sgd_opts *o) {
  nn_parallel_for(n, GRAIN, step_part, &(step_job){SGD, param, momentum_buf, NULL, NULL, grad, o});
  if (o->l1 > 0) nn_soft_threshold(param, n, (float)(o->lr * o->l1));
}

void nn_adam_step(float *param, float *exp_avg, float *exp_avg_sq, float *max_exp_avg_sq, const float *grad,
                  int64_t n, const nn_adam_opts *o) {
  nn_parallel_for(n, GRAIN, step_part, &(step_job){ADAM, param, exp_avg, exp_avg_sq, max_exp_avg_sq, grad, o});
  if (o->l1 > 0) nn_soft_threshold(param, n, (float)(o->lr * o->l1));
}

void nn_rmsprop_step(float *param, float *square_avg, float *grad_avg, float *momentum_buf,
                     const float *grad, int64_t n, const nn_rmsprop_opts *o) {
  nn_parallel_for(n, GRAIN, step_part, &(step_job){RMSPROP, param, square_avg, grad_avg, momentum_buf, grad, o});
}

void nn_adagrad_step(float *param, float *sum, const float *grad, int64_t n, const nn_adagrad_opts *o) {
  nn_parallel_for(n, GRAIN, step_part, &(step_job){ADAGRAD, param, sum, NULL, NULL, grad, o});
}

static void sgd_run(float *restrict param, const float *restrict grad, float *restrict momentum_buf,
                    int64_t n, const nn_sgd_opts *o) {
  const float wd = (float)o->weight_decay, mom = (float)o->momentum;
  const float keep = (float)(1 - o->dampening), neg_lr = (float)-o->lr;
  const bool decay = o->weight_decay != 0, use_buf = o->momentum != 0;
  const bool first = o->first_step, nesterov = o->nesterov;
  if (!decay && !use_buf) { /* plain SGD: one loop the compiler vectorizes */
    for (int64_t i = 0; i < n; i++) param[i] = param[i] + neg_lr * grad[i];
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    float d = grad[i];
    if (decay) d = d + wd * param[i]; /* d_p = d_p.add(param, alpha=wd) */
    if (use_buf) {
      float b;
      if (first) {
        b = d; /* buf = torch.clone(d_p) */
      } else {
        b = momentum_buf[i] * mom; /* buf.mul_(momentum) */
        b = b + keep * d;          /* .add_(d_p, alpha=1 - dampening) */
      }
      momentum_buf[i] = b;
      d = nesterov ? d + mom * b : b; /* d_p = d_p.add(buf, alpha=momentum) */
    }
    param[i] = param[i] + neg_lr * d; /* param.add_(d_p, alpha=-lr) */
  }
}

/* max as torch.maximum: NaN in either operand gives NaN. */
static inline float nan_max(float a, float b) {
  return isnan(a) || a > b ? a : b;
}

static void adam_run(float *restrict param, float *restrict exp_avg, float *restrict exp_avg_sq,
                     float *restrict max_exp_avg_sq, const float *restrict grad, int64_t n,
                     const nn_adam_opts *o) {
  /* The step-dependent scalars, in double as Python computes them. */
  const double bias_correction1 = 1 - pow(o->beta1, (double)o->step);
  const double bias_correction2 = 1 - pow(o->beta2, (double)o->step);
  const float neg_step_size = (float)-(o->lr / bias_correction1);
  const float bc2_sqrt = (float)sqrt(bias_correction2);
  const float eps = (float)o->eps;
  const float b1 = (float)o->beta1, one_minus_b1 = (float)(1 - o->beta1);
  const float b2 = (float)o->beta2, one_minus_b2 = (float)(1 - o->beta2);
  const float wd = (float)o->weight_decay;
  const float shrink = (float)(1 - o->lr * o->weight_decay);
  const bool decoupled = o->decoupled, coupled_decay = !o->decoupled && o->weight_decay != 0;
  for (int64_t i = 0; i < n; i++) {
    float p = param[i], g = grad[i];
    if (decoupled) p = p * shrink;         /* param.mul_(1 - lr * weight_decay) */
    if (coupled_decay) g = g + wd * p;     /* grad = grad.add(param, alpha=wd) */
    float m = exp_avg[i] * b1;             /* exp_avg.mul_(beta1) */
    m = m + one_minus_b1 * g;              /* .add_(grad, alpha=1 - beta1) */
    float v = exp_avg_sq[i] * b2;          /* exp_avg_sq.mul_(beta2) */
    v = v + one_minus_b2 * g * g;          /* .addcmul_(grad, grad, value=1 - beta2) */
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    if (max_exp_avg_sq) {                  /* torch.maximum(max_exp_avg_sq, exp_avg_sq, out=) */
      v = nan_max(max_exp_avg_sq[i], v);
      max_exp_avg_sq[i] = v;
    }
    float denom = sqrtf(v) / bc2_sqrt;     /* (v.sqrt() / bias_correction2_sqrt) */
    denom = denom + eps;                   /* .add_(eps) */
    param[i] = p + neg_step_size * m / denom; /* param.addcdiv_(m, denom, value=-step_size) */
  }
}

static void rmsprop_run(float *restrict param, float *restrict square_avg, float *restrict grad_avg,
                        float *restrict momentum_buf, const float *restrict grad, int64_t n,
                        const nn_rmsprop_opts *o) {
  const float alpha = (float)o->alpha, one_minus_alpha = (float)(1 - o->alpha);
  const float wd = (float)o->weight_decay, eps = (float)o->eps;
  const float mom = (float)o->momentum, neg_lr = (float)-o->lr;
  const bool decay = o->weight_decay != 0;
  for (int64_t i = 0; i < n; i++) {
    float p = param[i], g = grad[i];
    if (decay) g = g + wd * p;           /* grad = grad.add(param, alpha=wd) */
    float sq = square_avg[i] * alpha;    /* square_avg.mul_(alpha) */
    sq = sq + one_minus_alpha * g * g;   /* .addcmul_(grad, grad, value=1 - alpha) */
    square_avg[i] = sq;
    float avg;
    if (grad_avg) {
      float ga = grad_avg[i] * alpha;    /* grad_avg.mul_(alpha) */
      ga = ga + one_minus_alpha * g;     /* .add_(grad, alpha=1 - alpha) */
      grad_avg[i] = ga;
      avg = sqrtf(sq + -1.0f * ga * ga); /* square_avg.addcmul(ga, ga, value=-1).sqrt_() */
    } else {
      avg = sqrtf(sq);                   /* square_avg.sqrt() */
    }
    avg = avg + eps;                     /* avg.add_(eps) */
    if (momentum_buf) {
      float b = momentum_buf[i] * mom;   /* buf.mul_(momentum) */
      b = b + g / avg;                   /* .addcdiv_(grad, avg) */
      momentum_buf[i] = b;
      param[i] = p + neg_lr * b;         /* param.add_(buf, alpha=-lr) */
    } else {
      param[i] = p + neg_lr * g / avg;   /* param.addcdiv_(grad, avg, value=-lr) */
    }
  }
}

static void adagrad_run(float *restrict param, float *restrict sum, const float *restrict grad,
                        int64_t n, const nn_adagrad_opts *o) {
  /* clr = lr / (1 + (step - 1) * lr_decay), in double. */
  const double clr = o->lr / (1 + (double)(o->step - 1) * o->lr_decay);
  const float neg_clr = (float)-clr, wd = (float)o->weight_decay, eps = (float)o->eps;
  const bool decay = o->weight_decay != 0;
  for (int64_t i = 0; i < n; i++) {
    float p = param[i], g = grad[i];
    if (decay) g = g + wd * p;      /* grad = grad.add(param, alpha=wd) */
    float s = sum[i] + g * g;       /* state_sum.addcmul_(grad, grad, value=1) */
    sum[i] = s;
    float std = sqrtf(s) + eps;     /* state_sum.sqrt().add_(eps) */
    param[i] = p + neg_clr * g / std; /* param.addcdiv_(grad, std, value=-clr) */
  }
}

/* ---- gradient clipping ---- */

/* ||g||_p from the sum of |g|^p (the maximum when p is infinite). */
static double root(double s, double p) {
  if (isinf(p) || p == 1) return s;
  return p == 2 ? sqrt(s) : pow(s, 1 / p);
}

float nn_clip_grad_norm(nn_tensor *const *grads, int64_t count, double max_norm, double p) {
  double acc = 0;
  for (int64_t i = 0; i < count; i++) {
    const nn_tensor *g = grads[i];
    if (!g) continue;
    float norm = (float)root(nn_pow_sum(nn_tensor_data(g), nn_tensor_numel(g), p), p);
    if (isinf(p)) acc = isnan(norm) || norm > acc ? norm : acc;
    else acc += p == 2 ? (double)norm * norm : pow(norm, p);
  }
  float total = (float)root(acc, p);
  /* clip_coef = max_norm / (total_norm + 1e-6), a float32 tensor op:
   * reciprocal of the sum, times max_norm; then clamped to at most 1. */
  float coef = (1.0f / (total + 1e-6f)) * (float)max_norm;
  if (coef > 1.0f) coef = 1.0f;
  if (coef != 1.0f) {
    for (int64_t i = 0; i < count; i++)
      if (grads[i]) nn_scale(nn_tensor_data(grads[i]), nn_tensor_numel(grads[i]), coef);
  }
  return total;
}

void nn_clip_grad_value(nn_tensor *const *grads, int64_t count, double v) {
  for (int64_t i = 0; i < count; i++)
    if (grads[i]) nn_clamp_values(nn_tensor_data(grads[i]), nn_tensor_numel(grads[i]), (float)-v, (float)v);
}

double nn_pow_sum(const float *x, int64_t n, double p) {
  double acc = 0;
  if (isinf(p)) {
    for (int64_t i = 0; i < n; i++) {
      double a = fabs((double)x[i]);
      if (isnan(a)) return a;
      if (a > acc) acc = a;
    }
  } else if (p == 2) {
    for (int64_t i = 0; i < n; i++) acc += (double)x[i] * x[i];
  } else if (p == 1) {
    for (int64_t i = 0; i < n; i++) acc += fabs((double)x[i]);
  } else {
    for (int64_t i = 0; i < n; i++) acc += pow(fabs((double)x[i]), p);
  }
  return acc;
}

void nn_scale(float *x, int64_t n, float c) {
  for (int64_t i = 0; i < n; i++) x[i] *= c;
}

/* The proximal operator of t * |x|: as torch's
 * p.sign() * (p.abs() - t).clamp(min=0), but with +0 for every zero. */
void nn_soft_threshold(float *x, int64_t n, float t) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i], a = fabsf(v) - t;
    if (a > 0) x[i] = copysignf(a, v);
    else if (!isnan(a)) x[i] = 0.0f;
  }
}

void nn_clamp_values(float *x, int64_t n, float lo, float hi) {
  /* clamp_(min=lo, max=hi): the lower bound first, then the upper. */
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    if (v < lo) v = lo;
    if (v > hi) v = hi;
    x[i] = v;
  }
}

nn_status nn_bucket_attach(nn_tensor *bucket, nn_tensor *const *params, int64_t count) {
  int64_t offset = bucket->offset;
  for (int64_t i = 0; i < count; i++) {
    nn_tensor *p = params[i], *g = p->grad;
    if (!g) continue;
    int64_t n = nn_tensor_numel(g);
    if (g->storage != bucket->storage || g->offset != offset) {
      int64_t stride[NN_MAX_DIMS];
      nn_contiguous_strides(p->ndim, p->shape, stride);
      nn_tensor *view = nn_tensor_view(bucket, p->ndim, p->shape, stride, offset);
      if (!view) return NN_ERR_NOMEM;
      if (n > 0) memmove(nn_tensor_data(view), nn_tensor_data(g), (size_t)n * sizeof(float));
      nn_tensor_release(g);
      p->grad = view;
    }
    offset += n;
  }
  return NN_OK;
}

void nn_bucket_divide(float *x, int64_t n, float divisor) {
  int exp;
  if (frexpf(divisor, &exp) == 0.5f) {
    float inverse = 1.0f / divisor;
    for (int64_t k = 0; k < n; k++) x[k] *= inverse;
  } else {
    for (int64_t k = 0; k < n; k++) x[k] /= divisor;
  }
}
