#!/bin/sh
# test_audit.sh - `acegate audit` and `acegate keys` from the command line:
# verify, export, get, backup, tampering, SIGKILL durability, key handling,
# and bad input. Records are written by the helper mode of the
# test_audit_durable program (fill / loop / sql).
. "$(dirname "$0")/lib.sh"
plan 108
H="${ACEGATE_BUILD:?}/tests/test_audit_durable"
DB="$TMPD/a.db"

ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }

# ---- usage and missing databases ----
expect_exit audit_help 0 "$ACEGATE" audit --help
expect_grep audit_help_lists_verify 'audit verify' "$TMPD/out"
expect_exit audit_no_args 2 "$ACEGATE" audit
expect_exit audit_unknown_sub 2 "$ACEGATE" audit frobnicate
expect_exit audit_unknown_option 2 "$ACEGATE" audit verify --bogus
expect_grep audit_unknown_option_named '--bogus: unknown option' "$TMPD/err"
expect_exit verify_missing_db 4 "$ACEGATE" audit verify --db "$TMPD/none.db"
expect_grep verify_missing_db_field '^acegate audit verify: --db: ' "$TMPD/err"
if [ -e "$TMPD/none.db" ]; then notok verify_does_not_create "none.db was created"; else ok verify_does_not_create; fi
expect_exit verify_bad_dir 4 "$ACEGATE" audit verify --db /nonexistent-dir/x.db
printf 'not a database at all, just text long enough to fill a header page\n' >"$TMPD/text.db"
expect_exit verify_not_sqlite 4 "$ACEGATE" audit verify --db "$TMPD/text.db"

# ---- a log of 20 known records (hourly from 2025-03-01T00:00Z) ----
"$H" fill "$DB" 20 >"$TMPD/ids" || notok fill "helper failed"
expect_exit verify_ok 0 "$ACEGATE" audit verify --db "$DB"
expect_grep verify_ok_count 'intact: 20 records' "$TMPD/out"
anchor=$(sed -n 's/^head: //p' "$TMPD/out")
expect_exit verify_anchor_ok 0 "$ACEGATE" audit verify --db "$DB" --anchor "$anchor"
expect_exit verify_anchor_malformed 2 "$ACEGATE" audit verify --db "$DB" --anchor 5:xyz
expect_grep verify_anchor_malformed_field '--anchor' "$TMPD/err"
case "$anchor" in *:0*) wrong=$(echo "$anchor" | sed 's/:0/:1/') ;; *) wrong=$(echo "$anchor" | sed 's/:./:0/') ;; esac
expect_exit verify_anchor_mismatch 6 "$ACEGATE" audit verify --db "$DB" --anchor "$wrong"
# a second --anchor must not silently replace the first (a failing one)
expect_exit verify_anchor_twice 2 "$ACEGATE" audit verify --db "$DB" --anchor "$wrong" --anchor "$anchor"
expect_grep verify_anchor_twice_named '--anchor: given more than once' "$TMPD/err"
expect_exit verify_db_twice 2 "$ACEGATE" audit verify --db "$DB" --db "$DB"
expect_exit verify_anchor_overflow 2 "$ACEGATE" audit verify --db "$DB" --anchor "99999999999999999999:${anchor#*:}"
# the head line is the anchor to keep: losing it is not a success
if [ -w /dev/full ]; then
  expect_exit verify_stdout_full 4 sh -c "'$ACEGATE' audit verify --db '$DB' > /dev/full"
  expect_grep verify_stdout_full_named 'output: writing to stdout failed' "$TMPD/err"
else
  for t in verify_stdout_full verify_stdout_full_named; do echo "ok $t # skip: /dev/full is not writable"; done
fi

# ---- export ----
expect_exit export_csv 0 "$ACEGATE" audit export --db "$DB" --from 2025-03-01 --to 2025-03-01
rows=$(tr -cd '\r' <"$TMPD/out" | wc -c)
# the header, 20 records, and the closing row
if [ "$rows" -eq 22 ]; then ok export_csv_rows; else notok export_csv_rows "$rows CRLF lines, wanted 22"; fi
expect_grep export_csv_closing '^#end,records=20,last_seq=20,' "$TMPD/out"
expect_grep export_csv_header '^seq,audit_id,time,time_ms,kind,' "$TMPD/out"
cp "$TMPD/out" "$TMPD/export.csv"
expect_exit export_verifies 0 "$ACEGATE" audit verify --export "$TMPD/export.csv"
expect_grep export_verifies_count 'export intact: 20 records' "$TMPD/out"
head -c 2000 "$TMPD/export.csv" >"$TMPD/cut.csv"
expect_exit export_cut_short 6 "$ACEGATE" audit verify --export "$TMPD/cut.csv"
expect_grep export_cut_short_named 'truncated' "$TMPD/out"
expect_exit export_verify_with_db 2 "$ACEGATE" audit verify --export "$TMPD/export.csv" --db "$DB"
expect_exit export_jsonl_range 0 "$ACEGATE" audit export --db "$DB" --format jsonl \
  --from 2025-03-01T05:00:00Z --to 2025-03-01T09:59:59.999Z
