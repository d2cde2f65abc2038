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
status=0
# the pages over the endpoints the service has
node --test workbench.test.mjs || status=1
# the party registry and remembered decisions (docs/review.md)
node --test parties.test.mjs || status=1
# an admin updates the lists from a file (docs/api.md, POST /v1/lists:update)
node --test lists_update.test.mjs || status=1
echo "test-web: screenshots in $ACEGATE_BUILD/web-artifacts/"
exit $status
