"""The blind denoiser (`photo-denoise-blind`, trained over sigma in [0, 0.2]) beside the
sigma-25 one and classical rivals at several noise levels, on the test photos of make_data.py.

    python blind.py DATA_DIR WORK_DIR OUT_JSON [--aekit BIN] [--blind-run RUN] [--sigmas 15,25,50]

For each sigma (in 8-bit levels): WORK/noisyS/ = test/clean + Gaussian noise of sigma S/255
(NumPy, seed 1000 + S), clipped to [0, 1], rounded to 8 bits. Then, each scored by metrics.py
against test/clean (PSNR RGB, SSIM), one JSON line per method and sigma in OUT_JSON:
  noisy              the input
  aekit-blind        aekit denoise --run RUN (default: --model photo-denoise-blind)
  aekit-sigma25      aekit denoise --model photo-denoise (trained at sigma 25 only)
  nlm-est            NL-means as rivals.py (sigma estimated, h = 0.8 sigma_est): blind
  bm3d-known         BM3D given the true sigma (not blind; the goal)
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402
import rivals  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("work")
    ap.add_argument("out")
    ap.add_argument("--aekit", default="target/release/aekit")
    ap.add_argument("--blind-run", default=None)
    ap.add_argument("--sigmas", default="15,25,50")
    a = ap.parse_args()
    clean_dir = os.path.join(a.data, "test", "clean")
    stems = metrics.stems(clean_dir)
    results = open(a.out, "a")

    def emit(method, sigma, out_dir, seconds, settings=None):
        r = {"method": method, "task": f"denoise-sigma{sigma}", "seconds": round(seconds, 3)}
        if settings:
            r["settings"] = settings
        r.update(metrics.score_dir(out_dir, clean_dir, None))
        results.write(json.dumps(r) + "\n")
        results.flush()
        print(method, sigma, round(r["psnr_rgb"], 3), round(r["ssim"], 4), f"{seconds:.1f} s", flush=True)

    for s in [int(v) for v in a.sigmas.split(",")]:
        noisy_dir = os.path.join(a.work, f"noisy{s}")
        os.makedirs(noisy_dir, exist_ok=True)
        rng = np.random.default_rng(1000 + s)
        for stem, path in stems.items():
            x = np.asarray(Image.open(path).convert("RGB")).astype(np.float64) / 255.0
            n = np.clip(x + (s / 255.0) * rng.standard_normal(x.shape), 0.0, 1.0)
            Image.fromarray(np.round(n * 255.0).astype(np.uint8), "RGB").save(os.path.join(noisy_dir, stem + ".png"))
        emit("noisy", s, noisy_dir, 0.0)
        for method, src in [("aekit-blind", ["--run", a.blind_run] if a.blind_run else ["--model", "photo-denoise-blind"]),
                            ("aekit-sigma25", ["--model", "photo-denoise"])]:
            out = os.path.join(a.work, f"{method}-{s}")
            t0 = time.perf_counter()
            subprocess.run([a.aekit, "denoise", *src, "--input", noisy_dir, "--out", out, "--quiet"], check=True)
            emit(method, s, out, time.perf_counter() - t0)
        for method, fn in [("nlm-est", rivals.nlm_est),
                           ("bm3d-known", lambda n, s=s: __import__("bm3d").bm3d_rgb(n, sigma_psd=s / 255.0))]:
            out = os.path.join(a.work, f"{method}-{s}")
            os.makedirs(out, exist_ok=True)
            t0 = time.perf_counter()
            for stem, path in metrics.stems(noisy_dir).items():
                n = np.asarray(Image.open(path).convert("RGB")).astype(np.float64) / 255.0
                y = np.clip(fn(n), 0.0, 1.0)
                Image.fromarray(np.round(y * 255.0).astype(np.uint8), "RGB").save(os.path.join(out, stem + ".png"))
            emit(method, s, out, time.perf_counter() - t0)


if __name__ == "__main__":
    main()
