#!/bin/sh
# test_webhook.sh - the webhook of new queue items (docs/review.md, "The
# webhook"): a list update that adds an entry matching a registered party
# POSTs the new item to a local receiver, signed with HMAC-SHA256 of the
# body (which carries the timestamp) and the shared secret; a 500 is
# retried and the retry delivers; every attempt is recorded; an item
# abandoned, or queued by a process killed before attempting it, is sent
# by the next process to open the webhook, once; the service delivers the
# items of a reload the same way; a bad URL or an unreadable secret is
# refused naming the option; the service deletes delivered items older
# than its retention from the outbox, never a pending one.
. "$(dirname "$0")/lib.sh"
plan 87
RCV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
  [ -n "$RCV_PID" ] && kill "$RCV_PID" 2>/dev/null
  rm -rf "$TMPD"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 400 "$3")"; fi
}
FX="$(dirname "$0")/../screen/fixtures"
RECEIVER="$(dirname "$0")/webhook_receiver.py"
export ACEGATE_HOME="$TMPD/home"
DB="$TMPD/audit.db"
SECRET='s3cret-shared-with-the-receiver'
printf '%s\n' "$SECRET" >"$TMPD/secret"
chmod 600 "$TMPD/secret"
cat >"$TMPD/parties.csv" <<'CSV'
CustomerID,Company,Ctry,Addr
C-1,Vantorix Intrusion Technologies,CY,"9 Port Street, Limassol"
C-2,Acme Widgets GmbH,DE,
CSV
COLS=name=Company,country=Ctry,ref=CustomerID,address=Addr

# receiver_start FAIL_FIRST: a receiver logging to $TMPD/hook.log; sets HOOK
receiver_start() {
  rm -f "$TMPD/hook.port" "$TMPD/hook.log"
  : >"$TMPD/hook.log"
  FAIL_FIRST=$1 python3 "$RECEIVER" "$TMPD/hook.port" "$TMPD/hook.log" &
  RCV_PID=$!
  _i=0
  while [ "$_i" -lt 100 ] && [ ! -s "$TMPD/hook.port" ]; do sleep 0.05; _i=$((_i + 1)); done
  HOOK="http://127.0.0.1:$(cat "$TMPD/hook.port")/hook"
}
receiver_stop() { kill "$RCV_PID" 2>/dev/null; wait "$RCV_PID" 2>/dev/null; RCV_PID=""; }

# verify LINE SECRET: exit 0 when request LINE of hook.log carries
# X-Acegate-Signature sha256=HMAC-SHA256(SECRET, body) and an
# X-Acegate-Timestamp equal to the body's timestamp
verify() {
  python3 - "$TMPD/hook.log" "$1" "$2" <<'PY'
import hashlib, hmac, json, sys
req = json.loads(open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2])])
body = req["body"].encode("utf-8")
want = "sha256=" + hmac.new(sys.argv[3].encode(), body, hashlib.sha256).hexdigest()
ok = hmac.compare_digest(req["headers"].get("x-acegate-signature", ""), want)
ok = ok and req["headers"].get("x-acegate-timestamp") == str(json.loads(body)["timestamp"])
sys.exit(0 if ok else 1)
PY
}
line() { sed -n "$(($1 + 1))p" "$TMPD/hook.log" | jq -r "$2"; }

expect_exit lists_first 0 "$ACEGATE" lists update "$FX/remember-el.csv" --force --db "$DB"
expect_exit import 0 "$ACEGATE" parties import "$TMPD/parties.csv" --columns "$COLS" --db "$DB"

# ---- a bad webhook is refused before anything changes ----
expect_exit bad_url 2 "$ACEGATE" lists update "$FX/remember-el-added.csv" --db "$DB" \
  --webhook-url ftp://127.0.0.1/hook --webhook-secret-file "$TMPD/secret"
expect_grep bad_url_named '--webhook-url' "$TMPD/err"
expect_exit bad_secret 4 "$ACEGATE" lists update "$FX/remember-el-added.csv" --db "$DB" \
  --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/no-such-secret"
expect_grep bad_secret_named '--webhook-secret-file' "$TMPD/err"
"$ACEGATE" review queue --db "$DB" >"$TMPD/q"
jqok refused_changed_nothing '.items | length == 0' "$TMPD/q"

