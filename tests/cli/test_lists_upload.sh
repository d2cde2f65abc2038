#!/bin/sh
# test_lists_upload.sh - POST /v1/lists:update: an administrator sends a
# list file through the guarded update (docs/api.md): a file that shrinks a
# source past the guard is refused with the source and the numbers and the
# lists in force stay; an accepted file answers the changes per source,
# is what /v1/lists then serves, and is an audit record of kind lists;
# the route is for admins only and takes CSL CSV or JSON only.
. "$(dirname "$0")/lib.sh"
plan 26
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 400 "$3")"; fi
}
# REC NAME SELECT COND: some record of kind lists matches SELECT, and each such COND
recok() {
  if jq -s -e "[.[] | select($2)] | length >= 1 and all(.[]; $3)" "$TMPD/recs" >/dev/null 2>&1
  then ok "$1"; else notok "$1" "no record with $2 and $3"; fi
}
FX="$(dirname "$0")/../screen/fixtures"
export ACEGATE_HOME="$TMPD/home"
DB="$TMPD/audit.db"
DATA="$TMPD/data"
# the lists in force: two Entity List entries (forced past the guard,
# which would refuse to drop the bundled lists)
expect_exit first_lists 0 "$ACEGATE" lists update "$FX/remember-el.csv" --force --data-dir "$DATA" --db "$DB"
head -2 "$FX/remember-el.csv" >"$TMPD/one.csv"
# a party that the added entry matches: the reload after the update
# re-screens the registry (docs/review.md, "The party registry")
printf 'ref,name,country\nC-1,Vantorix Intrusion Technologies,CY\n' >"$TMPD/parties.csv"
"$ACEGATE" parties import "$TMPD/parties.csv" --db "$DB" >/dev/null
ADM=$("$ACEGATE" keys add --role admin --name adm --db "$DB" 2>/dev/null | tail -n 1)
CHK=$("$ACEGATE" keys add --role checker --name chk --db "$DB" 2>/dev/null | tail -n 1)
ADM_ID=$("$ACEGATE" keys list --db "$DB" | awk -F'\t' '$5 == "adm" { print $1 }')

start() { # serve options...
  "$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB" "$@" 2>"$TMPD/srv.log" &
  SRV_PID=$!
  PORT=""
  i=0
  while [ "$i" -lt 300 ] && [ -z "$PORT" ] && kill -0 "$SRV_PID" 2>/dev/null; do
    PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$TMPD/srv.log" 2>/dev/null)
    [ -z "$PORT" ] && sleep 0.1
    i=$((i + 1))
  done
  B="http://127.0.0.1:$PORT"
}
stop() { kill "$SRV_PID"; wait "$SRV_PID" 2>/dev/null; SRV_PID=""; }
post() { # KEY CONTENT-TYPE FILE QUERY
  curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" -H "Content-Type: $2" \
    --data-binary @"$3" "$B/v1/lists:update$4"
}
is() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "HTTP $2, wanted $3: $(head -c 300 "$TMPD/body")"; fi; }
lists() { curl -s -o "$TMPD/lists" -H "Authorization: Bearer $ADM" "$B/v1/lists"; }
records() { "$ACEGATE" audit search --kind lists --db "$DB" >"$TMPD/recs" 2>"$TMPD/err"; }

start --lists-dir "$DATA"
lists
jqok served_two '[.lists[] | select(.code == "EL")][0].entries == 2' "$TMPD/lists"

# ---- who and what ----
is checker_forbidden "$(post "$CHK" text/csv "$FX/remember-el-added.csv")" 403
is plain_text_refused "$(post "$ADM" text/plain "$FX/remember-el-added.csv")" 415
jqok plain_text_names '.error.field == "content-type" and (.error.message | test("text/csv"))' "$TMPD/body"
is json_label_on_csv "$(post "$ADM" application/json "$FX/remember-el-added.csv")" 400
is force_bad_value "$(post "$ADM" text/csv "$FX/remember-el-added.csv" '?force=yes')" 400

# ---- a file that halves the Entity List: refused, 2 -> 1 named ----
is shrink_refused "$(post "$ADM" text/csv "$TMPD/one.csv")" 409
jqok shrink_names_numbers '.result == "refused" and .error.code == "lists_update_refused"
  and (.error.message | test("EL shrinks from 2 to 1 entries"))
  and ([.changes[] | select(.code == "EL")][0] | .before == 2 and .after == 1 and .removed == 1)' "$TMPD/body"
lists
jqok shrink_kept '[.lists[] | select(.code == "EL")][0].entries == 2' "$TMPD/lists"
records
recok shrink_recorded '.outcome == "lists_update_refused"' ".key_id == \"$ADM_ID\"
  and .decision.result == \"refused\""

# ---- not a list file: 422, recorded, nothing changes ----
printf 'name,country\nAcme,DE\n' >"$TMPD/junk.csv"
is junk_invalid "$(post "$ADM" text/csv "$TMPD/junk.csv")" 422
jqok junk_names '.error.code == "invalid_list" and .result == "invalid" and (.error.message | test("uploaded.csv:1: header: column .source. is missing"))' "$TMPD/body"
records
recok junk_recorded '.outcome == "lists_update_invalid"' ".key_id == \"$ADM_ID\""

# ---- a file that adds an entry: installed, served, recorded ----
is added_accepted "$(post "$ADM" text/csv "$FX/remember-el-added.csv")" 200
jqok added_changes '.result == "updated" and .forced_past == null
  and ([.changes[] | select(.code == "EL")][0] | .before == 2 and .after == 3 and .added == 1 and .removed == 0)
  and (.audit_id | startswith("a-"))' "$TMPD/body"
UPD=$(jq -r .audit_id "$TMPD/body")
lists
jqok added_served '[.lists[] | select(.code == "EL")][0].entries == 3' "$TMPD/lists"
records
recok added_recorded ".audit_id == \"$UPD\"" ".outcome == \"lists_updated\" and .key_id == \"$ADM_ID\"
  and .request.force == false"
recok reload_recorded '.outcome == "lists_reloaded"' ".key_id == \"$ADM_ID\""
curl -s -o "$TMPD/party" -H "Authorization: Bearer $ADM" "$B/v1/parties/C-1"
jqok registry_rescreened '.party.open_items == 1 and .open[0].cause.kind == "list_change"' "$TMPD/party"
expect_exit chain_intact 0 "$ACEGATE" audit verify --db "$DB"

# ---- forced past the guard: installed, the guard's words kept ----
is forced_accepted "$(post "$ADM" text/csv "$TMPD/one.csv" '?force=true')" 200
jqok forced_says '.result == "updated" and (.forced_past | test("EL shrinks from 3 to 1"))' "$TMPD/body"
lists
jqok forced_served '[.lists[] | select(.code == "EL")][0].entries == 1' "$TMPD/lists"
stop

# ---- lists named by --lists are not updated through the service ----
start --lists "$FX/remember-el.csv"
is fixed_lists_conflict "$(post "$ADM" text/csv "$FX/remember-el-added.csv")" 409
jqok fixed_lists_names_option '.error.message | test("--lists-dir")' "$TMPD/body"
stop
