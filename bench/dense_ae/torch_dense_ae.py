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
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import torch_ae  # noqa: E402

# Pin OpenMP/BLAS threads *before* torch is imported.
ARGS = torch_ae.parse_args(torch_ae.parser(__doc__, default_train_samples=60000))

import torch  # noqa: E402
from torch import nn  # noqa: E402


def build_model():
    return nn.Sequential(
        nn.Linear(784, 128), nn.ReLU(),
        nn.Linear(128, 64), nn.ReLU(),
        nn.Linear(64, 32), nn.ReLU(),
        nn.Linear(32, 64), nn.ReLU(),
        nn.Linear(64, 128), nn.ReLU(),
        nn.Linear(128, 784),  # logits
    )


def test_sums(model, xb):
    logits = model(xb)
    return {
        "test_bce": float(nn.functional.binary_cross_entropy_with_logits(logits, xb, reduction="none").double().sum()),
        "test_mse": float(((torch.sigmoid(logits) - xb) ** 2).double().sum()),
    }


if __name__ == "__main__":
    sys.exit(torch_ae.run(ARGS, build_model, nn.BCEWithLogitsLoss(), test_sums, image_shape=(784,)))
