#!/usr/bin/env bash
# VAE training-speed benchmark on CPU: aekit's `vae-mnist` preset vs the PyTorch VAE example
# (github.com/pytorch/examples, vae/main.py), same model, data, optimizer and thread count.
#
#   bash bench/vae/run.sh
#
# Model (the example's; aekit's `--model vae-mnist`): fc1 784->400 ReLU, fc21/fc22 400->20
# (mu, logvar), z = mu + eps*exp(0.5*logvar), fc3 20->400 ReLU, fc4 400->784 sigmoid;
# loss = binary cross-entropy summed over pixels + KL = -ELBO (nats), Adam lr 1e-3 eps 1e-8,
# batch 128, reshuffled every epoch, seed 1; all 60000 MNIST training images (/255), the
# 10000 test images for the test loss.
# Timed: each epoch's training steps only (shuffle, batches, forward, backward, Adam step),
# not data loading and not the per-epoch evaluation.
# Reported: the median and each epoch's train seconds, the last epoch's train loss (-ELBO per
# sample, as trained), the test loss per sample with z sampled (the example's "Test set loss")
# and with z = mu, and the ratio of the median epoch times aekit / PyTorch.
# aekit's numbers come from metrics.csv (train_seconds, train_loss, val_loss) and report.json
# (test_loss, test_loss_mean_z, test_reconstruction, test_kl) of its run folder; PyTorch's
# from bench/vae/torch_vae.py (the example, with the same random stream; see its docstring).
#
# Environment:
#   AEKIT_DATA            data root holding mnist/*.gz  (default: ../shared/data, relative to the repo root)
#   AEKIT_TORCH_VENV      Python venv with PyTorch      (default: $HOME/.cache/aekit-bench/torch-venv)
#   AEKIT_BENCH_EPOCHS    epochs per training run        (default: 10, as the example)
#   AEKIT_BENCH_THREADS   thread count for both tools    (default: 2)
#   AEKIT_BENCH_ROUNDS    rounds; odd rounds run aekit first, even rounds PyTorch first (default: 1)
#   AEKIT_BENCH_TOOLS     which tools to run             (default: "aekit pytorch"; e.g. "pytorch")
#   AEKIT_BIN             aekit binary                   (default: target/release/aekit)
#
# Needs a release build (cargo build --release) unless AEKIT_BENCH_TOOLS leaves aekit out; this
# script never builds. The binary is copied to a temporary folder first, so a rebuild during
# the run does not change it. The venv is the one of bench/conv_ae and bench/dense_ae, set up
# from bench/conv_ae/requirements.txt and reinstalled only when that file changes.
set -euo pipefail
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../common/lib.sh"
here="$REPO_ROOT/bench/vae"

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_TORCH_VENV:-$HOME/.cache/aekit-bench/torch-venv}"
EPOCHS="${AEKIT_BENCH_EPOCHS:-10}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
ROUNDS="${AEKIT_BENCH_ROUNDS:-1}"
TOOLS="${AEKIT_BENCH_TOOLS:-aekit pytorch}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"
SEED=1

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

# The PyTorch venv of the conv/dense autoencoder benchmarks (one requirements file for all).
ensure_venv "$VENV" "$REPO_ROOT/bench/conv_ae/requirements.txt" "PyTorch from PyPI, several GB"
PY="$VENV/bin/python"
REPORT="$here/vae_report.py"

bench_tmpdir aekit-vae-bench
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
    local round="$1" out="$tmp/aekit_vae_$1"
    echo "round $round: aekit train --model vae-mnist ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$tmp/aekit" train --model vae-mnist --data mnist --data-dir "$AEKIT_DATA" --epochs "$EPOCHS" \
            --seed "$SEED" --out "$out" --quiet > "$tmp/aekit.log" 2>&1; then
        echo "error: aekit train --model vae-mnist failed (round $round):" >&2
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
    "$PY" "$REPORT" aekit "$out" "$round" | tee -a "$results" >&2
}

run_torch() {
    local round="$1"
    echo "round $round: PyTorch VAE example ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$PY" "$here/torch_vae.py" --data-dir "$AEKIT_DATA" --epochs "$EPOCHS" --threads "$THREADS" \
            --seed "$SEED" > "$tmp/torch.jsonl"; then
        echo "error: torch_vae.py failed (round $round)" >&2
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

# --- the matrix-multiply ceiling, measured now, with the same thread count ---
# An epoch's GFLOP/s is set against it: the distance to the limit. aekit's is Burn Flex's
# matmul (crates/aekit/examples/gemm_peak.rs, built by `cargo build --release --examples`);
# PyTorch's is torch.mm. Both: median of 9 products of 1024 x 1024 f32 matrices.
GEMM_BIN="${AEKIT_GEMM_BIN:-target/release/examples/gemm_peak}"
if want aekit; then
    if [[ -x "$GEMM_BIN" ]]; then
        "$GEMM_BIN" 1024 9 | tee -a "$results" >&2
    else
        echo "note: $GEMM_BIN missing (cargo build --release --examples); no aekit gemm peak" >&2
    fi
fi
if want pytorch; then
    "$PY" - "$THREADS" <<'PYEOF' | tee -a "$results" >&2
import json, statistics, sys, time, torch
torch.set_num_threads(int(sys.argv[1]))
a, b = torch.rand(1024, 1024) * 2 - 1, torch.rand(1024, 1024) * 2 - 1
ts = []
for i in range(11):
    t = time.perf_counter(); a @ b; ts.append(time.perf_counter() - t)
m = statistics.median(ts[2:])
print(json.dumps({"tool": "pytorch", "kind": "gemm", "n": 1024, "median_s": m, "gflops": 2 * 1024**3 / m / 1e9}))
PYEOF
fi

# --- report ---
machine_info dirty
burn_version="$(grep -A1 '^name = "burn"$' Cargo.lock 2>/dev/null | sed -n 's/^version = "\(.*\)"/\1/p' || true)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" "$REPORT" report "$results" "$MACHINE_NPROC" "$MACHINE_CPU" "$RUN_DATE" "$GIT_REV" "$THREADS" \
    "$EPOCHS" "$ROUNDS" "$aekit_version" "$aekit_sha" "${burn_version:-unknown}" \
    "$load_before" "$load_after"
