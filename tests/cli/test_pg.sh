#!/bin/sh
# test_pg.sh - the audit log in PostgreSQL (docs/audit.md, "PostgreSQL"):
# a real server made with initdb and run by pg_ctl as an unprivileged user,
# and haproxy, both on loopback. Two replicas behind haproxy append to one
# log under concurrent load while one replica is SIGKILLed and PostgreSQL
# is shut down immediately and started again; afterwards every acknowledged
# decision is in the log byte for byte and the chain verifies. Also: the
# append-only role and triggers, tampering named by verify, a SQLite log
# migrated and backed up again with the same chain, --db URIs for the
# other commands, and the party registry and webhook deliveries in the same
# database: imported, listed, re-screened after a list update, and two
# replicas reloading one change making one queue item, delivered once, the
# items of a killed process sent once by two processes opening together, all
# by a role with only the documented GRANTs, and delivered items older than
# the retention deleted from the outbox; a re-screening SIGKILLed
# midway and finished by the next update of the same change, with as many
# queue items per party as a clean run. PostgreSQL and haproxy missing is
# a failure, not a skip: scripts/install-deps.sh installs them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/rescreen_lib.sh"
plan 110
PIDS=""
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then echo "ok $1"; else
    echo "not ok $1: jq '$2' on $(head -c 400 "$3")"; fi
}
stop_all() {
  for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
  for p in $PIDS; do wait "$p" 2>/dev/null; done
  PIDS=""
  pg_cleanup
}
trap 'stop_all; rm -rf "$TMPD"' EXIT

if ! pg_start; then
  echo "not ok pg_starts: PostgreSQL could not be started (see above)"
  exit 1
fi
echo "ok pg_starts"
if ! command -v haproxy >/dev/null 2>&1; then
  echo "not ok haproxy_installed: haproxy is missing (scripts/install-deps.sh installs it)"
  exit 1
fi
echo "ok haproxy_installed"

ADMIN_URI=$PG_URI
# the service's role: it may read and append, nothing else
APP_URI="postgresql://acegate_app@127.0.0.1:$PGPORT/postgres"

# ---- the schema, made on first use, and the service's role ----
AK=$("$ACEGATE" keys add --role admin --name ops --db "$ADMIN_URI" 2>"$TMPD/err" | tail -n 1)
case $AK in agk_*) echo "ok schema_made_on_first_use" ;;
  *) echo "not ok schema_made_on_first_use: $(head -3 "$TMPD/err")" ;; esac
pg_sql "CREATE ROLE acegate_app LOGIN;
  GRANT SELECT, INSERT ON audit_log TO acegate_app;
  GRANT SELECT, UPDATE ON audit_head TO acegate_app;
  GRANT SELECT, INSERT, UPDATE ON api_keys TO acegate_app;
  GRANT SELECT ON audit_meta, audit_dict TO acegate_app;" >/dev/null
CK=$("$ACEGATE" keys add --role checker --db "$APP_URI" 2>/dev/null | tail -n 1)
"$ACEGATE" check --eccn 4D004 --to CN --end-user-type government --ref PG-1 --db "$APP_URI" \
  >"$TMPD/first" 2>"$TMPD/err"
expect_grep app_role_appends '^audit id: a-' "$TMPD/first"

# a role with INSERT and SELECT only cannot change a record...
"$PG_BIN/psql" -X -q "$APP_URI" -c "UPDATE audit_log SET outcome = 'NLR' WHERE seq = 2" \
  >"$TMPD/out" 2>&1
expect_grep app_role_cannot_update 'permission denied' "$TMPD/out"
# ...and the owner is refused by the triggers
"$PG_BIN/psql" -X -q "$ADMIN_URI" -c "DELETE FROM audit_log WHERE seq = 2" >"$TMPD/out" 2>&1
expect_grep trigger_refuses_delete 'append-only' "$TMPD/out"
"$PG_BIN/psql" -X -q "$ADMIN_URI" -c "UPDATE audit_head SET seq = 1" >"$TMPD/out" 2>&1
expect_grep head_cannot_move_back 'only move forward' "$TMPD/out"
# an insert at or below the head is refused, even beside a row above it
"$PG_BIN/psql" -X -q "$ADMIN_URI" -c "INSERT INTO audit_log SELECT s, audit_id, ts_ms, kind,
  key_id, client_addr, rules_version, lists_version, as_of, destination, eccn, outcome, request,
  decision, prev_hash, hash FROM audit_log, (VALUES (0), (1000000)) v(s) WHERE seq = 2" \
  >"$TMPD/out" 2>&1
expect_grep trigger_refuses_insert_below_head 'at or below the head' "$TMPD/out"
# the dictionary the decisions are compressed with cannot change
"$PG_BIN/psql" -X -q "$ADMIN_URI" -c "UPDATE audit_dict SET dict = dict" >"$TMPD/out" 2>&1
expect_grep trigger_refuses_dictionary_update 'UPDATE on audit_dict refused' "$TMPD/out"

# ---- the other commands take the URI as --db ----
"$ACEGATE" screen "Hikvision Digital Technology" --country CN --db "$APP_URI" >"$TMPD/screen" 2>&1
expect_grep screen_records_in_pg '^audit id: a-' "$TMPD/screen"
"$ACEGATE" classify --answers "$(dirname "$0")/../classify/debugger.json" --db "$APP_URI" \
  >"$TMPD/out" 2>&1
expect_grep classify_records_in_pg '^audit id: a-' "$TMPD/out"
# the Entity List names Hikvision: a confident match, confirmed by a reviewer
SID=$(sed -n 's/^audit id: //p' "$TMPD/screen")
expect_exit review_add_in_pg 0 "$ACEGATE" review add "$SID" --decision confirmed \
  --note "the listed party" --db "$APP_URI"
expect_exit review_show_in_pg 0 "$ACEGATE" review show "$SID" --db "$APP_URI"
expect_grep review_status_confirmed '"status":"confirmed"' "$TMPD/out"
expect_exit search_by_ref_in_pg 0 "$ACEGATE" audit search --ref PG-1 --db "$APP_URI"
# 4D004 to a government end user in CN: 740.22(c)(1)(ii) blocks ACE
expect_grep search_finds_the_check '"outcome":"LICENSE_REQUIRED"' "$TMPD/out"
# a "ref" key written with a \u escape is the same key, found as SQLite finds it
printf '%s\n' '{"name":"Acme Widgets","country":"DE","\u0072ef":"PG-U"}' |
  "$ACEGATE" screen --batch --db "$APP_URI" >/dev/null 2>&1
