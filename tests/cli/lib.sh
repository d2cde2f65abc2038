# Shared helpers for CLI test scripts: each check prints "ok NAME" or
# "not ok NAME: why"; tests/run.sh counts those lines.
# $ACEGATE is the binary under test.
: "${ACEGATE:?ACEGATE must name the acegate binary}"
# `acegate serve` reads no configuration file of the machine's or the user's
export ACEGATE_CONFIG=/dev/null
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT
# check, screen and serve record in the default audit log when given no
# --db: never the real one of whoever runs the tests
export XDG_STATE_HOME="$TMPD/state"
unset ACEGATE_DB

# expect_exit NAME CODE CMD...: runs CMD, stdout to $TMPD/out, stderr to $TMPD/err
expect_exit() {
  name=$1 want=$2
  shift 2
  "$@" >"$TMPD/out" 2>"$TMPD/err"
  got=$?
  if [ "$got" -eq "$want" ]; then echo "ok $name"; else
    echo "not ok $name: exit $got, wanted $want"; sed 's/^/  | /' "$TMPD/err" | head -5; fi
}

# expect_grep NAME PATTERN FILE
expect_grep() {
  if grep -q -- "$2" "$3"; then echo "ok $1"; else
    echo "not ok $1: '$2' not in $3"; sed 's/^/  | /' "$3" | head -5; fi
}

expect_nogrep() {
  if grep -q -- "$2" "$3"; then echo "not ok $1: '$2' found in $3"; else echo "ok $1"; fi
}

# plan N: this script makes N checks (printed as "1..N"); tests/run.sh fails
# a script that prints another number of results, so one that stops early
# cannot pass.
plan() { echo "1..$1"; }
