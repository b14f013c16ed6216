#!/usr/bin/env bash
# Training speed of the stride-1 convolution models (issue 18): aekit at its defaults, aekit
# with a baseline setting (AEKIT_BENCH_BASELINE, default AEKIT_WINOGRAD=0: direct im2col
# convolution; AEKIT_CHANNELS_LAST=0 compares the NCHW handoff between Winograd layers) from the
# same binary, and PyTorch, side by side, rounds alternating which runs first, one thread count
# for all.
#
#   bash bench/conv_speed/run.sh srcnn          # MNIST x2 super-resolution, SRCNN 9-5-5
#   bash bench/conv_speed/run.sh dncnn CROPS    # photo denoiser on 64x64 PNG crops
#                                               # (CROPS = bench/photos/make_data.py's OUT/train)
#
# Environment: AEKIT_DATA (MNIST root, default ../shared/data), AEKIT_BIN (default
# target/release/aekit), AEKIT_TORCH_VENV (a venv with torch; default
# ~/.cache/aekit-bench/torch-venv), AEKIT_BENCH_ROUNDS (3), AEKIT_BENCH_EPOCHS (2),
# AEKIT_BENCH_THREADS (2), AEKIT_BENCH_TRAIN_SAMPLES (srcnn images, 3000), AEKIT_BENCH_BASELINE
# (NAME=VALUE, the baseline's one environment setting; default AEKIT_WINOGRAD=0).
# Prints every epoch's training seconds and, at the end, the median per tool and the ratios.
set -euo pipefail
KIND="${1:-}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
AEKIT_DATA="${AEKIT_DATA:-../shared/data}"; export AEKIT_DATA
BIN_SRC="${AEKIT_BIN:-target/release/aekit}"
VENV="${AEKIT_TORCH_VENV:-$HOME/.cache/aekit-bench/torch-venv}"
ROUNDS="${AEKIT_BENCH_ROUNDS:-3}"
EPOCHS="${AEKIT_BENCH_EPOCHS:-2}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
N="${AEKIT_BENCH_TRAIN_SAMPLES:-3000}"
BASELINE="${AEKIT_BENCH_BASELINE:-AEKIT_WINOGRAD=0}"
[[ "$BASELINE" =~ ^AEKIT_[A-Z_]+=[^[:space:]]*$ ]] || { echo "error: AEKIT_BENCH_BASELINE must be NAME=VALUE with an AEKIT_ name, got '$BASELINE'" >&2; exit 2; }
case "$KIND" in
    srcnn) aekit_args=(--task superres --scale 2 --model srcnn --data mnist --train-samples "$N")
           torch_args=(srcnn "$AEKIT_DATA" "$N") ;;
    dncnn) CROPS="${2:?usage: run.sh dncnn CROPS_DIR}"
           crops=$(ls "$CROPS" | wc -l)
           # aekit holds 20% of the crops out, draws 2 patches per training crop and epoch (named:
           # the default epoch of a small folder is larger), and takes batches of 16: the same
           # steps for PyTorch.
           steps=$(( 2 * (crops - crops / 5) / 16 ))
           aekit_args=(--task denoise --noise gaussian:0.098 --patch-size 48 --patches-per-image 2 --data "$CROPS")
           torch_args=(dncnn "$CROPS" "$steps") ;;
    *) echo "usage: bash bench/conv_speed/run.sh srcnn | dncnn CROPS_DIR" >&2; exit 2 ;;
esac
[[ -x "$BIN_SRC" ]] || { echo "error: no aekit binary at $BIN_SRC (cargo build --release)" >&2; exit 2; }
[[ -x "$VENV/bin/python" ]] || { echo "error: no Python venv with torch at $VENV (AEKIT_TORCH_VENV)" >&2; exit 2; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cp "$BIN_SRC" "$work/aekit"
log="$work/epochs.jsonl"

run_aekit() { # tool-name [NAME=VALUE]
    local out="$work/run-$1-$r"
    env ${2:+"$2"} RAYON_NUM_THREADS="$THREADS" "$work/aekit" train "${aekit_args[@]}" \
        --epochs "$EPOCHS" --seed 0 --out "$out" --quiet > /dev/null
    tail -n +2 "$out/metrics.csv" | while IFS=, read -r epoch loss _ _ secs _; do
        echo "{\"tool\": \"$1\", \"round\": $r, \"epoch\": $epoch, \"train_seconds\": $secs, \"train_loss\": $loss}"
    done | tee -a "$log"
}
run_torch() {
    AEKIT_BENCH_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" "$VENV/bin/python" "$HERE/torch_restore.py" "${torch_args[@]}" "$EPOCHS" \
        | sed "s/^{/{\"tool\": \"pytorch\", \"round\": $r, /" | tee -a "$log"
}
echo "$KIND: $(nproc) CPUs, $THREADS threads, $ROUNDS rounds x $EPOCHS epochs; baseline $BASELINE; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
for r in $(seq 1 "$ROUNDS"); do
    if (( r % 2 )); then order="aekit base pytorch"; else order="pytorch base aekit"; fi
    for t in $order; do
        case "$t" in
            aekit) run_aekit aekit ;;
            base) run_aekit aekit-base "$BASELINE" ;;
            pytorch) run_torch ;;
        esac
    done
done
python3 - "$log" "$BASELINE" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for tool in ["aekit", "aekit-base", "pytorch"]:
    s = [r["train_seconds"] for r in rows if r["tool"] == tool]
    last = [r["train_loss"] for r in rows if r["tool"] == tool and r["epoch"] == max(x["epoch"] for x in rows)]
    med[tool] = statistics.median(s)
    print(f"{tool:13s} median {med[tool]:.2f} s/epoch over {len(s)} epochs; last-epoch train loss {statistics.median(last):.5f}")
print(f"ratio aekit/pytorch {med['aekit'] / med['pytorch']:.2f}; aekit-base ({sys.argv[2]})/pytorch {med['aekit-base'] / med['pytorch']:.2f}; speed-up over the baseline {med['aekit-base'] / med['aekit']:.2f}x")
for r in sorted({x["round"] for x in rows}):
    per = {t: statistics.median([x["train_seconds"] for x in rows if x["tool"] == t and x["round"] == r]) for t in med}
    print(f"round {r}: aekit/pytorch {per['aekit'] / per['pytorch']:.2f}, aekit-base/pytorch {per['aekit-base'] / per['pytorch']:.2f}")
PY
