#!/usr/bin/env bash
# VAE training-speed benchmark on CPU: aekit's `vae-mnist` preset vs the PyTorch VAE example
# (github.com/pytorch/examples, vae/main.py), same model, data, optimizer and thread count.
#
#   bash bench/vae/run.sh
#
# Model (the example's; aekit's `--model vae-mnist`): fc1 784->400 ReLU, fc21/fc22 400->20
# (mu, logvar), z = mu + eps*exp(0.5*logvar), fc3 20->400 ReLU, fc4 400->784 sigmoid;
# loss = binary cross-entropy summed over pixels + KL = -ELBO (nats), Adam lr 1e-3 eps 1e-8,
# batch 128, reshuffled every epoch, seed 1; all 60000 MNIST training images (/255), the
# 10000 test images for the test loss.
# Timed: each epoch's training steps only (shuffle, batches, forward, backward, Adam step),
# not data loading and not the per-epoch evaluation.
# Reported: the median and each epoch's train seconds, the last epoch's train loss (-ELBO per
# sample, as trained), the test loss per sample with z sampled (the example's "Test set loss")
# and with z = mu, and the ratio of the median epoch times aekit / PyTorch.
# Also reported: the test -ELBO parts (reconstruction, KL), each epoch's test loss, and each
# tool's GFLOP/s over the median epoch against its own 1024^3 matmul peak.
# aekit's numbers come from metrics.csv (train_seconds, train_loss, val_loss) and report.json
# (test_loss, test_loss_mean_z, test_reconstruction, test_kl) of its run folder; PyTorch's
# from bench/vae/torch_vae.py (the example, with the same random stream; see its docstring).
#
# Environment:
#   AEKIT_DATA            data root holding mnist/*.gz  (default: ../shared/data, relative to the repo root)
#   AEKIT_TORCH_VENV      Python venv with PyTorch      (default: $HOME/.cache/aekit-bench/torch-venv)
#   AEKIT_BENCH_EPOCHS    epochs per training run        (default: 10, as the example)
#   AEKIT_BENCH_THREADS   thread count for both tools    (default: 2)
#   AEKIT_BENCH_ROUNDS    rounds; odd rounds run aekit first, even rounds PyTorch first (default: 1)
#   AEKIT_BENCH_TOOLS     which tools to run             (default: "aekit pytorch"; e.g. "pytorch")
#   AEKIT_BIN             aekit binary                   (default: target/release/aekit)
#   AEKIT_GEMM_BIN        aekit's matmul peak            (default: target/release/examples/gemm_peak,
#                         from `cargo build --release --examples`; skipped with a note if missing)
#
# The work is done by bench/common/ae_bench.sh (shared with bench/conv_ae and bench/dense_ae),
# the report by bench/common/ae_report.py.
# Needs a release build (cargo build --release) unless AEKIT_BENCH_TOOLS leaves aekit out; this
# script never builds. The binary is copied to a temporary folder first, so a rebuild during
# the run does not change it. The venv is the one of bench/conv_ae and bench/dense_ae, set up
# from bench/conv_ae/requirements.txt and reinstalled only when that file changes.
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/../common/ae_bench.sh" vae
