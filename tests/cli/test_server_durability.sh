#!/bin/sh
# test_server_durability.sh - the audit log behind `acegate serve`:
#  - SIGKILL under a steady load of checks, several rounds: after a restart
#    every audit id a client received is there, byte for byte what the
#    client got, and `acegate audit verify` passes;
#  - an online backup taken while the server writes passes verify;
#  - rows of a log the server wrote, edited, deleted or reordered in SQLite,
#    are named by `acegate audit verify`.
. "$(dirname "$0")/lib.sh"
plan 34
CLIENT_PIDS=""
cleanup() {
  touch "$TMPD/stop" 2>/dev/null
  for p in $CLIENT_PIDS; do kill "$p" 2>/dev/null; done
  [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
  rm -rf "$TMPD"
}
trap cleanup EXIT

ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }

LISTS="$TMPD/csl.csv"
head -n 40 data/lists/csl-2026-07-31.csv >"$LISTS"
DB="$TMPD/audit.db"
CK=$("$ACEGATE" keys add --role checker --db "$DB" 2>/dev/null | tail -n 1)
AK=$("$ACEGATE" keys add --role auditor --db "$DB" 2>/dev/null | tail -n 1)

start_server() {
  serve_start --listen 127.0.0.1:0 --db "$DB" --lists "$LISTS" --access-log off
}

# client N: posts checks until $TMPD/stop exists; keeps every answer that
# arrived complete with status 200 as $TMPD/got/N-SEQ.json.
client() {
  n=0
  while [ ! -e "$TMPD/stop" ]; do
    n=$((n + 1))
    f="$TMPD/got/$1-$n"
    if code=$(curl -s -m 5 -o "$f.part" -w '%{http_code}' -X POST \
      -H "Authorization: Bearer $CK" -H 'Content-Type: application/json' \
      --data-binary "{\"item\":{\"eccn\":\"4D004\"},\"destination\":\"$2\",\"as_of\":\"2026-11-24\"}" \
      "$B/v1/checks") && [ "$code" = 200 ]; then
      mv "$f.part" "$f.json"
    else
      rm -f "$f.part"
      sleep 0.05
    fi
  done
}

mkdir -p "$TMPD/got"
ROUNDS=5
round=1
while [ $round -le $ROUNDS ]; do
  start_server
  if [ -z "$PORT" ]; then
    notok "round${round}_server_starts" "no listening line"
    cat "$TMPD/srv.log"
    break
  fi
  rm -f "$TMPD/stop"
  CLIENT_PIDS=""
  for c in 1 2 3 4; do
    dest=$(echo "BR DE CN JP" | cut -d' ' -f$c)
    client "r$round-c$c" "$dest" &
    CLIENT_PIDS="$CLIENT_PIDS $!"
  done
  # once the load is flowing, a random moment 0.3 to 1.8 seconds into it
  i=0
  while [ $i -lt 150 ] && ! ls "$TMPD/got" | grep -q "^r$round-"; do sleep 0.1; i=$((i + 1)); done
  echo "# round $round: first answer after ~$((i * 100)) ms"
  pause=$(awk -v s="$$$round" 'BEGIN { srand(s); printf "%.2f", 0.3 + rand() * 1.5 }')
  sleep "$pause"
  kill -9 "$SRV_PID"
  wait "$SRV_PID" 2>/dev/null
  SRV_PID=""
  touch "$TMPD/stop"
  for p in $CLIENT_PIDS; do wait "$p"; done
  CLIENT_PIDS=""
  got=$(ls "$TMPD/got" | grep -c "^r$round-")
  if [ "$got" -gt 0 ]; then ok "round${round}_clients_got_answers"; else
    notok "round${round}_clients_got_answers" "no answers before the kill"; fi
  expect_exit "round${round}_verify_after_sigkill" 0 "$ACEGATE" audit verify --db "$DB"
  round=$((round + 1))
done

# Every answer any client received, in every round, is in the log as it was
# received.
start_server
missing=0
differ=0
total=0
for f in "$TMPD"/got/*.json; do
  [ -f "$f" ] || continue
  total=$((total + 1))
  id=$(sed -n 's/^{"audit_id":"\([^"]*\)".*/\1/p' "$f")
  code=$(curl -s -o "$TMPD/back.json" -w '%{http_code}' -H "Authorization: Bearer $AK" "$B/v1/checks/$id")
  if [ "$code" != 200 ]; then
    missing=$((missing + 1))
  elif ! cmp -s "$f" "$TMPD/back.json"; then
    differ=$((differ + 1))
  fi
