"""Builds the table anomaly suite: tasks made from data sets that ship inside PyPI packages
(scikit-learn's bundled sets: BSD-3-Clause; PyOD's generator: BSD-2-Clause; UCR classification
series bundled in aeon 1.6.0's wheel, BSD-3-Clause, read from the wheel without installing
aeon: one-class tasks, each series a row of its values), one folder per task
with train.csv (normal rows only, no label), val.csv and test.csv (normal and anomalous rows, an
`anomaly` column: 1 = anomaly, as PyOD and ODDS mark them).

Split per task, seeded: normal rows 60% train / 20% validation / 20% test; anomalies half to
validation, half to test, each half down-sampled to at most 25% of that part's normal rows
(anomalies stay the minority, and each part has enough of them for a stable AUROC). Defaults are chosen on val.csv; test.csv is reported.

    python make_suite.py OUT_DIR [--seed 0]
"""
import argparse
import csv
import os

import numpy as np
from sklearn import datasets


UCR = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf")


def ucr(name):
    """A UCR classification set (train and test parts together) from aeon's wheel: (X, y)."""
    import glob
    import subprocess
    import sys
    import zipfile

    cache = os.path.expanduser("~/.cache/aekit-bench/wheels")
    if not glob.glob(os.path.join(cache, "aeon-1.6.0-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", cache, "aeon==1.6.0"], check=True)
    z = zipfile.ZipFile(glob.glob(os.path.join(cache, "aeon-1.6.0-*.whl"))[0])
    xs, ys = [], []
    for part in ("TRAIN", "TEST"):
        data = False
        for line in z.read(f"aeon/datasets/data/{name}/{name}_{part}.ts").decode().splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.lower() == "@data":
                data = True
                continue
            if data:
                values, label = line.rsplit(":", 1)
                xs.append([float(v) for v in values.split(",")])
                ys.append(label)
    return np.array(xs), np.array(ys)


def tasks(seed):
    """(name, X, is_anomaly, origin) for each task."""
    out = []
    wine = datasets.load_wine()
    out.append(("wine-class0", wine.data, wine.target != 0, "scikit-learn load_wine; normal = cultivar 0"))
    bc = datasets.load_breast_cancer()
    out.append(("breast-cancer", bc.data, bc.target == 0, "scikit-learn load_breast_cancer (WDBC); normal = benign"))
    digits = datasets.load_digits()
    for d in (0, 8):
        out.append((f"digits-{d}", digits.data, digits.target != d, f"scikit-learn load_digits; normal = digit {d}"))
    iris = datasets.load_iris()
    out.append(("iris-setosa-versicolor", iris.data, iris.target == 2, "scikit-learn load_iris; normal = setosa and versicolor"))
    for name in UCR:
        x, y = ucr(name)
        first = sorted(set(y))[0]
        out.append((f"ucr-{name}", x, y != first, f"UCR {name} (aeon 1.6.0 wheel); normal = class {first}"))
    from pyod.utils.data import generate_data

    x_tr, x_te, y_tr, y_te = generate_data(n_train=1000, n_test=500, n_features=20, contamination=0.1, random_state=seed)
    out.append(("pyod-generate-20d", np.vstack([x_tr, x_te]), np.concatenate([y_tr, y_te]) == 1, "PyOD generate_data(n_features=20, contamination=0.1)"))
    return out


def write(path, x, y=None):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{j}" for j in range(x.shape[1])] + (["anomaly"] if y is not None else []))
        for i, row in enumerate(x):
            cells = [repr(float(v)) for v in row]
            if y is not None:
                cells.append(int(y[i]))
            w.writerow(cells)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    index = []
    for name, x, anomalous, origin in tasks(a.seed):
        x = np.asarray(x, dtype=np.float64)
        normal = rng.permutation(np.flatnonzero(~anomalous))
        anom = rng.permutation(np.flatnonzero(anomalous))
        n = len(normal)
        tr, va, te = normal[: int(0.6 * n)], normal[int(0.6 * n): int(0.8 * n)], normal[int(0.8 * n):]
        half = len(anom) // 2
        a_va = anom[:half][: max(1, int(0.25 * len(va)))]
        a_te = anom[half:][: max(1, int(0.25 * len(te)))]
        d = os.path.join(a.out, name)
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, "train.csv"), x[tr])
        for part, nrm, ano in (("val", va, a_va), ("test", te, a_te)):
            idx = rng.permutation(np.concatenate([nrm, ano]))
            write(os.path.join(d, f"{part}.csv"), x[idx], np.isin(idx, ano).astype(int))
        index.append((name, x.shape[1], len(tr), len(va), len(a_va), len(te), len(a_te), origin))
    with open(os.path.join(a.out, "suite.tsv"), "w") as f:
        f.write("task\tfeatures\ttrain\tval_normal\tval_anomalies\ttest_normal\ttest_anomalies\torigin\n")
        for row in index:
            f.write("\t".join(map(str, row)) + "\n")
    print(open(os.path.join(a.out, "suite.tsv")).read())


if __name__ == "__main__":
    main()
