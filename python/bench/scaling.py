"""Scaling of the 20-split UCI benchmark on Ray: one method, 1, 2 and 4 Ray worker processes
(1 CPU each, a fresh local Ray instance per count), wall time and efficiency against one
worker, and the per-split results checked against the local run (`credence bench uci`'s core,
splits in parallel on this process's thread pool).

    unshare --net sh -c 'ip link set lo up && exec target/pytest-venv/bin/python \
        python/bench/scaling.py --method ensemble --out docs/bench/scaling.json \
        data/bostonHousing ../shared/data/uci/concrete'

Run it in a loopback-only network namespace as above (Ray listens on 127.0.0.1 only there).
"""

import argparse
import json
import os
import time

import ray

import credence
from credence.distributed import RayExecutor


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("--method", default="ensemble")
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = []
    for d in a.dirs:
        name = os.path.basename(os.path.normpath(d))
        t0 = time.monotonic()
        local = json.loads(credence._credence.bench_uci(os.fspath(d), a.method, json.dumps({})))
        local_s = time.monotonic() - t0
        print(f"{name}: local (2 threads) {local_s:.1f} s, LL {local['ll_mean']:.3f}", flush=True)
        base = None
        for w in [int(x) for x in a.workers.split(",")]:
            ray.init(num_cpus=w, include_dashboard=False, log_to_driver=False, object_store_memory=200 * 2**20)
            ex = RayExecutor(progress=False)
            t0 = time.monotonic()
            r = ex.bench_uci(d, a.method)
            s = time.monotonic() - t0
            ray.shutdown()
            base = base or s
            same = [p["ll"] for p in r["per_split"]] == [p["ll"] for p in local["per_split"]]
            rows.append(
                {
                    "dataset": name,
                    "method": a.method,
                    "workers": w,
                    "seconds": s,
                    "speedup": base / s,
                    "efficiency": base / s / w,
                    "local_seconds": local_s,
                    "ll_mean": r["ll_mean"],
                    "same_as_local": same,
                }
            )
            print(f"{name}: {w} worker(s) {s:.1f} s, speed-up {base / s:.2f}, same per-split LL as local: {same}", flush=True)
    with open(a.out, "w") as f:
        json.dump({"cpu_count": os.cpu_count(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
