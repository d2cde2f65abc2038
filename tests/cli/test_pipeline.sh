#!/bin/sh
# test_pipeline.sh - every determination of the command line is recorded
# and traceable: check and screen, single and --batch, write the records
# the service writes (--db, the default database, ref, rules_version and
# lists_version), audit search by ref and by party (CLI and HTTP); and the
# command-line details: --fail-on, screen -, --version, --json on rules,
# keys list and audit verify, FIFOs refused.
. "$(dirname "$0")/lib.sh"
plan 75
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
# jqok NAME FILTER FILE
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 300 "$3")"; fi
}

DB="$TMPD/audit.db"
RULES_VERSION=$("$ACEGATE" version | sed -n 's/^rules_version //p')
LISTS_VERSION=$("$ACEGATE" version | sed -n 's/^lists_version //p')

# ---- check: recorded before it is shown, with its ref and versions ----
# 740.22(c)(1)(ii): ACE does not authorize exports to a government end user
# in D:1-D:5 (CN is D:1), and the Country Chart NS1 column needs a licence.
expect_exit check_db 0 "$ACEGATE" check --eccn 4D004 --to CN --end-user-type government \
  --ref PO-1001 --json --db "$DB"
cp "$TMPD/out" "$TMPD/check.json"
jqok check_outcome '.outcome == "LICENSE_REQUIRED" and .decided_by == "740.22(c)(1)(ii)"' "$TMPD/check.json"
jqok check_ref_echoed '.ref == "PO-1001"' "$TMPD/check.json"
jqok check_versions ".rules_version == \"$RULES_VERSION\" and .lists_version == \"$LISTS_VERSION\"" "$TMPD/check.json"
jqok check_audit_id '.audit_id | test("^a-1-[0-9a-f]{12}$")' "$TMPD/check.json"
ID=$(jq -r .audit_id "$TMPD/check.json")
# the stored decision is the output without its audit id, byte for byte
"$ACEGATE" audit get "$ID" --db "$DB" >"$TMPD/stored"
if [ "$(jq -cS . "$TMPD/stored")" = "$(jq -cS 'del(.audit_id)' "$TMPD/check.json")" ] &&
  [ "$(printf '{"audit_id":"%s",' "$ID"; tail -c +2 "$TMPD/stored")" = "$(cat "$TMPD/check.json")" ]; then
  ok check_stored_as_shown; else notok check_stored_as_shown "differs"; fi
"$ACEGATE" audit get "$ID" --request --db "$DB" >"$TMPD/request"
jqok check_request_stored '.ref == "PO-1001" and .destination == "CN" and .item.eccn == "4D004"' "$TMPD/request"
# the readable output names the record too
expect_exit check_text 0 "$ACEGATE" check --eccn 5A001.j --to DE --ref "Order 7" --db "$DB"
expect_grep check_text_ref '^ref: Order 7$' "$TMPD/out"
expect_grep check_text_audit_id '^audit id: a-2-[0-9a-f]\{12\}$' "$TMPD/out"
expect_grep check_text_lists "^lists: $LISTS_VERSION\$" "$TMPD/out"

# ref: at most 128 characters, a string, never empty
long=$(printf 'x%.0s' $(seq 1 129))
expect_exit ref_too_long 2 "$ACEGATE" check --eccn 4D004 --to DE --ref "$long" --db "$DB"
expect_grep ref_too_long_msg 'ref (--ref): is longer than 128 characters' "$TMPD/err"
expect_exit ref_128_chars 0 "$ACEGATE" check --eccn 4D004 --to DE --ref "$(printf 'é%.0s' $(seq 1 128))" --db "$DB"
echo '{"item":{"eccn":"4D004"},"destination":"DE","ref":7}' >"$TMPD/t.json"
expect_exit ref_not_string 2 sh -c "'$ACEGATE' check --db '$DB' - <'$TMPD/t.json'"
expect_grep ref_not_string_msg 'ref: must be a string' "$TMPD/err"
echo '{"item":{"eccn":"4D004"},"destination":"DE","ref":""}' >"$TMPD/t.json"
expect_exit ref_empty 2 sh -c "'$ACEGATE' check --db '$DB' - <'$TMPD/t.json'"
expect_exit ref_with_batch 2 "$ACEGATE" check --batch --ref x --db "$DB"

