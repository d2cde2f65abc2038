#!/bin/sh
# test_due_diligence.sh - due-diligence answers in a determination
# (docs/due-diligence.md): acegate check --due-diligence and --policy, the
# same answers in JSON input and batches, the stored audit record, errors
# naming the field, and the service (POST /v1/checks with a --policy).
# Expected outcomes follow Supp. No. 3 to part 732 (a)(2) (a red flag:
# inquire, REVIEW), 740.22(c)(2) with 772.1 "knowledge", and the voluntary
# State Department guidance (recorded; REVIEW only by company policy).
. "$(dirname "$0")/lib.sh"
plan 58
jqok() { # jqok NAME FILTER: the filter holds on $TMPD/out
  if jq -e "$2" "$TMPD/out" >/dev/null 2>&1; then echo "ok $1"; else
    echo "not ok $1: jq '$2' failed"; head -c 400 "$TMPD/out" | sed 's/^/  | /'; echo; fi
}
DB="$TMPD/audit.db"
C="$ACEGATE check --db $DB --no-screen --as-of 2026-11-24"

# ---- --due-diligence ----
echo '{"answers": {"RF02": true}}' >"$TMPD/rf02.json"
expect_exit "dd: RF02 raised" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/rf02.json" --json
# 4D004 to Brazil is ACE without the flag; a raised, unresolved red flag asks for inquiry
jqok "dd: RF02 unresolved is REVIEW by Supp. No. 3 (a)(2)" \
  '.outcome == "REVIEW" and .decided_by == "Supp. No. 3 to part 732(a)(2)" and .ace.available == true'
jqok "dd: red_flags lists RF02" \
  '.red_flags | length == 1 and .[0].id == "RF02" and .[0].answer == true and .[0].resolved == false and .[0].provenance == "verbatim" and (.[0].source | test("Red Flag Indicators")) and (.[0].question | length > 10) and .[0].resolution == null'
jqok "dd: the trace cites Supp. No. 3 and 740.22(c)(2)" \
  '[.trace[] | select(.step == "due_diligence")][0] | (.cite == "Supp. No. 3 to part 732(a)(2)") and (.text | test("740.22\\(c\\)\\(2\\)"))'
ID=$(jq -r .audit_id "$TMPD/out")
expect_exit "dd: the stored decision" 0 $ACEGATE audit get "$ID" --db "$DB"
jqok "dd: red_flags are in the stored decision" '.red_flags[0].id == "RF02" and .outcome == "REVIEW"'
expect_exit "dd: the stored request" 0 $ACEGATE audit get "$ID" --request --db "$DB"
jqok "dd: the answers are in the stored request" '.due_diligence.answers.RF02 == true'

echo '{"answers": {"RF02": true}, "resolved": {"RF02": "Signed end-use statement received 2026-11-20."}}' >"$TMPD/rf02r.json"
expect_exit "dd: RF02 resolved" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/rf02r.json" --json
jqok "dd: a resolved flag clears: ACE" \
  '.outcome == "LICENSE_EXCEPTION_ACE" and .red_flags[0].resolved == true and (.red_flags[0].resolution | test("Signed")) and .red_flags[0].effect == "resolved"'

echo '{"answers": {"CF01": false, "CF06": true}}' >"$TMPD/knows.json"
expect_exit "dd: knowledge" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/knows.json" --json
jqok "dd: CF01 false with CF06 true blocks ACE by 740.22(c)(2)" \
  '.outcome == "LICENSE_REQUIRED" and .decided_by == "740.22(c)(2)" and .ace.blocked_by == ["740.22(c)(2)"]'
expect_exit "dd: knows_unauthorized_use" 0 $C --eccn 4D004 --to BR --knows-unauthorized-use --json
jqok "dd: the same as --knows-unauthorized-use" \
  '.outcome == "LICENSE_REQUIRED" and .decided_by == "740.22(c)(2)"'

expect_exit "dd: readable output" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/rf02.json"
expect_grep "dd: readable output names the flag" "RF02" "$TMPD/out"
expect_grep "dd: readable output starts with REVIEW" "^REVIEW" "$TMPD/out"
expect_grep "dd: readable output lists the flag" "red flags: RF02 (review)" "$TMPD/out"

