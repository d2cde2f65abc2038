#!/usr/bin/env python3
"""rescreen_data.py LIST OUT PARTIES EVERY: a list change and a party
registry for the re-screening tests. OUT/changed.csv is LIST with one
entry in 20 given another address; OUT/parties.csv has PARTIES parties
(ref P-000000...), one in EVERY named like one of those changed entries,
the others made-up company names."""
import csv
import random
import sys

src, out, n, every = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
random.seed(20261207)
with open(src, newline='', encoding='utf-8') as f:
    rows = list(csv.reader(f))
head, body = rows[0], rows[1:]
name, addr = head.index('name'), head.index('addresses')
changed = [list(r) for r in body]
picked = random.sample(range(len(changed)), len(changed) // 20)
for i in picked:
    changed[i][addr] = (changed[i][addr] + '; Suite 100').lstrip('; ')
with open(out + '/changed.csv', 'w', newline='', encoding='utf-8') as f:
    w = csv.writer(f)
    w.writerow(head)
    w.writerows(changed)
words = ['Alpine', 'Blue', 'Cedar', 'Delta', 'Echo', 'Falcon', 'Granite', 'Harbor']
kinds = ['Trading', 'Systems', 'Logistics', 'Software', 'Networks']
with open(out + '/parties.csv', 'w', newline='', encoding='utf-8') as f:
    w = csv.writer(f)
    w.writerow(['ref', 'name'])
    for i in range(n):
        if i % every == 0:
            nm = body[random.choice(picked)][name]
        else:
            nm = '%s %s %s %d' % (random.choice(words), random.choice(words),
                                  random.choice(kinds), i)
        w.writerow(['P-%06d' % i, nm])
