#!/usr/bin/env bash
# nnlua runs without MPI: the program does not link libmpi, `require "nn"`
# does not load it (only nn.distributed does), and when the library is
# missing at run time nn.distributed raises naming the Debian packages.
# "Missing" is made real for the dynamic loader: a copy of the module
# whose needed-library entry names libmpX.so.40, which no path holds.
# Prints "N passed, M failed".
#   test_without_mpi.sh NNLUA MODULE (build/lua/nn/distributed/mpi.so)
set -u
NNLUA=$1
MODULE=$2
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
source "$HERE/../cli/lib.sh"

if ldd "$NNLUA" | grep -q libmpi; then fail "nnlua links libmpi" "$(ldd "$NNLUA")"; else ok; fi
MAPPED='local function mapped() for l in io.lines("/proc/self/maps") do if l:find("libmpi", 1, true) then return true end end return false end'
out=$("$NNLUA" -e "$MAPPED"' print("before", mapped()); local _ = nn.distributed.world_size(); print("after", mapped())' 2>&1)
has "libmpi is loaded by nn.distributed only" "$out" "before	false" "after	true"

# The module with its libmpi entry renamed (same length, so the ELF file
# stays valid): loading it fails as it does where Open MPI is not installed.
mkdir -p "$TMP/nn/distributed"
SRC="$MODULE" DST="$TMP/nn/distributed/mpi.so" "$NNLUA" -e '
  local src = assert(io.open(os.getenv("SRC"), "rb")):read("a")
  local patched, n = src:gsub("libmpi%.so%.40", "libmpX.so.40")
  assert(n >= 1, "no libmpi.so.40 in the module")
  assert(io.open(os.getenv("DST"), "wb")):write(patched):close()'
CPATH_FIRST="package.cpath = '$TMP/?.so;' .. package.cpath"
out=$("$NNLUA" -e "$CPATH_FIRST" -e 'local d = require "nn.distributed"' 2>&1)
rc=$?
if [ "$rc" -ne 0 ]; then ok; else fail "require without the library succeeded" "$out"; fi
has "the error names the packages" "$out" "(command line):1: nn.distributed: cannot load the MPI library" \
    "libmpX.so.40: cannot open shared object file" "libopenmpi3" "openmpi-bin"
out=$("$NNLUA" -e "$CPATH_FIRST" -e '
  print(pcall(function() return nn.distributed end))
  print("nn still works", nn.ones(2):sum():item())' 2>&1)
has "nn.distributed raises the same, nn still works" "$out" "false" "libopenmpi3" "nn still works	2.0"

# Built without MPI: no module at all.
out=$("$NNLUA" -e "package.cpath = '$TMP/none/?.so'" -e 'print(pcall(require, "nn.distributed"))' 2>&1)
has "a build without MPI says what to install" "$out" "false" "built without MPI" "libopenmpi-dev" "openmpi-bin"

summary
