/*
 * Matrix products: the GEMM kernel (cblas_sgemm for float32, a plain loop
 * for int64), matmul's operand views, and the matmul and outer entry
 * points with their backward.
 */
#include <assert.h>
#include <cblas.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_gemm.h"
#include "nn_matmul.h"

/* How BLAS reads a [rows, cols] matrix with strides (rs, cs). */
typedef struct blas_view {
  CBLAS_TRANSPOSE trans;
  int ld;
} blas_view;

static int64_t max1(int64_t x) { return x > 1 ? x : 1; }

/* Row-major sgemm reads NoTrans element (i,j) at i*ld + j (ld >= cols) and
 * Trans element (i,j) at j*ld + i (ld >= rows). A size-1 dim's stride is
 * irrelevant, so it is replaced by the smallest valid one. */
static bool blas_view_of(int64_t rows, int64_t cols, int64_t rs, int64_t cs, blas_view *v) {
  if (cs == 1 || cols == 1) {
    int64_t ld = rows == 1 ? max1(cols) : rs;
    if (ld >= max1(cols) && ld <= INT32_MAX) {
      *v = (blas_view){CblasNoTrans, (int)ld};
      return true;
    }
  }
  if (rs == 1 || rows == 1) {
    int64_t ld = cols == 1 ? max1(rows) : cs;
    if (ld >= max1(rows) && ld <= INT32_MAX) {
      *v = (blas_view){CblasTrans, (int)ld};
      return true;
    }
  }
  return false;
}

bool nn_matmul_blas_compatible(const nn_tensor *m) {
  assert(m->ndim >= 2);
  int d = m->ndim;
  blas_view v;
  if (m->shape[d - 2] > INT32_MAX || m->shape[d - 1] > INT32_MAX) return false;
  return blas_view_of(m->shape[d - 2], m->shape[d - 1], m->stride[d - 2], m->stride[d - 1], &v);
}

/* c = a @ b + beta c for one [n,k] x [k,m] product; c is contiguous [n, m]. */
static void gemm_f32(float *c, const float *a, const float *b, int64_t n, int64_t k, int64_t m,
                     const int64_t *as, const int64_t *bs, float beta) {
  blas_view va = {CblasNoTrans, 1}, vb = va; /* the caller checked both */
  blas_view_of(n, k, as[0], as[1], &va);
  blas_view_of(k, m, bs[0], bs[1], &vb);
  nn_sgemm(CblasRowMajor, va.trans, vb.trans, (int)n, (int)m, (int)k, 1.0f, a, va.ld, b,
           vb.ld, beta, c, (int)(m > 0 ? m : 1));
}

/* Integer products are rare (index arithmetic): a plain triple loop. */
static void gemm_i64(int64_t *c, const int64_t *a, const int64_t *b, int64_t n, int64_t k,
                     int64_t m, const int64_t *as, const int64_t *bs) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m; j++) {
      uint64_t acc = 0;
      for (int64_t p = 0; p < k; p++)
        acc += (uint64_t)a[i * as[0] + p * as[1]] * (uint64_t)b[p * bs[0] + j * bs[1]];
      c[i * m + j] = (int64_t)acc;
    }
}

/* When b has no batch of its own and a's batch rows are laid out back to
 * back, [B, n, k] @ [k, m] is one [B*n, k] @ [k, m] GEMM. */
static bool foldable(const nn_tensor *a, const nn_tensor *b) {
  int d = a->ndim;
  for (int i = 0; i < d - 2; i++)
    if (b->stride[i] != 0) return false;
  int64_t expect = a->stride[d - 2];
  if (a->stride[d - 1] != 1 || expect < max1(a->shape[d - 1])) return false;
  for (int i = d - 3; i >= 0; i--) {
    expect *= a->shape[i + 1];
    if (a->shape[i] != 1 && a->stride[i] != expect) return false;
  }
  return true;
}

