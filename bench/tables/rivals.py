"""PyOD's detectors at their defaults on each task of the table suite: fit on train.csv (normal
rows), AUROC on val.csv and test.csv. Prints one JSON line per (task, detector).

    python rivals.py SUITE_DIR [--seed 0]
"""
import argparse
import csv
import json
import os
import time

import numpy as np
from sklearn.metrics import roc_auc_score


def read(path):
    with open(path) as f:
        r = csv.reader(f)
        head = next(r)
        rows = [list(map(float, row)) for row in r]
    a = np.array(rows)
    if head[-1] == "anomaly":
        return a[:, :-1], a[:, -1].astype(int)
    return a, None


def detectors(seed):
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.ecod import ECOD
    from pyod.models.iforest import IForest
    from pyod.models.vae import VAE

    return {
        "pyod-autoencoder": lambda: AutoEncoder(random_state=seed, verbose=0),
        "pyod-vae": lambda: VAE(random_state=seed, verbose=0),
        "pyod-iforest": lambda: IForest(random_state=seed),
        "pyod-ecod": lambda: ECOD(),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("suite")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    import torch

    torch.set_num_threads(2)
    for task in sorted(os.listdir(a.suite)):
        d = os.path.join(a.suite, task)
        if not os.path.isdir(d):
            continue
        xtr, _ = read(os.path.join(d, "train.csv"))
        xva, yva = read(os.path.join(d, "val.csv"))
        xte, yte = read(os.path.join(d, "test.csv"))
        for name, make in detectors(a.seed).items():
            if a.only and a.only not in name:
                continue
            t0 = time.perf_counter()
            det = make()
            det.fit(xtr)
            secs = time.perf_counter() - t0
            out = {
                "task": task,
                "detector": name,
                "val_auroc": roc_auc_score(yva, det.decision_function(xva)),
                "test_auroc": roc_auc_score(yte, det.decision_function(xte)),
                "fit_seconds": secs,
            }
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
