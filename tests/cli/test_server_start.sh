#!/bin/sh
# test_server_start.sh - what `acegate serve` does with a damaged audit log
# and when writing fails: the start check refuses an emptied, truncated,
# reordered or corrupt log, a log older than its head file, and one without
# its triggers (exit 4 naming the problem); --accept-damaged-log starts and
# records that it did; an export that fails part-way breaks the HTTP
# transfer instead of ending it cleanly; past a file-size limit (SIGXFSZ)
# checks are answered 503 and the service lives on.
. "$(dirname "$0")/lib.sh"
plan 34
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }

DB="$TMPD/log.db"
TXN='{"item":{"eccn":"4D004"},"destination":"BR","end_user":{"type":"non_government"},"as_of":"2026-11-24"}'

# start_server ARGS...: sets PORT (empty if it did not start), B, SRV_PID.
start_server() { serve_start --listen 127.0.0.1:0 --db "$DB" --no-lists --access-log off "$@"; }
stop_server() { serve_stop; }
# refused NAME PATTERN: the server must have exited 4 naming the problem.
refused() {
  wait "$SRV_PID"
  rc=$?
  SRV_PID=""
  if [ -z "$PORT" ] && [ "$rc" -eq 4 ]; then ok "$1"; else notok "$1" "port '$PORT', exit $rc"; fi
  expect_grep "$1_named" "$2" "$TMPD/srv.log"
}
# restore: the good copy of the log and its head file back in place.
restore() {
  rm -f "$DB" "$DB-wal" "$DB-shm" "$DB-search" "$DB-search-wal" "$DB-search-shm"
  cp "$TMPD/good.db" "$DB"
  cp "$TMPD/good.head" "$DB-head"
}

CK=$("$ACEGATE" keys add --role admin --db "$DB" --name admin 2>/dev/null | tail -n 1)
start_server
if [ -n "$PORT" ]; then ok starts_on_a_sound_log; else notok starts_on_a_sound_log "no port"; fi
# 1,500 records: more than the 1,000 the start check re-hashes
i=0
while [ $i -lt 1000 ]; do printf '%s,' "$TXN"; i=$((i + 1)); done | sed 's/,$//' >"$TMPD/txns"
printf '{"transactions":[%s]}' "$(cat "$TMPD/txns")" >"$TMPD/batch"
i=0
while [ $i -lt 500 ]; do printf '%s,' "$TXN"; i=$((i + 1)); done | sed 's/,$//' >"$TMPD/txns500"
printf '{"transactions":[%s]}' "$(cat "$TMPD/txns500")" >"$TMPD/batch500"
s1=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json' --data-binary @"$TMPD/batch" "$B/v1/checks:batch")
s2=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json' --data-binary @"$TMPD/batch500" "$B/v1/checks:batch")
if [ "$s1$s2" = "200200" ]; then ok batches_recorded; else notok batches_recorded "$s1 $s2"; fi
stop_server
expect_exit log_verifies 0 "$ACEGATE" audit verify --db "$DB"
expect_grep log_has_1501 'intact: 1501 records' "$TMPD/out"
if grep -q "^1501:" "$DB-head"; then ok head_file_written; else notok head_file_written "$(cat "$DB-head")"; fi
cp "$DB" "$TMPD/good.db"
cp "$DB-head" "$TMPD/good.head"

# ---- the start check ----
: >"$DB"
rm -f "$DB-wal" "$DB-shm"
start_server
refused refuses_emptied_log "is empty, but the head file beside it says the log held 1501 records"

restore
rm -f "$DB"
start_server
refused refuses_deleted_log "there is no log at"

restore
rm -f "$DB-head"
: >"$DB"
start_server
refused refuses_empty_file "is an empty file where a log is expected"

restore
sqlite3 "$DB" "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq >= 1500;"
start_server
refused refuses_cut_tail "truncated: records 1500 to 1501 are missing at the end"

restore
sqlite3 "$DB" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET seq = -1 WHERE seq = 1400;
  UPDATE audit_log SET seq = 1400 WHERE seq = 1401; UPDATE audit_log SET seq = 1401 WHERE seq = -1;"
start_server
refused refuses_reordered "reordered"

restore
sqlite3 "$DB" "DROP TRIGGER audit_log_no_delete;"
start_server
refused refuses_missing_trigger "append-only triggers are missing"

