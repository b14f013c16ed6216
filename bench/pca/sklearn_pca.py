#!/usr/bin/env python3
"""Time scikit-learn PCA fits on MNIST train (60000 x 784, pixels/255, float32).

Times only `PCA(n_components=50, svd_solver=S, random_state=0).fit(X)` (not
loading) for S in full, covariance_eigh, randomized; median of N runs each.
Prints one JSON object per line:

  {"kind":"versions", "python":..., "numpy":..., ...}
  {"tool":"sklearn","solver":"full","median_s":...,"min_s":...,"max_s":...,"runs":[...]}

Usage: python sklearn_pca.py [--data-dir DIR] [--runs 5] [--threads 2]
                             [--components 50] [--solvers full,covariance_eigh,randomized]
Data dir defaults to $AEKIT_DATA or ../shared/data (relative to the repo root);
the IDX files are read from DIR/mnist/.
"""
import argparse
import os
import sys


def _parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.normpath(os.path.join(here, "..", ".."))
    default_data = os.environ.get("AEKIT_DATA") or os.path.join(repo_root, "..", "shared", "data")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=default_data)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--components", type=int, default=50)
    p.add_argument("--solvers", default="full,covariance_eigh,randomized")
    return p.parse_args()


ARGS = _parse_args()

# Pin BLAS/OpenMP threads *before* numpy/scipy are imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import gzip  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
import threadpoolctl  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402


def load_idx_images(path):
    """Read a gzipped IDX3 image file -> float32 array [n, rows*cols] in [0, 1]."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 2051:
        raise ValueError(f"{path}: bad IDX3 magic {magic}")
    n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    data = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if data.size != n * rows * cols:
        raise ValueError(f"{path}: expected {n * rows * cols} pixels, got {data.size}")
    return (data.reshape(n, rows * cols).astype(np.float32) / np.float32(255.0))


def main():
    path = os.path.join(ARGS.data_dir, "mnist", "train-images-idx3-ubyte.gz")
    if not os.path.exists(path):
        print(f"error: MNIST not found at {path} (set AEKIT_DATA or --data-dir)", file=sys.stderr)
        return 1
    X = load_idx_images(path)
    assert X.shape == (60000, 784) and X.dtype == np.float32, (X.shape, X.dtype)

    with threadpool_limits(limits=ARGS.threads):
        pools = [{"api": p.get("user_api"), "internal_api": p.get("internal_api"),
                  "num_threads": p.get("num_threads"), "version": p.get("version")}
                 for p in threadpool_info()]
        print(json.dumps({
            "kind": "versions",
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "sklearn": sklearn.__version__,
            "threadpoolctl": threadpoolctl.__version__,
            "threads": ARGS.threads,
            "threadpools": pools,
            "data_shape": list(X.shape),
            "data_dtype": str(X.dtype),
        }), flush=True)

        for solver in [s.strip() for s in ARGS.solvers.split(",") if s.strip()]:
            # One untimed warm-up fit (page-in, BLAS init), then the timed runs.
            PCA(n_components=ARGS.components, svd_solver=solver, random_state=0).fit(X)
            runs = []
            for _ in range(ARGS.runs):
                pca = PCA(n_components=ARGS.components, svd_solver=solver, random_state=0)
                t0 = time.perf_counter()
                pca.fit(X)
                runs.append(time.perf_counter() - t0)
            print(json.dumps({
                "tool": "sklearn",
                "solver": solver,
                "components": ARGS.components,
                "median_s": statistics.median(runs),
                "min_s": min(runs),
                "max_s": max(runs),
                "runs": runs,
                "explained_variance_ratio_sum": float(pca.explained_variance_ratio_.sum()),
            }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
