#!/usr/bin/env bash
# `cmake --install` into a temporary prefix: the installed nnlua runs a
# script from another folder with the installed library (not the source
# tree's), help() reads the installed manual, the man page is there, and
# the stock lua5.4 loads the installed module. Prints "N passed, M failed".
set -u

NNLUA=$(realpath "${NNLUA:-$(dirname "$0")/../../build/nnlua}")
BUILD=$(cd "$(dirname "$NNLUA")" && pwd)
SRC=${NNLUA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# cmake is not the code under test: in the sanitizer build it runs without
# the preloaded runtimes, which lua5.4 loading the module still needs.
PRELOAD=${LD_PRELOAD-}
unset LD_PRELOAD
export NNLUA_HISTORY=
unset NNLUA_STDLIB NNLUA_DOCS
source "$(dirname "$0")/lib.sh"

P="$TMP/prefix"
if out=$(cmake --install "$BUILD" --prefix "$P" 2>&1); then ok; else fail "cmake --install" "$out"; fi
for f in bin/nnlua share/nnlua/stdlib/nn/init.lua share/nnlua/stdlib/nn/help.lua share/nnlua/docs/README.md \
         share/nnlua/docs/layers.md share/man/man1/nnlua.1; do
  if [ -f "$P/$f" ]; then ok; else fail "installed $f"; fi
done
CORE=$(find "$P" -path '*/lua/5.4/nn/core.so' | head -1)
if [ -n "$CORE" ]; then ok; else fail "installed lua/5.4/nn/core.so" "$(find "$P" -name '*.so')"; fi

# The installed program, from a folder of its own, with a script there.
mkdir -p "$TMP/work"
cat > "$TMP/work/train.lua" <<'LUA'
local model = nn.Sequential{nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 2)}
local ds = nn.data.synthetic.moons{n_samples = 64, seed = 0}
local h = nn.fit(model, {train = ds, loss = nn.CrossEntropyLoss(), epochs = 2, verbose = 0,
                         optimizer = nn.optim.SGD(model:parameters(), {lr = 0.1})})
print("epochs", h.epochs)
print("library", debug.getinfo(nn.fit, "S").source)
help(nn.Linear)
LUA
out=$(cd "$TMP/work" && "$P/bin/nnlua" train.lua 2>&1)
has "installed nnlua runs a script" "$out" "epochs	2" "library	@$P/share/nnlua/stdlib/nn/fit.lua" \
    "nn.Linear(in_features, out_features [, opts])"
if [[ "$out" == *"$SRC/stdlib"* ]]; then fail "installed nnlua used the source tree" "$out"; else ok; fi
out=$(cd "$TMP/work" && printf 'help()\n' | "$P/bin/nnlua" -i 2>&1)
has "installed REPL's help()" "$out" "Sections:" "getting-started"
out=$(cd "$TMP/work" && "$P/bin/nnlua" -e 'nn.data.DataLoader(5)' 2>&1)
has "installed errors name the user's line" "$out" "(command line):1: DataLoader:" "nn/data/init.lua:"
if [[ "$out" == *"$P/share"* ]]; then fail "an error shows the installation's path" "$out"; else ok; fi

# nn.distributed's MPI module (when built): the installed one, beside nn/core.so.
if [ -f "$BUILD/lua/nn/distributed/mpi.so" ]; then
  out=$(cd "$TMP/work" && "$P/bin/nnlua" \
        -e 'print(nn.distributed.world_size(), package.searchpath("nn.distributed.mpi", package.cpath))' 2>&1)
  has "installed nnlua loads the installed nn.distributed" "$out" "1	$(dirname "$CORE")/distributed/mpi.so"
fi

# The man page: a roff page with the usual sections (`man nnlua` once
# MANPATH reaches P/share/man).
out=$(cat "$P/share/man/man1/nnlua.1")
has "the man page" "$out" ".TH NNLUA 1" ".SH SYNOPSIS" ".SH OPTIONS" ".SH ENVIRONMENT" "help(nn.Linear)"

# The stock lua5.4 with the installed library and module.
out=$(cd "$TMP/work" && LUA_PATH="$P/share/nnlua/stdlib/?.lua;$P/share/nnlua/stdlib/?/init.lua;;" \
      LUA_CPATH="$(dirname "$(dirname "$CORE")")/?.so;;" \
      LD_PRELOAD="$PRELOAD" lua5.4 -e 'local nn = require "nn"; print(nn.ones(2, 2):sum():item()); help "nn.zeros"' 2>&1)
has "lua5.4 requires the installed nn" "$out" "4.0" "nn.zeros(size... [, opts])"

summary
