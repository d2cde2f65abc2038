#!/bin/sh
# bench/server.sh - throughput and latency of POST /v1/checks on `acegate
# serve`, measured with wrk over loopback with keep-alive, for each number
# of concurrent connections: first with the audit log durable on disk (WAL,
# every acknowledged commit fsynced, group commit), then with the audit log
# in :memory:, to show what durability costs. Ends with `audit verify` of
# the last log written and its size per record.
#
# Beside it, in the same rounds and under the same wrk settings and pinning,
# nginx (the Debian package) answers the same POST with a static file of
# the same size as acegate's decision, access log buffered as acegate's is;
# each round prints the ratio of durable checks/s to nginx's answers/s.
# After the rounds, both answer GET of the same static file (the ceiling of
# the HTTP layers alone on this machine), and every row says how much of the
# machine's CPU stayed idle during it.
#
# Usage: bench/server.sh [BUILD_DIR]
# Environment: DURATION (seconds per run, default 10), CONNECTIONS (a list,
#   default "32 64 96"), RUNS (runs of each, durable and :memory:
#   alternating, default 1; with more, a median line follows each
#   connection count), WRK_THREADS (default 1), ACCESS_LOG (on|off,
#   default on: to a file), BENCH_DIR (where the database goes; default a
#   temporary directory on the disk under the current directory, not /tmp,
#   which may be tmpfs).
# The server and wrk share the same two cores: when the machine has more,
# both are pinned to CPUs 0 and 1 with taskset.
set -e
BUILD=${1:-build}
ACEGATE="$PWD/$BUILD/acegate"
DURATION=${DURATION:-10}
RUNS=${RUNS:-1}
CONNECTIONS=${CONNECTIONS:-32 64 96}
WRK_THREADS=${WRK_THREADS:-1}
ACCESS_LOG=${ACCESS_LOG:-on}
[ -x "$ACEGATE" ] || { echo "bench/server.sh: build $ACEGATE first (make)"; exit 1; }
command -v wrk >/dev/null || { echo "bench/server.sh: wrk is not installed (make deps)"; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "bench/server.sh: nginx is not installed (make deps)"; exit 1; }

T=$(mktemp -d "${BENCH_DIR:-$PWD}/.bench-server.XXXXXX")
SRV=""
trap '[ -n "$SRV" ] && kill -9 $SRV 2>/dev/null; [ -s "$T/nginx.pid" ] && kill -QUIT "$(cat "$T/nginx.pid")" 2>/dev/null; rm -rf "$T"' EXIT

PIN=""
if [ "$(nproc)" -gt 2 ] && command -v taskset >/dev/null; then PIN="taskset -c 0,1"; fi

"$ACEGATE" keys add --role checker --db "$T/keys.db" 2>/dev/null | tail -n 1 >"$T/key"
export ACEGATE_KEY
ACEGATE_KEY=$(cat "$T/key")

# nginx's file: the decision the service answers to the benchmark's
# request (taken from the first server started), so both send answers of
# the same size
body=$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" bench/server_check.lua)
mkdir -p "$T/www/v1" "$T/nginx-tmp"
chmod -R a+rX "$T"

