#!/usr/bin/env bash
# Issue 17's second GPU call: why the conv autoencoder and the photo denoiser are slower on wgpu
# than the targets ask (bench/gpu/check.sh measured them first), and whether the convolutions
# as matrix products (AEKIT_GPU_CONV=matmul) are faster. Same carry as check.sh:
#   run(command="bash bench/gpu/probe.sh", carry=[".gl", "gpu-check"], timeout_s=480)
# 1. The denoiser (batch 16) and the conv AE, 3 epochs each, with cubecl's autotune account
#    (which kernel won each key); the same with AEKIT_GPU_CONV=matmul.
# 2. cubecl's per-kernel timing (profiling level "basic", summed per kernel) of one epoch of
#    each, both ways.
# 3. The denoiser at batch 64; PyTorch's DnCNN (aekit's default denoiser's architecture) on CUDA
#    and on all CPU cores.
# (Its run of 2026-12-04, before the matmul path existed, is in BENCHMARKS.md, GPU.)
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"; OUT=$(cd "$OUT" && pwd)
BIN=$PWD/gpu-check/aekit-wgpu
[ -x "$BIN" ] || { gunzip -kf "$BIN.gz" && chmod +x "$BIN"; }
DATA=$PWD/gpu-check/data
source bench/gpu/vulkan.sh
export AEKIT_CACHE="$PWD/gpu-check/cache"
BUDGET=${BUDGET:-430}
step() {  # step NAME LIMIT CMD...: one timed step, its output kept in $OUT/NAME.log
  local name=$1 cap=$2; shift 2
  local left=$((BUDGET - SECONDS - 10)); local t=$((left < cap ? left : cap))
  if [ "$t" -lt 20 ]; then echo "== $name: skipped (budget)"; return 1; fi
  echo "== $name (limit ${t}s, at ${SECONDS}s)"
  timeout "$t" "$@" > "$OUT/$name.log" 2>&1; local rc=$?
  echo "rc=$rc"; [ "$rc" = 0 ] || tail -n 5 "$OUT/$name.log"
}
# configured NAME LIMIT TOML ARGS...: `aekit ARGS` as step NAME, run from a folder of its own
# whose cubecl.toml is TOML (cubecl reads it from the working directory).
configured() {
  local name=$1 cap=$2 toml=$3; shift 3
  mkdir -p "/tmp/$name" && printf '%b' "$toml" > "/tmp/$name/cubecl.toml"
  (cd "/tmp/$name" && step "$name" "$cap" "$BIN" "$@" --out "$OUT/runs/$name")
}
# prof NAME LIMIT ARGS...: under cubecl's per-kernel timing (profiling level "basic" to a
# file), summed per kernel name on the spot.
prof() {
  local name=$1 cap=$2; shift 2
  configured "$name" "$cap" "[profiling.logger]\nlevel = \"basic\"\nfile = \"/tmp/$name/kernels.txt\"\nappend = false\n" "$@"
  python3 bench/gpu/kernel_sums.py "/tmp/$name/kernels.txt" > "$OUT/$name-kernels.txt" 2>&1; head -n 25 "$OUT/$name-kernels.txt"
}
# tuned NAME LIMIT ARGS...: with cubecl's autotune account written: which kernel won for each
# convolution and matmul key, forward and gradients.
tuned() {
  local name=$1 cap=$2; shift 2
  configured "$name" "$cap" "[autotune.logger]\nlevel = \"full\"\nfile = \"$OUT/$name-autotune.txt\"\n[autotune.decisions]\nfile = \"$OUT/$name-decisions.jsonl\"\n" "$@"
  python3 bench/gpu/decisions.py "$OUT/$name-decisions.jsonl" > "$OUT/$name-decisions.txt" 2>&1
  grep -A1 '^Conv' "$OUT/$name-decisions.txt" | head -n 40
}
secs() {  # the aekit run's epoch seconds
  [ -f "$OUT/runs/$1/metrics.csv" ] && python3 -c "import csv,sys; print('$1', [round(float(r['train_seconds']),3) for r in csv.DictReader(open(sys.argv[1]))])" "$OUT/runs/$1/metrics.csv"
}
PHOTO=(train --task denoise --noise gaussian:0.098 --patch-size 48 --data "$DATA/photos" --seed 0 --quiet)
CONV=(train --model conv --data mnist --data-dir "$DATA" --train-samples 20000 --batch-size 128 --lr 0.001 --seed 0 --quiet)

# The default runs first: they fill the autotune cache, so the profiles below time training's
# kernels, not autotune's trials.
tuned denoise-b16 70 "${PHOTO[@]}" --epochs 3 --device wgpu
secs denoise-b16
tuned conv 70 "${CONV[@]}" --epochs 3 --device wgpu
secs conv
# The convolutions as matrix products (AEKIT_GPU_CONV=matmul, fused/matmul_conv.rs).
MM=(env AEKIT_GPU_CONV=matmul)
step denoise-mm 70 "${MM[@]}" "$BIN" "${PHOTO[@]}" --epochs 3 --device wgpu --out "$OUT/runs/denoise-mm"
secs denoise-mm
step conv-mm 70 "${MM[@]}" "$BIN" "${CONV[@]}" --epochs 3 --device wgpu --out "$OUT/runs/conv-mm"
secs conv-mm
prof prof-denoise 60 "${PHOTO[@]}" --epochs 1 --device wgpu
prof prof-conv 60 "${CONV[@]}" --epochs 1 --device wgpu
export AEKIT_GPU_CONV=matmul
prof prof-denoise-mm 60 "${PHOTO[@]}" --epochs 1 --device wgpu
prof prof-conv-mm 60 "${CONV[@]}" --epochs 1 --device wgpu
unset AEKIT_GPU_CONV
step denoise-b64 60 "$BIN" "${PHOTO[@]}" --batch-size 64 --epochs 3 --device wgpu --out "$OUT/runs/denoise-b64"
secs denoise-b64
step torch-dncnn-cuda 60 python3 bench/gpu/torch_dncnn.py --device cuda --epochs 4
step torch-dncnn-cpu 60 python3 bench/gpu/torch_dncnn.py --device cpu --epochs 3
cat "$OUT"/torch-dncnn-*.log 2>/dev/null | grep '"epoch"'
# What comes back: the logs and the profiles' summaries in one archive (8 files at most).
rm -rf "$OUT/runs"/*/checkpoint "$OUT/runs"/*/*.png "$OUT/runs"/*/*.safetensors
tar -czf /tmp/probe.tar.gz -C "$OUT" . && find "$OUT" -mindepth 1 -delete && mv /tmp/probe.tar.gz "$OUT/probe.tar.gz"
ls -la "$OUT"
exit 0
