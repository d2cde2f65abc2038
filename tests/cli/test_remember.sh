#!/bin/sh
# test_remember.sh - remembered review decisions (docs/review.md,
# "Remembered decisions"): a clearance of party P against entry E applies by
# itself to later checks and screenings of the same normalised name and
# country, citing the clearance; a changed entry, an expired clearance or a
# revocation brings the hit back; a confirmation keeps the party matched
# whatever the score; the service applies a review at once and lists them.
. "$(dirname "$0")/lib.sh"
plan 62
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
  rm -rf "$TMPD"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 400 "$3")"; fi
}
FX="$(dirname "$0")/../screen/fixtures"
EL="$FX/remember-el.csv"
CHANGED="$FX/remember-el-changed.csv"
DB="$TMPD/audit.db"
P="Zeltronic Surveillance" # a possible match of "Zeltronic Surveillance Systems" (MT)
check() { "$ACEGATE" check --eccn 4D004 --to MT --end-user "$P" --db "$DB" --json "$@"; }

# Malta is in Country Group A:6 and no D group: 4D004 goes under ACE unless
# the end user is listed; a possible Entity List match makes it REVIEW.
expect_exit first_check 0 check --lists "$EL"
jqok first_check_review '.outcome == "REVIEW" and .screening[0].matches[0].level == "possible"
  and (.screening[0].matches[0].entry_hash | test("^[0-9a-f]{32}$"))' "$TMPD/out"
ID1=$(jq -r .audit_id "$TMPD/out")
SID=$(jq -r '.screening[0].matches[0].source_id' "$TMPD/out")
expect_exit clear 0 "$ACEGATE" review add "$ID1" --decision cleared \
  --note "a camera shop in Sliema, not the listed company" --entry "$SID" --db "$DB"
jqok clear_remembers ".remembered[0].party == {\"name\":\"$P\",\"normalized\":\"zeltronic surveillance\",\"country\":\"MT\"}
  and .remembered[0].entry.source_id == \"$SID\"" "$TMPD/out"
R1=$(jq -r .audit_id "$TMPD/out")

# ---- the clearance applies: the REVIEW it caused goes away ----
expect_exit cleared_check 0 check --lists "$EL"
jqok cleared_outcome '.outcome == "LICENSE_EXCEPTION_ACE"' "$TMPD/out"
jqok cleared_candidate ".screening[0].matches[0].remembered.audit_id == \"$R1\"
  and .screening[0].matches[0].remembered.decision == \"cleared\"
  and (.screening[0].matches[0].remembered.date | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}$\"))" "$TMPD/out"
