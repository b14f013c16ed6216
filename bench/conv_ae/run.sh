#!/usr/bin/env bash
# Training-speed benchmark of the conv autoencoder on CPU: aekit vs PyTorch, same model,
# same data, same optimizer, same thread count.
#
#   bash bench/conv_ae/run.sh
#
# Model (aekit's default `--model conv`, rebuilt layer by layer in torch_conv_ae.py):
#   Conv2d 1->32 3x3 s2 p1, ReLU, Conv2d 32->64 3x3 s2 p1, ReLU,
#   ConvTranspose2d 64->32 3x3 s2 p1 op1, ReLU, ConvTranspose2d 32->1 3x3 s2 p1 op1, sigmoid;
#   MSE (mean over pixels and samples), Adam lr 1e-3 eps 1e-8, batch 128, reshuffled every
#   epoch, seed 0; the first 20000 MNIST training images, test MSE on the 10000 test images.
# Timed: each epoch's training steps only (shuffle, batches, forward, backward, Adam step),
# not data loading and not the per-epoch evaluation. aekit's numbers come from
# metrics.csv (train_seconds) and report.json (test_mse) of its run folder.
#
# Environment:
#   AEKIT_DATA                 data root holding mnist/*.gz  (default: ../shared/data, relative to the repo root)
#   AEKIT_TORCH_VENV           Python venv with PyTorch      (default: $HOME/.cache/aekit-bench/torch-venv)
#   AEKIT_BENCH_EPOCHS         epochs per training run        (default: 3)
#   AEKIT_BENCH_THREADS        thread count for both tools    (default: 2)
#   AEKIT_BENCH_TRAIN_SAMPLES  first N training images        (default: 20000)
#   AEKIT_BENCH_ROUNDS         rounds; odd rounds run aekit first, even rounds PyTorch first (default: 1)
#   AEKIT_BENCH_TOOLS          which tools to run             (default: "aekit pytorch"; e.g. "pytorch")
#   AEKIT_BIN                  aekit binary                   (default: target/release/aekit)
#
# The work is done by bench/common/ae_bench.sh (shared with bench/dense_ae and bench/vae).
# Needs a release build (cargo build --release) unless AEKIT_BENCH_TOOLS leaves aekit out;
# this script never builds. The binary is copied to a temporary folder first, so a rebuild
# during the run does not change it. The venv is shared with bench/dense_ae/run.sh and
# bench/vae/run.sh and reinstalled only when bench/conv_ae/requirements.txt changes (torch
# from PyPI: the CUDA wheel, ~5 GB).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../common/ae_bench.sh" conv