# cpu_mark: the machine's idle and total CPU time so far (/proc/stat)
cpu_mark() { awk '/^cpu / { print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }

# warm CONNS URL [LUA]: a short run first (page cache, allocator, key cache)
warm() {
  # shellcheck disable=SC2086
  $PIN wrk -t1 -c"$1" -d2s ${3:+-s "$3"} "$2" >/dev/null
}

# measure LABEL CONNS URL [LUA]: the measured wrk run; sets rps, p50, p99,
# non200, idle (the share of the machine's CPU time nobody used during the
# run: above a few per cent, something other than CPU bounds the rate) and
# cpu (the machine's CPU time per answer in µs, wrk included)
measure() {
  script=""
  [ -n "$4" ] && script="-s $4"
  c0=$(cpu_mark)
  # shellcheck disable=SC2086
  $PIN wrk -t"$WRK_THREADS" -c"$2" -d"${DURATION}s" --latency $script "$3" >"$T/wrk-$1.txt"
  c1=$(cpu_mark)
  idle=$(echo "$c0 $c1" | awk '$4 > $2 { printf "%.0f%%", 100 * ($3 - $1) / ($4 - $2) }')
  rps=$(awk '/^Requests\/sec:/ { printf "%d", $2 }' "$T/wrk-$1.txt")
  # machine CPU time per answer, wrk and the kernel included (jiffies are
  # 1/100 s in /proc/stat's user-space ABI)
  cpu=$(echo "$c0 $c1 $rps $DURATION" | awk '$5 > 0 {
    printf "%.1f", ((($4 - $2) - ($3 - $1)) / 100) / ($5 * $6) * 1e6 }')
  p50=$(awk '$1 == "50%" { print $2 }' "$T/wrk-$1.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$T/wrk-$1.txt")
  non200=$(awk '/Non-2xx/ { n = $NF } END { print n + 0 }' "$T/wrk-$1.txt")
}

# serve LABEL DB [SERVE_ARGS...]: starts the service; sets SRV and port
serve() {
  label=$1
  db=$2
  shift 2
  log=off
  [ "$ACCESS_LOG" = on ] && log="$T/access-$label.log"
  # shellcheck disable=SC2086
  $PIN "$ACEGATE" serve --listen 127.0.0.1:0 --db "$db" --access-log "$log" "$@" 2>"$T/srv-$label.log" &
  SRV=$!
  port=""
  i=0
  while [ -z "$port" ] && [ $i -lt 100 ]; do
    sleep 0.1
    port=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$T/srv-$label.log")
    i=$((i + 1))
  done
  [ -n "$port" ] || { cat "$T/srv-$label.log"; exit 1; }
}
stop_server() {
  kill -TERM $SRV
  wait $SRV || true
  SRV=""
}

# in_ms LATENCY: wrk's latency (e.g. 850.00us, 2.85ms, 1.02s) in milliseconds
in_ms() {
  echo "$1" | awk '/us$/ { printf "%.3f", $0 / 1000; next } /ms$/ { printf "%.3f", $0 + 0; next }
    /s$/ { printf "%.3f", $0 * 1000; next } { print $0 + 0 }'
}

row() { printf '%-10s %11s %10s %9s %9s %14s %13s %8s %5s %7s\n' "$@"; }

# run LABEL CONNS DB [SERVE_ARGS...]: prints one result line; $rps keeps
# its checks/s
run() {
  label=$1
  conns=$2
  db=$3
  shift 3
  serve "$label" "$db" "$@"
  if [ ! -s "$T/www/v1/checks" ]; then
    curl -s -X POST -H "Authorization: Bearer $ACEGATE_KEY" -H "Content-Type: application/json" \
      --data "$body" "http://127.0.0.1:$port/v1/checks" >"$T/www/v1/checks"
    chmod a+r "$T/www/v1/checks"
    grep -q '"outcome"' "$T/www/v1/checks" || { echo "bench/server.sh: no decision"; cat "$T/www/v1/checks"; exit 1; }
  fi
  warm "$conns" "http://127.0.0.1:$port" bench/server_check.lua
  before=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^acegate_audit_(commits|records|syncs)_total / { printf "%s ", $2 }')
  measure "$label" "$conns" "http://127.0.0.1:$port" bench/server_check.lua
  after=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^acegate_audit_(commits|records|syncs)_total / { printf "%s ", $2 }')
  stop_server
  batch=$(echo "$before $after" | awk '{ c = $4 - $1; r = $5 - $2; if (c > 0) printf "%.1f", r / c; else print "-" }')
  persync=$(echo "$before $after" | awk '{ y = $6 - $3; r = $5 - $2; if (y > 0) printf "%.1f", r / y; else print "-" }')
  row "$label" "$conns" "$rps" "$p50" "$p99" "$batch" "$persync" "$non200" "$idle" "$cpu"
  echo "$label $rps $(in_ms "$p99")" >>"$T/results"
}

# nginx_start / nginx_stop: nginx serving $T/www on $nport, with the access
# log as the service's
nginx_start() {
  log=off
  [ "$ACCESS_LOG" = on ] && log="$T/access-nginx.log combined buffer=16k flush=100ms"
  nport=$((20000 + $$ % 20000))
  tries=0
  while :; do
    cat >"$T/nginx.conf" <<CONF
worker_processes $(nproc);
pid $T/nginx.pid;
error_log $T/nginx-error.log;
events { worker_connections 1024; }
http {
  access_log $log;
  keepalive_requests 100000000;
  keepalive_timeout 60s;
  client_body_temp_path $T/nginx-tmp/body;
  proxy_temp_path $T/nginx-tmp/proxy;
  fastcgi_temp_path $T/nginx-tmp/fastcgi;
  uwsgi_temp_path $T/nginx-tmp/uwsgi;
  scgi_temp_path $T/nginx-tmp/scgi;
  server {
    listen 127.0.0.1:$nport;
    root $T/www;
    default_type application/json;
    # a POST to a static file is 405 in nginx: answer it with the file
    error_page 405 =200 \$uri;
  }
}
CONF
    # shellcheck disable=SC2086
    if $PIN "$NGINX" -p "$T" -c "$T/nginx.conf" 2>"$T/nginx-start.log"; then break; fi
    tries=$((tries + 1))
    [ $tries -lt 20 ] || { cat "$T/nginx-start.log"; exit 1; }
    nport=$((nport + 1))
  done
}
nginx_stop() {
  npid=$(cat "$T/nginx.pid")
  kill -QUIT "$npid"
  while kill -0 "$npid" 2>/dev/null; do sleep 0.1; done
  rm -f "$T/nginx.pid"
}

# run_nginx CONNS: the same wrk run against nginx serving the file; prints
# one result line; $rps keeps its answers/s
run_nginx() {
  nginx_start
  [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data "$body" "http://127.0.0.1:$nport/v1/checks")" = 200 ] ||
    { echo "bench/server.sh: nginx does not answer the POST with 200"; exit 1; }
  warm "$1" "http://127.0.0.1:$nport" bench/server_check.lua
  measure nginx "$1" "http://127.0.0.1:$nport" bench/server_check.lua
  nginx_stop
  row nginx "$1" "$rps" "$p50" "$p99" - - "$non200" "$idle" "$cpu"
  echo "nginx $rps $(in_ms "$p99")" >>"$T/results"
}

# http_ceiling CONNS: the service and nginx each answering GET of the same
# static file (the workbench's style sheet, served from memory by the
# service) under the same wrk settings: what the HTTP layers alone give on
# this machine, so the checks' rows above read against it
http_ceiling() {
  serve static ":memory:" --keys-db "$T/keys.db"
  mkdir -p "$T/www/ui"
  curl -s -o "$T/www/ui/app.css" "http://127.0.0.1:$port/ui/app.css"
  chmod a+r "$T/www/ui/app.css"
  warm "$1" "http://127.0.0.1:$port/ui/app.css"
  measure static "$1" "http://127.0.0.1:$port/ui/app.css"
  stop_server
  row "static" "$1" "$rps" "$p50" "$p99" - - "$non200" "$idle" "$cpu"
  srv_static=$rps
  nginx_start
  warm "$1" "http://127.0.0.1:$nport/ui/app.css"
  measure nginx-static "$1" "http://127.0.0.1:$nport/ui/app.css"
  nginx_stop
  row "nginx" "$1" "$rps" "$p50" "$p99" - - "$non200" "$idle" "$cpu"
  echo "$srv_static $rps" | awk -v c="$1" -v b="$(wc -c <"$T/www/ui/app.css")" '$2 > 0 {
    printf "%-10s %11s %10.2f  (GET of the same %d-byte file: the service / nginx)\n", "ratio", c, $1 / $2, b }'
}

