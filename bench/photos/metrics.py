"""Scores of restored photos against the clean ones, the same code for every method (classical
rivals, PyTorch rivals, aekit). Files are matched by stem; every clean photo must have a
restored one of the same size.

  psnr_rgb  10 log10(1 / MSE) over all RGB pixels in [0, 1], mean over images (no border shaved)
  psnr_y    SR only: PSNR (peak 255) of the ITU-R BT.601 luma
            Y = 16 + 65.481 R + 128.553 G + 24.966 B (R, G, B in [0, 1]; not rounded), with
            `scale` pixels shaved from each border, mean over images (the SR literature's figure)
  ssim      skimage.metrics.structural_similarity on RGB in [0, 1]: channel_axis=-1,
            data_range=1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False (Wang et
            al.'s settings), mean over images (no border shaved)

    python metrics.py RESTORED_DIR CLEAN_DIR [--scale S] [--method M] [--task T]
                      [--train-seconds X] [--seconds Y]      prints one JSON line
"""
import argparse
import json
import os

import numpy as np
from PIL import Image

EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


def load_rgb(path):
    """(H, W, 3) float64 in [0, 1] from an 8-bit picture."""
    with Image.open(path) as im:
        a = np.asarray(im.convert("RGB"), dtype=np.float64)
    return a / 255.0


def psnr_rgb(x, y):
    mse = np.mean((x - y) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def luma(x):
    """BT.601 Y in the [16, 235] range of 0..255 from RGB in [0, 1]."""
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def psnr_y(x, y, shave):
    a, b = luma(x), luma(y)
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(255.0 ** 2 / mse))


def ssim(x, y):
    from skimage.metrics import structural_similarity
    return float(structural_similarity(x, y, channel_axis=-1, data_range=1.0, gaussian_weights=True,
                                       sigma=1.5, use_sample_covariance=False))


def score(restored, clean, scale=None):
    """Scores of one pair of float RGB arrays in [0, 1]."""
    if restored.shape != clean.shape:
        raise ValueError(f"restored shape {restored.shape} != clean shape {clean.shape}")
    s = {"psnr_rgb": psnr_rgb(restored, clean), "ssim": ssim(restored, clean)}
    if scale:
        s["psnr_y"] = psnr_y(restored, clean, int(scale))
    return s


def stems(d):
    return {os.path.splitext(f)[0]: os.path.join(d, f) for f in sorted(os.listdir(d))
            if f.lower().endswith(EXTS)}


def score_dir(restored_dir, clean_dir, scale=None):
    """{"psnr_rgb", "ssim"[, "psnr_y"], "images", "per_image": {stem: scores}}: means over the
    clean photos, each matched by file stem with one in restored_dir."""
    rest, clean = stems(restored_dir), stems(clean_dir)
    if not clean:
        raise ValueError(f"no pictures in {clean_dir}")
    missing = sorted(set(clean) - set(rest))
    if missing:
        raise ValueError(f"{restored_dir} lacks {', '.join(missing)}")
    per = {k: score(load_rgb(rest[k]), load_rgb(clean[k]), scale) for k in clean}
    out = {m: float(np.mean([p[m] for p in per.values()])) for m in next(iter(per.values()))}
    out["images"] = len(per)
    out["per_image"] = per
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("restored")
    ap.add_argument("clean")
    ap.add_argument("--scale", type=int, default=None)
    ap.add_argument("--method", default=None)
    ap.add_argument("--task", default=None)
    ap.add_argument("--train-seconds", type=float, default=None)
    ap.add_argument("--seconds", type=float, default=None, help="restoring time")
    a = ap.parse_args()
    r = {}
    if a.method:
        r["method"] = a.method
    if a.task:
        r["task"] = a.task
    if a.train_seconds is not None:
        r["train_seconds"] = a.train_seconds
    if a.seconds is not None:
        r["seconds"] = a.seconds
    r.update(score_dir(a.restored, a.clean, a.scale))
    print(json.dumps(r))


if __name__ == "__main__":
    main()