# ---- check --batch: one record per decided line, none for a rejected one ----
cat >"$TMPD/txns.jsonl" <<'EOF'
{"item":{"eccn":"4D004"},"destination":"VE","ref":"B-1"}
{"item":{"eccn":"4D004"},"destination":"XX","ref":"B-2"}

{"item":{"eccn":"5A001.j"},"destination":"FR","end_user":{"name":"Saito Tech Ltd."},"ref":"B-3"}
EOF
"$ACEGATE" check --batch --db "$DB" <"$TMPD/txns.jsonl" >"$TMPD/out" 2>"$TMPD/err"
rc=$?
if [ "$rc" -eq 2 ]; then ok batch_exit_rejected; else notok batch_exit_rejected "exit $rc"; fi
sed -n 1p "$TMPD/out" >"$TMPD/b1"
sed -n 2p "$TMPD/out" >"$TMPD/b2"
sed -n 3p "$TMPD/out" >"$TMPD/b3"
jqok batch_line1_recorded '(.audit_id | test("^a-[0-9]+-")) and .ref == "B-1"' "$TMPD/b1"
# line 2 of the input: an unknown destination, named by the field
jqok batch_line2_error '.line == 2 and .error.field == "destination" and .error.code == "invalid_input" and (has("audit_id") | not)' "$TMPD/b2"
# the blank line 3 is skipped but counted: the next answer is line 4's
jqok batch_line4 '.ref == "B-3" and (.screening[0].matches | length) > 0' "$TMPD/b3"
"$ACEGATE" audit search --ref B-2 --db "$DB" >"$TMPD/out"
if [ ! -s "$TMPD/out" ]; then ok batch_rejected_not_recorded; else notok batch_rejected_not_recorded "found"; fi

# ---- screen: the same records and answers as POST /v1/screenings ----
expect_exit screen_db 0 "$ACEGATE" screen "SAITO TECH LTD" --country il --ref CUST-9 --json --db "$DB"
cp "$TMPD/out" "$TMPD/screen.json"
jqok screen_shape '.name == "SAITO TECH LTD" and .country == "IL" and .outcome == "CONFIDENT_MATCH" and .ref == "CUST-9"' "$TMPD/screen.json"
jqok screen_versions ".rules_version == \"$RULES_VERSION\" and .lists_version == \"$LISTS_VERSION\"" "$TMPD/screen.json"
SID=$(jq -r .audit_id "$TMPD/screen.json")
"$ACEGATE" audit search --ref CUST-9 --db "$DB" >"$TMPD/out"
jqok screen_recorded ".audit_id == \"$SID\" and .kind == \"screening\" and .outcome == \"CONFIDENT_MATCH\"" "$TMPD/out"
# screen - reads the name from stdin, as check - reads the transaction
printf 'Saito Tech Ltd.\n' | "$ACEGATE" screen - --json --db "$DB" >"$TMPD/out" 2>"$TMPD/err"
jqok screen_stdin '.name == "Saito Tech Ltd." and .outcome == "CONFIDENT_MATCH"' "$TMPD/out"
printf '{"name":"NSO Group","ref":"S-1"}\n{"name":"NSO Group","max_matches":0}\n' |
  "$ACEGATE" screen --batch --db "$DB" >"$TMPD/out" 2>"$TMPD/err"
sed -n 2p "$TMPD/out" >"$TMPD/s2"
jqok screen_batch_error_line '.line == 2 and .error.field == "max_matches"' "$TMPD/s2"
"$ACEGATE" audit search --ref S-1 --kind screening --db "$DB" >"$TMPD/out"
jqok screen_batch_recorded '.request.name == "NSO Group" and .kind == "screening"' "$TMPD/out"
# a "ref" key written with a \u escape is the same key: found by ref too
printf '%s\n' '{"name":"Acme Widgets","country":"DE","\u0072ef":"S-U"}' |
  "$ACEGATE" screen --batch --db "$DB" >/dev/null 2>&1
"$ACEGATE" audit search --ref S-U --db "$DB" >"$TMPD/out"
jqok search_escaped_ref '.request.name == "Acme Widgets"' "$TMPD/out"

