#!/bin/sh
# acegate screen and acegate lists: the bundled lists out of the box, JSON
# and batch contracts, --lists on every published format, updates that are
# validated completely before they replace the lists in force, and bad
# input that fails with a clear message and the documented exit code.
. "$(dirname "$0")/lib.sh"
plan 116
FIX=tests/screen/fixtures
SHARED=../shared/data/screening
export ACEGATE_HOME="$TMPD/home"

# ---- screening a name ----
expect_exit screen-nso 0 "$ACEGATE" screen "NSO Group" --country IL
expect_grep screen-nso-list "1\. 1.00 confident Entity List (EL)" "$TMPD/out"
expect_grep screen-nso-policy "license policy: Presumption of denial" "$TMPD/out"
expect_grep screen-nso-fr "86 FR 60760" "$TMPD/out"

expect_exit screen-hikvision 0 "$ACEGATE" screen "Hikvision Digital Technology" --country CN
expect_grep screen-hikvision-hit "Hangzhou Hikvision Digital Technology" "$TMPD/out"
# a dropped city prefix costs little; a parenthesised acronym is an alias of its own
expect_grep screen-hikvision-confident "^ 1\. [0-9.]* confident .*(EL)  csl:[0-9a-f]\{12\}$\|^ 2\. [0-9.]* confident .*(EL)  csl:" "$TMPD/out"
expect_grep screen-hikvision-reason "listed place names or common words not in the query (weighted down): hangzhou" "$TMPD/out"
expect_exit screen-ssi 0 "$ACEGATE" screen "SEMICONDUCTOR SYSTEMS INTL." --json
expect_grep screen-ssi-confident '"list_code":"DPL","source_id":"csl:[0-9a-f]\{12\}","name":"SEMICONDUCTOR SYSTEMS INTL., INC.","entry_name":"SEMICONDUCTOR SYSTEMS INTL., INC. (SSI)","score":0.9[0-9],"level":"confident"' "$TMPD/out"
expect_exit screen-ssi-alias 0 "$ACEGATE" screen "SSI"
expect_grep screen-ssi-alias-hit "matched aka: SSI" "$TMPD/out"

expect_exit screen-json 0 "$ACEGATE" screen "Saito Tech Ltd." --json
expect_grep screen-json-contract '"list":"Entity List","list_code":"EL","source_id":"csl:[0-9a-f]\{12\}","name":"Saito Tech Ltd."' "$TMPD/out"
expect_grep screen-json-level '"level":"confident"' "$TMPD/out"
expect_grep screen-json-tokens '"matched_tokens":\[{"query":"saito","listed":"saito"' "$TMPD/out"
if command -v jq >/dev/null 2>&1; then
  if jq -e '.matches[0].score == 1 and .matches[0].entry_name == "Candiru"' "$TMPD/out" >/dev/null; then
    echo "ok screen-json-valid"
  else
    echo "not ok screen-json-valid"
  fi
fi

expect_exit screen-typo 0 "$ACEGATE" screen "Positive Technolgies JSC" --json
expect_grep screen-typo-hit '"entry_name":"Positive Technologies","score":0.9' "$TMPD/out"

expect_exit screen-none 0 "$ACEGATE" screen "Blue Harbor Logistics Ltd"
expect_grep screen-none-msg "no listed party matches" "$TMPD/out"

expect_exit screen-brute 0 "$ACEGATE" screen "Candiru" --brute-force --json
expect_grep screen-brute-reason "Jaro-Winkler" "$TMPD/out"