n=$(grep -c '"seq":' "$TMPD/out")
if [ "$n" -eq 5 ]; then ok export_jsonl_rows; else notok export_jsonl_rows "$n lines, wanted 5"; fi
expect_grep export_jsonl_first '^{"seq":6,' "$TMPD/out"
expect_exit export_empty_range 0 "$ACEGATE" audit export --db "$DB" --from 2024-01-01 --to 2024-12-31 --format jsonl
# nothing in range: the closing line alone
if [ "$(wc -l <"$TMPD/out")" -eq 1 ] && jq -e '.export_end and .records == 0' "$TMPD/out" >/dev/null; then
  ok export_empty_range_output
else
  notok export_empty_range_output "$(head -c 300 "$TMPD/out")"
fi
expect_exit export_bad_date 2 "$ACEGATE" audit export --db "$DB" --from 2025-02-30 --to 2025-03-01
expect_grep export_bad_date_field 'export: --from: ' "$TMPD/err"
expect_exit export_bad_time 2 "$ACEGATE" audit export --db "$DB" --from 2025-03-01 --to 2025-03-01T25:00:00Z
expect_grep export_bad_time_field 'export: --to: ' "$TMPD/err"
expect_exit export_unknown_format 2 "$ACEGATE" audit export --db "$DB" --from 2025-03-01 --to 2025-03-02 --format xml
expect_grep export_unknown_format_field '--format: must be csv or jsonl' "$TMPD/err"
expect_exit export_missing_to 2 "$ACEGATE" audit export --db "$DB" --from 2025-03-01
expect_exit export_reversed 2 "$ACEGATE" audit export --db "$DB" --from 2025-03-02 --to 2025-03-01

# ---- get: the decision comes back byte for byte ----
id5=$(sed -n 6p "$TMPD/ids")
expect_exit get_decision 0 "$ACEGATE" audit get "$id5" --db "$DB"
printf '{"outcome":"not_authorized","n":5,"note":"Grüß \\"q\\""}\n' >"$TMPD/want"
if cmp -s "$TMPD/out" "$TMPD/want"; then ok get_byte_exact; else notok get_byte_exact "decision differs"; fi
expect_exit get_request 0 "$ACEGATE" audit get "$id5" --request --db "$DB"
printf '{"eccn":"4D004","to":"IR","n":5}' >"$TMPD/want"
if cmp -s "$TMPD/out" "$TMPD/want"; then ok get_request_exact; else notok get_request_exact "request differs"; fi
expect_exit get_unknown 2 "$ACEGATE" audit get a-5-000000000000 --db "$DB"
expect_grep get_unknown_field 'audit_id: no audit record' "$TMPD/err"

# the head marker edited: the last record is the one in doubt, not counted intact
cp "$DB" "$TMPD/head.db"
"$H" sql "$TMPD/head.db" "DROP TRIGGER audit_head_forward; UPDATE audit_head SET hash = '$(printf '%064d' 0)'"
expect_exit verify_head_edited 6 "$ACEGATE" audit verify --db "$TMPD/head.db"
expect_grep verify_head_edited_named 'link_mismatch: the head marker does not match record' "$TMPD/out"
n=$(sed -n 's/^\([0-9]*\) records\{0,1\} intact before it$/\1/p' "$TMPD/out")
seq=$(sed -n 's/.*broken at seq \([0-9]*\).*/\1/p' "$TMPD/out")
if [ -n "$n" ] && [ "$n" -eq $((seq - 1)) ]; then ok verify_head_edited_count; else notok verify_head_edited_count "seq $seq, intact $n"; fi

# ---- backup ----
expect_exit backup_ok 0 "$ACEGATE" audit backup --db "$DB" --to "$TMPD/copy.db"
expect_grep backup_verified 'backup intact: 20 records' "$TMPD/out"
expect_exit backup_copy_verifies 0 "$ACEGATE" audit verify --db "$TMPD/copy.db" --anchor "$anchor"
expect_exit backup_no_overwrite 4 "$ACEGATE" audit backup --db "$DB" --to "$TMPD/copy.db"
expect_grep backup_no_overwrite_field '--to: ' "$TMPD/err"
expect_exit backup_missing_to 2 "$ACEGATE" audit backup --db "$DB"
expect_exit backup_missing_db 4 "$ACEGATE" audit backup --db "$TMPD/none.db" --to "$TMPD/x.db"