# ---- audit search by party: names normalised as screening normalises ----
"$ACEGATE" audit search --party "saito technology limited" --db "$DB" >"$TMPD/out"
# B-3 (end user), CUST-9 and the stdin screening name the same party
if [ "$(wc -l <"$TMPD/out")" -eq 3 ] &&
  [ "$(jq -r '.decision.ref // "-"' "$TMPD/out" | tr '\n' ' ')" = "B-3 CUST-9 - " ]; then
  ok search_party; else notok search_party "$(jq -c '[.audit_id,.decision.ref]' "$TMPD/out")"; fi
"$ACEGATE" audit search --party "Saito" --db "$DB" >"$TMPD/out"
if [ ! -s "$TMPD/out" ]; then ok search_party_whole_name; else notok search_party_whole_name "matched"; fi
"$ACEGATE" audit search --party "saito tech" --limit 1 --newest --db "$DB" >"$TMPD/out"
jqok search_party_limit_newest '.request.name == "Saito Tech Ltd."' "$TMPD/out"
expect_exit search_bad_kind 2 "$ACEGATE" audit search --kind nope --db "$DB"
expect_exit log_intact 0 "$ACEGATE" audit verify --db "$DB"

# ---- the default database ----
unset ACEGATE_DB
export XDG_STATE_HOME="$TMPD/state"
expect_exit default_check 0 "$ACEGATE" check --eccn 4D004 --to DE --ref DEF-1
if [ -f "$TMPD/state/acegate/audit.db" ] && [ "$(stat -c %a "$TMPD/state/acegate/audit.db")" = 600 ]; then
  ok default_db_created_private; else notok default_db_created_private "missing or not 0600"; fi
"$ACEGATE" audit search --ref DEF-1 >"$TMPD/out"
jqok default_db_searched '.decision.ref == "DEF-1"' "$TMPD/out"
ACEGATE_DB="$TMPD/env.db" "$ACEGATE" screen Huawei --ref ENV-1 >/dev/null 2>&1
ACEGATE_DB="$TMPD/env.db" "$ACEGATE" audit search --ref ENV-1 >"$TMPD/out"
jqok acegate_db_wins '.kind == "screening"' "$TMPD/out"
"$ACEGATE" audit search --ref ENV-1 >"$TMPD/out"
if [ ! -s "$TMPD/out" ]; then ok acegate_db_not_state_home; else notok acegate_db_not_state_home "found"; fi
# :memory: keeps nothing (and is said to)
expect_exit memory_db 0 "$ACEGATE" check --eccn 4D004 --to DE --db :memory:

# ---- --fail-on: exit 7 when a decision has one of the outcomes ----
expect_exit fail_on_match 7 "$ACEGATE" check --eccn 4D004 --to CN --end-user-type government \
  --fail-on PROHIBITED,LICENSE_REQUIRED --db "$DB"
expect_exit fail_on_no_match 0 "$ACEGATE" check --eccn 4D004 --to CN --end-user-type government \
  --fail-on PROHIBITED --db "$DB"
expect_exit fail_on_bad 2 "$ACEGATE" check --eccn 4D004 --to CN --fail-on MAYBE --db "$DB"
printf '{"item":{"eccn":"5A001.j"},"destination":"DE"}\n{"item":{"eccn":"4D004"},"destination":"CU"}\n' >"$TMPD/f.jsonl"
expect_exit fail_on_batch 7 sh -c "'$ACEGATE' check --batch --fail-on PROHIBITED,LICENSE_REQUIRED --db '$DB' <'$TMPD/f.jsonl'"
expect_exit fail_on_batch_none 0 sh -c "'$ACEGATE' check --batch --fail-on REVIEW --db '$DB' <'$TMPD/f.jsonl'"

