#!/bin/sh
# test_rescreen_resume.sh - a re-screening of the party registry killed
# midway is finished by the next process that loads the same list change,
# and every (party, new hit) of the change is named by exactly one queue
# item (docs/review.md, "The party registry"). A registry of 40,000
# parties, one in 40 named like an entry whose content the change alters,
# against the bundled Consolidated Screening List; the update is SIGKILLed
# once the log holds one of its items, run again over the same lists in
# force, and its items compared with those of a clean single run of the
# same change on a copy made before; the rerun sends the webhook every
# item of the change, those of the killed run included. test_pg.sh does
# the same in PostgreSQL. Then the same, resumed more than an hour after
# the killed run; and the change, once finished, made again by the same
# entries much later: re-screened anew, its items not taken for those of
# the first time.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rescreen_lib.sh"
plan 24
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
LIST="$(dirname "$0")/../../data/lists/csl-2026-07-31.csv"
python3 "$(dirname "$0")/rescreen_data.py" "$LIST" "$TMPD" 40000 40
mkdir "$TMPD/run" "$TMPD/home"
export ACEGATE_HOME="$TMPD/home"
DB="$TMPD/run/audit.db"
expect_exit lists_in_force 0 "$ACEGATE" lists update "$LIST" --force --db "$DB"
expect_exit registry_imported 0 "$ACEGATE" parties import "$TMPD/parties.csv" --db "$DB"
# the copies: the log, its registry and the lists in force, before the change
cp -a "$TMPD/run" "$TMPD/clean"
cp -a "$TMPD/run" "$TMPD/run2"
cp -a "$TMPD/run" "$TMPD/run3"
cp -a "$TMPD/home" "$TMPD/home.before"
cp -a "$TMPD/home" "$TMPD/home.clean"
cp -a "$TMPD/home" "$TMPD/home3"
# ages a log and its registry by two hours, as if all they hold had been
# done then: the log's records (its chain then no longer verifies: the
# times are hashed) and the registry's claims and re-screenings' beginnings
age_2h() {
  sqlite3 "$1" "DROP TRIGGER IF EXISTS audit_log_no_update;
    UPDATE audit_log SET ts_ms = ts_ms - 7200000" &&
    sqlite3 "$1-parties" "UPDATE party_rescreens SET at_ms = at_ms - 7200000 WHERE at_ms > 0;
      UPDATE party_rescreens SET begun_ms = begun_ms - 7200000 WHERE begun_ms IS NOT NULL"
}

# the expected: the change re-screened cleanly, in one run, on the copy
ACEGATE_HOME="$TMPD/home.clean" "$ACEGATE" lists update "$TMPD/changed.csv" \
  --db "$TMPD/clean/audit.db" >"$TMPD/clean.out" 2>&1
rs_items clean "$TMPD/clean/audit.db"
WANT=$(wc -l <"$TMPD/clean.items")
if [ "$WANT" -ge 100 ]; then ok clean_run_items; else
  notok clean_run_items "$WANT items: $(tail -3 "$TMPD/clean.out")"; fi

# the same update, SIGKILLed once the log holds one of its items
rs_update_killed "$DB"
rs_items killed "$DB"
KILLED=$(wc -l <"$TMPD/killed.items")
if [ "$RS_RC" -eq 137 ] && [ "$KILLED" -ge 1 ] && [ "$KILLED" -lt "$WANT" ]; then
  ok killed_midway
else
  notok killed_midway "exit $RS_RC with $KILLED of $WANT items: $(tail -3 "$TMPD/killed.out")"
fi

# the next process to load the change: the lists in force before it again
# (the killed update had installed the new ones), and the same update,
# with a webhook this time
printf 's3cret\n' >"$TMPD/secret"
: >"$TMPD/hook.log"
python3 "$(dirname "$0")/webhook_receiver.py" "$TMPD/hook.port" "$TMPD/hook.log" &
RCV_PID=$!
i=0
while [ "$i" -lt 100 ] && [ ! -s "$TMPD/hook.port" ]; do sleep 0.05; i=$((i + 1)); done
cp "$TMPD/home.before/lists.agx" "$TMPD/home/lists.agx"
expect_exit rerun 0 "$ACEGATE" lists update "$TMPD/changed.csv" --db "$DB" \
  --webhook-url "http://127.0.0.1:$(cat "$TMPD/hook.port")/hook" --webhook-secret-file "$TMPD/secret"
kill "$RCV_PID"
expect_grep rerun_keeps_items "new queue items, $KILLED kept from an interrupted re-screening" \
  "$TMPD/out"
rs_items resumed "$DB"
rs_compare resumed clean resumed
# every item of the change goes to the webhook, those the killed run made too
jq -r .id "$TMPD/resumed.items" | sort >"$TMPD/ids.log"
jq -r '.body | fromjson | .id' "$TMPD/hook.log" | sort -u >"$TMPD/ids.hook"
if cmp -s "$TMPD/ids.log" "$TMPD/ids.hook"; then ok webhook_gets_every_item; else
  notok webhook_gets_every_item "$(wc -l <"$TMPD/ids.hook") of $(wc -l <"$TMPD/ids.log") ids"; fi
# the open queue, page by page, as the clean run left it
: >"$TMPD/q"
cursor=""
while :; do
  "$ACEGATE" review queue --limit 1000 ${cursor:+--cursor "$cursor"} --db "$DB" >"$TMPD/page"
  cat "$TMPD/page" >>"$TMPD/q"
  cursor=$(jq -r '.next_cursor // empty' "$TMPD/page")
  [ -n "$cursor" ] || break
