"""Flat colour patches with a channel at 0 or 1, under sigma 25/255 noise clipped to [0, 1]:
what a denoiser outputs there shows whether it undoes the clipped noise's bias (NOTES.md,
"Photos: saturated channels"). Each patch is 96x96 of one colour, noise of seed 5 (one stream
over the patches in order), 8 bits; the figure is the output's mean per channel over the inner
64x64, against the true colour.

    python flat_patches.py WORK AEKIT_BIN NAME=RUN_OR_MODEL [NAME=...]
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402
import rivals  # noqa: E402

PATCHES = {"teal": (0.0, 0.2, 0.25), "teal2": (0.02, 0.2, 0.25), "dark": (0.0, 0.05, 0.08), "sky": (0.6, 0.85, 1.0)}


def main():
    work, aekit = sys.argv[1], sys.argv[2]
    runs = dict(a.split("=", 1) for a in sys.argv[3:])
    os.makedirs(f"{work}/noisy", exist_ok=True)
    rng = np.random.default_rng(5)
    for stem, colour in PATCHES.items():
        c = np.ones((96, 96, 3)) * np.array(colour)
        rivals.save(c + 25 / 255 * rng.standard_normal(c.shape), f"{work}/noisy/{stem}.png")
    for name, run in runs.items():
        flag = "--run" if os.path.isdir(run) else "--model"
        subprocess.run([aekit, "denoise", flag, run, "--input", f"{work}/noisy", "--out", f"{work}/{name}", "--quiet"], check=True)
        for stem, colour in PATCHES.items():
            mean = metrics.load_rgb(f"{work}/{name}/{stem}.png")[16:-16, 16:-16].mean(axis=(0, 1))
            print(f"{stem:6s} true {colour} {name}: {np.round(mean, 4)}", flush=True)


if __name__ == "__main__":
    main()
