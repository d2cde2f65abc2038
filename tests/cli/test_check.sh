# acegate check and acegate rules from the command line: outcomes, exit
# codes, errors that name the field, stdin, batch streaming and limits.
. tests/cli/lib.sh
plan 130

expect_exit "check: flags, readable output" 0 $ACEGATE check --eccn 4D004 --to CN --end-user-type government --as-of 2026-11-24
expect_grep "check: outcome first" "^LICENSE_REQUIRED" $TMPD/out
expect_grep "check: cites 740.22(c)(1)(ii)" "740.22(c)(1)(ii)" $TMPD/out

expect_exit "check: --json" 0 $ACEGATE check --eccn 5A001.j --to DE --json --as-of 2026-11-24
jq -e '.outcome == "NLR" and (.controls | index("NS2"))' $TMPD/out >/dev/null && echo "ok check: NS2 item to Germany is NLR" || echo "not ok check: NS2 item to Germany is NLR"

expect_exit "check: ACE available" 0 $ACEGATE check --eccn 4D004 --to BR --json --as-of 2026-11-24
jq -e '.outcome == "LICENSE_EXCEPTION_ACE" and .ace.available == true' $TMPD/out >/dev/null && echo "ok check: ACE to Brazil" || echo "not ok check: ACE to Brazil"

echo '{"as_of":"2023-05-01","item":{"eccn":"4D001.a","for":"4A005"},"destination":"IR","end_user":{"type":"non_government"}}' > $TMPD/txn.json
expect_exit "check -: transaction from stdin" 0 sh -c "$ACEGATE check --json - < $TMPD/txn.json"
jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "746.7(c)"' $TMPD/out >/dev/null && echo "ok check -: Iran decided by 746.7(c)" || echo "not ok check -: Iran decided by 746.7(c)"

# errors name the field and exit 2
expect_exit "check: unknown destination exits 2" 2 $ACEGATE check --eccn 4D004 --to XX
expect_grep "check: error names destination" 'destination (--to): "XX" is not an EAR destination' $TMPD/err
expect_exit "check: unknown ECCN paragraph exits 2" 2 $ACEGATE check --eccn 4D004.q --to CN
expect_grep "check: not on the CCL" "not on the CCL" $TMPD/err
# an item outside 740.22(b)(1) is answered, never refused: OUT_OF_SCOPE, exit 0, with where to look
expect_exit "check: outside the scope exits 0" 0 $ACEGATE check --eccn 3A001 --to CN
expect_grep "check: OUT_OF_SCOPE first" "^OUT_OF_SCOPE  3A001 to CN" $TMPD/out
expect_grep "check: chart not determined" "licence required by the Country Chart: not determined" $TMPD/out
expect_exit "check: 5A002 --json" 0 $ACEGATE check --eccn 5A002 --to CN --json --as-of 2026-08-01
jq -e '.outcome == "OUT_OF_SCOPE" and .decided_by == "740.22(b)(1)" and .license_required_by_chart == null and .ace.available == false and .item.eccn == "5A002" and (.trace[-2].text | test("740.17"))' $TMPD/out >/dev/null \
  && echo "ok check: 5A002 out of scope, pointed to 740.17" || echo "not ok check: 5A002 out of scope, pointed to 740.17"
expect_exit "check: EAR99" 0 $ACEGATE check --eccn EAR99 --to JP --json --as-of 2026-08-01
jq -e '.outcome == "OUT_OF_SCOPE"' $TMPD/out >/dev/null && echo "ok check: EAR99 out of scope" || echo "not ok check: EAR99 out of scope"
# a malformed ECCN stays an input error
expect_exit "check: malformed ECCN exits 2" 2 $ACEGATE check --eccn 4A005..q --to DE
expect_grep "check: malformed ECCN named" 'item.eccn (--eccn): "4A005..q" is not a CCL paragraph' $TMPD/err
# 4A005.z.1 carries an RS licence requirement worldwide (742.6(a)(6)(iii)(A)) and the
# licence exception restrictions of 740.2(a)(9)(ii): never decided as plain 4A005
for e in "4A005.z.1 --to CA" "4A005.z.2 --to AE"; do
  expect_exit "check: $e is not decided as 4A005" 0 $ACEGATE check --eccn $e --as-of 2026-08-01 --json
  jq -e '.outcome == "OUT_OF_SCOPE" and .decided_by == "740.2(a)(9)(ii)"' $TMPD/out >/dev/null && echo "ok check: $e out of scope by 740.2(a)(9)(ii)" || echo "not ok check: $e out of scope by 740.2(a)(9)(ii)"
