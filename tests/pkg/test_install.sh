#!/bin/sh
# test_install.sh - `make install` and `make uninstall` (`make test-install`):
# the staged layout under DESTDIR with PREFIX=/usr; an operator's
# configuration kept across a reinstall and an uninstall; a program built
# from the installed headers and acegate.pc, linked to the installed shared
# library, deciding every golden case as the case expects; the installed
# unit passing systemd-analyze verify; the installed command, man pages and
# bash completion working.
cd "$(dirname "$0")/../.." || exit 1
. tests/pkg/lib.sh
MAKE=${MAKE:-make}

# ---- staged: PREFIX=/usr into DESTDIR ----
D="$T/stage"
check install_staged $MAKE --no-print-directory -j2 install PREFIX=/usr DESTDIR="$D"
for f in usr/bin/acegate usr/lib/libacegate.so.0.1.0 usr/lib/libacegate.a \
  usr/lib/pkgconfig/acegate.pc usr/share/bash-completion/completions/acegate \
  usr/lib/systemd/system/acegate.service etc/acegate/acegate.conf \
  usr/share/man/man5/acegate.conf.5; do
  if [ -f "$D/$f" ]; then ok "installed_$f"; else notok "installed_$f" "missing"; fi
done
if [ "$(readlink "$D/usr/lib/libacegate.so.0")" = libacegate.so.0.1.0 ] &&
  [ "$(readlink "$D/usr/lib/libacegate.so")" = libacegate.so.0 ]; then ok shared_library_links; else
  notok shared_library_links "$(ls -l "$D/usr/lib")"; fi
soname=$(objdump -p "$D/usr/lib/libacegate.so.0.1.0" | awk '$1 == "SONAME" {print $2}')
if [ "$soname" = libacegate.so.0 ]; then ok soname; else notok soname "'$soname'"; fi
for h in include/acegate/*.h; do
  cmp -s "$h" "$D/usr/include/acegate/$(basename "$h")" || notok "header_$(basename "$h")" "not installed"
done
ok headers_checked
n_cmd=$(sed -n 's/^  \([a-z][a-z]*\)  *[a-z].*/\1/p' <<EOF2 | wc -l
$("$D/usr/bin/acegate" --help)
EOF2
)
n_man=$(ls "$D/usr/share/man/man1" | grep -c '^acegate-.*\.1$')
if [ "$n_man" -eq "$n_cmd" ] && [ -f "$D/usr/share/man/man1/acegate.1" ]; then ok man_pages_installed; else
  notok man_pages_installed "$n_man command pages for $n_cmd commands"; fi
expect_line() { # NAME LINE FILE
  if grep -qxF -- "$2" "$3"; then ok "$1"; else notok "$1" "no line '$2' in $3"; fi
}
expect_line pc_prefix 'prefix=/usr' "$D/usr/lib/pkgconfig/acegate.pc"
expect_line pc_libdir 'libdir=/usr/lib' "$D/usr/lib/pkgconfig/acegate.pc"
expect_line unit_exec 'ExecStart=/usr/bin/acegate serve --config /etc/acegate/acegate.conf' \
  "$D/usr/lib/systemd/system/acegate.service"

# the operator's configuration survives a reinstall and an uninstall
echo 'rate-limit = 50' >>"$D/etc/acegate/acegate.conf"
$MAKE --no-print-directory install PREFIX=/usr DESTDIR="$D" >/dev/null 2>&1
expect_line config_kept_on_reinstall 'rate-limit = 50' "$D/etc/acegate/acegate.conf"
check uninstall $MAKE --no-print-directory uninstall PREFIX=/usr DESTDIR="$D"
left=$(cd "$D" && find . -type f -o -type l | sort | tr '\n' ' ')
if [ "$left" = "./etc/acegate/acegate.conf " ]; then ok uninstall_leaves_only_config; else
  notok uninstall_leaves_only_config "left: $left"; fi

# ---- installed for use: PREFIX in a temporary directory ----
P="$T/prefix"
check install_prefix $MAKE --no-print-directory install PREFIX="$P" SYSCONFDIR="$P/etc"
export PKG_CONFIG_PATH="$P/lib/pkgconfig"
check pkg_config_knows_acegate pkg-config --exists acegate
# one version everywhere: VERSION, the package's, the .pc file's, the binary's, the man pages'
version=$(cat VERSION)
deb_version=$(dpkg-parsechangelog -S Version 2>/dev/null || sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)
if [ -n "$version" ] && [ "$(pkg-config --modversion acegate)" = "$version" ] &&
  [ "$deb_version" = "$version" ] && [ "$("$P/bin/acegate" --version | head -1)" = "acegate $version" ]
