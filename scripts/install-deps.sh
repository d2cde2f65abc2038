#!/bin/sh
# Installs the Debian packages acegate needs to build, test and benchmark,
# skipping those already present. groff-base checks the man pages, debhelper
# builds the Debian package, systemd provides systemd-analyze for the unit,
# haproxy checks the example configuration for replicas; chromium, nodejs and
# npm run the workbench's end-to-end tests (make test-web); python3-distributed
# (Dask) runs batches over partitions of a file on a local cluster; libpq-dev
# builds the PostgreSQL audit store and postgresql (initdb, pg_ctl) runs it in
# tests; libcurl4-openssl-dev downloads the published lists (lists fetch);
# nginx is the HTTP ceiling bench/server.sh measures the service against.
set -e
PKGS="build-essential pkg-config libjansson-dev libicu-dev libsqlite3-dev libssl-dev
libmicrohttpd-dev libzstd-dev libcurl4-openssl-dev libcmocka-dev clang libclang-rt-14-dev clang-tidy
cppcheck jq hyperfine wrk curl sqlite3 time util-linux groff-base debhelper systemd haproxy openssl
python3-thefuzz python3-levenshtein python3-distributed chromium nodejs libpq-dev postgresql nginx"
# Debian's npm, unless a nodejs that brings its own is installed
command -v npm >/dev/null 2>&1 || PKGS="$PKGS npm"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "installing:$missing"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing
