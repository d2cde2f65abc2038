#!/bin/sh
# test_dask_batch.sh - check --batch and screen --batch run by Dask
# distributed (bench/dask_batch.py, a LocalCluster of two worker processes
# on loopback) over partitions of a JSONL file give what one process gives:
# the same answers in the same order, a rejected line under its line number
# in the whole file, the same exit status; only the audit ids differ, each
# partition being recorded in its worker's own log.
. "$(dirname "$0")/lib.sh"
plan 12
PY=/usr/bin/python3 # Debian's python3-distributed (scripts/install-deps.sh)

# the golden requests four times, a rejected line, a blank line, three more
for f in tests/cases/*.json; do jq -c .request "$f"; done >"$TMPD/cases.jsonl"
for i in 1 2 3 4; do cat "$TMPD/cases.jsonl"; done >"$TMPD/in.jsonl"
echo '{"item":{"eccn":"4D004"},"destination":"XX"}' >>"$TMPD/in.jsonl"
echo >>"$TMPD/in.jsonl"
head -n 3 "$TMPD/cases.jsonl" >>"$TMPD/in.jsonl"
BAD=$((4 * $(wc -l <"$TMPD/cases.jsonl") + 1))
LINES=$(grep -c . "$TMPD/in.jsonl")

"$ACEGATE" check --batch --db "$TMPD/one.db" <"$TMPD/in.jsonl" >"$TMPD/one.jsonl" 2>/dev/null
ONE_RC=$?
mkdir "$TMPD/logs"
$PY bench/dask_batch.py --acegate "$ACEGATE" --input "$TMPD/in.jsonl" --output "$TMPD/dask.jsonl" \
  --workers 2 --partitions 6 --log-dir "$TMPD/logs" 2>"$TMPD/dask.err"
DASK_RC=$?
[ "$ONE_RC" -eq 2 ] && [ "$DASK_RC" -eq 2 ] && echo "ok exit 2 (a rejected line) from both" ||
  { echo "not ok exit 2 from both: one $ONE_RC, dask $DASK_RC"; sed 's/^/  | /' "$TMPD/dask.err" | tail -5; }
unid() { sed 's/^{"audit_id":"a-[0-9]*-[0-9a-f]*",/{/' "$1"; }
unid "$TMPD/one.jsonl" >"$TMPD/one.cmp"
unid "$TMPD/dask.jsonl" >"$TMPD/dask.cmp"
[ "$(wc -l <"$TMPD/dask.cmp")" -eq "$LINES" ] && echo "ok one answer per non-blank line" ||
  echo "not ok one answer per non-blank line: $(wc -l <"$TMPD/dask.cmp") of $LINES"
sort "$TMPD/one.cmp" >"$TMPD/one.sorted"
sort "$TMPD/dask.cmp" >"$TMPD/dask.sorted"
cmp -s "$TMPD/one.sorted" "$TMPD/dask.sorted" && echo "ok the same answers as one process" ||
  echo "not ok the same answers as one process"
cmp -s "$TMPD/one.cmp" "$TMPD/dask.cmp" && echo "ok  ... in the same order" ||
  echo "not ok  ... in the same order"
expect_grep "the rejected line keeps its number in the file" "^{\"line\":$BAD,\"error\":{\"code\":\"invalid_input\".*\"field\":\"destination\"" "$TMPD/dask.jsonl"
# every answer but the rejected one carries an audit id, each from a partition's log
[ "$(grep -c '^{"audit_id":"a-' "$TMPD/dask.jsonl")" -eq $((LINES - 1)) ] &&
  echo "ok every decided answer has an audit id" || echo "not ok every decided answer has an audit id"
n=0 bad=0
for db in "$TMPD"/logs/part-*.db; do
  "$ACEGATE" audit verify --db "$db" >/dev/null 2>&1 || bad=$((bad + 1))
  n=$((n + 1))
done
[ "$n" -eq 6 ] && [ "$bad" -eq 0 ] && echo "ok six partition logs, each verified" ||
  echo "not ok six partition logs, each verified: $n logs, $bad failed"
id=$(sed -n "$((BAD + 1))p" "$TMPD/dask.jsonl" | jq -r .audit_id)
found=0
for db in "$TMPD"/logs/part-*.db; do
  "$ACEGATE" audit get "$id" --db "$db" >/dev/null 2>&1 && found=$((found + 1))
done
[ "$found" -eq 1 ] && echo "ok an answer's record is in one partition's log" ||
  echo "not ok an answer's record is in one partition's log: in $found"
expect_grep "two workers answered" "2 workers" "$TMPD/dask.err"
expect_grep "throughput per worker printed" "worker .*lines/s" "$TMPD/dask.err"

# screen --batch the same way: names of the bundled lists and a few others
printf '%s\n' '{"name":"Hikvision Digital Technology","country":"CN"}' \
  '{"name":"Acme Widgets Ltd"}' '{"name":"Huawei Technologies Co., Ltd."}' '{"name":""}' \
  '{"name":"Rosoboronexport","country":"RU"}' '{"name":"Example GmbH","country":"DE"}' \
  >"$TMPD/names.jsonl"
for i in 1 2 3 4 5; do cat "$TMPD/names.jsonl"; done >"$TMPD/screen.jsonl"
"$ACEGATE" screen --batch --db "$TMPD/one-s.db" <"$TMPD/screen.jsonl" >"$TMPD/one-s.jsonl" 2>/dev/null
S1=$?
$PY bench/dask_batch.py --acegate "$ACEGATE" --input "$TMPD/screen.jsonl" \
  --output "$TMPD/dask-s.jsonl" --workers 2 --partitions 4 --command screen 2>"$TMPD/dask.err"
S2=$?
[ "$S1" -eq "$S2" ] && echo "ok screen: the same exit status ($S1)" || echo "not ok screen: exit $S1 and $S2"
unid "$TMPD/one-s.jsonl" >"$TMPD/one-s.cmp"
unid "$TMPD/dask-s.jsonl" >"$TMPD/dask-s.cmp"
cmp -s "$TMPD/one-s.cmp" "$TMPD/dask-s.cmp" && echo "ok screen: the same answers in the same order" ||
  { echo "not ok screen: the same answers in the same order"; diff "$TMPD/one-s.cmp" "$TMPD/dask-s.cmp" | head -5 | cut -c1-200; }
