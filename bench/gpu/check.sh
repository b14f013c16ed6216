#!/usr/bin/env bash
# GPU smoke check, run on a machine with an NVIDIA GPU but no Rust toolchain:
# a wgpu build of aekit made elsewhere (`cargo build --release --features aekit-cli/wgpu`,
# copied to gpu-check/aekit-wgpu) trains the conv autoencoder on the GPU and on the CPU.
# Usage: OUT=dir bash bench/gpu/check.sh
set -u
BIN=${AEKIT_BIN:-gpu-check/aekit-wgpu}
[ -x "$BIN" ] || { gunzip -k "$BIN.gz" && chmod +x "$BIN"; }
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
{
  echo "== machine"; date -u; nproc; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  echo "== vulkan loader and ICDs"; ldconfig -p | grep -i vulkan; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  cat /usr/share/vulkan/icd.d/*.json 2>&1; find / -xdev -name 'libvulkan*' 2>/dev/null | head; find / -xdev -name 'libGLX_nvidia*' 2>/dev/null | head -3
  echo "== binary"; ls -la "$BIN"; ldd "$BIN" | grep -i -E "vulkan|not found"
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
run() {
  local name=$1; shift
  echo "== $name: $*"
  local t0=$(date +%s.%N)
  timeout 240 "$BIN" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local t1=$(date +%s.%N)
  echo "rc=$rc wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
  tail -n 8 "$OUT/$name.log"
}
run wgpu-conv train --model conv --data mnist-embedded --epochs 3 --device wgpu --out "$OUT/wgpu-conv"
run cpu-conv train --model conv --data mnist-embedded --epochs 3 --device cpu --out "$OUT/cpu-conv"
run wgpu-dense train --model dense --data mnist-embedded --epochs 5 --device wgpu --out "$OUT/wgpu-dense"
# The GPU machines here ship the NVIDIA Vulkan ICD but no Vulkan loader; if one was carried in
# gpu-check/lib (Debian's libvulkan1), try again with it.
if ! ldconfig -p | grep -q libvulkan.so.1 && [ -f gpu-check/lib/libvulkan.so.1 ]; then
  export LD_LIBRARY_PATH="$PWD/gpu-check/lib:/usr/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "NVIDIA_DRIVER_CAPABILITIES=${NVIDIA_DRIVER_CAPABILITIES:-unset}"
  VK_LOADER_DEBUG=error,warn,driver timeout 60 "$BIN" train --model linear --data mnist-embedded --epochs 1 --device wgpu --out "$OUT/vkdebug" 2>&1 | tail -n 25
  run wgpu-conv-loader train --model conv --data mnist-embedded --epochs 3 --device wgpu --out "$OUT/wgpu-conv-loader"
  run wgpu-dense-loader train --model dense --data mnist-embedded --epochs 5 --device wgpu --out "$OUT/wgpu-dense-loader"
  run wgpu-linear-loader train --model linear --data mnist-embedded --latent 16 --epochs 20 --lr 0.005 --device wgpu --out "$OUT/wgpu-linear-loader"
fi
echo "panics in logs: $(grep -l panicked "$OUT"/*.log 2>/dev/null | wc -l)"
exit 0
