#!/usr/bin/env bash
# The GPU check of issue 17, one prepared script for a lent NVIDIA machine (no Rust, no network).
# Prepare here with `bash bench/gpu/prepare.sh`, then on the device tool:
#   run(command="bash bench/gpu/check.sh", carry=[".gl", "gpu-check"], timeout_s=540)
# It times, side by side in one run (alternating is not needed: the GPU and the CPU runs do not
# share a processor), each model's epochs on:
#   aekit --device wgpu (Vulkan on the NVIDIA driver), PyTorch CUDA,
#   aekit --device cpu and PyTorch on the machine's CPU cores (all of them),
# for vae-mnist (the PyTorch example, 60,000 images), the conv autoencoder (20,000 images) and,
# aekit only, the photo denoiser (DnCNN, 48x48 crops of the photo benchmark's pictures).
# Writes $OUT/summary.jsonl (one line per tool and model: first epoch and median of the others,
# in seconds) and each run's log.
set -u
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
BIN=gpu-check/aekit-wgpu
[ -x "$BIN" ] || { gunzip -kf "$BIN.gz" && chmod +x "$BIN"; }
DATA=$PWD/gpu-check/data
THREADS=$(nproc)
EPOCHS=${EPOCHS:-4}

# The Vulkan loader: carried in as Debian packages when the machine has none.
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
# The driver: name the NVIDIA ICD file, which the loader does not find on its own there.
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$f" ]; then export VK_DRIVER_FILES="$f"; break; fi
done
[ -f /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json ] && export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export AEKIT_CACHE="$PWD/gpu-check/cache"
{
  echo "== machine"; date -u; nproc; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"; ldconfig -p | grep -i vulkan
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' 2>&1
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

# run NAME CMD...: one timed run, its log kept.
run() {
  local name=$1; shift
  echo "== $name"
  timeout 150 "$@" > "$OUT/$name.log" 2>&1
  echo "rc=$? $(grep -m1 '^wgpu:' "$OUT/$name.log")"
  grep -q panicked "$OUT/$name.log" && tail -n 5 "$OUT/$name.log"
}
aekit() { local name=$1 dev=$2; shift 2; run "$name" "$BIN" train "$@" --epochs "$EPOCHS" --device "$dev" --seed 0 --quiet --out "$OUT/runs/$name"; }
torch() { local name=$1 script=$2 dev=$3; shift 3; run "$name" python3 "$script" --data-dir "$DATA" --epochs "$EPOCHS" --threads "$THREADS" --device "$dev" "$@"; }

# One epoch on the GPU first: shader compilation and autotuning, kept out of the figures below
# except as each run's "first" epoch.
run warmup "$BIN" train --model linear --data mnist-embedded --epochs 1 --device wgpu --quiet --out "$OUT/runs/warmup"

MNIST=(--data mnist --data-dir "$DATA")
aekit aekit-wgpu-vae wgpu --model vae-mnist "${MNIST[@]}"
torch torch-cuda-vae bench/vae/torch_vae.py cuda --seed 1
aekit aekit-cpu-vae cpu --model vae-mnist "${MNIST[@]}"
torch torch-cpu-vae bench/vae/torch_vae.py cpu --seed 1
CONV=(--model conv "${MNIST[@]}" --train-samples 20000 --batch-size 128 --lr 0.001)
aekit aekit-wgpu-conv wgpu "${CONV[@]}"
torch torch-cuda-conv bench/conv_ae/torch_conv_ae.py cuda --train-samples 20000
aekit aekit-cpu-conv cpu "${CONV[@]}"
torch torch-cpu-conv bench/conv_ae/torch_conv_ae.py cpu --train-samples 20000
PHOTO=(--task denoise --noise gaussian:0.098 --patch-size 48 --data "$DATA/photos")
aekit aekit-wgpu-denoise wgpu "${PHOTO[@]}"
aekit aekit-cpu-denoise cpu "${PHOTO[@]}"

python3 - "$OUT" <<'PY' | tee "$OUT/summary.jsonl"
import csv, json, os, statistics, sys
out = sys.argv[1]
def figures(secs):
    return {"epochs": len(secs), "first_s": secs[0] if secs else None,
            "median_rest_s": statistics.median(secs[1:]) if len(secs) > 1 else None}
for name in sorted(os.listdir(out)):
    if not name.endswith(".log") or name == "warmup.log":
        continue
    run = name[:-4]
    if run.startswith("aekit"):
        path = os.path.join(out, "runs", run, "metrics.csv")
        secs = [float(r["train_seconds"]) for r in csv.DictReader(open(path))] if os.path.exists(path) else []
    else:
        secs = []
        for line in open(os.path.join(out, name)):
            try:
                j = json.loads(line)
            except ValueError:
                continue
            if "epoch" in j and "train_seconds" in j:
                secs.append(j["train_seconds"])
    print(json.dumps({"run": run, **figures(secs)}))
PY
exit 0