done
# 4A005.a to .y are reserved; 4D004's .a and .b are the conditions of its exclusion note
for e in 4A005.a 4D004.a 4D004.b; do
  expect_exit "check: $e is not a CCL paragraph" 2 $ACEGATE check --eccn $e --to DE --as-of 2026-08-01
  expect_grep "check: $e not on the CCL" "\"$e\" is not on the CCL" $TMPD/err
done
expect_exit "check: impossible date exits 2" 2 $ACEGATE check --eccn 4D004 --to CN --as-of 2023-02-29
expect_grep "check: date field named" "as_of (--as-of)" $TMPD/err
expect_exit "check: unknown option exits 2" 2 $ACEGATE check --eccn 4D004 --to CN --colour red
expect_exit "check: no arguments exits 2" 2 $ACEGATE check
# a name that is not UTF-8 is an error, never dropped: Hikvision is on the
# Entity List, and without its name the party would go unscreened
expect_exit "check: --end-user not UTF-8 exits 2" 2 $ACEGATE check --eccn 4D004 --to DE --end-user "$(printf 'Hikvision\377')"
expect_grep "check: not UTF-8 names the field" 'end_user.name (--end-user): not valid UTF-8' $TMPD/err
expect_exit "check: --end-user-type not UTF-8 exits 2" 2 $ACEGATE check --eccn 4D004 --to CN --end-user-type "$(printf 'government\377')"
expect_exit "check: --as-of not UTF-8 exits 2" 2 $ACEGATE check --eccn 4D004 --to IR --as-of "$(printf '2020-01-01\377')"
# a value given twice is refused, not the last one taken
expect_exit "check: --to twice exits 2" 2 $ACEGATE check --eccn 4D004 --to CN --to DE
expect_grep "check: --to twice named" 'destination (--to): given more than once' $TMPD/err
expect_exit "check: --rules twice exits 2" 2 $ACEGATE check --eccn 4D004 --to DE --rules data/rules --rules data/rules
expect_exit "check: - with --batch exits 2" 2 sh -c "$ACEGATE check - --batch < /dev/null"
expect_exit "check: --flag=value" 0 $ACEGATE check --eccn=4D004 --to=BR --json --as-of=2026-11-24
jq -e '.outcome == "LICENSE_EXCEPTION_ACE" and .destination == "BR"' $TMPD/out >/dev/null && echo "ok check: --flag=value read" || echo "not ok check: --flag=value read"
# a "for" on a paragraph that takes none is an error, not ignored
expect_exit "check: 4D004 for 4A005 exits 2" 2 $ACEGATE check --eccn 4D004 --for 4A005 --to DE
expect_grep "check: for not taken named" 'item.for (--for): 4D004 takes no "for" qualifier' $TMPD/err
# a "for" naming a sub-paragraph is for the paragraph above it, but never for a .z one
expect_exit "check: 5D001.a for 5A001.j.1" 0 $ACEGATE check --eccn 5D001.a --for 5A001.j.1 --to DE --json --as-of 2026-08-01
jq -e '.item.for == "5A001.j" and .outcome == "LICENSE_EXCEPTION_ACE"' $TMPD/out >/dev/null && echo "ok check: for a sub-paragraph" || echo "not ok check: for a sub-paragraph"
expect_exit "check: 4D001.a for 4A005.z.1" 0 $ACEGATE check --eccn 4D001.a --for 4A005.z.1 --to DE --json
jq -e '.outcome == "OUT_OF_SCOPE" and .decided_by == "740.2(a)(9)(ii)" and .item.for == "4A005.z.1"' $TMPD/out >/dev/null && echo "ok check: for a .z paragraph is out of scope" || echo "not ok check: for a .z paragraph is out of scope"
# a deemed export goes to a nationality, never to a region (746.6(a)(3), 734.13(b))
expect_exit "check: deemed export to a region exits 2" 2 $ACEGATE check --eccn 4E001.c --to UA-43 --transaction deemed_export --end-user-type individual --as-of 2024-04-20
expect_grep "check: deemed export to a region named" 'destination (--to): "UA-43" is a region' $TMPD/err
# no (c)(1)(ii) exception lifts a deemed export (740.22(c)(1) intro): none is offered, and the
# verified text alone decides it
echo '{"as_of":"2023-04-20","item":{"eccn":"4D004"},"destination":"IL","transaction":"deemed_export","end_user":{"type":"government","national_csirt":true},"end_use":"cyber_incident_response"}' > $TMPD/deemed.json
expect_exit "check: deemed export to Israel's CSIRT" 0 sh -c "$ACEGATE check --json - < $TMPD/deemed.json"
jq -e '.outcome == "LICENSE_REQUIRED" and .ace.reconstructed == false and ([.alternatives[] | select(test("740.22\\(c\\)\\(1\\)\\(ii\\)"))] | length == 0)' $TMPD/out >/dev/null \
  && echo "ok check: deemed export offered no (c)(1)(ii) exception" || echo "not ok check: deemed export offered no (c)(1)(ii) exception"
