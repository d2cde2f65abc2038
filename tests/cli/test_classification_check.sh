#!/bin/sh
# test_classification_check.sh - a check that takes its item from a
# classification record (item.classification_id, --classification-id):
# the ECCN and "for" come from the record, a contradicting --eccn/--for and
# a classification that gives no single paragraph are refused naming the
# field, and the trace cites the record. Single, batch and HTTP.
#
# The products are those of tests/classify (products.tsv gives each its
# paragraph from the CCL text); the outcomes follow 740.22 and the Country
# Chart: 4D004 (NS1) needs a licence to Germany (A:1, NS1 X), and ACE
# authorizes it to a non-government end user there (no 740.22(c)
# restriction reaches A:1); to a government end user in China (D:1, D:3,
# D:4, D:5) 740.22(c)(1)(ii) blocks ACE.
. "$(dirname "$0")/lib.sh"
plan 47

DB="$TMPD/audit.db"
# classify FILE [ARGS...]: records a classification in $DB, prints its audit id
classify() {
  f=$1
  shift
  "$ACEGATE" classify --answers "$f" --as-of 2026-08-01 --json --db "$DB" "$@" | jq -r .audit_id
}
C2=$(classify tests/classify/c2-framework.json)         # 4D004 (4D004-2, "intrusion software")
LI=$(classify tests/classify/li-analytics-suite.json)   # 5D001.c for 5A001.j
DBG=$(classify tests/classify/debugger.json)            # not_controlled: ISX1, Note 1 to 772.1
echo '{}' >"$TMPD/none.json"
UNK=$(classify "$TMPD/none.json")                       # cannot_tell: nothing answered
# the C2 framework's builder is also "software specially designed ... for the
# development or production of" 4D004 software: 4D001.a (for 4D004) as well
jq -c '. + {"4D001a-1b": true}' tests/classify/c2-framework.json >"$TMPD/two.json"
TWO=$(classify "$TMPD/two.json")
# the same C2 framework under a questionnaire whose IS1 (the "intrusion
# software" target criterion) is marked reconstructed
cp -r data/rules "$TMPD/rules"
sed -i 's/^\(question	IS1	-	-	-	-	-	\)verbatim/\1reconstructed/' "$TMPD/rules/classification.tsv"
REC=$(classify tests/classify/c2-framework.json --rules "$TMPD/rules")
case "$C2$LI$DBG$UNK$TWO$REC" in *null* | "") echo "Bail out! classifications not recorded"; exit 1 ;; esac

# ---- single checks ----
expect_exit "C2 framework to DE: exit 0" 0 "$ACEGATE" check --classification-id "$C2" --to DE \
  --as-of 2026-08-01 --json --no-screen --db "$DB"
cp "$TMPD/out" "$TMPD/c2de.json"
expect_json() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then echo "ok $1"; else
    echo "not ok $1: $2"; head -c 400 "$3" | sed 's/^/  | /'; echo; fi
}
expect_json "the item is the classified 4D004" \
  ".item.eccn == \"4D004\" and (.item | has(\"for\") | not) and .item.classification_id == \"$C2\"" \
  "$TMPD/c2de.json"
expect_json "4D004 to a German company: licence by the chart, ACE authorizes" \
  '.outcome == "LICENSE_EXCEPTION_ACE" and .license_required_by_chart == true' "$TMPD/c2de.json"
expect_json "trace: a classification step citing the record" \
  "[.trace[] | select(.step == \"classification\")] | length == 1 and (.[0].text | contains(\"$C2\")) and .[0].cite == \"4D004\"" \
  "$TMPD/c2de.json"
expect_json "trace: the classification comes right after the transaction" \
  '.trace[0].step == "validate" and .trace[1].step == "classification"' "$TMPD/c2de.json"
expect_json "trace: the answers' provenance and no reconstructed criterion" \
  '.trace[1].text | test("verbatim") and test("no reconstructed criterion decided it")' \
  "$TMPD/c2de.json"
# the check's own record names the ECCN it decided for
CID=$(jq -r .audit_id "$TMPD/c2de.json")
expect_exit "the check's record is found by eccn" 0 "$ACEGATE" audit search --kind check \
  --eccn 4D004 --db "$DB"
expect_grep "  ... it is this check" "$CID" "$TMPD/out"