jqok cleared_trace "[.trace[] | select(.step == \"screening\")][0] | .result == \"pass\"
  and .remembered.audit_id == \"$R1\" and (.text | contains(\"cleared by review $R1\"))
  and (.cite | contains(\"part 732\"))" "$TMPD/out"
# the same name written otherwise normalises to the same words
expect_exit cleared_case 0 "$ACEGATE" check --eccn 4D004 --to MT --end-user "ZELTRONIC  surveillance" \
  --lists "$EL" --db "$DB" --json
jqok cleared_case_outcome '.outcome == "LICENSE_EXCEPTION_ACE"' "$TMPD/out"
# without a country it is another party: still a possible match for a person
expect_exit other_country 0 "$ACEGATE" screen "$P" --lists "$EL" --db "$DB" --json
jqok other_country_review '.outcome == "POSSIBLE_MATCH" and .matches[0].remembered == null' "$TMPD/out"
# a screening of the party: the cleared match is shown, it decides nothing
expect_exit cleared_screen 0 "$ACEGATE" screen "$P" --country MT --lists "$EL" --db "$DB" --json
jqok cleared_screen_outcome ".outcome == \"NO_MATCH\" and .matches[0].remembered.audit_id == \"$R1\"" "$TMPD/out"
# nothing the clearance decided waits in the queue
"$ACEGATE" review queue --db "$DB" >"$TMPD/q"
jqok queue_only_other_country '[.items[].kind] == ["screening"]' "$TMPD/q"

# ---- a changed entry, or an expired clearance, brings the hit back ----
expect_exit changed_check 0 check --lists "$CHANGED"
jqok changed_review '.outcome == "REVIEW" and .screening[0].matches[0].remembered == null' "$TMPD/out"
expect_exit expired_check 0 check --lists "$EL" --remember-max-age 0
jqok expired_review '.outcome == "REVIEW"' "$TMPD/out"
expect_exit still_young 0 check --lists "$EL" --remember-max-age 1
jqok still_young_ace '.outcome == "LICENSE_EXCEPTION_ACE"' "$TMPD/out"
# the age is counted to the day the check is made as of, not to the clock:
# a clearance made on day D applies as of D + max age - 1 and no longer as
# of D + max age (the "expires" date the listing shows)
"$ACEGATE" review remembered --lists "$EL" --db "$DB" >"$TMPD/rm"
CLEARED_ON=$(jq -r '.items[0].date' "$TMPD/rm")
day() { date -u -d "$CLEARED_ON + $1 days" +%F; }
expect_exit as_of_last_day 0 check --lists "$EL" --as-of "$(day 364)"
jqok as_of_last_day_applies ".as_of == \"$(day 364)\" and .outcome == \"LICENSE_EXCEPTION_ACE\"
  and .screening[0].matches[0].remembered.audit_id == \"$R1\"" "$TMPD/out"
expect_exit as_of_expired 0 check --lists "$EL" --as-of "$(day 365)"
jqok as_of_expired_review '.outcome == "REVIEW" and .screening[0].matches[0].remembered == null' "$TMPD/out"
jqok as_of_expires_listed ".items[0].expires == \"$(day 365)\"" "$TMPD/rm"
expect_exit as_of_short_age 0 check --lists "$EL" --as-of "$(day 29)" --remember-max-age 30
jqok as_of_short_age_applies '.outcome == "LICENSE_EXCEPTION_ACE"' "$TMPD/out"
expect_exit as_of_short_age_over 0 check --lists "$EL" --as-of "$(day 30)" --remember-max-age 30
jqok as_of_short_age_over_review '.outcome == "REVIEW"' "$TMPD/out"
expect_exit listed_changed 0 "$ACEGATE" review remembered --lists "$CHANGED" --db "$DB"
jqok listed_changed_state ".items[0].audit_id == \"$R1\" and .items[0].state == \"entry_changed\"" "$TMPD/out"
expect_exit listed_active 0 "$ACEGATE" review remembered --lists "$EL" --db "$DB"
jqok listed_active_state ".items[0].state == \"active\" and .items[0].party.country == \"MT\"
  and .items[0].entry.hash == (.items[0].entry.hash | ascii_downcase) and .next_cursor == null" "$TMPD/out"
expect_exit listed_expired 0 "$ACEGATE" review remembered --remember-max-age 0 --lists "$EL" --db "$DB"
jqok listed_expired_state '.items[0].state == "expired"' "$TMPD/out"

# ---- revocation ----
expect_exit revoke_needs_note 2 "$ACEGATE" review add "$R1" --decision revoked --db "$DB"
expect_exit revoke_not_clearance 2 "$ACEGATE" review add "$ID1" --decision revoked --note x --db "$DB"
expect_grep revoke_not_clearance_msg 'not a remembered clearance' "$TMPD/err"
expect_exit revoke 0 "$ACEGATE" review add "$R1" --decision revoked \
  --note "the shop's owner turned out to be the listed company's director" --db "$DB"
jqok revoke_record ".review_of == \"$R1\" and .decision == \"revoked\" and .entries == [\"$SID\"]" "$TMPD/out"
expect_exit revoked_check 0 check --lists "$EL"
jqok revoked_review '.outcome == "REVIEW" and .screening[0].matches[0].remembered == null' "$TMPD/out"
ID2=$(jq -r .audit_id "$TMPD/out")

# ---- a confirmation: matched whatever the score ----
expect_exit confirm 0 "$ACEGATE" review add "$ID2" --decision confirmed \
  --note "the same company, trading under a short name" --entry "$SID" --db "$DB"
R2=$(jq -r .audit_id "$TMPD/out")
# 744.11: an Entity List match with "For all items subject to the EAR"
# needs a licence; a confident match on the list decides that
expect_exit confirmed_check 0 check --lists "$EL"
jqok confirmed_licence ".outcome == \"LICENSE_REQUIRED\" and .screening[0].matches[0].level == \"confident\"
  and .screening[0].matches[0].remembered.audit_id == \"$R2\"" "$TMPD/out"
expect_exit confirmed_screen 0 "$ACEGATE" screen "$P" --country MT --lists "$EL" --db "$DB" --json
jqok confirmed_screen_outcome '.outcome == "CONFIDENT_MATCH"' "$TMPD/out"
"$ACEGATE" review remembered --decision confirmed --lists "$EL" --db "$DB" >"$TMPD/out"
jqok listed_confirmed "[.items[].audit_id] == [\"$R2\"]" "$TMPD/out"
expect_exit chain_intact 0 "$ACEGATE" audit verify --db "$DB"

# ---- the service: a review applies at once, without a restart ----
# ---- an entry is its list and its id ----
# Entry 7731 is on the Entity List, then also on the Unverified List with the
# same content. The clearance was made against the Entity List entry, all
# the reviewed record showed: the Unverified List entry, which the reviewer
# never saw, is still a possible match, and the check stays REVIEW.
DB3="$TMPD/lists.db"
ONE="$FX/remember-el-7731.csv"
TWO="$FX/remember-two-lists.csv"
expect_exit one_list_check 0 "$ACEGATE" check --eccn 4D004 --to MT --end-user "$P" --lists "$ONE" --db "$DB3" --json
ID7=$(jq -r .audit_id "$TMPD/out")
expect_exit one_list_clear 0 "$ACEGATE" review add "$ID7" --decision cleared --note "not them" --entry 7731 --db "$DB3"
expect_exit two_lists_check 0 "$ACEGATE" check --eccn 4D004 --to MT --end-user "$P" --lists "$TWO" --db "$DB3" --json
jqok two_lists_el_cleared '[.screening[0].matches[] | select(.list == "Entity List")][0].remembered.decision == "cleared"' "$TMPD/out"
jqok two_lists_uvl_open '.outcome == "REVIEW" and ([.screening[0].matches[] | select(.list == "Unverified List")][0]
  | .remembered == null and .level == "possible" and .source_id == "7731")' "$TMPD/out"
# the listing's state compares the entry of the clearance's list: the
# other list's entry of that id, changed or not, has nothing to do with it
expect_exit two_lists_listed_active 0 "$ACEGATE" review remembered --lists "$FX/remember-two-lists-uvl-changed.csv" --db "$DB3"
jqok two_lists_active '[.items[] | select(.entry.source_id == "7731")] | length == 1 and .[0].state == "active"' "$TMPD/out"
expect_exit two_lists_listed_changed 0 "$ACEGATE" review remembered --lists "$FX/remember-two-lists-el-changed.csv" --db "$DB3"
jqok two_lists_changed '[.items[] | select(.entry.source_id == "7731")] | length == 1 and .[0].state == "entry_changed"' "$TMPD/out"

DB2="$TMPD/srv.db"
"$ACEGATE" check --eccn 4D004 --to MT --no-screen --db "$DB2" >/dev/null
REV=$("$ACEGATE" keys add --role reviewer --name rev --db "$DB2" 2>/dev/null | tail -n 1)
"$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB2" --lists "$EL" 2>"$TMPD/srv.log" &
SRV_PID=$!
PORT=""
i=0
while [ "$i" -lt 300 ] && [ -z "$PORT" ] && kill -0 "$SRV_PID" 2>/dev/null; do
  PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$TMPD/srv.log" 2>/dev/null)
  [ -z "$PORT" ] && sleep 0.1
  i=$((i + 1))
done
B="http://127.0.0.1:$PORT"
get() { curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$B$2"; }
post() {
  curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data-binary "$3" "$B$2"
}
is() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "HTTP $2, wanted $3: $(head -c 200 "$TMPD/body")"; fi; }
TXN="{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"MT\",\"end_user\":{\"name\":\"$P\"}}"
post "$REV" /v1/checks "$TXN" >/dev/null
H1=$(jq -r .audit_id "$TMPD/body")
is http_clear "$(post "$REV" /v1/reviews "{\"audit_id\":\"$H1\",\"decision\":\"cleared\",\"note\":\"not them\",\"entries\":[\"$SID\"]}")" 201
HR=$(jq -r .audit_id "$TMPD/body")
post "$REV" /v1/checks "$TXN" >/dev/null
jqok http_cleared_check ".outcome == \"LICENSE_EXCEPTION_ACE\" and .screening[0].matches[0].remembered.audit_id == \"$HR\"" "$TMPD/body"
is http_remembered "$(get "$REV" '/v1/reviews/remembered?decision=cleared&limit=5')" 200
kill "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
SRV_PID=""
