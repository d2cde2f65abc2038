#!/bin/sh
# Trains the zstd dictionary the audit log compresses stored decisions with
# (data/audit/decisions.dict, compiled into acegate; docs/audit.md, "Stored
# compressed"). The samples are the decisions acegate gives today: every
# golden case's transaction, the same transactions with a named end user
# (so screening results are in), and named-party screenings. Run it after
# the decision format or the reasoning texts change a lot; a new dictionary
# gets a new id, and records written with the old one still read, because
# every log keeps each dictionary it has used.
# Usage: scripts/train-audit-dict.sh [BUILD_DIR]   (needs jq and zstd)
set -e
BUILD=${1:-build}
ACEGATE="$BUILD/acegate"
[ -x "$ACEGATE" ] || { echo "train-audit-dict: build $ACEGATE first (make)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
i=0
for f in tests/cases/*.json; do
  jq -c .request "$f" >"$T/req.json"
  "$ACEGATE" check --json - <"$T/req.json" >"$T/d$i.json" || true
  jq -c '.end_user.name = "Acme Widgets GmbH"' "$T/req.json" |
    "$ACEGATE" check --json - >"$T/n$i.json" || true
  i=$((i + 1))
done
for name in "Candiru" "Huawei Technologies" "NSO Group" "Positive Technologies" \
  "Acme Widgets GmbH" "Intellexa"; do
  "$ACEGATE" screen --json "$name" >"$T/s-$(echo "$name" | tr ' ' _).json" || true
done
find "$T" -name '*.json' -size 0 -delete
zstd -q -f --train "$T"/*.json --maxdict=16384 -o data/audit/decisions.dict
echo "data/audit/decisions.dict: $(wc -c <data/audit/decisions.dict) bytes from $(ls "$T"/*.json | wc -l) samples"
