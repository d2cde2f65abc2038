# Shared helpers for CLI test scripts: each check prints "ok NAME" or
# "not ok NAME: why"; tests/run.sh counts those lines.
# $ACEGATE is the binary under test.
: "${ACEGATE:?ACEGATE must name the acegate binary}"
# `acegate serve` reads no configuration file of the machine's or the user's
export ACEGATE_CONFIG=/dev/null
TMPD=$(mktemp -d)
SRV_PID=""
# a server still running when the script ends (a failed check, a signal) is killed
trap '[ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null; rm -rf "$TMPD"' EXIT
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

# serve_start ARGS...: starts `acegate serve ARGS...` (give --listen 127.0.0.1:0) in
# the background, its stderr in $TMPD/srv.log (an earlier run's log is kept
# in $TMPD/all-srv.log first, so its "listening" line is not read), and
# waits for its port: sets SRV_PID, PORT (empty when it did not start
# listening within 30 s) and B, the base URL. serve_stop ends it.
serve_start() {
  [ -f "$TMPD/srv.log" ] && cat "$TMPD/srv.log" >>"$TMPD/all-srv.log"
  : >"$TMPD/srv.log"
  "$ACEGATE" serve "$@" 2>>"$TMPD/srv.log" &
  SRV_PID=$!
  serve_wait
}

# listening_port LOG PID: prints the port the server PID logged in LOG once
# it listens; nothing when it stopped or did not listen within 30 s.
listening_port() {
  _lp="" _i=0
  while [ "$_i" -lt 600 ] && [ -z "$_lp" ] && kill -0 "$2" 2>/dev/null; do
    _lp=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$1" 2>/dev/null)
    [ -z "$_lp" ] && sleep 0.05
    _i=$((_i + 1))
  done
  echo "$_lp"
}

# serve_wait: waits for the server $SRV_PID (started by other means, its
# stderr appended to an emptied $TMPD/srv.log) to listen; sets PORT and B.
serve_wait() {
  PORT=$(listening_port "$TMPD/srv.log" "$SRV_PID")
  B="http://127.0.0.1:$PORT"
}

# serve_stop: SIGTERM to the server started by serve_start, waits for it;
# its exit status in SRV_RC.
serve_stop() {
  SRV_RC=""
  [ -n "$SRV_PID" ] || return 0
  kill -TERM "$SRV_PID" 2>/dev/null
  wait "$SRV_PID"
  SRV_RC=$?
  SRV_PID=""
}

# wait_first_claimed DB: waits (10 s at most) until the webhook outbox of
# DB holds three pending items, one of them claimed (the first being
# tried); `parties deliveries --pending` of the last look is in $TMPD/p
wait_first_claimed() {
  _i=0
  while [ "$_i" -lt 200 ]; do
    "$ACEGATE" parties deliveries --pending --db "$1" >"$TMPD/p" 2>/dev/null
    jq -e '.total == 3 and ([.items[] | select(.claimed_until != null)] | length) == 1' \
      "$TMPD/p" >/dev/null 2>&1 && return 0
    sleep 0.05
    _i=$((_i + 1))
  done
  return 1
}
