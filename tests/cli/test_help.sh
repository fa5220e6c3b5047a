#!/usr/bin/env bash
# help() in scripts and the REPL (the text comes from docs/), and what the
# REPL and the program print for a first-hour user: summary() once, a
# tensor's autograd state, errors at the user's line without the
# installation's paths. Prints "N passed, M failed"; non-zero on failure.
set -u

NNLUA=$(realpath "${NNLUA:-$(dirname "$0")/../../build/nnlua}")
SRC=${NNLUA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export NNLUA_HISTORY=
source "$(dirname "$0")/lib.sh"

# lacks NAME OUTPUT PATTERN: OUTPUT does not contain PATTERN.
lacks() {
  if [[ "$2" == *"$3"* ]]; then fail "$1: has '$3'" "$2"; else ok; fi
}
# count NAME OUTPUT PATTERN N: PATTERN occurs on exactly N lines.
count() {
  local n
  n=$(printf '%s\n' "$2" | grep -cF -- "$3")
  if [ "$n" == "$4" ]; then ok; else fail "$1: '$3' on $n lines, expected $4" "$2"; fi
}

# --- help ----------------------------------------------------------------
out=$("$NNLUA" -e 'help(nn.Linear)' 2>&1)
has "help(nn.Linear)" "$out" "nn.Linear  (docs/layers.md)" "nn.Linear(in_features, out_features [, opts])" \
    "Options: bias = true" "Returns: a Linear module." "Errors:" "Example:" "Output:"
lacks "help(nn.Linear) has no markdown" "$out" '```'

out=$("$NNLUA" -e 'help "nn.optim.Adam"' 2>&1)
has 'help "nn.optim.Adam"' "$out" "nn.optim.Adam, nn.optim.AdamW  (docs/optim.md)" \
    "nn.optim.Adam(params [, opts])" "lr = 1e-3"
out2=$("$NNLUA" -e 'help(nn.optim.Adam)' 2>&1)
if [ "$out" == "$out2" ]; then ok; else fail "help(nn.optim.Adam) differs from help \"nn.optim.Adam\"" "$out2"; fi

out=$("$NNLUA" -e 'help "nn.sum"' 2>&1)
has "nn.f is documented with t:f" "$out" "t:sum([dim, keepdim])"
out=$("$NNLUA" -e 'help(nn.zeros(1).sum)' 2>&1)
has "help of a tensor method" "$out" "t:sum([dim, keepdim])"
out=$("$NNLUA" -e 'help "Linear"' 2>&1)
has "a short name" "$out" "nn.Linear(in_features"

out=$("$NNLUA" -e 'help(nn.randn(2, 3))' 2>&1)
has "help(t)" "$out" "tensor of shape [2,3], dtype float32" "methods" "matmul" "requires_grad"
out=$("$NNLUA" -e 'local w = nn.ones(2):requires_grad_(); help(w * 2)' 2>&1)
has "help(t) of a computed tensor" "$out" "grad_fn=<mul>"

out=$("$NNLUA" -e 'help()' 2>&1)
has "help() lists the sections" "$out" "Sections:" "tensors" "layers" "optim" "from-pytorch"
out=$("$NNLUA" -e 'help "tensors"' 2>&1)
has "help of a section" "$out" "Tensors  (docs/tensors.md)" "nn.zeros"
out=$("$NNLUA" -e 'help(nn.Sequential{nn.Linear(2, 2)})' 2>&1)
has "help of a module" "$out" "nn.Sequential(modules)" "methods:" "parameters" "state_dict"
out=$("$NNLUA" -e 'help(nn.optim)' 2>&1)
has "help of a namespace" "$out" "nn.optim: help" "nn.optim.SGD  (docs/optim.md)" "nn.optim.StepLR"
out2=$("$NNLUA" -e 'help "nn.optim"' 2>&1)
if [ "$out" == "$out2" ]; then ok; else fail "help \"nn.optim\" differs from help(nn.optim)" "$out2"; fi
out=$("$NNLUA" -e 'help "nn.no_such_thing"' 2>&1)
has "an unknown name" "$out" 'help: no entry for "nn.no_such_thing"'

# The REPL prints help once and nothing else (help returns nothing).
out=$(printf 'help(nn.ReLU)\n' | "$NNLUA" -i 2>&1)
count "help in the REPL prints once" "$out" "nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.SiLU  (docs/layers.md)" 1
lacks "help in the REPL echoes nothing" "$out" "nil"

# From another folder, and with the docs elsewhere through NNLUA_DOCS.
out=$(cd "$TMP" && "$NNLUA" -e 'help(nn.Linear)' 2>&1)
has "help from another folder" "$out" "nn.Linear(in_features"
cp -r "$SRC/docs" "$TMP/manual"
sed -i 's/^# Tensors$/# Tensors (a copy)/' "$TMP/manual/tensors.md"
out=$(NNLUA_DOCS="$TMP/manual" "$NNLUA" -e 'help "tensors"' 2>&1)
has "NNLUA_DOCS names the manual's folder" "$out" "Tensors (a copy)  (docs/tensors.md)"

# --- the REPL's echo -----------------------------------------------------
out=$(printf 'm = nn.Sequential{nn.Linear(2, 3)}\nm:summary({1, 2})\n' | "$NNLUA" -i 2>&1)
count "summary() prints once in the REPL" "$out" "Total params: 9" 1
out=$(printf 'w = nn.ones(2):requires_grad_()\nw\nw * 2\n' | "$NNLUA" -i 2>&1)
has "a tensor's autograd state" "$out" "tensor([1., 1.], requires_grad=true)" "tensor([2., 2.], grad_fn=<mul>)"

# --- errors: the user's line, no installation path -----------------------
out=$(printf 'nn.data.DataLoader(5)\n' | "$NNLUA" -i 2>&1)
has "a REPL expression's error names the line" "$out" "stdin:1: DataLoader: dataset must be"
out=$(printf '1 + 1 -- a comment\nnn.zeros(2)  -- another\n' | "$NNLUA" -i 2>&1)
has "an expression with a trailing comment is printed" "$out" "2" "tensor([0., 0.])"
printf 'local x = 1\nnn.data.DataLoader(5)\n' > "$TMP/bad.lua"
out=$("$NNLUA" "$TMP/bad.lua" 2>&1)
has "a library error names the script's line" "$out" "bad.lua:2: DataLoader:" "nn/data/init.lua:"
lacks "no absolute path of the library" "$out" "$SRC/stdlib"
# A runtime error inside the library's own code (simulated by a chunk the
# library owns) still names the user's line first.
cat > "$TMP/libbug.lua" <<'LUA'
local dir = debug.getregistry()["nn.library_dir"]
local buggy = load("local x = nil\nreturn x.y", "@" .. dir .. "/buggy.lua")
buggy()
LUA
out=$("$NNLUA" "$TMP/libbug.lua" 2>&1)
has "a library bug names the user's line" "$out" "libbug.lua:3: nn/buggy.lua:2: attempt to index a nil value"
lacks "a library bug has no absolute path" "$out" "$SRC/stdlib"

summary
