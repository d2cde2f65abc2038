#!/bin/sh
# test_deb.sh - the Debian package (`make test-deb`): built from a copy of the
# tree with `dpkg-buildpackage -us -uc -b`, or taken from ACEGATE_DEBS (a
# directory holding the built .debs); installed with dpkg into a temporary
# root (unpacked and registered, maintainer scripts not run, so the machine
# is not changed); then checked through what it installed: the command's
# help, every golden case through the installed binary and through a program
# linked to the installed shared library, a screening, the service started
# with the packaged configuration, the man pages, the unit (systemd-analyze
# verify) and the conffile.
# DEB_BUILD_OPTIONS is passed on (nocheck skips the suite inside the build).
cd "$(dirname "$0")/../.." || exit 1
. tests/pkg/lib.sh
SRV_PID=""
trap '[ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null; rm -rf "$T"' EXIT
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# ---- build ----
if [ -n "$ACEGATE_DEBS" ]; then
  DEBS="$ACEGATE_DEBS"
else
  # the tracked and new files of the work tree, without build output
  SRC="$T/build/acegate"
  mkdir -p "$SRC"
  git ls-files -z --cached --others --exclude-standard | xargs -0 tar cf - | tar xf - -C "$SRC"
  profiles=""
  case " $DEB_BUILD_OPTIONS " in *" nocheck "*) profiles="-Pnocheck" ;; esac
  echo "building the package (dpkg-buildpackage -us -uc -b $profiles) ..." >&2
  if (cd "$SRC" && DEB_BUILD_OPTIONS="$DEB_BUILD_OPTIONS parallel=2" \
    dpkg-buildpackage -us -uc -b $profiles) >"$T/build.log" 2>&1; then
    ok dpkg_buildpackage
  else
    notok dpkg_buildpackage "see the end of the log"
    tail -30 "$T/build.log"
    summary test-deb
    exit 1
  fi
  DEBS="$T/build"
fi
for p in acegate libacegate0 libacegate-dev; do
  if ls "$DEBS/${p}_"*.deb >/dev/null 2>&1; then ok "package_$p"; else notok "package_$p" "no .deb"; fi
done

# ---- install into a temporary root ----
R="$T/root"
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
check dpkg_installs dpkg --root="$R" --log=/dev/null --force-not-root --force-depends \
  --force-script-chrootless --unpack "$DEBS"/acegate_*.deb "$DEBS"/libacegate0_*.deb \
  "$DEBS"/libacegate-dev_*.deb
if dpkg --root="$R" -L acegate | grep -qx /usr/bin/acegate; then ok dpkg_lists_files; else
  notok dpkg_lists_files "dpkg -L acegate does not name /usr/bin/acegate"; fi
dpkg-deb -f "$DEBS"/acegate_*.deb Depends >"$T/depends"
for d in libjansson4 libmicrohttpd12 libsqlite3-0 adduser; do
  grep -q "$d" "$T/depends" || notok "depends_$d" "not in Depends: $(cat "$T/depends")"
done
ok depends_checked
dpkg-deb --ctrl-tarfile "$DEBS"/acegate_*.deb | tar xf - -C "$T" ./conffiles ./postinst ./prerm
# installed disabled: enabled only on an upgrade of an enabled unit (and
# deb-systemd-invoke starts no disabled unit); stopped on removal
if grep -q "deb-systemd-helper debian-installed 'acegate.service'" "$T/postinst"; then
  ok unit_not_enabled_on_install; else
  notok unit_not_enabled_on_install "postinst enables the unit on a first install"; fi
if grep -q 'deb-systemd-invoke stop .*acegate.service' "$T/prerm"; then ok unit_stopped_on_remove; else
  notok unit_stopped_on_remove "no stop in prerm"; fi
if grep -qx /etc/acegate/acegate.conf "$T/conffiles"; then ok config_is_conffile; else
  notok config_is_conffile "$(cat "$T/conffiles")"; fi
if grep -q 'adduser --system --group --home /var/lib/acegate' "$T/postinst"; then
  ok postinst_creates_user; else notok postinst_creates_user "no adduser in postinst"; fi

# ---- smoke: through the installed command ----
A="$R/usr/bin/acegate"
if ldd "$A" | grep -q 'not found'; then notok binary_libraries "$(ldd "$A" | grep 'not found')"; else
  ok binary_libraries; fi
check help "$A" --help
cp "$T/check.out" "$T/help.out"
if grep -q '^  serve ' "$T/help.out"; then ok help_lists_serve; else notok help_lists_serve "no serve"; fi
GOLDEN_NAME=installed_command golden_cases "$A" check --json --no-screen -
# README's first example: 740.22(c)(1)(ii) keeps ACE from government end
# users in D:1-D:5 countries; China is in D:1
"$A" check --eccn 4D004 --to CN --end-user-type government >"$T/check.txt" 2>&1
if head -1 "$T/check.txt" | grep -q '^LICENSE_REQUIRED ' &&
  grep -q 'decided by: 740.22(c)(1)(ii)$' "$T/check.txt"; then ok check_readable; else
  notok check_readable "$(head -2 "$T/check.txt")"; fi
# Hangzhou Hikvision Digital Technology is on the Entity List (84 FR 54002)
"$A" screen "Hikvision Digital Technology" --country CN --json >"$T/screen.json" 2>&1
if jq -e '[.matches[] | select(.list_code == "EL" and .level == "confident" and (.entry_name | test("Hikvision")))] | length > 0' \
  "$T/screen.json" >/dev/null 2>&1; then ok screen_finds_entity_list; else
  notok screen_finds_entity_list "$(head -c 300 "$T/screen.json")"; fi