expect_exit search_escaped_ref_in_pg 0 "$ACEGATE" audit search --ref PG-U --db "$APP_URI"
expect_grep search_finds_escaped_ref 'Acme Widgets' "$TMPD/out"
expect_exit keys_list_in_pg 0 "$ACEGATE" keys list --db "$APP_URI"
expect_grep keys_list_names_admin 'ops' "$TMPD/out"

# ---- the party registry and the webhook's deliveries in the log's database
# (docs/review.md, "The party registry"; docs/audit.md, "Roles") ----
# the owner makes their tables by opening them; the service's role gets
# the documented GRANTs and nothing else
expect_exit registry_made_by_owner 0 "$ACEGATE" parties list --db "$ADMIN_URI"
expect_exit deliveries_made_by_owner 0 "$ACEGATE" parties deliveries --db "$ADMIN_URI"
pg_sql "GRANT SELECT, INSERT, UPDATE ON party_registry, party_hits, party_rescreens TO acegate_app;
  GRANT SELECT, INSERT ON webhook_deliveries TO acegate_app;
  GRANT SELECT, INSERT, UPDATE, DELETE ON webhook_outbox TO acegate_app;" >/dev/null
export ACEGATE_HOME="$TMPD/home" # the lists in force: the two-entry fixture
FX="$(dirname "$0")/../screen/fixtures"
"$ACEGATE" lists update "$FX/remember-el.csv" --force --db "$APP_URI" >/dev/null 2>&1
cat >"$TMPD/parties.csv" <<'CSV'
CustomerID,Company,Ctry
C-1,Vantorix Intrusion Technologies,CY
C-2,Acme Widgets GmbH,DE
C-3,Halvorsen Cyber Intelligence AS,NO
CSV
expect_exit parties_import_in_pg 0 "$ACEGATE" parties import "$TMPD/parties.csv" \
  --columns name=Company,country=Ctry,ref=CustomerID --db "$APP_URI"
jqok parties_imported '.imported == 3 and .updated == 0 and .errors == []' "$TMPD/out"
expect_exit parties_list_in_pg 0 "$ACEGATE" parties list --q acme --db "$APP_URI"
jqok parties_list_q '[.items[].ref] == ["C-2"] and .items[0].source == "import"
  and .items[0].country == "DE" and .next_cursor == null' "$TMPD/out"
# paging: the cursor is the last ref of a page, refs ordered byte by byte
"$ACEGATE" parties list --limit 2 --db "$APP_URI" >"$TMPD/p1" 2>&1
"$ACEGATE" parties list --limit 2 --cursor "$(jq -r .next_cursor "$TMPD/p1")" --db "$APP_URI" \
  >"$TMPD/p2" 2>&1
jq -s '[.[].items[].ref]' "$TMPD/p1" "$TMPD/p2" >"$TMPD/pages"
jqok parties_paged '. == ["C-1","C-2","C-3"]' "$TMPD/pages"
# a check made with a ref notes its party in the registry
"$ACEGATE" check --eccn 5A001.j --to FR --end-user "Boulangerie Martin" --ref C-9 \
  --db "$APP_URI" >/dev/null 2>&1
expect_exit parties_show_in_pg 0 "$ACEGATE" parties show C-9 --db "$APP_URI"
jqok check_notes_party '.party.name == "Boulangerie Martin" and .party.source == "check"
  and .party.country == "FR" and .party.last_screened != null
  and [.history[].kind] == ["check"]' "$TMPD/out"
expect_exit parties_show_unknown_in_pg 2 "$ACEGATE" parties show C-404 --db "$APP_URI"
# a batch notes the parties of its lines made with a ref, a chunk in one
# transaction; a line without a ref adds none
printf '%s\n' \
  '{"item":{"eccn":"5A001.j"},"destination":"JP","end_user":{"name":"Sakura Denki KK","country":"JP"},"ref":"J-1"}' \
  '{"item":{"eccn":"5A001.j"},"destination":"DE","end_user":{"name":"Ohneref Maschinenbau GmbH"}}' |
  "$ACEGATE" check --batch --db "$APP_URI" >/dev/null 2>&1
"$ACEGATE" parties list --db "$APP_URI" >"$TMPD/out" 2>&1
jqok batch_notes_parties '[.items[] | select(.source == "check") | [.ref, .name]] ==
  [["C-9","Boulangerie Martin"],["J-1","Sakura Denki KK"]]' "$TMPD/out"
# a list update adding an Entity List entry that names C-1 (744.11): one
# queue item, naming the update
expect_exit update_rescreens_in_pg 0 "$ACEGATE" lists update "$FX/remember-el-added.csv" \
  --db "$APP_URI"
expect_grep update_one_item '1 entries added or changed: 1 new queue items' "$TMPD/out"
UPD=$(sed -n 's/^audit id: //p' "$TMPD/out")
"$ACEGATE" review queue --db "$APP_URI" >"$TMPD/q" 2>&1
jqok queue_item_with_cause "[.items[] | select(.cause.kind == \"list_change\")] | length == 1
  and .[0].ref == \"C-1\" and .[0].cause.audit_id == \"$UPD\"" "$TMPD/q"
# the same hit again, in full, is no new item
expect_exit rescreen_all_in_pg 0 "$ACEGATE" parties rescreen --all --lists "$FX/remember-el-added.csv" \
  --db "$APP_URI"
jqok rescreen_all_none '.parties == 5 and .items == 0' "$TMPD/out"

# two replicas reload the same changed lists (an entry added that names
# C-3): one re-screens, the other finds the change claimed; one item in
# all, delivered once by the webhook and recorded in the database
printf 's3cret\n' >"$TMPD/secret"
: >"$TMPD/hook.log"
python3 "$(dirname "$0")/webhook_receiver.py" "$TMPD/hook.port" "$TMPD/hook.log" &
RCV_PID=$!
PIDS="$PIDS $RCV_PID"
i=0
while [ "$i" -lt 100 ] && [ ! -s "$TMPD/hook.port" ]; do sleep 0.05; i=$((i + 1)); done
HOOK="http://127.0.0.1:$(cat "$TMPD/hook.port")/hook"
cp "$FX/remember-el-added.csv" "$TMPD/lists.csv"
start_registry_replica() {
  "$ACEGATE" serve --no-config --listen 127.0.0.1:0 --db "$APP_URI" --lists "$TMPD/lists.csv" \
    --webhook-url "$HOOK" --webhook-secret-file "$TMPD/secret" --access-log off \
    2>"$TMPD/reg$1.log" &
  eval "RPID_$1=$!"
  PIDS="$PIDS $!"
  eval "RPORT_$1=$(listening_port "$TMPD/reg$1.log" $!)"
}
start_registry_replica 1
start_registry_replica 2
if [ -n "$RPORT_1" ] && [ -n "$RPORT_2" ] && ! grep -q party_registry_off "$TMPD"/reg*.log; then
  echo "ok replicas_open_the_registry"
