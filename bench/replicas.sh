#!/bin/sh
# bench/replicas.sh - durable checks per second and latency of POST
# /v1/checks with the audit log in SQLite (one node), in PostgreSQL (one
# replica), and in PostgreSQL shared by two replicas behind haproxy, each
# beside nginx serving a static file of the size of a decision with the same
# wrk settings: the HTTP ceiling of this machine. One run, one table.
#
# Every acknowledged check is durable: SQLite fsyncs the WAL of each commit
# (group commit); PostgreSQL runs with synchronous_commit on and fsync on.
# PostgreSQL (initdb/pg_ctl in a temporary directory, as nobody when run as
# root), haproxy and nginx are started on loopback and stopped at the end.
# Everything shares this machine's cores: the figures compare the stores on
# one box, they are not what separate machines would give.
#
# Usage: bench/replicas.sh [BUILD_DIR]
# Environment: DURATION (seconds per run, default 10), CONNECTIONS (default
#   64), WRK_THREADS (default 1), BENCH_DIR (where the SQLite log and the
#   cluster go; default a temporary directory under the current one, on disk).
set -e
BUILD=${1:-build}
ACEGATE="$PWD/$BUILD/acegate"
DURATION=${DURATION:-10}
CONNS=${CONNECTIONS:-64}
WRK_THREADS=${WRK_THREADS:-1}
[ -x "$ACEGATE" ] || { echo "bench/replicas.sh: build $ACEGATE first (make)"; exit 1; }
for tool in wrk haproxy nginx curl; do
  command -v $tool >/dev/null || [ -x /usr/sbin/$tool ] ||
    { echo "bench/replicas.sh: $tool is not installed (scripts/install-deps.sh)"; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

T=$(mktemp -d "${BENCH_DIR:-$PWD}/.bench-replicas.XXXXXX")
chmod 755 "$T"
PIDS=""
TMPD=$T
. "$(dirname "$0")/../tests/cli/pg_lib.sh"
cleanup() {
  for p in $PIDS; do kill -9 "$p" 2>/dev/null || true; done
  [ -f "$T/nginx.pid" ] && kill "$(cat "$T/nginx.pid")" 2>/dev/null || true
  pg_cleanup
  rm -rf "$T"
}
trap cleanup EXIT

TXN='{"item":{"eccn":"4D004"},"destination":"BR","end_user":{"type":"non_government"},"as_of":"2026-11-24"}'
cat >"$T/check.lua" <<EOF
wrk.method = "POST"
wrk.path = "/v1/checks"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("ACEGATE_KEY")
wrk.body = '$TXN'
EOF

# serve NAME DB: starts a replica; sets PORT
serve() {
  "$ACEGATE" serve --no-config --listen 127.0.0.1:0 --db "$2" --access-log off \
    2>"$T/srv-$1.log" &
  PIDS="$PIDS $!"
  PORT="" i=0
  while [ -z "$PORT" ] && [ $i -lt 100 ]; do
    sleep 0.1
    PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$T/srv-$1.log")
    i=$((i + 1))
  done
  [ -n "$PORT" ] || { cat "$T/srv-$1.log"; exit 1; }
}
stop_servers() {
  for p in $PIDS; do kill "$p" 2>/dev/null || true; done
  for p in $PIDS; do wait "$p" 2>/dev/null || true; done
  PIDS=""
}

# cpu_mark: the machine's idle and total CPU time so far (/proc/stat)
cpu_mark() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# bench LABEL URL [LUA]: one wrk run; prints the row (with the share of the
# machine's CPU left idle during it: near 0, the cores bound the rate) and
# keeps rps in $RPS
bench() {
  c0=$(cpu_mark)
  if [ -n "$3" ]; then
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$3" "$2" >"$T/wrk-$1" 2>&1
  else
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$2" >"$T/wrk-$1" 2>&1
  fi
  c1=$(cpu_mark)
  idle=$(echo "$c0 $c1" | awk '$4 > $2 { printf "%.0f%%", 100 * ($3 - $1) / ($4 - $2) }')
  RPS=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$T/wrk-$1")
  p50=$(awk '$1 == "50%" {print $2}' "$T/wrk-$1")
  p99=$(awk '$1 == "99%" {print $2}' "$T/wrk-$1")
  bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$T/wrk-$1")
  errs=$(sed -n 's/^ *Socket errors:\(.*\)/\1/p' "$T/wrk-$1")
  printf '%-34s %12.0f %10s %10s %9s %5s%s\n' "$1" "$RPS" "$p50" "$p99" "${bad:-0}" "$idle" \
    "${errs:+  socket errors:$errs}"
}
# log_stats PORT...: the audit writers' transactions, records and flushes
# (one flush may cover several transactions), summed over the replicas
log_stats() {
  for p in "$@"; do curl -s "http://127.0.0.1:$p/metrics"; done | awk '
    $1 == "acegate_audit_commits_total" { c += $2 }
    $1 == "acegate_audit_records_total" { r += $2 }
    $1 == "acegate_audit_syncs_total" { f += $2 }
    END { if (c > 0) printf "  %d transactions of %.1f records on average, %d flushes\n", c, r / c, f }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

# haproxy_start ADDR...: haproxy on $HPORT balancing round-robin over the
# given servers, as in docs/deployment.md; stopped by stop_servers
haproxy_start() {
  HPORT=$((PGPORT + 1))
  {
    cat <<EOF
global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
frontend checks
  bind 127.0.0.1:$HPORT
  default_backend replicas
backend replicas
  balance roundrobin
EOF
    n=0
    for a in "$@"; do
      n=$((n + 1))
      echo "  server s$n $a"
    done
  } >"$T/haproxy.cfg"
  haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
  PIDS="$PIDS $!"
  sleep 0.5
}

# ---- the stores ----
pg_start
SQ="$T/audit.db"
export ACEGATE_KEY
ACEGATE_KEY=$("$ACEGATE" keys add --role checker --db "$SQ" 2>/dev/null | tail -n 1)
"$ACEGATE" audit migrate --from "$SQ" --to "$PG_URI" >/dev/null

# ---- nginx: a static file of a decision's size ----
serve size "$SQ"
curl -s -o "$T/decision.json" -H "Authorization: Bearer $ACEGATE_KEY" \
  -H 'Content-Type: application/json' --data-binary "$TXN" "http://127.0.0.1:$PORT/v1/checks"
stop_servers
DEC_BYTES=$(wc -c <"$T/decision.json")
mkdir -p "$T/www"
cp "$T/decision.json" "$T/www/decision.json"
NPORT=$((PGPORT + 2))
cat >"$T/nginx.conf" <<EOF
worker_processes 1;
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $T/nginx-body;
  proxy_temp_path $T/nginx-proxy;
  fastcgi_temp_path $T/nginx-fastcgi;
  uwsgi_temp_path $T/nginx-uwsgi;
  scgi_temp_path $T/nginx-scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NPORT;
    root $T/www;
    default_type application/json;
  }
}
EOF
"$NGINX" -c "$T/nginx.conf" -e "$T/nginx-error.log"
sleep 0.3

