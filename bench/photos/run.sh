#!/usr/bin/env bash
# Restoration on real photos (issue 13): aekit's denoising (Gaussian sigma 25/255) and x2 / x4
# super-resolution beside classical rivals (NL-means, wavelet shrinkage, BM3D, bicubic) and
# PyTorch's DnCNN / VDSR-style nets, on colour photos bundled in the scikit-image and scikit-learn
# wheels (make_data.py; origins and licences in PHOTOS.md). Everyone is scored by metrics.py on
# the same 8-bit PNGs: PSNR on RGB, PSNR on the BT.601 luma (SR, border of `scale` shaved), SSIM.
#
#   bash bench/photos/run.sh [WORK_DIR]      (default: a new temporary folder, kept)
#
# aekit also trains the blind denoiser (`--noise gaussian:0.0-0.2`, shipped as
# photo-denoise-blind), scored at sigma 15, 25 and 50 by blind.py.
#
# WORK_DIR/data is made once (reused when its manifest.json is there); WORK_DIR/results.jsonl
# gets one JSON line per method and task (and {"kind": "load"} contention lines); the table is
# printed at the end (report.py). Environment:
#   PHOTO_TOOLS    which sides run, default "classic torch aekit"
#   PHOTO_EPOCHS   aekit's --epochs, default 10
#   PHOTO_SECONDS  each PyTorch rival's training budget in seconds; default: the wall time of
#                  aekit's training for the same task when aekit runs (same budget), else 600
#   PHOTO_DEPTH, PHOTO_WIDTH   the PyTorch nets' size, default 8 and 48
#   PHOTO_THREADS  threads of every tool, default 2;   PHOTO_SEED  data and training seed, default 0
#   AEKIT_BIN      default target/release/aekit;   AEKIT_BENCH_PHOTO_VENV  the venv
# Needs a release build (cargo build --release) for the aekit side; the venv (PyTorch from PyPI,
# several GB) is made outside the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../common/lib.sh"

TOOLS="${PHOTO_TOOLS:-classic torch aekit}"
EPOCHS="${PHOTO_EPOCHS:-10}"
THREADS="${PHOTO_THREADS:-2}"
SEED="${PHOTO_SEED:-0}"
DEPTH="${PHOTO_DEPTH:-8}"
WIDTH="${PHOTO_WIDTH:-48}"
AEKIT_BIN="${AEKIT_BIN:-$REPO_ROOT/target/release/aekit}"
VENV="${AEKIT_BENCH_PHOTO_VENV:-$HOME/.cache/aekit-bench/photo-venv}"
want() { [[ " $TOOLS " == *" $1 "* ]]; }
for t in $TOOLS; do
    case "$t" in classic|torch|aekit) ;; *) echo "error: PHOTO_TOOLS: unknown '$t' (classic, torch, aekit)" >&2; exit 2 ;; esac
done

want aekit && require_aekit_bin "$AEKIT_BIN"
pin_threads "$THREADS"
ensure_venv "$VENV" "$here/requirements.txt" "PyTorch from PyPI, several GB"
py="$VENV/bin/python"
bench_tmpdir aekit-photos-bench   # scratch of measure_begin/measure_end