then ok version_agrees; else
  notok version_agrees "VERSION $version, acegate.pc $(pkg-config --modversion acegate), debian/changelog $deb_version, $("$P/bin/acegate" --version | head -1)"; fi
if [ -z "$(grep -L "\"acegate $version\"" man/*.[15])" ]; then ok man_pages_version; else
  notok man_pages_version "not acegate $version: $(grep -L "\"acegate $version\"" man/*.[15])"; fi
# built outside the tree: only what pkg-config says, no -I include
mkdir -p "$T/user"
cp tests/pkg/decide_one.c "$T/user/"
# shellcheck disable=SC2046
check program_builds_from_pc sh -c "cd '$T/user' && cc -std=c17 -Wall -Wextra -Werror \
  \$(pkg-config --cflags acegate) -o decide_one decide_one.c \$(pkg-config --libs acegate)"
if LD_LIBRARY_PATH="$P/lib" ldd "$T/user/decide_one" | grep -q "libacegate.so.0 => $P/lib/libacegate.so.0"
then ok program_uses_installed_shared_library; else
  notok program_uses_installed_shared_library "$(ldd "$T/user/decide_one" | grep acegate)"; fi
GOLDEN_NAME=shared_library golden_cases env LD_LIBRARY_PATH="$P/lib" "$T/user/decide_one"
GOLDEN_NAME=installed_command golden_cases "$P/bin/acegate" check --json --no-screen -

# the unit, with ExecStart naming the installed binary
expect_line unit_exec_prefix "ExecStart=$P/bin/acegate serve --config $P/etc/acegate/acegate.conf" \
  "$P/lib/systemd/system/acegate.service"
expect_line fetch_unit_exec_prefix "ExecStart=$P/bin/acegate lists fetch --config $P/etc/acegate/acegate.conf --data-dir /var/lib/acegate/lists --db /var/lib/acegate/audit.db" \
  "$P/lib/systemd/system/acegate-lists-fetch.service"
if command -v systemd-analyze >/dev/null 2>&1; then
  verify_unit unit_verifies "$P/lib/systemd/system/acegate.service" "$P/share/man"
  # the daily fetch: the service and the timer that starts it
  verify_unit fetch_unit_verifies "$P/lib/systemd/system/acegate-lists-fetch.service" "$P/share/man"
  verify_unit fetch_timer_verifies "$P/lib/systemd/system/acegate-lists-fetch.timer" "$P/share/man"
  # the check itself catches a mistake
  sed 's/^NoNewPrivileges=yes/NoNewPrivileges=sometimes/' "$P/lib/systemd/system/acegate.service" \
    >"$T/broken.service"
  if MANPATH="$P/share/man" systemd-analyze verify "$T/broken.service" 2>&1 | grep -q "broken.service:[0-9]*: Failed to parse"; then
    ok unit_check_catches_a_bad_value; else notok unit_check_catches_a_bad_value "nothing said"; fi
else
  echo "skipping the unit check: systemd-analyze is not installed (Debian package systemd)" >&2
fi
# the shipped configuration reads without an error: the one reported is the flag's
"$P/bin/acegate" serve --config "$P/etc/acegate/acegate.conf" --listen nonsense >"$T/out" 2>&1
if grep -q '^acegate serve: --listen: ' "$T/out"; then ok shipped_config_reads; else
  notok shipped_config_reads "$(head -2 "$T/out")"; fi
if MANPATH="$P/share/man" man -w acegate-serve >/dev/null 2>&1 &&
  MANPATH="$P/share/man" MANWIDTH=80 man acegate.conf 2>/dev/null | grep -q 'KEY = VALUE'; then
  ok man_pages_found_by_man; else notok man_pages_found_by_man "man -w acegate-serve failed"; fi
got=$(bash -c ". '$P/share/bash-completion/completions/acegate'
  COMP_WORDS=('$P/bin/acegate' serve --con); COMP_CWORD=2; _acegate; echo \"\${COMPREPLY[*]}\"")
if [ "$got" = "--config" ]; then ok installed_completion; else notok installed_completion "'$got'"; fi
check uninstall_prefix $MAKE --no-print-directory uninstall PREFIX="$P" SYSCONFDIR="$P/etc"

# the example haproxy configuration for replicas (docs/deployment.md)
if command -v haproxy >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=acegate.test \
    -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
  cat "$T/cert.pem" "$T/key.pem" >"$T/acegate.pem"
  sed "s|/etc/haproxy/certs/acegate.pem|$T/acegate.pem|" dist/haproxy/haproxy.cfg >"$T/haproxy.cfg"
  check haproxy_example_valid haproxy -c -f "$T/haproxy.cfg"
else
  echo "skipping the haproxy example check: haproxy or openssl is not installed" >&2
fi

summary test-install
