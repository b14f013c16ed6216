#!/usr/bin/env bash
# The GPU check of issue 17, one prepared script for a lent NVIDIA machine (no Rust, no network).
# Prepare here with `bash bench/gpu/prepare.sh`, then on the device tool:
#   run(command="bash bench/gpu/check.sh", carry=[".gl", "gpu-check"], timeout_s=480)
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

source bench/gpu/vulkan.sh
export AEKIT_CACHE="$PWD/gpu-check/cache"
{
  echo "== machine"; date -u; nproc; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"; ldconfig -p | grep -i vulkan
  python3 -c 'import torch; print("torch", torch.__version__, torch.cuda.get_device_name(0))' 2>&1
} > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
# GPU load, once a second, to tell a starved GPU from a busy one.
nvidia-smi dmon -s u -o T > "$OUT/dmon.txt" 2>&1 &
DMON=$!

# The whole check must end inside the device call's limit (and the session's 15 minutes of
# device time): each run gets at most CAP seconds and none starts past BUDGET seconds.
BUDGET=${BUDGET:-450}
CAP=${CAP:-120}
# run NAME CMD...: one timed run, its log kept.
run() {
  local name=$1; shift
  local left=$((BUDGET - SECONDS - 15))
  local t=$((left < CAP ? left : CAP))
  if [ "$t" -lt 20 ]; then echo "== $name: skipped (time budget spent)"; return 1; fi
  echo "== $name (limit ${t}s, at ${SECONDS}s)"
  timeout "$t" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "rc=$rc $(grep -m1 '^wgpu:' "$OUT/$name.log")"
  [ "$rc" = 0 ] || tail -n 8 "$OUT/$name.log"
  return $rc
}
aekit() { local name=$1 dev=$2 epochs=$3; shift 3; run "$name" "$BIN" train "$@" --epochs "$epochs" --device "$dev" --seed 0 --quiet --out "$OUT/runs/$name"; }
torch() { local name=$1 script=$2 dev=$3 epochs=$4; shift 4; run "$name" python3 "$script" --data-dir "$DATA" --epochs "$epochs" --threads "$THREADS" --device "$dev" "$@"; }

# One epoch on the GPU first: shader compilation and autotuning, kept out of the figures below
# except as each run's "first" epoch. Without a working adapter nothing else is worth the device
# time: say why (the loader's own messages) and stop.
if ! run warmup "$BIN" train --model linear --data mnist-embedded --epochs 1 --device wgpu --quiet --out "$OUT/runs/warmup"; then
  VK_LOADER_DEBUG=error,warn,info timeout 30 "$BIN" train --model linear --data mnist-embedded --epochs 1 --device wgpu --quiet --out "$OUT/runs/debug" 2>&1 | tail -n 40
  ls -l /usr/local/nvidia/share/vulkan/icd.d/ /usr/share/vulkan/icd.d/ /etc/vulkan/icd.d/ 2>&1
  kill "$DMON" 2>/dev/null; wait "$DMON" 2>/dev/null
  tar -czf "$OUT/all.tar.gz" -C "$OUT" --exclude all.tar.gz . && find "$OUT" -mindepth 1 -not -name all.tar.gz -delete
  exit 1
fi

# The GPU figures first (the targets), then the CPU's; GPU runs 4 epochs, CPU runs 3 (the
# first epoch is reported apart, the figure is the median of the others).
G=${EPOCHS:-4}; C=${CPU_EPOCHS:-3}
MNIST=(--data mnist --data-dir "$DATA")
CONV=(--model conv "${MNIST[@]}" --train-samples 20000 --batch-size 128 --lr 0.001)
PHOTO=(--task denoise --noise gaussian:0.098 --patch-size 48 --data "$DATA/photos")
aekit aekit-wgpu-vae wgpu "$G" --model vae-mnist "${MNIST[@]}"
torch torch-cuda-vae bench/vae/torch_vae.py cuda "$G" --seed 1
aekit aekit-wgpu-conv wgpu "$G" "${CONV[@]}"
torch torch-cuda-conv bench/conv_ae/torch_conv_ae.py cuda "$G" --train-samples 20000
aekit aekit-wgpu-denoise wgpu "$G" "${PHOTO[@]}"
aekit aekit-cpu-denoise cpu "$C" "${PHOTO[@]}"
aekit aekit-cpu-vae cpu "$C" --model vae-mnist "${MNIST[@]}"
torch torch-cpu-vae bench/vae/torch_vae.py cpu "$C" --seed 1
aekit aekit-cpu-conv cpu "$C" "${CONV[@]}"
torch torch-cpu-conv bench/conv_ae/torch_conv_ae.py cpu "$C" --train-samples 20000

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
# The device tool brings back at most 8 files: everything else goes into one archive.
kill "$DMON" 2>/dev/null; wait "$DMON" 2>/dev/null
tar -czf "$OUT/all.tar.gz" -C "$OUT" --exclude all.tar.gz --exclude summary.jsonl . && \
  find "$OUT" -mindepth 1 -not -name all.tar.gz -not -name summary.jsonl -delete
exit 0
