#!/usr/bin/env bash
# One denoising contract run scored on the validation photo and the test photos: the figures of
# BENCHMARKS.md, "More training steps for the denoiser" (and NOTES.md, "Photos: a longer
# denoising epoch"). Trains `aekit train --task denoise --noise gaussian:0.098 --data
# DATA/train --patch-size 48 --epochs 10 [EXTRA...]`, then restores
#   - DATA/val/coffee.png, scikit-image's stereo_motorcycle() left image and matplotlib's
#     sample grace_hopper.jpg with sigma 25/255 noise of seed 1 (as arch_probe.py), cropped to a
#     multiple of 4, 8 bits: the validation figures (the last two only choose settings, they are
#     never trained on or shipped; see PHOTOS.md);
#   - the same three photos with their colours saturated (HSV saturation x1.6, clipped, then
#     the same noise): validation photos with channels at 0 or 1, where clipped noise is
#     biased (the tone augmentation was chosen on them; NOTES.md "Photos: saturated channels");
#   - DATA/test/noisy25: the test figure (make_data.py's pictures),
# each with and without --self-ensemble (and NL-means on the validation parts, the rival in the
# same run), and prints metrics.py's JSON lines.
#
#   bash bench/photos/contract_runs.sh DATA WORK NAME [EXTRA TRAIN ARGS...]
#   RUN=DIR bash bench/photos/contract_runs.sh DATA WORK NAME   (scores the trained run or
#                                                                 model folder DIR, no training)
#
# PARTS="val sat" scores the validation photos only (probes that must not read the test photos).
# DATA: make_data.py's folder (seed 0); PY: a Python with numpy, Pillow and scikit-image
# (default: the photo bench's venv); AEKIT_BIN: default target/release/aekit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data="${1:?usage: contract_runs.sh DATA WORK NAME [EXTRA...]}" work="${2:?WORK}" name="${3:?NAME}"
shift 3
py="${PY:-$HOME/.cache/aekit-bench/photo-venv/bin/python}"
aekit="${AEKIT_BIN:-$here/../../target/release/aekit}"
mkdir -p "$work/val/noisy" "$work/val/clean" "$work/sat/noisy" "$work/sat/clean"
"$py" - "$data/val/coffee.png" "$work/val" "$work/sat" <<'PY'
import sys
import numpy as np
from PIL import Image
import skimage.data
import matplotlib.cbook
from skimage.color import hsv2rgb, rgb2hsv
photos = {"coffee": np.asarray(Image.open(sys.argv[1]).convert("RGB")),
          "motorcycle": skimage.data.stereo_motorcycle()[0],
          "hopper": np.asarray(Image.open(matplotlib.cbook.get_sample_data("grace_hopper.jpg")).convert("RGB"))}


def save_pair(stem, clean, out):
    """clean and clean + sigma 25/255 noise of seed 1 (clipped, 8 bits) into out/{clean,noisy}."""
    n = np.clip(clean + (25 / 255) * np.random.default_rng(1).standard_normal(clean.shape), 0, 1)
    Image.fromarray(np.round(n * 255).astype(np.uint8)).save(f"{out}/noisy/{stem}.png")
    Image.fromarray(np.round(clean * 255).astype(np.uint8)).save(f"{out}/clean/{stem}.png")


for stem, img in photos.items():
    c = img.astype(np.float32) / 255
    c = c[: c.shape[0] // 4 * 4, : c.shape[1] // 4 * 4]
    save_pair(stem, c, sys.argv[2])
    hsv = rgb2hsv(np.round(c * 255) / 255)
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.6, 0, 1)
    save_pair(stem, np.round(np.clip(hsv2rgb(hsv), 0, 1) * 255) / 255, sys.argv[3])
PY
run="${RUN:-$work/runs/$name}"
if [[ -z "${RUN:-}" ]]; then
    rm -rf "$run"
    t0=$(date +%s)
    "$aekit" train --task denoise --noise gaussian:0.098 --data "$data/train" --patch-size 48 --epochs 10 --out "$run" --quiet "$@"
    echo "{\"run\": \"$name\", \"train_wall_s\": $(( $(date +%s) - t0 ))}"
fi
for part in ${PARTS:-val sat test}; do
    case $part in
        val|sat) input="$work/$part/noisy" clean="$work/$part/clean" ;;
        test) input="$data/test/noisy25" clean="$data/test/clean" ;;
        *) echo "error: PARTS: $part is not val, sat or test" >&2; exit 2 ;;
    esac
    if [[ $part != test ]]; then
        # The rival on the same validation pixels, in the same run: NL-means with rivals.py's
        # settings, the known sigma and h = 0.5 sigma (the factor rivals.py tunes on coffee).
        nlm="$work/out/nlm-$part"
        mkdir -p "$nlm"
        "$py" - "$here" "$input" "$nlm" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import metrics, rivals
for stem, path in metrics.stems(sys.argv[2]).items():
    rivals.save(rivals.nlm(metrics.load_rgb(path), rivals.SIGMA, 0.5), f"{sys.argv[3]}/{stem}.png")
PY
        "$py" "$here/metrics.py" "$nlm" "$clean" --method "NL-means, h = 0.5 sigma" --task "denoise $part"
    fi
    for se in "" --self-ensemble; do
        out="$work/out/$name-$part${se:+-se}"
        rm -rf "$out"
        "$aekit" denoise --run "$run" --input "$input" --out "$out" --quiet $se
        "$py" "$here/metrics.py" "$out" "$clean" --method "aekit $name${se:+ + self-ensemble}" --task "denoise $part"
    done
done
