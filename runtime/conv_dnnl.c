/*
 * 2-D convolution by oneDNN (nn_conv_dnnl.h): the forward and both
 * backward passes of conv.c's geometry on nnlua's NCHW float32 arrays.
 *
 * Each pass is one oneDNN primitive created with format `any` for every
 * operand, so oneDNN picks its blocked layouts (nChw16c, OIhw16i16o on
 * AVX-512) and its JIT kernels, which need no unfolded columns. The NCHW
 * operands are reordered into those layouts before the primitive and
 * the results back after it; the reorders out of a backward pass carry
 * a `sum` post-op, because nnlua's backward ADDS into its gradients.
 *
 * Creating a primitive costs milliseconds (JIT code generation), so
 * each (pass, geometry of one thread's share of the batch, bias or not)
 * keeps its primitive and reorders in a small cache, freed at exit; the
 * memory objects, mere wrappers of pointers, are made per call. The
 * blocked operands and the primitives' scratchpads live in one
 * grow-only arena shared by all passes, not per entry: a network runs
 * one pass at a time.
 *
 * Threads: Debian's libdnnl runs its kernels on OpenMP (libgomp), whose
 * idle workers spin for a while after each parallel region; between
 * the engine's own workers and OpenBLAS's on the same cores that made a
 * 2-thread ResNet-18 step 7x slower (bench/models.lua), and libgomp's
 * wait policy is only read from the environment at start-up. So oneDNN
 * runs single-threaded (an OpenMP team of 1 runs inline, no libgomp
 * workers start), and the batch is split among nn_get_num_threads()
 * threads of our own, as conv.c's passes do: each runs the primitive of
 * its share of the images, with OpenBLAS's pool paused meanwhile
 * (nn_threads.h). The weight gradient's shares are summed into gw one
 * after another at the end.
 */
#include "nn_conv_dnnl.h"

#include <dnnl.h>
#include <omp.h>
#include <pthread.h> /* the cache's lock */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_threads.h"

typedef enum { PASS_FORWARD, PASS_BACKWARD_DATA, PASS_BACKWARD_WEIGHTS } pass_kind;

/* One operand of a pass: the layout of the user's NCHW array, the one
 * the primitive wants, and the reorder between them (NULL when they are
 * the same and no sum is needed: the primitive works on the user's). */
typedef struct operand {
  int arg;                   /* DNNL_ARG_* of the primitive */
  bool output;               /* written by the primitive, reordered out after */
  dnnl_memory_desc_t user, own;
  dnnl_primitive_t reorder;  /* NULL when own is user's layout */
  size_t own_bytes;          /* arena bytes when reordered, else 0 */
} operand;

/* MobileNetV2's training step alone needs about 100 entries (three
 * passes of its 30-odd geometries), more at another batch or thread
 * count: a cache that a step cycles through would rebuild every one. */
enum { MAX_OPERANDS = 4, CACHE_SIZE = 512, MAX_WORKERS = 64 };

