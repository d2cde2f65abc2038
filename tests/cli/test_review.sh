#!/bin/sh
# test_review.sh - reviews of REVIEW outcomes and possible matches
# (acegate review, /v1/reviews): a review is its own record in the chain,
# the reviewed record never changes, the queue holds what is still open,
# oldest first, with paging, a record's status is its latest review, bad
# input is named by field, and only reviewers and admins may review.
. "$(dirname "$0")/lib.sh"
plan 93
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 300 "$3")"; fi
}
DB="$TMPD/audit.db"
NSO=csl:be5196004466 # the Entity List entry "NSO Group" in the bundled lists

# A possible match (a misspelt listed name, below the confident score) makes
# the check REVIEW: a person must decide whether the party is the entry.
expect_exit review_check 0 "$ACEGATE" check --eccn 4D004 --to DE --end-user "NSO Grop Technologies" \
  --ref PO-7 --json --db "$DB"
jqok review_check_outcome ".outcome == \"REVIEW\" and .screening[0].matches[0].source_id == \"$NSO\"" "$TMPD/out"
ID1=$(jq -r .audit_id "$TMPD/out")
"$ACEGATE" audit get "$ID1" --db "$DB" >"$TMPD/before"
# 740.22(c)(1): 5A001.j to Germany, no party named: nothing to review
expect_exit clean_check 0 "$ACEGATE" check --eccn 5A001.j --to DE --json --db "$DB"
ID2=$(jq -r .audit_id "$TMPD/out")
# the exact listed name: a confident match, decided without a person, so
# not queued, but it may still be reviewed
expect_exit confident_screen 0 "$ACEGATE" screen "NSO Group" --json --db "$DB"
jqok confident_screen_level '.outcome == "CONFIDENT_MATCH"' "$TMPD/out"
ID3=$(jq -r .audit_id "$TMPD/out")

# ---- the queue: only the open REVIEW ----
expect_exit queue_open 0 "$ACEGATE" review queue --db "$DB"
jqok queue_open_items "[.items[].audit_id] == [\"$ID1\"] and .items[0].status == \"open\"
  and .items[0].ref == \"PO-7\" and .items[0].parties == [\"NSO Grop Technologies\"]
  and .items[0].latest_review == null and .next_cursor == null" "$TMPD/out"

# ---- reviews: escalated keeps it unresolved, cleared resolves it ----
expect_exit review_escalate 0 "$ACEGATE" review add "$ID1" --decision escalated \
  --note "same city as the listed entity; asking legal" --db "$DB"
jqok review_escalate_record ".review_of == \"$ID1\" and .decision == \"escalated\"
  and .record_outcome == \"REVIEW\" and (.audit_id | test(\"^a-4-\"))" "$TMPD/out"
R1=$(jq -r .audit_id "$TMPD/out")
"$ACEGATE" review queue --db "$DB" >"$TMPD/q"
jqok queue_empty_after_escalate '.items == []' "$TMPD/q"
"$ACEGATE" review queue --status escalated --db "$DB" >"$TMPD/q"
jqok queue_escalated "[.items[].audit_id] == [\"$ID1\"] and .items[0].latest_review.audit_id == \"$R1\"" "$TMPD/q"
expect_exit review_clear 0 "$ACEGATE" review add "$ID1" --decision cleared \
  --note "NSO Grop Technologies is a Berlin retailer, not NSO Group" --entry "$NSO" --db "$DB"
jqok review_clear_entries ".entries == [\"$NSO\"] and .decision == \"cleared\"" "$TMPD/out"
R2=$(jq -r .audit_id "$TMPD/out")
expect_exit review_show 0 "$ACEGATE" review show "$ID1" --db "$DB"
jqok review_show_status ".status == \"cleared\" and [.reviews[].audit_id] == [\"$R1\",\"$R2\"]
  and .record.outcome == \"REVIEW\"" "$TMPD/out"
"$ACEGATE" review queue --status escalated --db "$DB" >"$TMPD/q"
jqok queue_escalated_empty '.items == []' "$TMPD/q"
"$ACEGATE" review queue --status cleared --db "$DB" >"$TMPD/q"
jqok queue_cleared "[.items[].audit_id] == [\"$ID1\"]" "$TMPD/q"

# the reviewed record is unchanged, and the chain holds the reviews
"$ACEGATE" audit get "$ID1" --db "$DB" >"$TMPD/after"
if cmp -s "$TMPD/before" "$TMPD/after"; then ok record_unchanged; else notok record_unchanged "differs"; fi
expect_exit chain_intact 0 "$ACEGATE" audit verify --db "$DB"
"$ACEGATE" audit search --kind review --db "$DB" >"$TMPD/s"
jq -s . "$TMPD/s" >"$TMPD/s.json"
jqok review_kind_searchable "[.[].audit_id] == [\"$R1\",\"$R2\"] and .[1].outcome == \"cleared\"" "$TMPD/s.json"

