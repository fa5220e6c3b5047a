# Shared by the tests/cli/test_*.sh scripts (sourced, not a test itself):
# counters, ok/fail, has, and the summary line that sets the exit status.
passed=0
failed=0

ok() { passed=$((passed + 1)); }
# fail NAME [OUTPUT]: counts a failure and shows what was printed.
fail() {
  failed=$((failed + 1))
  echo "FAIL: $1"
  [ -n "${2-}" ] && printf '  got: %s\n' "$2"
}
# has NAME OUTPUT PATTERN...: OUTPUT contains each fixed string.
has() {
  local name=$1 out=$2
  shift 2
  for p in "$@"; do
    if [[ "$out" != *"$p"* ]]; then fail "$name: lacks '$p'" "$out"; return; fi
  done
  ok
}
# summary: prints "N passed, M failed"; its status is non-zero on a failure.
summary() {
  echo "$passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}
