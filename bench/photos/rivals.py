"""The classical rivals of the photo restoration benchmark, on exactly the 8-bit pictures that
make_data.py wrote; every output is rounded to 8 bits, saved as PNG and scored by metrics.py's
score_dir, as aekit's outputs are.

    python rivals.py DATA_DIR OUT_JSON [--save DIR] [--methods NAME,...]

Denoising (test/noisy25 against test/clean, sigma 25/255):
  noisy          the noisy input itself (reference)
  nlm-est        skimage.restoration.denoise_nl_means, channel_axis=-1, patch_size=5,
                 patch_distance=6, fast_mode=True, sigma = mean over channels of estimate_sigma,
                 h = 0.8 sigma (scikit-image's gallery recipe)
  nlm-known      the same with the known sigma 25/255, h = 0.8 sigma
  nlm-tuned      the known sigma with h = f sigma, f chosen on the VAL photo(s) (own seeded noise)
  wavelet        denoise_wavelet: BayesShrink, soft, channel_axis=-1, convert2ycbcr=True,
                 rescale_sigma=True, sigma estimated (default wavelet db1)
  bm3d           bm3d.bm3d_rgb(noisy, sigma_psd=25/255) (default profile and colour transform)
Super-resolution (test/lowres_x2, test/lowres_x4 against test/clean):
  bicubic        PIL Image.resize(..., Image.BICUBIC) of the low-res picture by the scale (to the
                 clean size: make_data.py crops the test photos to sides divisible by 4)

Writes one JSON line per method and task to OUT_JSON: method, task, psnr_rgb, ssim, psnr_y (SR),
seconds (wall time of the restoring alone, all test photos, 2 threads unless the environment
says otherwise), per_image, and the method's settings.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ.setdefault(_v, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402

SIGMA = 25.0 / 255.0
NLM = dict(patch_size=5, patch_distance=6, fast_mode=True, channel_axis=-1)
H_FACTORS = [0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2]
ALL = ["noisy", "nlm-est", "nlm-known", "nlm-tuned", "wavelet", "bm3d", "bicubic"]


def to8(x):
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def save(x, path):
    Image.fromarray(to8(x), "RGB").save(path)


def nlm(noisy, sigma, factor):
    from skimage.restoration import denoise_nl_means
    return denoise_nl_means(noisy, h=factor * sigma, sigma=sigma, **NLM)


def nlm_est(noisy):
    from skimage.restoration import estimate_sigma
    s = float(np.mean(estimate_sigma(noisy, channel_axis=-1)))
    return nlm(noisy, s, 0.8)


def wavelet(noisy):
    from skimage.restoration import denoise_wavelet
    return denoise_wavelet(noisy, method="BayesShrink", mode="soft", channel_axis=-1,
                           convert2ycbcr=True, rescale_sigma=True)


def bm3d_rgb(noisy):
    import bm3d
    return bm3d.bm3d_rgb(noisy, sigma_psd=SIGMA)


def tune_nlm(data, seed=0):
    """h / sigma with the best mean PSNR (8-bit output) on the VAL photos with their own noise."""
    rng = np.random.default_rng([seed, 25, 1])
    pairs = []
    for f in sorted(os.listdir(os.path.join(data, "val"))):
        clean = metrics.load_rgb(os.path.join(data, "val", f))
        noisy = to8(np.clip(clean + SIGMA * rng.standard_normal(clean.shape), 0, 1)) / 255.0
        pairs.append((clean, noisy))
    table = {}
    for fac in H_FACTORS:
        table[fac] = float(np.mean([metrics.psnr_rgb(to8(nlm(n, SIGMA, fac)) / 255.0, c) for c, n in pairs]))
    best = max(table, key=table.get)
    return best, table


def run(method, task, fn, inp_dir, clean_dir, out_dir, scale=None, settings=None):
    os.makedirs(out_dir, exist_ok=True)
    inputs = metrics.stems(inp_dir)
    secs = 0.0
    for stem, path in inputs.items():
        x = metrics.load_rgb(path)
        t0 = time.perf_counter()
        y = fn(x)
        secs += time.perf_counter() - t0
        save(y, os.path.join(out_dir, stem + ".png"))
    r = {"method": method, "task": task, "seconds": round(secs, 3)}
    r.update(metrics.score_dir(out_dir, clean_dir, scale))
    if settings:
        r["settings"] = settings
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("out_json")
    ap.add_argument("--save", help="keep the restored pictures in SAVE/METHOD-TASK/")
    ap.add_argument("--methods", default=",".join(ALL))
    a = ap.parse_args()
    methods = a.methods.split(",")
    for m in methods:
        if m not in ALL:
            sys.exit(f"error: unknown method {m} ({', '.join(ALL)})")
    save_root = a.save or tempfile.mkdtemp(prefix="photo-rivals.")
    clean = os.path.join(a.data, "test", "clean")
    noisy = os.path.join(a.data, "test", "noisy25")
    dn = "denoise-sigma25"
    results = []

    def emit(r):
        results.append(r)
        with open(a.out_json, "a") as f:
            f.write(json.dumps(r) + "\n")
        print(f"{r['method']:10s} {r['task']:16s} PSNR {r['psnr_rgb']:.2f}"
              + (f"  PSNR-Y {r['psnr_y']:.2f}" if "psnr_y" in r else "")
              + f"  SSIM {r['ssim']:.4f}  {r['seconds']:.1f} s", file=sys.stderr)

    def out(m, t):
        return os.path.join(save_root, f"{m}-{t}")

    if "noisy" in methods:
        emit(run("noisy", dn, lambda x: x, noisy, clean, out("noisy", dn)))
    if "nlm-est" in methods:
        emit(run("nlm-est", dn, nlm_est, noisy, clean, out("nlm-est", dn),
                 settings=dict(NLM, sigma="estimate_sigma mean", h="0.8 sigma")))
    if "nlm-known" in methods:
        emit(run("nlm-known", dn, lambda x: nlm(x, SIGMA, 0.8), noisy, clean, out("nlm-known", dn),
                 settings=dict(NLM, sigma="25/255", h="0.8 sigma")))
    if "nlm-tuned" in methods:
        t0 = time.perf_counter()
        fac, table = tune_nlm(a.data)
        tune_s = time.perf_counter() - t0
        emit(run("nlm-tuned", dn, lambda x: nlm(x, SIGMA, fac), noisy, clean, out("nlm-tuned", dn),
                 settings=dict(NLM, sigma="25/255", h=f"{fac} sigma", val_psnr_by_h_factor=table,
                               tune_seconds=round(tune_s, 2))))
    if "wavelet" in methods:
        emit(run("wavelet", dn, wavelet, noisy, clean, out("wavelet", dn),
                 settings=dict(method="BayesShrink", mode="soft", convert2ycbcr=True, rescale_sigma=True,
                               wavelet="db1", sigma="estimated")))
    if "bm3d" in methods:
        emit(run("bm3d", dn, bm3d_rgb, noisy, clean, out("bm3d", dn), settings=dict(sigma_psd="25/255")))
    if "bicubic" in methods:
        for s in (2, 4):
            def up(x, s=s):
                h, w = x.shape[:2]
                return np.asarray(Image.fromarray(to8(x), "RGB").resize((w * s, h * s), Image.BICUBIC)) / 255.0
            t = f"superres-x{s}"
            emit(run("bicubic", t, up, os.path.join(a.data, "test", f"lowres_x{s}"), clean, out("bicubic", t),
                     scale=s, settings=dict(resize="PIL Image.BICUBIC")))


if __name__ == "__main__":
    main()