# ---- a list update adds an entry matching C-1: one item, delivered after
# a 500 and a retry, signed ----
receiver_start 1
expect_exit update_adds 0 "$ACEGATE" lists update "$FX/remember-el-added.csv" --db "$DB" \
  --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
receiver_stop
expect_grep update_one_item 'against 1 entries added or changed: 1 new' "$TMPD/out"
"$ACEGATE" review queue --db "$DB" >"$TMPD/q"
ITEM=$(jq -r '.items[0].audit_id' "$TMPD/q")
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 2 ]; then ok two_requests; else notok two_requests "$n requests (a 500, then the retry)"; fi
if [ "$(line 0 .body | jq -r .id)" = "$ITEM" ] && [ "$(line 1 .body | jq -r .id)" = "$ITEM" ]; then
  ok both_name_the_item; else notok both_name_the_item "$(cat "$TMPD/hook.log")"; fi
line 1 .body >"$TMPD/body"
jqok body_is_the_item ".event == \"queue_item\" and .item.audit_id == \"$ITEM\" and .item.ref == \"C-1\"
  and .item.cause.kind == \"list_change\" and (.timestamp | type) == \"number\"" "$TMPD/body"
if [ "$(line 1 '.headers["content-type"]')" = application/json ]; then ok content_type; else
  notok content_type "$(line 1 .headers)"; fi
if verify 1 "$SECRET"; then ok signature_verifies; else notok signature_verifies "$(line 1 .headers)"; fi
if verify 0 "$SECRET"; then ok first_attempt_signed; else notok first_attempt_signed "$(line 0 .headers)"; fi
if verify 1 "another-secret"; then notok other_secret_fails "verifies with the wrong secret"; else
  ok other_secret_fails; fi
# openssl computes the same HMAC (the trailing newline of the file is no part of the secret)
mac=$(line 1 .body | tr -d '\n' | openssl dgst -sha256 -hmac "$SECRET" | sed 's/.*= *//')
if [ "sha256=$mac" = "$(line 1 '.headers["x-acegate-signature"]')" ]; then ok openssl_agrees; else
  notok openssl_agrees "sha256=$mac"; fi

