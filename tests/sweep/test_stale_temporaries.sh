#!/usr/bin/env bash
# No stale files (issue 16): an nnlua child saves a checkpoint in a loop
# and is killed with SIGKILL at a random moment, 100 times. Each next child
# first loads the checkpoint and checks it is one whole save, never older
# than the last one seen (tests/sweep/stale_saver.lua); after every kill at
# most one temporary (<path>.tmp.<pid>) is left, because a save removes
# those of dead processes. Then: a temporary of a live process survives a
# save, one of a dead process does not, and a temporary alone never loads.
set -u
shopt -s nullglob
NNLUA=${NNLUA:?set NNLUA to the nnlua program}
SRC=${NNLUA_SOURCE_DIR:?set NNLUA_SOURCE_DIR}
SAVER=$SRC/tests/sweep/stale_saver.lua
KILLS=${KILLS:-100}

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
target=$dir/ck.safetensors

fail() { echo "FAIL: $*"; exit 1; }
temporaries() { local t=("$target".tmp.*); echo ${#t[@]}; }

# The children's first line arrives through a FIFO; reading it with a
# timeout also serves as a sleep without a fork.
mkfifo "$dir/fifo"
exec 3<>"$dir/fifo"

last=0 inside=0
for ((i = 1; i <= KILLS; i++)); do
  "$NNLUA" "$SAVER" "$target" >&3 2>"$dir/err" &
  pid=$!
  # The child checks the last save and prints its generation, then saves.
  read -r -t 60 -u 3 gen || { cat "$dir/err"; fail "kill $i: the child printed no generation"; }
  read -r -t "$(printf '0.%03d' $((RANDOM % 40)))" -u 3 _  # a random moment of the saving
  kill -KILL $pid
  wait $pid 2>/dev/null
  [ "$gen" -ge "$last" ] || fail "kill $i: generation $gen loaded after $last"
  last=$gen
  n=$(temporaries)
  [ "$n" -le 1 ] || { ls "$dir"; fail "kill $i: $n temporaries left"; }
  inside=$((inside + n))
done
# Killed inside a save at least sometimes, or the test proves nothing.
[ $inside -ge 1 ] || fail "no kill of $KILLS landed inside a save"

# A live process's temporary (this shell's) stays; a dead one's goes.
sleep 0 & dead=$!
wait $dead
echo partial >"$target.tmp.$$"
echo partial >"$target.tmp.$dead"
"$NNLUA" "$SAVER" "$target" --once >/dev/null 2>"$dir/err" || { cat "$dir/err"; fail "the last save"; }
[ -e "$target.tmp.$$" ] || fail "a live process's temporary was removed"
[ ! -e "$target.tmp.$dead" ] || fail "a dead process's temporary was kept"
[ "$(temporaries)" -eq 1 ] || { ls "$dir"; fail "stale temporaries remain after a save"; }

# Loading reads the target only: with the target gone, its temporary does not load.
mv "$target" "$target.tmp.$dead"
if "$NNLUA" -e "nn.load_checkpoint('$target')" 2>"$dir/err"; then fail "a temporary was loaded"; fi
grep -q "cannot open" "$dir/err" || { cat "$dir/err"; fail "unexpected error loading a missing target"; }

echo "ok: $KILLS kills, $inside inside a save (a temporary left), generation $last reached"
