#!/usr/bin/env bash
# Copies the aekit runs of a finished `bench/photos/run.sh WORK_DIR` into crates/aekit/models/,
# the models aekit ships (`aekit denoise --model photo-denoise|photo-denoise-blind`,
# `upscale --model photo-x2|x4`):
# each run's config.json (its machine-specific data path replaced by what the data was) and
# model.safetensors. Rebuild aekit afterwards; `cargo test` then checks them (builtin loading,
# the demo's photo section).
#
#   bash bench/photos/ship.sh WORK_DIR [TASK...]   (TASK: denoise blind x2 x4; default all)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work="${1:?usage: ship.sh WORK_DIR (of a finished run.sh) [TASK...]}"
shift
only=" ${*:-denoise blind x2 x4} "
dest="$here/../../crates/aekit/models"
for pair in denoise:photo-denoise blind:photo-denoise-blind x2:photo-x2 x4:photo-x4; do
    run="$work/runs/aekit-${pair%%:*}" name="${pair#*:}"
    [[ "$only" == *" ${pair%%:*} "* ]] || continue
    [[ -f "$run/model.safetensors" ]] || { echo "error: $run has no model.safetensors" >&2; exit 1; }
    mkdir -p "$dest/$name"
    cp "$run/model.safetensors" "$dest/$name/model.safetensors"
    python3 - "$run/config.json" "$dest/$name/config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
what = ("bench/photos/run.sh: DATA/train, 2,000 RGB crops of 64x64 from 6 photos bundled with "
        "scikit-image 0.26 (make_data.py, seed 0; licences in bench/photos/PHOTOS.md)")
cfg["data"]["data"] = what
cfg["data"]["args"]["data"] = "DATA/train"
json.dump(cfg, open(sys.argv[2], "w"), indent=2)
open(sys.argv[2], "a").write("\n")
PY
    echo "shipped $run as $name"
done