# ---- bad input ----
expect_exit screen-empty 2 "$ACEGATE" screen ""
expect_grep screen-empty-msg "NAME: must not be empty" "$TMPD/err"
expect_exit screen-ctrl 2 "$ACEGATE" screen "$(printf 'a\001b')"
expect_grep screen-ctrl-msg "control character U+0001" "$TMPD/err"
expect_exit screen-utf8 2 "$ACEGATE" screen "$(printf 'ab\377')"
expect_grep screen-utf8-msg "not valid UTF-8" "$TMPD/err"
expect_exit screen-long 2 "$ACEGATE" screen "$(head -c 5000 /dev/zero | tr '\0' 'a')"
expect_grep screen-long-msg "the limit is 1024" "$TMPD/err"
expect_exit screen-country 2 "$ACEGATE" screen "NSO Group" --country ISR
expect_grep screen-country-msg "country: 'ISR' is not an ISO 3166-1 alpha-2" "$TMPD/err"
expect_exit screen-usage 2 "$ACEGATE" screen
expect_exit screen-option 2 "$ACEGATE" screen "x" --frobnicate
expect_exit screen-help 0 "$ACEGATE" screen --help
expect_grep screen-help-text "confident" "$TMPD/out"

# ---- batch: JSONL in, one line per input, in order ----
cat >"$TMPD/in.jsonl" <<'EOF'
{"name": "NSO Group", "country": "IL"}
{"name": "Blue Harbor Logistics Ltd"}

{"name": "Candiru Ltd.", "country": null}
{"country": "CN"}
not json
{"name": "Hikvision", "country": "CN"}
{"name": "", "country": "CN"}
EOF
"$ACEGATE" screen --batch --json <"$TMPD/in.jsonl" >"$TMPD/out" 2>"$TMPD/err"
rc=$?
if [ "$rc" -eq 2 ]; then echo "ok batch-exit"; else echo "not ok batch-exit: $rc"; fi
if [ "$(wc -l <"$TMPD/out")" -eq 7 ]; then echo "ok batch-lines"; else echo "not ok batch-lines"; cat "$TMPD/out"; fi
# every answered line is the answer POST /v1/screenings gives, with the
# audit id of its record; every rejected line is {"line":N,"error":{...}}
# as for check --batch
ID='"audit_id":"a-[0-9]*-[0-9a-f]\{12\}"'
sed -n 1p "$TMPD/out" >"$TMPD/l1"
expect_grep batch-line1 "^{$ID,\"name\":\"NSO Group\",\"country\":\"IL\",\"normalized\":\"nso group\",\"outcome\":\"CONFIDENT_MATCH\",\"matches\":\[{\"list\":\"Entity List\",\"list_code\":\"EL\",\"source_id\":\"csl:[0-9a-f]\{12\}\",\"name\":\"NSO Group\",\"entry_name\":\"NSO Group\",\"score\":1.00,\"level\":\"confident\",\"reason\":\"" "$TMPD/l1"
sed -n 2p "$TMPD/out" >"$TMPD/l2"
expect_grep batch-line2 "^{$ID,\"name\":\"Blue Harbor Logistics Ltd\",\"country\":null,\"normalized\":\"[a-z ]*\",\"outcome\":\"NO_MATCH\",\"matches\":\[\],\"rules_version\":\"[^\"]*\",\"lists_version\":\"[0-9-]*+[0-9a-f]\{12\}\",\"warnings\":\[{\"code\":\"lists_stale\",\"list\":\"[A-Z-]*\",\"date\":\"2026-07-31\",\"age_days\":[0-9]*}.*\]}$" "$TMPD/l2"
sed -n 3p "$TMPD/out" >"$TMPD/l3"
expect_grep batch-line3 '"name":"Candiru Ltd.","country":null' "$TMPD/l3"
sed -n 4p "$TMPD/out" >"$TMPD/l4"
expect_grep batch-missing-name '^{"line":5,"error":{"code":"invalid_input","message":"name: is required","field":"name"}}$' "$TMPD/l4"
sed -n 5p "$TMPD/out" >"$TMPD/l5"
expect_grep batch-not-json '^{"line":6,"error":{"code":"invalid_input","message":"malformed JSON at line 1, column 1: ' "$TMPD/l5"
sed -n 6p "$TMPD/out" >"$TMPD/l6"
expect_grep batch-after-errors '"name":"Hikvision","country":"CN",.*"matches":\[{' "$TMPD/l6"
sed -n 7p "$TMPD/out" >"$TMPD/l7"
expect_grep batch-empty-name '^{"line":8,"error":{"code":"invalid_input","message":"name: must not be empty","field":"name"}}$' "$TMPD/l7"
# the same error shape as check --batch for a line that is not JSON
printf 'not json\n' | "$ACEGATE" check --batch >"$TMPD/check-err" 2>/dev/null
if [ "$(sed 's/"line":1/"line":6/' "$TMPD/check-err")" = "$(cat "$TMPD/l5")" ]; then
  echo "ok batch-error-shape-as-check"; else echo "not ok batch-error-shape-as-check"; cat "$TMPD/check-err" "$TMPD/l5"; fi
