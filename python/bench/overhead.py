"""Python overhead against the CLI on split 0 of a UCI folder (default: the bundled bostonHousing).

Fits and predicts the same model through `credence fit`/`credence predict` (wall time of the
process: start, read the CSV, fit, save) and through `credence.BayesianRegressor` in this
process (DataFrame in, fit; "+save": fit and write the model folder; predict), for each
method given, `--repeats` times; prints the medians and checks that the Python fit gives the
same predictions as the CLI's.

    python python/bench/overhead.py --cli target/release/credence --methods map,laplace
"""

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import credence

ROOT = Path(__file__).resolve().parents[2]


def split(folder: Path, k: int):
    data = np.loadtxt(folder / "data.txt")
    feats = np.loadtxt(folder / "index_features.txt", dtype=int)
    target = int(np.loadtxt(folder / "index_target.txt"))
    train = np.loadtxt(folder / f"index_train_{k}.txt", dtype=int)
    test = np.loadtxt(folder / f"index_test_{k}.txt", dtype=int)
    cols = [f"x{j}" for j in range(len(feats))]
    X = pd.DataFrame(data[:, feats], columns=cols)
    y = pd.Series(data[:, target], name="y")
    return X.iloc[train].reset_index(drop=True), y.iloc[train].reset_index(drop=True), X.iloc[test].reset_index(drop=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", default=str(ROOT / "target" / "release" / "credence"))
    ap.add_argument("--data", default=str(ROOT / "data" / "bostonHousing"))
    ap.add_argument("--methods", default="map,laplace")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--config", default=None, help="a config file, given to both (e.g. shorter NUTS runs)")
    a = ap.parse_args()
    X, y, Xt = split(Path(a.data), 0)
    tmp = Path(tempfile.mkdtemp())
    X.assign(y=y).to_csv(tmp / "train.csv", index=False)
    Xt.to_csv(tmp / "test.csv", index=False)
    print(f"{Path(a.data).name} split 0: {len(X)} training rows, {len(Xt)} test rows; CLI {a.cli}")
    print(f"{'method':<10} {'CLI fit':>9} {'Py fit':>9} {'ratio':>7} {'+save':>9} {'CLI pred':>9} {'Py pred':>9}  same predictions")
    for method in a.methods.split(","):
        cli_fit, cli_pred, py_fit, py_save, py_pred = [], [], [], [], []
        for r in range(a.repeats):
            out = tmp / f"m_{method}_{r}"
            t = time.perf_counter()
            extra = ["--config", a.config] if a.config else []
            subprocess.run([a.cli, "fit", "--data", str(tmp / "train.csv"), "--target", "y", "--method", method,
                            "--out", str(out), "--quiet", *extra], check=True)
            cli_fit.append(time.perf_counter() - t)
            t = time.perf_counter()
            subprocess.run([a.cli, "predict", "--model", str(out), "--data", str(tmp / "test.csv"),
                            "--out", str(tmp / "p.csv")], check=True)
            cli_pred.append(time.perf_counter() - t)
            t = time.perf_counter()
            est = credence.BayesianRegressor(method=method, config=a.config, verbose=False).fit(X, y)
            py_fit.append(time.perf_counter() - t)
            est.save(tmp / f"py_{method}_{r}")
            py_save.append(time.perf_counter() - t)
            t = time.perf_counter()
            mean = est.predict(Xt)
            py_pred.append(time.perf_counter() - t)
        same = np.allclose(pd.read_csv(tmp / "p.csv")["mean"].to_numpy(), mean, rtol=1e-12, atol=0)
        m = statistics.median
        print(f"{method:<10} {m(cli_fit):>8.3f}s {m(py_fit):>8.3f}s {m(py_fit) / m(cli_fit):>7.3f} {m(py_save):>8.3f}s "
              f"{m(cli_pred):>8.3f}s {m(py_pred):>8.3f}s  {same}")


if __name__ == "__main__":
    main()