# under an embargo that does not list ENC, the ENC step says it is not available
expect_exit "check: 5A004.b to Cuba" 0 $ACEGATE check --eccn 5A004.b --to CU --json --as-of 2024-04-20
jq -e '.outcome == "LICENSE_REQUIRED" and ([.trace[] | select(.step == "enc") | .result] == ["blocked"])' $TMPD/out >/dev/null \
  && echo "ok check: ENC blocked under 746.2" || echo "not ok check: ENC blocked under 746.2"
expect_exit "check: a member twice exits 2" 2 sh -c "echo '{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\",\"destination\":\"CN\"}' | $ACEGATE check --json -"
jq -e '.error.field == "destination" and (.error.message | test("twice"))' $TMPD/out >/dev/null && echo "ok check: a member twice named" || echo "not ok check: a member twice named"
expect_exit "check: a party's bad country exits 2" 2 sh -c "echo '{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"BR\",\"consignee\":{\"name\":\"Acme\",\"country\":\"ZZ\"}}' | $ACEGATE check --json -"
jq -e '.error.field == "consignee.country"' $TMPD/out >/dev/null && echo "ok check: the party's country field named" || echo "not ok check: the party's country field named"
expect_exit "check: a flag as a value is a missing value" 2 $ACEGATE check --eccn --to CN
expect_grep "check: missing value named" '\-\-eccn needs a value' $TMPD/err
expect_exit "check: a flag without value takes none" 2 $ACEGATE check --eccn 4D004 --to DE --no-screen --json=yes
expect_exit "check: malformed JSON on stdin exits 2" 2 sh -c "echo '{\"item\":' | $ACEGATE check -"
expect_grep "check: malformed JSON reported" "malformed JSON" $TMPD/err
expect_exit "check: --json error object" 2 sh -c "echo '{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"CN\",\"extra\":1}' | $ACEGATE check --json -"
jq -e '.error.field == "extra" and .error.code == "invalid_input"' $TMPD/out >/dev/null && echo "ok check: error JSON names the field" || echo "not ok check: error JSON names the field"
expect_exit "check: 5A004.b is a decision, not an error" 0 $ACEGATE check --eccn 5A004.b --to DE --json --as-of 2026-11-24
jq -e '.ace.available == false and (.ace.blocked_by | index("740.22(b)(1)"))' $TMPD/out >/dev/null && echo "ok check: 5A004.b not an ACE item" || echo "not ok check: 5A004.b not an ACE item"

# batch: in order, one line per input, bad lines reported and processing goes on
cat > $TMPD/batch.jsonl <<'JSONL'
{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"CN","end_user":{"type":"government"}}
{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"XX"}
not json at all

