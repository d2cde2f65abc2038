#!/bin/sh
# Installs the Debian packages acegate needs to build, test and benchmark,
# skipping those already present. groff-base checks the man pages, debhelper
# builds the Debian package, systemd provides systemd-analyze for the unit,
# haproxy checks the example configuration for replicas, nginx is the
# baseline bench/server.sh measures the service against.
set -e
PKGS="build-essential pkg-config libjansson-dev libicu-dev libsqlite3-dev libssl-dev
libmicrohttpd-dev libzstd-dev libcmocka-dev clang libclang-rt-14-dev clang-tidy cppcheck jq hyperfine
wrk curl sqlite3 time util-linux groff-base debhelper systemd haproxy openssl
python3-thefuzz python3-levenshtein nginx"
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
