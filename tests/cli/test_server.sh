#!/bin/sh
# test_server.sh - `acegate serve` over HTTP on 127.0.0.1: every route, keys
# and roles (401/403), bad input (400/404/405/413/415), byte-identical
# GET /v1/checks/{id}, screening, audit search and export, key management,
# rate limits, slow clients, the access log, SIGHUP reloads (a bad file keeps
# the old data) and SIGTERM draining.
. "$(dirname "$0")/lib.sh"
plan 206

ok() { echo "ok $1"; }
notok() {
  echo "not ok $1: $2"
  [ -f "$TMPD/body" ] && head -c 400 "$TMPD/body" | sed 's/^/  | /' && echo
}

# A small list file in the published CSL format: the first entries and Huawei.
LISTS="$TMPD/csl.csv"
head -n 40 data/lists/csl-2026-07-31.csv >"$LISTS"
grep -F '"Huawei Technologies Co., Ltd. (Huawei)",' data/lists/csl-2026-07-31.csv >>"$LISTS"
DB="$TMPD/audit.db"
key() { "$ACEGATE" keys add --role "$1" --db "$DB" --name "$2" 2>/dev/null | tail -n 1; }
CK=$(key checker "test checker")
CK2=$(key checker "other checker")
AK=$(key auditor "test auditor")
ADM=$(key admin "test admin")

# start_server ARGS...: starts on a free port; sets PORT, B and SRV_PID.
start_server() { serve_start --listen 127.0.0.1:0 --db "${SRV_DB:-$DB}" --lists "$LISTS" "$@"; }

# wait_inflight N: until the server has N requests begun and not answered
# (the /metrics request asking counts as one).
wait_inflight() {
  until curl -s "$B/metrics" | grep -q "^acegate_inflight_requests \([$1-9]\|[1-9][0-9]\)"; do
    kill -0 "$SRV_PID" 2>/dev/null || return
  done
}

stop_server() { serve_stop; }

