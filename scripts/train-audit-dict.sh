#!/bin/sh
# Trains the zstd dictionary the audit log compresses stored decisions with
# (data/audit/decisions.dict, compiled into acegate; docs/audit.md, "Stored
# compressed"). The samples are the decisions acegate gives today:
# - every golden case's transaction as it is;
# - the same transactions with an unlisted end user (screened, no match);
# - the same transactions with a listed end user (screened, matched: the
#   list's licence requirement, policy and notice in the decision), the
#   names taken from every 50th entry of the built-in list file, so no
#   evaluation name (tests/screen) is among them;
# - named-party screenings.
# Every run records into an in-memory log, never the user's. Run it after
# the decision format or the reasoning texts change a lot; a new dictionary
# gets a new id, and records written with the old one still read, because
# every log keeps each dictionary it has used.
# Usage: scripts/train-audit-dict.sh [BUILD_DIR]   (needs jq and zstd)
set -e
BUILD=${1:-build}
ACEGATE="$BUILD/acegate"
LIST=$(ls data/lists/csl-*.csv | tail -n 1)
[ -x "$ACEGATE" ] || { echo "train-audit-dict: build $ACEGATE first (make)"; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for f in tests/cases/*.json; do jq -c .request "$f"; done >"$T/cases.jsonl"
# the list file's name column (the sixth), every 50th entry from the 8th
python3 -c '
import csv, json, sys
rows = csv.reader(open(sys.argv[1], newline="", encoding="utf-8"))
next(rows)
print(json.dumps([r[5] for i, r in enumerate(rows) if i % 50 == 7 and r[5]]))' "$LIST" >"$T/listed.json"
jq -c --slurpfile listed "$T/listed.json" -n '
  [inputs] as $c | $listed[0] as $n
  | ($c[]),
    ($c[] | .end_user = ((.end_user // {}) + {name: "Acme Widgets GmbH"})),
    (range(0; $n | length) as $i | $c[$i % ($c | length)]
      | .end_user = ((.end_user // {}) + {name: $n[$i]}))' <"$T/cases.jsonl" >"$T/requests.jsonl"
"$ACEGATE" check --batch --db :memory: <"$T/requests.jsonl" >"$T/decisions.jsonl" || true
printf '%s\n' "Candiru" "Huawei Technologies" "NSO Group" "Positive Technologies" \
  "Acme Widgets GmbH" "Intellexa" | jq -R -c '{name: .}' |
  "$ACEGATE" screen --batch --db :memory: >>"$T/decisions.jsonl" || true
mkdir "$T/samples"
# one sample a decision; lines that are errors are left out
grep -v '^{"line":' "$T/decisions.jsonl" |
  awk -v d="$T/samples" '{ f = sprintf("%s/%05d.json", d, NR); printf "%s", $0 > f; close(f) }'
zstd -q -f --train "$T"/samples/*.json --maxdict=65536 -o data/audit/decisions.dict
echo "data/audit/decisions.dict: $(wc -c <data/audit/decisions.dict) bytes from $(ls "$T"/samples | wc -l) samples"
