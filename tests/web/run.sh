#!/bin/sh
# make test-web: the workbench end to end in Debian's chromium (tests/web).
# npm ci installs playwright-core and axe-core from package-lock.json (from
# the npm cache when it holds them); no browser is downloaded.
set -e
BUILD=${1:-build}
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "test-web: node is not installed (scripts/install-deps.sh)" >&2; exit 1; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "test-web: $CHROMIUM is not installed (scripts/install-deps.sh)" >&2; exit 1; }
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 CHROMIUM
npm ci --prefer-offline --no-audit --no-fund --loglevel=error
export ACEGATE_BUILD="$(cd ../.. && pwd)/$BUILD"
mkdir -p "$ACEGATE_BUILD/web-artifacts"
status=0 passed=0 failed=0
# one test file: its report on the terminal, its counts from a TAP copy
# (a cancelled test did not pass; a file that reports no counts failed)
run() {
  tap="$ACEGATE_BUILD/web-artifacts/${1%.test.mjs}.tap"
  rm -f "$tap"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" "$1" || status=1
  p=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$tap" 2>/dev/null || true)
  f=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$tap" 2>/dev/null || true)
  c=$(sed -n 's/^# cancelled \([0-9]*\)$/\1/p' "$tap" 2>/dev/null || true)
  if [ -z "$p" ] || [ -z "$f" ]; then
    echo "test-web: $1 reported no counts" >&2
    status=1 f=$((${f:-0} + 1))
  fi
  passed=$((passed + ${p:-0})) failed=$((failed + f + ${c:-0}))
}
# the pages over the endpoints the service has
run workbench.test.mjs
# the party registry and remembered decisions (docs/review.md)
run parties.test.mjs
# an admin updates the lists from a file (docs/api.md, POST /v1/lists:update)
run lists_update.test.mjs
echo "test-web: screenshots in $ACEGATE_BUILD/web-artifacts/"
echo "web: $passed passed, $failed failed"
[ "$failed" -eq 0 ] || status=1
exit $status