# a confident screening can be confirmed
expect_exit review_confirm 0 "$ACEGATE" review add "$ID3" --decision confirmed \
  --note "the party is NSO Group" --entry "$NSO" --db "$DB"
"$ACEGATE" review queue --status confirmed --db "$DB" >"$TMPD/q"
jqok queue_confirmed "[.items[].audit_id] == [\"$ID3\"] and .items[0].kind == \"screening\"" "$TMPD/q"

# ---- bad input, named by field ----
expect_exit note_empty 2 "$ACEGATE" review add "$ID1" --decision cleared --note "  " --db "$DB"
expect_grep note_empty_msg 'note: is required' "$TMPD/err"
expect_exit note_missing 2 "$ACEGATE" review add "$ID1" --decision cleared --db "$DB"
expect_exit decision_bad 2 "$ACEGATE" review add "$ID1" --decision ok --note x --db "$DB"
expect_grep decision_bad_msg 'decision: "ok" is not a decision' "$TMPD/err"
expect_exit entry_unknown 2 "$ACEGATE" review add "$ID1" --decision cleared --note x --entry csl:000 --db "$DB"
expect_grep entry_unknown_msg 'entry: "csl:000" is not a candidate' "$TMPD/err"
expect_exit id_unknown 2 "$ACEGATE" review add a-99-0123456789ab --decision cleared --note x --db "$DB"
expect_grep id_unknown_msg 'AUDIT_ID: no record with audit id' "$TMPD/err"
expect_exit not_reviewable 2 "$ACEGATE" review add "$ID2" --decision cleared --note x --db "$DB"
expect_grep not_reviewable_msg 'only a REVIEW outcome or a screening candidate' "$TMPD/err"
expect_exit review_of_review 2 "$ACEGATE" review add "$R1" --decision cleared --note x --db "$DB"
expect_exit status_bad 2 "$ACEGATE" review queue --status closed --db "$DB"
expect_grep status_bad_msg 'status: "closed" is not a status' "$TMPD/err"
expect_exit option_unknown 2 "$ACEGATE" review queue --colour --db "$DB"

# ---- paging, oldest first ----
# (to Austria: the clearance above was of the party in Germany, and a
# remembered clearance applies only to the same party name and country)
for n in 1 2 3; do
  "$ACEGATE" check --eccn 4D004 --to AT --end-user "NSO Grop Technologies" --ref "PG-$n" --json \
    --db "$DB" >"$TMPD/pg$n.json"
done
"$ACEGATE" review queue --limit 2 --db "$DB" >"$TMPD/p1"
jqok page1 '[.items[].ref] == ["PG-1","PG-2"] and .next_cursor != null' "$TMPD/p1"
"$ACEGATE" review queue --limit 2 --cursor "$(jq -r .next_cursor "$TMPD/p1")" --db "$DB" >"$TMPD/p2"
jqok page2 '[.items[].ref] == ["PG-3"] and .next_cursor == null' "$TMPD/p2"

# ---- the service: the reviewer role and /v1/reviews ----
REV=$("$ACEGATE" keys add --role reviewer --name rev --db "$DB" 2>/dev/null | tail -n 1)
REV_ID=$("$ACEGATE" keys list --db "$DB" | awk -F'\t' '$2 == "reviewer" {print $1}')
CHK=$("$ACEGATE" keys add --role checker --db "$DB" 2>/dev/null | tail -n 1)
AUD=$("$ACEGATE" keys add --role auditor --db "$DB" 2>/dev/null | tail -n 1)
serve_start --listen 127.0.0.1:0 --db "$DB"
get() { curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$B$2"; }
post() {
  curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data-binary "$3" "$B$2"
}
is() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "HTTP $2, wanted $3: $(head -c 200 "$TMPD/body")"; fi; }

