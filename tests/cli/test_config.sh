#!/bin/sh
# test_config.sh - the configuration file of `acegate serve` (acegate.conf(5)):
# its options take effect, flags override it, the user's file is found under
# $XDG_CONFIG_HOME, and a bad line (syntax, unknown key, bad value) is exit 2
# naming the file, the line and the key; an unreadable file is exit 4.
. "$(dirname "$0")/lib.sh"
plan 49
# no file of the machine's or the user's is read unless a test puts it there
export XDG_CONFIG_HOME="$TMPD/xdg" HOME="$TMPD/home"
mkdir -p "$HOME"

# start ARGS...: starts serve (its listen address from the file or ARGS)
start() { serve_start "$@"; }
stop() { serve_stop; }
http_threads() { cat /proc/"$SRV_PID"/task/*/comm 2>/dev/null | grep -c '^http$'; }
ok() { echo "ok $1"; }
notok() {
  echo "not ok $1: $2"
  sed 's/^/  | /' "$TMPD/srv.log" | head -5
}

A_DB="$TMPD/a.db" B_DB="$TMPD/b.db"
KEY_A=$("$ACEGATE" keys add --role checker --db "$A_DB" 2>/dev/null | tail -n 1)
KEY_B=$("$ACEGATE" keys add --role checker --db "$B_DB" 2>/dev/null | tail -n 1)
CHECK='{"item":{"eccn":"4D004"},"destination":"DE","end_user":{"type":"non_government"}}'
status_with() { # KEY: the HTTP status of one check
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" \
    -H 'Content-Type: application/json' --data-binary "$CHECK" "http://127.0.0.1:$PORT/v1/checks"
}

CONF="$TMPD/acegate.conf"
cat >"$CONF" <<EOF
# a comment, then a blank line

listen = 127.0.0.1:0
db   =   $A_DB
threads = 3
	access-log = $TMPD/access.log
no-lists = true
EOF

# ---- the file's options take effect ----
start --config "$CONF"
if [ -n "$PORT" ]; then ok file_listen_used; else notok file_listen_used "no listening line"; fi
expect_grep file_db_used "\"db\":\"$A_DB\"" "$TMPD/srv.log"
expect_grep file_no_lists_used '"lists_version":null' "$TMPD/srv.log"
n=$(http_threads)
if [ "$n" -eq 3 ]; then ok file_threads_used; else notok file_threads_used "$n HTTP threads, wanted 3"; fi
s=$(status_with "$KEY_A")
if [ "$s" = 200 ]; then ok file_db_holds_the_keys; else notok file_db_holds_the_keys "status $s"; fi
stop
expect_grep file_access_log_used '"path":"/v1/checks"' "$TMPD/access.log"

# ---- flags override it ----
start --config "$CONF" --db "$B_DB" --threads 2
expect_grep flag_db_overrides "\"db\":\"$B_DB\"" "$TMPD/srv.log"
n=$(http_threads)
if [ "$n" -eq 2 ]; then ok flag_threads_overrides; else notok flag_threads_overrides "$n threads"; fi
s=$(status_with "$KEY_A")
if [ "$s" = 401 ]; then ok file_db_not_opened; else notok file_db_not_opened "status $s, wanted 401"; fi
s=$(status_with "$KEY_B")
if [ "$s" = 200 ]; then ok flag_db_holds_the_keys; else notok flag_db_holds_the_keys "status $s"; fi
stop
# a value the file gets wrong is not read when a flag gives it
printf 'listen = 127.0.0.1:0\ndb = %s\nmax-body = 12\n' "$A_DB" >"$TMPD/small.conf"
start --config "$TMPD/small.conf" --max-body 4096
if [ -n "$PORT" ]; then ok flag_overrides_bad_file_value; else
  notok flag_overrides_bad_file_value "did not start"; fi
stop

# ---- which file ----
# ACEGATE_CONFIG (lib.sh sets /dev/null) names one like --config does
ACEGATE_CONFIG="$TMPD/small.conf" "$ACEGATE" serve >"$TMPD/out" 2>"$TMPD/err"
expect_grep env_file_read "$TMPD/small.conf:3: max-body: must be" "$TMPD/err"
expect_exit env_file_missing 4 env ACEGATE_CONFIG="$TMPD/none.conf" "$ACEGATE" serve
expect_grep env_file_missing_message "ACEGATE_CONFIG: cannot open" "$TMPD/err"
start --config "$CONF"
expect_grep named_file_before_env "\"db\":\"$A_DB\"" "$TMPD/srv.log"
stop
unset ACEGATE_CONFIG
mkdir -p "$XDG_CONFIG_HOME/acegate"
printf 'listen = 127.0.0.1:0\ndb = %s\n' "$B_DB" >"$XDG_CONFIG_HOME/acegate/acegate.conf"
start
expect_grep user_file_read "\"db\":\"$B_DB\"" "$TMPD/srv.log"
stop
start --config "$CONF"
expect_grep named_file_instead_of_user_file "\"db\":\"$A_DB\"" "$TMPD/srv.log"
stop
printf 'max-body = 12\n' >"$XDG_CONFIG_HOME/acegate/acegate.conf"
expect_exit user_file_errors_too 2 "$ACEGATE" serve --listen 127.0.0.1:0 --db "$A_DB"
expect_grep user_file_named "$XDG_CONFIG_HOME/acegate/acegate.conf:1: max-body: must be" "$TMPD/err"
start --no-config --listen 127.0.0.1:0 --db "$A_DB"
if [ -n "$PORT" ]; then ok no_config_reads_none; else notok no_config_reads_none "did not start"; fi
stop
expect_exit help_despite_bad_file 0 "$ACEGATE" serve --help
expect_grep help_names_config '--config FILE' "$TMPD/out"
rm -r "$XDG_CONFIG_HOME/acegate"

# ---- errors name the file, the line and the key ----
bad() { # NAME CONTENT PATTERN: serve with CONTENT as its file fails with exit 2 and PATTERN
  printf '%b' "$2" >"$TMPD/bad.conf"
  expect_exit "$1" 2 "$ACEGATE" serve --config "$TMPD/bad.conf"
  expect_grep "$1_message" "$TMPD/bad.conf:$3" "$TMPD/err"
}
bad unknown_key 'listen = 127.0.0.1:0\n\nlisten-port = 80\n' '3: listen-port: unknown option'
bad bad_number 'max-body = 12\n' '1: max-body: must be a number of bytes'
bad bad_rate '# rate\nrate-limit = fast\n' '2: rate-limit: must be a number of requests per second'
bad key_twice 'db = x.db\ndb = y.db\n' '2: db: given more than once'
bad no_equals 'listen 127.0.0.1:0\n' '1: expected KEY = VALUE'
bad empty_value 'db =\n' '1: db: needs a value'
bad bad_switch 'no-lists = yes\n' '1: no-lists: must be true or false'
bad odd_key 'Max_Body = 2048\n' '1: Max_Body: not a key'
bad config_in_config 'config = /etc/other.conf\n' '1: config: not an option of the configuration file'
bad dashed_value 'db = --listen\n' '1: db: a value may not start with --'
expect_exit missing_named_file 4 "$ACEGATE" serve --config "$TMPD/none.conf"
expect_grep missing_named_file_message "cannot open '$TMPD/none.conf'" "$TMPD/err"
expect_exit config_needs_value 2 "$ACEGATE" serve --config
expect_exit config_and_no_config 2 "$ACEGATE" serve --config "$CONF" --no-config
expect_exit config_twice 2 "$ACEGATE" serve --config "$CONF" --config "$CONF"
# a bad flag on the command line is still named as the flag
expect_exit flag_error_names_flag 2 "$ACEGATE" serve --config "$CONF" --max-body 12
expect_grep flag_error_names_flag_message 'serve: --max-body: must be' "$TMPD/err"