{"as_of":"2026-11-24","item":{"eccn":"5A001.j"},"destination":"DE"}
JSONL
expect_exit "batch: a bad line makes exit 2" 2 sh -c "$ACEGATE check --batch < $TMPD/batch.jsonl"
[ "$(wc -l < $TMPD/out)" -eq 4 ] && echo "ok batch: one output line per input line" || echo "not ok batch: one output line per input line ($(wc -l < $TMPD/out))"
[ "$(sed -n 1p $TMPD/out | jq -r .outcome)" = "LICENSE_REQUIRED" ] && echo "ok batch: line 1 decided" || echo "not ok batch: line 1 decided"
[ "$(sed -n 2p $TMPD/out | jq -r '.line, .error.field' | tr '\n' ' ')" = "2 destination " ] && echo "ok batch: line 2 error names line and field" || echo "not ok batch: line 2 error"
[ "$(sed -n 3p $TMPD/out | jq -r .line)" = "3" ] && echo "ok batch: line 3 malformed" || echo "not ok batch: line 3 malformed"
[ "$(sed -n 4p $TMPD/out | jq -r .outcome)" = "NLR" ] && echo "ok batch: goes on after errors" || echo "not ok batch: goes on after errors"
grep -v '^not' $TMPD/batch.jsonl | grep -v XX | grep . > $TMPD/good.jsonl
expect_exit "batch: all good lines exit 0" 0 sh -c "$ACEGATE check --batch < $TMPD/good.jsonl"

# a batch line of any length: rejected over the limit, memory stays bounded
head -c 3000000 /dev/zero | tr '\0' 'a' > $TMPD/long.txt
{ cat $TMPD/long.txt; echo; echo '{"as_of":"2026-11-24","item":{"eccn":"4D004"},"destination":"CA"}'; } > $TMPD/long.jsonl
expect_exit "batch: over-long line rejected" 2 sh -c "$ACEGATE check --batch < $TMPD/long.jsonl"
[ "$(sed -n 1p $TMPD/out | jq -r .error.code)" = "too_large" ] && echo "ok batch: over-long line is too_large" || echo "not ok batch: over-long line is too_large"
[ "$(sed -n 2p $TMPD/out | jq -r .outcome)" = "NLR" ] && echo "ok batch: next line still decided" || echo "not ok batch: next line still decided"

