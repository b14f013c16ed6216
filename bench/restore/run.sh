#!/usr/bin/env bash
# Restoration benchmarks on MNIST (60000 training / 10000 test images), aekit side:
#   denoising, Gaussian sigma 0.5 clipped to [0, 1] (the Keras tutorial's setting), model `dae`
#     (the tutorial's 32-32 conv autoencoder, BCE), 5 epochs of batch 32 on all 60000 training images;
#   super-resolution x2 and x4, area downscaling, model `subpixel` (ESPCN-style 5-3-3 convs,
#     64-32 channels, on the low-resolution image), 25 epochs on the first 10000 training images
#     (the rival SRCNN's images; its 5 epochs at full resolution cost more than these 25).
# Each run's test-set evaluation (mean PSNR in dB for pixels in [0, 1], mean SSIM, baselines)
# is run/eval/report.json; `aekit eval` recomputes it.
#
#   bash bench/restore/run.sh            # needs a release build; AEKIT_DATA as in bench/common/lib.sh
#
# The rival figures (PyTorch, same data) are the issue's; bench/restore/reference_baselines.py
# recomputes the classical ones with NumPy/PyTorch and shows which bicubic kernel gives which figure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export AEKIT_DATA="${AEKIT_DATA:-$root/../shared/data}"
bin="${AEKIT_BIN:-$root/target/release/aekit}"
out="${AEKIT_BENCH_OUT:-$root/target/bench-restore}"
mkdir -p "$out"
# x2: MSE loss, 5 epochs, then resumed to 25; x4: BCE (MSE through the sigmoid collapsed to black
# at x4, see NOTES.md), 25 epochs in one run.
"$bin" train --task superres --scale 2 --downscale area --model subpixel --loss mse --data mnist \
  --train-samples 10000 --epochs 5 --seed 0 --out "$out/sr2" --quiet
"$bin" train --resume "$out/sr2" --epochs 25 --quiet
"$bin" train --task superres --scale 4 --downscale area --model subpixel --loss bce --data mnist \
  --train-samples 10000 --epochs 25 --seed 0 --out "$out/sr4" --quiet
for s in 2 4; do
  "$bin" eval --run "$out/sr$s" --data mnist --quiet
done
"$bin" train --task denoise --noise gaussian:0.5 --model dae --loss bce --data mnist --epochs 5 --batch-size 32 --seed 0 --out "$out/denoise" --quiet
"$bin" eval --run "$out/denoise" --data mnist --quiet
for r in sr2 sr4 denoise; do
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(sys.argv[2], r['task']); [print('  %-75s %6.2f dB  SSIM %.3f' % (n, p, s)) for n, p, s in [('degraded', r['psnr_degraded'], r['ssim_degraded'])] + [(b['name'], b['psnr'], b['ssim']) for b in r['baselines']] + [('model', r['psnr_model'], r['ssim_model'])]]" "$out/$r/eval/report.json" "$r"
  python3 -c "import json,sys; m=json.load(open(sys.argv[1]))['epochs']; print('  train seconds per epoch:', ', '.join('%.0f' % e['train_seconds'] for e in m))" "$out/$r/report.json"
done