# an empty country is refused, as the service refuses it (not read as no country)
printf '{"name":"Hikvision","country":""}\n' | "$ACEGATE" screen --batch >"$TMPD/out" 2>"$TMPD/err"
expect_grep batch-empty-country '^{"line":1,"error":{"code":"invalid_input","message":"country: must not be empty (leave it out, or null, for no country)","field":"country"}}$' "$TMPD/out"
expect_exit screen-empty-country 2 "$ACEGATE" screen Hikvision --country ""
expect_grep screen-empty-country-flag '^acegate screen: --country: must not be empty' "$TMPD/err"
# a listed name with a word twice is found by that name (the word counts twice)
"$ACEGATE" screen "SUN AND SUN LIMITED" --json >"$TMPD/out"
expect_grep repeated-word-found '"name":"SUN AND SUN LIMITED","entry_name":"SUN AND SUN LIMITED","score":1.00,"level":"confident"' "$TMPD/out"
# a lower --min-score shows weaker candidates, labelled below the review threshold
"$ACEGATE" screen "Frank Sun" --min-score 0.3 --json >"$TMPD/out"
if jq -e '[.matches[] | select(.score < 0.75) | .level] | length > 0 and all(. == "none")' "$TMPD/out" >/dev/null; then
  echo "ok below-threshold-level-none"; else echo "not ok below-threshold-level-none"; fi
# a look-alike Cyrillic letter among Latin ones is read as the Latin letter
"$ACEGATE" screen "$(printf '\320\241andiru')" --json >"$TMPD/out"
expect_grep lookalike-first-letter '"entry_name":"Candiru","score":1.00' "$TMPD/out"
# a vessel's one-word name is the vessel; with a company's words added it is only a candidate
"$ACEGATE" screen "Titan Industries" --json >"$TMPD/out"
if jq -e '[.matches[] | select(.entry_type == "Vessel") | .level] | length > 0 and all(. == "possible")' "$TMPD/out" >/dev/null; then
  echo "ok vessel-with-company-words-possible"; else echo "not ok vessel-with-company-words-possible"; fi
"$ACEGATE" screen "TITAN" --json >"$TMPD/out"
expect_grep vessel-name-confident '"entry_name":"TITAN","score":1.00,"level":"confident"' "$TMPD/out"
# a misspelt field is an error, not a name screened without its country
printf '{"name":"Hikvision","countrY":"CN"}\n' | "$ACEGATE" screen --batch >"$TMPD/out" 2>"$TMPD/err"
expect_grep batch-unknown-field '^{"line":1,"error":{"code":"invalid_input","message":"countrY: unknown field","field":"countrY"}}$' "$TMPD/out"

# many lines, more than one chunk, order kept across threads
i=0
: >"$TMPD/many.jsonl"
while [ $i -lt 1500 ]; do
  echo "{\"name\": \"NSO Group $i\"}" >>"$TMPD/many.jsonl"
  i=$((i + 1))
done
"$ACEGATE" screen --batch --json --threads 2 <"$TMPD/many.jsonl" >"$TMPD/out" 2>"$TMPD/err"
if [ "$(wc -l <"$TMPD/out")" -eq 1500 ] && sed -n 1234p "$TMPD/out" | grep -q '"name":"NSO Group 1233"'; then
  echo "ok batch-order"