else
  echo "not ok replicas_open_the_registry: $(cat "$TMPD"/reg*.log | head -4)"
fi
{ cat "$FX/remember-el-added.csv"
  sed -n 2p "$FX/remember-el.csv" | sed 's/Zeltronic Surveillance Systems/Halvorsen Cyber Intelligence AS/;
    s/1 Harbour Road, Valletta, MT/4 Fjordgata, Oslo, NO/; s/89 FR 1234/91 FR 5555/'
} >"$TMPD/lists.new"
mv "$TMPD/lists.new" "$TMPD/lists.csv"
for n in 1 2; do
  eval "port=\$RPORT_$n"
  curl -s -o "$TMPD/reload$n" -w '%{http_code}' -X POST -H "Authorization: Bearer $AK" \
    -H 'Content-Type: application/json' "http://127.0.0.1:$port/v1/admin/reload" >"$TMPD/code$n" &
done
wait_reloads() {
  _i=0
  while [ "$_i" -lt 100 ]; do
    [ "$(cat "$TMPD"/reg1.log "$TMPD"/reg2.log | grep -c '"event":"rescreen')" -ge 2 ] && return
    sleep 0.1
    _i=$((_i + 1))
  done
}
wait_reloads
if [ "$(cat "$TMPD/code1" "$TMPD/code2")" = "200200" ]; then echo "ok replicas_reload"; else
  echo "not ok replicas_reload: $(cat "$TMPD/code1" "$TMPD/code2" "$TMPD/reload1")"; fi
skipped=$(cat "$TMPD"/reg1.log "$TMPD"/reg2.log | grep -c '"event":"rescreen_skipped"')
made=$(cat "$TMPD"/reg1.log "$TMPD"/reg2.log | grep '"event":"rescreened"' | grep -c '"items":1')
if [ "$skipped" -eq 1 ] && [ "$made" -eq 1 ]; then echo "ok one_replica_rescreens"; else
  echo "not ok one_replica_rescreens: $skipped skipped, $made made: $(grep rescreen "$TMPD"/reg*.log)"; fi
curl -s -H "Authorization: Bearer $AK" "http://127.0.0.1:$RPORT_2/v1/reviews?status=open&limit=100" \
  >"$TMPD/open"
jqok one_item_for_two_replicas '[.items[] | select(.ref == "C-3")] | length == 1
  and .[0].cause.kind == "list_change" and (.[0].cause.entries | length) == 1' "$TMPD/open"
C3_ITEM=$(jq -r '[.items[] | select(.ref == "C-3")][0].audit_id' "$TMPD/open")
i=0
while [ "$i" -lt 100 ] && [ ! -s "$TMPD/hook.log" ]; do sleep 0.05; i=$((i + 1)); done
# PostgreSQL restarts: the registry's connection, broken, is made again by
# itself, and the next check with a ref notes its party
pg_stop_now
pg_restart
i=0
while [ "$i" -lt 20 ]; do
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $AK" \
    -H 'Content-Type: application/json' --data-binary '{"item":{"eccn":"5A001.j"},
    "destination":"FR","ref":"R-1","end_user":{"name":"Fromagerie Dupont","country":"FR"}}' \
    "http://127.0.0.1:$RPORT_1/v1/checks")
  [ "$code" = 200 ] && break
  sleep 0.2
  i=$((i + 1))
done
"$ACEGATE" parties show R-1 --db "$APP_URI" >"$TMPD/out" 2>&1
jqok registry_reconnects '.party.name == "Fromagerie Dupont" and .party.source == "check"' "$TMPD/out"
for n in 1 2; do
  eval "pid=\$RPID_$n"
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
done
expect_exit deliveries_in_pg 0 "$ACEGATE" parties deliveries --db "$APP_URI"
jqok delivery_recorded "(.items | length) == 1 and .items[0].item == \"$C3_ITEM\"
  and .items[0].result == \"delivered\" and .items[0].status == 204
  and .items[0].url == \"$HOOK\"" "$TMPD/out"
if [ "$(wc -l <"$TMPD/hook.log")" -eq 1 ]; then echo "ok delivered_once"; else
  echo "not ok delivered_once: $(wc -l <"$TMPD/hook.log") requests"; fi

# the outbox: a process killed (SIGKILL) while attempting the first of
# three items leaves them pending, the first claimed; two processes then
# open the webhook together (a receiver answering slowly, so that they
# overlap) and the other two are sent once in all, each by one of them
line3='{"name":"Quorvex Data","country":"BY"}'
printf '%s\n' "$line3" "$line3" "$line3" >"$TMPD/three.jsonl"
"$ACEGATE" screen --batch --lists "$FX/remember-el.csv" --db "$APP_URI" \
  --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret" \
  <"$TMPD/three.jsonl" >/dev/null 2>&1 &
KPID=$!
wait_first_claimed "$APP_URI"
kill -9 "$KPID"
wait "$KPID" 2>/dev/null
"$ACEGATE" parties deliveries --pending --db "$APP_URI" >"$TMPD/p" 2>&1
jqok pg_killed_items_pending '.total == 3 and [.items[].claimed_until != null] == [false, false, true]' \
  "$TMPD/p"
K1=$(jq -r '.items[2].item' "$TMPD/p")
K23=$(jq -c '[.items[0:2][].item] | sort' "$TMPD/p")
: >"$TMPD/hook2.log"
DELAY=0.5 python3 "$(dirname "$0")/webhook_receiver.py" "$TMPD/hook2.port" "$TMPD/hook2.log" &
PIDS="$PIDS $!"
i=0
while [ "$i" -lt 100 ] && [ ! -s "$TMPD/hook2.port" ]; do sleep 0.05; i=$((i + 1)); done
HOOK2="http://127.0.0.1:$(cat "$TMPD/hook2.port")/hook"
for n in 1 2; do
  "$ACEGATE" check --eccn 5A001.j --to FR --no-screen --db "$APP_URI" --webhook-url "$HOOK2" \
    --webhook-secret-file "$TMPD/secret" >"$TMPD/both$n" 2>&1 &
  eval "BPID_$n=$!"
done
wait "$BPID_1"
rc1=$?
wait "$BPID_2"
rc2=$?
if [ "$rc1$rc2" = 00 ]; then echo "ok pg_two_open_together"; else
  echo "not ok pg_two_open_together: exit $rc1 and $rc2: $(cat "$TMPD/both1" "$TMPD/both2")"; fi