/* One pass of one geometry (its n the images of one thread's share). */
typedef struct entry {
  pass_kind pass;
  nn_conv2d_geom g;
  bool bias;
  dnnl_primitive_t prim;
  operand ops[MAX_OPERANDS];
  int nops;
  dnnl_memory_desc_t scratchpad; /* the primitive's own scratch, from the arena */
  size_t scratchpad_bytes;
  size_t scratch_bytes; /* arena bytes for the scratchpad and all operands */
  bool usable;          /* false: oneDNN refused this geometry */
  unsigned call;        /* the last call that used it (not to be evicted by it) */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dnnl_engine_t engine;
static dnnl_stream_t streams[MAX_WORKERS]; /* a stream is not shared between threads */
static bool started, broken;
static entry cache[CACHE_SIZE];
static int cached, next_victim;
static unsigned calls;
static char *arena;
static size_t arena_bytes;
static bool dnnl_enabled = true;

void nn_conv2d_use_dnnl(bool on) { dnnl_enabled = on; }

static void entry_free(entry *e) {
  for (int i = 0; i < e->nops; i++) {
    if (e->ops[i].reorder) dnnl_primitive_destroy(e->ops[i].reorder);
  }
  if (e->prim) dnnl_primitive_destroy(e->prim);
  memset(e, 0, sizeof *e);
}

static void shut_down(void) {
  for (int i = 0; i < cached; i++) entry_free(&cache[i]);
  cached = 0;
  for (int k = 0; k < MAX_WORKERS; k++)
    if (streams[k]) dnnl_stream_destroy(streams[k]);
  if (engine) dnnl_engine_destroy(engine);
  free(arena);
  arena = NULL;
  arena_bytes = 0;
}

static bool start(void) {
  if (started) return !broken;
  started = true;
  broken = dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success;
  atexit(shut_down);
  return !broken;
}

/* ---- descriptors ---- */

static void md_plain(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag) {
  dnnl_memory_desc_init_by_tag(md, ndims, dims, dnnl_f32, tag);
}

typedef struct conv_mds {
  dnnl_memory_desc_t src, wei, bias, dst;          /* `any` for the primitive */
  dnnl_memory_desc_t src_u, wei_u, bias_u, dst_u;  /* nnlua's layouts */
  dnnl_dims_t strides, dilates, pad_l, pad_r;
} conv_mds;

/* oneDNN counts dilation from 0 and wants the padding after the input:
 * the least that gives conv.c's output size (any in [needed, needed +
 * stride - 1] does, and the real padding after is >= 0, so 0 when the
 * needed count is negative). */
static void conv_descs(conv_mds *m, const nn_conv2d_geom *g) {
  int64_t G = g->groups > 1 ? g->groups : 1;
  dnnl_dims_t src = {g->n, g->c, g->h, g->w}, dst = {g->n, g->o, g->oh, g->ow};
  dnnl_dims_t grouped = {G, g->o / G, g->c / G, g->kh, g->kw}, plain = {g->o, g->c, g->kh, g->kw};
  dnnl_dims_t bias = {g->o};
  int wnd = G > 1 ? 5 : 4;
  const int64_t *wdims = G > 1 ? grouped : plain;
  md_plain(&m->src, 4, src, dnnl_format_tag_any);
  md_plain(&m->dst, 4, dst, dnnl_format_tag_any);
  md_plain(&m->wei, wnd, wdims, dnnl_format_tag_any);
  md_plain(&m->bias, 1, bias, dnnl_x);
  md_plain(&m->src_u, 4, src, dnnl_nchw);
  md_plain(&m->dst_u, 4, dst, dnnl_nchw);
  md_plain(&m->wei_u, wnd, wdims, G > 1 ? dnnl_goihw : dnnl_oihw);
  md_plain(&m->bias_u, 1, bias, dnnl_x);
  int64_t pr_h = (g->oh - 1) * g->sh + (g->kh - 1) * g->dh + 1 - g->h - g->ph;
  int64_t pr_w = (g->ow - 1) * g->sw + (g->kw - 1) * g->dw + 1 - g->w - g->pw;
  m->strides[0] = g->sh, m->strides[1] = g->sw;
  m->dilates[0] = g->dh - 1, m->dilates[1] = g->dw - 1;
  m->pad_l[0] = g->ph, m->pad_l[1] = g->pw;
  m->pad_r[0] = pr_h > 0 ? pr_h : 0, m->pad_r[1] = pr_w > 0 ? pr_w : 0;
}

/* A conv pd of d, its scratchpad left to the caller (the arena) rather
 * than oneDNN's own per-thread buffers, which outlive the threads. */
static bool pd_create(dnnl_primitive_desc_t *pd, const void *d, const_dnnl_primitive_desc_t hint) {
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr)) return false;
  bool ok = !dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) &&
            !dnnl_primitive_desc_create(pd, d, attr, engine, hint);
  dnnl_primitive_attr_destroy(attr);
  return ok;
}

static bool forward_pd(dnnl_primitive_desc_t *pd, const conv_mds *m, bool bias) {
  dnnl_convolution_desc_t d;
  if (dnnl_dilated_convolution_forward_desc_init(&d, dnnl_forward_training, dnnl_convolution_direct,
                                                 &m->src, &m->wei, bias ? &m->bias : NULL, &m->dst,
                                                 m->strides, m->dilates, m->pad_l, m->pad_r))
    return false;
  return pd_create(pd, &d, NULL);
}

/* The operand arg of pd: a user memory of layout user, and when pd wants
 * another layout a memory of that and the reorder between them (a sum
 * into the user's array when sum). */
