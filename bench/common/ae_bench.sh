#!/usr/bin/env bash
# Training-speed benchmark of one aekit autoencoder on CPU vs PyTorch: the body of
# bench/conv_ae/run.sh and bench/dense_ae/run.sh (see those for what is measured and the
# environment variables).
#
#   bash bench/common/ae_bench.sh conv|dense
#
# MODEL's PyTorch side is bench/MODEL_ae/torch_MODEL_ae.py; the report is ae_report.py's.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

MODEL="${1:-}"
case "$MODEL" in
    conv) default_train_samples=20000 ;;
    dense) default_train_samples=60000 ;;
    *) echo "usage: bash bench/common/ae_bench.sh conv|dense" >&2; exit 2 ;;
esac
torch_script="$REPO_ROOT/bench/${MODEL}_ae/torch_${MODEL}_ae.py"

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_TORCH_VENV:-$HOME/.cache/aekit-bench/torch-venv}"
EPOCHS="${AEKIT_BENCH_EPOCHS:-3}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
TRAIN_SAMPLES="${AEKIT_BENCH_TRAIN_SAMPLES:-$default_train_samples}"
ROUNDS="${AEKIT_BENCH_ROUNDS:-1}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"
BATCH=128
LR=0.001

require_aekit_bin "$AEKIT_BIN"
require_mnist "$AEKIT_DATA" train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz

# Pin threads for everything started from here on.
pin_threads "$THREADS"

# One venv and one requirements file for both models.
ensure_venv "$VENV" "$REPO_ROOT/bench/conv_ae/requirements.txt" "PyTorch from PyPI, several GB"
PY="$VENV/bin/python"
REPORT="$BENCH_COMMON/ae_report.py"

bench_tmpdir "aekit-$MODEL-bench"
tmp="$BENCH_TMP"
results="$tmp/results.jsonl"
: > "$results"
cp "$AEKIT_BIN" "$tmp/aekit"
aekit_sha="$(sha256sum "$tmp/aekit" | cut -c1-12)"
aekit_version="$("$tmp/aekit" --version 2>/dev/null || echo unknown)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

run_aekit() {
    local round="$1" out="$tmp/aekit_${MODEL}_$1"
    echo "round $round: aekit train --model $MODEL ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$tmp/aekit" train --model "$MODEL" --data mnist --data-dir "$AEKIT_DATA" \
            --train-samples "$TRAIN_SAMPLES" --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" \
            --seed 0 --out "$out" --quiet > "$tmp/aekit.log" 2>&1; then
        echo "error: aekit train --model $MODEL failed (round $round):" >&2
        cat "$tmp/aekit.log" >&2
        exit 1
    fi
    measure_end aekit "$round" "$results"
    for f in metrics.csv report.json; do
        if [[ ! -f "$out/$f" ]]; then
            echo "error: $out/$f was not written by aekit train" >&2
            exit 1
        fi
    done
    "$PY" "$REPORT" aekit "$MODEL" "$out" "$round" >> "$results"
}

run_torch() {
    local round="$1"
    echo "round $round: PyTorch ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$PY" "$torch_script" --data-dir "$AEKIT_DATA" --epochs "$EPOCHS" --threads "$THREADS" \
            --train-samples "$TRAIN_SAMPLES" --batch-size "$BATCH" --lr "$LR" --seed 0 > "$tmp/torch.jsonl"; then
        echo "error: $(basename "$torch_script") failed (round $round)" >&2
        exit 1
    fi
    measure_end pytorch "$round" "$results"
    "$PY" "$REPORT" tag "$round" < "$tmp/torch.jsonl" | tee -a "$results" >&2
}

for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 == 1 )); then run_aekit "$round"; run_torch "$round"
    else run_torch "$round"; run_aekit "$round"; fi
done

# --- report ---
machine_info dirty
burn_version="$(grep -A1 '^name = "burn"$' Cargo.lock 2>/dev/null | sed -n 's/^version = "\(.*\)"/\1/p' || true)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$REPORT" report "$MODEL" "$results" "$MACHINE_NPROC" "$MACHINE_CPU" "$RUN_DATE" "$GIT_REV" "$THREADS" \
    "$EPOCHS" "$TRAIN_SAMPLES" "$ROUNDS" "$aekit_version" "$aekit_sha" "${burn_version:-unknown}" \
    "$load_before" "$load_after"
