"""The PyTorch side of the autoencoder training benchmarks (bench/conv_ae, bench/dense_ae).

Each model's script parses its command line with `parser` + `benchutil.parse_args` (which
pins the OpenMP/BLAS threads) before it imports torch, then calls `run` with its model, loss
and per-batch test sums. This module imports numpy and torch only inside `run`.
"""
import sys
import time

import benchutil


def parser(doc, default_train_samples):
    p = benchutil.arg_parser(doc)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--train-samples", type=int, default=default_train_samples)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    return p


def run(args, build_model, loss_fn, test_sums, image_shape):
    """Train with Adam, timing each epoch's training steps, then evaluate on the test set.

    image_shape: the shape of one sample, e.g. (1, 28, 28) or (784,).
    test_sums(model, xb) -> {name: sum over the batch's elements}; each is printed divided
    by the number of test elements, in the "final" line.
    """
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    torch.manual_seed(args.seed)

    def load(split, limit=None):
        x = benchutil.load_mnist(args.data_dir, split)[:limit]
        return torch.from_numpy(x.reshape(x.shape[0], *image_shape).copy())

    x_train = load("train", args.train_samples)
    x_test = load("t10k")

    benchutil.print_versions(
        torch=torch.__version__,
        numpy=np.__version__,
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        mkldnn=bool(torch.backends.mkldnn.is_available()),
        mkl=bool(torch.backends.mkl.is_available()),
        openmp=bool(torch.backends.openmp.is_available()),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
    )

    model = build_model()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-8)
    gen = torch.Generator().manual_seed(args.seed)
    n = x_train.shape[0]

    model.train()
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen)
        total, seen = 0.0, 0
        for start in range(0, n, args.batch_size):
            idx = order[start:start + args.batch_size]
            xb = x_train.index_select(0, idx)
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
            seen += idx.numel()
        train_seconds = time.perf_counter() - t0
        benchutil.print_json({"tool": "pytorch", "epoch": epoch, "train_seconds": train_seconds,
                              "train_loss": total / seen})

    model.eval()
    sums, count = {}, 0
    with torch.no_grad():
        for start in range(0, x_test.shape[0], 1000):
            xb = x_test[start:start + 1000]
            for name, value in test_sums(model, xb).items():
                sums[name] = sums.get(name, 0.0) + value
            count += xb.numel()
    benchutil.print_json({"tool": "pytorch", "kind": "final", **{k: v / count for k, v in sums.items()},
                          "n_train": int(n), "n_test": int(x_test.shape[0])})
    return 0


if __name__ == "__main__":
    sys.exit("torch_ae.py is a module; run bench/conv_ae/torch_conv_ae.py or bench/dense_ae/torch_dense_ae.py")
