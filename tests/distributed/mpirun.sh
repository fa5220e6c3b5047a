#!/usr/bin/env bash
# mpirun as the tests and benchmarks run it: ranks on this machine only.
#   tests/distributed/mpirun.sh [--tcp] -np N nnlua script.lua [args...]
# --tcp forces the network path (TCP over loopback, the transport a
# cluster uses) instead of shared memory. More ranks than cores are
# allowed (--oversubscribe) and left unbound (--bind-to none): CI has 2
# cores. As root (CI's containers) Open MPI needs --allow-run-as-root.
# The sanitizer build's LD_PRELOAD (the runtimes lua5.4 needs) goes to the
# ranks only: mpirun itself is not the code under test.
set -euo pipefail
args=(--oversubscribe --bind-to none)
if [ "$(id -u)" = 0 ]; then args+=(--allow-run-as-root); fi
if [ "${1-}" = --tcp ]; then
  args+=(--mca btl tcp,self --mca btl_tcp_if_include lo)
  shift
fi
if [ -n "${LD_PRELOAD-}" ]; then
  args+=(-x "LD_PRELOAD=$LD_PRELOAD")
  unset LD_PRELOAD
fi
exec mpirun "${args[@]}" "$@"
