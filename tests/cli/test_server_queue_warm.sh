#!/bin/sh
# test_server_queue_warm.sh - `acegate serve` reads the open review queue
# from the log as it starts, on a thread of its own (docs/review.md, "How
# the open queue is kept"), on a log of 100,000 checks made with `acegate
# check --batch`: once /metrics says the read is done, the first request is
# answered from its list, equal to what `acegate review queue` (a cold read
# of its own) answers, page by page with the same cursors, and the items are
# the checks a person must review; a request made during the read is
# answered once it ends, while health and checks are answered meanwhile;
# SIGTERM during the read exits at once, with status 0 and the log intact;
# a record that cannot be read fails the read, logged with the problem, and
# the next request reads again (an error while the record is damaged, never
# part of the queue); once the open queue is served, the records the
# reviews resolve are looked up in the background, and the resolved
# statuses answer as a cold read does. The same on a PostgreSQL log.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
plan 38
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
trap '[ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null; pg_cleanup; [ -n "$KEEP" ] || rm -rf "$TMPD"' EXIT

DB="$TMPD/log.db"
LINES=100000

# ---- the log ----
# End-user names of the screening evaluation set whose screening finds
# candidates but no possible match (answers that name parties, none for a
# person to look at), found by checking each once in a scratch log; every
# 1,000th check names "NSO Grop Technologies", a possible match of the
# Entity List's "NSO Group" (its outcome is REVIEW: a queue item).
awk -F'\t' '!/^#/ && $3 != "" { print $3 }' tests/screen/eval.tsv |
  jq -R -c '{item: {eccn: "4D004"}, destination: "DE", as_of: "2026-11-24",
             end_user: {type: "non_government", name: .}}' >"$TMPD/names.jsonl"
"$ACEGATE" check --batch --db "$TMPD/scratch.db" <"$TMPD/names.jsonl" |
  jq -c 'select(.outcome != "REVIEW" and ([.screening[]?.matches[]?] | length) > 0
           and ([.screening[]?.matches[]?.level] | index("possible") == null))
         | .screening[0].name' | awk '!seen[$0]++' >"$TMPD/names"
NNAMES=$(wc -l <"$TMPD/names")
if [ "$NNAMES" -ge 100 ]; then ok names_with_candidates; else notok names_with_candidates "$NNAMES"; fi
# $1 lines, the ref of line i "PO-i"
make_lines() {
  awk -v n="$1" -v names="$TMPD/names" 'BEGIN {
    while ((getline l < names) > 0) name[k++] = l
    for (i = 0; i < n; i++) {
      nm = i % 1000 == 500 ? "\"NSO Grop Technologies\"" : name[i % k]
      printf "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"DE\",\"as_of\":\"2026-11-24\",\"end_user\":{\"type\":\"non_government\",\"name\":%s},\"ref\":\"PO-%d\"}\n", nm, i
    } }'
}
make_lines "$LINES" >"$TMPD/big.jsonl"
"$ACEGATE" check --batch --db "$DB" <"$TMPD/big.jsonl" >"$TMPD/decided" 2>"$TMPD/err"
n=$(wc -l <"$TMPD/decided")
if [ "$n" -eq "$LINES" ]; then ok log_made; else notok log_made "$n decisions"; fi
RK=$("$ACEGATE" keys add --role reviewer --db "$DB" --name rev 2>/dev/null | tail -n 1)
CK=$("$ACEGATE" keys add --role checker --db "$DB" --name chk 2>/dev/null | tail -n 1)
HEAD=$((LINES + 2)) # the checks and the two keys' records

# The open queue as a cold read finds it: `acegate review queue`, a process
# of its own, page by page (25 a page) into $1.1, $1.2, ...; sets
# COLD_PAGES, and $1.refs to "REF OUTCOME STATUS" of each item.
cold_pages() {
  cur="" COLD_PAGES=0
  : >"$1.refs"
  while :; do
    COLD_PAGES=$((COLD_PAGES + 1))
    "$ACEGATE" review queue --db "$2" --limit 25 ${cur:+--cursor "$cur"} >"$1.$COLD_PAGES" 2>&1
    jq -r '.items[] | "\(.ref) \(.outcome) \(.status)"' "$1.$COLD_PAGES" >>"$1.refs" 2>&1
    cur=$(jq -r '.next_cursor // empty' "$1.$COLD_PAGES" 2>/dev/null)
    [ -n "$cur" ] && [ "$COLD_PAGES" -lt 20 ] || break
  done
}
cold_pages "$TMPD/cold" "$DB"
# the items are the REVIEW checks, oldest first: lines 500, 1500, ...
i=500
while [ $i -lt "$LINES" ]; do echo "PO-$i REVIEW open"; i=$((i + 1000)); done >"$TMPD/want.refs"
if [ "$COLD_PAGES" -eq 4 ] && cmp -s "$TMPD/cold.refs" "$TMPD/want.refs"; then ok cold_queue_is_the_review_checks; else
  notok cold_queue_is_the_review_checks "$COLD_PAGES pages; $(diff "$TMPD/want.refs" "$TMPD/cold.refs" | head -3)"; fi