done
if [ "$total" -ge 20 ]; then ok sigkill_enough_answers; else notok sigkill_enough_answers "only $total"; fi
if [ "$missing" -eq 0 ]; then ok sigkill_no_answer_lost; else
  notok sigkill_no_answer_lost "$missing of $total audit ids missing"; fi
if [ "$differ" -eq 0 ]; then ok sigkill_answers_unchanged; else
  notok sigkill_answers_unchanged "$differ of $total differ"; fi
echo "# $total answers over $ROUNDS SIGKILL rounds, all present"

# ---- online backup while the server writes ----
rm -f "$TMPD/stop"
client backup BR &
CLIENT_PIDS="$!"
sleep 0.5
expect_exit backup_while_serving 0 "$ACEGATE" audit backup --db "$DB" --to "$TMPD/backup.db"
touch "$TMPD/stop"
wait $CLIENT_PIDS
CLIENT_PIDS=""
expect_exit backup_verifies 0 "$ACEGATE" audit verify --db "$TMPD/backup.db"
serve_stop
if [ "$SRV_RC" -eq 0 ]; then ok clean_exit; else notok clean_exit "exit $SRV_RC"; fi
expect_exit verify_after_clean_exit 0 "$ACEGATE" audit verify --db "$DB"

# ---- tampering with a log the server wrote ----
tamper() { # NAME SQL: applies SQL to a copy; verify must fail (exit 6)
  cp "$DB" "$TMPD/$1.db"
  sqlite3 "$TMPD/$1.db" "$2"
  expect_exit "tamper_$1_detected" 6 "$ACEGATE" audit verify --db "$TMPD/$1.db"
}
ID5=$(sqlite3 "$DB" "SELECT audit_id FROM audit_log WHERE seq = 5")
# decisions are stored compressed (docs/audit.md): a decision replaced by
# other JSON, one byte of a stored frame changed, the dictionary changed
tamper edit "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET decision = CAST('{\"outcome\":\"NLR\"}' AS BLOB) WHERE seq = 5"
expect_grep tamper_edit_names_record "broken at seq 5 ($ID5)" "$TMPD/out"
expect_grep tamper_edit_problem 'content_changed' "$TMPD/out"
if [ "$(sqlite3 "$DB" "SELECT hex(substr(decision, 1, 4)) FROM audit_log WHERE seq = 6")" = 28B52FFD ]; then
  ok decisions_stored_compressed; else notok decisions_stored_compressed "record 6 is not a zstd frame"; fi
# the frame loses its last bytes (a changed byte may fall on bits the
# decoder never reads, and this frame differs from run to run)
tamper frame "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET decision = substr(decision, 1, length(decision) - 5) WHERE seq = 6"
expect_grep tamper_frame_names_record 'broken at seq 6 .*content_changed' "$TMPD/out"
tamper dict "DROP TRIGGER audit_dict_no_update; UPDATE audit_dict SET dict = zeroblob(length(dict))"
expect_grep tamper_dict_named 'broken at seq [0-9]* .*content_changed' "$TMPD/out"
tamper outcome "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET outcome = 'NLR' WHERE seq = 9"
expect_grep tamper_outcome_names_record 'broken at seq 9 ' "$TMPD/out"
tamper delete "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 7"
expect_grep tamper_delete_names_gap 'broken at seq 7: gap' "$TMPD/out"
tamper reorder "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET seq = -1 WHERE seq = 3; UPDATE audit_log SET seq = 3 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = -1"
expect_grep tamper_reorder_names_record 'broken at seq 3' "$TMPD/out"
tamper tail "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)"
expect_grep tamper_tail_named 'broken at seq [0-9]*: ' "$TMPD/out"

cat "$TMPD/srv.log" >>"$TMPD/all-srv.log"
expect_nogrep server_no_sanitizer_report 'Sanitizer\|runtime error' "$TMPD/all-srv.log"