# call METHOD PATH KEY [BODY]: body to $TMPD/body, headers to $TMPD/hdr,
# status in $STATUS. BODY "@file" sends a file.
call() {
  _m=$1 _p=$2 _k=$3
  if [ -n "$_k" ]; then _auth="Authorization: Bearer $_k"; else _auth="X-Test: no key"; fi
  if [ $# -ge 4 ]; then
    STATUS=$(curl -s -o "$TMPD/body" -D "$TMPD/hdr" -w '%{http_code}' -X "$_m" -H "$_auth" \
      -H 'Content-Type: application/json' --data-binary "$4" "$B$_p")
  else
    STATUS=$(curl -s -o "$TMPD/body" -D "$TMPD/hdr" -w '%{http_code}' -X "$_m" -H "$_auth" "$B$_p")
  fi
}
expect_status() {
  if [ "$STATUS" = "$2" ]; then ok "$1"; else notok "$1" "status $STATUS, wanted $2"; fi
}
expect_json() {
  if jq -e "$2" "$TMPD/body" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' failed"; fi
}
expect_header() {
  if grep -qi "^$2" "$TMPD/hdr"; then ok "$1"; else notok "$1" "no header '$2'"; fi
}

start_server
if [ -n "$PORT" ]; then ok server_starts; else
  notok server_starts "no listening line"
  cat "$TMPD/srv.log"
  exit 1
fi
expect_grep listening_is_loopback '"address":"127.0.0.1:' "$TMPD/srv.log"
# threads are named for operators (top -H); two HTTP threads per CPU by default
cat /proc/"$SRV_PID"/task/*/comm >"$TMPD/threads" 2>/dev/null
for t in audit-writer audit-index; do # audit-ckpt starts with the first checkpoint
  expect_grep "thread_named_$t" "^$t\$" "$TMPD/threads"
done
http_threads=$(grep -c '^http$' "$TMPD/threads")
want_threads=$((2 * $(getconf _NPROCESSORS_ONLN)))
[ "$want_threads" -gt 64 ] && want_threads=64
if [ "$http_threads" -eq "$want_threads" ]; then ok http_threads_two_per_cpu; else
  notok http_threads_two_per_cpu "$http_threads HTTP threads, wanted $want_threads"
fi
# one listen socket per HTTP thread share the port (SO_REUSEPORT), yet a
# second service on that port is refused rather than handed connections
if timeout 10 "$ACEGATE" serve --listen "127.0.0.1:$PORT" --db "$TMPD/second.db" --access-log off \
  2>"$TMPD/second.err"; then
  notok second_server_same_port_refused "it started"
else
  expect_grep second_server_same_port_refused 'address in use' "$TMPD/second.err"
fi

# ---- health, readiness, metrics: no key needed ----
call GET /healthz ""
expect_status healthz 200
expect_json healthz_ok '.status == "ok"'
call GET /readyz ""
expect_status readyz 200
expect_json readyz_versions '.status == "ready" and (.rules_version | length > 0) and (.lists_version | length > 0)'
RULES_VERSION=$(jq -r .rules_version "$TMPD/body")
LISTS_VERSION=$(jq -r .lists_version "$TMPD/body")

# ---- keys and roles ----
TXN='{"item":{"eccn":"4D004"},"destination":"BR","end_user":{"type":"non_government"},"as_of":"2026-11-24"}'
call POST /v1/checks "" "$TXN"
expect_status check_without_key_401 401
expect_json check_without_key_error '.error.code == "unauthorized" and .error.field == "authorization"'
expect_header check_without_key_www_authenticate 'WWW-Authenticate: Bearer'
call POST /v1/checks "agk_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "$TXN"
expect_status check_invalid_key_401 401
call POST /v1/checks "not a key at all" "$TXN"
expect_status check_garbage_key_401 401
call POST /v1/checks "$AK" "$TXN"
expect_status check_auditor_403 403
expect_json check_auditor_error '.error.code == "forbidden"'
call GET /v1/audit "$CK"
expect_status audit_checker_403 403
call GET /v1/keys "$CK"
expect_status keys_checker_403 403
call GET /v1/rules ""
expect_status rules_without_key_401 401

# ---- a check, and the same bytes back by audit id ----
call POST /v1/checks "$CK" "$TXN"
expect_status check_200 200
expect_json check_outcome '.outcome == "LICENSE_EXCEPTION_ACE" and .ace.available == true'
expect_json check_has_audit_id '.audit_id | test("^a-[0-9]+-[0-9a-f]{12}$")'
expect_json check_audit_id_first 'keys_unsorted[0] == "audit_id"'
expect_json check_rules_version ".rules_version == \"$RULES_VERSION\""
cp "$TMPD/body" "$TMPD/check1.json"
ID1=$(jq -r .audit_id "$TMPD/check1.json")
# the decision is the CLI's decision for the same transaction, each with
# the audit id of its own record
echo "$TXN" | "$ACEGATE" check --json --lists "$LISTS" - >"$TMPD/cli.json"
if jq -e --slurpfile cli "$TMPD/cli.json" 'del(.audit_id) == ($cli[0] | del(.audit_id))' \
  "$TMPD/check1.json" >/dev/null; then
  ok check_same_decision_as_cli
else notok check_same_decision_as_cli "differs from acegate check --json"; fi

call GET "/v1/checks/$ID1" "$AK"
expect_status get_check_auditor_200 200
if cmp -s "$TMPD/body" "$TMPD/check1.json"; then ok get_check_byte_identical; else
  notok get_check_byte_identical "GET body differs from the POST answer"; fi
call GET "/v1/checks/$ID1" "$CK"
expect_status get_check_own_key_200 200
if cmp -s "$TMPD/body" "$TMPD/check1.json"; then ok get_check_own_identical; else
  notok get_check_own_identical "differs"; fi
call GET "/v1/checks/$ID1" "$CK2"
expect_status get_check_other_checker_404 404
call GET "/v1/checks/a-999999-000000000000" "$AK"
expect_status get_check_unknown_404 404
expect_json get_check_unknown_error '.error.code == "not_found" and .error.field == "audit_id"'
call GET "/v1/checks/nonsense" "$AK"
expect_status get_check_malformed_id_404 404
"$ACEGATE" audit get "$ID1" --db "$DB" >"$TMPD/stored.json" 2>/dev/null
if jq -e --slurpfile s "$TMPD/stored.json" 'del(.audit_id) == $s[0]' "$TMPD/check1.json" >/dev/null; then
  ok stored_decision_is_the_answer
else notok stored_decision_is_the_answer "acegate audit get differs"; fi

# a named party on the Entity List: screened in-process, the outcome is stricter
call POST /v1/checks "$CK" '{"item":{"eccn":"4A005"},"destination":"DE","end_user":{"type":"non_government","name":"Huawei Technologies Co., Ltd."},"as_of":"2026-11-24"}'
expect_status check_party_200 200
expect_json check_party_screened '.screening[0].party == "end_user" and (.screening[0].matches | length > 0)'
expect_json check_party_entity_list '.outcome == "LICENSE_REQUIRED" and (.ace.blocked_by | index("744.11"))'

# ---- bad input: the right 4xx, a message, and the field ----
call POST /v1/checks "$CK" '{"item":'
expect_status malformed_json_400 400
expect_json malformed_json_error '.error.code == "invalid_input" and (.error.message | test("malformed JSON"))'
call POST /v1/checks "$CK" '{"item":{"eccn":"4D004"},"destination":5}'
expect_status wrong_type_400 400
expect_json wrong_type_field '.error.field == "destination" and (.error.message | test("string"))'
call POST /v1/checks "$CK" '{"item":{"eccn":"4D004"},"destination":"BR","colour":"red"}'
expect_status unknown_field_400 400
expect_json unknown_field_named '.error.field == "colour" and (.error.message | test("unknown field"))'
call POST /v1/checks "$CK" '{"item":{"eccn":"4D004","shade":1},"destination":"BR"}'
expect_status unknown_nested_field_400 400
expect_json unknown_nested_field_named '.error.field == "item.shade"'
call POST /v1/checks "$CK" '{"item":{"eccn":"4D004"},"destination":"XX"}'
expect_status unknown_destination_400 400
expect_json unknown_destination_field '.error.field == "destination"'
call POST /v1/checks "$CK" '{"item":{"eccn":"4D004"},"destination":"BR","as_of":"2023-02-29"}'
expect_status impossible_date_400 400
printf '{"item":{"eccn":"4D004"},"destination":"B\377"}' >"$TMPD/badutf8.json"
call POST /v1/checks "$CK" "@$TMPD/badutf8.json"
expect_status invalid_utf8_400 400
call POST /v1/checks "$CK" ''
expect_status empty_body_400 400
head -c 70000 /dev/zero | tr '\0' ' ' >"$TMPD/big.json"
call POST /v1/checks "$CK" "@$TMPD/big.json"
expect_status oversized_check_413 413
expect_json oversized_check_error '.error.code == "too_large"'
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $CK" \
  -H 'Content-Type: text/plain' --data-binary "$TXN" "$B/v1/checks")
expect_status wrong_content_type_415 415
call GET /v1/nothing "$CK"
expect_status unknown_route_404 404
expect_json unknown_route_error '.error.code == "not_found"'
call GET /v1/checks "$CK"
expect_status wrong_method_405 405
expect_header wrong_method_allow 'Allow: POST'
call DELETE /v1/audit "$AK"
expect_status wrong_method_delete_405 405

# ---- batch ----
printf '{"transactions":[%s,%s,%s]}' "$TXN" \
  '{"item":{"eccn":"4D004"},"destination":"CN","end_user":{"type":"government"},"as_of":"2026-11-24"}' \
  '{"item":{"eccn":"4D004"},"destination":"ZZ"}' >"$TMPD/batch.json"
call POST /v1/checks:batch "$CK" "@$TMPD/batch.json"
expect_status batch_200 200
expect_json batch_counts '.decided == 2 and .rejected == 1 and (.results | length == 3)'
expect_json batch_order '.results[0].outcome == "LICENSE_EXCEPTION_ACE" and .results[1].outcome == "LICENSE_REQUIRED"'
expect_json batch_error_field '.results[2].error.field == "transactions[2].destination"'
expect_json batch_ids_distinct '.results[0].audit_id != .results[1].audit_id'
cp "$TMPD/body" "$TMPD/batch_out.json"
BID=$(jq -r '.results[1].audit_id' "$TMPD/batch_out.json")
call GET "/v1/checks/$BID" "$AK"
if jq -e --slurpfile b "$TMPD/batch_out.json" '. == $b[0].results[1]' "$TMPD/body" >/dev/null; then
  ok batch_item_retrievable
else notok batch_item_retrievable "GET differs from the batch element"; fi
call POST /v1/checks:batch "$CK" '{"transactions":[]}'
expect_status batch_empty_400 400
call POST /v1/checks:batch "$CK" '[1,2]'
expect_status batch_not_object_400 400
call POST /v1/checks:batch "$CK" '{"transactions":[],"extra":1}'
expect_status batch_unknown_field_400 400
{
  printf '{"transactions":['
  i=0
  while [ $i -lt 1000 ]; do printf '{"item":{"eccn":"4D004"},"destination":"BR"},'; i=$((i + 1)); done
  printf '{"item":{"eccn":"4D004"},"destination":"BR"}]}'
} >"$TMPD/batch1001.json"
call POST /v1/checks:batch "$CK" "@$TMPD/batch1001.json"
expect_status batch_over_limit_413 413
expect_json batch_over_limit_field '.error.field == "transactions"'

# ---- screening ----
call POST /v1/screenings "$CK" '{"name":"Huawei Technologies","country":"CN"}'
expect_status screening_200 200
expect_json screening_match '.outcome == "CONFIDENT_MATCH" and .matches[0].list_code == "EL" and (.audit_id | length > 0)'
cp "$TMPD/body" "$TMPD/screen1.json"
SID=$(jq -r .audit_id "$TMPD/screen1.json")
call GET "/v1/screenings/$SID" "$AK"
if cmp -s "$TMPD/body" "$TMPD/screen1.json"; then ok get_screening_identical; else
  notok get_screening_identical "differs"; fi
call GET "/v1/checks/$SID" "$AK"
expect_status screening_is_not_a_check_404 404
call POST /v1/screenings "$CK" '{"name":"Acme Widgets Incorporated"}'
expect_status screening_no_match_200 200
expect_json screening_no_match '.outcome == "NO_MATCH" and (.matches | length == 0)'
call POST /v1/screenings "$CK" '{"name":42}'
expect_status screening_wrong_type_400 400
expect_json screening_wrong_type_field '.error.field == "name"'
call POST /v1/screenings "$CK" '{"country":"CN"}'
expect_status screening_missing_name_400 400
call POST /v1/screenings "$CK" '{"name":"x","alias":"y"}'
expect_status screening_unknown_field_400 400
call POST /v1/screenings "$AK" '{"name":"x"}'
expect_status screening_auditor_403 403

# ---- audit search and export ----
call GET "/v1/audit" "$AK"
expect_status audit_200 200
# the four keys made with `acegate keys add` come first, as kind "key"
expect_json audit_records '(.records | length) == 10 and .next_cursor == null and ([.records[] | select(.kind == "key")] | length) == 4'
expect_json audit_key_records_first '.records[0:4] | all(.[]; .kind == "key" and .outcome == "key_added" and .key_id == "" and .decision.revoked == false)'
if grep -q 'agk_' "$TMPD/body"; then notok audit_key_records_no_secret "a key is in the log"; else ok audit_key_records_no_secret; fi
expect_json audit_record_fields '.records[4] | (.audit_id and .hash and .prev_hash and .request and .decision and .key_id and .client_addr == "127.0.0.1" and .rules_version and .lists_version)'
expect_json audit_chain_links '.records[1].prev_hash == .records[0].hash'
call GET "/v1/audit?destination=CN" "$AK"
expect_json audit_filter_destination '(.records | length) == 1 and .records[0].destination == "CN"'
call GET "/v1/audit?outcome=LICENSE_EXCEPTION_ACE&kind=check" "$AK"
expect_json audit_filter_outcome '(.records | length) == 2 and all(.records[]; .outcome == "LICENSE_EXCEPTION_ACE")'
call GET "/v1/audit?limit=2" "$AK"
expect_json audit_page_cursor '(.records | length) == 2 and (.next_cursor | length > 0)'
CUR=$(jq -r .next_cursor "$TMPD/body")
LAST=$(jq -r '.records[1].seq' "$TMPD/body")
call GET "/v1/audit?limit=2&cursor=$CUR" "$AK"
expect_json audit_next_page ".records[0].seq == $((LAST + 1))"
call GET "/v1/audit?from=2000-01-01&to=2000-01-02" "$AK"
expect_json audit_time_range_empty '(.records | length) == 0'
call GET "/v1/audit?from=yesterday" "$AK"
expect_status audit_bad_time_400 400
expect_json audit_bad_time_field '.error.field == "from"'
call GET "/v1/audit?colour=red" "$AK"
expect_status audit_unknown_param_400 400
expect_json audit_unknown_param_field '.error.field == "colour"'
call GET "/v1/audit?limit=0" "$AK"
expect_status audit_bad_limit_400 400
call GET "/v1/audit?cursor=zzz" "$AK"
expect_status audit_bad_cursor_400 400
call GET "/v1/audit/export?format=jsonl" "$AK"
expect_status export_200 200
expect_header export_content_type 'Content-Type: application/x-ndjson'
# the records, then the closing line
if [ "$(wc -l <"$TMPD/body")" -eq 11 ]; then ok export_lines; else notok export_lines "$(wc -l <"$TMPD/body") lines"; fi
expect_exit export_body_verifies 0 "$ACEGATE" audit verify --export "$TMPD/body"
call GET "/v1/audit/export" "$AK"
expect_header export_csv 'Content-Type: text/csv'
call GET "/v1/audit/export?format=xml" "$AK"
expect_status export_bad_format_400 400
call GET "/v1/audit/export?from=2030-01-01&to=2020-01-01" "$AK"
expect_status export_reversed_range_400 400
expect_json export_reversed_range_field '.error.field == "to"'
# an end before 1970 is refused, never read as the open end (0) that returns everything
call GET "/v1/audit?to=1969-12-31" "$AK"
expect_status audit_before_1970_400 400
call GET "/v1/audit/export?to=1969-12-31" "$AK"
expect_status export_before_1970_400 400
call GET "/v1/audit?as_of=2026-02-30" "$AK"
expect_status audit_impossible_as_of_400 400
expect_json audit_impossible_as_of_field '.error.field == "as_of"'
# a NUL in a batch is named in plain words, not in the JSON library's
call POST /v1/checks:batch "$CK" '{"transactions":[{"item":{"eccn":"4D004\u0000"},"destination":"BR"}]}'
expect_status batch_nul_400 400
expect_json batch_nul_message '(.error.message | test("u0000")) and (.error.message | test("JSON_") | not)'
# only the audit routes take query parameters
call POST "/v1/checks?foo=1" "$CK" "$TXN"
expect_status check_query_400 400
expect_json check_query_field '.error.field == "foo"'
call GET "/v1/rules?verbose=1" "$CK"
expect_status rules_query_400 400
call GET "/v1/audit?limit=1&limit=2" "$AK"
expect_status audit_param_twice_400 400
call GET "/v1/audit?limit=+5" "$AK"
expect_status audit_limit_sign_400 400
call GET "/v1/audit?from=2026-11-28%00junk" "$AK"
expect_status audit_nul_400 400
# the key goes in the Bearer scheme, nothing else
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: $CK" "$B/v1/rules")
expect_status bare_key_401 401
# JSON is UTF-8: a body declared in another charset is refused
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json; charset=latin1' --data-binary "$TXN" "$B/v1/checks")
expect_status latin1_415 415
STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json; charset=UTF-8' --data-binary "$TXN" "$B/v1/checks")
expect_status utf8_charset_200 200
call POST /v1/screenings "$CK" '{"name":"Hikvision","country":""}'
expect_status screening_empty_country_400 400
call GET /v1/checks "$CK"
expect_header wrong_method_allow_head_listed 'Allow: POST'
call POST /v1/rules "$CK" '{}'
expect_header allow_lists_head 'Allow: GET, HEAD'

# ---- data in force ----
call GET /v1/rules "$CK"
expect_status rules_200 200
expect_json rules_version ".version == \"$RULES_VERSION\" and .source == \"built-in\" and .tables.destinations > 100"
call GET /v1/lists "$AK"
expect_status lists_200 200
expect_json lists_version ".version == \"$LISTS_VERSION\" and (.lists | length > 0) and (.lists[0].sha256 | length == 64)"

# ---- key management ----
call POST /v1/keys "$ADM" '{"role":"checker","name":"made over http"}'
expect_status key_add_201 201
expect_json key_add_shape '.role == "checker" and (.key | test("^agk_")) and .revoked == null and (.audit_id | test("^a-"))'
NEWKEY=$(jq -r .key "$TMPD/body")
NEWID=$(jq -r .id "$TMPD/body")
ADDAUDIT=$(jq -r .audit_id "$TMPD/body")
ADMID=$(printf '%s' "$ADM" | cut -d_ -f2)
call POST /v1/checks "$NEWKEY" "$TXN"
expect_status new_key_works 200
call GET /v1/keys "$ADM"
expect_json key_list_has_new "any(.keys[]; .id == \"$NEWID\")"
call POST /v1/keys "$ADM" '{"role":"root"}'
expect_status key_add_bad_role_400 400
call DELETE "/v1/keys/$NEWID" "$ADM"
expect_status key_revoke_200 200
expect_json key_revoke_audit_id '.revoked == true and (.audit_id | test("^a-"))'
# revoking it again changes nothing and records nothing
call DELETE "/v1/keys/$NEWID" "$ADM"
expect_status key_revoke_again_200 200
expect_json key_revoke_again_no_record '.revoked == true and .already_revoked == true and .audit_id == null'
call GET "/v1/audit?kind=key&order=newest" "$AK"
expect_json key_changes_recorded "[.records[] | select(.decision.key_id == \"$NEWID\")] | length == 2"
expect_json key_add_record "any(.records[]; .audit_id == \"$ADDAUDIT\" and .outcome == \"key_added\" and .key_id == \"$ADMID\" and .client_addr == \"127.0.0.1\" and .request.action == \"add\" and .decision.role == \"checker\" and .decision.name == \"made over http\")"
expect_json key_revoke_record "any(.records[]; .outcome == \"key_revoked\" and .request.id == \"$NEWID\" and .key_id == \"$ADMID\" and .decision.revoked == true)"
if grep -qF "$NEWKEY" "$TMPD/body"; then notok key_secret_not_logged "the key is in the log"; else ok key_secret_not_logged; fi
call GET "/v1/audit?kind=keys" "$AK"
expect_status audit_bad_kind_400 400
call POST /v1/checks "$NEWKEY" "$TXN"
expect_status revoked_key_401_at_once 401
call DELETE /v1/keys/000000000000 "$ADM"
expect_status key_revoke_unknown_404 404

# ---- metrics ----
# GET and POST /v1/keys share a path: their series differ by method, so a
# scrape never holds the same series twice (Prometheus rejects that)
call GET /v1/keys ""
call POST /v1/keys "" '{"role":"checker"}'
call GET /metrics ""
dups=$(grep -v '^#' "$TMPD/body" | sed 's/ [^ ]*$//' | sort | uniq -d)
if [ -z "$dups" ]; then ok metrics_no_duplicate_series; else notok metrics_no_duplicate_series "$dups"; fi
expect_status metrics_200 200
expect_header metrics_content_type 'Content-Type: text/plain; version=0.0.4'
expect_grep metrics_requests 'acegate_http_requests_total{method="POST",route="/v1/checks",status="200"} [1-9]' "$TMPD/body"
expect_grep metrics_401 'acegate_http_requests_total{method="POST",route="/v1/checks",status="401"} 4' "$TMPD/body"
expect_grep metrics_histogram 'acegate_http_request_duration_seconds_bucket{method="POST",route="/v1/checks",status="200",le="+Inf"}' "$TMPD/body"
expect_grep metrics_decisions 'acegate_decisions_total{outcome="LICENSE_EXCEPTION_ACE"} [1-9]' "$TMPD/body"
expect_grep metrics_audit_latency 'acegate_audit_write_seconds_count [1-9]' "$TMPD/body"
expect_grep metrics_audit_commits 'acegate_audit_commits_total [1-9]' "$TMPD/body"

# ---- access log: one JSON line per request ----
grep '^{"time"' "$TMPD/srv.log" | grep -v '"event"' >"$TMPD/access.log"
if jq -e . "$TMPD/access.log" >/dev/null 2>&1; then ok access_log_is_json; else notok access_log_is_json "bad line"; fi
if jq -se "any(.[]; .audit_id == \"$ID1\" and .method == \"POST\" and .path == \"/v1/checks\" and .status == 200 and .duration_us >= 0 and (.key_id | length == 12) and .client == \"127.0.0.1\")" "$TMPD/access.log" >/dev/null; then
  ok access_log_check_line
else notok access_log_check_line "no line for $ID1"; fi

# ---- the log is intact, and the server is still up after all that ----
call GET /healthz ""
expect_status still_up 200
expect_exit audit_verify_while_running 0 "$ACEGATE" audit verify --db "$DB"

# ---- SIGTERM drains: a request in flight is answered, then a clean exit ----
{
  printf '{"item":{"eccn":"4D004"},"destination":"BR",'
  head -c 3000 /dev/zero | tr '\0' ' '
  printf '"as_of":"2026-11-24"}'
} >"$TMPD/slow.json"
curl -s -o "$TMPD/inflight.json" -w '%{http_code}' --limit-rate 1000 -X POST \
  -H "Authorization: Bearer $CK" -H 'Content-Type: application/json' \
  --data-binary "@$TMPD/slow.json" "$B/v1/checks" >"$TMPD/inflight.code" &
CURL_PID=$!
wait_inflight 2
kill -TERM "$SRV_PID"
until grep -q '"event":"draining"' "$TMPD/srv.log"; do kill -0 "$SRV_PID" 2>/dev/null || break; done
if curl -s -m 2 -o /dev/null "$B/healthz"; then notok drain_refuses_new "new connection accepted"; else ok drain_refuses_new; fi
wait "$CURL_PID"
if [ "$(cat "$TMPD/inflight.code")" = 200 ] && jq -e '.audit_id' "$TMPD/inflight.json" >/dev/null 2>&1; then
  ok drain_answers_inflight
else notok drain_answers_inflight "code $(cat "$TMPD/inflight.code")"; fi
wait "$SRV_PID"
rc=$?
SRV_PID=""
if [ "$rc" -eq 0 ]; then ok sigterm_exit_0; else notok sigterm_exit_0 "exit $rc"; fi
expect_grep sigterm_logged_drained '"event":"stopped","drained":true' "$TMPD/srv.log"
INFLIGHT_ID=$(jq -r .audit_id "$TMPD/inflight.json")
expect_exit inflight_recorded 0 "$ACEGATE" audit get "$INFLIGHT_ID" --db "$DB"
expect_exit verify_after_sigterm 0 "$ACEGATE" audit verify --db "$DB"

# ---- SIGHUP: reload; a bad table or list is rejected and the old data stays ----
cp -r data/rules "$TMPD/rules"
cp "$LISTS" "$TMPD/lists-good.csv"
start_server --rules "$TMPD/rules"
call GET /v1/rules "$CK"
V1=$(jq -r .version "$TMPD/body")
expect_json rules_from_dir ".source == \"$TMPD/rules\""
cp "$TMPD/rules/destinations.tsv" "$TMPD/destinations.good"
printf 'this line is not a destination row\n' >>"$TMPD/rules/destinations.tsv"
kill -HUP "$SRV_PID"
i=0
while [ $i -lt 50 ] && ! grep -q '"event":"reload_failed"' "$TMPD/srv.log"; do sleep 0.1; i=$((i + 1)); done
expect_grep sighup_bad_rules_rejected '"event":"reload_failed".*destinations.tsv' "$TMPD/srv.log"
call POST /v1/checks "$CK" "$TXN"
expect_status sighup_bad_rules_still_serving 200
expect_json sighup_bad_rules_old_version ".rules_version == \"$V1\""
call GET /readyz ""
expect_status sighup_bad_rules_still_ready 200
cp "$TMPD/destinations.good" "$TMPD/rules/destinations.tsv"
printf 'not,a list\n"unterminated\n' >"$LISTS"
kill -HUP "$SRV_PID"
i=0
while [ $i -lt 50 ] && [ "$(grep -c '"event":"reload_failed"' "$TMPD/srv.log")" -lt 2 ]; do sleep 0.1; i=$((i + 1)); done
if [ "$(grep -c '"event":"reload_failed"' "$TMPD/srv.log")" -eq 2 ]; then ok sighup_bad_list_rejected; else
  notok sighup_bad_list_rejected "no second reload_failed"; fi
call POST /v1/screenings "$CK" '{"name":"Huawei Technologies","country":"CN"}'
expect_json sighup_bad_list_old_lists_in_force '.outcome == "CONFIDENT_MATCH"'
cp "$TMPD/lists-good.csv" "$LISTS"
kill -HUP "$SRV_PID"
i=0
while [ $i -lt 50 ] && ! grep -q '"event":"reloaded"' "$TMPD/srv.log"; do sleep 0.1; i=$((i + 1)); done
expect_grep sighup_good_reload '"event":"reloaded"' "$TMPD/srv.log"
call POST /v1/admin/reload "$ADM" '{}'
expect_status admin_reload_200 200
expect_json admin_reload_versions ".rules_version == \"$V1\""
call POST /v1/admin/reload "$CK" '{}'
expect_status admin_reload_checker_403 403
call POST /v1/admin/reload "$ADM" '{"rules":"/tmp"}'
expect_status admin_reload_body_400 400
# requests during a burst of reloads are all answered
i=0
fails=0
while [ $i -lt 20 ]; do
  kill -HUP "$SRV_PID"
  call POST /v1/checks "$CK" "$TXN"
  [ "$STATUS" = 200 ] || fails=$((fails + 1))
  i=$((i + 1))
done
if [ "$fails" -eq 0 ]; then ok reloads_drop_no_request; else notok reloads_drop_no_request "$fails failed"; fi
stop_server
if [ "$SRV_RC" -eq 0 ]; then ok reload_server_exit_0; else notok reload_server_exit_0 "exit $SRV_RC"; fi

# ---- limits: rate limit per key, body size, slow clients ----
# a refill every 20 s: the six calls below cannot earn one however loaded the machine is
start_server --rate-limit 0.05 --rate-burst 2 --max-body 2048 --timeout 2 --access-log off
n429=0
i=0
while [ $i -lt 6 ]; do
  call POST /v1/checks "$CK" "$TXN"
  [ "$STATUS" = 429 ] && n429=$((n429 + 1)) && cp "$TMPD/hdr" "$TMPD/hdr429"
  i=$((i + 1))
done
if [ "$n429" -ge 3 ]; then ok rate_limit_429; else notok rate_limit_429 "$n429 of 6 were 429"; fi
if grep -qi '^Retry-After: [1-9]' "$TMPD/hdr429" 2>/dev/null; then ok rate_limit_retry_after; else
  notok rate_limit_retry_after "no Retry-After"; fi
# refused from the headers, a request with a small body keeps its connection: the body is read
# and dropped before the answer, so a rate-limited client need not reconnect for each try
if grep -qi '^Connection: close' "$TMPD/hdr429" 2>/dev/null; then notok rate_limit_keeps_connection "Connection: close"; else
  ok rate_limit_keeps_connection; fi
call GET /v1/rules ""
expect_status no_key_401 401
if grep -qi '^Connection: close' "$TMPD/hdr"; then notok no_key_keeps_connection "Connection: close"; else
  ok no_key_keeps_connection; fi
call POST /v1/checks "$CK2" "$TXN"
expect_status rate_limit_is_per_key 200
head -c 3000 "$TMPD/batch1001.json" >"$TMPD/b3000.json"
call POST /v1/checks:batch "$CK2" "@$TMPD/b3000.json"
expect_status max_body_413 413
# a chunked body over the limit has no length to refuse it by: read to its end, then 413
# (with a key whose rate limit is untouched: no waiting for a refill)
curl -s -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
  -H 'Transfer-Encoding: chunked' --data-binary "@$TMPD/b3000.json" "$B/v1/checks:batch" >"$TMPD/code" 2>/dev/null
if [ "$(cat "$TMPD/code")" = 413 ]; then ok chunked_body_413; else notok chunked_body_413 "status $(cat "$TMPD/code")"; fi
# framing that could be read two ways (request smuggling, RFC 9112 6.3) is 400 and the
# connection is closed, so nothing after it is read as another request. (Nothing is sent
# after the headers the server refuses: unread data would turn its close into a reset.)
raw() { # REQUEST: sent raw over one connection, the answer in $TMPD/raw
  bash -c 'exec 3<>/dev/tcp/127.0.0.1/'"$PORT"'; printf "%b" "$1" >&3; timeout 3 cat <&3' _ "$1" >"$TMPD/raw" 2>/dev/null
}
RAWH="POST /v1/checks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer $CK2\r\nContent-Type: application/json\r\n"
raw "${RAWH}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
expect_grep smuggle_cl_te_400 '"field":"transfer-encoding"' "$TMPD/raw"
expect_grep smuggle_cl_te_closed '^Connection: close' "$TMPD/raw"
raw "${RAWH}Content-Length: 2\r\nContent-Length: 3\r\n\r\n"
expect_grep smuggle_two_lengths_400 '"field":"content-length"' "$TMPD/raw"
raw "${RAWH}Transfer-Encoding: gzip, chunked\r\n\r\n"
expect_grep coding_not_chunked_400 'Transfer-Encoding other than chunked' "$TMPD/raw"
# a client sending its body slower than the timeout allows is cut off...
curl -s -o /dev/null -w '%{http_code}' --limit-rate 200 -X POST -H "Authorization: Bearer $AK" \
  -H 'Content-Type: application/json' --data-binary "@$TMPD/slow.json" "$B/v1/screenings" \
  >"$TMPD/slow.code" 2>/dev/null &
SLOW_PID=$!
wait_inflight 2
# ...while everyone else is served
call GET /healthz ""
expect_status slow_client_others_served 200
wait "$SLOW_PID"
if [ "$(cat "$TMPD/slow.code")" = 200 ]; then notok slow_client_cut_off "answered 200"; else ok slow_client_cut_off; fi
call GET /healthz ""
expect_status slow_client_server_up 200
stop_server

# ---- an audit log that cannot be made durable ----
# The write-ahead log deleted under the running server: its fsync fails, so
# the check is refused (503) rather than answered without a durable record,
# and so is every later one; the server stays up and is no longer ready.
FDB="$TMPD/failing.db"
SRV_DB="$FDB"
start_server --keys-db "$DB"
SRV_DB=
call POST /v1/checks "$CK" "$TXN"
expect_status failing_log_first_check_ok 200
rm -f "$FDB-wal"
# a new connection (a reader here) makes a new, empty WAL under the old name:
# the writer's frames are still in the deleted one, so that must not pass
"$ACEGATE" audit verify --db "$FDB" >/dev/null 2>&1
call POST /v1/checks "$CK" "$TXN"
expect_status failing_log_check_refused 503
expect_json failing_log_error '.error.code == "audit_unavailable" and (.error.message | test("write-ahead log"))'
call POST /v1/checks "$CK" "$TXN"
expect_json failing_log_stays_refused '.error.code == "audit_unavailable" and (.error.message | test("reopen"))'
call GET /readyz ""
expect_status failing_log_not_ready 503
expect_grep failing_log_readyz_reason 'audit_log_failing' "$TMPD/body"
call GET /healthz ""
expect_status failing_log_server_up 200
stop_server

# ---- startup errors ----
expect_exit serve_bad_option 2 "$ACEGATE" serve --bogus 1
expect_exit serve_bad_listen 2 "$ACEGATE" serve --listen nonsense --db "$DB" --lists "$LISTS"
expect_exit serve_memory_needs_keys_db 2 "$ACEGATE" serve --db :memory:
expect_exit serve_bad_rules_dir 4 "$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB" --lists "$LISTS" --rules "$TMPD/nonexistent"
expect_exit serve_help 0 "$ACEGATE" serve --help
expect_grep serve_help_mentions_sighup 'SIGHUP' "$TMPD/out"

# ---- no sanitizer report from any server run ----
cat "$TMPD/srv.log" >>"$TMPD/all-srv.log"
expect_nogrep server_no_sanitizer_report 'Sanitizer\|runtime error' "$TMPD/all-srv.log"
