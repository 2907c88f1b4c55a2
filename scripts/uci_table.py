#!/usr/bin/env python3
"""Prints the README's UCI tables from the per-split JSON outputs under docs/bench/ (written by
`credence bench uci ... --per-split --json`) beside the published results.

usage: python3 scripts/uci_table.py [--published ../shared/data/uci/published_results.csv]
"""
import argparse, csv, glob, json, os, statistics

ap = argparse.ArgumentParser()
ap.add_argument("--published", default="../shared/data/uci/published_results.csv")
ap.add_argument("--bench", default="docs/bench")
a = ap.parse_args()

DATASETS = ["bostonHousing", "concrete", "energy", "yacht", "wine-quality-red", "protein-tertiary-structure"]
# (label, file prefix or folder) in table order
OURS = [
    ("NUTS", "nuts-20split/nuts-{d}-*.json"),
    ("deep ensemble (het.)", "ensemble-het-{d}.json"),
    ("deep ensemble (hom.)", "ensemble-halfnormal-noise-{d}.json"),
    ("anchored ensemble", "anchored-ensemble-{d}.json"),
    ("MC dropout", "mc-dropout-{d}.json"),
    ("VI (mean-field)", "vi-{d}.json"),
]
PUBLISHED = [("PBP", "PBP"), ("MC dropout grid", "MCDropout_readme2018_gridsearch_new"),
             ("Deep Ensembles", "DeepEnsembles")]


def ours(pattern, d):
    splits = []
    for f in sorted(glob.glob(os.path.join(a.bench, pattern.format(d=d)))):
        if os.path.getsize(f) == 0:
            continue
        splits += json.load(open(f)).get("per_split", [])
    if not splits:
        return None
    n = len(splits)
    out = {"n": n}
    for k in ("rmse", "ll"):
        v = [s[k] for s in splits]
        out[k] = (statistics.mean(v), statistics.stdev(v) / n**0.5 if n > 1 else float("nan"))
    return out


pub = {}
if os.path.exists(a.published):
    for r in csv.DictReader(open(a.published)):
        pub[(r["method"], r["dataset"])] = r

for metric, label in (("ll", "test log-likelihood (higher is better)"), ("rmse", "test RMSE (lower is better)")):
    print(f"\n{label}; mean ± standard error over splits (20; protein 5)\n")
    heads = [h for h, _ in OURS] + [h + " (published)" for h, _ in PUBLISHED]
    print("| dataset | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for d in DATASETS:
        cells = []
        for _, p in OURS:
            r = ours(p, d)
            cells.append("–" if r is None else f"{r[metric][0]:.3f} ± {r[metric][1]:.3f}" + ("" if r["n"] in (20,) or d.startswith("protein") else f" ({r['n']})"))
        for _, m in PUBLISHED:
            r = pub.get((m, d))
            key = "ll" if metric == "ll" else "rmse"
            cells.append("–" if r is None else f"{float(r[key + '_mean']):.2f} ± {float(r[key + '_se']):.2f}")
        print(f"| {d} | " + " | ".join(cells) + " |")