# ---- --policy ----
echo '{"answers": {"SG-RF1": true}}' >"$TMPD/sg.json"
expect_exit "dd: State guidance without policy" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/sg.json" --json
jqok "dd: a State guidance flag is recorded, ACE stands" \
  '.outcome == "LICENSE_EXCEPTION_ACE" and .red_flags[0].effect == "recorded" and .red_flags[0].class == "human_rights"'
printf '# our policy\nreview SG-RF1 SG-RF2  # red flags of the State guidance\n\nreview SG-C2a\n' >"$TMPD/policy"
expect_exit "dd: --policy" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/sg.json" --policy "$TMPD/policy" --json
jqok "dd: the policy makes it REVIEW, on reconstructed text" \
  '.outcome == "REVIEW" and .decided_by == "due-diligence policy" and .red_flags[0].effect == "policy_review" and .red_flags_reconstructed == true'
expect_exit "dd: --policy, readable" 0 $C --eccn 4D004 --to BR --due-diligence "$TMPD/sg.json" --policy "$TMPD/policy"
expect_grep "dd: readable output says reconstructed" "note: rests on a due-diligence question held as reconstructed text" "$TMPD/out"
expect_exit "dd: --policy, nothing raised" 0 $C --eccn 4D004 --to BR --policy "$TMPD/policy" --json
jqok "dd: a policy alone changes nothing" '.outcome == "LICENSE_EXCEPTION_ACE" and (has("red_flags") | not)'
printf 'review SG-RF9\n' >"$TMPD/badpolicy"
expect_exit "dd: --policy unknown id exits 2" 2 $C --eccn 4D004 --to BR --policy "$TMPD/badpolicy"
expect_grep "dd: --policy error names file and line" "badpolicy:1: 'SG-RF9' is not a question" "$TMPD/err"
printf 'review SG-RF1\nblock RF02\n' >"$TMPD/badpolicy2"
expect_exit "dd: --policy unknown directive exits 2" 2 $C --eccn 4D004 --to BR --policy "$TMPD/badpolicy2"
expect_grep "dd: --policy directive error names line 2" "badpolicy2:2: 'block' is not a directive" "$TMPD/err"
# README, exit codes: 4 "a file, stream or database failed"; a missing file is one
expect_exit "dd: --policy missing file exits 4" 4 $C --eccn 4D004 --to BR --policy "$TMPD/none"
expect_grep "dd: --policy missing file named" "none: cannot open" "$TMPD/err"
expect_exit "dd: serve --policy missing file exits 4" 4 $ACEGATE serve --listen 127.0.0.1:0 --db "$TMPD/serve-none.db" --no-lists --policy "$TMPD/none"
expect_exit "dd: --policy directory exits 4" 4 $C --eccn 4D004 --to BR --policy "$TMPD"

# ---- errors name the field ----
echo '{"answers": {"RF99": true}}' >"$TMPD/e1.json"
expect_exit "dd: unknown id exits 2" 2 $C --eccn 4D004 --to BR --due-diligence "$TMPD/e1.json"
expect_grep "dd: unknown id named" 'due_diligence.answers.RF99 (--due-diligence): "RF99" is not a due-diligence question' "$TMPD/err"
echo '{"answers": {"RF02": "yes"}}' >"$TMPD/e2.json"
expect_exit "dd: wrong answer exits 2" 2 $C --eccn 4D004 --to BR --due-diligence "$TMPD/e2.json"
expect_grep "dd: wrong answer named" 'due_diligence.answers.RF02 (--due-diligence): "yes" is not an answer' "$TMPD/err"
echo '{"answers": {"RF02": false}, "resolved": {"RF02": "checked"}}' >"$TMPD/e3.json"
expect_exit "dd: resolving no flag exits 2" 2 $C --eccn 4D004 --to BR --due-diligence "$TMPD/e3.json"
expect_grep "dd: resolving no flag named" 'due_diligence.resolved.RF02 (--due-diligence): the answer false raises no flag' "$TMPD/err"
echo '{"answers": {"RF02": true}, "resolved": {"RF02": "  "}}' >"$TMPD/e4.json"
expect_exit "dd: empty note exits 2" 2 $C --eccn 4D004 --to BR --due-diligence "$TMPD/e4.json"
expect_grep "dd: empty note named" 'due_diligence.resolved.RF02 (--due-diligence): must not be empty' "$TMPD/err"
echo '{"answers": {"RF02": true, "RF02": false}}' >"$TMPD/e5.json"
expect_exit "dd: duplicate key in the file exits 2" 2 $C --eccn 4D004 --to BR --due-diligence "$TMPD/e5.json"
echo '{"answers": {"CF01": false}}' >"$TMPD/e6.json"
expect_exit "dd: CF01 before 740.22 exits 2" 2 $ACEGATE check --db "$DB" --no-screen --as-of 2021-06-01 --eccn 4D004 --to BR --due-diligence "$TMPD/e6.json"
expect_grep "dd: CF01 dated" 'CF01 is not asked before 2022-03-07' "$TMPD/err"
expect_exit "dd: --due-diligence with - exits 2" 2 sh -c "echo '{}' | $C - --due-diligence $TMPD/rf02.json"
expect_exit "dd: --due-diligence missing file exits 4" 4 $C --eccn 4D004 --to BR --due-diligence "$TMPD/none.json"
expect_grep "dd: --due-diligence missing file named" "none.json: cannot open" "$TMPD/err"
expect_exit "dd: --due-diligence directory exits 4" 4 $C --eccn 4D004 --to BR --due-diligence "$TMPD"

