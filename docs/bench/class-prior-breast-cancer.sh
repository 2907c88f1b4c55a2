#!/bin/bash
set -e
# Base rates on breast_cancer.csv: train on a stratified half as is (37% malignant), test on the
# other half subsampled to 5% malignant; evaluate and decide with no class prior, the screening
# file and the EM estimate. Output: docs/bench/class-prior-breast-cancer.txt.
# Run from anywhere after `cargo build --release -p credence-cli`.
R="$(cd "$(dirname "$0")/../.." && pwd)"
C="${CREDENCE:-$R/target/release/credence}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT" && cd "$OUT"
$C split --data $R/data/classification/breast_cancer.csv --stratify label --test-fraction 0.5 --test-share 0=0.05 --seed 0 --train bc_train.csv --test bc_rare.csv
$C fit --data bc_train.csv --target label --likelihood categorical --method laplace --out bc_laplace --quiet
echo "=== none"; $C evaluate --model bc_laplace --data bc_rare.csv | sed -n 1,6p
echo "=== file"; $C evaluate --model bc_laplace --data bc_rare.csv --class-prior $R/data/class_priors/breast_cancer_screening.toml | sed -n 1,6p
echo "=== estimate"; $C evaluate --model bc_laplace --data bc_rare.csv --class-prior estimate | sed -n 1,6p
echo "=== decide none"; $C decide --model bc_laplace --decision $R/data/decisions/breast_cancer_biopsy.toml --data bc_rare.csv --out d0.csv
echo "=== decide file"; $C decide --model bc_laplace --decision $R/data/decisions/breast_cancer_biopsy.toml --data bc_rare.csv --out d1.csv --class-prior $R/data/class_priors/breast_cancer_screening.toml
echo "=== decide estimate"; $C decide --model bc_laplace --decision $R/data/decisions/breast_cancer_biopsy.toml --data bc_rare.csv --out d2.csv --class-prior estimate
# realised cost per decision file: biopsy 1, discharge of a malignant 20
for d in d0 d1 d2; do
  paste -d, <(tail -n +2 bc_rare.csv | awk -F, '{print $NF}') <(tail -n +2 $d.csv | cut -d, -f2) | awk -F, -v n=$d '{if($2=="biopsy"){c+=1;b++} else if($1==0){c+=20;m++}} END{printf "%s: biopsies %d, missed malignant %d, realised cost %d (mean %.4f)\n", n, b, m, c, c/NR}'
done
