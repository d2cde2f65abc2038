#!/bin/sh
# check --batch end to end with party names: JSONL lines per second beside
# `jq -c .` on the same file (a mature C JSON tool doing strictly less
# work), timed together by hyperfine on the same two cores (check --batch
# answers on two threads, jq on one); then peak memory for inputs of 10x
# different sizes (constant memory means the two peaks match).
# Each line is a golden request whose end user carries a name from the
# screening evaluation set (listed names, their variants and decoys), so
# every line is screened.
# Usage: bench/check_batch.sh BUILD_DIR [LINES]
set -e
BUILD=${1:-build}
LINES=${2:-500000}
ACEGATE=$PWD/$BUILD/acegate
TMP=$(mktemp -d)
# every determination is recorded: in a log of this run, never the user's
export ACEGATE_DB="$TMP/audit.db"
export ACEGATE_HOME="$TMP/home" # the built-in lists, whatever the user updated
trap 'rm -rf "$TMP"' EXIT
for f in tests/cases/*.json; do jq -c .request "$f"; done > "$TMP/cases.jsonl"
awk -F'\t' '!/^#/ && $3 != "" { print $3 }' tests/screen/eval.tsv |
  jq -R . | jq -s . > "$TMP/names.json"
jq -c -n --slurpfile names "$TMP/names.json" '
  [inputs] as $c | $names[0] as $n
  | range(0; $n | length) as $i
  | $c[$i % ($c | length)] | .end_user = ((.end_user // {}) + {name: $n[$i]})' \
  < "$TMP/cases.jsonl" > "$TMP/named.jsonl"
n=$(wc -l < "$TMP/named.jsonl")
reps=$((LINES / n + 1))
i=0
while [ $i -lt $reps ]; do cat "$TMP/named.jsonl"; i=$((i + 1)); done | head -n "$LINES" > "$TMP/big.jsonl"
head -n $((LINES / 10)) "$TMP/big.jsonl" > "$TMP/small.jsonl"
PIN=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN="taskset -c 0,1"; fi
echo "check --batch: $LINES lines ($(du -h "$TMP/big.jsonl" | cut -f1)), the $(wc -l < "$TMP/cases.jsonl") golden requests with $n end-user names, two cores${PIN:+ (pinned to 0,1)}, load $(cut -d' ' -f1-3 /proc/loadavg)"
# each run records into a new log (--prepare), as the first run of a day
# does, not into the one the runs before it made millions of records long
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$TMP/h.json" --prepare "rm -f $TMP/audit.db*" \
  -n "acegate check --batch" "$PIN $ACEGATE check --batch < $TMP/big.jsonl > /dev/null" \
  -n "jq -c ." "$PIN jq -c . < $TMP/big.jsonl > /dev/null" > "$TMP/h.txt" 2>&1 || {
  cat "$TMP/h.txt"; exit 1; }
jq -r --argjson lines "$LINES" '
  .results as $r
  | ($r[] | "\(.command | .[0:22] + (" " * (22 - length))) median \(.median * 1000 | floor) ms  \($lines / .median | floor) lines/s  \((.user + .system) / $lines * 1e7 | floor / 10) µs CPU/line"),
    "ratio (jq time / acegate time): \(($r[1].median / $r[0].median) * 100 | floor / 100)x   target: >= 1"' "$TMP/h.json"
# the same without a name twice: each of the evaluation names under eight
# company-name endings, so no screening is answered from the batch's memory
# of the names it has seen (the cost of a file of distinct customers)
jq -c -n --slurpfile names "$TMP/names.json" '
  [inputs] as $c | $names[0] as $n
  | ["", " Holdings", " Trading", " International", " Group", " Services", " Industries",
     " Partners"] as $endings
  | range(0; $endings | length) as $k | range(0; $n | length) as $i
  | $c[($i + $k) % ($c | length)] | .end_user = ((.end_user // {}) + {name: ($n[$i] + $endings[$k])})' \
  < "$TMP/cases.jsonl" > "$TMP/distinct.jsonl"
nd=$(wc -l < "$TMP/distinct.jsonl")
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$TMP/d.json" --prepare "rm -f $TMP/audit.db*" \
  -n "acegate check --batch" "$PIN $ACEGATE check --batch < $TMP/distinct.jsonl > /dev/null" \
  -n "jq -c ." "$PIN jq -c . < $TMP/distinct.jsonl > /dev/null" > "$TMP/d.txt" 2>&1 || {
  cat "$TMP/d.txt"; exit 1; }
echo "every name distinct: $nd lines"
jq -r --argjson lines "$nd" '
  .results as $r
  | ($r[] | "\(.command | .[0:22] + (" " * (22 - length))) median \(.median * 1000 | floor) ms  \($lines / .median | floor) lines/s  \((.user + .system) / $lines * 1e7 | floor / 10) µs CPU/line"),
    "ratio (jq time / acegate time): \(($r[1].median / $r[0].median) * 100 | floor / 100)x"' "$TMP/d.json"
if [ -x /usr/bin/time ]; then
  small=$( { /usr/bin/time -f %M "$ACEGATE" check --batch < "$TMP/small.jsonl" > /dev/null; } 2>&1 | tail -1)
  big=$( { /usr/bin/time -f %M "$ACEGATE" check --batch < "$TMP/big.jsonl" > /dev/null; } 2>&1 | tail -1)
  echo "peak RSS: $small KB for $((LINES / 10)) lines, $big KB for $LINES lines"
fi
