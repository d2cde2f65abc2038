#!/bin/sh
# --batch --format csv for screen and check: a header row, a column
# mapping, the caller's ref passed through so results join back, cells a
# spreadsheet would run as formulas neutralised, a bad row answered in its
# place; progress on stderr only when it is a terminal.
. "$(dirname "$0")/lib.sh"
plan 31
export ACEGATE_HOME="$TMPD/home"
DB="$TMPD/audit.db"

# ---- screen ----
printf '\357\273\277CustomerID,Company,Ctry,Notes\r\nC-1,Hikvision Digital Technology,CN,first\r\nC-2,"=HYPERLINK(""http://x"",""y"")",,\r\n"+C-3","Blue Harbor Logistics, Ltd",US,"two\nlines"\r\n\r\nC-5,,,\r\n' >"$TMPD/cust.csv"
expect_exit csv-screen 2 "$ACEGATE" screen --batch --format csv --columns name=Company,country=Ctry,ref=CustomerID --db "$DB" <"$TMPD/cust.csv"
cp "$TMPD/out" "$TMPD/screen.csv"
expect_grep csv-screen-header "^line,ref,outcome,name,country,score,level,list_code,list,source_id,entry_name,matched_name,other_matches,warnings,lists_version,error_code,error_field,error_message,audit_id" "$TMPD/screen.csv"
expect_grep csv-screen-hit "^2,C-1,CONFIDENT_MATCH,Hikvision Digital Technology,CN,[0-9.]*,confident,EL,Entity List,csl:[0-9a-f]\{12\},\"Hangzhou Hikvision Digital Technology Co., Ltd.\"" "$TMPD/screen.csv"
expect_grep csv-screen-audit-id "^2,C-1,.*,a-[0-9]*-[0-9a-f]\{12\}.$" "$TMPD/screen.csv"
# a name that is a formula comes back inert: quoted, with a leading '
expect_grep csv-screen-formula "^3,C-2,NO_MATCH,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"," "$TMPD/screen.csv"
# so does a ref beginning with +; a quoted comma and line break are one cell
expect_grep csv-screen-ref-formula "^4,\"'+C-3\",NO_MATCH,\"Blue Harbor Logistics, Ltd\",US," "$TMPD/screen.csv"
# line numbers count the header and a quoted line break; the blank row is skipped
expect_grep csv-screen-bad-row "^7,C-5,.*,invalid_input,name,is required," "$TMPD/screen.csv"
if [ "$(wc -l <"$TMPD/screen.csv")" -eq 5 ]; then echo "ok csv-screen-rows"; else echo "not ok csv-screen-rows"; cat "$TMPD/screen.csv"; fi
# each decided row is recorded with the JSON request it was made into
"$ACEGATE" audit search --ref C-1 --db "$DB" >"$TMPD/rec" 2>&1
expect_grep csv-screen-recorded '"kind":"screening".*"request":{"name":"Hikvision Digital Technology","country":"CN","ref":"C-1"}' "$TMPD/rec"

# headers named after the fields need no mapping
printf 'name,ref\nNSO Group,A-9\n' >"$TMPD/plain.csv"
expect_exit csv-screen-plain 0 "$ACEGATE" screen --batch --format csv --db :memory: <"$TMPD/plain.csv"
expect_grep csv-screen-plain-hit "^2,A-9,CONFIDENT_MATCH,NSO Group,," "$TMPD/out"

# a mapping naming a missing column, or no name column at all: refused up front
expect_exit csv-missing-column 2 "$ACEGATE" screen --batch --format csv --columns name=Firm --db :memory: <"$TMPD/cust.csv"
expect_grep csv-missing-column-msg "columns: name=Firm: the header has no column 'Firm'" "$TMPD/err"
expect_exit csv-no-name 2 "$ACEGATE" screen --batch --format csv --db :memory: <"$TMPD/cust.csv"
expect_grep csv-no-name-msg "no column gives 'name'" "$TMPD/err"
expect_exit csv-bad-columns 2 "$ACEGATE" screen --batch --format csv --columns name --db :memory: <"$TMPD/cust.csv"
expect_exit csv-bad-format 2 "$ACEGATE" screen --batch --format xlsx --db :memory: <"$TMPD/cust.csv"
expect_exit csv-columns-without-batch 2 "$ACEGATE" screen Huawei --format csv
printf 'name\n"open quote\n' >"$TMPD/open.csv"
expect_exit csv-open-quote 2 "$ACEGATE" screen --batch --format csv --db :memory: <"$TMPD/open.csv"
expect_grep csv-open-quote-row "^2,,.*,invalid_input,,a quoted field is not closed" "$TMPD/out"