/* out = a @ b + beta out (beta 0 or 1; integer products ignore it). */
static void matmul_beta(nn_tensor *out, const nn_tensor *a, const nn_tensor *b, float beta) {
  int d = out->ndim;
  int64_t n = out->shape[d - 2], m = out->shape[d - 1], k = a->shape[d - 1];
  int64_t batch = nn_shape_numel(d - 2, out->shape);
  size_t es = nn_dtype_size(out->dtype);
  const int64_t *as = a->stride + d - 2, *bs = b->stride + d - 2;
  char *pa = nn_tensor_data(a), *pb = nn_tensor_data(b), *pc = nn_tensor_data(out);
  if (out->dtype == NN_FLOAT32 && batch > 1 && foldable(a, b)) {
    gemm_f32((float *)pc, (float *)pa, (float *)pb, batch * n, k, m, as, bs, beta);
    return;
  }
  int64_t index[NN_MAX_DIMS] = {0};
  for (int64_t i = 0; i < batch; i++) {
    int64_t oa = 0, ob = 0;
    for (int j = 0; j < d - 2; j++) {
      oa += index[j] * a->stride[j];
      ob += index[j] * b->stride[j];
    }
    char *c = pc + (size_t)(i * n * m) * es;
    if (out->dtype == NN_FLOAT32)
      gemm_f32((float *)c, (float *)pa + oa, (float *)pb + ob, n, k, m, as, bs, beta);
    else
      gemm_i64((int64_t *)c, (int64_t *)pa + oa, (int64_t *)pb + ob, n, k, m, as, bs);
    for (int j = d - 3; j >= 0; j--) { /* odometer over the batch dims */
      if (++index[j] < out->shape[j]) break;
      index[j] = 0;
    }
  }
}

void nn_kernel_matmul(nn_tensor *out, const nn_tensor *a, const nn_tensor *b) {
  matmul_beta(out, a, b, 0.0f);
}

/* ---- operand views ---- */

nn_tensor nn_matmul_matrix_view(const nn_tensor *t, int at) {
  nn_tensor m = *t;
  if (t->ndim != 1) return m;
  m.ndim = 2;
  m.shape[at] = 1;
  m.stride[at] = 1;
  m.shape[1 - at] = t->shape[0];
  m.stride[1 - at] = t->stride[0];
  return m;
}

nn_tensor nn_matmul_batch_view(const nn_tensor *t, int nb, const int64_t *batch) {
  nn_tensor v = *t;
  int64_t full[NN_MAX_DIMS];
  memcpy(full, batch, sizeof(int64_t) * (size_t)nb);
  full[nb] = t->shape[t->ndim - 2];
  full[nb + 1] = t->shape[t->ndim - 1];
  nn_broadcast_strides(t, nb + 2, full, v.stride);
  memcpy(v.shape, full, sizeof full);
  v.ndim = nb + 2;
  return v;
}

/* ---- entry points ---- */

bool nn_matmul_shape(const nn_tensor *a, const nn_tensor *b, int *ndim, int64_t *shape) {
  nn_tensor am = nn_matmul_matrix_view(a, 0), bm = nn_matmul_matrix_view(b, 1);
  int nb;
  if (!nn_broadcast_shape(am.ndim - 2, am.shape, bm.ndim - 2, bm.shape, &nb, shape)) return false;
  int n = nb;
  if (a->ndim > 1) shape[n++] = am.shape[am.ndim - 2];
  if (b->ndim > 1) shape[n++] = bm.shape[bm.ndim - 1];
  *ndim = n;
  return true;
}

/* The operand as a BLAS-readable matrix view: t itself, or a contiguous
 * copy in *copy (released by the caller) when BLAS cannot read t. */
static nn_status matrix_operand(const nn_tensor *t, int vector_at, nn_tensor **copy, nn_tensor *m) {
  *copy = NULL;
  *m = nn_matmul_matrix_view(t, vector_at);
  if (t->dtype != NN_FLOAT32 || nn_matmul_blas_compatible(m)) return NN_OK;
  if (!(*copy = nn_tensor_empty(t->dtype, t->ndim, t->shape))) return NN_ERR_NOMEM;
  nn_copy(*copy, t);
  *m = nn_matmul_matrix_view(*copy, vector_at);
  return NN_OK;
}

nn_status nn_matmul(nn_tensor *out, const nn_tensor *a, const nn_tensor *b) {
  nn_tensor *ac = NULL, *bc = NULL, am, bm;
  nn_status st = matrix_operand(a, 0, &ac, &am);
  if (!st) st = matrix_operand(b, 1, &bc, &bm);
  if (!st) {
    /* out as [batch..., n, m]: the unit dims of 1-D operands put back. */
    int nb = out->ndim - (a->ndim > 1) - (b->ndim > 1);
    nn_tensor o = *out;
    o.ndim = nb + 2;
    o.shape[nb] = am.shape[am.ndim - 2];
    o.shape[nb + 1] = bm.shape[bm.ndim - 1];
    nn_contiguous_strides(o.ndim, o.shape, o.stride);
    am = nn_matmul_batch_view(&am, nb, out->shape);
    bm = nn_matmul_batch_view(&bm, nb, out->shape);
    nn_kernel_matmul(&o, &am, &bm);
    nn_node *node;
    st = nn_record(&node, NN_OP_MATMUL, out, 2, (nn_tensor *[]){(nn_tensor *)a, (nn_tensor *)b});
    /* The backward reads the BLAS-readable operands. */
    if (!st && node) st = nn_node_save(node, ac ? ac : a);
    if (!st && node) st = nn_node_save(node, bc ? bc : b);
  }
  nn_tensor_release(ac);
  nn_tensor_release(bc);
  return st;
}