done
n=$(jq -s '[.[].items[] | select(.cause.kind == "list_change")] | length' "$TMPD/q")
if [ "$n" -eq "$WANT" ]; then ok queue_as_clean; else notok queue_as_clean "$n open, wanted $WANT"; fi
expect_exit chain_intact 0 "$ACEGATE" audit verify --db "$DB"
# the change, finished, is claimed: loading it once more does nothing
cp "$TMPD/home.before/lists.agx" "$TMPD/home/lists.agx"
expect_exit load_again 0 "$ACEGATE" lists update "$TMPD/changed.csv" --db "$DB"
expect_grep load_again_skipped 'parties not re-screened' "$TMPD/out"

# the way out that a failed update names, `parties rescreen --all`, after
# an update killed midway: it finds the killed update's items, and no hit
# (party, entry, content) is named by two items. (What else it finds is
# its own: screened against every entry, an entry the update changed may
# be crowded out of a party's matches by others; the item naming it is
# then not counted as kept.)
cp "$TMPD/home.before/lists.agx" "$TMPD/home/lists.agx"
rs_update_killed "$TMPD/run2/audit.db"
rs_items killed2 "$TMPD/run2/audit.db"
KILLED=$(wc -l <"$TMPD/killed2.items")
expect_exit all_after_kill 0 "$ACEGATE" parties rescreen --all --db "$TMPD/run2/audit.db"
if [ "$RS_RC" -eq 137 ] && [ "$KILLED" -ge 1 ] && [ "$KILLED" -lt "$WANT" ] &&
  jq -e ".kept >= 1 and .kept <= $KILLED and .items > 0" "$TMPD/out" >/dev/null; then
  ok all_keeps_killed_items
else
  notok all_keeps_killed_items "exit $RS_RC, $KILLED of $WANT items: $(cat "$TMPD/out")"
fi
rs_items killed_all "$TMPD/run2/audit.db"
if [ -z "$(uniq -d "$TMPD/killed_all.hits")" ]; then ok all_after_kill_each_hit_once; else
  notok all_after_kill_each_hit_once "$(uniq -d "$TMPD/killed_all.hits" | head -3)"; fi
# it finishes the killed update's re-screening: the registry keeps no
# beginning of one unfinished, which the change's return would look back to
n=$(sqlite3 "$TMPD/run2/audit.db-parties" \
  "SELECT count(*) FROM party_rescreens WHERE begun_ms IS NOT NULL")
if [ "$n" = 0 ]; then ok all_finishes_killed_change; else
  notok all_finishes_killed_change "$n beginnings left: $(sqlite3 "$TMPD/run2/audit.db-parties" \
    'SELECT * FROM party_rescreens')"; fi

# ---- the killed update finished more than an hour later: its items are
# still found, however long ago it made them ----
export ACEGATE_HOME="$TMPD/home3"
DB3="$TMPD/run3/audit.db"
rs_update_killed "$DB3"
rs_items killed3 "$DB3"
KILLED=$(wc -l <"$TMPD/killed3.items")
if [ "$RS_RC" -eq 137 ] && [ "$KILLED" -ge 1 ] && [ "$KILLED" -lt "$WANT" ] && age_2h "$DB3"; then
  ok killed_two_hours_ago
else
  notok killed_two_hours_ago "exit $RS_RC with $KILLED of $WANT items: $(tail -3 "$TMPD/killed.out")"
fi
cp "$TMPD/home.before/lists.agx" "$TMPD/home3/lists.agx"
expect_exit late_rerun 0 "$ACEGATE" lists update "$TMPD/changed.csv" --db "$DB3"
expect_grep late_rerun_keeps_items "new queue items, $KILLED kept from an interrupted re-screening" \
  "$TMPD/out"
rs_items late "$DB3"
rs_compare late clean late

# ---- the change, finished, undone by the next update and made again by
# the same entries much later: a new change, whose hits are named anew ----
export ACEGATE_HOME="$TMPD/home.clean"
"$ACEGATE" lists update "$LIST" --db "$TMPD/clean/audit.db" >"$TMPD/undo.out" 2>&1
rs_items undone "$TMPD/clean/audit.db"
age_2h "$TMPD/clean/audit.db"
expect_exit change_again 0 "$ACEGATE" lists update "$TMPD/changed.csv" --db "$TMPD/clean/audit.db"
rs_items again "$TMPD/clean/audit.db"
# new again: each hit of the first time whose entry the undo gave the party
# on other content (an entry changed in place; one a list gives a new id
# when its content changes is the same entry and content as the first
# time, and not new); named once more each, none taken for the first
# time's item
grep -vFxf "$TMPD/clean.hits" "$TMPD/undone.hits" | cut -d' ' -f1-3 | sort -u >"$TMPD/undone.keys"
awk 'NR == FNR { k[$1 " " $2 " " $3] = 1; next } ($1 " " $2 " " $3) in k' \
  "$TMPD/undone.keys" "$TMPD/clean.hits" >"$TMPD/again.want"
uniq -d "$TMPD/again.hits" >"$TMPD/again.twice"
if [ "$(wc -l <"$TMPD/again.want")" -ge 100 ] && cmp -s "$TMPD/again.want" "$TMPD/again.twice" &&
  [ "$(wc -l <"$TMPD/again.hits")" -eq $(($(wc -l <"$TMPD/undone.hits") + $(wc -l <"$TMPD/again.want"))) ]
then
  ok change_again_named_anew
else
  notok change_again_named_anew "$(wc -l <"$TMPD/again.want") wanted again, \
$(wc -l <"$TMPD/again.twice") named twice: $(tail -1 "$TMPD/out")"
fi
