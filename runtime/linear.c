/*
 * Linear: y = x W^T + b as one GEMM, and its backward as two GEMMs that
 * accumulate straight into the gradient buffers (beta = 1) plus a column
 * sum for the bias: no temporaries on the training path.
 */
#include <cblas.h>
#include <string.h>

#include "nn_alloc.h"
#include "nn_autograd.h"
#include "nn_gemm.h"
#include "nn_linear.h"

/* x (M,K), w (O,K), b (O) -> y (M,O). */
void nn_kernel_linear_forward(float *y, const float *x, const float *w, const float *b, int64_t M,
                       int64_t K, int64_t O) {
  if (b)
    for (int64_t i = 0; i < M; i++) memcpy(y + i * O, b, (size_t)O * sizeof *y);
  if (M == 0 || O == 0) return;
  if (K == 0) {
    if (!b) memset(y, 0, (size_t)(M * O) * sizeof *y);
    return;
  }
  nn_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)O, (int)K, 1.0f, x, (int)K, w,
           (int)K, b ? 1.0f : 0.0f, y, (int)O);
}

nn_status nn_linear(nn_tensor *out, const nn_tensor *x, const nn_tensor *w, const nn_tensor *b) {
  nn_tensor *copies[3] = {NULL, NULL, NULL};
  const nn_tensor *xc, *wc, *bc;
  nn_status st = nn_contiguous(x, &copies[0], &xc);
  if (!st) st = nn_contiguous(w, &copies[1], &wc);
  if (!st) st = nn_contiguous(b, &copies[2], &bc);
  if (!st) {
    int64_t O = w->shape[0], K = w->shape[1];
    nn_kernel_linear_forward(nn_tensor_data(out), nn_tensor_data(xc), nn_tensor_data(wc),
                             bc ? nn_tensor_data(bc) : NULL, nn_tensor_numel(x) / (K ? K : 1), K, O);
    /* With K = 0 the row count above is 0 and the kernel writes nothing. */
    if (K == 0) nn_fill(out, 0);
    nn_node *node;
    st = nn_record(&node, NN_OP_LINEAR, out, 3, (nn_tensor *[]){(nn_tensor *)x, (nn_tensor *)w, (nn_tensor *)b});
    /* The backward reads the contiguous operands. */
    if (!st && node) st = nn_node_save(node, xc);
    if (!st && node) st = nn_node_save(node, wc);
  }
  for (int i = 0; i < 3; i++) nn_tensor_release(copies[i]);
  return st;
}

/* Inputs x (M,K), w (O,K), b (O); saved x, w (contiguous);
 * g (M,O): gx += g w, gw += g^T x, gb += column sums of g — or = for the
 * buffers the engine has just created (nn_grad_is_fresh). */
bool nn_linear_backward(const nn_node *n, const nn_tensor *g, nn_tensor *const *gi) {
  const nn_tensor *x = n->saved[0], *w = n->saved[1];
  int64_t O = w->shape[0], K = w->shape[1], M = nn_tensor_numel(g) / (O ? O : 1);
  const float *gp = nn_tensor_data(g), *xp = nn_tensor_data(x), *wp = nn_tensor_data(w);
  if (M == 0 || O == 0) { /* no product: fresh buffers get their zeros */
    for (int i = 0; i < 3; i++)
      if (gi[i] && nn_grad_is_fresh(n, i)) nn_fill(gi[i], 0);
    return true;
  }
  if (gi[0] && K > 0)
    nn_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)K, (int)O, 1.0f, gp, (int)O,
             wp, (int)K, nn_grad_is_fresh(n, 0) ? 0.0f : 1.0f, nn_tensor_data(gi[0]), (int)K);
  if (gi[1] && K > 0)
    nn_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)O, (int)K, (int)M, 1.0f, gp, (int)O,
             xp, (int)K, nn_grad_is_fresh(n, 1) ? 0.0f : 1.0f, nn_tensor_data(gi[1]), (int)K);
  if (gi[2]) {
    float *gb = nn_tensor_data(gi[2]);
    if (nn_grad_is_fresh(n, 2)) memset(gb, 0, (size_t)O * sizeof *gb);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < O; j++) gb[j] += gp[i * O + j];
  }
  return true;
}
