#!/usr/bin/env bash
# A/B of two aekit builds: the same commands (embedded MNIST, fixed seeds, small runs covering
# every model, objective and application) with each binary, then every output compared:
# JSON and CSV values exactly except timings, weights exactly, PNG files byte for byte.
#
#   bash bench/ab/run.sh OLD_BINARY NEW_BINARY [WORKDIR]
#
# Used to show that a refactor changes no number (BENCHMARKS.md, "Redesign A/B").
set -euo pipefail
old=$(realpath "$1"); new=$(realpath "$2")
work=${3:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
export AEKIT_FUSED=1
run_all() {
    local bin=$1 out=$2
    rm -rf "$out"; mkdir -p "$out"; cd "$out"
    local d=(--data mnist-embedded --train-samples 1000 --test-samples 200 --quiet)
    "$bin" train --model linear --latent 16 --epochs 5 --lr 0.005 --out linear "${d[@]}"
    "$bin" train --model dense --epochs 2 --out dense "${d[@]}"
    "$bin" train --model sparse --latent 16 --epochs 1 --out sparse "${d[@]}"
    "$bin" train --model conv --latent 16 --epochs 1 --out conv "${d[@]}"
    "$bin" train --model vae-mnist --epochs 2 --out vae-mnist "${d[@]}"
    "$bin" train --model vae --latent 2 --hidden 64 --likelihood gaussian --epochs 1 --out vae-gauss "${d[@]}"
    "$bin" train --model conv-vae --epochs 1 --out conv-vae "${d[@]}"
    "$bin" train --model dae --task denoise --noise gaussian:0.5 --epochs 1 --out dae "${d[@]}"
    "$bin" train --model srcnn --channels 16,8 --task superres --scale 2 --epochs 1 --out srcnn "${d[@]}"
    "$bin" train --model subpixel --task superres --scale 2 --epochs 1 --out subpixel "${d[@]}"
    "$bin" train --model dense --epochs 1 --val-fraction 0.2 --out resumed "${d[@]}"
    "$bin" train --resume resumed --epochs 2 --quiet
    "$bin" reconstruct --run dense --data mnist-embedded --test-samples 200 --out reconstruct --quiet
    "$bin" encode --run dense --data mnist-embedded --test-samples 50 --out codes.csv --quiet
    "$bin" decode --run dense --latents codes.csv --out decoded --quiet
    "$bin" eval --run vae-mnist --data mnist-embedded --test-samples 100 --nll --importance-samples 50 --out eval-vae.json --quiet > /dev/null
    "$bin" eval --run dae --data mnist-embedded --test-samples 100 --out eval-dae --quiet > /dev/null
    "$bin" sample --run vae-mnist --n 16 --out samples --quiet
    "$bin" features --run conv --data mnist-embedded --test-samples 500 --out features --quiet > /dev/null
    "$bin" anomaly fit --model dense --latent 8 --hidden 64 --epochs 2 --normal-labels 1 --out anomaly "${d[@]}"
    "$bin" anomaly score --run anomaly --data mnist-embedded --test-samples 200 --alpha 0.05 --out anomaly-scores/scores.csv --quiet
    "$bin" demo --out demo --quiet > /dev/null
}
( run_all "$old" "$work/old" )
( run_all "$new" "$work/new" )
python3 "$here/compare_runs.py" "$work/old" "$work/new"
