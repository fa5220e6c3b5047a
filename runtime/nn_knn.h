/*
 * nn_knn: k-nearest-neighbour search and voting (nn.KNeighborsClassifier).
 *
 * The search scores every training row against every query row by GEMM
 * (cblas_sgemm on blocks of QUERY_BLOCK queries by TRAIN_BLOCK training
 * rows, so the full [Q, N] matrix never exists), keeps the k best of each
 * query in one pass over each block, and then computes the k distances
 * directly (in double) and orders them nearest first, the smaller index
 * first among equal distances.
 *   euclidean: ||q - t||;       score |t|^2 - 2 q.t
 *   cosine:    1 - q.t / (|q| |t|), clipped to [0, 2] as scikit-learn;
 *              a zero row has cosine 0 (distance 1) with everything.
 * No gradient: the outputs are not part of a graph.
 */
#ifndef NN_KNN_H
#define NN_KNN_H

#include "nn_op.h"
#include "nn_status.h"
#include "nn_tensor.h"

typedef enum nn_knn_metric { NN_KNN_EUCLIDEAN, NN_KNN_COSINE } nn_knn_metric;

/* ---- kernels over raw pointers (contiguous, row-major) ---- */

/* The k nearest training rows of each query.
 *   dist  [Q, k] distances, nearest first
 *   idx   [Q, k] 1-based training row indices
 *   x     [Q, D] queries
 *   train [N, D]
 * 1 <= k <= N. Scratch is allocated inside: NN_ERR_NOMEM without it. */
nn_status nn_kernel_knn_search(float *dist, int64_t *idx, const float *x, const float *train,
                               int64_t q, int64_t n, int64_t d, int64_t k, nn_knn_metric metric);

/* Votes of the k neighbours of each query.
 *   proba  [Q, C] the share of each class (weights 1/distance when
 *          by_distance; where a neighbour is at distance 0, those at
 *          distance 0 get weight 1 and the others 0, as scikit-learn)
 *   pred   [Q] 1-based class with the largest share; a tie goes to the
 *          class of the nearest neighbour among the tied classes
 *   dist   [Q, k], idx [Q, k] 1-based from nn_kernel_knn_search
 *   labels [N] 1-based classes in 1..C
 * Fails naming the label when one is outside 1..C. */
nn_status nn_kernel_knn_vote(float *proba, int64_t *pred, const float *dist, const int64_t *idx,
                             const int64_t *labels, int64_t q, int64_t k, int64_t n, int64_t c,
                             bool by_distance);

/* ---- entry points: any strides; outputs contiguous ---- */

/* dist [Q, k] float32, idx [Q, k] int64; x [Q, D] and train [N, D]
 * float32; 1 <= k <= N (the caller checked). */
nn_status nn_knn_search(nn_tensor *dist, nn_tensor *idx, const nn_tensor *x,
                        const nn_tensor *train, int64_t k, nn_knn_metric metric);

/* proba [Q, C] float32, pred [Q] int64; dist [Q, k] float32, idx [Q, k]
 * int64 (1-based into labels), labels [N] int64 in 1..C. */
nn_status nn_knn_vote(nn_tensor *proba, nn_tensor *pred, const nn_tensor *dist,
                      const nn_tensor *idx, const nn_tensor *labels, bool by_distance);

#endif
