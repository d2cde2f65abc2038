#!/usr/bin/python3
"""acegate beside the fuzzy matching a user would otherwise write, on the same variant set and the
same listed names (docs/screening.md, "Quality: the variant sets").

The baseline is thefuzz (Debian python3-thefuzz, with python3-levenshtein) over every name and
alias of the list files: process.extract(query, names, scorer=S, limit=5) with S = WRatio,
token_set_ratio and token_sort_ratio, scores divided by 100. An answer finds the listed entry when
one of its five names belongs to that entry; its score is that name's. A decoy's score is the best
of its answer. acegate's per-row results come from build/bench/screen_variants (ITEMS).

For each decoy rate r from 0 to 10 %, each matcher gets the lowest threshold at which at most r of
the decoys score at or above it, and its recall is the share of listed variants found in its top 5
at or above that threshold: recall at the same decoy rate.

thefuzz takes about 0.3 to 1.6 s per query over 80,000 names, so it runs on every EVERY-th row
(default 8) on two processes; acegate's figures are given on the same rows and on the whole set.

Usage: /usr/bin/python3 bench/screen_compare.py SET.tsv LISTS_DIR ITEMS [EVERY]
"""
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "screen"))
import make_variants  # noqa: E402  (the same list readers as the set)

from thefuzz import fuzz, process  # noqa: E402

SCORERS = [("token_sort_ratio", fuzz.token_sort_ratio), ("token_set_ratio", fuzz.token_set_ratio),
           ("WRatio", fuzz.WRatio)]

CHOICES = {}
OWNER = {}

def load_names(d):
    sets, extra = make_variants.load_all(d)
    for es in list(sets.values()) + [extra]:
        for e in es:
            for n in [e["name"]] + e["aliases"]:
                k = len(CHOICES)
                CHOICES[k] = n
                OWNER[k] = (e["code"], e["id"])

def read_set(path):
    rows = []
    for line in open(path, encoding="utf-8"):
        if line.startswith("#") or not line.strip():
            continue
        f = line.rstrip("\n").split("\t")
        f = [x.replace("\\\\", "\\") for x in f]
        rows.append({"decoy": f[0] == "decoy", "variant": f[1], "query": f[2],
                     "key": (f[4], f[5])})
    return rows

def run_one(args):
    i, query, key, decoy, scorer_name = args
    scorer = dict(SCORERS)[scorer_name]
    t = time.process_time()  # CPU time: the machine may be shared
    res = process.extract(query, CHOICES, scorer=scorer, limit=5)
    dt = time.process_time() - t
    top = res[0][1] / 100 if res else 0.0
    rank, score = 0, 0.0
    if not decoy:
        for r, (_, sc, k) in enumerate(res, 1):
            if OWNER[k] == key:
                rank, score = r, sc / 100
                break
    return i, rank, score, top, dt

def curve(results, rates):
    """results: list of (decoy, rank, score, top). Recall at each decoy rate."""
    decoy_tops = sorted((t for d, _, _, t in results if d), reverse=True)
    hits = [(r, s) for d, r, s, _ in results if not d]
    nd = len(decoy_tops)
    out = []
    for rate in rates:
        allowed = int(rate * nd + 1e-9)
        # the lowest threshold with at most `allowed` decoys at or above it
        if allowed >= nd:
            th = 0.0
        else:
            th = decoy_tops[allowed] + 1e-6
        rec = sum(1 for r, s in hits if r > 0 and s >= th) / len(hits)
        out.append((rec, th))
    return out

def at_threshold(results, th):
    hits = [(r, s) for d, r, s, _ in results if not d]
    dec = [t for d, _, _, t in results if d]
    return (sum(1 for r, s in hits if r > 0 and s >= th) / len(hits),
            sum(1 for t in dec if t >= th) / len(dec))

def main():
    if len(sys.argv) < 4:
        sys.exit("usage: screen_compare.py SET.tsv LISTS_DIR ITEMS [EVERY]")
    set_path, lists, items = sys.argv[1:4]
    every = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    rows = read_set(set_path)
    ace = {}
    ace_qps = 0.0
    for line in open(items):
        if line.startswith("#"):
            continue
        f = line.rstrip("\n").split("\t")
        ace[int(f[0])] = (f[1] == "decoy", int(f[3]), float(f[4]), float(f[5]))
        ace_qps = float(f[6])
    if len(ace) != len(rows):
        sys.exit(f"screen_compare: {items} has {len(ace)} rows, {set_path} {len(rows)}")
    load_names(lists)
    sub = [i for i in range(len(rows)) if i % every == 0]
    nh = sum(1 for i in sub if not rows[i]["decoy"])
    print(f"== beside thefuzz 0.19 process.extract(limit=5) over {len(CHOICES)} names and aliases")
    print(f"{set_path}: thefuzz on every {every}th row: {nh} listed variants, "
          f"{len(sub) - nh} decoys (acegate also on all {len(rows)} rows)")
    systems = [("acegate (all rows)", [ace[i] for i in range(len(rows))], ace_qps),
               ("acegate (same rows)", [ace[i] for i in sub], ace_qps)]
    with multiprocessing.Pool(2) as pool:
        for name, _ in SCORERS:
            t = time.perf_counter()
            got = pool.map(run_one, [(i, rows[i]["query"], rows[i]["key"], rows[i]["decoy"], name)
                                     for i in sub], chunksize=4)
            got.sort()
            cpu = sum(g[4] for g in got)
            res = [(rows[i]["decoy"], r, s, top) for i, r, s, top, _ in got]
            systems.append((f"thefuzz {name}", res, len(got) / cpu))  # per CPU second
            print(f"  thefuzz {name}: {len(got)} queries in {time.perf_counter() - t:.0f} s "
                  f"on 2 processes", flush=True)
    rates = [k / 100 for k in range(0, 11)]
    print("\nrecall@5 at the same decoy rate (the share of decoys at or above the threshold):")
    print("decoy rate | " + " | ".join(f"{n:>22}" for n, _, _ in systems))
    curves = [curve(res, rates) for _, res, _ in systems]
    for k, rate in enumerate(rates):
        print(f"   {rate:4.0%}    | " +
              " | ".join(f"{c[k][0]:8.3f} (at {c[k][1]:4.2f})" for c in curves))
    ts = [c for (n, _, _), c in zip(systems, curves) if n == "thefuzz token_sort_ratio"][0]
    same = curves[1]
    worse = [f"{rates[k]:.0%}" for k in range(len(rates)) if same[k][0] <= ts[k][0]]
    print("acegate better than token_sort_ratio at every decoy rate 0-10 % (same rows): " +
          ("yes" if not worse else "NO, not at " + ", ".join(worse)))
    print("\nat acegate's levels ('possible' >= 0.75, 'confident' >= 0.90), and with no threshold:")
    for n, res, qps in systems:
        rp, dp = at_threshold(res, 0.75)
        rc, dc = at_threshold(res, 0.90)
        r0, _ = at_threshold(res, 0.0)
        r1 = sum(1 for d, r, _, _ in res if not d and r == 1) / sum(1 for d, *_ in res if not d)
        print(f"  {n:24} recall@1 {r1:.3f}  recall@5 {r0:.3f}; at 0.75 recall {rp:.3f}, decoys "
              f"{dp:.3f}; at 0.90 recall {rc:.3f}, decoys {dc:.3f}; {qps:,.1f} queries/s")

if __name__ == "__main__":
    main()
