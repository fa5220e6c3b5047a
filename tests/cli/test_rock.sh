#!/usr/bin/env bash
# nnlua-scm-1.rockspec: `luarocks --lua-version=5.4 make --tree=DIR` on a
# copy of the source builds and installs the nn module, and the stock
# lua5.4 then loads it (with help() finding the manual) through
# `luarocks path`. Prints "N passed, M failed".
set -u

SRC=${NNLUA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The tools (cmake, the compiler, luarocks) are not the code under test:
# in the sanitizer build they run without the preloaded runtimes.
unset LD_PRELOAD
export CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}
source "$(dirname "$0")/lib.sh"

# A copy of the source as a clone would have it (luarocks builds in place).
mkdir -p "$TMP/src"
(cd "$SRC" && git ls-files -co --exclude-standard -z | grep -zv '^tests/fixtures/' |
  xargs -0 -I{} cp --parents {} "$TMP/src/" 2>/dev/null)
if [ -f "$TMP/src/nnlua-scm-1.rockspec" ]; then ok; else fail "copy of the source"; fi

out=$(cd "$TMP/src" && luarocks --lua-version=5.4 make --tree="$TMP/tree" nnlua-scm-1.rockspec 2>&1)
rc=$?
if [ $rc -eq 0 ]; then ok; else fail "luarocks make (status $rc)" "$(printf '%s' "$out" | tail -20)"; fi
has "luarocks installs the rock" "$out" "nnlua scm-1 is now installed"

unset LUA_PATH LUA_CPATH # ctest points them at the source tree
eval "$(luarocks --lua-version=5.4 --tree="$TMP/tree" path)"
out=$(cd "$TMP" && lua5.4 -e '
local nn = require "nn"
print(nn.matmul(nn.ones(2, 3), nn.ones(3, 2)):sum():item())
local m = nn.Sequential{nn.Linear(3, 2)}
print(#m:parameters(), package.searchpath("nn.core", package.cpath))
print(debug.getinfo(nn.fit, "S").source)
help(nn.Linear)' 2>&1)
has "lua5.4 loads the rock" "$out" "12.0" "2	$TMP/tree/lib/lua/5.4/nn/core.so" "@$TMP/tree/share/lua/5.4/nn/fit.lua" \
    "nn.Linear(in_features, out_features [, opts])"

summary