static bool operand_init(operand *o, int arg, bool output, bool sum, const dnnl_primitive_desc_t pd,
                         dnnl_query_t what, const dnnl_memory_desc_t *user) {
  /* the bias is the weights' second descriptor */
  const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, what, arg == DNNL_ARG_BIAS);
  o->arg = arg;
  o->output = output;
  o->user = *user;
  o->own = *want;
  if (!sum && dnnl_memory_desc_equal(want, user)) return true;
  o->own_bytes = (dnnl_memory_desc_get_size(want) + 63) / 64 * 64;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t post = NULL;
  if (sum) {
    if (dnnl_primitive_attr_create(&attr) || dnnl_post_ops_create(&post) ||
        dnnl_post_ops_append_sum(post, 1.0f) || dnnl_primitive_attr_set_post_ops(attr, post)) {
      if (post) dnnl_post_ops_destroy(post);
      if (attr) dnnl_primitive_attr_destroy(attr);
      return false;
    }
  }
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_status_t st = output ? dnnl_reorder_primitive_desc_create(&rpd, want, engine, user, engine, attr)
                            : dnnl_reorder_primitive_desc_create(&rpd, user, engine, want, engine, attr);
  if (post) dnnl_post_ops_destroy(post);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (st) return false;
  st = dnnl_primitive_create(&o->reorder, rpd);
  dnnl_primitive_desc_destroy(rpd);
  return st == dnnl_success;
}

static bool prim_of(entry *e, dnnl_primitive_desc_t pd) {
  bool ok = dnnl_primitive_create(&e->prim, pd) == dnnl_success;
  e->scratchpad = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  e->scratchpad_bytes = (dnnl_memory_desc_get_size(&e->scratchpad) + 63) / 64 * 64;
  e->scratch_bytes = e->scratchpad_bytes;
  for (int i = 0; i < e->nops; i++) e->scratch_bytes += e->ops[i].own_bytes;
  return ok;
}

static bool build_forward(entry *e, const conv_mds *m) {
  dnnl_primitive_desc_t pd;
  if (!forward_pd(&pd, m, e->bias)) return false;
  operand *o = e->ops;
  bool ok = operand_init(&o[0], DNNL_ARG_SRC, false, false, pd, dnnl_query_src_md, &m->src_u) &&
            operand_init(&o[1], DNNL_ARG_WEIGHTS, false, false, pd, dnnl_query_weights_md, &m->wei_u) &&
            operand_init(&o[2], DNNL_ARG_DST, true, false, pd, dnnl_query_dst_md, &m->dst_u);
  e->nops = 3;
  if (ok && e->bias) {
    ok = operand_init(&o[3], DNNL_ARG_BIAS, false, false, pd, dnnl_query_weights_md, &m->bias_u);
    e->nops = 4;
  }
  ok = ok && prim_of(e, pd);
  dnnl_primitive_desc_destroy(pd);
  return ok;
}

static bool build_backward_data(entry *e, const conv_mds *m) {
  dnnl_primitive_desc_t hint, pd;
  dnnl_convolution_desc_t d;
  if (!forward_pd(&hint, m, false)) return false;
  bool ok = !dnnl_dilated_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &m->src, &m->wei,
                                                              &m->dst, m->strides, m->dilates, m->pad_l,
                                                              m->pad_r) &&
            pd_create(&pd, &d, hint);
  dnnl_primitive_desc_destroy(hint);
  if (!ok) return false;
  operand *o = e->ops;
  ok = operand_init(&o[0], DNNL_ARG_DIFF_DST, false, false, pd, dnnl_query_diff_dst_md, &m->dst_u) &&
       operand_init(&o[1], DNNL_ARG_WEIGHTS, false, false, pd, dnnl_query_weights_md, &m->wei_u) &&
       operand_init(&o[2], DNNL_ARG_DIFF_SRC, true, true, pd, dnnl_query_diff_src_md, &m->src_u);
  e->nops = 3;
  ok = ok && prim_of(e, pd);
  dnnl_primitive_desc_destroy(pd);
  return ok;
}

static bool build_backward_weights(entry *e, const conv_mds *m) {
  dnnl_primitive_desc_t hint, pd;
  dnnl_convolution_desc_t d;
  if (!forward_pd(&hint, m, false)) return false;
  bool ok = !dnnl_dilated_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &m->src,
                                                                 &m->wei, NULL, &m->dst, m->strides,
                                                                 m->dilates, m->pad_l, m->pad_r) &&
            pd_create(&pd, &d, hint);
  dnnl_primitive_desc_destroy(hint);
  if (!ok) return false;
  operand *o = e->ops;
  ok = operand_init(&o[0], DNNL_ARG_SRC, false, false, pd, dnnl_query_src_md, &m->src_u) &&
       operand_init(&o[1], DNNL_ARG_DIFF_DST, false, false, pd, dnnl_query_diff_dst_md, &m->dst_u) &&
       operand_init(&o[2], DNNL_ARG_DIFF_WEIGHTS, true, true, pd, dnnl_query_diff_weights_md, &m->wei_u);
  e->nops = 3;
  ok = ok && prim_of(e, pd);
  dnnl_primitive_desc_destroy(pd);
  return ok;
}

