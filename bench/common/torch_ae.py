"""The PyTorch side of the autoencoder training benchmarks (bench/conv_ae, bench/dense_ae, bench/vae).

Each model's script parses its command line with `parser` + `parse_args` (which pins the
OpenMP/BLAS threads) before it imports torch, then calls `run` with its model, loss and
per-batch test sums (or its own per-epoch evaluation). This module imports numpy and torch
only inside its functions.

  python torch_ae.py gemm-peak THREADS
      the matrix-multiply ceiling: median of 9 products of 1024 x 1024 f32 matrices (torch.mm)
      -> one {"tool": "pytorch", "kind": "gemm", "n", "median_s", "gflops"} JSON line
"""
import statistics
import sys
import time

import benchutil


def parser(doc, default_train_samples=None, epochs=3, seed=0):
    """The benchmarks' command line. --train-samples only with a default_train_samples (without
    it the whole training set is used)."""
    p = benchutil.arg_parser(doc)
    p.add_argument("--epochs", type=int, default=epochs)
    p.add_argument("--threads", type=int, default=2)
    if default_train_samples is not None:
        p.add_argument("--train-samples", type=int, default=default_train_samples)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=seed)
    p.add_argument("--device", default="cpu",
                   help="cpu (default) or cuda: the model and the whole data set go there once, "
                        "batches are gathered there, and each epoch's time ends with a synchronize")
    return p


def parse_args(p):
    """benchutil.parse_args (pins the threads), then checks the counts are positive."""
    args = benchutil.parse_args(p)
    if args.epochs < 1 or args.threads < 1 or args.batch_size < 1:
        p.exit(2, f"{p.prog}: --epochs, --threads and --batch-size must be positive\n")
    return args


def run(args, build_model, loss_fn, test_sums=None, image_shape=(784,), *, batches=None,
        loss_is_sum=False, epoch_end=None, final=None):
    """Train with Adam, timing each epoch's training steps, then evaluate on the test set.

    image_shape: the shape of one sample, e.g. (1, 28, 28) or (784,).
    loss_fn(model(xb), xb) -> the batch's loss: its mean over the batch, or with loss_is_sum
      its sum; train_loss is per sample either way.
    batches(x_train, batch_size) -> the epoch's training batches; by default shuffled with
      torch.randperm from a generator of its own seeded with --seed (the global random stream
      is left alone), the last partial batch kept.
    epoch_end(model, x_test, epoch, train_loss) -> extra fields of the epoch's JSON line; runs
      after the timed part of every epoch.
    test_sums(model, xb) -> {name: sum over the batch's elements}; each is printed divided
      by the number of test elements, in the "final" line.
    final(model, x_test) -> more fields of the "final" line.
    """
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass

    def load(split, limit=None):
        x = benchutil.load_mnist(args.data_dir, split)[:limit]
        return torch.from_numpy(x.reshape(x.shape[0], *image_shape).copy())

    device = torch.device(args.device)
    x_train = load("train", getattr(args, "train_samples", None)).to(device)
    x_test = load("t10k").to(device)

    benchutil.print_versions(
        torch=torch.__version__,
        numpy=np.__version__,
        torch_threads=torch.get_num_threads(),
        torch_interop_threads=torch.get_num_interop_threads(),
        mkldnn=bool(torch.backends.mkldnn.is_available()),
        mkl=bool(torch.backends.mkl.is_available()),
        openmp=bool(torch.backends.openmp.is_available()),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        device=str(device),
        gpu=torch.cuda.get_device_name(device) if device.type == "cuda" else None,
    )

    # Seed, then the model, then the optimizer (loading the data draws nothing), as the
    # PyTorch VAE example does.
    torch.manual_seed(args.seed)
    model = build_model().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, eps=1e-8)  # eps: PyTorch's default
    n = x_train.shape[0]

    if batches is None:
        gen = torch.Generator().manual_seed(args.seed)

        def batches(x, batch_size):
            order = torch.randperm(x.shape[0], generator=gen).to(x.device)
            for start in range(0, x.shape[0], batch_size):
                yield x.index_select(0, order[start:start + batch_size])

    for epoch in range(1, args.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        for xb in batches(x_train, args.batch_size):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), xb)
            loss.backward()
            opt.step()
            total += loss.item() * (1 if loss_is_sum else xb.shape[0])
            seen += xb.shape[0]
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        train_seconds = time.perf_counter() - t0
        train_loss = total / seen
        extra = epoch_end(model, x_test, epoch, train_loss) if epoch_end else {}
        benchutil.print_json({"tool": "pytorch", "epoch": epoch, "train_seconds": train_seconds,
                              "train_loss": train_loss, **extra})

    model.eval()
    sums, count = {}, 0
    if test_sums is not None:
        with torch.no_grad():
            for start in range(0, x_test.shape[0], 1000):
                xb = x_test[start:start + 1000]
                for name, value in test_sums(model, xb).items():
                    sums[name] = sums.get(name, 0.0) + value
                count += xb.numel()
    benchutil.print_json({"tool": "pytorch", "kind": "final", **{k: v / count for k, v in sums.items()},
                          **(final(model, x_test) if final else {}),
                          "n_train": int(n), "n_test": int(x_test.shape[0])})
    return 0


def gemm_peak(threads, n=1024):
    """Print the median time and GFLOP/s of 9 products of n x n f32 matrices (after 2 warm-ups)."""
    import torch

    torch.set_num_threads(threads)
    a, b = torch.rand(n, n) * 2 - 1, torch.rand(n, n) * 2 - 1
    ts = []
    for _ in range(11):
        t = time.perf_counter()
        a @ b
        ts.append(time.perf_counter() - t)
    m = statistics.median(ts[2:])
    benchutil.print_json({"tool": "pytorch", "kind": "gemm", "n": n, "median_s": m, "gflops": 2 * n**3 / m / 1e9})
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "gemm-peak":
        sys.exit(gemm_peak(int(sys.argv[2])))
    sys.exit("usage: torch_ae.py gemm-peak THREADS\n(otherwise a module; run bench/conv_ae/torch_conv_ae.py, "
             "bench/dense_ae/torch_dense_ae.py or bench/vae/torch_vae.py)")