else
  echo "not ok batch-order"
fi

# ---- the lists in force ----
expect_exit lists-show 0 "$ACEGATE" lists
expect_grep lists-origin "lists in force: built-in" "$TMPD/out"
expect_grep lists-el "^EL      Entity List  *3420 .*2026-07-31  *[0-9]*d!*  [0-9a-f]\{16\}  csl-2026-07-31.csv" "$TMPD/out"
expect_grep lists-sdn "^SDN     Specially Designated Nationals  *19181 " "$TMPD/out"
expect_exit lists-json 0 "$ACEGATE" lists --json
expect_grep lists-json-el '{"code":"EL","name":"Entity List","entries":3420,' "$TMPD/out"

# --lists on every published format
expect_exit lists-ofac-dir 0 "$ACEGATE" lists --lists "$FIX/ofac"
expect_grep lists-ofac-joined "sdn.csv, alt.csv, add.csv, sdn_comments.csv" "$TMPD/out"
expect_exit screen-ofac 0 "$ACEGATE" screen "National Bank of Cuba" --lists "$FIX/ofac" --json
expect_grep screen-ofac-alias '"source_id":"306","name":"NATIONAL BANK OF CUBA"' "$TMPD/out"
expect_exit screen-ofac-files 0 "$ACEGATE" screen "National Bank of Cuba" --lists "$FIX/ofac/sdn.csv,$FIX/ofac/alt.csv"
expect_grep screen-ofac-files-hit "SDN)  306" "$TMPD/out"
expect_exit screen-dpl 0 "$ACEGATE" screen "Aaron Abraham Villa" --lists "$FIX/bis-dpl-sample.txt"
expect_grep screen-dpl-hit "Denied Persons List (DPL)  dpl:d0901327e490" "$TMPD/out"
expect_exit screen-json-list 0 "$ACEGATE" screen "Atlas Sanatgaran" --lists "$FIX/csl-consolidated-sample.json"
expect_grep screen-json-list-hit "Unverified List (UVL)  1b5979e8fd3920a1a0985bf5088dad930a6a5562d1513f9e4b015e42" "$TMPD/out"
expect_exit screen-csl28 0 "$ACEGATE" screen "200G PSA Holdings" --lists "$FIX/csl-sample.csv"
expect_grep screen-csl28-hit "SDN)  20264" "$TMPD/out"
expect_exit screen-unrecognised 3 "$ACEGATE" screen "x" --lists tests/cli/lib.sh
expect_grep screen-unrecognised-msg "lib.sh: not a recognised list file" "$TMPD/err"
expect_exit screen-missing-file 4 "$ACEGATE" screen "x" --lists "$TMPD/nope.csv"

if [ -d "$SHARED" ]; then
  expect_exit lists-shared 0 "$ACEGATE" lists --lists "$SHARED"
  expect_grep lists-shared-sdn "ofac-sdn.csv, ofac-alt.csv, ofac-add.csv, ofac-sdn-comments.csv" "$TMPD/out"
  expect_grep lists-shared-dpl "^DPL .* 581 .*2022-09-02 .*bis-dpl.txt" "$TMPD/out"
else
  for t in lists-shared lists-shared-sdn lists-shared-dpl; do echo "ok $t # skip: $SHARED is absent"; done
fi