# metric NAME: its value in $TMPD/m (the last /metrics read)
metric() { sed -n "s/^$1 //p" "$TMPD/m"; }
# warm_state: the state at 1 in a fresh read of /metrics
warm_state() {
  curl -s "$B/metrics" >"$TMPD/m"
  sed -n 's/^acegate_review_queue_state{state="\([a-z]*\)"} 1$/\1/p' "$TMPD/m"
}
# wait_state STATE: waits (60 s at most) for it; false when it did not come
wait_state() {
  _i=0
  while [ $_i -lt 1200 ]; do
    [ "$(warm_state)" = "$1" ] && return 0
    sleep 0.05
    _i=$((_i + 1))
  done
  return 1
}
# get PATH OUT: GET with the reviewer's key; the status in $TMPD/status
get() { curl -s -o "$2" -w '%{http_code}' -H "Authorization: Bearer $RK" "$B$1" >"$TMPD/status"; }
# served_pages PREFIX: the API's pages, following its cursors, into PREFIX.N
served_pages() {
  cur="" k=0
  while :; do
    k=$((k + 1))
    get "/v1/reviews?status=open&limit=25${cur:+&cursor=$cur}" "$1.$k"
    cur=$(jq -r '.next_cursor // empty' "$1.$k" 2>/dev/null)
    [ -n "$cur" ] && [ $k -lt 20 ] || break
  done
  SERVED=$k
}
# same_page FILE COLD: the answer byte for byte the command's line
same_page() { { cat "$1"; echo; } | cmp -s - "$2"; }
# same_pages PREFIX COLD_PREFIX: every page byte for byte the cold read's
same_pages() {
  [ "$SERVED" -eq "$COLD_PAGES" ] || return 1
  k=1
  while [ $k -le "$COLD_PAGES" ]; do
    same_page "$1.$k" "$2.$k" || return 1
    k=$((k + 1))
  done
}

# ---- warm before the first request ----
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log "$TMPD/access.log"
if wait_state warm; then ok read_at_start; else notok read_at_start "state $(warm_state)"; fi
if [ "$(metric acegate_review_queue_read_records)" = "$HEAD" ] &&
  [ "$(metric acegate_review_queue_read_head)" = "$HEAD" ]; then ok read_whole_log; else
  notok read_whole_log "$(grep '^acegate_review_queue_read' "$TMPD/m")"; fi
READ_S=$(metric acegate_review_queue_read_seconds)
served_pages "$TMPD/warm"
if same_pages "$TMPD/warm" "$TMPD/cold"; then ok first_requests_equal_cold_read; else
  notok first_requests_equal_cold_read "$SERVED pages; $(head -c 300 "$TMPD/warm.1")"; fi
expect_grep read_logged '"event":"review_queue_read","records":'"$HEAD"',"items":100,' "$TMPD/srv.log"
serve_stop
if [ "$SRV_RC" -eq 0 ]; then ok clean_exit_after_read; else notok clean_exit_after_read "exit $SRV_RC"; fi
# the first request was served from the list: far quicker than the read
first_us=$(jq -r 'select(.route == "/v1/reviews") | .duration_us' "$TMPD/access.log" | head -n 1)
if awk -v us="$first_us" -v s="$READ_S" 'BEGIN { exit !(us != "" && us / 1e6 < s / 4) }'; then
  ok first_request_quicker_than_read; else
  notok first_request_quicker_than_read "first request ${first_us} us, read ${READ_S} s"; fi

# ---- a request during the read; health and checks meanwhile ----
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log off
if [ "$(warm_state)" = reading ]; then ok reading_after_start; else
  notok reading_after_start "state $(warm_state)"; fi
get "/v1/reviews?status=open&limit=25" "$TMPD/during.1" &
GET_PID=$!
h=$(curl -s -o /dev/null -w '%{http_code}' "$B/healthz")
c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json' --data-binary "$(head -n 1 "$TMPD/big.jsonl")" "$B/v1/checks")
r=$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")
s=$(warm_state)
if [ "$h$c$r" = 200200200 ] && [ "$s" = reading ]; then ok answered_during_read; else
  notok answered_during_read "healthz $h check $c readyz $r, then state $s"; fi
