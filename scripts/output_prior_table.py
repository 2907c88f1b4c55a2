#!/usr/bin/env python3
"""The small-data table of the output prior (README): two `credence curve --json` runs on the
same subsets (one with the default prior, one with examples/output-prior/boston.toml), test LL
± standard error per method and size, and the paired difference output prior − default prior
(and − MLE), from the per-run results.

    python3 scripts/output_prior_table.py docs/bench/output-prior/default.json docs/bench/output-prior/output.json
"""

import json
import math
import sys


def load(path):
    text = open(path).read().strip().splitlines()[-1]
    return json.loads(text)


def mean_se(v):
    m = sum(v) / len(v)
    if len(v) < 2:
        return m, float("nan")
    s = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
    return m, s / math.sqrt(len(v))


def main() -> None:
    default, output = load(sys.argv[1]), load(sys.argv[2])
    key = lambda r: (r["method"], r["size"], r["repeat"])
    d = {key(r): r for r in default["runs"]}
    o = {key(r): r for r in output["runs"]}
    methods = [m for m in dict.fromkeys(r["method"] for r in default["runs"]) if m != "mle"]
    sizes = sorted({r["size"] for r in default["runs"]})
    print("| method | rows | MLE | default prior | output prior | output − default (paired) | output − MLE (paired) |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for m in methods:
        for s in sizes:
            reps = sorted(k[2] for k in d if k[0] == m and k[1] == s and (m, s, k[2]) in o and ("mle", s, k[2]) in d)
            if not reps:
                continue
            mle = [d[("mle", s, r)]["ll"] for r in reps]
            dd = [d[(m, s, r)]["ll"] for r in reps]
            oo = [o[(m, s, r)]["ll"] for r in reps]
            fmt = lambda v: "{:.3f} ± {:.3f}".format(*mean_se(v))
            diff = [a - b for a, b in zip(oo, dd)]
            dm = [a - b for a, b in zip(oo, mle)]
            md, sd = mean_se(diff)
            mm, sm = mean_se(dm)
            print(f"| {m} | {s} | {fmt(mle)} | {fmt(dd)} | {fmt(oo)} | {md:+.3f} ± {sd:.3f} ({md / sd:+.1f} se) | {mm:+.3f} ± {sm:.3f} |")


if __name__ == "__main__":
    main()