# ---- update: validated completely, swapped atomically ----
# the samples in place of the full lists: sources dropped and shrunk, so
# refused with the numbers unless forced; the record says so either way
expect_exit update-shrink-refused 3 "$ACEGATE" lists update "$FIX/ofac" "$FIX/bis-dpl-sample.txt"
expect_grep update-shrink-refused-why "refused, the lists in force are unchanged: .*EL dropped (3420 entries in force, none in the update)" "$TMPD/err"
expect_grep update-shrink-refused-dpl "DPL shrinks from 1596 to 20 entries (-98.7 %, more than 10.0 %)" "$TMPD/err"
expect_grep update-shrink-refused-table "^DPL  *1596  *20 " "$TMPD/out"
expect_exit update-shrink-refused-kept 0 "$ACEGATE" lists
expect_grep update-shrink-refused-builtin "lists in force: built-in" "$TMPD/out"
expect_exit update-ok 0 "$ACEGATE" lists update "$FIX/ofac" "$FIX/bis-dpl-sample.txt" --force
expect_grep update-ok-path "updated: $ACEGATE_HOME/lists.agx" "$TMPD/out"
expect_exit update-in-force 0 "$ACEGATE" lists
expect_grep update-in-force-origin "lists in force: $ACEGATE_HOME/lists.agx" "$TMPD/out"
expect_grep update-in-force-dpl "^DPL .* 20 " "$TMPD/out"
expect_exit update-screen 0 "$ACEGATE" screen "Banco Nacional de Cuba"
expect_grep update-screen-hit "SDN)  306" "$TMPD/out"
cp "$ACEGATE_HOME/lists.agx" "$TMPD/before.agx"
# a truncated file: rejected with the line at fault, old lists in force
head -c 20000 "$FIX/csl-sample.csv" >"$TMPD/cut.csv"
expect_exit update-truncated 3 "$ACEGATE" lists update "$TMPD/cut.csv"
expect_grep update-truncated-line "cut.csv:[0-9]*: " "$TMPD/err"
expect_grep update-truncated-unchanged "the lists in force are unchanged" "$TMPD/err"
# a wrong header: rejected naming the column
printf 'name,country\nACME,CN\n' >"$TMPD/hdr.csv"
expect_exit update-header 3 "$ACEGATE" lists update "$FIX/csl-sample.csv" "$TMPD/hdr.csv"
expect_grep update-header-field "hdr.csv:1: header: column 'source' is missing" "$TMPD/err"
if cmp -s "$ACEGATE_HOME/lists.agx" "$TMPD/before.agx"; then echo "ok update-kept"; else echo "not ok update-kept"; fi
if [ "$(ls "$ACEGATE_HOME" | wc -l)" -eq 1 ]; then echo "ok update-no-temp"; else echo "not ok update-no-temp"; ls "$ACEGATE_HOME"; fi
# a corrupt index in force: an error, never a crash or a silent fallback
head -c 1000 "$TMPD/before.agx" >"$ACEGATE_HOME/lists.agx"
expect_exit corrupt-index 3 "$ACEGATE" screen "NSO Group"
expect_grep corrupt-index-msg "corrupt index" "$TMPD/err"
expect_exit lists-reset 0 "$ACEGATE" lists reset
expect_exit after-reset 0 "$ACEGATE" lists
expect_grep after-reset-builtin "lists in force: built-in" "$TMPD/out"
# --data-dir wins over the environment
expect_exit update-data-dir 0 "$ACEGATE" lists update "$FIX/ofac" --data-dir "$TMPD/other" --force
expect_exit data-dir-show 0 "$ACEGATE" lists --data-dir "$TMPD/other"
expect_grep data-dir-origin "lists in force: $TMPD/other/lists.agx" "$TMPD/out"
expect_exit update-nothing 2 "$ACEGATE" lists update
expect_exit lists-build 0 "$ACEGATE" lists build --out "$TMPD/x.agx" "$FIX/csl-sample.csv"
mkdir -p "$TMPD/empty-data"
expect_exit lists-empty-data-dir 0 "$ACEGATE" lists --data-dir "$TMPD/empty-data"
expect_grep lists-empty-data-dir-builtin "lists in force: built-in" "$TMPD/out"
# a data directory that does not exist is a typo, not "no update yet"
expect_exit lists-missing-data-dir 4 "$ACEGATE" lists --data-dir "$TMPD/nowhere"
expect_exit screen-missing-data-dir 4 "$ACEGATE" screen Hikvision --data-dir "$TMPD/nowhere"
expect_grep screen-missing-data-dir-named "data-dir: '$TMPD/nowhere' is not a directory" "$TMPD/err"
