#!/usr/bin/env bash
# One-class MNIST benchmark (Ruff et al. 2018, Deep SVDD protocol): for each digit, train on the
# training images of that digit only, score the 10,000 test images, AUROC with that digit as
# normal. Figures and the published One-Class Deep SVDD column are in BENCHMARKS.md.
#
#   bash bench/one_class/run.sh            # all digits, in chunks of at most 4 (~2-3 min each on 2 cores)
#
# Environment:
#   AEKIT_DATA   data root holding mnist/*.gz (default: ../shared/data, relative to the repo root)
#   AEKIT_BIN    aekit binary (default: target/release/aekit; this script never builds)
#   OUT          result folder (default: runs/one-class)
# Each chunk adds its digits to OUT; OUT/report.json always covers every digit finished there.
set -euo pipefail
cd "$(dirname "$0")/../.."
export AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
BIN="${AEKIT_BIN:-target/release/aekit}"
OUT="${OUT:-runs/one-class}"
for digits in 0,1,2,3 4,5,6 7,8,9; do
  "$BIN" bench one-class --data mnist --model conv --latent 16 --epochs 20 --seed 0 --digits "$digits" --out "$OUT"
done