wait "$GET_PID"
if [ "$(cat "$TMPD/status")" = 200 ] && same_page "$TMPD/during.1" "$TMPD/cold.1"; then
  ok request_during_read_equals_cold_read; else
  notok request_during_read_equals_cold_read "$(cat "$TMPD/status") $(head -c 300 "$TMPD/during.1")"; fi
serve_stop
if [ "$SRV_RC" -eq 0 ]; then ok clean_exit_2; else notok clean_exit_2 "exit $SRV_RC"; fi
HEAD=$((HEAD + 1)) # the check made meanwhile

# ---- SIGTERM during the read ----
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log off
st=$(warm_state)
kill -TERM "$SRV_PID"
wait "$SRV_PID"
rc=$?
SRV_PID=""
if [ "$st" = reading ]; then ok sigterm_during_read; else notok sigterm_during_read "state $st"; fi
if [ "$rc" -eq 0 ]; then ok sigterm_exit_0; else notok sigterm_exit_0 "exit $rc"; fi
# stopped before the end: it did not read on to the head first
stopped=$(sed -n 's/.*"event":"review_queue_read_stopped","records":\([0-9]*\),"of":\([0-9]*\).*/\1 \2/p' "$TMPD/srv.log")
if [ -n "$stopped" ] && [ "${stopped% *}" -lt "${stopped#* }" ] && [ "${stopped#* }" -eq "$HEAD" ]; then
  ok read_stopped_midway; else notok read_stopped_midway "'$stopped': $(grep review_queue "$TMPD/srv.log")"; fi
expect_grep stopped_drained '"event":"stopped","drained":true' "$TMPD/srv.log"
expect_exit log_intact 0 "$ACEGATE" audit verify --db "$DB"
expect_grep log_intact_all "intact: $HEAD records" "$TMPD/out"

# ---- a record that cannot be read ----
# record 30000's stored decision made a zstd frame that is not one (the
# start check reads the last 1,000 records, so the service starts; its
# append-only trigger is put back)
TRIGGER=$(sqlite3 "$DB" "SELECT sql FROM sqlite_master WHERE name = 'audit_log_no_update'")
# set_decision HEX: record 30000's stored decision
set_decision() {
  sqlite3 "$DB" "DROP TRIGGER audit_log_no_update;
    UPDATE audit_log SET decision = x'$1' WHERE seq = 30000; $TRIGGER;"
}
sqlite3 "$DB" "SELECT hex(decision) FROM audit_log WHERE seq = 30000" >"$TMPD/good.hex"
set_decision 28b52ffdffffffff0102
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log off
if wait_state failed; then ok read_fails; else notok read_fails "state $(warm_state)"; fi
grep '"event":"review_queue_read_failed"' "$TMPD/srv.log" >"$TMPD/failed.json"
if jq -e '.code == "database_error" and .field == "decision" and (.reason | test("not a valid frame"))
    and .read_up_to < 30000 and .retry == "at the next queue request"' "$TMPD/failed.json" >/dev/null 2>&1; then
  ok failure_logged; else notok failure_logged "$(cat "$TMPD/failed.json")"; fi
get "/v1/reviews?status=open&limit=25" "$TMPD/damaged"
if [ "$(cat "$TMPD/status")" = 503 ] && grep -q 'not a valid frame' "$TMPD/damaged"; then
  ok damaged_request_is_error; else notok damaged_request_is_error "$(cat "$TMPD/status") $(head -c 200 "$TMPD/damaged")"; fi
get "/v1/reviews?status=open&limit=25" "$TMPD/damaged2"
if [ "$(cat "$TMPD/status")" = 503 ]; then ok read_again_fails_again; else
  notok read_again_fails_again "$(cat "$TMPD/status") $(head -c 200 "$TMPD/damaged2")"; fi
# the record as it was: the next request reads on and answers the queue
set_decision "$(cat "$TMPD/good.hex")"
served_pages "$TMPD/mended"
if same_pages "$TMPD/mended" "$TMPD/cold"; then ok read_again_after_repair; else
  notok read_again_after_repair "$SERVED pages; $(head -c 300 "$TMPD/mended.1")"; fi
serve_stop
if [ "$SRV_RC" -eq 0 ]; then ok clean_exit_3; else notok clean_exit_3 "exit $SRV_RC"; fi
expect_exit log_intact_after_repair 0 "$ACEGATE" audit verify --db "$DB"

