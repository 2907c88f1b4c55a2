#!/bin/bash
# Shares the 20-split UCI benchmark across core pairs: each split is one task pinned to two cores
# (taskset), W workers pull tasks from a queue. The sum of the tasks' wall times is the benchmark's
# time on 2 cores. This is how docs/bench/nuts-20split was produced (8 workers on a 16-core machine).
#
# usage: scripts/uci_queue.sh OUTDIR [WORKERS]
#   env: BIN (default target/release/credence), UCI (default ../shared/data/uci),
#        NUTS_ARGS (e.g. "--chains 2 --warmup 300 --draws 300 --max-depth 8"),
#        DATASETS (default the five small sets), SPLITS (default 20), ENSEMBLE=1 (also ensembles)
# then: python3 scripts/uci_merge.py OUTDIR
set -u
OUT=$1; W=${2:-1}
BIN=${BIN:-target/release/credence}; UCI=${UCI:-../shared/data/uci}
mkdir -p "$OUT"
: > "$OUT/tasks"
DS=${DATASETS:-wine-quality-red concrete energy bostonHousing yacht}
for d in $DS; do for k in $(seq 0 $(( ${SPLITS:-20} - 1 ))); do echo "nuts $d $k" >> "$OUT/tasks"; done; done
if [ "${ENSEMBLE:-0}" = 1 ]; then
  for k in $(seq 0 $(( ${SPLITS:-20} - 1 ))); do for d in $DS; do echo "ensemble $d $k" >> "$OUT/tasks"; done; done
fi
worker() {
  local i=$1 cores="$((2*$1)),$((2*$1+1))"
  while true; do
    local t
    t=$(flock "$OUT/tasks.lock" bash -c 'l=$(head -n1 "'"$OUT"'/tasks"); [ -n "$l" ] && sed -i 1d "'"$OUT"'/tasks"; echo "$l"')
    [ -z "$t" ] && break
    set -- $t
    local args
    if [ "$1" = nuts ]; then args="--method nuts --config docs/configs/uci-halfnormal-noise.toml ${NUTS_ARGS:-}";
    else args="--method ensemble --config docs/configs/uci-ensemble-het.toml"; fi
    local s0=$(date +%s%N)
    taskset -c "$cores" "$BIN" bench uci "$UCI/$2" $args --split-ids "$3" --per-split --json -q \
      > "$OUT/$1-$2-$3.json" 2> "$OUT/$1-$2-$3.err"
    local rc=$? s1=$(date +%s%N)
    echo "$1 $2 $3 $rc $(( (s1 - s0) / 1000000 ))" >> "$OUT/times.txt"
  done
}
for i in $(seq 0 $((W-1))); do worker "$i" & done
wait
