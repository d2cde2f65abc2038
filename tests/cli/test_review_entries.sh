#!/bin/sh
# test_review_entries.sh - the listed entries beside a review item's
# candidates (docs/review.md, "The entries beside the parties"): `review
# show` and GET /v1/reviews/{id} set beside each candidate the entry its
# list and id name in the lists given (or in force), with every field a
# reviewer compares, and say whether it is the content the decision was made
# on: "same", "changed" (a field differs: the entry as listed now), "gone"
# (no such entry), or that it could not be looked up; the recorded answer is
# shown as it was stored.
. "$(dirname "$0")/lib.sh"
plan 37
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 400 "$3")"; fi
}
FX="$(dirname "$0")/../screen/fixtures"
ONE="$FX/remember-el-7731.csv"             # Entity List 7731, "1 Harbour Road, Valletta, MT"
CHANGED="$FX/remember-el-7731-changed.csv" # the same entry at "7 Harbour Road, Valletta, MT"
TWO="$FX/remember-two-lists.csv"           # 7731 on the Entity List and on the Unverified List
NO7731="$FX/remember-el.csv"               # Entity List entries without an id of their own
# the lists in force of these commands: none of the user's
export ACEGATE_HOME="$TMPD/home"
DB="$TMPD/audit.db"
P="Zeltronic Surveillance" # a possible match of "Zeltronic Surveillance Systems"

# Malta: 4D004 goes under ACE unless the end user is listed; a possible
# Entity List match makes it REVIEW. A check's answer carries a cut-down
# candidate: no addresses or countries of the entry.
expect_exit check 0 "$ACEGATE" check --eccn 4D004 --to MT --end-user "$P" \
  --end-user-address "12 Tower Road, Sliema" --lists "$ONE" --db "$DB" --json
jqok check_review '.outcome == "REVIEW" and .screening[0].matches[0].source_id == "7731"
  and (.screening[0].matches[0] | has("addresses") or has("countries") | not)' "$TMPD/out"
ID=$(jq -r .audit_id "$TMPD/out")
VERSION_ONE=$(jq -r .lists_version "$TMPD/out")
"$ACEGATE" audit get "$ID" --db "$DB" >"$TMPD/stored"

