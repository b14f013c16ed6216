"""scikit-learn's figures for `aekit features` on MNIST: LogisticRegression(C=1) on standardized raw
pixels and on standardized PCA-d features, trained on all 60,000 training images, accuracy on the
10,000 test images. Each is fitted twice: with scikit-learn's default max_iter=100 (what a user
gets; lbfgs usually stops there with a ConvergenceWarning on raw pixels) and with max_iter=5000
(converged to scikit-learn's default tol=1e-4), the setting aekit's solver is compared with.

    python bench/features/sklearn_features.py --data-dir ../shared/data --dim 32 [--features raw,pca] [--max-iters 100,5000]

Prints one JSON object per fit.
"""
import argparse, gzip, json, os, time, warnings

import numpy as np
import sklearn
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def idx(path, offset):
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="../shared/data")
    ap.add_argument("--dim", type=int, default=32)
    ap.add_argument("--max-iters", default="100,5000")
    ap.add_argument("--features", default="raw,pca")
    a = ap.parse_args()
    d = os.path.join(a.data_dir, "mnist")
    xtr = idx(f"{d}/train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float64) / 255
    ytr = idx(f"{d}/train-labels-idx1-ubyte.gz", 8)
    xte = idx(f"{d}/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float64) / 255
    yte = idx(f"{d}/t10k-labels-idx1-ubyte.gz", 8)
    for name in a.features.split(","):
        if name == "pca":
            pca = PCA(n_components=a.dim, svd_solver="full").fit(xtr)
            ftr, fte = pca.transform(xtr), pca.transform(xte)
        else:
            ftr, fte = xtr, xte
        for max_iter in map(int, a.max_iters.split(",")):
            clf = make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=max_iter))
            t0 = time.perf_counter()
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always", ConvergenceWarning)
                clf.fit(ftr, ytr)
            secs = time.perf_counter() - t0
            converged = not any(issubclass(x.category, ConvergenceWarning) for x in w)
            print(json.dumps({
                "tool": "sklearn", "features": name, "dim": ftr.shape[1], "max_iter": max_iter,
                "n_iter": int(clf[-1].n_iter_[0]), "converged": converged,
                "test_accuracy": float(clf.score(fte, yte)), "fit_seconds": round(secs, 2),
                "sklearn": sklearn.__version__, "numpy": np.__version__,
            }), flush=True)


if __name__ == "__main__":
    main()
