#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (README.md here).
#   run.sh ci   [BUILD]   replay corpus/ and regressions/, then each target
#                         -seed=1 -max_total_time=30 (make fuzz-ci)
#   run.sh long [BUILD]   each target FUZZ_SECONDS (default 60) or FUZZ_RUNS
#                         executions, whichever comes first, on a working
#                         corpus in BUILD/fuzz-corpus/<target> (make fuzz)
#   run.sh merge [BUILD]  minimise BUILD/fuzz-corpus/<target> into corpus/<target>
# FUZZ_TARGETS="npy png" limits any mode to those targets.
set -euo pipefail
mode=${1:?usage: run.sh ci|long|merge [BUILD]}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${2:-$root/build-fuzz}
targets=${FUZZ_TARGETS:-"safetensors checkpoint_meta npy idx idx_gz cifar png csv"}
seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:--1}

CC=${FUZZ_CC:-clang} cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNNLUA_FUZZ=ON >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" >/dev/null

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export OPENBLAS_NUM_THREADS=1

# CIFAR needs room for two 3073-byte records; the rest start from 4096.
max_len() { case $1 in cifar) echo 8192 ;; *) echo 4096 ;; esac; }

for t in $targets; do
  bin=$build/tests/fuzz/fuzz_$t
  corpus=$here/corpus/$t
  reg=$here/regressions/$t
  mkdir -p "$reg"
  opts=(-max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  case $mode in
  ci)
    echo "== fuzz_$t: replay"
    log=$(mktemp)
    if ! "$bin" -runs=0 "${opts[@]}" "$corpus" "$reg" >"$log" 2>&1; then
      tail -40 "$log"
      echo "fuzz_$t: a committed input fails (above)" >&2
      exit 1
    fi
    grep -E '^Done' "$log" || true
    rm -f "$log"
    echo "== fuzz_$t: 30 s, seed 1"
    work=$(mktemp -d)
    log=$work.log
    if ! "$bin" -seed=1 -max_total_time=30 "${opts[@]}" "$work" "$corpus" "$reg" >"$log" 2>&1; then
      tail -40 "$log"
      echo "fuzz_$t failed: the input is in crash-*/leak-*/timeout-* here; add it to $reg" >&2
      exit 1
    fi
    grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
    rm -rf "$work" "$log"
    ;;
  long)
    work=$build/fuzz-corpus/$t
    mkdir -p "$work" "$build/fuzz-artifacts/$t"
    echo "== fuzz_$t: ${seconds} s (corpus $work)"
    "$bin" -max_total_time="$seconds" -runs="$runs" "${opts[@]}" -artifact_prefix="$build/fuzz-artifacts/$t/" \
      "$work" "$corpus" "$reg" 2>&1 | tail -12
    ;;
  merge)
    echo "== fuzz_$t: merge into $corpus"
    "$bin" -merge=1 "${opts[@]}" "$corpus" "$build/fuzz-corpus/$t" 2>&1 | tail -1
    ;;
  *) echo "run.sh: unknown mode '$mode'" >&2; exit 2 ;;
  esac
done
