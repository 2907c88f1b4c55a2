#!/usr/bin/env python3
"""Prints the README's UCI tables at the defaults from the per-split JSON outputs (written by
`credence bench uci DIR --method M --per-split --json` with no config: scripts/uci_defaults.sh)
beside the published results. A column marked † comes from an earlier run with a config that
holds exactly the settings that are now the defaults (docs/DEFAULTS.md), where no run at the
defaults is on file.

usage: python3 scripts/uci_table.py [--published ../shared/data/uci/published_results.csv]
                                    [--defaults docs/bench/defaults]
"""
import argparse, csv, glob, json, os, statistics

ap = argparse.ArgumentParser()
ap.add_argument("--published", default="../shared/data/uci/published_results.csv")
ap.add_argument("--bench", default="docs/bench")
ap.add_argument("--defaults", default="docs/bench/defaults")
a = ap.parse_args()

DATASETS = ["bostonHousing", "concrete", "energy", "yacht", "wine-quality-red", "protein-tertiary-structure"]
# (label, files at the defaults, earlier files with the same settings) in table order
OURS = [
    ("MAP", "map-{d}.json", None),
    ("Laplace", "laplace-{d}.json", "laplace-online-het-{d}.json"),
    ("deep ensemble", "ensemble-{d}.json", "ensemble-het-{d}.json"),
    ("anchored ensemble", "anchored-ensemble-{d}.json", "anchored-ensemble-{d}.json"),
    ("MC dropout", "mc-dropout-{d}.json", "mc-dropout-{d}.json"),
    ("VI (mean-field)", "vi-{d}.json", "vi-{d}.json"),
    ("NUTS", "nuts-{d}.json", "nuts-20split/nuts-{d}-*.json"),
    ("SWAG", "swag-{d}.json", None),
    ("MultiSWAG", "multiswag-{d}.json", None),
]
PUBLISHED = [("PBP", "PBP"), ("MC dropout grid", "MCDropout_readme2018_gridsearch_new"),
             ("Deep Ensembles", "DeepEnsembles")]


def load(folder, pattern, d):
    splits = []
    for f in sorted(glob.glob(os.path.join(folder, pattern.format(d=d)))):
        if os.path.getsize(f) == 0:
            continue
        splits += json.load(open(f)).get("per_split", [])
    return splits


def ours(at_defaults, earlier, d):
    splits, mark = load(a.defaults, at_defaults, d), ""
    full = 5 if d.startswith("protein") else 20
    if len(splits) < full and earlier:
        old = load(a.bench, earlier, d)
        if len(old) > len(splits):
            splits, mark = old, "†"
    if not splits:
        return None
    n = len(splits)
    out = {"n": n, "mark": mark}
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
    heads = [h for h, _, _ in OURS] + [h + " (published)" for h, _ in PUBLISHED]
    print("| dataset | " + " | ".join(heads) + " |")
    print("|---|" + "---:|" * len(heads))
    for d in DATASETS:
        cells = []
        full = 5 if d.startswith("protein") else 20
        for _, p, e in OURS:
            r = ours(p, e, d)
            cells.append("–" if r is None else f"{r[metric][0]:.3f} ± {r[metric][1]:.3f}{r['mark']}" + ("" if r["n"] == full else f" ({r['n']} splits)"))
        for _, m in PUBLISHED:
            r = pub.get((m, d))
            key = "ll" if metric == "ll" else "rmse"
            cells.append("–" if r is None else f"{float(r[key + '_mean']):.2f} ± {float(r[key + '_se']):.2f}")
        print(f"| {d} | " + " | ".join(cells) + " |")
