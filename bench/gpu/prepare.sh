#!/usr/bin/env bash
# Prepares what bench/gpu/check.sh needs on a GPU machine that has no Rust toolchain and no
# network: run here, then hand the device tool `carry: [".gl", "gpu-check"]`.
#   gpu-check/aekit-wgpu.gz   the wgpu build, stripped and gzipped (the carry limit is 64 MiB)
#   gpu-check/data/mnist/     MNIST's four .gz files (from $AEKIT_DATA)
#   gpu-check/data/photos/    the photo benchmark's source pictures (bench/photos/make_data.py's
#                             train_full/), which the denoiser samples 48x48 crops from
#   .gl/*.deb                 Debian's Vulkan loader and GL dispatch libraries (the GPU
#                             machines ship the NVIDIA driver's Vulkan ICD but no loader)
# Usage: bash bench/gpu/prepare.sh [PHOTO_DATA_DIR]   (default /work/photowork/data)
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET="${AEKIT_WGPU_TARGET:-$HOME/.cache/aekit/target-wgpu}"
DATA="${AEKIT_DATA:-../shared/data}"
PHOTOS="${1:-/work/photowork/data}"
CARGO_TARGET_DIR="$TARGET" cargo build --release --locked -p aekit-cli --features wgpu
mkdir -p gpu-check/data
strip -o gpu-check/aekit-wgpu "$TARGET/release/aekit"
gzip -f -9 gpu-check/aekit-wgpu
rm -rf gpu-check/data/mnist gpu-check/data/photos
cp -r "$DATA/mnist" gpu-check/data/mnist
cp -r "$PHOTOS/train_full" gpu-check/data/photos
grep -qx '/.gl/' .git/info/exclude 2>/dev/null || { mkdir -p .git/info; echo /.gl/ >> .git/info/exclude; }
if ! ls .gl/*.deb >/dev/null 2>&1; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update >/dev/null
  (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
du -sh gpu-check .gl
