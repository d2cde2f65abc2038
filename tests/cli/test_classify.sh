# acegate classify: the product answer files of tests/classify/products.tsv reach the outcomes
# the CCL text gives; the interactive mode asks only the questions still relevant (answers fed
# on stdin, and through a terminal); bad answer files are errors naming the field, exit 2.
. tests/cli/lib.sh
plan 79

# ---- products: expected outcomes from tests/classify/products.tsv ----
grep -v '^#' tests/classify/products.tsv | tail -n +2 |
while IFS='	' read -r file status candidates ruled_out cyber reconstructed product why; do
  name="classify $file"
  expect_exit "$name: exit 0" 0 $ACEGATE classify --answers "tests/classify/$file" --json --as-of 2026-08-01
  got_c=$(jq -r '[.candidates[] | .eccn + (if .for then " for " + .for else "" end)] | join(";")' $TMPD/out)
  [ -z "$got_c" ] && got_c=-
  if jq -e --arg s "$status" --argjson cy "$cyber" --argjson rec "$reconstructed" \
       '.status == $s and .cybersecurity_item == $cy and .reconstructed == $rec and .missing == []' \
       $TMPD/out >/dev/null && [ "$got_c" = "$candidates" ]; then
    echo "ok $name: $status $candidates"
  else
    echo "not ok $name: got $(jq -c '{status, cybersecurity_item, reconstructed, missing}' $TMPD/out) [$got_c]"
  fi
  if [ "$ruled_out" != "-" ]; then
    para=${ruled_out%%=*} id=${ruled_out#*=}
    jq -e --arg p "$para" --arg id "$id" \
      '[.ruled_out[] | select(any(.paragraphs[]; .eccn == $p)) | .because[].id] | index($id)' \
      $TMPD/out >/dev/null && echo "ok $name: $para ruled out by $id" ||
      echo "not ok $name: $para not ruled out by $id: $(jq -c '.ruled_out' $TMPD/out | head -c 300)"
  fi
done

# the readable output starts with the outcome and names the note
expect_exit "classify: text output" 0 $ACEGATE classify --answers tests/classify/debugger.json --as-of 2026-08-01
expect_grep "classify: outcome first" "^NOT CONTROLLED" $TMPD/out
expect_grep "classify: debugger note named" 'excluded by ISX1 \[772.1 "intrusion software", Note 1\]' $TMPD/out
expect_grep "classify: paragraphs tested listed" "paragraphs tested: 4A005, 4D004, 4D001.a for 4A005" $TMPD/out
expect_exit "classify: before the rule, fewer paragraphs" 0 $ACEGATE classify --answers tests/classify/c2-framework.json --as-of 2021-06-01
expect_nogrep "classify: 4D004 not tested before 2022-03-07" "tested:.*4D004" $TMPD/out
expect_exit "classify: reconstructed text flagged" 0 $ACEGATE classify --answers tests/classify/pentest-distribution.json
expect_grep "classify: reconstructed note" "rests on reconstructed text (A1)" $TMPD/out
expect_exit "classify: answers from stdin" 0 sh -c "$ACEGATE classify --answers - --json < tests/classify/c2-framework.json"
jq -e '.candidates == [{"eccn":"4D004","for":null,"cybersecurity_item":true,"cite":"4D004","text":.candidates[0].text,"provenance":"verbatim"}]' $TMPD/out >/dev/null &&
  echo "ok classify: --answers -" || echo "not ok classify: --answers -"

# ---- bad input: the field and the reason, exit 2 ----
printf '{"IS9": true}' > $TMPD/a.json
expect_exit "classify: unknown id exits 2" 2 $ACEGATE classify --answers $TMPD/a.json
expect_grep "classify: unknown id named" "IS9: not a question of the questionnaire" $TMPD/err
printf '{"IS1": "yes"}' > $TMPD/a.json
expect_exit "classify: wrong value exits 2" 2 $ACEGATE classify --answers $TMPD/a.json
expect_grep "classify: wrong value named" 'IS1: must be true, false or "unknown"' $TMPD/err
printf '{"IS1": 1}' > $TMPD/a.json
expect_exit "classify: number exits 2" 2 $ACEGATE classify --answers $TMPD/a.json
printf '{"IS1": true,' > $TMPD/a.json
expect_exit "classify: malformed JSON exits 2" 2 $ACEGATE classify --answers $TMPD/a.json
expect_grep "classify: malformed JSON located" "answers: malformed JSON at line 1" $TMPD/err
printf '{"J1": true, "J1": false}' > $TMPD/a.json
expect_exit "classify: duplicate id exits 2" 2 $ACEGATE classify --answers $TMPD/a.json
printf '{"intrusion_software": true}' > $TMPD/a.json
expect_exit "classify: a term is not answered" 2 $ACEGATE classify --answers $TMPD/a.json
expect_grep "classify: term named" "intrusion_software: is derived" $TMPD/err
printf '{"5E001a-1b": true}' > $TMPD/a.json
expect_exit "classify: question not in force on the date" 2 $ACEGATE classify --answers $TMPD/a.json --as-of 2022-04-01
printf '{"IS1": tr\377ue}' > $TMPD/a.json
expect_exit "classify: not UTF-8 exits 2" 2 $ACEGATE classify --answers $TMPD/a.json
expect_exit "classify: missing file exits 4" 4 $ACEGATE classify --answers $TMPD/none.json
expect_exit "classify: bad date exits 2" 2 $ACEGATE classify --answers tests/classify/debugger.json --as-of 2026-02-30
expect_exit "classify: unknown option exits 2" 2 $ACEGATE classify --colour
expect_exit "classify: --answers twice exits 2" 2 $ACEGATE classify --answers a --answers b
expect_exit "classify: --answers without value exits 2" 2 $ACEGATE classify --answers
# an edited questionnaire is validated like the other tables: FILE:LINE, exit 3
cp -r data/rules $TMPD/rules
sed -i 's/^term\tintrusion_software\t-\tIS1,/term\tintrusion_software\t-\tIS0,/' $TMPD/rules/classification.tsv
expect_exit "classify: invalid table exits 3" 3 $ACEGATE classify --rules $TMPD/rules --answers tests/classify/debugger.json
expect_grep "classify: invalid table located" "classification.tsv:[0-9]*: column 'requires': 'IS0'" $TMPD/err

# ---- interactive: answers on stdin, a line each ----
# a debugger: after ISX1 (Note 1 to "intrusion software") no other intrusion question is asked
# asked in file order: A1 A2 KA KD KE ISX1 5D001e-1 J1 5D001a-1 5D001c-1b B4-1 D2a3b
printf 'n\nn\nn\ny\nn\ny\nn\nn\nn\nn\nn\nn\n' > $TMPD/in
expect_exit "classify -i: debugger" 0 sh -c "$ACEGATE classify --as-of 2026-08-01 < $TMPD/in"
expect_grep "classify -i: outcome" "^NOT CONTROLLED" $TMPD/out
expect_grep "classify -i: ISX1 asked" "\[ISX1\]" $TMPD/err
expect_nogrep "classify -i: IS1 not asked" "\[IS1\]" $TMPD/err
expect_nogrep "classify -i: 4D004-1 not asked" "\[4D004-1\]" $TMPD/err
expect_nogrep "classify -i: hardware questions not asked" "\[4A005-1\]" $TMPD/err
expect_nogrep "classify -i: QoE not asked once 5A001.j and 5D001.e are out" "\[JX3\]" $TMPD/err
expect_grep "classify -i: last question D2a3b" "\[D2a3b\]" $TMPD/err
expect_nogrep "classify -i: nothing missing" "questions still needed" $TMPD/out
asked=$(grep -c '^\[' $TMPD/err)
[ "$asked" -eq 12 ] && echo "ok classify -i: 12 questions asked" || echo "not ok classify -i: $asked questions asked, wanted 12"
# '?' shows the text a question rests on, and says when it is reconstructed
printf '?\ny\n' > $TMPD/in
expect_exit "classify -i: ? then yes" 0 sh -c "$ACEGATE classify --json < $TMPD/in"
expect_grep "classify -i: ? cites 734.3" "734.3(b)(3)" $TMPD/err
expect_grep "classify -i: ? says reconstructed" "reconstructed: not read" $TMPD/err
jq -e '.status == "not_controlled" and .reconstructed == true' $TMPD/out >/dev/null &&
  echo "ok classify -i: published is not controlled" || echo "not ok classify -i: published"
# an answer that is not one of the choices is asked again; the end of input stops asking
printf 'maybe\nn\n' > $TMPD/in
expect_exit "classify -i: end of input" 0 sh -c "$ACEGATE classify --json < $TMPD/in"
expect_grep "classify -i: asked again" "please answer y, n, u, ? or q" $TMPD/err
jq -e '.status == "cannot_tell" and .missing[0] == "A2" and .cybersecurity_item == null' $TMPD/out >/dev/null &&
  echo "ok classify -i: cannot tell names A2 first" || echo "not ok classify -i: cannot tell"
# "u" is not asked again, but still missing; "q" stops
printf 'u\nq\n' > $TMPD/in
expect_exit "classify -i: u then q" 0 sh -c "$ACEGATE classify --json < $TMPD/in"
jq -e '.missing[0] == "A1" and .missing[1] == "A2"' $TMPD/out >/dev/null &&
  echo "ok classify -i: unknown stays missing" || echo "not ok classify -i: unknown stays missing"
[ "$(grep -c '^\[' $TMPD/err)" -eq 2 ] && echo "ok classify -i: q stops" || echo "not ok classify -i: q stops"

# through a terminal (script(1) gives the command a pty)
if command -v script >/dev/null 2>&1; then
  printf 'n\nn\nn\ny\nn\ny\nn\nn\nn\nn\nn\nn\n' > $TMPD/in
  script -qec "$ACEGATE classify --as-of 2026-08-01" /dev/null < $TMPD/in > $TMPD/tty 2>&1
  expect_grep "classify tty: debugger asked and ruled out" "excluded by ISX1" $TMPD/tty
else
  echo "ok classify tty: skipped (script(1) not installed)"
fi

# docs/classification.md lists every question of the table
missing_docs=""
for id in $(grep '^question	' data/rules/classification.tsv | cut -f2); do
  grep -q "^| $id |" docs/classification.md || missing_docs="$missing_docs $id"
done
[ -z "$missing_docs" ] && echo "ok classify: every question in docs/classification.md" ||
  echo "not ok classify: not in docs/classification.md:$missing_docs"
