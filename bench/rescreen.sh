#!/bin/sh
# bench/rescreen.sh - re-screening the party registry after a list update:
# 100,000 parties (a tenth of them named like listed entries, the rest
# made-up company names) against the bundled Consolidated Screening List;
# an update that changes 1 % of its entries (their addresses) is timed
# beside the baseline of a full re-screening (acegate parties rescreen
# --all) in the same run. Prints parties per second and the ratio.
#   bench/rescreen.sh [BUILD] [PARTIES] [DB]
# DB: the log (and so the registry) to use, a fresh SQLite file by default;
# a postgresql:// URI of an empty database puts both in PostgreSQL.
set -eu
BUILD=${1:-build}
N=${2:-100000}
A="$BUILD/acegate"
LIST=data/lists/csl-2026-07-31.csv
[ -x "$A" ] || { echo "rescreen.sh: build $A first (make)"; exit 1; }
[ -f "$LIST" ] || { echo "rescreen.sh: skipped: no $LIST"; exit 0; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export ACEGATE_HOME="$T/home" ACEGATE_CONFIG=/dev/null
python3 - "$LIST" "$T" "$N" <<'PY'
import csv, random, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
random.seed(20261207)
rows = list(csv.reader(open(src, newline='', encoding='utf-8')))
head, body = rows[0], rows[1:]
name = head.index('name'); addr = head.index('addresses')
# the update: 1 % of the entries get another address
changed = [list(r) for r in body]
for i in random.sample(range(len(changed)), len(changed) // 100):
    changed[i][addr] = (changed[i][addr] + '; Suite 100').lstrip('; ')
w = csv.writer(open(out + '/changed.csv', 'w', newline='', encoding='utf-8'))
w.writerow(head); w.writerows(changed)
words = ['Alpine', 'Blue', 'Cedar', 'Delta', 'Echo', 'Falcon', 'Granite', 'Harbor', 'Iris',
         'Juniper', 'Kestrel', 'Lumen', 'Maple', 'Nordic', 'Orchid', 'Pioneer', 'Quartz',
         'Summit', 'Tundra', 'Vertex']
kinds = ['Trading', 'Systems', 'Logistics', 'Software', 'Networks', 'Industries', 'Labs']
with open(out + '/parties.csv', 'w', newline='', encoding='utf-8') as f:
    p = csv.writer(f)
    p.writerow(['ref', 'name', 'country'])
    for i in range(n):
        if i % 10 == 0:
            nm = random.choice(body)[name]
        else:
            nm = '%s %s %s %d' % (random.choice(words), random.choice(words), random.choice(kinds), i)
        p.writerow(['P-%06d' % i, nm, random.choice(['DE', 'FR', 'US', 'CN', 'AE', 'IN', ''])])
PY
DB=${3:-$T/audit.db}
"$A" lists update "$LIST" --force --db "$DB" >/dev/null 2>&1
"$A" parties import "$T/parties.csv" --db "$DB" >/dev/null
# baseline: every party against every entry
"$A" parties rescreen --all --db "$DB" >"$T/full.json"
# the update that changes 1 % of the entries
"$A" lists update "$T/changed.csv" --db "$DB" >"$T/update.txt" 2>&1
python3 - "$T/full.json" "$T/update.txt" <<'PY'
import json, re, sys
full = json.load(open(sys.argv[1]))
upd = open(sys.argv[2]).read()
m = re.search(r'parties re-screened: (\d+) against (\d+) entries added or changed: (\d+) new queue items \(([\d.]+) s\)', upd)
if not m:
    sys.exit('rescreen.sh: no re-screening in the update output:\n' + upd[-800:])
parties, entries, items, secs = int(m[1]), int(m[2]), int(m[3]), float(m[4])
print('full re-screening (baseline): %d parties against every entry in %.2f s: %.0f parties/s, %d queue items'
      % (full['parties'], full['seconds'], full['parties'] / full['seconds'], full['items']))
print('after an update changing %d entries (1 %%): %d parties in %.2f s: %.0f parties/s, %d new queue items'
      % (entries, parties, secs, parties / secs, items))
print('ratio update/full: %.2f' % (secs / full['seconds']))
PY
