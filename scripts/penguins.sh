#!/usr/bin/env bash
# The README's Palmer penguins example: a seeded stratified split of data/penguins/penguins.csv,
# species classified from the other columns and body mass regressed on island, sex and the
# measurements, every method at its defaults with --missing impute. Prints one line per fit.
# Usage: scripts/penguins.sh [CREDENCE_BINARY] (default: target/release/credence)
set -euo pipefail
cd "$(dirname "$0")/.."
C=${1:-target/release/credence}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
"$C" split --data data/penguins/penguins.csv --stratify species --seed 0 \
  --train "$W/train.csv" --test "$W/test.csv"
for m in mle map laplace ensemble; do
  "$C" fit --data "$W/train.csv" --target species --missing impute --method "$m" --seed 0 \
    --out "$W/species-$m" --quiet
  "$C" evaluate --model "$W/species-$m" --data "$W/test.csv" --json | tail -n 1 |
    python3 -c "import json,sys; v=json.load(sys.stdin)['metrics']; print(f'species  $m: accuracy {v[\"accuracy\"]:.4f}  NLL {v[\"nll\"]:.4f}  ECE {v[\"ece\"]:.4f}')"
done
for m in mle map laplace ensemble; do
  "$C" fit --data "$W/train.csv" --target body_mass_g \
    --features island,sex,bill_length_mm,bill_depth_mm,flipper_length_mm \
    --missing impute --method "$m" --seed 0 --out "$W/mass-$m" --quiet
  "$C" evaluate --model "$W/mass-$m" --data "$W/test.csv" --json | tail -n 1 |
    python3 -c "import json,sys; v=json.load(sys.stdin)['metrics']; print(f'body_mass_g  $m: RMSE {v[\"rmse\"]:.1f} g  LL {v[\"log_lik\"]:.3f}')"
done
