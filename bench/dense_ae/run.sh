#!/usr/bin/env bash
# Training-speed benchmark of the dense autoencoder on CPU: aekit vs PyTorch, same model,
# same data, same optimizer, same thread count.
#
#   bash bench/dense_ae/run.sh
#
# Model (aekit's default `--model dense`, rebuilt layer by layer in torch_dense_ae.py):
#   Linear 784->128 ReLU ->64 ReLU ->32 ReLU, decoder 32->64 ReLU ->128 ReLU ->784 (logits);
#   binary cross-entropy with logits (mean over pixels and samples, BCEWithLogitsLoss),
#   Adam lr 1e-3 eps 1e-8, batch 128, reshuffled every epoch, seed 0; all 60000 MNIST
#   training images, test BCE and MSE per pixel on the 10000 test images.
# Timed: each epoch's training steps only (shuffle, batches, forward, backward, Adam step),
# not data loading and not the per-epoch evaluation. aekit's numbers come from
# metrics.csv (train_seconds) and report.json (test_bce, test_mse) of its run folder.
#
# Environment:
#   AEKIT_DATA                 data root holding mnist/*.gz  (default: ../shared/data, relative to the repo root)
#   AEKIT_TORCH_VENV           Python venv with PyTorch      (default: $HOME/.cache/aekit-bench/torch-venv)
#   AEKIT_BENCH_EPOCHS         epochs per training run        (default: 3)
#   AEKIT_BENCH_THREADS        thread count for both tools    (default: 2)
#   AEKIT_BENCH_TRAIN_SAMPLES  first N training images        (default: 60000, all)
#   AEKIT_BENCH_ROUNDS         rounds; odd rounds run aekit first, even rounds PyTorch first (default: 1)
#   AEKIT_BENCH_TOOLS          which tools to run             (default: "aekit pytorch"; e.g. "pytorch")
#   AEKIT_BIN                  aekit binary                   (default: target/release/aekit)
#
# The work is done by bench/common/ae_bench.sh (shared with bench/conv_ae and bench/vae).
# Needs a release build (cargo build --release) unless AEKIT_BENCH_TOOLS leaves aekit out;
# this script never builds. The binary is copied to a temporary folder first, so a rebuild
# during the run does not change it. The venv is shared with bench/conv_ae/run.sh and
# bench/vae/run.sh and reinstalled only when bench/conv_ae/requirements.txt (the one
# requirements file of the three benchmarks) changes (torch from PyPI: the CUDA wheel, ~5 GB).
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../common/ae_bench.sh" dense
