# PostgreSQL for the tests: a cluster made with initdb in a temporary
# directory, run by pg_ctl on 127.0.0.1 as an unprivileged user (root, as in
# CI, runs it as nobody in a directory nobody owns). Sourced after lib.sh.
#   pg_start        makes and starts the cluster; sets PGPORT, PG_URI (a
#                   superuser) and PG_BIN
#   pg_stop_now     pg_ctl stop -m immediate (a crash, as far as clients see)
#   pg_restart      starts it again after pg_stop_now
#   pg_sql SQL      runs SQL as the superuser, tuples only
#   pg_cleanup      stops it and removes its directory (each test calls it)
# Missing binaries are an error, not a skip: scripts/install-deps.sh
# installs them (Debian's postgresql).
PG_BIN=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && PG_BIN=$d
done
PGD=""
pg_as() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u nobody -- "$@"; else "$@"; fi
}
pg_start() {
  if [ -z "$PG_BIN" ]; then
    echo "PostgreSQL's initdb is not installed (scripts/install-deps.sh installs postgresql)" >&2
    return 1
  fi
  PGD=$(mktemp -d /tmp/acegate-pg.XXXXXX) || return 1
  chmod 755 "$PGD"
  mkdir "$PGD/data" && chmod 700 "$PGD/data"
  [ "$(id -u)" -eq 0 ] && chown -R nobody "$PGD"
  pg_as "$PG_BIN/initdb" -D "$PGD/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
    >"$PGD/initdb.log" 2>&1 || { cat "$PGD/initdb.log" >&2; return 1; }
  tries=0
  while [ $tries -lt 20 ]; do
    # below the kernel's ephemeral range (32768-60999 by default), where the
    # replicas' and clients' own ports are taken from
    PGPORT=$((10000 + ($$ * 7 + tries * 131) % 22000))
    if pg_as "$PG_BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PGD" \
      start >/dev/null 2>&1; then
      PG_URI="postgresql://postgres@127.0.0.1:$PGPORT/postgres"
      return 0
    fi
    tries=$((tries + 1))
  done
  cat "$PGD/server.log" >&2
  return 1
}
pg_stop_now() {
  pg_as "$PG_BIN/pg_ctl" -D "$PGD/data" -m immediate stop >/dev/null 2>&1
}
pg_restart() {
  pg_as "$PG_BIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -c port=$PGPORT -c unix_socket_directories=$PGD" \
    start >/dev/null 2>&1
}
pg_sql() {
  "$PG_BIN/psql" -X -q -t -A -v ON_ERROR_STOP=1 "$PG_URI" -c "$1"
}
pg_cleanup() {
  if [ -n "$PGD" ]; then
    pg_as "$PG_BIN/pg_ctl" -D "$PGD/data" -m fast stop >/dev/null 2>&1
    rm -rf "$PGD"
    PGD=""
  fi
}
