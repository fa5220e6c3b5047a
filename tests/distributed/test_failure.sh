#!/usr/bin/env bash
# A failing rank ends the whole job, with a non-zero exit and no rank left
# waiting in a collective: an error on one rank (nnlua prints it with the
# rank, then MPI_Abort), a failing os.exit, and a rank killed by SIGKILL
# (mpirun's own behaviour). Each job runs under `timeout`, so a hang fails
# instead of waiting for ctest's. Prints "N passed, M failed".
#   test_failure.sh NNLUA CASE     CASE: error, exit, kill or world_of_one
set -u
NNLUA=$1
CASE=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source "$HERE/../cli/lib.sh"

# run NAME NP SCRIPT: runs SCRIPT on NP ranks; sets $out and $rc.
run() {
  printf '%s\n' "$3" > "$TMP/$1.lua"
  out=$(timeout 45 bash "$HERE/mpirun.sh" -np "$2" "$NNLUA" "$TMP/$1.lua" 2>&1)
  rc=$?
}
# ended NAME: the job ended by itself, with a failure status.
ended() {
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then ok; else fail "$1: exit status $rc" "$out"; fi
}

case_error() {
  # Rank 2 raises while ranks 1 and 3 wait in a barrier.
  run error 3 'local d = nn.distributed
if d.rank() == 2 then error("boom on rank " .. d.rank()) end
d.barrier()
print("rank " .. d.rank() .. " passed the barrier")'
  ended "an error on rank 2"
  has "the message names the rank" "$out" "nnlua: rank 2 of 3: $TMP/error.lua:2: boom on rank 2" "stack traceback"
  if [[ "$out" == *"passed the barrier"* ]]; then fail "a rank passed the barrier" "$out"; else ok; fi

  # From -e, raised by a collective's check on every rank.
  out=$(timeout 45 bash "$HERE/mpirun.sh" -np 2 "$NNLUA" \
        -e 'local d = nn.distributed; d.all_reduce(d.rank() == 1 and nn.ones(2) or nn.ones(3))' 2>&1)
  rc=$?
  ended "shapes that differ, uncaught"
  has "a rank reports it" "$out" "(command line):1: all_reduce: the tensors differ" \
      "rank 1 has float32 [2], rank 2 has float32 [3]"
  if [[ "$out" =~ "nnlua: rank "[12]" of 2: " ]]; then ok; else fail "the rank in the message" "$out"; fi
}

case_exit() {
  # A failing status on one rank ends the job with it (MPI_Abort at exit);
  # status 0 on every rank is a clean end (MPI_Finalize at exit).
  run exit 3 'local d = nn.distributed
d.barrier()
if d.rank() == 2 then os.exit(3) end
d.barrier()
print("rank " .. d.rank() .. " passed the barrier")'
  if [ "$rc" -eq 3 ]; then ok; else fail "os.exit(3) on rank 2: exit status $rc" "$out"; fi
  if [[ "$out" == *"passed the barrier"* ]]; then fail "a rank passed the barrier after os.exit" "$out"; else ok; fi
  run exit0 2 'nn.distributed.all_reduce(nn.ones(2))
print("exits", nn.distributed.rank())
os.exit(0)'
  if [ "$rc" -eq 0 ]; then ok; else fail "os.exit(0) on every rank: exit status $rc" "$out"; fi
  has "both ranks ran to os.exit" "$out" "exits	1" "exits	2"
}

case_kill() {
  # Rank 3 is killed while ranks 1 and 2 wait in an all_reduce.
  run kill 3 'local d = nn.distributed
if d.rank() == 3 then os.execute("kill -9 $PPID") end
d.all_reduce(nn.ones(4))
print("rank " .. d.rank() .. " finished")'
  ended "a rank killed by SIGKILL"
  has "mpirun says which" "$out" "exited on signal 9"
  if [[ "$out" == *"finished"* ]]; then fail "a rank finished without the killed one" "$out"; else ok; fi
}

case_world_of_one() {
  # Not under mpirun: a world of one, whose errors are the usual ones.
  out=$("$NNLUA" -e 'nn.distributed.init(); error("plain")' 2>&1)
  rc=$?
  ended "an error in a world of one"
  has "reported as usual" "$out" "nnlua: (command line):1: plain"
  if [[ "$out" == *"rank"* || "$out" == *"MPI_ABORT"* ]]; then fail "a world of one aborts like a job" "$out"; else ok; fi
}

"case_$CASE"
summary
