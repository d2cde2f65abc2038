# acegate check with party names: each party is screened against the
# restricted-party lists and the outcome follows 744.11 (Entity List),
# 736.2(b)(4) (Denied Persons) and OFAC (SDN). The cyber-tool traffickers
# added by 86 FR 60760 (2021-11-04) must hit, by name, alias, with a typo
# or another legal form.
. tests/cli/lib.sh
plan 36
LISTS=data/lists/csl-2026-07-31.csv
export ACEGATE_HOME=$TMPD/home   # never the user's own data directory

el() { # NAME: a check of 4D004 to Germany must need a licence under 744.11 / 86 FR 60760
  $ACEGATE check --eccn 4D004 --to DE --end-user "$1" --lists $LISTS --json > $TMPD/el.json 2>$TMPD/el.err
  if jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "744.11"
      and (.ace.blocked_by | index("744.11"))
      and (.screening[0].matches[0].federal_register_notice == "86 FR 60760")
      and (.screening[0].matches[0].license_policy | test("Presumption of denial"))
      and ([.trace[] | select(.step == "screening") | .text] | join(" ") | test("Presumption of denial"))' \
      $TMPD/el.json >/dev/null; then
    echo "ok entity list: $1"
  else
    echo "not ok entity list: $1"; head -c 600 $TMPD/el.json; cat $TMPD/el.err
  fi
}
el "NSO Group"
el "N.S.O. Group Ltd"
el "NSO Grup"
el "Candiru"
el "Candiru Limited"
el "Saito Tech Ltd."
el "Saito Tech"
el "DF Associates Ltd."
el "Grindavik Solutions"
el "Taveta Ltd."
el "Greenwick Solutions"
el "Tabatha Ltd"
el "Computer Security Initiative Consultancy PTE. LTD."
el "Computer Security Initiative Consultancy Pte Ltd"
el "Computer Security Initiatve Consultancy"
el "COSEINC"

# Positive Technologies is on the Entity List (86 FR 60760) and, as JSC Positive
# Technologies, on the SDN list (CYBER2): blocked by OFAC, so PROHIBITED, with
# the Entity List entry still shown.
for n in "Positive Technologies" "Positve Technologies" "JSC Positive Technologies"; do
  $ACEGATE check --eccn 5A001.j --to RU --end-user "$n" --lists $LISTS --json > $TMPD/pt.json
  jq -e '.outcome == "PROHIBITED"
      and ([.screening[0].matches[] | .list] | index("Entity List"))
      and ([.screening[0].matches[] | select(.list | test("Specially Designated")) | .programs] | join(" ") | test("CYBER2"))
      and ([.trace[] | select(.step == "screening") | .text] | join(" ") | test("CYBER2"))' \
      $TMPD/pt.json >/dev/null && echo "ok sdn and entity list: $n" || { echo "not ok sdn and entity list: $n"; head -c 600 $TMPD/pt.json; }
done

# a clean name stays as the regulation decides; the screening step says so
$ACEGATE check --eccn 4D004 --to DE --end-user "Acme Widgets GmbH" --lists $LISTS --json > $TMPD/ok.json
jq -e '.outcome == "LICENSE_EXCEPTION_ACE" and (.screening[0].matches | length == 0)
    and ([.trace[] | select(.step == "screening") | .result] == ["pass"])' $TMPD/ok.json >/dev/null \
  && echo "ok clean name: ACE" || echo "not ok clean name: ACE"

# a possible match below the confident threshold: REVIEW with the candidate listed
$ACEGATE check --eccn 4D004 --to DE --end-user "NSO Grop Technologies" --lists $LISTS --json > $TMPD/rv.json
jq -e '.outcome == "REVIEW" and .screening[0].matches[0].level == "possible"' $TMPD/rv.json >/dev/null \
  && echo "ok possible match: REVIEW" || echo "not ok possible match: REVIEW"

