#!/bin/sh
# acegate lists fetch against a local HTTP server (tests/cli/fetch_server.py)
# serving the bundled CSL and the OFAC excerpts: a first download updates
# the lists in force through the guarded update and is recorded; the next
# one asks conditionally and gets 304; a truncated body, a 500, an HTML
# error page and a shrunken file are each refused with a clear message and
# the lists in force unchanged; a mirror and the configuration file's keys
# name the addresses; the OFAC files are dated by the server's
# Last-Modified.
. "$(dirname "$0")/lib.sh"
plan 40
if ! command -v jq >/dev/null 2>&1 || ! command -v python3 >/dev/null 2>&1; then
  i=0
  while [ "$i" -lt 40 ]; do i=$((i + 1)); echo "ok fetch-$i # skip: needs jq and python3"; done
  exit 0
fi
PUB="$TMPD/pub"
mkdir -p "$PUB"
cp data/lists/csl-2026-07-31.csv "$PUB/consolidated.csv"
head -n 1000 data/lists/csl-2026-07-31.csv >"$PUB/slice.csv"
cp tests/screen/fixtures/ofac/* tests/screen/fixtures/ofac-cons/* "$PUB/"
# the publisher's Last-Modified: 2026-12-02 10:00 UTC
LM=$(date -u -d 2026-12-02T10:00:00Z +%s)
/usr/bin/python3 tests/cli/fetch_server.py "$PUB" "$TMPD/port" "$TMPD/requests.log" "$LM" &
SRV=$!
trap 'kill $SRV 2>/dev/null; wait $SRV 2>/dev/null; rm -rf "$TMPD"' EXIT
i=0
while [ ! -s "$TMPD/port" ] && [ "$i" -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
B="http://127.0.0.1:$(cat "$TMPD/port")"
D="$TMPD/lists"
DB="$TMPD/audit.db"
F() { "$ACEGATE" lists fetch --data-dir "$D" --db "$DB" --max-list-age off "$@"; }
checksum() { "$ACEGATE" lists --json --data-dir "$D" --max-list-age off | jq -r .checksum; }

# ---- the first download installs the lists ----
expect_exit fetch-first 0 F --csl-url "$B/ok/consolidated.csv" --ofac-url "$B/ofac"
expect_grep fetch-first-csl "^fetched consolidated.csv: [0-9]* bytes, last modified 2026-12-02" "$TMPD/out"
expect_grep fetch-first-sdn "^fetched sdn.csv: " "$TMPD/out"
expect_grep fetch-first-updated "^updated: $D/lists.agx" "$TMPD/out"
expect_grep fetch-first-published-names "^/ofac/SDN.CSV " "$TMPD/requests.log"
"$ACEGATE" lists --json --data-dir "$D" --max-list-age off >"$TMPD/lists.json"
# the OFAC legacy CSV carries no date: the server's Last-Modified dates it
if jq -e '[.lists[] | select(.files | test("sdn.csv")) | .date] | length > 0 and all(. == "2026-12-02")' "$TMPD/lists.json" >/dev/null; then
  echo "ok fetch-ofac-dated-by-last-modified"; else echo "not ok fetch-ofac-dated-by-last-modified"; fi
if jq -e '[.lists[] | select(.code == "EL")] | length == 1 and .[0].entries == 3420' "$TMPD/lists.json" >/dev/null; then
  echo "ok fetch-el-in-force"; else echo "not ok fetch-el-in-force"; fi
"$ACEGATE" audit search --kind lists --db "$DB" >"$TMPD/audit.out" 2>&1
expect_grep fetch-recorded "lists_updated" "$TMPD/audit.out"
SUM=$(checksum)
[ -n "$SUM" ] && [ "$SUM" != null ] && echo "ok fetch-checksum" || echo "not ok fetch-checksum: '$SUM'"
# the screening sees the fetched files: an SDN entry of the OFAC excerpt
expect_exit fetch-screen 0 "$ACEGATE" screen "BANCO NACIONAL DE CUBA" --data-dir "$D" --db :memory: --max-list-age off
expect_grep fetch-screen-sdn "Specially Designated Nationals (SDN)  306" "$TMPD/out"

# ---- the second asks with the validators and gets 304 ----
: >"$TMPD/requests.log"
expect_exit fetch-again 0 F --csl-url "$B/ok/consolidated.csv" --ofac-url "$B/ofac"
expect_grep fetch-again-not-modified "^not modified: consolidated.csv (HTTP 304" "$TMPD/out"
expect_grep fetch-again-nothing-new "^nothing new: the lists in force are unchanged" "$TMPD/out"
expect_grep fetch-again-if-none-match '^/ok/consolidated.csv inm="[0-9a-f]*"' "$TMPD/requests.log"
expect_grep fetch-again-if-modified-since "^/ofac/SDN.CSV inm=.* ims=Wed, 02 Dec 2026 10:00:00 GMT" "$TMPD/requests.log"

# ---- failures: refused, the lists in force unchanged ----
expect_exit fetch-truncated 4 F --csl-url "$B/trunc/consolidated.csv" --ofac-url none
expect_grep fetch-truncated-msg "acegate lists: consolidated.csv: $B/trunc/consolidated.csv: the transfer ended early (truncated body" "$TMPD/err"
expect_grep fetch-truncated-unchanged "download failed, the lists in force are unchanged" "$TMPD/err"
[ "$(checksum)" = "$SUM" ] && echo "ok fetch-truncated-same-lists" || echo "not ok fetch-truncated-same-lists"

expect_exit fetch-500 4 F --csl-url "$B/e500/consolidated.csv" --ofac-url none
expect_grep fetch-500-msg "$B/e500/consolidated.csv: HTTP 500 from the server" "$TMPD/err"
[ "$(checksum)" = "$SUM" ] && echo "ok fetch-500-same-lists" || echo "not ok fetch-500-same-lists"

expect_exit fetch-html 3 F --csl-url "$B/html/consolidated.csv" --ofac-url none
expect_grep fetch-html-msg "the server sent an HTML page, not a list file" "$TMPD/err"
[ "$(checksum)" = "$SUM" ] && echo "ok fetch-html-same-lists" || echo "not ok fetch-html-same-lists"

# a well-formed file a tenth the size: the guard refuses it, and says so in the audit log
expect_exit fetch-shrunk 3 F --csl-url "$B/ok/slice.csv" --ofac-url "$B/ofac"
expect_grep fetch-shrunk-msg "refused, the lists in force are unchanged: SDN shrinks from [0-9]* to 44 entries .*EL dropped (3420 entries in force" "$TMPD/err"
[ "$(checksum)" = "$SUM" ] && echo "ok fetch-shrunk-same-lists" || echo "not ok fetch-shrunk-same-lists"
"$ACEGATE" audit search --kind lists --db "$DB" >"$TMPD/audit.out" 2>&1
expect_grep fetch-shrunk-recorded "lists_update_refused" "$TMPD/audit.out"
# the refused download was not kept: the next conditional request is for the installed one
: >"$TMPD/requests.log"
expect_exit fetch-after-refusal 0 F --csl-url "$B/ok/consolidated.csv" --ofac-url "$B/ofac"
expect_grep fetch-after-refusal-304 "^not modified: consolidated.csv" "$TMPD/out"

# ---- a mirror: every file from one directory, under its local name ----
expect_exit fetch-mirror 0 "$ACEGATE" lists fetch --data-dir "$TMPD/mirror" --db "$DB" --max-list-age off --mirror "$B/ok/"
expect_grep fetch-mirror-cons "^fetched cons_prim.csv: " "$TMPD/out"
expect_grep fetch-mirror-local-name "^/ok/cons_prim.csv " "$TMPD/requests.log"

# ---- the configuration file's keys, overridden by flags ----
printf 'listen = 127.0.0.1:9\ncsl-url = %s/e500/consolidated.csv\nofac-url = none\n' "$B" >"$TMPD/acegate.conf"
expect_exit fetch-config 4 "$ACEGATE" lists fetch --config "$TMPD/acegate.conf" --data-dir "$D" --db "$DB"
expect_grep fetch-config-url "$B/e500/consolidated.csv: HTTP 500" "$TMPD/err"
expect_exit fetch-config-flag-wins 0 "$ACEGATE" lists fetch --config "$TMPD/acegate.conf" --csl-url "$B/ok/consolidated.csv" --data-dir "$D" --db "$DB"

# ---- bad input ----
expect_exit fetch-bad-mirror 2 F --mirror ftp://example.org/lists
expect_grep fetch-bad-mirror-msg "acegate lists fetch: --mirror: 'ftp://example.org/lists' is not an http, https or file URL" "$TMPD/err"