echo "bench/replicas.sh: wrk -t$WRK_THREADS -c$CONNS -d${DURATION}s, POST /v1/checks," \
  "decision $DEC_BYTES bytes, $(nproc) cores shared by everything"
printf '%-34s %12s %10s %10s %9s %5s\n' run "checks/s" p50 p99 non-2xx idle
bench "nginx static ($DEC_BYTES bytes)" "http://127.0.0.1:$NPORT/decision.json"
NGINX_RPS=$RPS
# what the load balancer's hop alone costs on these cores
haproxy_start "127.0.0.1:$NPORT"
bench "nginx static, through haproxy" "http://127.0.0.1:$HPORT/decision.json"
NGINX_LB_RPS=$RPS
stop_servers

serve sqlite "$SQ"
bench "sqlite, 1 node" "http://127.0.0.1:$PORT" "$T/check.lua"
SQ_RPS=$RPS
log_stats "$PORT"
stop_servers

serve pg1 "$PG_URI"
bench "postgresql, 1 replica" "http://127.0.0.1:$PORT" "$T/check.lua"
PG1_RPS=$RPS
log_stats "$PORT"
stop_servers

serve pga "$PG_URI"
PA=$PORT
serve pgb "$PG_URI"
PB=$PORT
haproxy_start "127.0.0.1:$PA" "127.0.0.1:$PB"
bench "postgresql, 2 replicas, haproxy" "http://127.0.0.1:$HPORT" "$T/check.lua"
PG2_RPS=$RPS
log_stats "$PA" "$PB"
stop_servers

echo "ratios: sqlite/nginx $(ratio "$SQ_RPS" "$NGINX_RPS"), postgresql x1/nginx" \
  "$(ratio "$PG1_RPS" "$NGINX_RPS"), postgresql x2/nginx $(ratio "$PG2_RPS" "$NGINX_RPS")," \
  "postgresql x2/sqlite $(ratio "$PG2_RPS" "$SQ_RPS"), nginx through haproxy/nginx" \
  "$(ratio "$NGINX_LB_RPS" "$NGINX_RPS")"
"$ACEGATE" audit verify --db "$PG_URI" | head -1
"$ACEGATE" audit verify --db "$SQ" | head -1