# every party role is screened
$ACEGATE check --eccn 4D004 --to DE --end-user "Acme Widgets GmbH" --consignee "Candiru" --lists $LISTS --json > $TMPD/cs.json
jq -e '.outcome == "LICENSE_REQUIRED" and ([.screening[] | .party] == ["end_user","consignee"])' $TMPD/cs.json >/dev/null \
  && echo "ok consignee screened" || echo "not ok consignee screened"
$ACEGATE check --eccn 4D004 --to DE --purchaser "Saito Tech" --lists $LISTS --json > $TMPD/pu.json
jq -e '.outcome == "LICENSE_REQUIRED"' $TMPD/pu.json >/dev/null && echo "ok purchaser screened" || echo "not ok purchaser screened"

# a Denied Persons List name is PROHIBITED under General Prohibition Four
dpl="KAL TEK LABS"
$ACEGATE check --eccn 4D004 --to CA --end-user "$dpl" --lists $LISTS --json > $TMPD/dp.json
jq -e '.outcome == "PROHIBITED" and .decided_by == "736.2(b)(4)"' $TMPD/dp.json >/dev/null \
  && echo "ok denied person: PROHIBITED ($dpl)" || { echo "not ok denied person: PROHIBITED ($dpl)"; head -c 400 $TMPD/dp.json; }
# ...also before the cybersecurity rule: the lists do not depend on how the
# item was classified, so a date before 2022-03-07 does not hide a listed party
$ACEGATE check --eccn 5A001.j --to NL --end-user "$dpl" --lists $LISTS --as-of 2022-03-01 --json > $TMPD/dp0.json
jq -e '.outcome == "PROHIBITED" and .decided_by == "736.2(b)(4)" and .cyber_rule_in_force == false
    and ([.trace[] | select(.step == "screening") | .result] | index("prohibited"))' $TMPD/dp0.json >/dev/null \
  && echo "ok denied person before the rule: PROHIBITED" || { echo "not ok denied person before the rule: PROHIBITED"; head -c 400 $TMPD/dp0.json; }
$ACEGATE check --eccn 4D004 --to DE --end-user "Candiru" --lists $LISTS --as-of 2021-12-01 --json > $TMPD/el0.json
jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "744.11"' $TMPD/el0.json >/dev/null \
  && echo "ok entity list before the rule: LICENSE_REQUIRED" || { echo "not ok entity list before the rule: LICENSE_REQUIRED"; head -c 400 $TMPD/el0.json; }

# screening turned off is stated in the decision; unreadable lists are an error, not a pass
expect_exit "no-screen: decided" 0 $ACEGATE check --eccn 4D004 --to DE --end-user "Candiru" --no-screen --json
jq -e '.outcome == "LICENSE_EXCEPTION_ACE" and ([.trace[] | select(.step == "screening") | .result] == ["info"])' $TMPD/out >/dev/null \
  && echo "ok no-screen stated in the trace" || echo "not ok no-screen stated in the trace"
expect_exit "missing list file is an error" 4 $ACEGATE check --eccn 4D004 --to DE --end-user "Candiru" --lists $TMPD/none.csv
printf 'not,a,list\n1,2,3\n' > $TMPD/bad.csv
expect_exit "unrecognised list file is an error" 3 $ACEGATE check --eccn 4D004 --to DE --end-user "Candiru" --lists $TMPD/bad.csv

# batch: names screened line by line, the lists opened once
printf '%s\n' '{"item":{"eccn":"4D004"},"destination":"DE","end_user":{"name":"Candiru"}}' \
  '{"item":{"eccn":"4D004"},"destination":"DE","end_user":{"name":"Acme Widgets GmbH"}}' \
  '{"item":{"eccn":"4D004"},"destination":"DE"}' > $TMPD/b.jsonl
expect_exit "batch with names" 0 sh -c "$ACEGATE check --batch --lists $LISTS < $TMPD/b.jsonl"
[ "$(jq -r .outcome $TMPD/out | tr '\n' ' ')" = "LICENSE_REQUIRED LICENSE_EXCEPTION_ACE LICENSE_EXCEPTION_ACE " ] \
  && echo "ok batch screening outcomes" || echo "not ok batch screening outcomes: $(jq -r .outcome $TMPD/out | tr '\n' ' ')"

