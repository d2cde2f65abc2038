#!/bin/sh
# bench/lists_build.sh - building the list index is linear in one entry's
# alias count: N names given as the aliases of one entry, beside the
# baseline of the same N names given as N entries of one name each, built
# by the same tool in the same run. A ratio near 1 at every N is linear; an
# index build quadratic in an entry's aliases shows a ratio growing with N
# (before the fix: 64,000 aliases took 40.6 s against well under a second).
#
# Usage: bench/lists_build.sh [BUILD_DIR]   Environment: SIZES (default
# "8000 16000 32000 64000").
set -e
BUILD=${1:-build}
TOOL="$PWD/$BUILD/tools/acegate-lists"
SIZES=${SIZES:-8000 16000 32000 64000}
[ -x "$TOOL" ] || { echo "bench/lists_build.sh: build $TOOL first (make)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
HDR=$(head -n 1 data/lists/csl-2026-07-31.csv)
# one CSL row: name in column 6, addresses in 8, alt_names in 23 (of 29)
row() { # NAME ALIASES
  printf ',Entity List (EL) - Bureau of Industry and Security,,Entity,,"%s",,CN,,,,,,,,,,,,,,,"%s",,,,,,\n' "$1" "$2"
}
secs() { # FILE -> seconds to build its index
  s=$(date +%s.%N)
  "$TOOL" build --out "$T/idx.agx" "$1" >/dev/null
  e=$(date +%s.%N)
  echo "$s $e" | awk '{printf "%.3f", $2 - $1}'
}
printf '%8s %14s %16s %7s\n' names "one entry (s)" "N entries (s)" ratio
for n in $SIZES; do
  { echo "$HDR"
    row "Example Holding Company" "$(seq 1 "$n" | sed 's/.*/Example Trading Company Number & Limited/' | paste -sd ';' | sed 's/;/; /g')"
  } >"$T/one.csv"
  { echo "$HDR"
    seq 1 "$n" | while read -r i; do row "Example Trading Company Number $i Limited" ""; done
  } >"$T/many.csv"
  a=$(secs "$T/one.csv")
  b=$(secs "$T/many.csv")
  printf '%8d %14s %16s %7s\n' "$n" "$a" "$b" "$(echo "$a $b" | awk '{printf "%.2f", ($2 > 0 ? $1 / $2 : 0)}')"
done
