#!/bin/sh
# Screening quality on the held-out variant set (tests/screen/make_variants.py,
# seed 20261206) against the list files it was made from, then the same names
# beside thefuzz (bench/screen_compare.py): recall at the same decoy rate, the
# curve from 0 to 10 % of decoys, queries per second.
# Usage: bench/screen_variants.sh BUILD_DIR
#   SCREEN_SET=tests/screen/variants-dev.tsv  another set
#   SCREEN_COMPARE_EVERY=N  thefuzz on every N-th row (default 8; 0 skips it)
BUILD=${1:-build}
SET=${SCREEN_SET:-tests/screen/variants-holdout.tsv}
LISTS=../shared/data/screening
EVERY=${SCREEN_COMPARE_EVERY:-8}
set -e
[ -x "$BUILD/bench/screen_variants" ] || { echo "screen_variants.sh: build $BUILD/bench/screen_variants first (make bench)"; exit 1; }
if [ ! -f "$LISTS/SOURCES.md" ]; then
  echo "screen_variants.sh: $LISTS is absent; skipped"
  exit 0
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BUILD/bench/screen_variants" "$SET" "$LISTS" "$TMP/items.tsv"
[ "$EVERY" -gt 0 ] || exit 0
if ! /usr/bin/python3 -c "import thefuzz, Levenshtein" 2>/dev/null; then
  echo "screen_variants.sh: python3-thefuzz and python3-levenshtein are not installed; the baseline is skipped"
  exit 0
fi
echo
/usr/bin/python3 bench/screen_compare.py "$SET" "$LISTS" "$TMP/items.tsv" "$EVERY"
