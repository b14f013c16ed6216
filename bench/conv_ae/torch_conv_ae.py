#!/usr/bin/env python3
"""Train the aekit default conv autoencoder in PyTorch (CPU) and time each epoch.

Model (identical to `aekit train --model conv` defaults):
  Conv2d(1, 32, 3, stride 2, padding 1) -> ReLU -> Conv2d(32, 64, 3, s2, p1) -> ReLU
  -> ConvTranspose2d(64, 32, 3, s2, p1, output_padding 1) -> ReLU
  -> ConvTranspose2d(32, 1, 3, s2, p1, output_padding 1) -> sigmoid
Loss: MSE, mean over all pixels and samples. Adam(lr 1e-3, eps 1e-8), batch 128,
reshuffled every epoch (the last, partial batch is kept, as aekit does), seed 0.
Data: the first N (default 20000) MNIST training images, pixels/255, float32,
[N, 1, 28, 28]; test MSE on the 10000 test images after training.

Timed per epoch, like aekit's `train_seconds`: the shuffle, batch gathering,
forward, backward, optimizer step and reading the loss value; no evaluation.

Prints one JSON object per line:
  {"kind":"versions", "python":..., "torch":..., ...}
  {"tool":"pytorch","epoch":1,"train_seconds":...,"train_loss":...}   (one per epoch)
  {"tool":"pytorch","kind":"final","test_mse":...,"n_train":...,"n_test":...}

Usage: python torch_conv_ae.py [--data-dir DIR] [--epochs 3] [--threads 2]
                               [--train-samples 20000] [--batch-size 128] [--seed 0]
Data dir defaults to $AEKIT_DATA or ../shared/data (relative to the repo root);
the IDX files are read from DIR/mnist/.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import torch_ae  # noqa: E402

# Pin OpenMP/BLAS threads *before* torch is imported.
ARGS = torch_ae.parse_args(torch_ae.parser(__doc__, default_train_samples=20000))

from torch import nn  # noqa: E402


def build_model():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv2d(32, 64, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),
        nn.ReLU(),
        nn.ConvTranspose2d(32, 1, 3, stride=2, padding=1, output_padding=1),
        nn.Sigmoid(),
    )


def test_sums(model, xb):
    return {"test_mse": float(((model(xb) - xb) ** 2).double().sum())}


if __name__ == "__main__":
    sys.exit(torch_ae.run(ARGS, build_model, nn.MSELoss(), test_sums, image_shape=(1, 28, 28)))
