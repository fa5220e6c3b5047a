#!/usr/bin/env bash
# Tests of the REPL on a real terminal, driven through tmux: prompts,
# continuation lines, tab completion (which shows no private "_" name),
# Ctrl-C at the prompt and during a
# computation, the history file, Ctrl-D. Skipped (passes) without tmux.
# Prints "N passed, M failed" and exits non-zero on any failure.
set -u

NNLUA=${NNLUA:-$(dirname "$0")/../../build/nnlua}
if ! command -v tmux >/dev/null; then
  echo "tmux not found: skipped"
  exit 0
fi
# bash and tmux must not run under the sanitizer runtimes ctest preloads
# (nnlua, when instrumented, links them itself).
if [ -n "${LD_PRELOAD:-}" ]; then exec env -u LD_PRELOAD bash "$0"; fi
NNLUA=$(cd "$(dirname "$NNLUA")" && pwd)/$(basename "$NNLUA")
TMP=$(mktemp -d)
# Each session gets its own server socket in $TMP: starting a new server
# on the socket of one being killed raced ("server exited unexpectedly").
SESSION=0
SOCK="$TMP/tmux0.sock"
T() { tmux -S "$SOCK" "$@"; }
cleanup() {
  for s in "$TMP"/tmux*.sock; do tmux -S "$s" kill-server 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
passed=0
failed=0

ok() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $1"
  echo "--- screen:"
  screen
  echo "---"
}
screen() { T capture-pane -p -t repl 2>/dev/null; }
type_line() { T send-keys -t repl -l "$1"; T send-keys -t repl Enter; }
keys() { T send-keys -t repl "$@"; }

# expect NAME TEXT: waits up to 10 s for TEXT to appear on the screen.
expect() {
  for _ in $(seq 100); do
    if [[ "$(screen)" == *"$2"* ]]; then ok; return; fi
    sleep 0.1
  done
  fail "$1: '$2' not on screen"
}

# absent NAME TEXT: TEXT is not on the screen now.
absent() {
  if [[ "$(screen)" == *"$2"* ]]; then fail "$1: '$2' on screen"; else ok; fi
}

# start: a fresh REPL in a 120x40 terminal with history in $TMP/history.
start() {
  T kill-server 2>/dev/null
  SESSION=$((SESSION + 1))
  SOCK="$TMP/tmux$SESSION.sock"
  T new-session -d -s repl -x 120 -y 40 \
    "env INPUTRC=/dev/null NNLUA_HISTORY='$TMP/history' '$NNLUA'; echo \"exit status \$?\"; sleep 30"
  expect "banner" "nnlua 0.1.0 (Lua 5.4"
}

start
type_line "1+1"
expect "expression printed" $'> 1+1\n2'
type_line "function double(x)"
expect "continuation prompt" $'> function double(x)\n>>'
type_line "return 2 * x"
type_line "end"
type_line "double(21)"
expect "multi-line function" $'> double(21)\n42'

keys -l "nn.memory_st"
keys Tab
expect "completion of a field" "> nn.memory_stats"
keys C-u
keys -l "doub"
keys Tab
expect "completion of a global" "> double"
keys C-u
type_line "s = 'text'"
keys -l "s:upp"
keys Tab
expect "completion of a method" "> s:upper"
keys C-u

keys -l "abandoned line"
keys C-c
type_line "'after ctrl-c'"
expect "Ctrl-C at the prompt" $'\nafter ctrl-c'
type_line "for i = 1, 3 do"
keys C-c
type_line "'after cancelled chunk'"
expect "Ctrl-C drops a pending chunk" $'\nafter cancelled chunk'

type_line "while true do end"
sleep 0.3
keys C-c
expect "Ctrl-C interrupts a computation" "interrupted!"
type_line "'still alive'"
expect "REPL survives the interrupt" $'\nstill alive'

keys C-d
expect "Ctrl-D exits cleanly" "exit status 0"

if grep -q "double(21)" "$TMP/history" 2>/dev/null; then ok; else fail "history file written"; fi

# A new session reads the history: the multi-line chunk is one entry.
start
keys Up Up Up Up Up Up Up
expect "history recalls a multi-line chunk" $'> function double(x)\nreturn 2 * x\nend'
keys C-u

# No private name: nn has none (they stay in nn.core), and an object's
# "_" fields and metamethods are left out of its completions.
keys -l "nn._"
keys Tab Tab
sleep 0.3
keys C-u
type_line "'after private check'"
expect "nn._ completed" $'\nafter private check'
absent "no private name in nn" "nn._"
type_line "opt = nn.optim.SGD({nn.zeros(2):requires_grad_()}, {lr = 0.1})"
keys -l "opt:"
keys Tab Tab
expect "completion lists an object's methods" "opt:zero_grad"
absent "no private method of an object" "opt:_"
keys C-u
type_line "m = nn.Linear(2, 2)"
keys -l "m."
keys Tab Tab
expect "completion lists a module's fields" "m.weight"
absent "no private field of a module" "m._"
keys C-u

keys C-d
expect "second Ctrl-D exit" "exit status 0"

echo "$passed passed, $failed failed"
# Terminal timing on a loaded machine occasionally loses a screen update:
# a real regression fails both runs, a hiccup only one.
if [ "$failed" -ne 0 ] && [ -z "${NNLUA_TTY_RETRY:-}" ]; then
  echo "retrying once"
  cleanup
  trap - EXIT
  exec env NNLUA_TTY_RETRY=1 bash "$0"
fi
[ "$failed" -eq 0 ]
