#!/bin/sh
# Screening benchmarks: load/index/memory, query latency, quality against a
# brute-force Jaro-Winkler baseline (bench/screen_bench.c), then whole-process
# start-to-exit time of `acegate screen NAME` and batch throughput with its
# memory at two input sizes. Usage: bench/screen.sh BUILD_DIR
# SCREEN_BENCH_QUICK=1 runs the baseline on a quarter of the evaluation set.
BUILD=${1:-build}
ACEGATE="$BUILD/acegate"
set -e
[ -x "$BUILD/bench/screen_bench" ] || { echo "screen.sh: build $BUILD/bench/screen_bench first (make bench)"; exit 1; }
"$BUILD/bench/screen_bench" tests/screen/eval.tsv

TMP=$(mktemp -d)
# every determination is recorded: in a log of this run, never the user's
export ACEGATE_DB="$TMP/audit.db"
trap 'rm -rf "$TMP"' EXIT
export ACEGATE_HOME="$TMP/home" # the built-in lists, whatever the user updated

echo
echo "== screening: one 'acegate screen NAME' process, start to exit (built-in lists)"
if command -v hyperfine >/dev/null 2>&1; then
  hyperfine -N --warmup 5 --runs 100 --style basic \
    "$ACEGATE screen 'Hikvision Digital Technology' --country CN" \
    "$ACEGATE screen 'Позитив Текнолоджиз'" 2>&1 | grep -E "Benchmark|Time|Range"
else
  start=$(date +%s%N)
  i=0
  while [ $i -lt 100 ]; do "$ACEGATE" screen "Hikvision Digital Technology" >/dev/null; i=$((i + 1)); done
  end=$(date +%s%N)
  echo "mean $(( (end - start) / 100000 / 10 )).$(( (end - start) / 100000 % 10 )) ms over 100 runs"
fi
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f "max RSS of one 'acegate screen' process: %M KB (target <= 100 MB)" \
    "$ACEGATE" screen "Hikvision Digital Technology" >/dev/null
  /usr/bin/time -f "max RSS of 'acegate screen --lists data/lists' (parse and index the CSV): %M KB, %e s" \
    "$ACEGATE" screen "Hikvision Digital Technology" --lists data/lists >/dev/null
fi

echo
echo "== screening: batch (--batch --json --threads 2), JSONL streamed"
awk -F'\t' '!/^#/ { gsub(/\\/, "", $3); gsub(/"/, "\\\"", $3);
  if ($4 != "") printf "{\"name\": \"%s\", \"country\": \"%s\"}\n", $3, $4;
  else printf "{\"name\": \"%s\"}\n", $3 }' tests/screen/eval.tsv >"$TMP/one.jsonl"
: >"$TMP/small.jsonl"
i=0
while [ $i -lt 17 ]; do cat "$TMP/one.jsonl" >>"$TMP/small.jsonl"; i=$((i + 1)); done
: >"$TMP/big.jsonl"
i=0
while [ $i -lt 4 ]; do cat "$TMP/small.jsonl" >>"$TMP/big.jsonl"; i=$((i + 1)); done
for f in small big; do
  n=$(wc -l <"$TMP/$f.jsonl")
  start=$(date +%s%N)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%M" -o "$TMP/rss" "$ACEGATE" screen --batch --json --threads 2 <"$TMP/$f.jsonl" >"$TMP/out.jsonl"
  else
    "$ACEGATE" screen --batch --json --threads 2 <"$TMP/$f.jsonl" >"$TMP/out.jsonl"
    echo "?" >"$TMP/rss"
  fi
  end=$(date +%s%N)
  ms=$(( (end - start) / 1000000 ))
  [ "$ms" -gt 0 ] || ms=1
  out=$(wc -l <"$TMP/out.jsonl")
  echo "$n queries in $ms ms: $(( n * 1000 / ms )) queries/s on 2 threads; $out result lines; max RSS $(cat "$TMP/rss") KB (target >= 20000/s, constant memory)"
done