is http_reviewer_checks "$(post "$REV" /v1/checks '{"item":{"eccn":"4D004"},"destination":"AT","end_user":{"name":"NSO Grop Technologies"},"ref":"H-1"}')" 200
H1=$(jq -r .audit_id "$TMPD/body")
is http_queue "$(get "$REV" '/v1/reviews?status=open&limit=10')" 200
jqok http_queue_oldest_first '[.items[].ref] == ["PG-1","PG-2","PG-3","H-1"]' "$TMPD/body"
is http_review_add "$(post "$REV" /v1/reviews "{\"audit_id\":\"$H1\",\"decision\":\"cleared\",\"note\":\"a retailer\",\"entries\":[\"$NSO\"]}")" 201
jqok http_review_reviewer ".review_of == \"$H1\" and .reviewer == \"$REV_ID\"" "$TMPD/body"
is http_review_get "$(get "$REV" "/v1/reviews/$H1")" 200
jqok http_review_get_status '.status == "cleared" and (.reviews | length == 1)' "$TMPD/body"
is http_note_empty "$(post "$REV" /v1/reviews "{\"audit_id\":\"$H1\",\"decision\":\"cleared\",\"note\":\"\"}")" 400
jqok http_note_empty_field '.error.field == "note"' "$TMPD/body"
is http_id_unknown "$(post "$REV" /v1/reviews '{"audit_id":"a-99-0123456789ab","decision":"cleared","note":"x"}')" 400
jqok http_id_unknown_field '.error.field == "audit_id"' "$TMPD/body"
is http_checker_forbidden "$(post "$CHK" /v1/reviews "{\"audit_id\":\"$H1\",\"decision\":\"cleared\",\"note\":\"x\"}")" 403
# an auditor reads the reviews with the log, and may not write one
is http_auditor_reads_queue "$(get "$AUD" '/v1/reviews?status=cleared')" 200
jqok http_auditor_queue_item "[.items[].audit_id] | index(\"$H1\") != null" "$TMPD/body"
is http_auditor_reads_review "$(get "$AUD" "/v1/reviews/$H1")" 200
jqok http_auditor_review_note '.status == "cleared" and .reviews[0].note == "a retailer"' "$TMPD/body"
is http_auditor_may_not_review "$(post "$AUD" /v1/reviews "{\"audit_id\":\"$H1\",\"decision\":\"escalated\",\"note\":\"x\"}")" 403
jqok http_auditor_forbidden_named '.error.field == "authorization" and (.error.message | test("resolve reviews"))' "$TMPD/body"
is http_checker_may_not_read "$(get "$CHK" "/v1/reviews/$H1")" 403
is http_queue_param_twice "$(get "$REV" '/v1/reviews?status=open&status=cleared')" 400
jqok http_queue_param_twice_field '.error.field == "status"' "$TMPD/body"
is http_queue_param_unknown "$(get "$REV" '/v1/reviews?sort=new')" 400
is http_review_get_unknown "$(get "$REV" /v1/reviews/a-99-0123456789ab)" 404
is http_reviewer_reads_log "$(get "$REV" '/v1/audit?kind=review')" 200

# ---- a resolved status is read from the reviews, oldest record first ----
# reviewed in another order than the records were made: the page follows
# the records' order, and continues with the cursor
for n in 1 2 3; do
  "$ACEGATE" check --eccn 4D004 --to CH --end-user "NSO Grop Technologies" --ref "ES-$n" --json \
    --db "$DB" >"$TMPD/es$n.json"
done
for n in 3 1 2; do
  "$ACEGATE" review add "$(jq -r .audit_id "$TMPD/es$n.json")" --decision escalated \
    --note "asking legal" --db "$DB" >/dev/null
done
"$ACEGATE" review queue --status escalated --limit 2 --db "$DB" >"$TMPD/e1"
jqok escalated_page1 '[.items[].ref] == ["ES-1","ES-2"] and .next_cursor != null' "$TMPD/e1"
"$ACEGATE" review queue --status escalated --limit 2 --cursor "$(jq -r .next_cursor "$TMPD/e1")" \
  --db "$DB" >"$TMPD/e2"
jqok escalated_page2 '[.items[].ref] == ["ES-3"] and .next_cursor == null' "$TMPD/e2"
# cleared later: no longer escalated
"$ACEGATE" review add "$(jq -r .audit_id "$TMPD/es1.json")" --decision cleared --note "a retailer" \
  --db "$DB" >/dev/null
"$ACEGATE" review queue --status escalated --db "$DB" >"$TMPD/e3"
jqok escalated_after_clear '[.items[].ref] == ["ES-2","ES-3"]' "$TMPD/e3"
expect_exit escalated_cursor_bad 2 "$ACEGATE" review queue --status escalated --cursor zz --db "$DB"
expect_grep escalated_cursor_bad_field 'cursor' "$TMPD/err"

# ---- the service's open queue follows the log others append to ----
# the service learnt its open queue above; what another process appends
# (the command line writing into the log `serve` has open) is in the next
# answer, and a review that resolves an item takes it out of the next
is http_open_before "$(get "$REV" '/v1/reviews?status=open&limit=1000')" 200
jqok http_open_before_items '[.items[].ref] == ["PG-1","PG-2","PG-3"]' "$TMPD/body"
expect_exit cli_appends 0 "$ACEGATE" check --eccn 4D004 --to BE --end-user "NSO Grop Technologies" \
  --ref XP-1 --json --db "$DB"