# every attempt recorded: the 500, then the delivery
expect_exit deliveries 0 "$ACEGATE" parties deliveries --db "$DB"
jqok deliveries_recorded "[.items[] | [.item, .attempt, .status, .result]] ==
  [[\"$ITEM\", 2, 204, \"delivered\"], [\"$ITEM\", 1, 500, \"failed\"]]
  and (.items[1].error | test(\"500\")) and .items[0].url == \"$HOOK\"" "$TMPD/out"
expect_exit deliveries_bad_limit 2 "$ACEGATE" parties deliveries --limit 0 --db "$DB"

# ---- no receiver at all: the update still ends, in bounded time, and the
# attempts are recorded (a fresh log and registry) ----
DB3="$TMPD/other.db"
export ACEGATE_HOME="$TMPD/home3"
expect_exit update_base 0 "$ACEGATE" lists update "$FX/remember-el.csv" --force --db "$DB3"
"$ACEGATE" parties import "$TMPD/parties.csv" --columns "$COLS" --db "$DB3" >/dev/null
start=$(date +%s)
expect_exit update_unreachable 0 "$ACEGATE" lists update "$FX/remember-el-added.csv" --db "$DB3" \
  --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret"
took=$(($(date +%s) - start))
if [ "$took" -le 40 ]; then ok unreachable_bounded; else notok unreachable_bounded "${took}s"; fi
"$ACEGATE" parties deliveries --db "$DB3" >"$TMPD/d"
jqok unreachable_recorded '(.items | length) == 5 and ([.items[].attempt] == [5,4,3,2,1])
  and (.items | all(.status == 0 and .url == "http://127.0.0.1:9/hook"))
  and .items[0].result == "abandoned" and .items[1].result == "failed"' "$TMPD/d"

# ---- the outbox: the abandoned item stays pending, and the next process to
# open the webhook sends it, once, signed; a delivered item is not sent
# again ----
ITEM3=$("$ACEGATE" review queue --db "$DB3" | jq -r '.items[0].audit_id')
expect_exit pending_lists 0 "$ACEGATE" parties deliveries --pending --db "$DB3"
jqok abandoned_is_pending "[.items[] | [.item, .claimed_until]] == [[\"$ITEM3\", null]]
  and .total == 1" "$TMPD/out"
receiver_start 0
# a check with no queue item: its webhook sends what is pending, then exits
expect_exit next_open_sends 0 "$ACEGATE" check --eccn 5A001.j --to FR --no-screen --db "$DB3" \
  --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
receiver_stop
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 1 ] && [ "$(line 0 .body | jq -r .id)" = "$ITEM3" ]; then ok abandoned_sent_once; else
  notok abandoned_sent_once "$n requests: $(cat "$TMPD/hook.log")"; fi
if verify 0 "$SECRET"; then ok abandoned_sent_signed; else notok abandoned_sent_signed "$(line 0 .headers)"; fi
line 0 .body >"$TMPD/body"
jqok abandoned_sent_body ".event == \"queue_item\" and .id == \"$ITEM3\" and .item.audit_id == \"$ITEM3\"
  and .item.ref == \"C-1\" and .item.cause.kind == \"list_change\"" "$TMPD/body"
"$ACEGATE" parties deliveries --db "$DB3" >"$TMPD/d"
jqok abandoned_then_delivered "(.items | length) == 6 and ([.items[0:2][] | [.item, .attempt, .result]] ==
  [[\"$ITEM3\", 1, \"delivered\"], [\"$ITEM3\", 5, \"abandoned\"]])" "$TMPD/d"
"$ACEGATE" parties deliveries --pending --db "$DB3" >"$TMPD/p"
jqok delivered_not_pending '.items == [] and .total == 0' "$TMPD/p"
receiver_start 0
expect_exit next_open_again 0 "$ACEGATE" check --eccn 5A001.j --to FR --no-screen --db "$DB3" \
  --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
receiver_stop
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 0 ]; then ok delivered_not_sent_again; else
  notok delivered_not_sent_again "$n requests: $(cat "$TMPD/hook.log")"; fi
expect_exit pending_bad_arg 2 "$ACEGATE" parties deliveries --pending extra --db "$DB3"
export ACEGATE_HOME="$TMPD/home"

# ---- a process killed (SIGKILL) with items queued: those it had not
# attempted are sent by the next process to open the webhook (the service
# here), oldest first; the one it was attempting stays claimed for the
# lease (docs/review.md, "The webhook") ----
DB7="$TMPD/killed.db"
line3='{"name":"Quorvex Data","country":"BY"}'
printf '%s\n' "$line3" "$line3" "$line3" >"$TMPD/three.jsonl"
# no receiver: the first item is retried for 7.5 s, the other two wait
"$ACEGATE" screen --batch --lists "$FX/remember-el.csv" --db "$DB7" \
  --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret" \
  <"$TMPD/three.jsonl" >"$TMPD/three.out" 2>&1 &
KPID=$!
wait_first_claimed "$DB7"
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
"$ACEGATE" parties deliveries --pending --db "$DB7" >"$TMPD/p"
jqok killed_items_pending '.total == 3 and [.items[].claimed_until != null] == [false, false, true]' "$TMPD/p"
K1=$(jq -r '.items[2].item' "$TMPD/p")
K2=$(jq -r '.items[1].item' "$TMPD/p")
K3=$(jq -r '.items[0].item' "$TMPD/p")
"$ACEGATE" parties deliveries --db "$DB7" >"$TMPD/d"
jqok killed_before_their_attempts "[.items[].item] - [\"$K1\"] == []" "$TMPD/d"
receiver_start 0
serve_start --listen 127.0.0.1:0 --db "$DB7" --lists "$FX/remember-el.csv" \
  --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
i=0
while [ "$i" -lt 200 ] && [ "$(wc -l <"$TMPD/hook.log")" -lt 2 ]; do sleep 0.05; i=$((i + 1)); done
serve_stop
receiver_stop
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 2 ] && [ "$(line 0 .body | jq -r .id)" = "$K2" ] && [ "$(line 1 .body | jq -r .id)" = "$K3" ]; then
  ok killed_items_sent_by_next; else notok killed_items_sent_by_next "$n requests: $(cat "$TMPD/hook.log")"; fi
if verify 0 "$SECRET" && verify 1 "$SECRET"; then ok killed_items_signed; else
  notok killed_items_signed "$(cat "$TMPD/hook.log")"; fi
line 1 .body >"$TMPD/body"
jqok killed_item_body ".id == \"$K3\" and .item.audit_id == \"$K3\" and .item.outcome == \"POSSIBLE_MATCH\"" \
  "$TMPD/body"
"$ACEGATE" parties deliveries --pending --db "$DB7" >"$TMPD/p"
jqok claimed_item_waits_for_lease "[.items[].item] == [\"$K1\"] and .items[0].claimed_until != null" "$TMPD/p"

# ---- retention: serve deletes from the outbox the items delivered longer
# ago than --webhook-retention days (default 30), a batch at a time, from
# the start; a pending item stays however old, and every attempt stays
# recorded (docs/review.md, "The webhook") ----
DAY=86400000
sq7() { sqlite3 "$DB7-webhook" "$1"; }
# K3 delivered 100 days ago, K2 40 days ago and, as a backlog longer than
# two batches, 1,200 more deliveries as old; K1, still pending, posted 400
# days ago
sq7 "UPDATE outbox SET delivered_ms = delivered_ms - 100 * $DAY WHERE item = '$K3';
  UPDATE outbox SET delivered_ms = delivered_ms - 40 * $DAY WHERE item = '$K2';
  UPDATE outbox SET at_ms = at_ms - 400 * $DAY WHERE item = '$K1';
  WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)
  INSERT INTO outbox(item, body, at_ms, delivered_ms)
    SELECT item, body, at_ms, delivered_ms FROM outbox, n WHERE item = '$K2';"
attempts=$(sq7 "SELECT count(*) FROM deliveries")
# wait_pruned: waits (10 s at most) for the service's webhook_pruned event
wait_pruned() {
  _i=0
  while [ "$_i" -lt 200 ] && ! grep -q '"event":"webhook_pruned"' "$TMPD/srv.log"; do
    sleep 0.05
    _i=$((_i + 1))
  done
}
# the flag overrides the file: 60 days, not 20
printf 'webhook-retention = 20\n' >"$TMPD/retention.conf"
serve_start --config "$TMPD/retention.conf" --webhook-retention 60 --listen 127.0.0.1:0 \
  --db "$DB7" --lists "$FX/remember-el.csv" --webhook-url http://127.0.0.1:9/hook \
  --webhook-secret-file "$TMPD/secret"
wait_pruned
serve_stop
if grep -q '"event":"webhook_pruned","items":1}' "$TMPD/srv.log"; then ok retention_flag_logged; else
  notok retention_flag_logged "$(grep webhook_ "$TMPD/srv.log")"; fi
got=$(sq7 "SELECT (SELECT count(*) FROM outbox WHERE item = '$K3') || ' ' ||
  (SELECT count(*) FROM outbox WHERE item = '$K2') || ' ' ||
  (SELECT count(*) FROM outbox WHERE item = '$K1' AND delivered_ms IS NULL)")
if [ "$got" = "0 1201 1" ]; then ok retention_flag_respected; else
  notok retention_flag_respected "K3, K2, K1 rows: $got (wanted 0 1201 1)"; fi
# from the file: 35 days, so the 1,201 deliveries of 40 days ago go, in
# three batches; K1 stays
printf 'webhook-retention = 35\n' >"$TMPD/retention.conf"
serve_start --config "$TMPD/retention.conf" --listen 127.0.0.1:0 --db "$DB7" \
  --lists "$FX/remember-el.csv" --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret"
wait_pruned
serve_stop
if grep -q '"event":"webhook_pruned","items":1201}' "$TMPD/srv.log"; then ok retention_conf_logged; else
  notok retention_conf_logged "$(grep webhook_ "$TMPD/srv.log")"; fi
got=$(sq7 "SELECT group_concat(item || ':' || ifnull(delivered_ms, 'pending')) FROM outbox")
if [ "$got" = "$K1:pending" ]; then ok old_delivered_pruned_pending_kept; else
  notok old_delivered_pruned_pending_kept "outbox left: $got"; fi
if [ "$(sq7 "SELECT count(*) FROM deliveries")" = "$attempts" ]; then ok attempts_kept; else
  notok attempts_kept "$attempts attempts before, $(sq7 "SELECT count(*) FROM deliveries") after"; fi
# the listings still say what happened: the delivered attempts of K2 and
# K3, and K1 pending
"$ACEGATE" parties deliveries --db "$DB7" >"$TMPD/d"
jqok pruned_deliveries_listed "[.items[] | select(.result == \"delivered\") | .item] | sort ==
  ([\"$K2\", \"$K3\"] | sort)" "$TMPD/d"
"$ACEGATE" parties deliveries --pending --db "$DB7" >"$TMPD/p"
jqok pruned_pending_listed "[.items[].item] == [\"$K1\"] and .total == 1" "$TMPD/p"
# the default, 30 days: of two deliveries, the one of 31 days ago goes,
# the one of 29 days ago stays
DB8="$TMPD/retain.db"
receiver_start 0
printf '%s\n' "$line3" "$line3" >"$TMPD/two.jsonl"
"$ACEGATE" screen --batch --lists "$FX/remember-el.csv" --db "$DB8" --webhook-url "$HOOK" \
  --webhook-secret-file "$TMPD/secret" <"$TMPD/two.jsonl" >/dev/null 2>&1
receiver_stop
sqlite3 "$DB8-webhook" "UPDATE outbox SET delivered_ms = delivered_ms - 31 * $DAY WHERE seq = 1;
  UPDATE outbox SET delivered_ms = delivered_ms - 29 * $DAY WHERE seq = 2;"
serve_start --listen 127.0.0.1:0 --db "$DB8" --lists "$FX/remember-el.csv" \
  --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret"
wait_pruned
serve_stop
got=$(sqlite3 "$DB8-webhook" "SELECT group_concat(seq) FROM outbox")
if [ "$got" = 2 ]; then ok retention_default_30_days; else notok retention_default_30_days "seqs left: $got"; fi
# a bad retention is refused, named as the flag or the file's key
expect_exit retention_zero 2 "$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB8" --no-lists \
  --webhook-retention 0 --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret"
expect_grep retention_zero_named '^acegate serve: --webhook-retention: .*days' "$TMPD/err"
printf 'webhook-retention = a month\n' >"$TMPD/retention.conf"
expect_exit retention_conf_bad 2 "$ACEGATE" serve --config "$TMPD/retention.conf" --listen 127.0.0.1:0 \
  --db "$DB8" --no-lists --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret"
expect_grep retention_conf_bad_named 'retention.conf:1: webhook-retention: .*days' "$TMPD/err"

# ---- lists fetch (the daily timer's path) delivers the same way; a bad
# webhook is refused before any download ----
DB4="$TMPD/fetch.db"
export ACEGATE_HOME="$TMPD/home4"
"$ACEGATE" lists update "$FX/remember-el.csv" --force --db "$DB4" >/dev/null 2>&1
"$ACEGATE" parties import "$TMPD/parties.csv" --columns "$COLS" --db "$DB4" >/dev/null
ADDED="file://$(cd "$FX" && pwd)/remember-el-added.csv"
expect_exit fetch_bad_url 2 "$ACEGATE" lists fetch --csl-url "$ADDED" --ofac-url none --force \
  --db "$DB4" --webhook-url ftp://127.0.0.1/hook --webhook-secret-file "$TMPD/secret"
expect_grep fetch_bad_url_named 'webhook-url' "$TMPD/err"
if [ ! -d "$TMPD/home4/fetch" ] || [ -z "$(ls "$TMPD/home4/fetch")" ]; then ok fetch_refused_first; else
  notok fetch_refused_first "$(ls "$TMPD/home4/fetch")"; fi
receiver_start 0
# the keys from acegate.conf, as the timer's service reads them
printf 'webhook-url = %s\nwebhook-secret-file = %s\n' "$HOOK" "$TMPD/secret" >"$TMPD/fetch.conf"
expect_exit fetch_delivers 0 "$ACEGATE" lists fetch --config "$TMPD/fetch.conf" --csl-url "$ADDED" \
  --ofac-url none --force --db "$DB4"
receiver_stop
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 1 ]; then ok fetch_one_delivery; else notok fetch_one_delivery "$n requests: $(cat "$TMPD/err")"; fi
if verify 0 "$SECRET"; then ok fetch_signature_verifies; else notok fetch_signature_verifies "$(cat "$TMPD/hook.log")"; fi
export ACEGATE_HOME="$TMPD/home"

# ---- the service: options refused, then a reload delivered ----
DB2="$TMPD/srv.db"
cp "$FX/remember-el.csv" "$TMPD/lists.csv"
"$ACEGATE" check --eccn 4D004 --to MT --no-screen --db "$DB2" >/dev/null
ADM=$("$ACEGATE" keys add --role admin --name adm --db "$DB2" 2>/dev/null | tail -n 1)
expect_exit serve_bad_url 2 "$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB2" --lists "$TMPD/lists.csv" \
  --webhook-url 'file:///etc/passwd' --webhook-secret-file "$TMPD/secret"
expect_grep serve_bad_url_named '--webhook-url' "$TMPD/err"
expect_exit serve_bad_secret 4 "$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB2" --lists "$TMPD/lists.csv" \
  --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/no-such-secret"
expect_grep serve_bad_secret_named '--webhook-secret-file' "$TMPD/err"
# the acegate.conf keys are serve's options
printf 'webhook-url = gopher://127.0.0.1/hook\nwebhook-secret-file = %s\n' "$TMPD/secret" >"$TMPD/acegate.conf"
expect_exit conf_bad_url 2 "$ACEGATE" serve --config "$TMPD/acegate.conf" --listen 127.0.0.1:0 \
  --db "$DB2" --lists "$TMPD/lists.csv"
expect_grep conf_bad_url_named 'webhook-url.*gopher' "$TMPD/err"
receiver_start 0
serve_start --listen 127.0.0.1:0 --db "$DB2" --lists "$TMPD/lists.csv" \
  --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
curl -s -o /dev/null -H "Authorization: Bearer $ADM" -H 'Content-Type: text/csv' \
  --data-binary @"$TMPD/parties.csv" "$B/v1/parties:import?columns=name%3DCompany%2Ccountry%3DCtry%2Cref%3DCustomerID%2Caddress%3DAddr"
cp "$FX/remember-el-added.csv" "$TMPD/lists.csv"
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADM" \
  -H 'Content-Type: application/json' "$B/v1/admin/reload")
if [ "$code" = 200 ]; then ok serve_reload; else notok serve_reload "HTTP $code"; fi
i=0
while [ "$i" -lt 100 ] && [ ! -s "$TMPD/hook.log" ]; do sleep 0.05; i=$((i + 1)); done
serve_stop
receiver_stop
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 1 ]; then ok serve_one_delivery; else notok serve_one_delivery "$n requests"; fi
if verify 0 "$SECRET"; then ok serve_signature_verifies; else notok serve_signature_verifies "$(cat "$TMPD/hook.log")"; fi
line 0 .body >"$TMPD/body"
jqok serve_body_item '.item.ref == "C-1" and .item.cause.kind == "list_change" and .id == .item.audit_id' "$TMPD/body"

# ---- every new queue item, whatever made it: a check whose outcome is
# REVIEW (a possible Entity List match of the end user), a screening in a
# batch with a possible match; a decided check posts nothing ----
DB5="$TMPD/queue.db"
ADM5=$("$ACEGATE" keys add --role admin --name adm --db "$DB5" 2>/dev/null | tail -n 1)
receiver_start 0
serve_start --listen 127.0.0.1:0 --db "$DB5" --lists "$FX/remember-el.csv" \
  --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
post() {
  curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $ADM5" \
    -H 'Content-Type: application/json' --data-binary "$2" "$B$1"
}
# Malta: 4D004 under ACE unless the end user is listed; "Zeltronic
# Surveillance" is a possible match of the listed "Zeltronic Surveillance
# Systems", so the check is REVIEW (decision model, step 9)
code=$(post /v1/checks '{"item":{"eccn":"4D004"},"destination":"MT","end_user":{"name":"Zeltronic Surveillance"},"ref":"Q-1"}')
jqok queue_check_review '.outcome == "REVIEW"' "$TMPD/body"
CHK=$(jq -r .audit_id "$TMPD/body")
code=$(post /v1/checks '{"item":{"eccn":"4D004"},"destination":"MT","end_user":{"name":"Boulangerie Martin"}}')
jqok queue_check_decided '.outcome == "LICENSE_EXCEPTION_ACE"' "$TMPD/body"
code=$(post /v1/screenings:batch '{"screenings":[{"name":"Acme Widgets GmbH","country":"DE"},{"name":"Quorvex Data","country":"BY"}]}')
jqok queue_screening_possible '[.results[].outcome] == ["NO_MATCH","POSSIBLE_MATCH"]' "$TMPD/body"
SCR=$(jq -r '.results[1].audit_id' "$TMPD/body")
i=0
while [ "$i" -lt 200 ] && [ "$(wc -l <"$TMPD/hook.log")" -lt 2 ]; do sleep 0.05; i=$((i + 1)); done
sleep 0.3 # a third delivery, were there one, would be in by now
code=$(curl -s -o "$TMPD/q" -w '%{http_code}' -H "Authorization: Bearer $ADM5" "$B/v1/reviews?status=open")
serve_stop
receiver_stop
jqok queue_lists_both "[.items[].audit_id] == [\"$CHK\", \"$SCR\"]" "$TMPD/q"
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 2 ]; then ok queue_two_deliveries; else notok queue_two_deliveries "$n requests: $(cat "$TMPD/hook.log")"; fi
line 0 .body >"$TMPD/body"
jqok queue_check_posted ".event == \"queue_item\" and .id == \"$CHK\" and .item.audit_id == \"$CHK\"
  and .item.outcome == \"REVIEW\" and .item.ref == \"Q-1\"" "$TMPD/body"
line 1 .body >"$TMPD/body"
jqok queue_screening_posted ".id == \"$SCR\" and .item.outcome == \"POSSIBLE_MATCH\"" "$TMPD/body"
if verify 0 "$SECRET" && verify 1 "$SECRET"; then ok queue_signed; else notok queue_signed "$(cat "$TMPD/hook.log")"; fi
expect_exit queue_deliveries 0 "$ACEGATE" parties deliveries --db "$DB5"
jqok queue_deliveries_recorded "[.items[] | [.item, .attempt, .result]] | sort ==
  ([[\"$CHK\", 1, \"delivered\"], [\"$SCR\", 1, \"delivered\"]] | sort)" "$TMPD/out"

# ---- the command line posts the same: a REVIEW check, a batch screening's
# possible match; a bad webhook is refused before anything is recorded ----
DB6="$TMPD/cli.db"
receiver_start 0
expect_exit cli_check 0 "$ACEGATE" check --eccn 4D004 --to MT --end-user "Zeltronic Surveillance" --ref Q-9 \
  --lists "$FX/remember-el.csv" --db "$DB6" --json --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret"
jqok cli_check_review '.outcome == "REVIEW"' "$TMPD/out"
CLI_CHK=$(jq -r .audit_id "$TMPD/out")
printf '%s\n' '{"name":"Acme Widgets GmbH","country":"DE"}' '{"name":"Quorvex Data","country":"BY"}' >"$TMPD/scr.jsonl"
"$ACEGATE" screen --batch --lists "$FX/remember-el.csv" --db "$DB6" --webhook-url "$HOOK" \
  --webhook-secret-file "$TMPD/secret" <"$TMPD/scr.jsonl" >"$TMPD/out" 2>"$TMPD/err"
CLI_SCR=$(sed -n 2p "$TMPD/out" | jq -r 'select(.outcome == "POSSIBLE_MATCH") | .audit_id')
receiver_stop
n=$(wc -l <"$TMPD/hook.log")
if [ "$n" -eq 2 ]; then ok cli_two_deliveries; else notok cli_two_deliveries "$n requests: $(cat "$TMPD/hook.log" "$TMPD/err")"; fi
if [ -n "$CLI_SCR" ] && [ "$(line 0 .body | jq -r .id)" = "$CLI_CHK" ] && [ "$(line 1 .body | jq -r .id)" = "$CLI_SCR" ]; then
  ok cli_items_posted; else notok cli_items_posted "$CLI_CHK $CLI_SCR: $(cat "$TMPD/hook.log")"; fi
if verify 0 "$SECRET" && verify 1 "$SECRET"; then ok cli_signed; else notok cli_signed "$(cat "$TMPD/hook.log")"; fi
before=$("$ACEGATE" audit search --db "$DB6" --limit 1000 | jq -s length)
expect_exit cli_bad_url 2 "$ACEGATE" screen "Quorvex Data" --lists "$FX/remember-el.csv" --db "$DB6" \
  --webhook-url ftp://127.0.0.1/hook --webhook-secret-file "$TMPD/secret"
expect_grep cli_bad_url_named '--webhook-url' "$TMPD/err"
after=$("$ACEGATE" audit search --db "$DB6" --limit 1000 | jq -s length)
if [ "$before" = "$after" ]; then ok cli_bad_url_records_nothing; else notok cli_bad_url_records_nothing "$before -> $after"; fi
