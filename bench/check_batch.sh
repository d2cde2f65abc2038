#!/bin/sh
# check --batch end to end on one core: JSONL lines per second beside
# `jq -c .` on the same file (a mature C JSON tool doing strictly less
# work), timed together by hyperfine; then peak memory for inputs of 10x
# different sizes (constant memory means the two peaks match).
# Usage: bench/check_batch.sh BUILD_DIR [LINES]
set -e
BUILD=${1:-build}
LINES=${2:-500000}
ACEGATE=$PWD/$BUILD/acegate
TMP=$(mktemp -d)
# every determination is recorded: in a log of this run, never the user's
export ACEGATE_DB="$TMP/audit.db"
trap 'rm -rf "$TMP"' EXIT
for f in tests/cases/*.json; do jq -c .request "$f"; done > "$TMP/cases.jsonl"
n=$(wc -l < "$TMP/cases.jsonl")
reps=$((LINES / n + 1))
i=0
while [ $i -lt $reps ]; do cat "$TMP/cases.jsonl"; i=$((i + 1)); done | head -n "$LINES" > "$TMP/big.jsonl"
head -n $((LINES / 10)) "$TMP/big.jsonl" > "$TMP/small.jsonl"
echo "check --batch: $LINES lines ($(du -h "$TMP/big.jsonl" | cut -f1)), the $n golden requests repeated, one core"
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"
hyperfine --warmup 1 --runs 5 --export-json "$TMP/h.json" \
  -n "acegate check --batch" "$PIN $ACEGATE check --batch < $TMP/big.jsonl > /dev/null" \
  -n "jq -c ." "$PIN jq -c . < $TMP/big.jsonl > /dev/null" > "$TMP/h.txt" 2>&1 || {
  cat "$TMP/h.txt"; exit 1; }
jq -r --argjson lines "$LINES" '
  .results as $r
  | ($r[] | "\(.command | .[0:22] + (" " * (22 - length))) median \(.median * 1000 | floor) ms  \($lines / .median | floor) lines/s"),
    "ratio (jq time / acegate time): \(($r[1].median / $r[0].median) * 100 | floor / 100)x   target: >= 1 and >= 200000 lines/s"' "$TMP/h.json"
if [ -x /usr/bin/time ]; then
  small=$( { /usr/bin/time -f %M $ACEGATE check --batch < "$TMP/small.jsonl" > /dev/null; } 2>&1 | tail -1)
  big=$( { /usr/bin/time -f %M $ACEGATE check --batch < "$TMP/big.jsonl" > /dev/null; } 2>&1 | tail -1)
  echo "peak RSS: $small KB for $((LINES / 10)) lines, $big KB for $LINES lines"
fi