# rules: summary, a table, and an edited copy that is broken
expect_exit "rules: summary" 0 $ACEGATE rules
expect_grep "rules: version shown" "version: 2026-11-27+" $TMPD/out
expect_exit "rules: one table" 0 $ACEGATE rules --table embargoes
expect_grep "rules: embargo rows with sources" "746.8(c)(2)" $TMPD/out
expect_grep "rules: embargo reach shown" "^CU .*all_items" $TMPD/out
expect_exit "rules: the paragraphs table" 0 $ACEGATE rules --table ccl-paragraphs
expect_grep "rules: 4A005.z.2 is a paragraph" "^4A005.z.2 " $TMPD/out
expect_exit "rules: the outside-scope table" 0 $ACEGATE rules --table outside-scope
expect_grep "rules: .z row points to 742.6(a)(6)(iii)" '^\.z .*740\.2(a)(9)(ii) *see 742\.6(a)(6)(iii)' $TMPD/out
expect_exit "rules: the list-meanings table" 0 $ACEGATE rules --table list-meanings
expect_grep "rules: UVL row" '^UVL .*REVIEW .*744\.15' $TMPD/out
expect_exit "rules: the ccl-new-items table" 0 $ACEGATE rules --table ccl-new-items
expect_grep "rules: 4A005 came onto the CCL on 2022-03-07" '^4A005 .*on the CCL from 2022-03-07' $TMPD/out
# one edited row changes every answer: the rule-in-force citation is read from meta.tsv
cp -r data/rules $TMPD/rules3
sed -i 's/^rule_in_force_cite\t.*/rule_in_force_cite\t87 FR 1670-1671/' $TMPD/rules3/meta.tsv
expect_exit "check: edited meta.tsv" 0 $ACEGATE check --rules $TMPD/rules3 --eccn 4D004 --to DE --as-of 2021-06-01 --json
jq -e '.decided_by == "87 FR 1670-1671" and (.ace.blocked_by | index("87 FR 1670-1671"))' $TMPD/out >/dev/null && echo "ok check: rule citation from meta.tsv" || echo "not ok check: rule citation from meta.tsv"
# ... and an edited outside-scope row changes where an out-of-scope item points
sed -i 's/^5A002\t740.22(b)(1)\t740.17\t/5A002\t740.22(b)(1)\t740.17(b)\t/' $TMPD/rules3/outside-scope.tsv
expect_exit "check: edited outside-scope.tsv" 0 $ACEGATE check --rules $TMPD/rules3 --eccn 5A002 --to DE --json
jq -e '.trace[-1].text | test("See 740.17\\(b\\)")' $TMPD/out >/dev/null && echo "ok check: pointer from outside-scope.tsv" || echo "not ok check: pointer from outside-scope.tsv"
expect_nogrep "rules: reserved 4A005.a is not" "^4A005.a " $TMPD/out
cp -r data/rules $TMPD/rules
sed -i 's/^D:1\tCN\t/D:9\tCN\t/' $TMPD/rules/country-groups.tsv
expect_exit "rules: broken table exits 3" 3 $ACEGATE rules --rules $TMPD/rules
expect_grep "rules: file:line reason" "country-groups.tsv:[0-9]*: column 'group'" $TMPD/err
expect_exit "check --rules with a broken table exits 3" 3 $ACEGATE check --rules $TMPD/rules --eccn 4D004 --to CN
cp -r data/rules $TMPD/rules2
expect_exit "check --rules with an edited copy" 0 $ACEGATE check --rules $TMPD/rules2 --eccn 4D004 --to CN --json
# a U.S. government agency abroad: --end-user-country US; US is never a destination
expect_exit "check: U.S. agency in China" 0 $ACEGATE check --eccn 4D004 --to CN --end-user-type government --end-user-country US --as-of 2026-08-01 --json
jq -e '.outcome == "LICENSE_EXCEPTION_ACE" and ([.trace[] | select(.step == "gov" and .cite == "740.22(a)")] | length == 1) and ([.alternatives[] | select(test("GOV \\(740.11\\)"))] | length >= 1)' $TMPD/out >/dev/null \
  && echo "ok check: U.S. agency decided, GOV named" || echo "not ok check: U.S. agency decided, GOV named"
expect_exit "check: US as destination exits 2" 2 $ACEGATE check --eccn 4D004 --to US
expect_grep "check: US as destination named" 'destination (--to): "US" is the United States' $TMPD/err
# before 4D004 existed the chart is not read: null in JSON, "not determined" in text
expect_exit "check: 4D004 before the rule" 0 $ACEGATE check --eccn 4D004 --to RU --as-of 2022-01-15 --json
jq -e '.license_required_by_chart == null and .outcome == "REVIEW"' $TMPD/out >/dev/null && echo "ok check: chart null before the item existed" || echo "not ok check: chart null before the item existed"
expect_exit "check: 4D004 before the rule, text" 0 $ACEGATE check --eccn 4D004 --to RU --as-of 2022-01-15
expect_grep "check: chart not determined in text" "licence required by the Country Chart: not determined" $TMPD/out
expect_grep "check: no CCL entry before 2022-03-07" "4D004 had no CCL entry before 2022-03-07" $TMPD/out

