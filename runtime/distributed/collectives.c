/*
 * nn_collectives over MPI (Open MPI). One communicator, MPI_COMM_WORLD;
 * only the main thread calls MPI (MPI_THREAD_FUNNELED), the engine's own
 * threads never do.
 */
#define _GNU_SOURCE /* on_exit */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "nn_collectives.h"

/* The world this process joined; mpi_on is false for a world of one. */
static bool joined = false, mpi_on = false;
static int world_rank = 0, world_size = 1;

/* MPI counts are ints: larger buffers go in pieces of this many elements. */
#define CHUNK ((int64_t)1 << 30)

static MPI_Datatype mpi_type(nn_dtype dtype) { return dtype == NN_INT64 ? MPI_INT64_T : MPI_FLOAT; }
static size_t elem_size(nn_dtype dtype) { return dtype == NN_INT64 ? 8 : 4; }

/* The end of the process, whichever way it ends (main returning, os.exit,
 * a host other than nnlua): MPI_Finalize after a clean end; after a
 * failing exit status, MPI_Abort, so that the other ranks are not left
 * waiting for this one in a collective. */
static void at_exit(int status, void *arg) {
  (void)arg;
  int finalized = 1;
  MPI_Finalized(&finalized);
  if (finalized) return;
  if (status != 0 && world_size > 1) MPI_Abort(MPI_COMM_WORLD, status);
  MPI_Finalize();
}

void nn_dist_init(bool launched, int *rank, int *size) {
  if (!joined) {
    joined = true;
    int initialized = 0;
    MPI_Initialized(&initialized); /* allowed before MPI_Init */
    if (launched || initialized) {
      int provided;
      if (!initialized) {
        MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
        /* after MPI_Init: exit handlers run in reverse, so this one runs
         * before any Open MPI registered */
        on_exit(at_exit, NULL);
      }
      mpi_on = true;
      MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
      MPI_Comm_size(MPI_COMM_WORLD, &world_size);
    }
  }
  *rank = world_rank;
  *size = world_size;
}

void nn_dist_abort(int code) {
  if (mpi_on) MPI_Abort(MPI_COMM_WORLD, code);
}

int nn_dist_check_same(const nn_dist_desc *mine, nn_dist_desc *first, nn_dist_desc *theirs) {
  *first = *mine;
  if (!mpi_on || world_size == 1) return -1;
  enum { N = sizeof(nn_dist_desc) / sizeof(int64_t) };
  nn_dist_desc *all = malloc(sizeof *all * (size_t)world_size);
  /* the other ranks already wait in this collective: a rank without the
   * few bytes per rank it needs can only end the job */
  if (all == NULL) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Allgather(mine, N, MPI_INT64_T, all, N, MPI_INT64_T, MPI_COMM_WORLD);
  *first = all[0];
  int differs = -1;
  for (int r = 1; r < world_size && differs < 0; r++) {
    if (memcmp(&all[r], &all[0], sizeof all[0]) != 0) differs = r;
  }
  if (differs >= 0) *theirs = all[differs];
  free(all);
  return differs;
}

static MPI_Op mpi_op(nn_dist_op op) {
  switch (op) {
  case NN_DIST_MAX: return MPI_MAX;
  case NN_DIST_MIN: return MPI_MIN;
  default: return MPI_SUM; /* sum, and mean before its division */
  }
}

void nn_dist_all_reduce(void *x, int64_t n, nn_dtype dtype, nn_dist_op op) {
  if (!mpi_on || world_size == 1) return; /* one rank: already the result */
  for (int64_t i = 0; i < n; i += CHUNK) {
    int count = (int)(n - i < CHUNK ? n - i : CHUNK);
    MPI_Allreduce(MPI_IN_PLACE, (char *)x + i * elem_size(dtype), count, mpi_type(dtype), mpi_op(op),
                  MPI_COMM_WORLD);
  }
  if (op == NN_DIST_MEAN) { /* as PyTorch's ReduceOp.AVG: the sum, divided */
    float *f = x, size = (float)world_size;
    for (int64_t i = 0; i < n; i++) f[i] /= size;
  }
}

void nn_dist_broadcast(void *x, int64_t n, nn_dtype dtype, int root) {
  if (!mpi_on || world_size == 1) return;
  for (int64_t i = 0; i < n; i += CHUNK) {
    int count = (int)(n - i < CHUNK ? n - i : CHUNK);
    MPI_Bcast((char *)x + i * elem_size(dtype), count, mpi_type(dtype), root, MPI_COMM_WORLD);
  }
}

void nn_dist_all_gather(void *out, const void *x, int64_t n, nn_dtype dtype) {
  size_t bytes = (size_t)n * elem_size(dtype);
  if (!mpi_on || world_size == 1) {
    memcpy(out, x, bytes);
  } else if (n <= INT_MAX) {
    MPI_Allgather(x, (int)n, mpi_type(dtype), out, (int)n, mpi_type(dtype), MPI_COMM_WORLD);
  } else { /* too many elements for one count: each rank's row broadcast by it */
    memcpy((char *)out + (size_t)world_rank * bytes, x, bytes);
    for (int r = 0; r < world_size; r++)
      nn_dist_broadcast((char *)out + (size_t)r * bytes, n, dtype, r);
  }
}

void nn_dist_barrier(void) {
  if (mpi_on && world_size > 1) MPI_Barrier(MPI_COMM_WORLD);
}
