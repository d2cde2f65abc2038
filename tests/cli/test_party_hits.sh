#!/bin/sh
# test_party_hits.sh - a party's hits are remembered per list entry, an
# entry being its list and its id (docs/review.md, "The party registry"):
# in the bundled lists OFAC's SDN and SSI lists both have an entry 20315
# (GPB Financial Services Limited, with other contents), and the Non-SDN
# Menu-Based list and SSI both have 17250 (Gazprom, the same contents).
# A party matching both is remembered with both, so a second full
# re-screening finds neither new; a registry made when hits were keyed by
# id alone keeps its hits when it is opened.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/rescreen_lib.sh"
plan 17
export ACEGATE_HOME="$TMPD/home"
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then echo "ok $1"; else
    echo "not ok $1: jq '$2' on $(head -c 400 "$3")"; fi
}
is() { if [ "$2" = "$3" ]; then echo "ok $1"; else echo "not ok $1: got '$2', wanted '$3'"; fi; }
queued() { "$ACEGATE" review queue --db "$1" | jq '.items | length'; }
# ages the log's screenings by two hours: past the hour in which an item
# of a re-screening is looked for before another names the same hit, as a
# re-screening on a later day sees them
age_items() {
  sqlite3 "$1" "DROP TRIGGER IF EXISTS audit_log_no_update;
    UPDATE audit_log SET ts_ms = ts_ms - 7200000 WHERE kind = 'screening'"
}
cat >"$TMPD/parties.csv" <<'CSV'
ref,name,country
G-1,GPB Financial Services Limited,CY
G-2,Public Joint Stock Company Gazprom,RU
CSV

# ---- the bundled lists in force, a registry made by this version ----
DB="$TMPD/audit.db"
"$ACEGATE" check --eccn 4D004 --to MT --no-screen --db "$DB" >/dev/null
"$ACEGATE" parties import "$TMPD/parties.csv" --db "$DB" >/dev/null
expect_exit rescreen_first 0 "$ACEGATE" parties rescreen --all --db "$DB"
jqok rescreen_first_items '.items == 2' "$TMPD/out"
"$ACEGATE" review queue --db "$DB" >"$TMPD/q"
# the item names each entry once, with its list
jqok item_names_both_lists '[.items[] | select(.ref == "G-1") | .cause
  | [.entries, .entry_lists, .entry_hashes] | transpose[] | select(.[0] == "20315")]
  | (map(.[1]) | sort) == ["SDN","SSI"] and .[0][2] != .[1][2]' "$TMPD/q"
jqok item_same_content_both_lists '[.items[] | select(.ref == "G-2") | .cause
  | [.entries, .entry_lists] | transpose[] | select(.[0] == "17250") | .[1]] | sort
  == ["NS-MBS","SSI"]' "$TMPD/q"
# nothing changed: no hit is new, none is taken for one an interrupted
# re-screening left
expect_exit rescreen_again 0 "$ACEGATE" parties rescreen --all --db "$DB"
jqok rescreen_again_nothing_new '.items == 0 and .kept == 0' "$TMPD/out"
# nor later, when the first items are no longer looked for
age_items "$DB"
expect_exit rescreen_later 0 "$ACEGATE" parties rescreen --all --db "$DB"
jqok rescreen_later_no_item '.items == 0 and .kept == 0' "$TMPD/out"
is queue_unchanged "$(queued "$DB")" 2
# the same lists installed again change no entry (an entry is compared by
# its list, id and contents)
expect_exit update_same_lists 0 "$ACEGATE" lists update \
  "$(dirname "$0")/../../data/lists/csl-2026-07-31.csv" --db "$DB"
expect_grep update_same_nothing_changed 'against 0 entries added or changed: 0 new' "$TMPD/out"

# ---- a registry made when party_hits was keyed by (ref, source_id) ----
# as the earlier version left it: one row per id, 20315 holding the SSI
# entry's hash (the SDN entry's overwritten), 17250 its one hash
DB2="$TMPD/old.db"
HITS="$(rs_old_hits G-1 'GPB Financial Services Limited' CY SSI),
  $(rs_old_hits G-2 'Public Joint Stock Company Gazprom' RU)"
sqlite3 "$DB2-parties" "CREATE TABLE parties(ref TEXT PRIMARY KEY, name TEXT NOT NULL,
    country TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '', source TEXT NOT NULL,
    last_screened_ms INTEGER);
  CREATE TABLE party_hits(ref TEXT NOT NULL, source_id TEXT NOT NULL, hash TEXT NOT NULL,
    PRIMARY KEY(ref, source_id));
  CREATE TABLE party_rescreens(change TEXT PRIMARY KEY, lists_version TEXT NOT NULL,
    at_ms INTEGER NOT NULL);
  INSERT INTO parties(ref, name, country, source) VALUES
    ('G-1', 'GPB Financial Services Limited', 'CY', 'import'),
    ('G-2', 'Public Joint Stock Company Gazprom', 'RU', 'import');
  INSERT INTO party_hits VALUES $HITS;"
"$ACEGATE" check --eccn 4D004 --to MT --no-screen --db "$DB2" >/dev/null
expect_exit upgrade_rescreen 0 "$ACEGATE" parties rescreen --all --db "$DB2"
# the hits it had are kept: only the one it had lost is new
jqok upgrade_one_item '.items == 1 and .kept == 0' "$TMPD/out"
"$ACEGATE" review queue --db "$DB2" >"$TMPD/q"
jqok upgrade_item_lost_hit '[.items[] | [.ref, .cause.entries, .cause.entry_lists]]
  == [["G-1", ["20315"], ["SDN"]]]' "$TMPD/q"
is upgrade_rows_kept \
  "$(sqlite3 "$DB2-parties" "SELECT count(*) FROM party_hits WHERE list_code = ''")" 3
age_items "$DB2"
expect_exit upgrade_rescreen_again 0 "$ACEGATE" parties rescreen --all --db "$DB2"
jqok upgrade_again_nothing_new '.items == 0 and .kept == 0' "$TMPD/out"