# ---- check ----
printf 'OrderID,ECCN,Ctry,Customer,end_user.type,Amount\nPO-1,4D004,CN,,government,-5\nPO-2,5A001.j,DE,Hikvision Digital Technology,,10\nPO-3,4D004,XX,,,\n' >"$TMPD/orders.csv"
expect_exit csv-check 2 "$ACEGATE" check --batch --format csv --columns eccn=ECCN,destination=Ctry,end_user.name=Customer,ref=OrderID --db "$DB" <"$TMPD/orders.csv"
cp "$TMPD/out" "$TMPD/check.csv"
expect_grep csv-check-header "^line,ref,outcome,decided_by,reason,eccn,destination,as_of,ace_available,warnings,rules_version,lists_version,error_code,error_field,error_message,audit_id" "$TMPD/check.csv"
# 740.22(c)(1)(ii): no ACE for a government end user in D:1 (China)
expect_grep csv-check-gov "^2,PO-1,LICENSE_REQUIRED,740.22(c)(1)(ii),\"740.22(c)(1)(ii): License Exception ACE does not authorize" "$TMPD/check.csv"
# 744.11: an Entity List end user needs a licence, named with the entry
expect_grep csv-check-el "^3,PO-2,LICENSE_REQUIRED,744.11,.*Hangzhou Hikvision Digital Technology" "$TMPD/check.csv"
expect_grep csv-check-el-stale "^3,PO-2,.*; lists_stale EL 2026-07-31;" "$TMPD/check.csv"
expect_grep csv-check-bad "^4,PO-3,.*,invalid_input,destination," "$TMPD/check.csv"
expect_exit csv-check-no-eccn 2 "$ACEGATE" check --batch --format csv --db :memory: <"$TMPD/orders.csv"
expect_grep csv-check-no-eccn-msg "no column gives 'item.eccn'" "$TMPD/err"

# ---- JSONL stays the default ----
printf '{"name":"NSO Group","ref":"J-1"}\n' | "$ACEGATE" screen --batch --db :memory: >"$TMPD/out" 2>"$TMPD/err"
expect_grep jsonl-default '^{"audit_id":"a-[0-9]*-[0-9a-f]*","name":"NSO Group"' "$TMPD/out"

# ---- progress: on a terminal only ----
i=0
while [ $i -lt 60000 ]; do echo '{"item":{"eccn":"4D004"},"destination":"BR"}'; i=$((i + 1)); done >"$TMPD/many.jsonl"
"$ACEGATE" check --batch --db :memory: <"$TMPD/many.jsonl" >"$TMPD/many.out" 2>"$TMPD/many.err"
if [ ! -s "$TMPD/many.err" ] && [ "$(wc -l <"$TMPD/many.out")" -eq 60000 ]; then echo "ok progress-not-a-terminal"; else echo "not ok progress-not-a-terminal"; head -c 300 "$TMPD/many.err"; fi
if command -v script >/dev/null 2>&1; then
  # done, rate, time left, drawn once the batch has run half a second: the
  # answers go to a reader that starts after a second, so the batch, held
  # up by the full pipe, runs that long on any machine
  script -qec "\"$ACEGATE\" check --batch --db :memory: < \"$TMPD/many.jsonl\" | { sleep 1; cat > \"$TMPD/many.out\"; }" /dev/null >"$TMPD/pty.txt" 2>&1
  if grep -q "done, [0-9]*/s, [0-9]*:[0-9][0-9] left" "$TMPD/pty.txt"; then echo "ok progress-terminal"
  else echo "not ok progress-terminal"; head -c 300 "$TMPD/pty.txt"; fi
else
  echo "ok progress-terminal # skip: script(1) not installed"
fi