# ---- the lists the decision was made with: the same content ----
expect_exit show_same 0 "$ACEGATE" review show "$ID" --lists "$ONE" --db "$DB"
jqok same_state ".candidate_entries.looked_up and .candidate_entries.lists_version == \"$VERSION_ONE\"
  and (.candidate_entries.items | length) == 1
  and (.candidate_entries.items[0] | .candidate == \"/screening/0/matches/0\" and .party == \"end_user\"
       and .list == \"Entity List\" and .source_id == \"7731\" and .state == \"same\"
       and .entry_hash == .entry.entry_hash
       and (.text | test(\"same content the decision was made on\")))" "$TMPD/out"
jqok same_entry_fields '.candidate_entries.items[0].entry | .list_code == "EL"
  and .name == "Zeltronic Surveillance Systems" and .addresses == ["1 Harbour Road, Valletta, MT"]
  and .countries == ["MT"] and .federal_register_notice == "89 FR 1234"
  and .license_requirement == "For all items subject to the EAR."
  and .license_policy == "Presumption of denial." and .start_date == "2024-01-02"
  and .aliases == [] and .ids == [] and .programs == []
  and .source_url == "https://www.trade.gov/consolidated-screening-list"' "$TMPD/out"
jqok same_party_beside '.request.end_user.address == "12 Tower Road, Sliema"' "$TMPD/out"
jq .record "$TMPD/out" >"$TMPD/shown"
if jq -e --slurpfile s "$TMPD/stored" '. == $s[0]' "$TMPD/shown" >/dev/null; then ok record_as_stored; else
  notok record_as_stored "$(head -c 300 "$TMPD/shown")"; fi

# ---- one field changed: the entry as listed now, marked ----
expect_exit show_changed 0 "$ACEGATE" review show "$ID" --lists "$CHANGED" --db "$DB"
jqok changed_state '.candidate_entries.items[0] | .state == "changed"
  and (.text | test("changed since the decision"))
  and .entry.addresses == ["7 Harbour Road, Valletta, MT"] and .entry_hash != .entry.entry_hash' "$TMPD/out"
jqok changed_record_untouched '.record.screening[0].matches[0].entry_hash == .candidate_entries.items[0].entry_hash
  and (.record.screening[0].matches[0] | has("addresses") | not)' "$TMPD/out"

# ---- gone: no entry 7731 on the Entity List ----
# (remember-el.csv gives its entries no id: each has a content id, csl:...)
expect_exit show_gone 0 "$ACEGATE" review show "$ID" --lists "$NO7731" --db "$DB"
jqok gone_state '.candidate_entries.items[0] | .state == "gone" and .entry == null
  and (.text | test("no longer listed")) and .source_id == "7731"' "$TMPD/out"

# ---- without --lists: the lists in force ----
expect_exit install_changed 0 "$ACEGATE" lists update "$CHANGED" --force --db "$TMPD/lists.db"
expect_exit show_in_force 0 "$ACEGATE" review show "$ID" --db "$DB"
jqok in_force_changed '.candidate_entries.looked_up
  and .candidate_entries.lists_version != "'"$VERSION_ONE"'"
  and .candidate_entries.items[0].state == "changed"
  and .candidate_entries.items[0].entry.addresses == ["7 Harbour Road, Valletta, MT"]' "$TMPD/out"
# the lists in force cannot be opened: the item is shown, and says the
# entry could not be looked up and why
cp "$ACEGATE_HOME/lists.agx" "$TMPD/good.agx"
printf 'not an index\n' >"$ACEGATE_HOME/lists.agx"
expect_exit show_no_lists 0 "$ACEGATE" review show "$ID" --db "$DB"
jqok no_lists_said '.candidate_entries.looked_up == false and .candidate_entries.lists_version == null
  and (.candidate_entries.unavailable | test("lists in force could not be opened"))
  and .candidate_entries.items[0].state == "not_looked_up" and .candidate_entries.items[0].entry == null
  and (.candidate_entries.items[0].text | test("could not be looked up"))
  and .record.outcome == "REVIEW"' "$TMPD/out"
cp "$TMPD/good.agx" "$ACEGATE_HOME/lists.agx"
# lists named that cannot be read are an error, naming the flag
expect_exit show_lists_missing 4 "$ACEGATE" review show "$ID" --lists "$TMPD/none.csv" --db "$DB"
expect_grep show_lists_missing_msg 'review show: --lists:' "$TMPD/err"

# ---- a screening: each candidate by its list; the same id on another list
# is another entry ----
expect_exit screening 0 "$ACEGATE" screen "$P" --country MT --lists "$TWO" --db "$DB" --json
jqok screening_two '[.matches[] | [.list_code, .source_id]] | sort == [["EL","7731"],["UVL","7731"]]' "$TMPD/out"
SID=$(jq -r .audit_id "$TMPD/out")
expect_exit show_screening 0 "$ACEGATE" review show "$SID" --lists "$ONE" --db "$DB"
jqok screening_states '[.candidate_entries.items[] | [.list, .state]] | sort
  == [["Entity List","same"],["Unverified List","gone"]]' "$TMPD/out"
# each item names its candidate by a JSON pointer into the record
jqok screening_pointers '. as $r | all(.candidate_entries.items[];
  . as $i | ($r.record | getpath($i.candidate | ltrimstr("/") | split("/") | map(tonumber? // .)))
  | .source_id == $i.source_id and .list == $i.list and .entry_hash == $i.entry_hash)
  and all(.candidate_entries.items[]; .party == null)' "$TMPD/out"
jqok screening_entry_el '.candidate_entries.items[] | select(.list == "Entity List")
  | .entry.list_code == "EL" and .entry.addresses == ["1 Harbour Road, Valletta, MT"]' "$TMPD/out"
expect_exit show_screening_two 0 "$ACEGATE" review show "$SID" --lists "$TWO" --db "$DB"
jqok screening_uvl_entry '.candidate_entries.items[] | select(.list == "Unverified List")
  | .state == "same" and .entry.list_code == "UVL" and .entry.list == "Unverified List"' "$TMPD/out"

# ---- the service: the lists it holds, and a reload ----
mkdir -p "$TMPD/srv-lists"
cp "$ONE" "$TMPD/srv-lists/el.csv"
REV=$("$ACEGATE" keys add --role reviewer --name rev --db "$DB" 2>/dev/null | tail -n 1)
ADM=$("$ACEGATE" keys add --role admin --name adm --db "$DB" 2>/dev/null | tail -n 1)
serve_start --listen 127.0.0.1:0 --db "$DB" --lists "$TMPD/srv-lists" --max-list-age off
get() { curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$B$2"; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "HTTP $2, wanted $3: $(head -c 200 "$TMPD/body")"; fi; }
is http_item "$(get "$REV" "/v1/reviews/$ID")" 200
jqok http_same '.candidate_entries.items[0] | .state == "same"
  and .entry.addresses == ["1 Harbour Road, Valletta, MT"]' "$TMPD/body"
cp "$CHANGED" "$TMPD/srv-lists/el.csv"
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" \
  -H 'Content-Type: application/json' "$B/v1/admin/reload")
is http_reload "$code" 200
is http_item_after_reload "$(get "$REV" "/v1/reviews/$ID")" 200
jqok http_changed '.candidate_entries.items[0] | .state == "changed"
  and .entry.addresses == ["7 Harbour Road, Valletta, MT"]' "$TMPD/body"
is http_screening_item "$(get "$REV" "/v1/reviews/$SID")" 200
jqok http_screening_states '[.candidate_entries.items[] | [.list, .state]] | sort
  == [["Entity List","changed"],["Unverified List","gone"]]' "$TMPD/body"
serve_stop
# a service without lists says it looked nothing up, and why
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists
is http_no_lists_item "$(get "$REV" "/v1/reviews/$ID")" 200
jqok http_no_lists_said '.candidate_entries.looked_up == false
  and (.candidate_entries.unavailable | test("without screening lists"))
  and .candidate_entries.items[0].state == "not_looked_up"
  and (.candidate_entries.items[0].text | test("could not be looked up: the service runs without screening lists"))' "$TMPD/body"
serve_stop
expect_exit chain_intact 0 "$ACEGATE" audit verify --db "$DB"
