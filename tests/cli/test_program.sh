#!/usr/bin/env bash
# Tests of the nnlua program: options, the arg table, errors, the global
# nn, and the REPL fed through a pipe. Run by ctest with NNLUA set to the
# binary; prints "N passed, M failed" and exits non-zero on any failure.
set -u

NNLUA=${NNLUA:-$(dirname "$0")/../../build/nnlua}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export NNLUA_HISTORY=  # never touch the user's history
source "$(dirname "$0")/lib.sh"

# check NAME EXPECTED_RC PATTERN... -- CMD...: runs CMD, then requires its
# exit status and that its stdout+stderr contains each fixed string.
check() {
  local name=$1 want_rc=$2
  shift 2
  local patterns=()
  while [ "$1" != "--" ]; do patterns+=("$1"); shift; done
  shift
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" != "$want_rc" ]; then fail "$name: exit status $rc, expected $want_rc" "$out"; return; fi
  for p in "${patterns[@]}"; do
    if [[ "$out" != *"$p"* ]]; then fail "$name: output lacks '$p'" "$out"; return; fi
  done
  ok
}

# check_exact NAME EXPECTED -- CMD...: stdout must be exactly EXPECTED.
check_exact() {
  local name=$1 want=$2
  shift 3
  local out
  out=$("$@" 2>/dev/null)
  if [ "$out" == "$want" ]; then ok; else fail "$name" "$out"; fi
}

# repl NAME INPUT EXPECTED_STDOUT: feeds INPUT to `nnlua -i` through a pipe.
repl() {
  local out
  out=$(printf '%b' "$2" | "$NNLUA" -i 2>/dev/null)
  if [ "$out" == "$3" ]; then ok; else fail "repl: $1" "$out"; fi
}

# --- options -------------------------------------------------------------
check "--version" 0 "nnlua 0.1.0 (Lua 5.4" -- "$NNLUA" --version
check "-v" 0 "nnlua 0.1.0 (Lua 5.4" -- "$NNLUA" -v
check "--help" 0 "usage: nnlua" "-e stat" "-i" -- "$NNLUA" --help
check "unknown option" 1 "unrecognized option '-x'" "usage: nnlua" -- "$NNLUA" -x
check "unknown long option" 1 "unrecognized option '--frobnicate'" -- "$NNLUA" --frobnicate
check "-e without argument" 1 "'-e' needs argument" -- "$NNLUA" -e
check_exact "-e" "3" -- "$NNLUA" -e "print(1 + 2)"
check_exact "-e twice, in order" "$(printf 'a\nb')" -- "$NNLUA" -e "print('a')" -e "print('b')"
check_exact "-l" "table" -- "$NNLUA" -l string -e "print(type(string))"
check_exact "print(t.shape) shows the sizes" "{64, 784}" -- "$NNLUA" -e "print(nn.zeros(64, 784).shape)"

