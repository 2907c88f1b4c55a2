#!/usr/bin/env python3
"""Merges per-split outputs of scripts/uci_queue.sh: mean ± standard error per method and dataset,
and the sum of task wall times (the time on 2 cores when each task was pinned to two cores)."""
import collections, glob, json, os, statistics, sys

out = sys.argv[1]
times = collections.defaultdict(float)
for line in open(os.path.join(out, "times.txt")):
    method, dataset, split, rc, ms = line.split()
    if rc != "0":
        print(f"task {method} {dataset} {split} failed (rc {rc}); see {method}-{dataset}-{split}.err")
    times[(method, dataset)] += int(ms) / 1000
rows = collections.defaultdict(list)
for f in glob.glob(os.path.join(out, "*.json")):
    r = json.load(open(f))
    for s in r.get("per_split", []):
        rows[(r["method"], r["dataset"])].append(s)
print("| method | dataset | splits | test RMSE | test LL | time on 2 cores |")
print("|---|---|---:|---:|---:|---:|")
total = 0.0
for (method, dataset), ss in sorted(rows.items()):
    n = len(ss)
    def ms(key):
        v = [s[key] for s in ss]
        return statistics.mean(v), (statistics.stdev(v) / n**0.5 if n > 1 else float("nan"))
    (rm, rse), (lm, lse) = ms("rmse"), ms("ll")
    t = times.get((method, dataset), 0.0)
    total += t
    print(f"| {method} | {dataset} | {n} | {rm:.3f} ± {rse:.3f} | {lm:.3f} ± {lse:.3f} | {t/60:.1f} min |")
print(f"\ntotal: {total/60:.1f} min")
