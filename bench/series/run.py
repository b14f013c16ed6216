"""Series anomaly benchmark, UCR anomaly-archive protocol (KDD Cup 2021): a series whose first
part is normal (TRAIN) and whose rest holds one anomaly; a detector is right when its
highest-scored time point lies within 100 points of the labelled region. Data: aeon's bundled
copy of archive series 135 (InternalBleeding16; aeon 1.6.0, BSD-3-Clause), taken from the wheel
PyPI serves without installing aeon.

aekit runs the issue's command contract; PyOD's IForest, ECOD and AutoEncoder (defaults) score
the same windows; the matrix profile (stumpy, AB-join against the normal part) scores the same
subsequences. Every method's window scores become point scores the same way aekit's do (mean
over the windows covering a point).

    python run.py AEKIT_BINARY WORK_DIR [--window 128]
"""
import argparse
import csv
import glob
import io
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
from sklearn.metrics import roc_auc_score

AEON = "aeon==1.6.0"
SERIES = "aeon/datasets/data/KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_{}.csv"


def fetch(work):
    cache = os.path.expanduser("~/.cache/aekit-bench/wheels")
    if not glob.glob(os.path.join(cache, "aeon-1.6.0-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, AEON], check=True)
    z = zipfile.ZipFile(glob.glob(os.path.join(cache, "aeon-1.6.0-*.whl"))[0])
    paths = {}
    for part in ("TRAIN", "TEST"):
        p = os.path.join(work, f"{part.lower()}.csv")
        with open(p, "wb") as f:
            f.write(z.read(SERIES.format(part)))
        paths[part] = p
    return paths


def read(path):
    rows = list(csv.DictReader(open(path)))
    return np.array([float(r["value"]) for r in rows]), np.array([int(float(r["is_anomaly"])) for r in rows])


def windows(x, w):
    return np.lib.stride_tricks.sliding_window_view(x, w)


def points(window_scores, n, w):
    """Mean over the windows covering each point (window k covers points k..k+w-1)."""
    s = np.zeros(n)
    c = np.zeros(n)
    for k, v in enumerate(window_scores):
        s[k:k + w] += v
        c[k:k + w] += 1
    return s / np.maximum(c, 1)


def judge(name, scores, labels, secs):
    region = np.flatnonzero(labels)
    top = int(np.argmax(scores))
    hit = region[0] - 100 <= top <= region[-1] + 100
    return {"method": name, "top_point": top, "anomaly": [int(region[0]), int(region[-1])], "ucr_hit": bool(hit), "auroc": roc_auc_score(labels, scores), "seconds": secs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("aekit")
    ap.add_argument("work")
    ap.add_argument("--window", type=int, default=128)
    a = ap.parse_args()
    import time

    os.makedirs(a.work, exist_ok=True)
    p = fetch(a.work)
    train, _ = read(p["TRAIN"])
    test, labels = read(p["TEST"])
    w = a.window
    out = []

    t0 = time.perf_counter()
    common = ["--time-column", "timestamp", "--label-column", "is_anomaly"]
    subprocess.run([a.aekit, "anomaly", "fit", "--data", p["TRAIN"], "--window", str(w), "--out", os.path.join(a.work, "R"), "--quiet", *common], check=True)
    scores_csv = os.path.join(a.work, "S", "scores.csv")
    subprocess.run([a.aekit, "anomaly", "score", "--run", os.path.join(a.work, "R"), "--data", p["TEST"], "--out", scores_csv, "--quiet", *common], check=True)
    s = np.array([float(r["score"]) for r in csv.DictReader(open(scores_csv))])
    out.append(judge("aekit (defaults, --window %d)" % w, s, labels, time.perf_counter() - t0))

    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.ecod import ECOD
    from pyod.models.iforest import IForest

    for name, make in (("pyod-iforest", lambda: IForest(random_state=0)), ("pyod-ecod", ECOD), ("pyod-autoencoder", lambda: AutoEncoder(random_state=0, verbose=0))):
        t0 = time.perf_counter()
        det = make()
        det.fit(windows(train, w))
        out.append(judge(name, points(det.decision_function(windows(test, w)), len(test), w), labels, time.perf_counter() - t0))

    import stumpy

    t0 = time.perf_counter()
    mp = stumpy.stump(test, w, T_B=train, ignore_trivial=False)[:, 0].astype(float)
    out.append(judge("matrix profile (stumpy AB-join with the normal part)", points(mp, len(test), w), labels, time.perf_counter() - t0))
    for r in out:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