# ---- JSON input and batches take the same field ----
printf '%s\n' \
  '{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"BR","due_diligence":{"answers":{"RF05":true}}}' \
  '{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"BR","due_diligence":{"answers":{"SG-RF2":true}}}' \
  '{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"BR","due_diligence":{"answers":{"XX1":true}}}' \
  >"$TMPD/batch.jsonl"
expect_exit "dd: batch with a bad line exits 2" 2 sh -c "$ACEGATE check --db $DB --no-screen --batch --policy $TMPD/policy < $TMPD/batch.jsonl"
jq -s -e '.[0].outcome == "REVIEW" and .[1].decided_by == "due-diligence policy" and .[2].error.field == "due_diligence.answers.XX1"' "$TMPD/out" >/dev/null \
  && echo "ok dd: batch lines decided under the policy, the bad one named" || echo "not ok dd: batch lines decided under the policy, the bad one named"

# ---- the service ----
KEY=$("$ACEGATE" keys add --role checker --db "$DB" --name "dd checker" 2>/dev/null | tail -n 1)
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --policy "$TMPD/policy" --access-log off
if [ -n "$PORT" ]; then
  STATUS=$(curl -s -o "$TMPD/out" -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' \
    --data-binary '{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"BR","due_diligence":{"answers":{"SG-RF1":true,"RF08":true},"resolved":{"RF08":"Support declined because the customer runs its own SOC."}}}' \
    "$B/v1/checks")
  [ "$STATUS" = 200 ] && echo "ok dd: service answers 200" || echo "not ok dd: service answers 200: $STATUS"
  jqok "dd: service applies the policy and lists the flags" \
    '.outcome == "REVIEW" and .decided_by == "due-diligence policy" and ([.red_flags[].id] == ["RF08","SG-RF1"]) and .red_flags[0].effect == "resolved"'
  ID=$(jq -r .audit_id "$TMPD/out")
  curl -s -o "$TMPD/out" -H "Authorization: Bearer $KEY" "$B/v1/checks/$ID"
  jqok "dd: service record holds red_flags" '.red_flags[1].id == "SG-RF1" and .red_flags[1].effect == "policy_review"'
  STATUS=$(curl -s -o "$TMPD/out" -w '%{http_code}' -X POST -H "Authorization: Bearer $KEY" \
    -H 'Content-Type: application/json' \
    --data-binary '{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"BR","due_diligence":{"answers":{"CF01":3}}}' \
    "$B/v1/checks")
  [ "$STATUS" = 400 ] && echo "ok dd: service rejects a bad answer with 400" || echo "not ok dd: service rejects a bad answer with 400: $STATUS"
  jqok "dd: service error names the field" '.error.field == "due_diligence.answers.CF01"'
  serve_stop
else
  echo "not ok dd: service starts"
  sed 's/^/  | /' "$TMPD/srv.log" | head -5
fi
"$ACEGATE" serve --listen 127.0.0.1:0 --db "$TMPD/other.db" --keys-db "$DB" --no-lists --policy "$TMPD/badpolicy" --access-log off >"$TMPD/out" 2>"$TMPD/err"
[ $? -ne 0 ] && echo "ok dd: serve refuses a bad policy" || echo "not ok dd: serve refuses a bad policy"
expect_grep "dd: serve names the policy line" "badpolicy:1" "$TMPD/err"