# The Military End-User List (744.21) and the Unverified List (744.15), as
# list-meanings.tsv gives them: an MEU party needs a licence, ACE does not
# overcome it; an Unverified List party suspends licence exceptions, so ACE
# cannot meet the chart's requirement (NS1 X for Germany).
# (their offices delivered to in Germany, where no 740.22(c) row applies, so the list decides)
echo '{"as_of":"2026-08-01","item":{"eccn":"4D004"},"destination":"DE","end_user":{"name":"Academy of Aerospace Solid Propulsion Technology","country":"CN"}}' > $TMPD/meu.txn
$ACEGATE check --lists $LISTS --json - < $TMPD/meu.txn > $TMPD/meu.json 2>$TMPD/meu.err
if jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "744.21" and (.ace.blocked_by | index("744.21"))
    and ([.trace[] | select(.step == "screening" and .cite == "744.21")] | length == 1)' $TMPD/meu.json >/dev/null; then
  echo "ok military end-user list: 744.21"
else
  echo "not ok military end-user list: 744.21"; head -c 600 $TMPD/meu.json; cat $TMPD/meu.err
fi
echo '{"as_of":"2026-08-01","item":{"eccn":"4D004"},"destination":"DE","end_user":{"name":"Atlas Sanatgaran","country":"AM"}}' > $TMPD/uvl.txn
$ACEGATE check --lists $LISTS --json - < $TMPD/uvl.txn > $TMPD/uvl.json 2>$TMPD/uvl.err
if jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "744.15" and .ace.available == false
    and (.ace.blocked_by | index("744.15"))
    and ([.trace[] | select(.step == "screening" and .result == "blocked") | .text] | join(" ") | test("744.15\\(b\\) statement"))' \
    $TMPD/uvl.json >/dev/null; then
  echo "ok unverified list: 744.15 suspends ACE"
else
  echo "not ok unverified list: 744.15 suspends ACE"; head -c 600 $TMPD/uvl.json; cat $TMPD/uvl.err
fi
# ... and where the chart needs no licence (4D004 to Canada: NS1 has no X), the 744.15(b)
# statement must still be obtained: REVIEW, never NLR
echo '{"as_of":"2026-08-01","item":{"eccn":"4D004"},"destination":"CA","end_user":{"name":"Atlas Sanatgaran","country":"AM"}}' > $TMPD/uvl2.txn
$ACEGATE check --lists $LISTS --json - < $TMPD/uvl2.txn > $TMPD/uvl2.json 2>$TMPD/uvl2.err
if jq -e '.outcome == "REVIEW" and .decided_by == "744.15" and .license_required_by_chart == false' $TMPD/uvl2.json >/dev/null; then
  echo "ok unverified list: REVIEW where the chart needs no licence"
else
  echo "not ok unverified list: REVIEW where the chart needs no licence"; head -c 600 $TMPD/uvl2.json; cat $TMPD/uvl2.err
fi
# one edited row of list-meanings.tsv changes the answer: a stricter reading of 744.15
cp -r data/rules $TMPD/rules-uvl
sed -i 's/^UVL\t-\tREVIEW\t/UVL\t-\tLICENSE_REQUIRED\t/' $TMPD/rules-uvl/list-meanings.tsv
$ACEGATE check --rules $TMPD/rules-uvl --lists $LISTS --json - < $TMPD/uvl2.txn > $TMPD/uvl3.json 2>$TMPD/uvl3.err
if jq -e '.outcome == "LICENSE_REQUIRED" and .decided_by == "744.15"' $TMPD/uvl3.json >/dev/null; then
  echo "ok list-meanings.tsv: an edited row changes the outcome"
else
  echo "not ok list-meanings.tsv: an edited row changes the outcome"; head -c 600 $TMPD/uvl3.json; cat $TMPD/uvl3.err
fi