# Part 746 and D:5 facts are table rows: one edited row changes the answer.
# 746.8(c)(2)(vi) keeps ENC for the missions of A:5/A:6 governments (enc_for in embargoes.tsv)
echo '{"as_of":"2025-02-01","item":{"eccn":"5A004.b"},"destination":"RU","end_user":{"type":"government","country":"DE"}}' > $TMPD/mission.json
expect_exit "check: 5A004.b to the German embassy in Moscow" 0 sh -c "$ACEGATE check --json - < $TMPD/mission.json"
jq -e '.outcome == "REVIEW" and .decided_by == "746.8(c)(2)"' $TMPD/out >/dev/null && echo "ok check: ENC kept for an A:5 mission" || echo "not ok check: ENC kept for an A:5 mission"
cp -r data/rules $TMPD/rules746
sed -i 's#,government@A:5/A:6\t#\t#' $TMPD/rules746/embargoes.tsv
expect_exit "check: the same with the missions taken out of enc_for" 0 sh -c "$ACEGATE check --rules $TMPD/rules746 --json - < $TMPD/mission.json"
jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "746.8(c)(2)"' $TMPD/out >/dev/null && echo "ok check: one enc_for edit refuses ENC" || echo "not ok check: one enc_for edit refuses ENC"
# D:5 follows the State list (d5-state-list.tsv governs = state); following the BIS table instead
# takes Ethiopia out of D:5, and then 740.22(c)(1)(iii) no longer reaches a company there
expect_exit "check: 4A005 to a company in Ethiopia" 0 $ACEGATE check --eccn 4A005 --to ET --as-of 2024-05-01 --json
jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "740.22(c)(1)(iii)"' $TMPD/out >/dev/null && echo "ok check: Ethiopia in D:5 by the State list" || echo "not ok check: Ethiopia in D:5 by the State list"
sed -i 's/^\(ET\t.*\)\tstate\t/\1\ttable\t/' $TMPD/rules746/d5-state-list.tsv
expect_exit "check: Ethiopia with the BIS table governing" 0 $ACEGATE check --rules $TMPD/rules746 --eccn 4A005 --to ET --as-of 2024-05-01 --json
jq -e '.outcome == "LICENSE_EXCEPTION_ACE"' $TMPD/out >/dev/null && echo "ok check: one governs edit changes D:5" || echo "not ok check: one governs edit changes D:5"
# 746.8 before its 2024 renumbering is cited by today's numbers, and the step says so
expect_exit "check: 4D004 to Russia in 2023" 0 $ACEGATE check --eccn 4D004 --to RU --as-of 2023-03-01 --json
jq -e '[.trace[] | select(.step == "part_746") | .text | test("today.s numbering")] == [true]' $TMPD/out >/dev/null && echo "ok check: 2023 citation says today's numbering" || echo "not ok check: 2023 citation says today's numbering"
expect_exit "check: 4D004 to Russia in 2025" 0 $ACEGATE check --eccn 4D004 --to RU --as-of 2025-03-01 --json
jq -e '[.trace[] | select(.step == "part_746") | .text | test("today.s numbering")] == [false]' $TMPD/out >/dev/null && echo "ok check: 2025 citation as numbered" || echo "not ok check: 2025 citation as numbered"
# a deemed reexport lifted by (c)(1)(iii)(C) says the row is a reading of the text
expect_exit "check: deemed reexport to a Chinese national" 0 $ACEGATE check --eccn 4E001.c --to CN --transaction deemed_reexport --end-user-type individual --as-of 2024-05-01 --json
jq -e '.outcome == "LICENSE_EXCEPTION_ACE" and ([.trace[] | select(.step == "ace_exception") | .text | test("reading")] == [true])' $TMPD/out >/dev/null && echo "ok check: deemed reexport row is a reading" || echo "not ok check: deemed reexport row is a reading"
# the Country Groups step says when D:5 comes from the State Department's list, in or out
expect_exit "check: 4A005 to Cambodia after the State removal" 0 $ACEGATE check --eccn 4A005 --to KH --as-of 2025-12-01 --json
jq -e '[.trace[] | select(.step == "country_groups") | .text | test("not in D:5 on this date, following the State Department")] == [true]' $TMPD/out >/dev/null && echo "ok check: Cambodia out of D:5 by the State list" || echo "not ok check: Cambodia out of D:5 by the State list"
expect_exit "check: 4A005 to Ethiopia" 0 $ACEGATE check --eccn 4A005 --to ET --as-of 2024-05-01 --json
jq -e '[.trace[] | select(.step == "country_groups") | .text | test("D:5 here follows the State Department")] == [true]' $TMPD/out >/dev/null && echo "ok check: Ethiopia in D:5 by the State list, said" || echo "not ok check: Ethiopia in D:5 by the State list, said"
