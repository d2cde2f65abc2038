#!/bin/sh
# Start-to-exit time of one screening process beside a determination without
# a party name, side by side in one hyperfine run: `acegate screen NAME` and
# `acegate check --end-user NAME` against `acegate check` (the built-in
# lists; target: within 2x). Prints each median and the ratios.
# Usage: bench/screen_start.sh BUILD_DIR [RUNS]
BUILD=${1:-build}
RUNS=${2:-100}
ACEGATE="$BUILD/acegate"
set -e
command -v hyperfine >/dev/null 2>&1 || { echo "screen_start.sh: hyperfine is not installed"; exit 1; }
command -v jq >/dev/null 2>&1 || { echo "screen_start.sh: jq is not installed"; exit 1; }
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
export ACEGATE_HOME="$TMP/home" # the built-in lists, whatever the user updated
hyperfine -N --warmup 10 --runs "$RUNS" --style none --export-json "$TMP/t.json" \
  "$ACEGATE check --eccn 4D004 --to CN --end-user-type government" \
  "$ACEGATE screen 'Hikvision Digital Technology'" \
  "$ACEGATE check --eccn 4D004 --to CN --end-user 'Hikvision Digital Technology'" >/dev/null
jq -r '.results as $r | ($r[0].median) as $base | ($r[0].user + $r[0].system) as $cpu0 |
  $r[] | "\(.command | .[0:72])\n    median \(.median * 1000 | . * 10 | round / 10) ms (\(.median / $base | . * 100 | round / 100)x check without a name; target <= 2x), CPU user+system \((.user + .system) * 1000 | . * 10 | round / 10) ms (\((.user + .system) / $cpu0 | . * 100 | round / 100)x)"' "$TMP/t.json"
