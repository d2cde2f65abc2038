#!/bin/sh
# test_classify_record.sh - classifications as audit records: POST
# /v1/classifications (roles, bad bodies named by field, the record in the
# same hash chain, read back by id) and `acegate classify --db`.
. "$(dirname "$0")/lib.sh"
plan 31

DB="$TMPD/audit.db"
key() { "$ACEGATE" keys add --role "$1" --db "$DB" --name "$2" 2>/dev/null | tail -n 1; }
CK=$(key checker "test checker")
AK=$(key auditor "test auditor")

serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists

# call METHOD PATH KEY [BODY]: body to $TMPD/body, status in $STATUS
call() {
  if [ $# -ge 4 ]; then
    STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" \
      -H 'Content-Type: application/json' --data-binary "$4" "$B$2")
  else
    STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $3" "$B$2")
  fi
}
expect_status() {
  if [ "$STATUS" = "$2" ]; then echo "ok $1"; else
    echo "not ok $1: status $STATUS, wanted $2"; head -c 300 "$TMPD/body" | sed 's/^/  | /'; echo; fi
}
expect_json() {
  if jq -e "$2" "$TMPD/body" >/dev/null 2>&1; then echo "ok $1"; else
    echo "not ok $1: $2"; head -c 300 "$TMPD/body" | sed 's/^/  | /'; echo; fi
}

# The command-and-control framework of tests/classify: 4D004 ("intrusion
# software" command and control, 4D004.a/.b criteria all met).
C2=$(jq -c '{answers: ., as_of: "2026-08-01", ref: "PO-17"}' tests/classify/c2-framework.json)
DBG=$(jq -c '{answers: ., as_of: "2026-08-01"}' tests/classify/debugger.json)

# ---- roles: whoever may check may classify ----
call POST /v1/classifications "" "$C2"
expect_status "no key: 401" 401
call POST /v1/classifications "$AK" "$C2"
expect_status "auditor may not classify: 403" 403
call POST /v1/classifications "$CK" "$C2"
expect_status "checker classifies: 200" 200
expect_json "c2 framework: 4D004, a cybersecurity item" \
  '.status == "classified" and [.candidates[].eccn] == ["4D004"] and .cybersecurity_item == true'
expect_json "answer carries audit id, ref and rules version" \
  '(.audit_id | test("^a-")) and .ref == "PO-17" and (.rules_version | length > 0)'
C2_ID=$(jq -r .audit_id "$TMPD/body")
cp "$TMPD/body" "$TMPD/c2.json"

# ---- the CLI gives the same answer for the same request ----
"$ACEGATE" classify --answers tests/classify/c2-framework.json --as-of 2026-08-01 --json \
  --db "$TMPD/cli.db" >"$TMPD/cli.json"
if [ "$(jq -c 'del(.audit_id, .ref)' "$TMPD/cli.json")" = "$(jq -c 'del(.audit_id, .ref)' "$TMPD/c2.json")" ]; then
  echo "ok CLI and HTTP answer alike"
else echo "not ok CLI and HTTP answer alike"; fi

# ---- read back: the very bytes stored ----
call GET "/v1/classifications/$C2_ID" "$CK"
expect_status "GET by id: 200" 200
if cmp -s "$TMPD/body" "$TMPD/c2.json"; then echo "ok GET returns the stored answer"; else
  echo "not ok GET returns the stored answer"; fi
call GET "/v1/checks/$C2_ID" "$CK"
expect_status "not a check: 404" 404
call GET "/v1/audit?kind=classification" "$AK"
expect_json "audit search by kind" \
  "[.records[] | select(.audit_id == \"$C2_ID\")] | length == 1 and .[0].outcome == \"classified\" and .[0].eccn == \"4D004\" and .[0].as_of == \"2026-08-01\""

# ---- the debugger note takes the item out ----
call POST /v1/classifications "$CK" "$DBG"
expect_json "debugger: not controlled, no candidates" '.status == "not_controlled" and .candidates == []'

# ---- bad bodies: 400 naming the field, nothing recorded ----
bad() { # NAME BODY FIELD
  call POST /v1/classifications "$CK" "$2"
  if [ "$STATUS" = 400 ] && jq -e --arg f "$3" '.error.field == $f' "$TMPD/body" >/dev/null 2>&1; then
    echo "ok bad body: $1"
  else echo "not ok bad body: $1: status $STATUS $(head -c 200 "$TMPD/body")"; fi
}
bad "answers missing" '{"as_of":"2026-08-01"}' answers
bad "answers not an object" '{"answers":[true]}' answers
bad "unknown question" '{"answers":{"Q99":true}}' answers.Q99
bad "a result is not a question" '{"answers":{"4D004":true}}' answers.4D004
bad "answer not three-valued" '{"answers":{"IS1":"yes"}}' answers.IS1
bad "bad date" '{"answers":{},"as_of":"2026-13-01"}' as_of
bad "unknown field" '{"answers":{},"eccn":"4D004"}' eccn
bad "empty ref" '{"answers":{},"ref":""}' ref
call POST /v1/classifications "$CK" '{"answers":'
expect_status "malformed JSON: 400" 400
kill -TERM "$SRV_PID"
wait "$SRV_PID"
SRV_PID=""

# ---- the log: two classifications, none for the refused bodies, chain intact ----
"$ACEGATE" audit verify --db "$DB" >"$TMPD/verify" 2>&1 && echo "ok audit verify: intact" ||
  { echo "not ok audit verify: intact"; sed 's/^/  | /' "$TMPD/verify"; }
"$ACEGATE" audit export --from 2000-01-01 --to 2100-01-01 --format jsonl --db "$DB" >"$TMPD/exp"
n=$(jq -s '[.[] | select(.kind == "classification")] | length' "$TMPD/exp")
[ "$n" = 2 ] && echo "ok two classification records" || echo "not ok two classification records: $n"
jq -s -e "any(.[]; .audit_id == \"$C2_ID\" and (.request | if type == \"string\" then fromjson else . end).ref == \"PO-17\")" "$TMPD/exp" >/dev/null &&
  echo "ok record holds the request" || echo "not ok record holds the request"

# ---- acegate classify --db records, as check and screen do ----
expect_exit "classify --db: exit 0" 0 $ACEGATE classify --answers tests/classify/debugger.json --db "$TMPD/cli2.db"
expect_grep "text output names the audit id" "^audit id: a-" "$TMPD/out"
ID=$(sed -n 's/^audit id: //p' "$TMPD/out")
expect_exit "audit get finds it" 0 $ACEGATE audit get "$ID" --db "$TMPD/cli2.db"
expect_grep "recorded as not controlled" '"status":"not_controlled"' "$TMPD/out"
expect_exit "verify the CLI log" 0 $ACEGATE audit verify --db "$TMPD/cli2.db"
# the default database, as check uses it
expect_exit "classify records in the default log" 0 $ACEGATE classify --answers tests/classify/debugger.json --json
expect_exit "found in the default log" 0 $ACEGATE audit get "$(jq -r .audit_id "$TMPD/out")"
# a bad answer file records nothing (the log is not even needed)
expect_exit "bad answers: exit 2" 2 $ACEGATE classify --answers /dev/null --db "$TMPD/cli3.db"
