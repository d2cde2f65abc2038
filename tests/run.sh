#!/bin/sh
# Runs every test program of one build, every fuzz target over its corpus
# and every CLI test script, then prints one summary line
# "tests: N passed, N failed, N skipped".
#
# A run fails when a test fails, when a program or script exits non-zero
# without saying which test failed, when a script prints another number of
# results than the plan ("1..N") it declared (it stopped early, or a check
# went missing), and when a test skips that could have run: the only
# reason a test may skip is that ../shared/data, which CI does not have, is
# absent (shell scripts say so in the skip line, "ok NAME # skip: REASON").
# Usage: tests/run.sh BUILD_DIR
BUILD=${1:-build}
export ACEGATE="$PWD/$BUILD/acegate" ACEGATE_BUILD="$PWD/$BUILD"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
SHARED_DATA=../shared/data
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count NAME RC: reads a cmocka-style summary from $log
count_cmocka() {
  name=$1 rc=$2
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
  p=${p:-0} f=${f:-0} s=${s:-0}
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$s" -gt 0 ] && [ -d "$SHARED_DATA" ]; then
    echo "$BUILD $name: $s skipped although $SHARED_DATA is present"
    f=$((f + s))
  fi
  report "$name" "$p" "$f" "$s"
}

report() {
  if [ "$3" -ne 0 ]; then cat "$log"; fi
  echo "$BUILD $1: $2 passed, $3 failed, $4 skipped"
  passed=$((passed + $2))
  failed=$((failed + $3))
  skipped=$((skipped + $4))
}

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  "$t" >"$log" 2>&1
  count_cmocka "$(basename "$t")" $?
done

# the fuzz corpora, replayed (fuzz/replay.c): every file must pass
for t in "$BUILD"/fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  "$t" "fuzz/corpus/$name" >"$log" 2>&1
  count_cmocka "$name (corpus)" $?
done

for script in tests/cli/test_*.sh; do
  [ -f "$script" ] || continue
  name=$(basename "$script" .sh)
  sh "$script" >"$log" 2>&1
  rc=$?
  s=$(grep -c '^ok .* # skip' "$log")
  p=$(($(grep -c '^ok ' "$log") - s))
  f=$(grep -c '^not ok ' "$log")
  plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$log" | head -1)
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ -z "$plan" ]; then
    echo "$BUILD $name: no plan (\"1..N\") printed"
    f=$((f + 1))
  elif [ $((p + f + s)) -ne "$plan" ]; then
    echo "$BUILD $name: $((p + f + s)) results for a plan of $plan"
    f=$((f + 1))
  fi
  bad_skips=$(grep '^ok .* # skip' "$log" | grep -v "$SHARED_DATA" | wc -l)
  if [ "$s" -gt 0 ] && { [ -d "$SHARED_DATA" ] || [ "$bad_skips" -gt 0 ]; }; then
    echo "$BUILD $name: a test skipped that could have run"
    f=$((f + s))
  fi
  report "$name" "$p" "$f" "$s"
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
