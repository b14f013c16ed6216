#!/usr/bin/env bash
# Training-speed benchmark of one aekit autoencoder on CPU vs PyTorch: the body of
# bench/conv_ae/run.sh, bench/dense_ae/run.sh and bench/vae/run.sh (see those for what is
# measured and the environment variables).
#
#   bash bench/common/ae_bench.sh conv|dense|vae
#
# MODEL's PyTorch side is bench/MODEL_ae/torch_MODEL_ae.py (vae: bench/vae/torch_vae.py, the
# PyTorch VAE example); the report is ae_report.py's. Rounds alternate which tool runs first.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

MODEL="${1:-}"
BATCH=128
LR=0.001
case "$MODEL" in
    conv|dense)
        aekit_model="$MODEL"
        torch_script="$REPO_ROOT/bench/${MODEL}_ae/torch_${MODEL}_ae.py"
        torch_name=PyTorch
        default_epochs=3 seed=0 gemm=0
        if [[ "$MODEL" == conv ]]; then default_train_samples=20000; else default_train_samples=60000; fi
        TRAIN_SAMPLES="${AEKIT_BENCH_TRAIN_SAMPLES:-$default_train_samples}"
        # The same data size and optimizer settings for both tools.
        size_args=(--train-samples "$TRAIN_SAMPLES" --batch-size "$BATCH" --lr "$LR")
        ;;
    vae)
        # aekit's `vae-mnist` preset and the PyTorch example both default to batch 128,
        # Adam lr 1e-3 and all 60000 training images: neither gets size arguments.
        aekit_model=vae-mnist
        torch_script="$REPO_ROOT/bench/vae/torch_vae.py"
        torch_name="PyTorch VAE example"
        default_epochs=10 seed=1 gemm=1
        if [[ -n "${AEKIT_BENCH_TRAIN_SAMPLES:-}" ]]; then
            echo "note: AEKIT_BENCH_TRAIN_SAMPLES is ignored by the VAE benchmark (all 60000 images, as the example)" >&2
        fi
        TRAIN_SAMPLES=60000
        size_args=()
        ;;
    *) echo "usage: bash bench/common/ae_bench.sh conv|dense|vae" >&2; exit 2 ;;
esac

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_TORCH_VENV:-$HOME/.cache/aekit-bench/torch-venv}"
EPOCHS="${AEKIT_BENCH_EPOCHS:-$default_epochs}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
ROUNDS="${AEKIT_BENCH_ROUNDS:-1}"
TOOLS="${AEKIT_BENCH_TOOLS:-aekit pytorch}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"

want() { [[ " $TOOLS " == *" $1 "* ]]; }
for t in $TOOLS; do
    case "$t" in aekit|pytorch) ;; *) echo "error: AEKIT_BENCH_TOOLS: unknown tool '$t' (aekit, pytorch)" >&2; exit 2 ;; esac
done
if ! want aekit && ! want pytorch; then
    echo "error: AEKIT_BENCH_TOOLS names no tool (aekit, pytorch)" >&2
    exit 2
fi

want aekit && require_aekit_bin "$AEKIT_BIN"
require_mnist "$AEKIT_DATA" train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz

# Pin threads for everything started from here on.
pin_threads "$THREADS"

# One venv and one requirements file for all the models.
ensure_venv "$VENV" "$REPO_ROOT/bench/conv_ae/requirements.txt" "PyTorch from PyPI, several GB"
PY="$VENV/bin/python"
REPORT="$BENCH_COMMON/ae_report.py"

bench_tmpdir "aekit-$MODEL-bench"
tmp="$BENCH_TMP"
results="$tmp/results.jsonl"
: > "$results"
aekit_sha=none aekit_version="not run"
if want aekit; then
    cp "$AEKIT_BIN" "$tmp/aekit"
    aekit_sha="$(sha256sum "$tmp/aekit" | cut -c1-12)"
    aekit_version="$("$tmp/aekit" --version 2>/dev/null || echo unknown)"
fi
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

run_aekit() {
    local round="$1" out="$tmp/aekit_${MODEL}_$1"
    echo "round $round: aekit train --model $aekit_model ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$tmp/aekit" train --model "$aekit_model" --data mnist --data-dir "$AEKIT_DATA" \
            ${size_args[@]+"${size_args[@]}"} --epochs "$EPOCHS" \
            --seed "$seed" --out "$out" --quiet > "$tmp/aekit.log" 2>&1; then
        echo "error: aekit train --model $aekit_model failed (round $round):" >&2
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
    "$PY" "$REPORT" aekit "$MODEL" "$out" "$round" | tee -a "$results" >&2
}

run_torch() {
    local round="$1"
    echo "round $round: $torch_name ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$PY" "$torch_script" --data-dir "$AEKIT_DATA" --epochs "$EPOCHS" --threads "$THREADS" \
            ${size_args[@]+"${size_args[@]}"} --seed "$seed" > "$tmp/torch.jsonl"; then
        echo "error: $(basename "$torch_script") failed (round $round)" >&2
        exit 1
    fi
    measure_end pytorch "$round" "$results"
    "$PY" "$REPORT" tag "$round" < "$tmp/torch.jsonl" | tee -a "$results" >&2
}

for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 == 1 )); then
        if want aekit; then run_aekit "$round"; fi
        if want pytorch; then run_torch "$round"; fi
    else
        if want pytorch; then run_torch "$round"; fi
        if want aekit; then run_aekit "$round"; fi
    fi
done

# --- the matrix-multiply ceiling (vae), measured now, with the same thread count ---
# An epoch's GFLOP/s is set against it: the distance to the limit. aekit's is Burn Flex's
# matmul (crates/aekit/examples/gemm_peak.rs, built by `cargo build --release --examples`);
# PyTorch's is torch.mm (torch_ae.py gemm-peak). Both: median of 9 products of 1024 x 1024
# f32 matrices.
if (( gemm )); then
    GEMM_BIN="${AEKIT_GEMM_BIN:-target/release/examples/gemm_peak}"
    if want aekit; then
        if [[ -x "$GEMM_BIN" ]]; then
            "$GEMM_BIN" 1024 9 | tee -a "$results" >&2
        else
            echo "note: $GEMM_BIN missing (cargo build --release --examples); no aekit gemm peak" >&2
        fi
    fi
    if want pytorch; then
        "$PY" "$BENCH_COMMON/torch_ae.py" gemm-peak "$THREADS" | tee -a "$results" >&2
    fi
fi

# --- report ---
machine_info dirty
burn_version="$(grep -A1 '^name = "burn"$' Cargo.lock 2>/dev/null | sed -n 's/^version = "\(.*\)"/\1/p' || true)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$REPORT" report "$MODEL" "$results" "$MACHINE_NPROC" "$MACHINE_CPU" "$RUN_DATE" "$GIT_REV" "$THREADS" \
    "$EPOCHS" "$TRAIN_SAMPLES" "$ROUNDS" "$aekit_version" "$aekit_sha" "${burn_version:-unknown}" \
    "$load_before" "$load_after"