# median LABEL CONNS: the median checks/s and p99 of this connection
# count's runs (p99 in milliseconds, as wrk prints it)
median() {
  awk -v l="$1" '$1 == l { r[n + 0] = $2; p[n + 0] = $3 + 0; n++ }
    END {
      for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) {
        if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
        if (p[j] < p[i]) { t = p[i]; p[i] = p[j]; p[j] = t }
      }
      m = int(n / 2)
      mr = n % 2 ? r[m] : (r[m - 1] + r[m]) / 2
      mp = n % 2 ? p[m] : (p[m - 1] + p[m]) / 2
      printf "%-10s %11s %10d %9s %8.2fms  (median of %d runs)\n", l, c, mr, "", mp, n
    }' c="$2" "$T/results"
}

echo "POST /v1/checks, wrk -t$WRK_THREADS -d${DURATION}s --latency, keep-alive, loopback, $(nproc) CPUs${PIN:+ (pinned to 0,1)}, access log $ACCESS_LOG"
echo "nginx $("$NGINX" -v 2>&1 | sed 's/.*nginx\///') beside it: the same request answered with a static file of the decision's size"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
row "audit log" "connections" "checks/s" "p50" "p99" "records/commit" "records/fsync" "non-200" "idle" "µs/ans"
for c in $CONNECTIONS; do
  : >"$T/results"
  round=0
  while [ $round -lt "$RUNS" ]; do
    rm -f "$T"/audit.db*
    run durable "$c" "$T/audit.db" --keys-db "$T/keys.db"
    durable=$rps
    run_nginx "$c"
    nginx=$rps
    run memory "$c" ":memory:" --keys-db "$T/keys.db"
    echo "$durable $rps" | awk -v c="$c" '$2 > 0 { printf "%-10s %11s %10.2f  (durable / in-memory checks/s)\n", "ratio", c, $1 / $2 }'
    echo "$durable $nginx" | awk -v c="$c" '$2 > 0 { printf "%-10s %11s %10.2f  (durable checks/s / nginx answers/s)\n", "ratio", c, $1 / $2 }'
    echo "$durable $nginx" | awk '$2 > 0 { print "vs_nginx", $1 / $2 }' >>"$T/results"
    round=$((round + 1))
  done
  if [ "$RUNS" -gt 1 ]; then
    median durable "$c"
    median nginx "$c"
    median memory "$c"
    awk -v c="$c" '$1 == "vs_nginx" { r[n++] = $2 }
      END {
        for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
        m = int(n / 2)
        printf "%-10s %11s %10.2f  (median of %d rounds of durable / nginx; target >= 0.80)\n", "ratio", c, n % 2 ? r[m] : (r[m - 1] + r[m]) / 2, n
      }' "$T/results"
  fi
  http_ceiling "$c"
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
done
echo "decision and nginx's file: $(wc -c <"$T/www/v1/checks") bytes"
"$ACEGATE" audit verify --db "$T/audit.db" | tail -n 1
records=$(sqlite3 "$T/audit.db" "SELECT count(*) FROM audit_log")
bytes=$(cat "$T/audit.db" "$T/audit.db-wal" 2>/dev/null | wc -c)
echo "$bytes $records" | awk '$2 > 0 { printf "log size: %.0f bytes per record (%d records, database and WAL)\n", $1 / $2, $2 }'
index=$(cat "$T/audit.db-search" "$T/audit.db-search-wal" 2>/dev/null | wc -c)
echo "$index $records" | awk '$2 > 0 { printf "search index: %.1f bytes per record\n", $1 / $2 }'
