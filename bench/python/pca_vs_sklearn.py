"""aekit.PCA beside sklearn.decomposition.PCA on full MNIST train (60000 x 784), n_components=50.

    ~/.cache/aekit-py-venv/bin/python bench/python/pca_vs_sklearn.py WORK [--repeats 5] [--mnist DIR]

What is measured: wall time of ``PCA(n_components=50, svd_solver=S).fit(X)`` for S in auto, full,
randomized (both libraries) and covariance_eigh (scikit-learn; aekit maps it to the same exact
solver as "full"), with X the MNIST training images scaled to [0, 1] as float64 (what Python users
usually pass; aekit converts it to float32 inside fit, and that copy is timed) and as float32.
Each cell is the median of --repeats fits (default 5) after one warm-up fit that is not counted.
Both libraries get 2 threads: scikit-learn's BLAS/LAPACK through threadpoolctl, aekit uses the
machine's 2 cores. Accuracy: max |explained_variance_ratio_(aekit) - explained_variance_ratio_(sklearn)|
for the same solver name, and against sklearn's covariance_eigh (the exact reference). "auto" is
reported with the solver each library picked (sklearn: ``_fit_svd_solver``; aekit exposes no
fitted attribute, so its rule ``PCA._solver(n, p, k)`` is asked).

Prints a markdown table and writes WORK/pca_vs_sklearn.json.
"""
import argparse
import gzip
import json
import os
import platform
import statistics
import sys
import time

import numpy as np


def read_idx_images(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = np.frombuffer(data[:16], dtype=">u4")
    assert magic == 2051, magic
    return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, h * w)


def timed_fits(make, X, repeats):
    make().fit(X)  # warm-up, not counted
    times, est = [], None
    for _ in range(repeats):
        est = make()
        t0 = time.perf_counter()
        est.fit(X)
        times.append(time.perf_counter() - t0)
    return times, est


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--mnist", default="/work/shared/data/mnist")
    ap.add_argument("--n-components", type=int, default=50)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    import sklearn
    from sklearn.decomposition import PCA as SkPCA
    from threadpoolctl import threadpool_limits, threadpool_info

    import aekit

    X8 = read_idx_images(os.path.join(a.mnist, "train-images-idx3-ubyte.gz"))
    k = a.n_components
    rows = []
    with threadpool_limits(limits=2):
        blas = [{"api": i.get("internal_api"), "threads": i.get("num_threads"), "version": i.get("version")} for i in threadpool_info()]
        for dtype in (np.float64, np.float32):
            X = (X8 / 255.0).astype(dtype)
            n, p = X.shape
            fitted = {}
            for lib, solvers in (("aekit", ("auto", "full", "randomized")), ("sklearn", ("auto", "full", "randomized", "covariance_eigh"))):
                for s in solvers:
                    if lib == "aekit":
                        make = lambda s=s: aekit.PCA(n_components=k, svd_solver=s, random_state=0)
                    else:
                        make = lambda s=s: SkPCA(n_components=k, svd_solver=s, random_state=0)
                    times, est = timed_fits(make, X, a.repeats)
                    picked = est._solver(n, p, k) if lib == "aekit" else est._fit_svd_solver
                    fitted[(lib, s)] = est
                    rows.append({"dtype": np.dtype(dtype).name, "library": lib, "svd_solver": s, "picked": picked,
                                 "median_s": statistics.median(times), "times_s": times,
                                 "evr_dtype": est.explained_variance_ratio_.dtype.name,
                                 "evr_sum": float(np.sum(est.explained_variance_ratio_))})
                    print(f"  {np.dtype(dtype).name} {lib} {s} ({picked}): median {statistics.median(times):.3f} s", file=sys.stderr, flush=True)
            ref = fitted[("sklearn", "covariance_eigh")].explained_variance_ratio_.astype(np.float64)
            for r in rows:
                if r["dtype"] != np.dtype(dtype).name:
                    continue
                e = fitted[(r["library"], r["svd_solver"])].explained_variance_ratio_.astype(np.float64)
                r["max_abs_evr_diff_vs_sklearn_covariance_eigh"] = float(np.max(np.abs(e - ref)))
                if r["library"] == "aekit":
                    same = fitted[("sklearn", r["svd_solver"])].explained_variance_ratio_.astype(np.float64)
                    r["max_abs_evr_diff_vs_sklearn_same_solver"] = float(np.max(np.abs(e - same)))
                    sk = next(q for q in rows if q["dtype"] == r["dtype"] and q["library"] == "sklearn" and q["svd_solver"] == r["svd_solver"])
                    r["speedup_vs_sklearn_same_solver"] = sk["median_s"] / r["median_s"]

    print(f"\nPCA fit, MNIST train {X8.shape[0]}x{X8.shape[1]}, n_components={k}, median of {a.repeats} fits after 1 warm-up, 2 threads\n")
    print("| input | library | svd_solver | solver picked | median fit (s) | sklearn same solver (s) | speed-up | max abs diff EVR vs sklearn same solver | max abs diff EVR vs sklearn covariance_eigh |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        sk = next((q for q in rows if q["dtype"] == r["dtype"] and q["library"] == "sklearn" and q["svd_solver"] == r["svd_solver"]), None)
        same = r.get("max_abs_evr_diff_vs_sklearn_same_solver")
        print(f"| {r['dtype']} | {r['library']} | {r['svd_solver']} | {r['picked']} | {r['median_s']:.3f} | "
              f"{sk['median_s']:.3f} | " + (f"{r['speedup_vs_sklearn_same_solver']:.2f}x" if r["library"] == "aekit" else "-") + " | "
              + (f"{same:.2e}" if same is not None else "-") + f" | {r['max_abs_evr_diff_vs_sklearn_covariance_eigh']:.2e} |")

    out = {"benchmark": "pca_vs_sklearn", "shape": list(X8.shape), "n_components": k, "repeats": a.repeats, "warmup": 1,
           "versions": {"python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__, "aekit": aekit.__version__},
           "blas": blas, "cpu_count": os.cpu_count(), "rows": rows}
    path = os.path.join(a.work, "pca_vs_sklearn.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\n(results in {path})")


if __name__ == "__main__":
    main()