/* One 1-D operand as a 2-D view ([n, 1] when column, else [1, n]), its
 * RESHAPE recorded so the gradient flows back to t. */
static nn_status vector_view(const nn_tensor *t, bool column, nn_tensor **view) {
  int64_t shape[2] = {column ? t->shape[0] : 1, column ? 1 : t->shape[0]};
  int64_t stride[2] = {column ? t->stride[0] : 1, column ? 1 : t->stride[0]};
  if (!(*view = nn_tensor_view(t, 2, shape, stride, t->offset))) return NN_ERR_NOMEM;
  nn_node *node;
  return nn_record(&node, NN_OP_RESHAPE, *view, 1, (nn_tensor *[]){(nn_tensor *)t});
}

nn_status nn_outer(nn_tensor *out, const nn_tensor *a, const nn_tensor *b) {
  nn_tensor *col = NULL, *row = NULL;
  nn_status st = vector_view(a, true, &col);
  if (!st) st = vector_view(b, false, &row);
  if (!st) st = nn_matmul(out, col, row);
  nn_tensor_release(col);
  nn_tensor_release(row);
  return st;
}

/* out = a @ b: ga += g @ b^T, gb += a^T @ g (batch dims summed back to
 * each operand's own). */
/* ---- backward ---- */

static nn_tensor transposed(nn_tensor t) {
  int d = t.ndim;
  int64_t s = t.shape[d - 1], st = t.stride[d - 1];
  t.shape[d - 1] = t.shape[d - 2];
  t.stride[d - 1] = t.stride[d - 2];
  t.shape[d - 2] = s;
  t.stride[d - 2] = st;
  return t;
}

/* gi (an operand's own shape, as a matrix view) += x @ y, where x @ y
 * has the broadcast batch: straight into gi with beta 1 when no batch dim
 * has to be summed away, else through a scratch product. */
static bool accumulate_product(nn_tensor *gi, int at, const nn_tensor *x, const nn_tensor *y) {
  nn_tensor target = nn_matmul_matrix_view(gi, at);
  int d = x->ndim;
  int64_t shape[NN_MAX_DIMS];
  memcpy(shape, x->shape, sizeof(int64_t) * (size_t)(d - 1));
  shape[d - 1] = y->shape[d - 1];
  if (target.ndim == d && !memcmp(target.shape, shape, sizeof(int64_t) * (size_t)d)) {
    matmul_beta(&target, x, y, 1.0f);
    return true;
  }
  nn_tensor *tmp = nn_tensor_empty(NN_FLOAT32, d, shape);
  if (!tmp) return false;
  matmul_beta(tmp, x, y, 0.0f);
  nn_accumulate(&target, tmp);
  nn_tensor_release(tmp);
  return true;
}


bool nn_matmul_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  nn_tensor a = nn_matmul_matrix_view(n->saved[0], 0), b = nn_matmul_matrix_view(n->saved[1], 1);
  int nb = n->out_ndim - (n->saved[0]->ndim == 1 ? 0 : 1) - (n->saved[1]->ndim == 1 ? 0 : 1);
  int64_t batch[NN_MAX_DIMS];
  memcpy(batch, n->out_shape, sizeof(int64_t) * (size_t)nb);
  a = nn_matmul_batch_view(&a, nb, batch);
  b = nn_matmul_batch_view(&b, nb, batch);
  /* g as [batch..., n, m]: it is contiguous, so a reshape. */
  nn_tensor gm = *g;
  gm.ndim = nb + 2;
  memcpy(gm.shape, batch, sizeof(int64_t) * (size_t)nb);
  gm.shape[nb] = a.shape[nb];
  gm.shape[nb + 1] = b.shape[nb + 1];
  nn_contiguous_strides(gm.ndim, gm.shape, gm.stride);
  if (gi[0]) {
    nn_tensor bt = transposed(b);
    if (!accumulate_product(gi[0], 0, &gm, &bt)) return false;
  }
  if (gi[1]) {
    nn_tensor at = transposed(a);
    if (!accumulate_product(gi[1], 1, &at, &gm)) return false;
  }
  return true;
}
