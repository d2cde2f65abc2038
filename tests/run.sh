#!/bin/sh
# Runs every test program of one build and every CLI test script, then
# prints one summary line "tests: N passed, N failed".
# Usage: tests/run.sh BUILD_DIR
BUILD=${1:-build}
export ACEGATE="$PWD/$BUILD/acegate" ACEGATE_BUILD="$PWD/$BUILD"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" >"$log" 2>&1
  rc=$?
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  p=${p:-0}
  f=${f:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$f" -ne 0 ]; then cat "$log"; fi
  echo "$BUILD $name: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
done
for s in tests/cli/test_*.sh; do
  [ -f "$s" ] || continue
  name=$(basename "$s" .sh)
  sh "$s" >"$log" 2>&1
  rc=$?
  p=$(grep -c '^ok ' "$log")
  f=$(grep -c '^not ok ' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$f" -ne 0 ]; then cat "$log"; fi
  echo "$BUILD $name: $p passed, $f failed"
  passed=$((passed + p))
  failed=$((failed + f))
done
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
