"""Validation series for choosing aekit's series defaults: synthetic series of my own, never the
UCR benchmark series (bench/series/run.py), so choices made here are not tuned on the test.

Each series has a normal training part (1,500 points) and a test part (5,000 points) holding
one anomaly of 3-60 points placed uniformly in points 800-4,600; base signals and anomaly kinds
in the style of the UCR anomaly archive (periodic signals with noise and drift; bursts, flat
lines, missing or misshapen beats, frequency and amplitude changes, spikes). Seeded.

For each point-score mode it runs the series contract
  aekit anomaly fit --data train.csv --time-column timestamp --label-column is_anomaly --window 128
  aekit anomaly score --run R --data test.csv --time-column timestamp --label-column is_anomaly
and prints per series and mean: point AUROC and the UCR hit (highest point within 100 points of
the labelled region).

    python validate.py AEKIT_BINARY WORK_DIR [--modes shrunk window] [--seeds 0 1 2] [--extra ARGS...]

(numpy and scikit-learn: the venv of bench/tables, or the CI venv ~/.cache/aekit/py-venv.)
`--modes default` passes no --point-score; `--extra` goes to `anomaly fit` (e.g. `--model dense`).
"""
import argparse
import csv
import json
import os
import subprocess
import sys

import numpy as np
from sklearn.metrics import roc_auc_score

N_TRAIN, N_TEST = 1500, 5000


def ecg(t, period, rng, width=1.0):
    phase = (t % period) / period
    beat = (1.0 * np.exp(-((phase - 0.30) / (0.012 * width)) ** 2)
            - 0.15 * np.exp(-((phase - 0.27) / (0.01 * width)) ** 2)
            + 0.25 * np.exp(-((phase - 0.55) / (0.05 * width)) ** 2))
    return beat


def base(kind, t, rng):
    if kind == "sine":
        return np.sin(2 * np.pi * t / 80)
    if kind == "square":
        return np.sign(np.sin(2 * np.pi * t / 120))
    if kind == "ecg":
        return ecg(t, 100, rng)
    if kind == "sawtooth":
        return 2 * ((t / 150) % 1.0) - 1
    if kind == "mix":
        return np.sin(2 * np.pi * t / 60) + 0.5 * np.sin(2 * np.pi * t / 23) + 0.0002 * t
    if kind == "seasonal":
        return np.sin(2 * np.pi * t / 200) + 0.3 * np.sin(2 * np.pi * t / 37)
    raise ValueError(kind)


# (base, anomaly kind): eight series per seed.
PLAN = [("sine", "burst"), ("square", "flat"), ("ecg", "missing_beat"), ("sawtooth", "fast_cycle"),
        ("mix", "amplitude"), ("ecg", "wide_beat"), ("seasonal", "spike"), ("sine", "reverse")]


def make(kind, anomaly, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(N_TRAIN + N_TEST, dtype=float)
    x = base(kind, t, rng) + rng.normal(0, 0.05, t.size)
    labels = np.zeros(t.size, dtype=int)
    length = {"burst": 30, "flat": 40, "missing_beat": 60, "fast_cycle": 75, "amplitude": 50,
              "wide_beat": 40, "spike": 3, "reverse": 40}[anomaly]
    start = N_TRAIN + int(rng.integers(800, 4600 - length))
    seg = slice(start, start + length)
    if anomaly == "burst":
        x[seg] += rng.normal(0, 0.5, length)
    elif anomaly == "flat":
        x[seg] = x[start]
    elif anomaly == "missing_beat":
        # One beat of the 100-point cycle left out: the baseline instead.
        beat0 = start - (start % 100)
        seg = slice(beat0 + 15, beat0 + 75)
        x[seg] = rng.normal(0, 0.05, 60)
    elif anomaly == "fast_cycle":
        x[seg] = base(kind, t[start] + 2 * (t[seg] - t[start]), rng) + rng.normal(0, 0.05, length)
    elif anomaly == "amplitude":
        x[seg] *= 1.6
    elif anomaly == "wide_beat":
        beat0 = start - (start % 100)
        seg = slice(beat0 + 10, beat0 + 50)
        x[seg] = ecg(t[seg], 100, rng, width=2.5) + rng.normal(0, 0.05, 40)
    elif anomaly == "spike":
        x[seg] += 2.0
    elif anomaly == "reverse":
        x[seg] = x[seg][::-1]
    labels[seg] = 1
    return x, labels


def write(path, x, labels, offset):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp", "value", "is_anomaly"])
        for i, (v, l) in enumerate(zip(x, labels)):
            w.writerow([offset + i, f"{v:.6f}", int(l)])


def evaluate(aekit, work, name, mode, extra):
    run = os.path.join(work, f"{name}-{mode}")
    base_args = ["--time-column", "timestamp", "--label-column", "is_anomaly"]
    fit = [aekit, "anomaly", "fit", "--data", os.path.join(work, name, "train.csv"), *base_args,
           "--window", "128", "--out", run, "--quiet", *extra]
    if mode != "default":
        fit += ["--point-score", mode]
    subprocess.run(fit, check=True, stdout=subprocess.DEVNULL)
    out = os.path.join(run, "scored")
    subprocess.run([aekit, "anomaly", "score", "--run", run, "--data", os.path.join(work, name, "test.csv"),
                    *base_args, "--out", os.path.join(out, "scores.csv")], check=True, stdout=subprocess.DEVNULL)
    rows = list(csv.DictReader(open(os.path.join(out, "scores.csv"))))
    s = np.array([float(r["score"]) for r in rows])
    y = np.array([int(r["anomalous"]) for r in rows])
    top = int(np.argmax(s))
    where = np.flatnonzero(y)
    hit = bool(where[0] - 100 <= top <= where[-1] + 100)
    return roc_auc_score(y, s), hit, top, (int(where[0]), int(where[-1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("aekit")
    ap.add_argument("work")
    ap.add_argument("--modes", nargs="+", default=["local", "window"])
    ap.add_argument("--seeds", nargs="+", type=int, default=[0])
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[])
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    results = {m: [] for m in a.modes}
    for seed in a.seeds:
        for k, (kind, anomaly) in enumerate(PLAN):
            name = f"s{seed}-{k}-{kind}-{anomaly}"
            x, labels = make(kind, anomaly, 1000 * seed + k)
            os.makedirs(os.path.join(a.work, name), exist_ok=True)
            write(os.path.join(a.work, name, "train.csv"), x[:N_TRAIN], labels[:N_TRAIN], 0)
            write(os.path.join(a.work, name, "test.csv"), x[N_TRAIN:], labels[N_TRAIN:], N_TRAIN)
            line = {"series": name}
            for m in a.modes:
                auc, hit, top, region = evaluate(a.aekit, a.work, name, m, a.extra)
                results[m].append((auc, hit))
                line[m] = {"auroc": round(auc, 4), "hit": hit, "top": top}
                line["anomaly"] = region
            print(json.dumps(line), flush=True)
    for m in a.modes:
        aucs = [r[0] for r in results[m]]
        hits = sum(r[1] for r in results[m])
        print(json.dumps({"mode": m, "mean_auroc": round(float(np.mean(aucs)), 4), "hits": hits, "of": len(aucs)}))


if __name__ == "__main__":
    sys.exit(main())
