"""Blind denoisers on the validation photos of contract_runs.sh (its WORK/val and WORK/sat
folders: coffee, hopper, motorcycle, natural and with saturated colours) at sigma 15, 25 and 50
(8-bit levels; noise of seed 1000 + sigma as blind.py, clipped, 8 bits). Prints the PSNR RGB
per photo and the mean, per set, sigma and model. Reads no test photo: it chooses settings.

    python blind_val.py WORK AEKIT_BIN NAME=RUN_OR_MODEL [NAME=...]

RUN_OR_MODEL: a run folder (`--run`) or a built-in model name (`--model`, e.g.
photo-denoise-blind).
"""
import glob
import os
import subprocess
import sys

import numpy as np
from PIL import Image


def main():
    work, aekit = sys.argv[1], sys.argv[2]
    runs = dict(a.split("=", 1) for a in sys.argv[3:])
    for part in ["val", "sat"]:
        cleans = sorted(glob.glob(f"{work}/{part}/clean/*.png"))
        if not cleans:
            sys.exit(f"error: {work}/{part}/clean has no photos: run contract_runs.sh first")
        for s in [15, 25, 50]:
            d = f"{work}/blindval/{part}{s}"
            os.makedirs(d + "/noisy", exist_ok=True)
            for f in cleans:
                c = np.asarray(Image.open(f)).astype(np.float64) / 255
                n = np.clip(c + s / 255 * np.random.default_rng(1000 + s).standard_normal(c.shape), 0, 1)
                Image.fromarray(np.round(n * 255).astype(np.uint8)).save(d + "/noisy/" + os.path.basename(f))
            for name, run in runs.items():
                out = f"{d}/{name}"
                flag = "--run" if os.path.isdir(run) else "--model"
                subprocess.run([aekit, "denoise", flag, run, "--input", d + "/noisy", "--out", out, "--quiet"], check=True)
                ps = []
                for f in cleans:
                    c = np.asarray(Image.open(f)).astype(np.float64) / 255
                    r = np.asarray(Image.open(out + "/" + os.path.basename(f))).astype(np.float64) / 255
                    ps.append(10 * np.log10(1 / np.mean((r - c) ** 2)))
                print(part, s, name, " ".join(f"{p:.2f}" for p in ps), f"mean {np.mean(ps):.3f}", flush=True)


if __name__ == "__main__":
    main()
