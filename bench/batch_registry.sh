#!/bin/sh
# check --batch with a ref on every line (each line's party joins the party
# registry beside the log, one transaction per chunk) beside the same lines
# without a ref (nothing to note), timed together by hyperfine: the cost of
# the registry in a batch as a ratio. Each run starts from an empty log and
# registry. Then the registry's size after one run with refs, which must be
# the number of distinct refs.
# Usage: bench/batch_registry.sh BUILD_DIR [LINES]
set -e
BUILD=${1:-build}
LINES=${2:-100000}
ACEGATE=$PWD/$BUILD/acegate
TMP=$(mktemp -d)
export ACEGATE_HOME="$TMP/home" # the built-in lists, whatever the user updated
trap 'rm -rf "$TMP"' EXIT
# distinct customers: a name and a ref per line, 5A001.j to Germany (an
# ACE determination), every end user screened
jq -c -n --argjson n "$LINES" '
  range(0; $n) as $i
  | {item: {eccn: "5A001.j"}, destination: "DE",
     end_user: {name: "Customer \($i) Handels GmbH", country: "DE"}, ref: "CU-\($i)"}' \
  > "$TMP/refs.jsonl"
jq -c 'del(.ref)' < "$TMP/refs.jsonl" > "$TMP/norefs.jsonl"
PIN=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then PIN="taskset -c 0,1"; fi
echo "check --batch: $LINES lines with a ref each, beside the same without, two cores${PIN:+ (pinned to 0,1)}, load $(cut -d' ' -f1-3 /proc/loadavg)"
hyperfine --warmup 1 --runs "${RUNS:-5}" --export-json "$TMP/h.json" \
  --prepare "rm -f $TMP/a.db $TMP/a.db-*" \
  -n "with refs (registry)" "$PIN $ACEGATE check --batch --db $TMP/a.db < $TMP/refs.jsonl > /dev/null" \
  -n "without refs" "$PIN $ACEGATE check --batch --db $TMP/a.db < $TMP/norefs.jsonl > /dev/null" \
  > "$TMP/h.txt" 2>&1 || { cat "$TMP/h.txt"; exit 1; }
jq -r --argjson lines "$LINES" '
  .results as $r
  | ($r[] | "\(.command | .[0:22] + (" " * (22 - length))) median \(.median * 1000 | floor) ms  \($lines / .median | floor) lines/s"),
    "ratio (time without refs / time with refs): \(($r[1].median / $r[0].median) * 100 | floor / 100)x"' "$TMP/h.json"
rm -f "$TMP/a.db" "$TMP/a.db-"*
$ACEGATE check --batch --db "$TMP/a.db" < "$TMP/refs.jsonl" > /dev/null
# counted in the registry's database itself: `acegate parties list` counts
# each party's open queue items in the log, which is not what is measured
parties=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM parties").fetchone()[0])' "$TMP/a.db-parties")
echo "registry after one run: $parties parties (lines with a distinct ref: $LINES)"