# ---- the resolved statuses, looked up after the open queue ----
# three items cleared and one escalated; the service, once the open queue
# is served, looks up the four records they name (the first request of
# each status did it before), and its answers are the cold reads'
jq -r '.items[].audit_id' "$TMPD/cold.1" | head -n 4 >"$TMPD/reviewed"
k=0
while read -r id; do
  k=$((k + 1))
  d=cleared
  [ $k -eq 4 ] && d=escalated
  "$ACEGATE" review add "$id" --decision "$d" --note "warm test $k" --db "$DB" >/dev/null 2>&1
done <"$TMPD/reviewed"
"$ACEGATE" review queue --status cleared --db "$DB" >"$TMPD/cold.cleared" 2>&1
"$ACEGATE" review queue --status escalated --db "$DB" >"$TMPD/cold.escalated" 2>&1
if [ "$(jq '.items | length' "$TMPD/cold.cleared")$(jq '.items | length' "$TMPD/cold.escalated")" = 31 ]; then
  ok reviews_made; else notok reviews_made "$(head -c 300 "$TMPD/cold.cleared")"; fi
serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log off
i=0
until grep -q '"event":"review_statuses_read"' "$TMPD/srv.log" || [ $i -ge 1200 ]; do
  sleep 0.05
  i=$((i + 1))
done
expect_grep statuses_read_after_queue '"event":"review_statuses_read","records":4,' "$TMPD/srv.log"
if [ "$(grep -n '"event":"review_queue_read"' "$TMPD/srv.log" | cut -d: -f1)" -lt \
  "$(grep -n '"event":"review_statuses_read"' "$TMPD/srv.log" | cut -d: -f1)" ]; then
  ok statuses_read_once_queue_served; else notok statuses_read_once_queue_served "$(grep review_ "$TMPD/srv.log")"; fi
get "/v1/reviews?status=cleared" "$TMPD/warm.cleared"
get "/v1/reviews?status=escalated" "$TMPD/warm.escalated"
if same_page "$TMPD/warm.cleared" "$TMPD/cold.cleared" && same_page "$TMPD/warm.escalated" "$TMPD/cold.escalated"; then
  ok resolved_equal_cold_read; else notok resolved_equal_cold_read "$(head -c 300 "$TMPD/warm.cleared")"; fi
serve_stop
if [ "$SRV_RC" -eq 0 ]; then ok clean_exit_4; else notok clean_exit_4 "exit $SRV_RC"; fi

# ---- PostgreSQL ----
if ! pg_start; then
  notok pg_starts "PostgreSQL could not be started (see above)"
  exit 1
fi
ok pg_starts
PLINES=6000
make_lines "$PLINES" >"$TMPD/pg.jsonl"
"$ACEGATE" check --batch --db "$PG_URI" <"$TMPD/pg.jsonl" >"$TMPD/pg.decided" 2>"$TMPD/err"
n=$(wc -l <"$TMPD/pg.decided")
if [ "$n" -eq "$PLINES" ]; then ok pg_log_made; else notok pg_log_made "$n; $(head -3 "$TMPD/err")"; fi
RK=$("$ACEGATE" keys add --role reviewer --db "$PG_URI" --name rev 2>/dev/null | tail -n 1)
PHEAD=$((PLINES + 1))
cold_pages "$TMPD/pgcold" "$PG_URI"
head -n 6 "$TMPD/want.refs" >"$TMPD/pg.want"
if [ "$COLD_PAGES" -eq 1 ] && cmp -s "$TMPD/pgcold.refs" "$TMPD/pg.want"; then ok pg_cold_queue; else
  notok pg_cold_queue "$(head -c 300 "$TMPD/pgcold.1")"; fi
serve_start --listen 127.0.0.1:0 --db "$PG_URI" --no-lists --access-log off
if wait_state warm; then ok pg_read_at_start; else notok pg_read_at_start "state $(warm_state)"; fi
if [ "$(metric acegate_review_queue_read_records)" = "$PHEAD" ]; then ok pg_read_whole_log; else
  notok pg_read_whole_log "$(grep '^acegate_review_queue_read' "$TMPD/m")"; fi
served_pages "$TMPD/pgwarm"
if same_pages "$TMPD/pgwarm" "$TMPD/pgcold"; then ok pg_first_request_equals_cold_read; else
  notok pg_first_request_equals_cold_read "$(head -c 300 "$TMPD/pgwarm.1")"; fi
serve_stop
if [ "$SRV_RC" -eq 0 ]; then ok pg_clean_exit; else notok pg_clean_exit "exit $SRV_RC"; fi
