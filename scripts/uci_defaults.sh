#!/bin/bash
# The README's UCI table at the defaults: `credence bench uci DIR --method M` with no config and
# no flags, per method and dataset, per-split JSON into OUTDIR/<method>-<dataset>.json and the
# wall time into OUTDIR/times.txt. Then: python3 scripts/uci_table.py --defaults OUTDIR
#
# usage: scripts/uci_defaults.sh OUTDIR
#   env: BIN (default target/release/credence), UCI (default ../shared/data/uci),
#        METHODS (default: map laplace ensemble anchored-ensemble mc-dropout),
#        DATASETS (default: the five small sets and protein-tertiary-structure),
#        SPLITS (default: all: 20, protein 5), EXTRA (more flags, e.g. "--split-ids 0,1")
set -eu
OUT=$1
BIN=${BIN:-target/release/credence}; UCI=${UCI:-../shared/data/uci}
mkdir -p "$OUT"
for m in ${METHODS:-map laplace ensemble anchored-ensemble mc-dropout}; do
  for d in ${DATASETS:-bostonHousing concrete energy yacht wine-quality-red protein-tertiary-structure}; do
    s=$(date +%s.%N)
    # shellcheck disable=SC2086
    "$BIN" bench uci "$UCI/$d" --method "$m" ${SPLITS:+--splits $SPLITS} ${EXTRA:-} --json --per-split \
      > "$OUT/$m-$d.json"
    e=$(date +%s.%N)
    printf '%s %s %.1f s (load %s)\n' "$m" "$d" "$(echo "$e - $s" | bc)" "$(cut -d' ' -f1 /proc/loadavg)" \
      | tee -a "$OUT/times.txt"
  done
done