# --- scripts and arg ------------------------------------------------------
cat > "$TMP/args.lua" <<'EOF'
print(#arg, arg[0], arg[1], arg[2], arg[-1] ~= nil, select('#', ...), ...)
EOF
check_exact "script args" "$(printf '2\t%s\ta b\tc\ttrue\t2\ta b\tc' "$TMP/args.lua")" -- \
  "$NNLUA" "$TMP/args.lua" "a b" c
cat > "$TMP/neg.lua" <<'EOF'
print(arg[-2], arg[-1], arg[0], arg[1], arg[2])
EOF
check_exact "arg as lua sets it" "-e	x=1	$TMP/neg.lua	-e	q" -- \
  "$NNLUA" -e x=1 "$TMP/neg.lua" -e q
check_exact "-- ends options" "$NNLUA	--	$TMP/neg.lua	-e	x" -- "$NNLUA" -- "$TMP/neg.lua" -e x
if command -v lua5.4 >/dev/null; then
  check_exact "arg matches lua5.4" "$(lua5.4 -e y=2 "$TMP/neg.lua" a -i 2>&1 | cut -f2-)" -- \
    bash -c "'$NNLUA' -e y=2 '$TMP/neg.lua' a -i | cut -f2-"
fi
check_exact "stdin as script (-)" "from stdin	x" -- bash -c "echo 'print(\"from stdin\", ...)' | '$NNLUA' - x"
check_exact "piped stdin without args runs it" "42" -- bash -c "echo 'print(6 * 7)' | '$NNLUA'"
check "os.exit status" 3 -- "$NNLUA" -e "os.exit(3)"

# The script's folder comes first in package.path (Python's sys.path[0]):
# a script finds the module beside it from any working directory, and that
# module wins over one of the same name in the current directory.
mkdir -p "$TMP/proj/sub" "$TMP/cwd"
echo 'return {where = "beside the script"}' > "$TMP/proj/sub/helper.lua"
echo 'return {where = "in the cwd"}' > "$TMP/cwd/helper.lua"
echo 'print(require("helper").where)' > "$TMP/proj/sub/main.lua"
check_exact "script folder on package.path" "beside the script" -- \
  bash -c "cd '$TMP/cwd' && '$NNLUA' '$TMP/proj/sub/main.lua'"
check_exact "script folder, relative path" "beside the script" -- \
  bash -c "cd '$TMP/proj' && '$NNLUA' sub/main.lua"
check_exact "script folder, bare file name" "beside the script" -- \
  bash -c "cd '$TMP/proj/sub' && '$NNLUA' main.lua"
check_exact "script folder before the stdlib" "$TMP/proj/sub/?.lua" -- \
  bash -c "cd '$TMP/cwd' && echo 'print((package.path:match(\"^[^;]*\")))' > '$TMP/proj/sub/path.lua' && '$NNLUA' '$TMP/proj/sub/path.lua'"
head_of_path='print((package.path:match("^[^;]*")))'
check_exact "a script from stdin adds no folder" "$("$NNLUA" -e "$head_of_path")" -- \
  bash -c "echo '$head_of_path' | '$NNLUA' -"

# --- nn -------------------------------------------------------------------
cat > "$TMP/nn.lua" <<'EOF'
local m = require "nn"
print(m == nn, type(nn.memory_stats), package.loaded["nn.core"] ~= nil)
EOF
check_exact "require 'nn' is the global nn" "true	function	true" -- "$NNLUA" "$TMP/nn.lua"
check_exact "nn in -e" "table" -- "$NNLUA" -e "print(type(nn))"
check "NNLUA_STDLIB override" 1 "module 'nn' not found" "/nonexistent/nn/init.lua" -- \
  env NNLUA_STDLIB=/nonexistent "$NNLUA" -E -e "print(1)"

# --- errors ---------------------------------------------------------------
cat > "$TMP/err.lua" <<'EOF'
local function inner(x)
  error("boom " .. x)
end
local function outer() inner(42) end
outer()
EOF
check "error: status, message, traceback" 1 "nnlua: $TMP/err.lua:2: boom 42" \
  "stack traceback:" "$TMP/err.lua:4:" "$TMP/err.lua:5: in main chunk" -- "$NNLUA" "$TMP/err.lua"
out=$("$NNLUA" "$TMP/err.lua" 2>&1)
if [[ "$out" == *"[C]: in ?"* ]]; then fail "traceback keeps [C]: in ? lines" "$out"; else ok; fi
check "error in -e" 1 "(command line):1: bad" -- "$NNLUA" -e "error('bad')"
check "error object with __tostring" 1 "nnlua: custom object" -- \
  "$NNLUA" -e "error(setmetatable({}, {__tostring = function() return 'custom object' end}))"
check "error object without __tostring" 1 "(error object is a table value)" -- "$NNLUA" -e "error({})"
check "error nil" 1 "(error object is a nil value)" -- "$NNLUA" -e "error()"
check "nn error names the function" 1 "set_num_threads" "(command line):1" -- \
  "$NNLUA" -e "nn.set_num_threads(0)"
# Errors of the library, Lua or C, name the user's line, never the library's.
cat > "$TMP/liberr.lua" <<'EOF'
local model = nn.Sequential{nn.Linear(3, 4)}
local ok, e = pcall(nn.optim.SGD, {}, {lr = -1})
io.stderr:write(e, "\n")
local y = model(nn.zeros(2, 3):long())
EOF
check "library errors name the script's line" 1 "$TMP/liberr.lua:2: SGD: invalid lr -1" \
  "nnlua: $TMP/liberr.lua:4: Sequential[1] (Linear 3->4): linear: input must be a float32 tensor" \
  -- "$NNLUA" "$TMP/liberr.lua"
# Ctrl-C while the library's Lua code runs (gradcheck's loop) names the script's line too.
cat > "$TMP/interrupt.lua" <<'EOF'
io.write("started\n"); io.flush()
nn.gradcheck(nn.tanh, {nn.randn(1000000):requires_grad_()})
EOF
"$NNLUA" "$TMP/interrupt.lua" > "$TMP/interrupt.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q started "$TMP/interrupt.out" && break; sleep 0.1; done
sleep 0.3
kill -INT "$pid"
wait "$pid"
rc=$?
out=$(head -2 "$TMP/interrupt.out")
if [ "$rc" = 1 ] && [[ "$out" == *"nnlua: $TMP/interrupt.lua:2: interrupted!"* ]]; then ok
else fail "interrupt inside the library names the script's line (status $rc)" "$out"; fi
check "syntax error" 1 "nnlua: " "$TMP/syntax.lua:1:" -- bash -c "echo 'x = = 1' > '$TMP/syntax.lua'; '$NNLUA' '$TMP/syntax.lua'"
check "missing script" 1 "cannot open $TMP/none.lua" -- "$NNLUA" "$TMP/none.lua"
check "error in -e stops the script" 1 "first" -- "$NNLUA" -e "error('first')" "$TMP/nn.lua"
out=$("$NNLUA" -e "error('first')" "$TMP/nn.lua" 2>/dev/null)
if [ -z "$out" ]; then ok; else fail "script ran after failing -e" "$out"; fi

# --- REPL through a pipe --------------------------------------------------
repl "expression auto-printed" '1+1\n' "2"
repl "assignment then expression" 'x = 1+1\nx\n' "2"
repl "several values, tab-separated" '1, "two", nil, true\n' "$(printf '1\ttwo\tnil\ttrue')"
repl "multi-line function" 'function f(a)\n  return a * 2\nend\nf(21)\n' "42"
repl "multi-line table" 't = {\n1,\n2}\n#t\n' "2"
repl "error does not end the REPL" 'error("oops")\n"after"\n' "after"
repl "array preview" '{1, 2, 3}\n' "{1, 2, 3}"
repl "record preview" '{b = "x", a = 1}\n' '{a=1, b="x"}'
repl "nested preview" '{{1}, {}}\n' '{{...}, {}}'
repl "long table elided" 'local t = {} for i = 1, 100 do t[i] = i end return t\n' \
  "{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, ...}"
repl "= prefix" '=10\n' "10"
repl "statement prints nothing" 'local y = 5\n' ""
repl "nn is there" 'nn == require "nn"\n' "true"
repl "__tostring error is reported" 'setmetatable({}, {__tostring = function() error("bad") end})\n"next"\n' "next"
out=$(printf 'error("oops")\n' | "$NNLUA" -i 2>&1 >/dev/null)
if [[ "$out" == *"stdin:1: oops"* && "$out" == *"stack traceback:"* ]]; then ok; else fail "repl error message" "$out"; fi
out=$(printf 'for i = 1,\n' | "$NNLUA" -i 2>&1)
if [[ "$out" == *"<eof>"* ]]; then ok; else fail "repl incomplete chunk at end of input" "$out"; fi
check_exact "-i runs the file first" "7" -- bash -c "echo 'z = 7' > '$TMP/z.lua'; echo z | '$NNLUA' -i '$TMP/z.lua'"
cat > "$TMP/fails.lua" <<'EOF'
model = "kept"
error("training diverged")
EOF
check_exact "-i enters the REPL after a failing script" "kept" -- \
  bash -c "echo model | '$NNLUA' -i '$TMP/fails.lua'"
check "-i reports the script's error" 0 "training diverged" -- \
  bash -c "echo model | '$NNLUA' -i '$TMP/fails.lua'"
check "REPL exit status is 0" 0 -- bash -c "printf 'error(1)\n' | '$NNLUA' -i"

summary
