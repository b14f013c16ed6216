#!/usr/bin/env python3
"""Train the aekit default dense autoencoder in PyTorch (CPU) and time each epoch.

Model (identical to `aekit train --model dense` defaults):
  Linear(784, 128) -> ReLU -> Linear(128, 64) -> ReLU -> Linear(64, 32) -> ReLU
  -> Linear(32, 64) -> ReLU -> Linear(64, 128) -> ReLU -> Linear(128, 784)   (logits)
Loss: binary cross-entropy with logits, mean over all pixels and samples
(BCEWithLogitsLoss). Adam(lr 1e-3, eps 1e-8), batch 128, reshuffled every epoch
(the last, partial batch is kept, as aekit does), seed 0.
Data: the MNIST training images (default all 60000), pixels/255, float32, [N, 784];
test BCE per pixel and test MSE per pixel (of sigmoid(logits)) on the 10000 test
images after training.

Timed per epoch, like aekit's `train_seconds`: the shuffle, batch gathering,
forward, backward, optimizer step and reading the loss value; no evaluation.

Prints one JSON object per line:
  {"kind":"versions", "python":..., "torch":..., ...}
  {"tool":"pytorch","epoch":1,"train_seconds":...,"train_loss":...}   (one per epoch)
  {"tool":"pytorch","kind":"final","test_bce":...,"test_mse":...,"n_train":...,"n_test":...}

Usage: python torch_dense_ae.py [--data-dir DIR] [--epochs 3] [--threads 2]
                                [--train-samples 60000] [--batch-size 128] [--seed 0]
Data dir defaults to $AEKIT_DATA or ../shared/data (relative to the repo root);
the IDX files are read from DIR/mnist/.
"""
import argparse
import os


def _parse_args():
    here = os.path.dirname(os.path.abspath(__file__))
    repo_root = os.path.normpath(os.path.join(here, "..", ".."))
    default_data = os.environ.get("AEKIT_DATA") or os.path.join(repo_root, "..", "shared", "data")
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data-dir", default=default_data)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-samples", type=int, default=60000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


ARGS = _parse_args()

# Pin OpenMP/BLAS threads *before* torch is imported.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

import gzip  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402


def load_idx_images(path):
    """Read a gzipped IDX3 image file -> float32 array [n, rows*cols] in [0, 1]."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic != 2051:
        raise ValueError(f"{path}: bad IDX3 magic {magic:#x}")
    n, rows, cols = (int.from_bytes(raw[o:o + 4], "big") for o in (4, 8, 12))
    x = np.frombuffer(raw, dtype=np.uint8, offset=16, count=n * rows * cols)
    return (x.astype(np.float32) / np.float32(255.0)).reshape(n, rows * cols)


def build_model():
    return nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 64), nn.ReLU(),
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 784),  # logits
    )


def main():
    torch.set_num_threads(ARGS.threads)
    try:
        torch.set_num_interop_threads(ARGS.threads)
    except RuntimeError:
        pass
    torch.manual_seed(ARGS.seed)

    mnist = os.path.join(ARGS.data_dir, "mnist")
    x_train = torch.from_numpy(load_idx_images(os.path.join(mnist, "train-images-idx3-ubyte.gz"))[: ARGS.train_samples].copy())
    x_test = torch.from_numpy(load_idx_images(os.path.join(mnist, "t10k-images-idx3-ubyte.gz")).copy())

    print(json.dumps({
        "kind": "versions",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "mkl": bool(torch.backends.mkl.is_available()),
        "openmp": bool(torch.backends.openmp.is_available()),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }), flush=True)

    model = build_model()
    loss_fn = nn.BCEWithLogitsLoss()  # mean over all elements
    opt = torch.optim.Adam(model.parameters(), lr=ARGS.lr, eps=1e-8)
    gen = torch.Generator().manual_seed(ARGS.seed)
    n = x_train.shape[0]

    model.train()
    for epoch in range(1, ARGS.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        total, seen = 0.0, 0
        for start in range(0, n, ARGS.batch_size):
            idx = order[start:start + ARGS.batch_size]
            xb = x_train.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
            seen += idx.numel()
        train_seconds = time.perf_counter() - t0
        print(json.dumps({"tool": "pytorch", "epoch": epoch, "train_seconds": train_seconds,
                          "train_loss": total / seen}), flush=True)

    model.eval()
    bce, sq, count = 0.0, 0.0, 0
    with torch.no_grad():
        for start in range(0, x_test.shape[0], 1000):
            xb = x_test[start:start + 1000]
            logits = model(xb)
            bce += float(nn.functional.binary_cross_entropy_with_logits(logits, xb, reduction="none").double().sum())
            sq += float(((torch.sigmoid(logits) - xb) ** 2).double().sum())
            count += xb.numel()
    print(json.dumps({"tool": "pytorch", "kind": "final", "test_bce": bce / count, "test_mse": sq / count,
                      "n_train": int(n), "n_test": int(x_test.shape[0])}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
