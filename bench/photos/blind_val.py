"""Blind denoisers on the validation photos of contract_runs.sh (its WORK/val and WORK/sat
folders: coffee, hopper, motorcycle, natural and with saturated colours) at sigma 15, 25 and 50
(8-bit levels; each photo gets noise of seed 1000 + sigma, clipped, 8 bits). Prints the PSNR
RGB per photo and the mean, per set, sigma and model. Reads no test photo: it chooses settings.

    python blind_val.py WORK AEKIT_BIN NAME=RUN_OR_MODEL [NAME=...]

RUN_OR_MODEL: a run folder (`--run`) or a built-in model name (`--model`, e.g.
photo-denoise-blind).
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402
import rivals  # noqa: E402


def main():
    work, aekit = sys.argv[1], sys.argv[2]
    runs = dict(a.split("=", 1) for a in sys.argv[3:])
    for part in ["val", "sat"]:
        cleans = metrics.stems(f"{work}/{part}/clean")
        if not cleans:
            sys.exit(f"error: {work}/{part}/clean has no photos: run contract_runs.sh first")
        for s in [15, 25, 50]:
            d = f"{work}/blindval/{part}{s}"
            os.makedirs(d + "/noisy", exist_ok=True)
            for stem, path in cleans.items():
                c = metrics.load_rgb(path)
                rivals.save(c + s / 255 * np.random.default_rng(1000 + s).standard_normal(c.shape), f"{d}/noisy/{stem}.png")
            for name, run in runs.items():
                out = f"{d}/{name}"
                flag = "--run" if os.path.isdir(run) else "--model"
                subprocess.run([aekit, "denoise", flag, run, "--input", d + "/noisy", "--out", out, "--quiet"], check=True)
                ps = [metrics.psnr_rgb(metrics.load_rgb(f"{out}/{stem}.png"), metrics.load_rgb(path)) for stem, path in cleans.items()]
                print(part, s, name, " ".join(f"{p:.2f}" for p in ps), f"mean {np.mean(ps):.3f}", flush=True)


if __name__ == "__main__":
    main()