XP1=$(jq -r .audit_id "$TMPD/out")
"$ACEGATE" screen "NSO Grop Technologies" --country BE --json --db "$DB" >"$TMPD/xs.json"
XS=$(jq -r .audit_id "$TMPD/xs.json")
is http_open_after_append "$(get "$REV" '/v1/reviews?status=open&limit=1000')" 200
jqok http_open_has_appended "[.items[].audit_id] | .[-2:] == [\"$XP1\",\"$XS\"]" "$TMPD/body"
# the same answer, byte for byte, as a process reading the log afresh
"$ACEGATE" review queue --limit 1000 --db "$DB" >"$TMPD/fresh"
printf '\n' >>"$TMPD/body"
if cmp -s "$TMPD/body" "$TMPD/fresh"; then ok http_open_same_as_fresh; else
  notok http_open_same_as_fresh "$(diff "$TMPD/body" "$TMPD/fresh" | head -c 300)"; fi
expect_exit cli_resolves 0 "$ACEGATE" review add "$XP1" --decision cleared --note "a retailer" \
  --db "$DB"
is http_open_after_review "$(get "$REV" '/v1/reviews?status=open&limit=1000')" 200
jqok http_open_resolved_gone "[.items[].audit_id] | index(\"$XP1\") == null and index(\"$XS\") != null" "$TMPD/body"
# resolved through the service itself, and paged
is http_resolves "$(post "$REV" /v1/reviews "{\"audit_id\":\"$XS\",\"decision\":\"escalated\",\"note\":\"asking legal\"}")" 201
is http_open_page1 "$(get "$REV" '/v1/reviews?status=open&limit=2')" 200
jqok http_open_page1_items '[.items[].ref] == ["PG-1","PG-2"] and .next_cursor != null' "$TMPD/body"
is http_open_page2 "$(get "$REV" "/v1/reviews?status=open&limit=2&cursor=$(jq -r .next_cursor "$TMPD/body")")" 200
jqok http_open_page2_items '[.items[].ref] == ["PG-3"] and .next_cursor == null' "$TMPD/body"
is http_open_cursor_bad "$(get "$REV" '/v1/reviews?status=open&cursor=F1')" 400
jqok http_open_cursor_bad_field '.error.field == "cursor"' "$TMPD/body"

# ---- the item names each party with what was given of it ----
# the answer names a party by name and country alone; the address, city
# and identifiers a reviewer compares with the entry's come with the item
# as the request gave them, and a party given none has none (to France:
# no clearance above was of a party there)
is http_check_with_address "$(post "$REV" /v1/checks '{"item":{"eccn":"4D004"},"destination":"FR",
  "end_user":{"name":"NSO Grop Technologies","address":"12 rue de Rivoli","city":"Paris","ids":["RCS 552081317"]},
  "consignee":{"name":"NSO Grop Technologies"},"ref":"AD-1"}')" 200
AD1=$(jq -r .audit_id "$TMPD/body")
jqok http_check_address_not_in_answer '[.screening[].party] == ["end_user","consignee"]
  and all(.screening[]; has("address") | not)' "$TMPD/body"
is http_item_request "$(get "$REV" "/v1/reviews/$AD1")" 200
jqok http_item_end_user_address '.request.end_user.address == "12 rue de Rivoli"
  and .request.end_user.city == "Paris" and .request.end_user.ids == ["RCS 552081317"]' "$TMPD/body"
jqok http_item_consignee_none '.request.consignee == {"name":"NSO Grop Technologies"}
  and .record.screening[1].party == "consignee"' "$TMPD/body"
# the command line shows the same item
expect_exit review_show_request 0 "$ACEGATE" review show "$AD1" --db "$DB"
jqok review_show_end_user_address '.request.end_user.address == "12 rue de Rivoli"
  and .request.consignee.address == null' "$TMPD/out"
# a screening's request holds its one party's fields
"$ACEGATE" screen "NSO Grop Technologies" --country FR --address "12 rue de Rivoli" --json \
  --db "$DB" >"$TMPD/ads.json"
is http_item_screening_request "$(get "$REV" "/v1/reviews/$(jq -r .audit_id "$TMPD/ads.json")")" 200
jqok http_item_screening_address '.request.address == "12 rue de Rivoli" and .request.country == "FR"
  and .record.matches[0].source_id == "'"$NSO"'"' "$TMPD/body"