expect_exit "to a Chinese government agency: exit 0" 0 "$ACEGATE" check --classification-id "$C2" \
  --to CN --end-user-type government --as-of 2026-08-01 --json --no-screen --db "$DB"
expect_json "740.22(c)(1)(ii) blocks ACE" \
  '.outcome == "LICENSE_REQUIRED" and .decided_by == "740.22(c)(1)(ii)"' "$TMPD/out"

expect_exit "text output" 0 "$ACEGATE" check --classification-id "$C2" --to DE --as-of 2026-08-01 \
  --no-screen --db "$DB"
expect_grep "  ... the reasoning cites the record" "\[4D004\] info: The item is 4D004 as classified in audit record $C2" "$TMPD/out"

expect_exit "the agreeing --eccn is accepted" 0 "$ACEGATE" check --classification-id "$C2" \
  --eccn 4D004 --to DE --as-of 2026-08-01 --json --no-screen --db "$DB"
expect_exit "a contradicting --eccn: exit 2" 2 "$ACEGATE" check --classification-id "$C2" \
  --eccn 4A005 --to DE --as-of 2026-08-01 --no-screen --db "$DB"
expect_grep "  ... names item.eccn and --eccn" 'item.eccn (--eccn): "4A005" is not what classification' "$TMPD/err"
expect_exit "a contradicting --for: exit 2" 2 "$ACEGATE" check --classification-id "$C2" \
  --for 4A005 --to DE --as-of 2026-08-01 --no-screen --db "$DB"
expect_grep "  ... names item.for" 'item.for (--for)' "$TMPD/err"

# 5D001.c takes its "for" (5A001.j) from the record
expect_exit "LI suite: exit 0" 0 "$ACEGATE" check --classification-id "$LI" --to JP \
  --as-of 2026-08-01 --json --no-screen --db "$DB"
expect_json "5D001.c for 5A001.j, a cybersecurity item" \
  '.item.eccn == "5D001.c" and .item.for == "5A001.j" and .item.cybersecurity_item == true' \
  "$TMPD/out"

# several paragraphs: the check must say which
expect_exit "two candidates, no --eccn: exit 2" 2 "$ACEGATE" check --classification-id "$TWO" \
  --to DE --as-of 2026-08-01 --no-screen --db "$DB"
expect_grep "  ... names item.eccn and both paragraphs" 'item.eccn.*several paragraphs (4D004, 4D001.a for 4D004)' "$TMPD/err"
expect_exit "--eccn picks 4D001.a: exit 0" 0 "$ACEGATE" check --classification-id "$TWO" \
  --eccn 4D001.a --to DE --as-of 2026-08-01 --json --no-screen --db "$DB"
expect_json "  ... 4D001.a for 4D004, one of the 2" \
  '.item.eccn == "4D001.a" and .item.for == "4D004" and (.trace[1].text | contains("one of the 2 paragraphs"))' \
  "$TMPD/out"

# no ECCN in the record
expect_exit "not controlled (debugger): exit 2" 2 "$ACEGATE" check --classification-id "$DBG" \
  --to DE --no-screen --db "$DB"
expect_grep "  ... names the field and the status" 'item.classification_id (--classification-id): classification .* is "not_controlled", not "classified"' "$TMPD/err"
expect_exit "cannot tell: exit 2" 2 "$ACEGATE" check --classification-id "$UNK" --to DE \
  --no-screen --db "$DB"
expect_grep "  ... says cannot_tell" '"cannot_tell", not "classified"' "$TMPD/err"
expect_exit "a check record is no classification: exit 2" 2 "$ACEGATE" check \
  --classification-id "$CID" --to DE --no-screen --db "$DB"
expect_grep "  ... says what it is" "$CID is a check record, not a classification" "$TMPD/err"
expect_exit "an id not in the log: exit 2" 2 "$ACEGATE" check --classification-id a-999-0123456789ab \
  --to DE --no-screen --db "$DB"
expect_grep "  ... names the field" 'item.classification_id (--classification-id): no record' "$TMPD/err"
expect_exit "another log does not hold it: exit 2" 2 "$ACEGATE" check --classification-id "$C2" \
  --to DE --no-screen --db :memory:
echo '{"item":{},"destination":"DE"}' >"$TMPD/noitem.json"
expect_exit "neither eccn nor classification: exit 2" 2 "$ACEGATE" check - --no-screen \
  --db "$DB" <"$TMPD/noitem.json"
