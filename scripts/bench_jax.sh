#!/usr/bin/env bash
# Runs the JAX peer of the gradient benchmark and `credence bench grad`, one after the other on
# the same machine, so the ratios compare like with like.
#
#   scripts/bench_jax.sh [PEER_DIR] [VENV]
#
# PEER_DIR: folder with bench_jax.py and common.py (default ../shared/peers/grad_bench).
# VENV: virtual environment for JAX, created (pip install jax) if missing (default ../jaxenv,
# outside the repository).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peer="${1:-$root/../shared/peers/grad_bench}"
venv="${2:-$root/../jaxenv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet jax
fi
cargo build --release --manifest-path "$root/Cargo.toml" -p credence-cli
echo "== JAX (jax $("$venv/bin/python" -c 'import jax; print(jax.__version__)'))"
(cd "$peer" && "$venv/bin/python" bench_jax.py f64 && "$venv/bin/python" bench_jax.py f32) | grep RESULT
echo "== Credence"
(cd "$root" && ./target/release/credence bench grad)
(cd "$root" && ./target/release/credence bench grad --json | tail -n 1)
echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load: $(cut -d' ' -f1-3 /proc/loadavg)"