# ---- tampering with copies: verify names the record ----
"$ACEGATE" audit backup --db "$DB" --to "$TMPD/t1.db" >/dev/null
"$H" sql "$TMPD/t1.db" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET decision = '{}' WHERE seq = 7"
expect_exit tamper_edit_detected 6 "$ACEGATE" audit verify --db "$TMPD/t1.db"
expect_grep tamper_edit_names_seq 'broken at seq 7 (a-7-' "$TMPD/out"
expect_grep tamper_edit_problem 'content_changed' "$TMPD/out"
expect_grep tamper_edit_stderr 'verify: seq 7: content_changed' "$TMPD/err"
expect_grep tamper_edit_intact_before '6 records intact before it' "$TMPD/out"

"$ACEGATE" audit backup --db "$DB" --to "$TMPD/t2.db" >/dev/null
"$H" sql "$TMPD/t2.db" "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 3"
expect_exit tamper_delete_detected 6 "$ACEGATE" audit verify --db "$TMPD/t2.db"
expect_grep tamper_delete_names_seq 'broken at seq 3: gap' "$TMPD/out"

"$ACEGATE" audit backup --db "$DB" --to "$TMPD/t3.db" >/dev/null
"$H" sql "$TMPD/t3.db" "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET hash = substr(hash, 2) || '0' WHERE seq = 20"
expect_exit tamper_hash_detected 6 "$ACEGATE" audit verify --db "$TMPD/t3.db"
expect_grep tamper_hash_names_seq 'broken at seq 20 .*hash_edited' "$TMPD/out"
if "$H" sql "$TMPD/copy.db" "UPDATE audit_log SET outcome = 'x' WHERE seq = 1" 2>/dev/null; then
  notok trigger_refuses_update "update allowed"
else ok trigger_refuses_update; fi

# ---- SIGKILL while appending: every acknowledged id survives ----
: >"$TMPD/acks"
"$H" loop "$TMPD/k.db" 4 >>"$TMPD/acks" 2>"$TMPD/loop.err" &
pid=$!
i=0
while [ "$i" -lt 100 ] && [ "$(wc -l <"$TMPD/acks")" -lt 200 ]; do
  sleep 0.1
  i=$((i + 1))
done
kill -9 "$pid"
wait "$pid" 2>/dev/null
grep -E '^a-[0-9]+-[0-9a-f]{12}$' "$TMPD/acks" | sort >"$TMPD/acked"
acked=$(wc -l <"$TMPD/acked")
if [ "$acked" -ge 200 ]; then ok killed_acknowledged_some; else notok killed_acknowledged_some "$acked ids"; fi
expect_exit killed_verify 0 "$ACEGATE" audit verify --db "$TMPD/k.db"
"$ACEGATE" audit export --db "$TMPD/k.db" --from 2000-01-01 --to 2199-12-31 --format jsonl |
  sed -n 's/^{"seq":[0-9]*,"audit_id":"\([^"]*\)".*/\1/p' | sort >"$TMPD/have"
lost=$(comm -23 "$TMPD/acked" "$TMPD/have" | wc -l)
if [ "$lost" -eq 0 ]; then ok killed_none_lost; else notok killed_none_lost "$lost acknowledged ids missing"; fi

# ---- keys ----
expect_exit keys_help 0 "$ACEGATE" keys --help
expect_exit keys_add 0 "$ACEGATE" keys add --role checker --db "$DB" --name "ci runner"
tok=$(tail -n 1 "$TMPD/out")
if echo "$tok" | grep -Eq '^agk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$'; then ok keys_token_last_line; else
  notok keys_token_last_line "last line '$tok'"; fi
kid=$(sed -n 's/^id: //p' "$TMPD/out")
expect_grep keys_add_warns 'cannot be shown again' "$TMPD/err"
expect_exit keys_list 0 "$ACEGATE" keys list --db "$DB"
expect_grep keys_list_row "^$kid	checker	.*	active	ci runner\$" "$TMPD/out"
expect_nogrep keys_list_no_secret "$tok" "$TMPD/out"
secret=$(echo "$tok" | cut -c18-)
if cat "$DB"* | grep -aqF -e "$secret"; then notok keys_secret_not_stored "secret found in the database"; else
  ok keys_secret_not_stored; fi
