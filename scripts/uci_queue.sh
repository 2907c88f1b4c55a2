#!/bin/bash
# UCI benchmark tasks, one split each, pinned to two cores (taskset), W workers pulling from a queue.
# Sum of the NUTS task wall times = that benchmark's time on 2 cores.
# usage: queue.sh OUTDIR WORKERS   (env: NUTS_ARGS, DATASETS, SPLITS, ENSEMBLE=1)
set -u
OUT=$1; W=${2:-8}
cd "$(dirname "$0")"
mkdir -p "$OUT"
: > "$OUT/tasks"
DS=${DATASETS:-wine-quality-red concrete energy bostonHousing yacht}
for d in $DS; do for k in $(seq 0 $(( ${SPLITS:-20} - 1 ))); do echo "nuts $d $k" >> "$OUT/tasks"; done; done
if [ "${ENSEMBLE:-0}" = 1 ]; then
  for k in $(seq 0 $(( ${SPLITS:-20} - 1 ))); do for d in $DS; do echo "ensemble $d $k" >> "$OUT/tasks"; done; done
fi
if [ "${PROTEIN:-0}" = 1 ]; then
  for k in 0 1 2 3 4; do echo "protein protein-tertiary-structure $k" >> "$OUT/tasks"; done
fi
worker() {
  local i=$1 cores="$((2*$1)),$((2*$1+1))"
  while true; do
    local t
    t=$(flock "$OUT/tasks.lock" bash -c 'l=$(head -n1 "'"$OUT"'/tasks"); [ -n "$l" ] && sed -i 1d "'"$OUT"'/tasks"; echo "$l"')
    [ -z "$t" ] && break
    set -- $t
    local args
    if [ "$1" = nuts ]; then args="--method nuts --config uci-nuts.toml $NUTS_ARGS";
    elif [ "$1" = protein ]; then args="--method ensemble --config uci-ensemble-het-protein.toml";
    else args="--method ensemble --config uci-ensemble-het.toml"; fi
    local s0=$(date +%s%N)
    taskset -c "$cores" ./credence bench uci "uci/$2" $args --split-ids "$3" --per-split --json -q \
      > "$OUT/$1-$2-$3.json" 2> "$OUT/$1-$2-$3.err"
    local rc=$? s1=$(date +%s%N)
    echo "$1 $2 $3 $rc $(( (s1 - s0) / 1000000 ))" >> "$OUT/times.txt"
  done
}
for i in $(seq 0 $((W-1))); do worker "$i" & done
wait
