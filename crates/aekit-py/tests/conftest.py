"""Shared fixtures: the aekit program (for run folders both ways) and the embedded MNIST subset."""

import gzip
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def aekit_bin():
    """The release binary `cargo test --release` builds (or $AEKIT_BIN)."""
    p = pathlib.Path(os.environ.get("AEKIT_BIN", ROOT / "target/release/aekit"))
    assert p.is_file(), f"{p} is missing: build it with `cargo build --release` (.ci/run does) or set AEKIT_BIN"
    return str(p)


def run_cli(aekit_bin, *args, cwd):
    env = dict(os.environ, AEKIT_CACHE=str(pathlib.Path(cwd) / "cache"), AEKIT_MIRROR="http://127.0.0.1:9/")
    env.pop("AEKIT_DATA", None)
    r = subprocess.run([aekit_bin, *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r


def _idx(path):
    raw = gzip.open(path).read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


@pytest.fixture(scope="session")
def mnist_subset():
    """The embedded subset (4,000 training and 1,000 test images): X in [0, 1], [n, 784]."""
    d = ROOT / "assets/mnist-subset"
    xtr = _idx(d / "train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    ytr = _idx(d / "train-labels-idx1-ubyte.gz").astype(np.int64)
    xte = _idx(d / "t10k-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    yte = _idx(d / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    return xtr, ytr, xte, yte


def table(n, anomalies, seed):
    """A table whose column d follows a, b and c; every 4th row breaks it when `anomalies`."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.uniform(0, 10, n), rng.uniform(-2, 3, n), rng.uniform(0, 1, n)
    d = a + 2 * b - c
    y = np.zeros(n, dtype=int)
    if anomalies:
        y[::4] = 1
        d[::4] = -3 * a[::4]
    return np.column_stack([a, b, c, d]).round(4), y