restore
# an older copy of the log: the head file names a record it does not hold
echo "1600:$(sed 's/^[0-9]*://' "$TMPD/good.head")" >"$DB-head"
start_server
refused refuses_older_copy "the log ends at seq 1501 but the head file beside it says 1600"

restore
# a damaged page in the middle of the file
size=$(wc -c <"$DB")
dd if=/dev/urandom of="$DB" bs=4096 seek=$((size / 4096 / 2)) count=1 conv=notrunc 2>/dev/null
start_server
refused refuses_corrupt_page "quick_check"
expect_exit verify_corrupt_page_exit_4 4 "$ACEGATE" audit verify --db "$DB"

# ---- starting anyway is recorded ----
restore
: >"$DB"
start_server --accept-damaged-log
if [ -n "$PORT" ]; then ok accept_starts; else notok accept_starts "no port"; fi
expect_grep accept_logged '"event":"started_on_damaged_log"' "$TMPD/srv.log"
stop_server
"$ACEGATE" audit export --db "$DB" --from 2000-01-01 --to 2100-01-01 --format jsonl >"$TMPD/out"
if head -n 1 "$TMPD/out" | jq -e '.seq == 1 and .kind == "service" and .outcome == "started_on_damaged_log" and (.decision | fromjson | .problems | test("held 1501 records"))' >/dev/null; then
  ok accept_recorded
else
  notok accept_recorded "$(head -c 300 "$TMPD/out")"
fi

# ---- an export failing part-way is not a complete response ----
restore
# record 300's stored decision made unreadable; the start check reads only
# the last 1,000 records, so the service starts
sqlite3 "$DB" "DROP TRIGGER audit_log_no_update;
  UPDATE audit_log SET decision = X'28B52FFD' || randomblob(64) WHERE seq = 300;
  CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
  BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
start_server
curl -s -o "$TMPD/export" -H "Authorization: Bearer $CK" "$B/v1/audit/export?format=jsonl"
rc=$?
if [ -n "$PORT" ] && [ "$rc" -ne 0 ]; then ok export_failure_breaks_transfer; else
  notok export_failure_breaks_transfer "curl exit 0, $(wc -l <"$TMPD/export") lines"; fi
expect_nogrep export_failure_no_closing_line '"export_end"' "$TMPD/export"
expect_exit export_failure_file_truncated 6 "$ACEGATE" audit verify --export "$TMPD/export"
expect_grep export_failure_logged '"event":"export_failed"' "$TMPD/srv.log"
stop_server

# ---- past a file-size limit: 503, and the service lives on ----
restore
# the log and its WAL may grow by a few hundred KiB, not more: the batches
# above fill that at once
limit=$(( ($(wc -c <"$DB") + 400 * 1024) / 1024 ))
: >"$TMPD/srv.log"
( ulimit -f "$limit" && exec "$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB" --no-lists \
    --access-log off ) 2>>"$TMPD/srv.log" &
SRV_PID=$!
serve_wait
codes=""
i=0
while [ $i -lt 20 ]; do
  c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CK" \
    -H 'Content-Type: application/json' --data-binary @"$TMPD/batch" "$B/v1/checks:batch")
  codes="$codes $c"
  [ "$c" = 503 ] && break
  i=$((i + 1))
done
case "$codes" in *503) ok xfsz_answers_503 ;; *) notok xfsz_answers_503 "codes:$codes $(head -c 600 "$TMPD/srv.log")" ;; esac
if kill -0 "$SRV_PID" 2>/dev/null; then ok xfsz_service_alive; else notok xfsz_service_alive "gone"; fi
s=$(curl -s -o /dev/null -w '%{http_code}' "$B/healthz")
if [ "$s" = 200 ]; then ok xfsz_healthz; else notok xfsz_healthz "status $s"; fi
# a single check may still fit under the limit: answered only if recorded
s=$(curl -s -o "$TMPD/one" -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json' --data-binary "$TXN" "$B/v1/checks")
id=$(jq -r '.audit_id // empty' "$TMPD/one" 2>/dev/null)
g=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $CK" "$B/v1/checks/$id")
if [ "$s" = 503 ] || { [ "$s" = 200 ] && [ "$g" = 200 ]; }; then ok xfsz_later_check_recorded_or_503
else notok xfsz_later_check_recorded_or_503 "status $s, get $g"; fi
stop_server
# every answered record is in the log, and the log is whole
expect_exit xfsz_log_verifies 0 "$ACEGATE" audit verify --db "$DB"