jq -s -c '[.[].body | fromjson | .id] | sort' "$TMPD/hook2.log" >"$TMPD/sent"
if [ "$(cat "$TMPD/sent")" = "$K23" ]; then echo "ok pg_pending_sent_once"; else
  echo "not ok pg_pending_sent_once: sent $(cat "$TMPD/sent"), pending were $K23"; fi
"$ACEGATE" parties deliveries --db "$APP_URI" >"$TMPD/out" 2>&1
jqok pg_one_delivered_attempt_each "[.items[] | select(.result == \"delivered\") | .item] as \$d
  | ($K23 | all(. as \$k | [\$d[] | select(. == \$k)] | length == 1))" "$TMPD/out"
"$ACEGATE" parties deliveries --pending --db "$APP_URI" >"$TMPD/p" 2>&1
jqok pg_claimed_item_left "[.items[].item] == [\"$K1\"] and .total == 1" "$TMPD/p"

# retention: the service deletes from the outbox the items delivered more
# than 30 days ago (the default), the pending one stays; a role without
# DELETE on the outbox logs why and serves on; an outbox made before its
# delivered index is pruned without it, and the owner's opening adds it
pg_sql "UPDATE webhook_outbox SET delivered_ms = delivered_ms - 40 * 86400000::bigint
    WHERE delivered_ms IS NOT NULL;
  DROP INDEX webhook_outbox_delivered;
  REVOKE DELETE ON webhook_outbox FROM acegate_app;" >/dev/null
delivered=$(pg_sql "SELECT count(*) FROM webhook_outbox WHERE delivered_ms IS NOT NULL")
attempts=$(pg_sql "SELECT count(*) FROM webhook_deliveries")
pg_retention_serve() { # waits (10 s at most) for the event $1
  serve_start --no-config --listen 127.0.0.1:0 --db "$APP_URI" --no-lists --access-log off \
    --webhook-url http://127.0.0.1:9/hook --webhook-secret-file "$TMPD/secret"
  PIDS="$PIDS $SRV_PID"
  i=0
  while [ "$i" -lt 200 ] && ! grep -q "\"event\":\"$1\"" "$TMPD/srv.log"; do sleep 0.05; i=$((i + 1)); done
  serve_stop
}
pg_retention_serve webhook_prune_failed
if [ -n "$PORT" ] && grep '"event":"webhook_prune_failed"' "$TMPD/srv.log" | grep -q 'permission denied'; then
  echo "ok pg_prune_without_delete_logged"
else echo "not ok pg_prune_without_delete_logged: $(grep -v '"event":"listening"' "$TMPD/srv.log" | head -3)"; fi
pg_sql "GRANT DELETE ON webhook_outbox TO acegate_app;" >/dev/null
pg_retention_serve webhook_pruned
if [ "$delivered" -gt 0 ] && grep -q "\"event\":\"webhook_pruned\",\"items\":$delivered}" "$TMPD/srv.log"; then
  echo "ok pg_prune_logged"; else
  echo "not ok pg_prune_logged: $delivered delivered: $(grep webhook_ "$TMPD/srv.log")"; fi
