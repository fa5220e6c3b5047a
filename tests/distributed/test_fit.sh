#!/usr/bin/env bash
# nn.fit under mpirun -np 2 (two ctest tests, 60 s each):
#   NNLUA=build/nnlua tests/distributed/test_fit.sh fit
# fit.lua's checks pass on both ranks, the progress is printed once (by
# rank 1), and one checkpoint is written;
#   NNLUA=build/nnlua tests/distributed/test_fit.sh fashion_mnist
# scripts/fashion_mnist.lua, unchanged, trains under mpirun -np 2 (--limit:
# a short run on the real dataset, dataset-fashion-mnist).
set -u
# The sanitizer pass preloads the sanitizer runtimes and lsan_shim
# (tests/distributed/CMakeLists.txt): mpirun.sh hands them to the ranks;
# this bash must not run under them (LeakSanitizer would flag bash's
# allocations at its exit).
if [ -n "${LD_PRELOAD:-}" ]; then
  exec env -u LD_PRELOAD RANKS_PRELOAD="$LD_PRELOAD" bash "$0" "$@"
fi
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../cli/lib.sh"
NNLUA=${NNLUA:-$HERE/../../build/nnlua}
MPIRUN="env ${RANKS_PRELOAD:+LD_PRELOAD=$RANKS_PRELOAD} bash $HERE/mpirun.sh"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# count REGEX TEXT: how many times REGEX occurs in TEXT (a terminal's
# progress bar redraws a line with carriage returns: not lines, matches).
count() { grep -oE -- "$1" <<<"$2" | wc -l; }

what=${1:?usage: test_fit.sh fit|fashion_mnist}

test_fit() {
  log=$($MPIRUN -np 2 "$NNLUA" "$HERE/fit.lua" "$TMP" 2>&1)
  rc=$?
  if [ $rc = 0 ]; then ok; else fail "fit.lua: exit status $rc" "$log"; fi
  has "fit.lua passes on both ranks" "$log" "fit: 2 ranks"
  [ "$(count 'Epoch 1/3 [0-9.]+s loss' "$log")" = 1 ] && ok || fail "the first epoch's line is not printed exactly once" "$log"
  [ "$(ls "$TMP" | grep -c '^fit\.safetensors')" = 1 ] && ok || fail "not one fit.safetensors" "$(ls "$TMP")"
}

test_fashion_mnist() {
  out="$TMP/fashion"
  log=$($MPIRUN -np 2 "$NNLUA" "$HERE/../../scripts/fashion_mnist.lua" --epochs 2 --limit 6000 --out "$out" 2>&1)
  rc=$?
  if [ $rc = 0 ]; then ok; else fail "fashion_mnist.lua under mpirun -np 2: exit status $rc" "$log"; fi
  [ "$(count 'Epoch 2/2 [0-9.]+s loss' "$log")" = 1 ] && ok || fail "fashion_mnist.lua: the epoch's line is not printed exactly once" "$log"
  has "fashion_mnist.lua reports on each rank" "$log" "test accuracy" "Sneaker" "checkpoint: $out/mlp.safetensors"
  acc=$(sed -n 's/^test accuracy \([0-9.]*\).*/\1/p' <<<"$log" | head -1)
  awk -v a="${acc:-0}" 'BEGIN { exit !(a > 0.4) }' && ok || fail "fashion_mnist.lua: test accuracy '$acc' not above 0.4" "$log"
  check=$("$NNLUA" -e "
    local m = nn.Sequential{nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)}
    local c = nn.load_checkpoint('$out/mlp.safetensors', {model = m})
    print('epoch', c.epoch, 'history', #c.history.loss)" 2>&1)
  has "fashion_mnist.lua's checkpoint loads back" "$check" "epoch	2	history	2"
}

case $what in
  fit) test_fit ;;
  fashion_mnist) test_fashion_mnist ;;
  *) fail "unknown test '$what' (fit or fashion_mnist)" ;;
esac
summary