expect_grep "  ... names item.eccn" 'item.eccn: is required (or item.classification_id)' "$TMPD/err"

# a reconstructed criterion decided the classification: the trace says which
expect_exit "reconstructed IS1: exit 0" 0 "$ACEGATE" check --classification-id "$REC" --to DE \
  --as-of 2026-08-01 --json --no-screen --db "$DB"
expect_json "  ... the trace names IS1" \
  '.trace[1].text | test("a reconstructed criterion decided it \\(IS1\\)")' "$TMPD/out"

# ---- batch: each line looked up, a bad one rejected in its place ----
{
  echo "{\"item\":{\"classification_id\":\"$C2\"},\"destination\":\"DE\",\"as_of\":\"2026-08-01\"}"
  echo "{\"item\":{\"classification_id\":\"$DBG\"},\"destination\":\"DE\"}"
  echo "{\"item\":{\"classification_id\":\"$TWO\",\"eccn\":\"4D004\"},\"destination\":\"CN\",\"end_user\":{\"type\":\"government\"},\"as_of\":\"2026-08-01\"}"
} >"$TMPD/batch.jsonl"
"$ACEGATE" check --batch --no-screen --db "$DB" <"$TMPD/batch.jsonl" >"$TMPD/batch.out" 2>"$TMPD/err"
rc=$?
[ "$rc" -eq 2 ] && echo "ok batch with a rejected line: exit 2" || echo "not ok batch with a rejected line: exit $rc"
[ "$(wc -l <"$TMPD/batch.out")" -eq 3 ] && echo "ok  ... one answer per line" || echo "not ok  ... one answer per line"
sed -n 1p "$TMPD/batch.out" >"$TMPD/b1"
sed -n 2p "$TMPD/batch.out" >"$TMPD/b2"
sed -n 3p "$TMPD/batch.out" >"$TMPD/b3"
expect_json "  ... line 1: ACE for the classified 4D004" \
  ".outcome == \"LICENSE_EXCEPTION_ACE\" and .item.classification_id == \"$C2\"" "$TMPD/b1"
expect_json "  ... line 2: rejected naming item.classification_id" \
  '.line == 2 and .error.field == "item.classification_id"' "$TMPD/b2"
expect_json "  ... line 3: item.eccn picks 4D004; blocked by (c)(1)(ii)" \
  '.item.eccn == "4D004" and .decided_by == "740.22(c)(1)(ii)" and .trace[1].step == "classification"' \
  "$TMPD/b3"

# ---- HTTP: the service looks the record up in its own log ----
CK=$("$ACEGATE" keys add --role checker --db "$DB" --name "test checker" 2>/dev/null | tail -n 1)
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log off
post() {
  STATUS=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $CK" \
    -H 'Content-Type: application/json' --data-binary "$2" "$B$1")
}
post /v1/classifications "$(jq -c '{answers: ., as_of: "2026-08-01"}' tests/classify/c2-framework.json)"
HID=$(jq -r .audit_id "$TMPD/body")
post /v1/checks "{\"item\":{\"classification_id\":\"$HID\"},\"destination\":\"DE\",\"as_of\":\"2026-08-01\"}"
[ "$STATUS" = 200 ] && echo "ok HTTP check from a classification: 200" || echo "not ok HTTP check from a classification: $STATUS"
expect_json "  ... 4D004, ACE, the record cited" \
  ".item.eccn == \"4D004\" and .outcome == \"LICENSE_EXCEPTION_ACE\" and (.trace[1].text | contains(\"$HID\"))" \
  "$TMPD/body"
post /v1/checks "{\"item\":{\"classification_id\":\"$HID\",\"eccn\":\"5A001.j\"},\"destination\":\"DE\"}"
case "$STATUS" in 400) echo "ok HTTP contradicting eccn: 400" ;; *) echo "not ok HTTP contradicting eccn: $STATUS" ;; esac
expect_json "  ... names item.eccn" '.error.field == "item.eccn"' "$TMPD/body"
post /v1/checks "{\"item\":{\"classification_id\":\"$DBG\"},\"destination\":\"DE\"}"
case "$STATUS" in 400) echo "ok HTTP not controlled: 400" ;; *) echo "not ok HTTP not controlled: $STATUS" ;; esac
serve_stop
expect_exit "the log verifies" 0 "$ACEGATE" audit verify --db "$DB"