got=$(pg_sql "SELECT string_agg(item || ':' || coalesce(delivered_ms::text, 'pending'), ',')
  FROM webhook_outbox")
if [ "$got" = "$K1:pending" ]; then echo "ok pg_old_delivered_pruned"; else
  echo "not ok pg_old_delivered_pruned: outbox left: $got"; fi
if [ "$(pg_sql "SELECT count(*) FROM webhook_deliveries")" = "$attempts" ]; then
  echo "ok pg_attempts_kept"; else echo "not ok pg_attempts_kept: $attempts before"; fi
"$ACEGATE" parties deliveries --db "$ADMIN_URI" >/dev/null 2>&1
if [ "$(pg_sql "SELECT to_regclass('webhook_outbox_delivered') IS NOT NULL")" = t ]; then
  echo "ok pg_owner_adds_index"; else echo "not ok pg_owner_adds_index"; fi
unset ACEGATE_HOME

# ---- two replicas behind haproxy, under load ----
start_replica() {
  "$ACEGATE" serve --no-config --listen 127.0.0.1:0 --db "$APP_URI" --no-lists --threads 4 \
    --access-log off 2>"$TMPD/node$1.log" &
  eval "PID_$1=$!"
  PIDS="$PIDS $!"
  eval "PORT_$1=$(listening_port "$TMPD/node$1.log" $!)"
}
start_replica 1
if grep -q '"event":"party_registry_off"' "$TMPD/node1.log"; then
  echo "not ok replica_has_registry: $(grep party_registry_off "$TMPD/node1.log")"
else echo "ok replica_has_registry"; fi
start_replica 2
if [ -n "$PORT_1" ] && [ -n "$PORT_2" ]; then echo "ok replicas_start"; else
  echo "not ok replicas_start: $(cat "$TMPD/node1.log" "$TMPD/node2.log" | head -4)"; fi
# haproxy on a port of its own below the ephemeral range; another port when that one is taken
start_haproxy() {
  cat >"$TMPD/haproxy.cfg" <<EOF
global
  maxconn 256
defaults
  mode http
  timeout connect 2s
  timeout client 10s
  timeout server 10s
frontend checks
  bind 127.0.0.1:$HPORT
  default_backend replicas
backend replicas
  balance roundrobin
  option httpchk GET /healthz
  default-server inter 200ms fall 2 rise 1
  server node1 127.0.0.1:$PORT_1 check
  server node2 127.0.0.1:$PORT_2 check
EOF
  haproxy -db -f "$TMPD/haproxy.cfg" >"$TMPD/haproxy.log" 2>&1 &
  HPID=$!
  _i=0
  until curl -s -o /dev/null "http://127.0.0.1:$HPORT/healthz" || [ $_i -ge 50 ]; do
    kill -0 "$HPID" 2>/dev/null || break
    sleep 0.1
    _i=$((_i + 1))
  done
}
_try=0
while :; do
  HPORT=$((10000 + (PGPORT - 10000 + 1 + _try * 977) % 22000))
  start_haproxy
  kill -0 "$HPID" 2>/dev/null && break
  _try=$((_try + 1))
  grep -q 'cannot bind' "$TMPD/haproxy.log" && [ $_try -lt 10 ] || break
done
PIDS="$PIDS $HPID"
if curl -s -o /dev/null "http://127.0.0.1:$HPORT/healthz"; then echo "ok haproxy_starts"; else
  echo "not ok haproxy_starts: $(head -3 "$TMPD/haproxy.log")"; fi

TXN='{"item":{"eccn":"4D004"},"destination":"CN","end_user":{"type":"government"}}'
# load L: rounds of 20 requests (2 at a time, one curl) until $TMPD/stop
# exists; each answer kept as ans/L.ROUND.N, renamed with its status
load() {
  r=0
  while [ ! -e "$TMPD/stop" ]; do
    r=$((r + 1))
    : >"$TMPD/cfg.$1"
    for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
      printf 'url = "http://127.0.0.1:%s/v1/checks"\noutput = "%s"\n' "$HPORT" \
        "$TMPD/ans/$1.$r.$n" >>"$TMPD/cfg.$1"
    done
    curl -s -Z --parallel-max 2 -m 10 -K "$TMPD/cfg.$1" -w '%{http_code} %{filename_effective}\n' \
      -H "Authorization: Bearer $CK" -H 'Content-Type: application/json' \
      --data-binary "$TXN" >"$TMPD/codes.$1" 2>/dev/null
    while read -r code file; do
      [ -e "$file" ] && mv "$file" "$file.$code"
    done <"$TMPD/codes.$1"
  done
}
mkdir "$TMPD/ans"
LOADS=""
for l in 1 2 3 4; do
  load "$l" &
  LOADS="$LOADS $!"
done
sleep 2
kill -9 "$PID_1" # a replica dies mid-stream
sleep 2
pg_stop_now # PostgreSQL crashes
sleep 0.3
code=$(curl -s -o "$TMPD/down" -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json' --data-binary "$TXN" "http://127.0.0.1:$PORT_2/v1/checks")
sleep 1
pg_restart
sleep 3
touch "$TMPD/stop"
for p in $LOADS; do wait "$p"; done

if [ "$code" = 503 ] && ! grep -q '"outcome"' "$TMPD/down"; then echo "ok pg_down_503_no_decision"
else echo "not ok pg_down_503_no_decision: status $code: $(head -c 200 "$TMPD/down")"; fi
ls "$TMPD/ans" | grep -c '\.200$' >"$TMPD/n200"
echo "# $(cat "$TMPD/n200") answers 200, $(ls "$TMPD/ans" | grep -c '\.503$') answers 503"
if [ "$(cat "$TMPD/n200")" -ge 50 ]; then echo "ok acknowledged_under_load"; else
  echo "not ok acknowledged_under_load: only $(cat "$TMPD/n200") answers 200"; fi
# answers after PostgreSQL came back: the replica reconnected by itself
last_ok=$(ls -t "$TMPD/ans" | grep '\.200$' | head -1)
code=$(curl -s -o "$TMPD/after" -w '%{http_code}' -H "Authorization: Bearer $CK" \
  -H 'Content-Type: application/json' --data-binary "$TXN" "http://127.0.0.1:$PORT_2/v1/checks")
if [ "$code" = 200 ] && [ -n "$last_ok" ]; then echo "ok replica_reconnects"; else
  echo "not ok replica_reconnects: status $code: $(head -c 200 "$TMPD/after")"; fi
cp "$TMPD/after" "$TMPD/ans/after.200"

# every acknowledged decision, read back from the log, byte for byte (the
# answer is the stored decision with its audit id spliced in first; search
# prints each stored decision as it is, between "decision": and prev_hash)
"$ACEGATE" audit search --kind check --db "$ADMIN_URI" >"$TMPD/all" 2>"$TMPD/err"
awk '
  FNR == NR {
    if (match($0, /^\{"audit_id":"[^"]*"/) == 0) next
    id = substr($0, 14, RLENGTH - 14)
    i = index($0, ",\"decision\":")
    j = match($0, /,"prev_hash":"[0-9a-f]+","hash":"[0-9a-f]+"\}$/)
    if (i && j) stored[id] = substr($0, i + 12, j - i - 12)
    next
  }
  match($0, /^\{"audit_id":"[^"]*",/) {
    total++
    id = substr($0, 14, RLENGTH - 15)
    ids[id]++
    if (!(id in stored)) { missing++; next }
    if ("{" substr($0, RLENGTH + 1) != stored[id]) differ++
  }
  END {
    for (id in ids) if (ids[id] > 1) dups++
    printf "%d %d %d %d\n", total, missing, differ, dups
  }' "$TMPD/all" "$TMPD"/ans/*.200 >"$TMPD/tally"
read -r total missing differ dups <"$TMPD/tally"
if [ "$missing" -eq 0 ] && [ "$total" -gt 0 ]; then echo "ok every_acknowledged_id_present"
else echo "not ok every_acknowledged_id_present: $missing of $total missing"; fi
if [ "$differ" -eq 0 ]; then echo "ok acknowledged_byte_identical"
else echo "not ok acknowledged_byte_identical: $differ of $total differ"; fi
# and one through audit get, the whole decision file against the answer
one=$(ls "$TMPD"/ans/*.200 | head -1)
id=$(sed -n 's/^{"audit_id":"\([^"]*\)",.*/\1/p' "$one")
"$ACEGATE" audit get "$id" --db "$ADMIN_URI" >"$TMPD/stored"
sed 's/^{"audit_id":"[^"]*",/{/' "$one" >"$TMPD/answered"
if cmp -s "$TMPD/answered" "$TMPD/stored"; then echo "ok get_returns_the_answer"; else
  echo "not ok get_returns_the_answer: $id"; fi
if [ "$dups" -eq 0 ]; then echo "ok no_id_acknowledged_twice"; else
  echo "not ok no_id_acknowledged_twice: $dups ids twice"; fi
expect_exit chain_verifies_after_crashes 0 "$ACEGATE" audit verify --db "$ADMIN_URI"
expect_grep verify_counts_records 'audit log intact' "$TMPD/out"
# every check's decision is stored as a zstd frame (magic 28 b5 2f fd) with
# the log's dictionary, as in SQLite, and read back byte for byte (above)
packed=$(pg_sql "SELECT count(*) FILTER (WHERE substring(decision FROM 1 FOR 4) = '\x28b52ffd'::bytea)
  || ' ' || count(*) FROM audit_log WHERE kind = 'check'")
case $packed in "0 "* | "") echo "not ok decisions_stored_compressed: $packed" ;;
  *) set -- $packed
    if [ "$1" = "$2" ]; then echo "ok decisions_stored_compressed"; else
      echo "not ok decisions_stored_compressed: $1 of $2 check records"; fi ;;
esac

# ---- backup of the PostgreSQL log to a file, verified with the same head ----
head=$(sed -n 's/^head: //p' "$TMPD/out")
expect_exit backup_from_pg 0 "$ACEGATE" audit backup --db "$ADMIN_URI" --to "$TMPD/pg-backup.db"
expect_exit backup_has_same_head 0 "$ACEGATE" audit verify --db "$TMPD/pg-backup.db" --anchor "$head"

# ---- migration round trip: SQLite -> PostgreSQL -> SQLite ----
SQ="$TMPD/source.db"
"$ACEGATE" check --eccn 4D004 --to CN --end-user-type government --ref MIG-1 --db "$SQ" >/dev/null
"$ACEGATE" check --eccn 5A001.j --to DE --db "$SQ" >/dev/null
echo '{"name":"Huawei Technologies","ref":"MIG-2"}' | "$ACEGATE" screen --batch --db "$SQ" >/dev/null
"$ACEGATE" keys add --role auditor --name mig --db "$SQ" >/dev/null 2>&1 # a 4th record
pg_sql "CREATE DATABASE migrated" >/dev/null
MIG_URI="postgresql://postgres@127.0.0.1:$PGPORT/migrated"
expect_exit migrate_to_pg 0 "$ACEGATE" audit migrate --from "$SQ" --to "$MIG_URI"
expect_grep migrate_copy_intact 'copy intact: 4 records' "$TMPD/out"
"$ACEGATE" audit export --from 2000-01-01 --to 2100-01-01 --format jsonl --db "$SQ" >"$TMPD/e-sq"
"$ACEGATE" audit export --from 2000-01-01 --to 2100-01-01 --format jsonl --db "$MIG_URI" \
  >"$TMPD/e-pg"
if cmp -s "$TMPD/e-sq" "$TMPD/e-pg"; then echo "ok migrated_export_identical"; else
  echo "not ok migrated_export_identical: the exports differ"; fi
expect_exit migrate_into_nonempty_refused 2 "$ACEGATE" audit migrate --from "$SQ" --to "$MIG_URI"
"$ACEGATE" audit backup --db "$MIG_URI" --to "$TMPD/back.db" >/dev/null 2>&1
"$ACEGATE" audit export --from 2000-01-01 --to 2100-01-01 --format jsonl --db "$TMPD/back.db" \
  >"$TMPD/e-back"
if cmp -s "$TMPD/e-sq" "$TMPD/e-back"; then echo "ok round_trip_export_identical"; else
  echo "not ok round_trip_export_identical: the exports differ"; fi
"$ACEGATE" keys list --db "$MIG_URI" >"$TMPD/out" 2>&1
expect_grep migrated_keys 'auditor' "$TMPD/out"

# ---- a log from before audit_dict: decisions as sent, then compressed ----
pg_sql "CREATE DATABASE upgraded" >/dev/null
UP_URI="postgresql://postgres@127.0.0.1:$PGPORT/upgraded"
UP_APP="postgresql://acegate_app@127.0.0.1:$PGPORT/upgraded"
"$ACEGATE" keys add --role checker --name up --db "$UP_URI" >/dev/null 2>&1
"$PG_BIN/psql" -X -q "$UP_URI" -c "DROP TABLE audit_dict;
  GRANT SELECT, INSERT ON audit_log TO acegate_app; GRANT SELECT, UPDATE ON audit_head TO acegate_app;
  GRANT SELECT, INSERT, UPDATE ON api_keys TO acegate_app; GRANT SELECT ON audit_meta TO acegate_app;" \
  >/dev/null 2>&1
# the service's role may not make the table: it stores decisions as sent
"$ACEGATE" check --eccn 4D004 --to CN --end-user-type government --db "$UP_APP" >"$TMPD/up1" 2>&1
# the owner's next open makes it, and compresses from then on
"$ACEGATE" check --eccn 4D004 --to CN --end-user-type government --db "$UP_URI" >"$TMPD/up2" 2>&1
# ...and the service's role reads the frames once granted the table, as documented
"$PG_BIN/psql" -X -q "$UP_URI" -c "GRANT SELECT ON audit_dict TO acegate_app" >/dev/null 2>&1
"$PG_BIN/psql" -X -q -t -A "$UP_URI" -c "SELECT string_agg(CASE WHEN substring(decision FROM 1 FOR 4)
  = '\x28b52ffd'::bytea THEN 'frame' ELSE 'sent' END, ' ' ORDER BY seq) FROM audit_log
  WHERE kind = 'check'" >"$TMPD/out" 2>&1
expect_grep older_log_as_sent_then_compressed '^sent frame$' "$TMPD/out"
expect_exit older_log_verifies 0 "$ACEGATE" audit verify --db "$UP_URI"
id1=$(sed -n 's/^audit id: //p' "$TMPD/up1")
id2=$(sed -n 's/^audit id: //p' "$TMPD/up2")
"$ACEGATE" audit get "$id1" --db "$UP_APP" >"$TMPD/g1" 2>&1
"$ACEGATE" audit get "$id2" --db "$UP_APP" >"$TMPD/g2" 2>&1
if [ -n "$id1" ] && [ -n "$id2" ] && cmp -s "$TMPD/g1" "$TMPD/g2"; then
  echo "ok older_log_reads_both_forms"
else
  echo "not ok older_log_reads_both_forms: '$id1' '$id2' differ"; fi

# ---- tampering by the superuser, with the triggers bypassed ----
# seq 2 is the 5A001.j export to DE: NLR, made PROHIBITED
"$PG_BIN/psql" -X -q "$MIG_URI" -c "SET session_replication_role = replica;
  UPDATE audit_log SET outcome = 'PROHIBITED' WHERE seq = 2" >/dev/null
expect_exit tampered_record_named 6 "$ACEGATE" audit verify --db "$MIG_URI"
expect_grep tamper_is_content_changed 'broken at seq 2 (a-2-.*content_changed' "$TMPD/out"
# a changed dictionary changes every decision read through it: its content
# after the entropy tables zeroed, the first compressed record (seq 1, the
# check of the 4D004) is named
"$PG_BIN/psql" -X -q "$MIG_URI" -c "SET session_replication_role = replica;
  UPDATE audit_dict SET dict = overlay(dict PLACING decode(repeat('00', length(dict) - 4000), 'hex')
  FROM 4000)" \
  >/dev/null
expect_exit tampered_dictionary_named 6 "$ACEGATE" audit verify --db "$MIG_URI"
expect_grep tampered_dictionary_first_record 'broken at seq 1 ' "$TMPD/out"

# ---- a registry made when party_hits was keyed by (ref, source_id)
# (docs/audit.md, "Roles"): the service's role cannot add the list code, the
# owner's opening does; then the hits it had are kept, and a party matching
# entries of two lists with one id (20315: SDN and SSI, 17250: Non-SDN
# Menu-Based and SSI) finds neither new again ----
pg_sql "CREATE DATABASE oldhits" >/dev/null
OLD_URI="postgresql://postgres@127.0.0.1:$PGPORT/oldhits"
OLD_APP="postgresql://acegate_app@127.0.0.1:$PGPORT/oldhits"
export ACEGATE_HOME="$TMPD/oldhits_home" # the bundled lists
"$ACEGATE" keys add --role admin --name ops --db "$OLD_URI" >/dev/null 2>&1
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$OLD_URI" -c "
  CREATE TABLE party_registry(ref text COLLATE \"C\" PRIMARY KEY, name text NOT NULL,
    country text NOT NULL DEFAULT '', address text NOT NULL DEFAULT '', source text NOT NULL,
    last_screened_ms bigint);
  CREATE TABLE party_hits(ref text COLLATE \"C\" NOT NULL, source_id text NOT NULL,
    hash text NOT NULL, PRIMARY KEY(ref, source_id));
  CREATE TABLE party_rescreens(change text PRIMARY KEY, lists_version text NOT NULL,
    at_ms bigint NOT NULL);
  INSERT INTO party_registry(ref, name, country, source) VALUES
    ('G-1', 'GPB Financial Services Limited', 'CY', 'import'),
    ('G-2', 'Public Joint Stock Company Gazprom', 'RU', 'import');
  INSERT INTO party_hits VALUES $(rs_old_hits G-1 'GPB Financial Services Limited' CY SSI),
    $(rs_old_hits G-2 'Public Joint Stock Company Gazprom' RU);
  GRANT SELECT, INSERT ON audit_log TO acegate_app;
  GRANT SELECT, UPDATE ON audit_head TO acegate_app;
  GRANT SELECT, INSERT, UPDATE ON api_keys TO acegate_app;
  GRANT SELECT ON audit_meta, audit_dict TO acegate_app;
  GRANT SELECT, INSERT, UPDATE ON party_registry, party_hits, party_rescreens TO acegate_app;" \
  >/dev/null
expect_exit old_hits_role_refused 4 "$ACEGATE" parties rescreen --all --db "$OLD_APP"
expect_grep old_hits_owner_named 'open the registry once as the owner' "$TMPD/err"
expect_exit old_hits_owner_opens 0 "$ACEGATE" parties list --db "$OLD_URI"
expect_exit old_hits_rescreen 0 "$ACEGATE" parties rescreen --all --db "$OLD_APP"
# only the SDN entry's hit, which the old key had lost to SSI's, is new
jqok old_hits_kept '.items == 1 and .kept == 0' "$TMPD/out"
expect_exit old_hits_rescreen_again 0 "$ACEGATE" parties rescreen --all --db "$OLD_APP"
jqok old_hits_nothing_new '.items == 0 and .kept == 0' "$TMPD/out"

# ---- a re-screening killed midway, finished by the next process to load
# the change: every (party, new hit) of it one queue item (docs/review.md,
# "The party registry"), as test_rescreen_resume.sh checks with SQLite:
# 8,000 parties, one in 8 named like an entry the change alters; the
# expected items from a clean run on a copy of the database; and on
# another, the same killed update resumed two hours later ----
LIST="$(dirname "$0")/../../data/lists/csl-2026-07-31.csv"
python3 "$(dirname "$0")/rescreen_data.py" "$LIST" "$TMPD" 8000 8
pg_sql "CREATE DATABASE rescreen" >/dev/null
RS_URI="postgresql://postgres@127.0.0.1:$PGPORT/rescreen"
CLEAN_URI="postgresql://postgres@127.0.0.1:$PGPORT/rescreen_clean"
mkdir "$TMPD/rs_home"
export ACEGATE_HOME="$TMPD/rs_home"
"$ACEGATE" lists update "$LIST" --force --db "$RS_URI" >/dev/null 2>&1
expect_exit rescreen_registry_in_pg 0 "$ACEGATE" parties import "$TMPD/parties.csv" --db "$RS_URI"
pg_sql "CREATE DATABASE rescreen_clean TEMPLATE rescreen" >/dev/null
pg_sql "CREATE DATABASE rescreen_late TEMPLATE rescreen" >/dev/null
cp -a "$TMPD/rs_home" "$TMPD/rs_home.clean"
cp -a "$TMPD/rs_home" "$TMPD/rs_home.late"
cp "$TMPD/rs_home/lists.agx" "$TMPD/rs_lists.before"
ACEGATE_HOME="$TMPD/rs_home.clean" "$ACEGATE" lists update "$TMPD/changed.csv" --db "$CLEAN_URI" \
  >"$TMPD/clean.out" 2>&1
rs_items pg_clean "$CLEAN_URI"
WANT=$(wc -l <"$TMPD/pg_clean.items")
if [ "$WANT" -ge 100 ]; then echo "ok rescreen_clean_run_in_pg"; else
  echo "not ok rescreen_clean_run_in_pg: $WANT items: $(tail -3 "$TMPD/clean.out")"; fi
rs_update_killed "$RS_URI"
rs_items pg_killed "$RS_URI"
KILLED=$(wc -l <"$TMPD/pg_killed.items")
if [ "$RS_RC" -eq 137 ] && [ "$KILLED" -ge 1 ] && [ "$KILLED" -lt "$WANT" ]; then
  echo "ok rescreen_killed_midway_in_pg"
else
  echo "not ok rescreen_killed_midway_in_pg: exit $RS_RC with $KILLED of $WANT items"
fi
cp "$TMPD/rs_lists.before" "$TMPD/rs_home/lists.agx"
expect_exit rescreen_rerun_in_pg 0 "$ACEGATE" lists update "$TMPD/changed.csv" --db "$RS_URI"
expect_grep rescreen_rerun_keeps_items "new queue items, $KILLED kept from an interrupted" \
  "$TMPD/out"
rs_items pg_resumed "$RS_URI"
rs_compare rescreen_in_pg pg_clean pg_resumed
expect_exit rescreen_chain_intact_in_pg 0 "$ACEGATE" audit verify --db "$RS_URI"
cp "$TMPD/rs_lists.before" "$TMPD/rs_home/lists.agx"
expect_exit rescreen_load_again_in_pg 0 "$ACEGATE" lists update "$TMPD/changed.csv" --db "$RS_URI"
expect_grep rescreen_load_again_skipped 'parties not re-screened' "$TMPD/out"
# killed, then everything it left in the log and the registry moved two
# hours back (the log's triggers bypassed by the superuser): the resumed
# re-screening still finds every item it made
LATE_URI="postgresql://postgres@127.0.0.1:$PGPORT/rescreen_late"
export ACEGATE_HOME="$TMPD/rs_home.late"
rs_update_killed "$LATE_URI"
rs_items pg_late_killed "$LATE_URI"
KILLED=$(wc -l <"$TMPD/pg_late_killed.items")
"$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$LATE_URI" -c "
  SET session_replication_role = replica;
  UPDATE audit_log SET ts_ms = ts_ms - 7200000;
  UPDATE party_rescreens SET begun_ms = begun_ms - 7200000 WHERE begun_ms IS NOT NULL;" \
  >/dev/null 2>&1
RS_AGED=$?
cp "$TMPD/rs_lists.before" "$TMPD/rs_home.late/lists.agx"
"$ACEGATE" lists update "$TMPD/changed.csv" --db "$LATE_URI" >"$TMPD/out" 2>&1
if [ "$RS_RC" -eq 137 ] && [ "$KILLED" -ge 1 ] && [ "$RS_AGED" -eq 0 ] &&
  grep -q "new queue items, $KILLED kept from an interrupted" "$TMPD/out"; then
  echo "ok rescreen_late_keeps_items_in_pg"
else
  echo "not ok rescreen_late_keeps_items_in_pg: exit $RS_RC, $KILLED killed: $(tail -1 "$TMPD/out")"
fi
rs_items pg_late "$LATE_URI"
rs_compare rescreen_late_in_pg pg_clean pg_late
unset ACEGATE_HOME

# ---- two replicas on one log: the open queue of one has what the other
# appends and loses what the other resolves (docs/review.md, "Not yet") ----
RK=$("$ACEGATE" keys add --role reviewer --name rq --db "$RS_URI" 2>/dev/null | tail -n 1)
for n in 1 2; do
  "$ACEGATE" serve --no-config --listen 127.0.0.1:0 --db "$RS_URI" --no-lists --access-log off \
    2>"$TMPD/rq$n.log" &
  PIDS="$PIDS $!"
  eval "RQPORT_$n=$(listening_port "$TMPD/rq$n.log" $!)"
done
rq() { curl -s -H "Authorization: Bearer $RK" "http://127.0.0.1:$1$2"; }
rq "$RQPORT_1" '/v1/reviews?status=open&limit=1000' >"$TMPD/rq.before"
jqok pg_replica_queue_learnt '(.items | length) >= 100' "$TMPD/rq.before"
printf '\n' >>"$TMPD/rq.before"
# 744.21: 4D004 to a Chinese government end user, as of 2022, is for a person to review
curl -s -o "$TMPD/rq.check" -H "Authorization: Bearer $RK" -H 'Content-Type: application/json' \
  --data-binary '{"as_of":"2022-01-15","item":{"eccn":"4D004"},"destination":"CN",
  "transaction":"export","end_user":{"type":"government"},"end_use":"none",
  "knows_unauthorized_use":false}' "http://127.0.0.1:$RQPORT_2/v1/checks"
RQ_ID=$(jq -r .audit_id "$TMPD/rq.check")
RQ_FROM=$(printf 'f%x' $(($(echo "$RQ_ID" | cut -d- -f2) - 1)))
rq "$RQPORT_1" "/v1/reviews?status=open&cursor=$RQ_FROM" >"$TMPD/rq.after"
jqok pg_replica_sees_other_append "[.items[].audit_id] == [\"$RQ_ID\"]" "$TMPD/rq.after"
# replica 1 reads the reviews now, before the other's: it reads on from here
rq "$RQPORT_1" "/v1/reviews/$RQ_ID" >"$TMPD/rq.item0"
jqok pg_replica_item_open '.status == "open" and .reviews == []' "$TMPD/rq.item0"
rq "$RQPORT_1" '/v1/reviews?status=cleared&limit=1000' >/dev/null
curl -s -o /dev/null -H "Authorization: Bearer $RK" -H 'Content-Type: application/json' \
  --data-binary "{\"audit_id\":\"$RQ_ID\",\"decision\":\"cleared\",\"note\":\"a civil ministry\"}" \
  "http://127.0.0.1:$RQPORT_2/v1/reviews"
rq "$RQPORT_1" "/v1/reviews?status=open&cursor=$RQ_FROM" >"$TMPD/rq.resolved"
jqok pg_replica_loses_other_resolved '.items == [] and .next_cursor == null' "$TMPD/rq.resolved"
rq "$RQPORT_1" '/v1/reviews?status=open&limit=1000' >"$TMPD/rq.page"
printf '\n' >>"$TMPD/rq.page"
"$ACEGATE" review queue --limit 1000 --db "$RS_URI" >"$TMPD/rq.fresh" 2>&1
if cmp -s "$TMPD/rq.page" "$TMPD/rq.fresh" && cmp -s "$TMPD/rq.page" "$TMPD/rq.before"; then
  echo "ok pg_replica_queue_same_as_fresh"
else
  echo "not ok pg_replica_queue_same_as_fresh: $(diff "$TMPD/rq.page" "$TMPD/rq.fresh" | head -c 300)"
fi
# the other replica's review is in replica 1's resolved queue and item,
# as a fresh read of the log gives them (the item without the lists'
# entries: the service runs without lists)
rq "$RQPORT_1" '/v1/reviews?status=cleared&limit=1000' >"$TMPD/rq.cleared"
jqok pg_replica_reviews_other_clearance \
  "[.items[] | select(.audit_id == \"$RQ_ID\") | .latest_review.decision] == [\"cleared\"]" \
  "$TMPD/rq.cleared"
printf '\n' >>"$TMPD/rq.cleared"
"$ACEGATE" review queue --status cleared --limit 1000 --db "$RS_URI" >"$TMPD/rq.cleared.fresh" 2>&1
if cmp -s "$TMPD/rq.cleared" "$TMPD/rq.cleared.fresh"; then echo "ok pg_replica_cleared_same_as_fresh"; else
  echo "not ok pg_replica_cleared_same_as_fresh: $(diff "$TMPD/rq.cleared" "$TMPD/rq.cleared.fresh" | head -c 300)"
fi
rq "$RQPORT_1" "/v1/reviews/$RQ_ID" | jq -S 'del(.candidate_entries)' >"$TMPD/rq.item"
"$ACEGATE" review show "$RQ_ID" --db "$RS_URI" 2>&1 | jq -S 'del(.candidate_entries)' >"$TMPD/rq.item.fresh"
if jq -e '.status == "cleared" and [.reviews[].note] == ["a civil ministry"]' "$TMPD/rq.item" >/dev/null &&
  cmp -s "$TMPD/rq.item" "$TMPD/rq.item.fresh"; then echo "ok pg_replica_item_same_as_fresh"; else
  echo "not ok pg_replica_item_same_as_fresh: $(diff "$TMPD/rq.item" "$TMPD/rq.item.fresh" | head -c 300)"
fi

stop_all