expect_exit keys_revoke 0 "$ACEGATE" keys revoke "$kid" --db "$DB"
"$ACEGATE" keys list --db "$DB" >"$TMPD/out"
expect_grep keys_list_revoked "^$kid	checker	.*	revoked 20" "$TMPD/out"
expect_exit keys_revoke_again 0 "$ACEGATE" keys revoke "$kid" --db "$DB"
expect_grep keys_revoke_again_said 'already revoked; nothing changed' "$TMPD/out"
"$ACEGATE" audit export --db "$DB" --from 2000-01-01 --to 2100-01-01 --format jsonl >"$TMPD/keyrecs"
n=$(jq -c "select(.kind == \"key\" and .outcome == \"key_revoked\" and (.request | fromjson | .id) == \"$kid\")" "$TMPD/keyrecs" | wc -l)
if [ "$n" = 1 ]; then ok keys_revoke_again_not_recorded; else notok keys_revoke_again_not_recorded "$n key_revoked records"; fi
expect_exit keys_revoke_unknown 2 "$ACEGATE" keys revoke 000000000000 --db "$DB"
expect_grep keys_revoke_unknown_field 'revoke: id: no key' "$TMPD/err"
expect_exit keys_revoke_no_id 2 "$ACEGATE" keys revoke --db "$DB"
expect_exit keys_bad_role 2 "$ACEGATE" keys add --role root --db "$DB"
expect_grep keys_bad_role_field '--role: must be checker, auditor, reviewer or admin' "$TMPD/err"
expect_exit keys_missing_role 2 "$ACEGATE" keys add --db "$DB"
expect_exit keys_role_missing_value 2 "$ACEGATE" keys add --role --db "$DB"
expect_grep keys_role_missing_value_named '\-\-role: needs a value' "$TMPD/err"
expect_exit keys_role_twice 2 "$ACEGATE" keys add --role admin --role checker --db "$DB"
expect_grep keys_role_twice_named '--role: given more than once' "$TMPD/err"
if [ -w /dev/full ]; then
  # a key whose secret could not be shown is revoked at once
  expect_exit keys_add_stdout_full 4 sh -c "'$ACEGATE' keys add --role admin --name lost --db '$DB' > /dev/full"
  "$ACEGATE" keys list --db "$DB" >"$TMPD/out"
  expect_grep keys_add_stdout_full_revoked '	admin	.*	revoked 20.*	lost$' "$TMPD/out"
fi
expect_exit keys_bad_name 2 "$ACEGATE" keys add --role admin --db "$DB" --name "$(printf 'a\tb')"
expect_grep keys_bad_name_field '--name: ' "$TMPD/err"
expect_exit keys_list_missing_db 4 "$ACEGATE" keys list --db "$TMPD/none.db"
expect_exit keys_unknown_sub 2 "$ACEGATE" keys rotate
expect_exit audit_still_intact 0 "$ACEGATE" audit verify --db "$DB"

# ---- the default database: $XDG_STATE_HOME/acegate/audit.db, private ----
mkdir "$TMPD/cwd"
(cd "$TMPD/cwd" && "$ACEGATE" keys add --role auditor >/dev/null 2>&1)
if [ -f "$XDG_STATE_HOME/acegate/audit.db" ] && [ ! -e "$TMPD/cwd/acegate.db" ]; then
  ok default_db_in_state_home; else notok default_db_in_state_home "no $XDG_STATE_HOME/acegate/audit.db"; fi
if [ "$(stat -c %a "$XDG_STATE_HOME/acegate/audit.db")" = 600 ] &&
  [ "$(stat -c %a "$XDG_STATE_HOME/acegate")" = 700 ]; then
  ok default_db_private; else notok default_db_private "$(stat -c %a "$XDG_STATE_HOME/acegate/audit.db")"; fi
(cd / && "$ACEGATE" audit verify >"$TMPD/out" 2>&1)
# the key's creation is the first record
expect_grep default_db_verify 'intact: 1 records' "$TMPD/out"
(cd "$TMPD/cwd" && "$ACEGATE" audit export --from 2000-01-01 --to 2100-01-01 --format jsonl >"$TMPD/out" 2>&1)
if head -1 "$TMPD/out" | jq -e '.kind == "key" and .outcome == "key_added" and .key_id == "" and (.decision | fromjson | .role == "auditor" and .revoked == false)' >/dev/null; then
  ok key_add_recorded
else
  notok key_add_recorded "$(head -c 300 "$TMPD/out")"
fi
