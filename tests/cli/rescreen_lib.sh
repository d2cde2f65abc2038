# Helpers for the tests of a re-screening killed midway (docs/review.md,
# "The party registry"); sourced after lib.sh. The data: rescreen_data.py.
#   rs_items NAME DB      the re-screenings' queue items of the log DB, one
#                         {"id","ref","hits"} a line, into $TMPD/NAME.items,
#                         and their hits, "ref list entry hash" a line,
#                         sorted, into $TMPD/NAME.hits
#   rs_update_killed DB   `acegate lists update $TMPD/changed.csv --db DB`,
#                         SIGKILLed once the log holds a screening record
#                         (waited for, 60 s at most); its exit status in
#                         RS_RC, its output in $TMPD/killed.out
#   rs_compare NAME A B   "ok NAME_items_per_party" when the items A and B
#                         (rs_items names) are as many per party, and
#                         "ok NAME_each_hit_once" when they name the same
#                         hits (party, entry, content), each once in B
#   rs_old_hits REF NAME CC [LIST]
#                         the party's hits (on LIST only, when given), as the
#                         screening of its name finds them, as rows of
#                         party_hits when it was keyed by (ref, source_id):
#                         "('REF', 'ID', 'HASH'), ..." (an id once), for SQL
rs_items() {
  "$ACEGATE" audit export --from 2000-01-01 --to 2999-12-31 --format jsonl --db "$2" |
    jq -c 'select(.kind == "screening") | (.decision | fromjson) as $d
      | select($d.cause.kind == "list_change")
      | {id: .audit_id, ref: (.request | fromjson).ref,
         hits: [$d.cause.entries, $d.cause.entry_lists, $d.cause.entry_hashes] | transpose}' \
    >"$TMPD/$1.items"
  jq -r '.ref as $r | .hits[] | "\($r) \(.[1]) \(.[0]) \(.[2])"' "$TMPD/$1.items" | sort \
    >"$TMPD/$1.hits"
}

rs_update_killed() {
  "$ACEGATE" lists update "$TMPD/changed.csv" --db "$1" >"$TMPD/killed.out" 2>&1 &
  _rs_pid=$!
  _rs_i=0
  while [ "$_rs_i" -lt 1200 ] && kill -0 "$_rs_pid" 2>/dev/null; do
    [ -n "$("$ACEGATE" audit search --kind screening --limit 1 --db "$1" 2>/dev/null)" ] && break
    sleep 0.05
    _rs_i=$((_rs_i + 1))
  done
  kill -9 "$_rs_pid" 2>/dev/null
  wait "$_rs_pid" 2>/dev/null
  RS_RC=$?
}

rs_compare() {
  for _rs in "$2" "$3"; do
    jq -s 'group_by(.ref) | map({ref: .[0].ref, n: length})' "$TMPD/$_rs.items" >"$TMPD/$_rs.per"
  done
  if cmp -s "$TMPD/$2.per" "$TMPD/$3.per"; then echo "ok $1_items_per_party"; else
    echo "not ok $1_items_per_party: $(diff "$TMPD/$2.per" "$TMPD/$3.per" | head -6)"; fi
  if cmp -s "$TMPD/$2.hits" "$TMPD/$3.hits" && [ -z "$(uniq -d "$TMPD/$3.hits")" ]; then
    echo "ok $1_each_hit_once"
  else
    echo "not ok $1_each_hit_once: $(diff "$TMPD/$2.hits" "$TMPD/$3.hits" | head -6)"
  fi
}

rs_old_hits() {
  "$ACEGATE" screen "$2" --country "$3" --json --db "$TMPD/rs_scratch.db" 2>/dev/null |
    jq -r --arg l "${4:-}" '.matches[] | select($l == "" or .list_code == $l)
      | "\(.source_id) \(.entry_hash)"' | sort -u |
    while read -r _rs_id _rs_hash; do
      printf "('%s', '%s', '%s')\n" "$1" "$_rs_id" "$_rs_hash"
    done | paste -sd, -
}
