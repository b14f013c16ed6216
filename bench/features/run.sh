#!/usr/bin/env bash
# Latent features for classification on MNIST: `aekit features` on trained runs, beside
# scikit-learn's LogisticRegression(C=1) on standardized raw pixels and PCA-d features.
#
#   AEKIT_FEATURE_RUNS="runs/dense32 runs/vae32" bash bench/features/run.sh
#
# The runs are trained beforehand (BENCHMARKS.md gives the commands); this script neither
# trains nor builds. Environment:
#   AEKIT_DATA          data root holding mnist/*.gz   (default: ../shared/data)
#   AEKIT_FEATURE_RUNS  run folders, space-separated   (required)
#   AEKIT_BENCH_VENV    Python venv with scikit-learn  (default: $HOME/.cache/aekit-bench/torch-venv)
#   AEKIT_BENCH_THREADS thread count for both tools     (default: 2)
#   AEKIT_BIN           aekit binary                    (default: target/release/aekit)
set -euo pipefail

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../common/lib.sh"
here="$REPO_ROOT/bench/features"

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_BENCH_VENV:-$HOME/.cache/aekit-bench/torch-venv}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"
RUNS="${AEKIT_FEATURE_RUNS:?set AEKIT_FEATURE_RUNS to the run folders to evaluate}"

require_aekit_bin "$AEKIT_BIN"
require_mnist "$AEKIT_DATA" train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz
pin_threads "$THREADS"
bench_tmpdir aekit-features-bench

dim=""
for run in $RUNS; do
    echo "== aekit features --run $run" >&2
    "$AEKIT_BIN" features --run "$run" --data mnist --data-dir "$AEKIT_DATA" --out "$BENCH_TMP/$(basename "$run")"
    d="$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["latent_dim"])' "$BENCH_TMP/$(basename "$run")/report.json")"
    [[ -z "$dim" || "$dim" == "$d" ]] || { echo "error: runs have different latent sizes ($dim, $d)" >&2; exit 1; }
    dim="$d"
done

echo "== scikit-learn, raw pixels and PCA-$dim (max_iter 100 = default, and 5000)" >&2
"$VENV/bin/python" "$here/sklearn_features.py" --data-dir "$AEKIT_DATA" --dim "$dim"

machine_info dirty
echo "machine: nproc=$MACHINE_NPROC, $MACHINE_CPU; date $RUN_DATE; aekit $GIT_REV; threads $THREADS"