/* ---- the cache ---- */

/* The entry of (pass, g, bias), built when missing; the current call's
 * other entries stay. */
static entry *lookup(pass_kind pass, const nn_conv2d_geom *g, bool bias) {
  for (int i = 0; i < cached; i++) {
    entry *e = &cache[i];
    if (e->pass == pass && e->bias == bias && !memcmp(&e->g, g, sizeof *g)) {
      e->call = calls;
      return e;
    }
  }
  entry *e;
  if (cached < CACHE_SIZE) {
    e = &cache[cached++];
  } else { /* a model with more shapes than the cache: replace round robin */
    do {
      e = &cache[next_victim];
      next_victim = (next_victim + 1) % CACHE_SIZE;
    } while (e->call == calls);
    entry_free(e);
  }
  *e = (entry){.pass = pass, .g = *g, .bias = bias, .call = calls};
  conv_mds m;
  conv_descs(&m, g);
  bool ok = pass == PASS_FORWARD         ? build_forward(e, &m)
            : pass == PASS_BACKWARD_DATA ? build_backward_data(e, &m)
                                         : build_backward_weights(e, &m);
  if (!ok) { /* keep the geometry, marked unusable, so it is not retried */
    entry_free(e);
    *e = (entry){.pass = pass, .g = *g, .bias = bias, .call = calls};
  }
  e->usable = ok;
  return e;
}

static bool arena_fits(size_t bytes) {
  if (bytes <= arena_bytes) return true;
  char *grown = aligned_alloc(64, bytes);
  if (!grown) return false;
  free(arena);
  arena = grown;
  arena_bytes = bytes;
  return true;
}

/* ---- running a pass ---- */

/* One thread's share: entry e on the user arrays data[i] (operand i's),
 * its blocked operands at work. */
typedef struct share {
  entry *e;
  void *data[MAX_OPERANDS];
  char *work;
  dnnl_stream_t stream;
  bool defer_out; /* leave the outputs' reorders to the caller */
  dnnl_memory_t user[MAX_OPERANDS], own[MAX_OPERANDS], scratchpad;
  bool ok;
} share;

static bool exec(dnnl_primitive_t p, dnnl_stream_t s, int nargs, const dnnl_exec_arg_t *args) {
  return dnnl_primitive_execute(p, s, nargs, args) == dnnl_success;
}

static bool reorders(share *sh, bool output) {
  bool ok = true;
  for (int i = 0; i < sh->e->nops; i++) {
    operand *o = &sh->e->ops[i];
    if (o->reorder && o->output == output) {
      dnnl_memory_t from = output ? sh->own[i] : sh->user[i], to = output ? sh->user[i] : sh->own[i];
      ok = ok && exec(o->reorder, sh->stream, 2, (dnnl_exec_arg_t[]){{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}});
    }
  }
  return ok;
}

static void share_run(share *sh) {
  entry *e = sh->e;
  omp_set_num_threads(1); /* this thread's OpenMP team: itself (see the top) */
  dnnl_exec_arg_t args[MAX_OPERANDS + 1];
  char *at = sh->work + e->scratchpad_bytes;
  sh->ok = !dnnl_memory_create(&sh->scratchpad, &e->scratchpad, engine, sh->work);
  args[e->nops] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, sh->scratchpad};
  for (int i = 0; i < e->nops; i++) {
    operand *o = &e->ops[i];
    sh->ok = sh->ok && !dnnl_memory_create(&sh->user[i], &o->user, engine, sh->data[i]);
    if (o->reorder) {
      sh->ok = sh->ok && !dnnl_memory_create(&sh->own[i], &o->own, engine, at);
      at += o->own_bytes;
    } else {
      sh->own[i] = sh->user[i];
    }
    args[i] = (dnnl_exec_arg_t){o->arg, sh->own[i]};
  }
  sh->ok = sh->ok && reorders(sh, false) && exec(e->prim, sh->stream, e->nops + 1, args) &&
           (sh->defer_out || reorders(sh, true)) && !dnnl_stream_wait(sh->stream);
}

static void run_shares(void *ctx, int64_t begin, int64_t end) {
  share *shares = ctx;
  for (int64_t k = begin; k < end; k++) share_run(&shares[k]);
}

