#!/bin/sh
# test_haproxy.sh - the replicas of docs/deployment.md, run (`make
# test-install`): two `acegate serve` on 127.0.0.1:0, each with its own audit
# log and a copy of one keys database, behind dist/haproxy/haproxy.cfg with
# its TLS frontend moved to a unix socket and its servers to the replicas'
# ports. Checks go to both replicas; X-Acegate-Node names the one that
# answered and /nodes/NAME/ reads that replica's record back byte for byte;
# a stopped replica is taken out and the other answers; each log verifies.
cd "$(dirname "$0")/../.." || exit 1
. tests/pkg/lib.sh
ACEGATE=${ACEGATE:-$PWD/build/acegate}
for tool in haproxy openssl curl jq; do
  if ! command -v $tool >/dev/null 2>&1; then
    echo "skipping the replica test: $tool is not installed (scripts/install-deps.sh)" >&2
    echo "test-haproxy: 0 passed, 0 failed, 1 skipped"
    exit 0
  fi
done
PIDS=""
trap 'for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; rm -rf "$T"' EXIT

CK=$("$ACEGATE" keys add --role checker --db "$T/keys.db" 2>/dev/null | tail -n 1)
AK=$("$ACEGATE" keys add --role auditor --db "$T/keys.db" 2>/dev/null | tail -n 1)
# start_replica N: sets PORT_N and PID_N
start_replica() {
  cp "$T/keys.db" "$T/keys$1.db"
  "$ACEGATE" serve --no-config --listen 127.0.0.1:0 --db "$T/node$1.db" --keys-db "$T/keys$1.db" \
    --no-lists --threads 2 --access-log off 2>"$T/node$1.log" &
  eval "PID_$1=$!"
  PIDS="$PIDS $!"
  _port=""
  _i=0
  while [ "$_i" -lt 300 ] && [ -z "$_port" ]; do
    _port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$T/node$1.log" 2>/dev/null)
    [ -z "$_port" ] && sleep 0.1
    _i=$((_i + 1))
  done
  eval "PORT_$1=$_port"
}
start_replica 1
start_replica 2
if [ -n "$PORT_1" ] && [ -n "$PORT_2" ]; then ok replicas_start; else
  notok replicas_start "$(cat "$T/node1.log" "$T/node2.log" | head -4)"
  summary test-haproxy
  exit 1
fi

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=acegate.test \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
cat "$T/cert.pem" "$T/key.pem" >"$T/acegate.pem"
SOCK="$T/haproxy.sock"
sed -e "s|bind :443 ssl crt /etc/haproxy/certs/acegate.pem|bind unix@$SOCK ssl crt $T/acegate.pem|" \
  -e "s|10.0.0.11:8080|127.0.0.1:$PORT_1|g" -e "s|10.0.0.12:8080|127.0.0.1:$PORT_2|g" \
  dist/haproxy/haproxy.cfg >"$T/haproxy.cfg"
grep -q "unix@$SOCK" "$T/haproxy.cfg" && grep -q "127.0.0.1:$PORT_2" "$T/haproxy.cfg" ||
  notok config_rewritten "the example's bind or server lines changed"
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
PIDS="$PIDS $!"
_i=0
while [ "$_i" -lt 100 ] && [ ! -S "$SOCK" ]; do sleep 0.1; _i=$((_i + 1)); done
if [ -S "$SOCK" ]; then ok haproxy_starts; else notok haproxy_starts "$(head -5 "$T/haproxy.log")"; fi

# post KEY PATH BODY / get KEY PATH: body to $T/body, headers to $T/hdr, status in $STATUS
post() {
  STATUS=$(curl -sk --unix-socket "$SOCK" -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
    -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-binary "$3" \
    "https://acegate.test$2")
}
get() {
  STATUS=$(curl -sk --unix-socket "$SOCK" -o "$T/body" -D "$T/hdr" -w '%{http_code}' \
    -H "Authorization: Bearer $1" "https://acegate.test$2")
}
node() { sed -n 's/^[Xx]-[Aa]cegate-[Nn]ode: *\([a-z0-9]*\).*/\1/p' "$T/hdr"; }
TXN='{"item":{"eccn":"4D004"},"destination":"CN","end_user":{"type":"government"}}'

# ---- both replicas answer, over TLS ----
: >"$T/nodes"
bad=""
for i in 1 2 3 4 5 6 7 8 9 10; do
  post "$CK" /v1/checks "$TXN"
  [ "$STATUS" = 200 ] || bad="$bad $STATUS"
  n=$(node)
  echo "$n $(jq -r .audit_id "$T/body")" >>"$T/nodes"
  cp "$T/body" "$T/answer-$n"
done
if [ -z "$bad" ]; then ok checks_through_proxy; else notok checks_through_proxy "statuses:$bad"; fi
if grep -q '^node1 ' "$T/nodes" && grep -q '^node2 ' "$T/nodes"; then ok both_replicas_answer; else
  notok both_replicas_answer "$(cut -d' ' -f1 "$T/nodes" | sort | uniq -c | tr '\n' ' ')"; fi
# README: 4D004 to a government end user in China, 740.22(c)(1)(ii)
if jq -e '.outcome == "LICENSE_REQUIRED"' "$T/answer-node1" >/dev/null 2>&1; then ok decision_through_proxy; else
  notok decision_through_proxy "$(head -c 200 "$T/answer-node1")"; fi

# ---- a record is read back from the replica that made it ----
ID2=$(awk '$1 == "node2" {print $2; exit}' "$T/nodes")
post_id=$(jq -r .audit_id "$T/answer-node2")
get "$AK" "/nodes/node2/v1/checks/$post_id"
if [ "$STATUS" = 200 ] && cmp -s "$T/body" "$T/answer-node2"; then ok read_back_from_its_replica; else
  notok read_back_from_its_replica "status $STATUS for $post_id"; fi
get "$AK" "/nodes/node1/v1/checks/$ID2"
if [ "$STATUS" = 404 ]; then ok other_replica_has_no_such_record; else
  notok other_replica_has_no_such_record "status $STATUS"; fi

# ---- a replica stopped: the health check takes it out ----
kill -TERM "$PID_1"
wait "$PID_1"
sleep 5 # fall 2 x inter 2s
bad=""
for i in 1 2 3 4 5 6; do
  post "$CK" /v1/checks "$TXN"
  [ "$STATUS" = 200 ] && [ "$(node)" = node2 ] || bad="$bad $STATUS/$(node)"
done
if [ -z "$bad" ]; then ok stopped_replica_taken_out; else notok stopped_replica_taken_out "$bad"; fi

kill -TERM "$PID_2"
wait "$PID_2"
check node1_log_verifies "$ACEGATE" audit verify --db "$T/node1.db"
check node2_log_verifies "$ACEGATE" audit verify --db "$T/node2.db"
summary test-haproxy