# the service with the packaged configuration (paths moved into the test);
# unpacked, not configured, dpkg leaves a conffile as .dpkg-new
CONF="$R/etc/acegate/acegate.conf.dpkg-new"
[ -f "$R/etc/acegate/acegate.conf" ] && CONF="$R/etc/acegate/acegate.conf"
if grep -qx 'db = /var/lib/acegate/audit.db' "$CONF"; then ok config_names_state_dir; else
  notok config_names_state_dir "$CONF"; fi
sed -e "s|/var/lib/acegate|$T/state|g" -e 's|^listen = .*|listen = 127.0.0.1:0|' \
  "$CONF" >"$T/acegate.conf"
# as systemd makes them from StateDirectory=
for d in $(sed -n 's/^StateDirectory=//p' "$R/lib/systemd/system/acegate.service"); do
  mkdir -p "$T/state/${d#acegate}"
done
KEY=$("$A" keys add --role checker --db "$T/state/audit.db" 2>/dev/null | tail -n 1)
"$A" serve --config "$T/acegate.conf" 2>"$T/srv.log" &
SRV_PID=$!
PORT=""
i=0
while [ "$i" -lt 300 ] && [ -z "$PORT" ] && kill -0 "$SRV_PID" 2>/dev/null; do
  PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$T/srv.log" 2>/dev/null)
  [ -z "$PORT" ] && sleep 0.1
  i=$((i + 1))
done
if [ -n "$PORT" ]; then ok serve_with_packaged_config; else
  notok serve_with_packaged_config "$(head -3 "$T/srv.log")"; fi
status=$(curl -s -o "$T/body" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
  -H 'Content-Type: application/json' \
  --data-binary '{"item":{"eccn":"4D004"},"destination":"CN","end_user":{"type":"government"}}' \
  "http://127.0.0.1:$PORT/v1/checks")
if [ "$status" = 200 ] && jq -e '.outcome == "LICENSE_REQUIRED"' "$T/body" >/dev/null; then
  ok serve_answers; else notok serve_answers "status $status"; fi
kill -TERM "$SRV_PID"
wait "$SRV_PID"
rc=$?
SRV_PID=""
if [ "$rc" -eq 0 ]; then ok serve_stops_cleanly; else notok serve_stops_cleanly "exit $rc"; fi
check audit_verify "$A" audit verify --db "$T/state/audit.db"

# ---- man pages, completion, unit ----
n_cmd=$(grep -c '^  [a-z][a-z]*  *[a-z]' "$T/help.out")
n_man=$(ls "$R/usr/share/man/man1" | grep -c '^acegate-.*\.1\.gz$')
if [ "$n_man" -eq "$n_cmd" ] && [ -f "$R/usr/share/man/man5/acegate.conf.5.gz" ]; then
  ok man_pages_present; else notok man_pages_present "$n_man pages for $n_cmd commands"; fi
if MANPATH="$R/usr/share/man" MANWIDTH=80 man acegate-serve 2>/dev/null | grep -q -- '--config FILE'
then ok man_page_reads; else notok man_page_reads "man acegate-serve"; fi
if [ -f "$R/usr/share/bash-completion/completions/acegate" ]; then ok completion_present; else
  notok completion_present missing; fi
UNIT="$R/lib/systemd/system/acegate.service"
if grep -qx 'ExecStart=/usr/bin/acegate serve --config /etc/acegate/acegate.conf' "$UNIT"; then
  ok unit_exec_start; else notok unit_exec_start "$(grep ExecStart "$UNIT")"; fi
if command -v systemd-analyze >/dev/null 2>&1; then
  # verified where it is installed: ExecStart pointed into the root
  sed "s|^ExecStart=/usr/bin/acegate|ExecStart=$A|" "$UNIT" >"$T/acegate.service"
  verify_unit unit_verifies "$T/acegate.service" "$R/usr/share/man"
  sed "s|^ExecStart=/usr/bin/acegate|ExecStart=$A|" "$R/lib/systemd/system/acegate-lists-fetch.service" \
    >"$T/acegate-lists-fetch.service"
  cp "$R/lib/systemd/system/acegate-lists-fetch.timer" "$T/"
  verify_unit fetch_unit_verifies "$T/acegate-lists-fetch.service" "$R/usr/share/man"
  verify_unit fetch_timer_verifies "$T/acegate-lists-fetch.timer" "$R/usr/share/man"
else
  echo "skipping the unit check: systemd-analyze is not installed (Debian package systemd)" >&2
fi

# ---- the development package ----
mkdir -p "$T/user"
cp tests/pkg/decide_one.c "$T/user/"
export PKG_CONFIG_SYSROOT_DIR="$R" PKG_CONFIG_PATH="$R/usr/lib/$MA/pkgconfig"
check program_builds_from_pc sh -c "cd '$T/user' && cc -std=c17 -Wall -Wextra -Werror \
  \$(pkg-config --cflags acegate) -o decide_one decide_one.c \$(pkg-config --libs acegate)"
GOLDEN_NAME=shared_library golden_cases env LD_LIBRARY_PATH="$R/usr/lib/$MA" "$T/user/decide_one"

summary test-deb