static void share_free(share *sh) {
  if (sh->scratchpad) dnnl_memory_destroy(sh->scratchpad);
  for (int i = 0; i < sh->e->nops; i++) {
    if (sh->own[i] && sh->own[i] != sh->user[i]) dnnl_memory_destroy(sh->own[i]);
    if (sh->user[i]) dnnl_memory_destroy(sh->user[i]);
  }
}

/* The user arrays of images [n0, ...) of operand arrays data (the batch's):
 * operands whose first dim is the batch (all but weights and bias) move. */
static void share_data(void **dst, void *const *data, const entry *e, int64_t n0) {
  const nn_conv2d_geom *g = &e->g;
  for (int i = 0; i < e->nops; i++) {
    int arg = e->ops[i].arg;
    int64_t per_image = arg == DNNL_ARG_SRC || arg == DNNL_ARG_DIFF_SRC ? g->c * g->h * g->w
                        : arg == DNNL_ARG_DST || arg == DNNL_ARG_DIFF_DST ? g->o * g->oh * g->ow
                                                                          : 0;
    dst[i] = data[i] ? (float *)data[i] + n0 * per_image : NULL;
  }
}

/* Runs pass on the whole batch of g, split among the threads; false when
 * oneDNN does not serve it, and then nothing was written. */
static bool pass_run(pass_kind pass, const nn_conv2d_geom *g, bool bias, void *const *data) {
  int64_t workers = nn_get_num_threads();
  if (workers > g->n) workers = g->n;
  if (workers > MAX_WORKERS) workers = MAX_WORKERS;
  if (workers < 1) workers = 1;
  share shares[MAX_WORKERS] = {0};
  calls++;
  size_t per_worker = 0;
  for (int64_t k = 0; k < workers; k++) {
    nn_conv2d_geom part = *g;
    int64_t n0 = g->n * k / workers;
    part.n = g->n * (k + 1) / workers - n0;
    shares[k].e = lookup(pass, &part, bias);
    if (!shares[k].e->usable) return false;
    share_data(shares[k].data, data, shares[k].e, n0);
    if (shares[k].e->scratch_bytes > per_worker) per_worker = shares[k].e->scratch_bytes;
    if (!streams[k] && dnnl_stream_create(&streams[k], engine, dnnl_stream_default_flags)) return false;
    shares[k].stream = streams[k];
    shares[k].defer_out = pass == PASS_BACKWARD_WEIGHTS && workers > 1;
  }
  if (!arena_fits(per_worker * (size_t)workers)) return false;
  for (int64_t k = 0; k < workers; k++) shares[k].work = arena + per_worker * (size_t)k;
  nn_parallel_for(workers, 1, run_shares, shares); /* a share per thread of the pool */
  bool ok = true;
  for (int64_t k = 0; k < workers; k++) ok = ok && shares[k].ok;
  /* the weight gradient's shares, summed into gw one after another */
  for (int64_t k = 0; ok && shares[0].defer_out && k < workers; k++)
    ok = reorders(&shares[k], true) && !dnnl_stream_wait(shares[k].stream);
  for (int64_t k = 0; k < workers; k++) share_free(&shares[k]);
  if (!ok) {
    fprintf(stderr, "nnlua: oneDNN failed running a convolution\n");
    abort();
  }
  return true;
}

static bool pass_locked(pass_kind pass, const nn_conv2d_geom *g, bool bias, void *const *data) {
  if (!dnnl_enabled) return false;
  pthread_mutex_lock(&lock);
  omp_set_num_threads(1); /* primitives are made for the team they run on */
  bool done = start() && pass_run(pass, g, bias, data);
  pthread_mutex_unlock(&lock);
  return done;
}

bool nn_dnnl_conv2d_forward(float *out, const float *x, const float *w, const float *bias,
                            const nn_conv2d_geom *g) {
  void *data[] = {(void *)x, (void *)w, out, (void *)bias};
  return pass_locked(PASS_FORWARD, g, bias != NULL, data);
}

bool nn_dnnl_conv2d_backward_data(float *gx, const float *gout, const float *w,
                                  const nn_conv2d_geom *g) {
  void *data[] = {(void *)gout, (void *)w, gx};
  return pass_locked(PASS_BACKWARD_DATA, g, false, data);
}

bool nn_dnnl_conv2d_backward_weights(float *gw, const float *gout, const float *x,
                                     const nn_conv2d_geom *g) {
  void *data[] = {(void *)x, (void *)gout, gw};
  return pass_locked(PASS_BACKWARD_WEIGHTS, g, false, data);
}
