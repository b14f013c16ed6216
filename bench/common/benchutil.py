"""Helpers shared by the Python benchmark scripts under bench/.

A script puts this folder on sys.path relative to its own file and imports it:

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
    import benchutil

Nothing here imports numpy at module level, so `pin_threads` can still take effect: call it
(or `parse_args`, which calls it) before numpy, scipy or torch are imported.
"""
import argparse
import gzip
import json
import os
import platform
import statistics

REPO_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def default_data_dir():
    """$AEKIT_DATA, else ../shared/data relative to the repository root."""
    return os.environ.get("AEKIT_DATA") or os.path.join(REPO_ROOT, "..", "shared", "data")


def arg_parser(doc):
    """An ArgumentParser showing `doc` in --help, with --data-dir already added."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=default_data_dir())
    return p


def pin_threads(n):
    """Pin OpenMP/BLAS threads; effective only before numpy/scipy/torch are imported."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)


def parse_args(parser):
    """Parse the command line (the parser must define --threads) and pin the thread count."""
    args = parser.parse_args()
    pin_threads(args.threads)
    return args


def load_idx_images(path):
    """Read a gzipped IDX3 image file -> float32 array [n, rows*cols] in [0, 1]."""
    import numpy as np

    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 2051:
        raise ValueError(f"{path}: bad IDX3 magic {magic:#x}")
    n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    data = np.frombuffer(raw, dtype=np.uint8, offset=16)
    if data.size != n * rows * cols:
        raise ValueError(f"{path}: expected {n * rows * cols} pixels, got {data.size}")
    return data.reshape(n, rows * cols).astype(np.float32) / np.float32(255.0)


def mnist_path(data_dir, split="train"):
    """Path of the MNIST image file of `split` ("train" or "t10k") under DATA_DIR/mnist/."""
    return os.path.join(data_dir, "mnist", f"{split}-images-idx3-ubyte.gz")


def load_mnist(data_dir, split="train"):
    """MNIST images of `split` ("train" or "t10k") from DATA_DIR/mnist/, [n, 784] float32 in [0, 1]."""
    return load_idx_images(mnist_path(data_dir, split))


def summary(runs):
    """{"median_s", "min_s", "max_s", "runs"} of a list of timings in seconds."""
    return {"median_s": statistics.median(runs), "min_s": min(runs), "max_s": max(runs), "runs": runs}


def print_json(obj):
    """Print one JSON object as one line, flushed at once."""
    print(json.dumps(obj), flush=True)


def print_versions(**fields):
    """Print the {"kind": "versions", "python": ..., **fields} JSON line."""
    print_json({"kind": "versions", "python": platform.python_version(), **fields})


def read_jsonl(path):
    """The JSON objects of a JSON-lines file, blank lines skipped."""
    with open(path) as f:
        return [json.loads(line) for line in (raw.strip() for raw in f) if line]