work="${1:-$(mktemp -d "${TMPDIR:-/tmp}/aekit-photos.XXXXXX")}"
mkdir -p "$work"
data="$work/data"
results="$work/results.jsonl"
: > "$results"
if [[ ! -f "$data/manifest.json" ]]; then
    rm -rf "$data"
    "$py" "$here/make_data.py" "$data" --seed "$SEED" > /dev/null
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# ---- aekit ----------------------------------------------------------------------------------
# aekit_task denoise|x2|x4: train on DATA/train, restore the test pictures, score them with
# metrics.py (a JSON line in $results). Sets AEKIT_TRAIN_S to the training's wall seconds.
aekit_task() {
    local task="$1" run="$work/runs/aekit-$1" out="$work/out/aekit-$1" s name input cmd t0 t1 t2
    local -a train_args scale_arg=()
    case "$task" in
        denoise)
            name=denoise-sigma25 input=noisy25 cmd=denoise
            train_args=(--task denoise --noise gaussian:0.098 --patch-size 48) ;;
        blind)
            name=denoise-blind-sigma25 input=noisy25 cmd=denoise
            train_args=(--task denoise --noise gaussian:0.0-0.2 --patch-size 48) ;;
        x2|x4)
            s="${task#x}" name="superres-$task" input="lowres_$task" cmd=upscale
            train_args=(--task superres --scale "$s" --patch-size 64)
            scale_arg=(--scale "$s") ;;
    esac
    rm -rf "$run" "$out"
    mkdir -p "$work/runs" "$work/out"
    measure_begin
    t0=$(now)
    "$AEKIT_BIN" train "${train_args[@]}" --data "$data/train" --epochs "$EPOCHS" --seed "$SEED" \
        --out "$run" --quiet
    t1=$(now)
    measure_end "aekit-train-$task" 0 "$results"
    "$AEKIT_BIN" "$cmd" --run "$run" --input "$data/test/$input" --out "$out"
    t2=$(now)
    AEKIT_TRAIN_S=$(elapsed "$t0" "$t1")
    "$py" "$here/metrics.py" "$out" "$data/test/clean" "${scale_arg[@]}" --method aekit --task "$name" \
        --train-seconds "$AEKIT_TRAIN_S" --seconds "$(elapsed "$t1" "$t2")" >> "$results"
    # The same run restoring with the self-ensemble (the mean over the 8 flips/rotations).
    rm -rf "$out-se"
    t1=$(now)
    "$AEKIT_BIN" "$cmd" --run "$run" --input "$data/test/$input" --out "$out-se" --self-ensemble
    t2=$(now)
    "$py" "$here/metrics.py" "$out-se" "$data/test/clean" "${scale_arg[@]}" --method aekit-self-ensemble \
        --task "$name" --train-seconds "$AEKIT_TRAIN_S" --seconds "$(elapsed "$t1" "$t2")" >> "$results"
}
# ---------------------------------------------------------------------------------------------

# torch_task denoise|x2|x4 SECONDS: the PyTorch rival with that training budget.
torch_task() {
    local task="$1" secs="$2" out="$work/out/torch-$1"
    local -a task_args
    case "$task" in
        denoise) task_args=(--task denoise) ;;
        x2|x4) task_args=(--task superres --scale "${task#x}") ;;
    esac
    rm -rf "$out"
    measure_begin
    "$py" "$here/torch_rivals.py" "$data" "$out" "${task_args[@]}" --seconds "$secs" --threads "$THREADS" \
        --depth "$DEPTH" --width "$WIDTH" --seed "$SEED" >> "$results"
    measure_end "torch-train-$task" 0 "$results"
}

if want classic; then
    "$py" "$here/rivals.py" "$data" "$results" --save "$work/out/classic"
fi
for task in denoise x2 x4; do
    AEKIT_TRAIN_S=""
    if want aekit; then
        aekit_task "$task"
    fi
    if want torch; then
        budget="${PHOTO_SECONDS:-${AEKIT_TRAIN_S:-600}}"
        torch_task "$task" "$budget"
    fi
done

# The blind denoiser (sigma drawn in [0, 0.2] per crop): trained here, then scored at sigma
# 15, 25 and 50 beside the sigma-25 model, NL-means and BM3D (blind.py; its own noisy copies).
if want aekit; then
    aekit_task blind
    "$py" "$here/blind.py" "$data" "$work/blind" "$results" --aekit "$AEKIT_BIN" --blind-run "$work/runs/aekit-blind"
fi

machine_info dirty
echo "Photo restoration (bench/photos), $RUN_DATE, $MACHINE_CPU, $MACHINE_NPROC CPUs, $THREADS threads each, commit $GIT_REV"
if want aekit; then echo "aekit: $("$AEKIT_BIN" --version 2>/dev/null || echo unknown), $EPOCHS epochs"; fi
echo
"$py" "$here/report.py" "$results"
echo
echo "(data, outputs and results in $work)"
