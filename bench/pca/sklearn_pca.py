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
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import benchutil  # noqa: E402


def _parser():
    p = benchutil.arg_parser(__doc__)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--components", type=int, default=50)
    p.add_argument("--solvers", default="full,covariance_eigh,randomized")
    return p


# Pins BLAS/OpenMP threads *before* numpy/scipy are imported.
ARGS = benchutil.parse_args(_parser())

import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
import threadpoolctl  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402


def main():
    path = benchutil.mnist_path(ARGS.data_dir)
    if not os.path.exists(path):
        print(f"error: MNIST not found at {path} (set AEKIT_DATA or --data-dir)", file=sys.stderr)
        return 1
    X = benchutil.load_idx_images(path)
    assert X.shape == (60000, 784) and X.dtype == np.float32, (X.shape, X.dtype)

    with threadpool_limits(limits=ARGS.threads):
        pools = [{"api": p.get("user_api"), "internal_api": p.get("internal_api"),
                  "num_threads": p.get("num_threads"), "version": p.get("version")}
                 for p in threadpool_info()]
        benchutil.print_versions(
            numpy=np.__version__,
            scipy=scipy.__version__,
            sklearn=sklearn.__version__,
            threadpoolctl=threadpoolctl.__version__,
            threads=ARGS.threads,
            threadpools=pools,
            data_shape=list(X.shape),
            data_dtype=str(X.dtype),
        )

        for solver in [s.strip() for s in ARGS.solvers.split(",") if s.strip()]:
            # One untimed warm-up fit (page-in, BLAS init), then the timed runs.
            PCA(n_components=ARGS.components, svd_solver=solver, random_state=0).fit(X)
            runs = []
            for _ in range(ARGS.runs):
                pca = PCA(n_components=ARGS.components, svd_solver=solver, random_state=0)
                t0 = time.perf_counter()
                pca.fit(X)
                runs.append(time.perf_counter() - t0)
            benchutil.print_json({
                "tool": "sklearn",
                "solver": solver,
                "components": ARGS.components,
                **benchutil.summary(runs),
                "explained_variance_ratio_sum": float(pca.explained_variance_ratio_.sum()),
            })
    return 0


if __name__ == "__main__":
    sys.exit(main())