# ---- --version, --json ----
expect_exit version 0 "$ACEGATE" --version
expect_grep version_line '^acegate [0-9][0-9.]*$' "$TMPD/out"
expect_exit version_cmd 0 "$ACEGATE" version
expect_exit rules_json 0 "$ACEGATE" rules --json
jqok rules_json_version ".version == \"$RULES_VERSION\" and .tables.destinations > 0 and .source == \"built-in\"" "$TMPD/out"
expect_exit rules_json_table 2 "$ACEGATE" rules --json --table destinations
"$ACEGATE" keys add --role auditor --name "json test" --db "$DB" >/dev/null 2>&1
expect_exit keys_list_json 0 "$ACEGATE" keys list --json --db "$DB"
jqok keys_list_json_shape '.keys | length == 1 and .[0].role == "auditor" and .[0].name == "json test" and .[0].revoked == null' "$TMPD/out"
expect_exit verify_json 0 "$ACEGATE" audit verify --json --db "$DB"
jqok verify_json_intact '.intact == true and .problem == null and (.head | test("^[0-9]+:[0-9a-f]{64}$"))' "$TMPD/out"
cp "$DB" "$TMPD/t.db"
sqlite3 "$TMPD/t.db" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET outcome = 'NLR' WHERE seq = 1;"
expect_exit verify_json_broken 6 "$ACEGATE" audit verify --json --db "$TMPD/t.db"
jqok verify_json_broken_shape '.intact == false and .bad_seq == 1 and .problem == "content_changed"' "$TMPD/out"

# ---- FIFOs are refused, not waited on ----
mkfifo "$TMPD/fifo.csv"
expect_exit fifo_lists_update 4 timeout 10 "$ACEGATE" lists update "$TMPD/fifo.csv" --data-dir "$TMPD/data"
expect_grep fifo_lists_update_msg 'not a regular file (a FIFO' "$TMPD/err"
expect_exit fifo_lists_flag 4 timeout 10 "$ACEGATE" screen x --lists "$TMPD/fifo.csv" --db "$DB"
mkdir "$TMPD/rules"
cp data/rules/*.tsv "$TMPD/rules/"
rm "$TMPD/rules/embargoes.tsv"
mkfifo "$TMPD/rules/embargoes.tsv"
expect_exit fifo_rules 4 timeout 10 "$ACEGATE" check --eccn 4D004 --to DE --rules "$TMPD/rules" --db "$DB"
expect_grep fifo_rules_msg 'embargoes.tsv: not a regular file' "$TMPD/err"

# ---- the service: the same search by ref and party over HTTP ----
KEY=$("$ACEGATE" keys add --role admin --db "$DB" 2>/dev/null | tail -n 1)
serve_start --listen 127.0.0.1:0 --db "$DB"
get() { curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" "$B$1"; }
post() {
  curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' --data-binary "$2" "$B$1"
}
st=$(post /v1/checks '{"item":{"eccn":"4D004"},"destination":"CN","end_user":{"type":"government","name":"SAITO TECH LTD"},"ref":"HTTP-1"}')
if [ "$st" = 200 ]; then ok http_check_200; else notok http_check_200 "$st"; fi
jqok http_check_ref ".ref == \"HTTP-1\" and .rules_version == \"$RULES_VERSION\" and .lists_version == \"$LISTS_VERSION\"" "$TMPD/body"
st=$(post /v1/screenings '{"name":"x","country":""}')
if [ "$st" = 400 ]; then ok http_screening_empty_country; else notok http_screening_empty_country "$st"; fi
jqok http_screening_empty_country_field '.error.field == "country"' "$TMPD/body"
st=$(get '/v1/audit?ref=HTTP-1')
jqok http_search_ref '.records | length == 1 and .[0].decision.ref == "HTTP-1"' "$TMPD/body"
st=$(get '/v1/audit?ref=PO-1001')
jqok http_search_cli_record ".records | length == 1 and .[0].audit_id == \"$ID\"" "$TMPD/body"
st=$(get '/v1/audit?party=Saito%20Technology%20Limited&kind=check')
jqok http_search_party '[.records[].decision.ref] == ["B-3","HTTP-1"]' "$TMPD/body"
st=$(get '/v1/audit?party=Saito%20Technology%20Limited&kind=check&limit=1')
jqok http_search_party_paged '(.records | length == 1) and .next_cursor != null' "$TMPD/body"
CUR=$(jq -r .next_cursor "$TMPD/body")
st=$(get "/v1/audit?party=Saito%20Technology%20Limited&kind=check&limit=1&cursor=$CUR")
jqok http_search_party_page2 '[.records[].decision.ref] == ["HTTP-1"] and .next_cursor == null' "$TMPD/body"
st=$(get "/v1/audit?ref=$long")
if [ "$st" = 400 ]; then ok http_search_ref_too_long; else notok http_search_ref_too_long "$st"; fi
serve_stop
expect_exit log_intact_after_service 0 "$ACEGATE" audit verify --db "$DB"
