#!/usr/bin/env bash
# Trains a photo model on a lent NVIDIA GPU with the photo benchmark's contract command, only
# longer: `aekit train --task denoise --noise gaussian:0.098 --data DATA/train --patch-size 48
# --seed 0` with --epochs E (the contract and the CPU-trained shipped model: 10). Prepare here:
#   mkdir -p gpu-train && cp gpu-check/aekit-wgpu.gz gpu-train/ && cp -r DATA/train gpu-train/train
# (DATA from bench/photos/make_data.py, seed 0), then on the device tool:
#   run(command="EPOCHS=90 bash bench/gpu/train_photo.sh", carry=[".gl", "gpu-train"], timeout_s=290)
# Brings back the run's config.json, model.safetensors, report.json and metrics.csv; if the
# time limit stops training first, the last complete checkpoint's weights instead.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
EPOCHS=${EPOCHS:-90}
LIMIT=${LIMIT:-240}
BIN=gpu-train/aekit-wgpu
[ -x "$BIN" ] || { gunzip -kf "$BIN.gz" && chmod +x "$BIN"; }
source bench/gpu/vulkan.sh
export AEKIT_CACHE="$PWD/gpu-train/cache"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout "$LIMIT" "$BIN" train --task denoise --noise gaussian:0.098 --data gpu-train/train --patch-size 48 \
  --epochs "$EPOCHS" --seed 0 --device wgpu --quiet --out /tmp/run
echo "rc=$?"
for f in config.json model.safetensors report.json metrics.csv; do
  [ -f "/tmp/run/$f" ] && cp "/tmp/run/$f" "$OUT/"
done
if [ ! -f "$OUT/model.safetensors" ]; then
  last=$(ls -d /tmp/run/checkpoint/epoch-* 2>/dev/null | sort -t- -k2 -n | tail -n 1)
  [ -n "$last" ] && { echo "stopped early: weights of $last"; cp "$last"/* "$OUT/" 2>/dev/null; cp /tmp/run/config.json /tmp/run/metrics.csv "$OUT/" 2>/dev/null; }
fi
tail -n 3 /tmp/run/metrics.csv 2>/dev/null
ls -la "$OUT"
