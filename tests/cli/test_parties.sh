#!/bin/sh
# test_parties.sh - the party registry (docs/review.md, "The party
# registry"): an import keyed by ref with each bad row named by line and
# field; checks with a ref join it; a list update that adds an entry
# matching a party makes one queue item naming the list change, recorded
# in the audit chain, and no second one for the same hit; the service
# does the same on reload and serves /v1/parties.
. "$(dirname "$0")/lib.sh"
plan 47
SRV_PID=""
cleanup() {
  [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
  rm -rf "$TMPD"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
notok() { echo "not ok $1: $2"; }
jqok() {
  if jq -e "$2" "$3" >/dev/null 2>&1; then ok "$1"; else notok "$1" "jq '$2' on $(head -c 400 "$3")"; fi
}
FX="$(dirname "$0")/../screen/fixtures"
export ACEGATE_HOME="$TMPD/home"
DB="$TMPD/audit.db"
cat >"$TMPD/parties.csv" <<'CSV'
CustomerID,Company,Ctry,Addr
C-1,Vantorix Intrusion Technologies,CY,"9 Port Street, Limassol"
C-2,Acme Widgets GmbH,DE,
C-3,,DE,
,No Reference Ltd,DE,
C-5,Bad Country Ltd,XYZ,
CSV
COLS=name=Company,country=Ctry,ref=CustomerID,address=Addr

# the lists in force: the two-entry fixture (forced past the guard, which
# would refuse to drop the bundled lists)
expect_exit lists_first 0 "$ACEGATE" lists update "$FX/remember-el.csv" --force --db "$DB"
expect_exit import 0 "$ACEGATE" parties import "$TMPD/parties.csv" --columns "$COLS" --db "$DB"
jqok import_counts '.imported == 2 and .updated == 0' "$TMPD/out"
jqok import_errors '[.errors[] | [.line, .error.field]] == [[4,"name"],[5,"ref"],[6,"country"]]' "$TMPD/out"
expect_exit import_again 0 "$ACEGATE" parties import "$TMPD/parties.csv" --columns "$COLS" --db "$DB"
jqok import_again_updates '.imported == 0 and .updated == 2' "$TMPD/out"
expect_exit import_bad_columns 2 "$ACEGATE" parties import "$TMPD/parties.csv" --columns name=Firma --db "$DB"
expect_grep import_bad_columns_msg "no column 'Firma'" "$TMPD/err"
expect_exit list 0 "$ACEGATE" parties list --db "$DB"
jqok list_items '[.items[].ref] == ["C-1","C-2"] and .items[0].address == "9 Port Street, Limassol"
  and .items[0].source == "import" and .items[0].open_items == 0' "$TMPD/out"
# a check with a ref adds its party
expect_exit check_ref 0 "$ACEGATE" check --eccn 5A001.j --to FR --end-user "Boulangerie Martin" \
  --ref C-9 --db "$DB" --json
expect_exit show_check_party 0 "$ACEGATE" parties show C-9 --db "$DB"
jqok show_check_party_fields '.party.source == "check" and .party.country == "FR"
  and (.history | length) == 1 and .history[0].kind == "check"' "$TMPD/out"
expect_exit show_unknown 2 "$ACEGATE" parties show C-404 --db "$DB"
# a batch adds the parties of its lines made with a ref, as a single check
# does (the pipeline notes them, whatever the front end); a line without a
# ref adds nothing: the registry is keyed by ref
cat >"$TMPD/batch.jsonl" <<'JSONL'
{"item":{"eccn":"5A001.j"},"destination":"FR","end_user":{"name":"Fromagerie Dupont"},"ref":"J-1"}
{"item":{"eccn":"5A001.j"},"destination":"DE","end_user":{"name":"Ohneref Maschinenbau GmbH"}}
{"item":{"eccn":"5A001.j"},"destination":"JP","end_user":{"name":"Sakura Denki KK","country":"JP"},"ref":"J-3"}
JSONL
cat >"$TMPD/batch.csv" <<'CSV'
Order,ECCN,To,Customer,Ctry
K-1,5A001.j,FR,Brasserie Lefevre,FR
,5A001.j,FR,Sans Reference SARL,FR
CSV
"$ACEGATE" check --batch --db "$DB" <"$TMPD/batch.jsonl" 2>"$TMPD/err" | jq -s . >"$TMPD/out"
jqok batch_jsonl_answered 'length == 3 and all(.audit_id != null)' "$TMPD/out"
"$ACEGATE" check --batch --format csv --columns ref=Order,item.eccn=ECCN,destination=To,end_user.name=Customer,end_user.country=Ctry \
  --db "$DB" <"$TMPD/batch.csv" >"$TMPD/out" 2>"$TMPD/err"
if [ "$(wc -l <"$TMPD/out")" -eq 3 ] && ! grep -q . "$TMPD/err"; then ok batch_csv_answered; else
  notok batch_csv_answered "$(cat "$TMPD/out" "$TMPD/err")"; fi
expect_exit batch_list 0 "$ACEGATE" parties list --db "$DB"
jqok batch_parties '[.items[] | select(.source == "check") | [.ref, .name, .country]] ==
  [["C-9","Boulangerie Martin","FR"],["J-1","Fromagerie Dupont","FR"],["J-3","Sakura Denki KK","JP"],
   ["K-1","Brasserie Lefevre","FR"]]' "$TMPD/out"
jqok batch_no_ref_no_party '[.items[].name] | index("Ohneref Maschinenbau GmbH") == null
  and index("Sans Reference SARL") == null' "$TMPD/out"
expect_exit batch_show 0 "$ACEGATE" parties show K-1 --db "$DB"
jqok batch_show_history '.party.source == "check" and (.history | length) == 1
  and .history[0].kind == "check"' "$TMPD/out"

# ---- a list update that adds an entry matching C-1 (744.11: a new
# Entity List entry binds from its publication) makes one queue item ----
expect_exit update_adds 0 "$ACEGATE" lists update "$FX/remember-el-added.csv" --db "$DB"
expect_grep update_adds_counts 'parties re-screened: 6 against 1 entries added or changed: 1 new' "$TMPD/out"
UPD=$(sed -n 's/^audit id: //p' "$TMPD/out")
"$ACEGATE" review queue --db "$DB" >"$TMPD/q"
jqok queue_item "[.items[] | select(.ref == \"C-1\")] | length == 1 and .[0].cause.kind == \"list_change\"
  and .[0].cause.audit_id == \"$UPD\" and (.[0].cause.entries | length) == 1
  and .[0].parties == [\"Vantorix Intrusion Technologies\"]" "$TMPD/q"
jqok queue_only_c1 '[.items[].ref] == ["C-1"]' "$TMPD/q"
ITEM=$(jq -r '.items[0].audit_id' "$TMPD/q")
expect_exit item_in_chain 0 "$ACEGATE" audit get "$ITEM" --db "$DB"
jqok item_recorded '.cause.kind == "list_change" and .ref == "C-1" and .outcome == "CONFIDENT_MATCH"' "$TMPD/out"
# the registry's address is evidence in the re-screening, as in a screening
# given it, and it is in the recorded request (the reviewer sees it)
expect_exit item_request 0 "$ACEGATE" audit get "$ITEM" --request --db "$DB"
jqok item_request_address '.name == "Vantorix Intrusion Technologies" and .country == "CY"
  and .address == "9 Port Street, Limassol"' "$TMPD/out"
expect_exit chain_intact 0 "$ACEGATE" audit verify --db "$DB"
expect_exit show_open 0 "$ACEGATE" parties show C-1 --db "$DB"
jqok show_open_item ".party.open_items == 1 and [.open[].audit_id] == [\"$ITEM\"]
  and .party.last_screened != null" "$TMPD/out"
# the same hit again (a full re-screening) is no new item
expect_exit rescreen_all 0 "$ACEGATE" parties rescreen --all --db "$DB"
jqok rescreen_all_none '.parties == 6 and .items == 0' "$TMPD/out"

# ---- the service: /v1/parties, and a reload that adds an entry ----
DB2="$TMPD/srv.db"
cp "$FX/remember-el.csv" "$TMPD/lists.csv"
"$ACEGATE" check --eccn 4D004 --to MT --no-screen --db "$DB2" >/dev/null
ADM=$("$ACEGATE" keys add --role admin --name adm --db "$DB2" 2>/dev/null | tail -n 1)
"$ACEGATE" serve --listen 127.0.0.1:0 --db "$DB2" --lists "$TMPD/lists.csv" 2>"$TMPD/srv.log" &
SRV_PID=$!
PORT=""
i=0
while [ "$i" -lt 300 ] && [ -z "$PORT" ] && kill -0 "$SRV_PID" 2>/dev/null; do
  PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$TMPD/srv.log" 2>/dev/null)
  [ -z "$PORT" ] && sleep 0.1
  i=$((i + 1))
done
B="http://127.0.0.1:$PORT"
get() { curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $1" "$B$2"; }
is() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "HTTP $2, wanted $3: $(head -c 200 "$TMPD/body")"; fi; }
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $ADM" -H 'Content-Type: text/csv' \
  --data-binary @"$TMPD/parties.csv" "$B/v1/parties:import?columns=name%3DCompany%2Ccountry%3DCtry%2Cref%3DCustomerID%2Caddress%3DAddr")
is http_import "$code" 200
jqok http_import_counts '.imported == 2 and (.errors | length) == 3' "$TMPD/body"
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
  --data-binary '{}' "$B/v1/parties:import")
is http_import_not_csv "$code" 415
is http_parties "$(get "$ADM" '/v1/parties?q=acme')" 200
jqok http_parties_q '[.items[].ref] == ["C-2"] and .next_cursor == null' "$TMPD/body"
cp "$FX/remember-el-added.csv" "$TMPD/lists.csv"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' "$B/v1/admin/reload"
is http_party "$(get "$ADM" /v1/parties/C-1)" 200
jqok http_party_open '.party.open_items == 1 and .open[0].cause.kind == "list_change" and .open[0].ref == "C-1"' "$TMPD/body"
is http_party_unknown "$(get "$ADM" /v1/parties/C-404)" 404
# an HTTP batch adds the parties of its items made with a ref, none without
code=$(curl -s -o "$TMPD/body" -w '%{http_code}' -H "Authorization: Bearer $ADM" -H 'Content-Type: application/json' \
  --data-binary '{"transactions":[
    {"item":{"eccn":"5A001.j"},"destination":"FR","end_user":{"name":"Patisserie Moreau"},"ref":"H-1"},
    {"item":{"eccn":"5A001.j"},"destination":"FR","end_user":{"name":"Sans Ref Traiteur"}},
    {"item":{"eccn":"5A001.j"},"destination":"JP","end_user":{"name":"Fuji Keisoku KK","country":"JP"},"ref":"H-3"}]}' \
  "$B/v1/checks:batch")
is http_batch "$code" 200
is http_batch_party "$(get "$ADM" /v1/parties/H-3)" 200
jqok http_batch_party_fields '.party.name == "Fuji Keisoku KK" and .party.country == "JP"
  and .party.source == "check" and (.history | length) == 1' "$TMPD/body"
is http_batch_parties "$(get "$ADM" '/v1/parties?limit=100')" 200
jqok http_batch_only_refs '[.items[] | select(.source == "check") | .ref] == ["H-1","H-3"]
  and ([.items[].name] | index("Sans Ref Traiteur") == null)' "$TMPD/body"
kill "$SRV_PID"
wait "$SRV_PID" 2>/dev/null
SRV_PID=""
