/*
 * nn_collectives: the MPI calls behind nn.distributed, over raw buffers.
 * Built into the module nn.distributed.mpi only (bindings/distributed/),
 * never into the engine: this is the one part of nnlua linked against MPI.
 *
 * Ranks are 0-based here, as in MPI; the binding shows them 1-based.
 * A world of one (a process not started by mpirun or srun) never calls
 * MPI: every collective is then its single-process result. MPI errors
 * (a peer that died) take MPI's default handler, which ends the job.
 */
#ifndef NN_COLLECTIVES_H
#define NN_COLLECTIVES_H

#include <stdbool.h>
#include <stdint.h>

#include "nn_tensor.h"

typedef enum nn_dist_op { NN_DIST_SUM, NN_DIST_MEAN, NN_DIST_MAX, NN_DIST_MIN } nn_dist_op;

/* What a rank passes to a collective, compared across ranks before any
 * data moves: dtype, shape and the op or root ("arg"; 0 when none). */
typedef struct nn_dist_desc {
  int64_t dtype, ndim, arg;
  int64_t shape[NN_MAX_DIMS];
} nn_dist_desc;

/* Joins the world: MPI_Init when launched (started by mpirun/srun), else
 * a world of one. Idempotent. Fills this rank and the world size. MPI
 * ends at process exit: MPI_Finalize after exit status 0, MPI_Abort of
 * the whole job after any other (the code that registers it must stay
 * loaded until then). */
void nn_dist_init(bool launched, int *rank, int *size);
/* Ends every rank of the job with exit code `code` (MPI_Abort). */
void nn_dist_abort(int code);

/* Gathers every rank's desc; returns -1 when all equal rank 0's, else the
 * first rank whose desc differs, copied into *theirs (*first: rank 0's). */
int nn_dist_check_same(const nn_dist_desc *mine, nn_dist_desc *first, nn_dist_desc *theirs);

/* x [n] of dtype (float32 or int64; mean: float32 only), reduced in place
 * over the ranks: every rank gets the result. */
void nn_dist_all_reduce(void *x, int64_t n, nn_dtype dtype, nn_dist_op op);
/* x [n]: root's values copied to every rank. */
void nn_dist_broadcast(void *x, int64_t n, nn_dtype dtype, int root);
/* out [size, n] <- x [n] of each rank, in rank order. */
void nn_dist_all_gather(void *out, const void *x, int64_t n, nn_dtype dtype);
void nn_dist_barrier(void);

#endif
