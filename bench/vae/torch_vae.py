#!/usr/bin/env python3
"""The PyTorch VAE example (github.com/pytorch/examples, vae/main.py) on CPU, timed per epoch.

Model, loss, optimizer and data are the example's, unchanged:
  fc1 Linear(784, 400) -> ReLU -> fc21 Linear(400, 20) = mu, fc22 Linear(400, 20) = logvar;
  z = mu + eps * exp(0.5 * logvar), eps ~ N(0, I) (torch.randn_like, also in eval mode);
  fc3 Linear(20, 400) -> ReLU -> fc4 Linear(400, 784) -> sigmoid.
  loss = F.binary_cross_entropy(recon, x.view(-1, 784), reduction='sum')
         + KLD, KLD = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))   (a sum over the batch)
  Adam(lr 1e-3), PyTorch defaults (eps 1e-8); batch 128, shuffled each epoch, last partial
  batch kept; torch.manual_seed(seed), seed 1; MNIST pixels / 255 (ToTensor), 60000 train.
  Each epoch: train, then the example's test pass (batch 128, eval mode, z sampled), then
  the example's torch.randn(64, 20) sample (kept for the random stream; no image is saved).

The images are read once from DATA/mnist/*.gz into a tensor (no torchvision, no PIL); the
batches are gathered from it with the indices the example's DataLoader would give, and the
global random stream is consumed exactly as the example's single-process DataLoader does
(per iteration: one int64 draw for the loader's base seed, then, for the shuffled training
loader, one int64 draw that seeds the RandomSampler's own generator for torch.randperm).
So with the same seed this draws the same batches and the same eps as the example.

Timed per epoch (train_seconds): the shuffle, batch gathering, forward, backward, Adam step
and loss.item(); not data loading, not the test passes.

Figures, per sample in nats (the example's printed "Average loss" / "Test set loss"):
  train_loss          sum of the epoch's batch losses / 60000
  test_loss           sum over test batches of loss_function(model(data)), z sampled, / 10000
  test_loss_mean_z    the same with z = mu (decoder fed the posterior mean)
  test_reconstruction / test_reconstruction_mean_z / test_kl: the BCE parts (z sampled,
                      z = mu) and the KL part of those test losses, / 10000

Prints one JSON object per line:
  {"kind":"versions", "python":..., "torch":..., ...}
  {"tool":"pytorch","epoch":1,"train_seconds":...,"train_loss":...,"test_loss":...,"test_loss_mean_z":...}
  {"tool":"pytorch","kind":"final","train_loss":...,"test_loss":...,"test_loss_mean_z":...,
   "test_reconstruction":...,"test_reconstruction_mean_z":...,"test_kl":...,"n_train":...,"n_test":...}
With --example-log, the example's "====> Epoch: 1 Average loss: ..." lines go to stderr.

Usage: python torch_vae.py [--data-dir DIR] [--epochs 10] [--threads 2] [--seed 1]
                           [--batch-size 128] [--lr 1e-3] [--example-log]
Data dir defaults to $AEKIT_DATA or ../shared/data (relative to the repo root);
the IDX files are read from DIR/mnist/.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import benchutil  # noqa: E402


def make_parser():
    p = benchutil.arg_parser(__doc__)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--example-log", action="store_true",
                   help="also print the example's per-epoch lines to stderr")
    return p


def check_args(args):
    if args.epochs < 1 or args.threads < 1 or args.batch_size < 1:
        sys.exit("torch_vae.py: --epochs, --threads and --batch-size must be positive")
    return args


# Pin OpenMP/BLAS threads *before* torch is imported.
ARGS = check_args(benchutil.parse_args(make_parser()))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn, optim  # noqa: E402
from torch.nn import functional as F  # noqa: E402


class VAE(nn.Module):
    """vae/main.py's VAE, verbatim."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


def loss_parts(recon_x, x, mu, logvar):
    """The two terms of vae/main.py's loss_function (whose value is their sum)."""
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction='sum')
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE, KLD


def loss_function(recon_x, x, mu, logvar):
    BCE, KLD = loss_parts(recon_x, x, mu, logvar)
    return BCE + KLD


def draw_int64():
    """One draw from the global generator, as DataLoader/RandomSampler make it."""
    return int(torch.empty((), dtype=torch.int64).random_().item())


def train_batches(x, batch_size):
    """The batches of DataLoader(dataset, batch_size, shuffle=True), num_workers=0."""
    draw_int64()  # _BaseDataLoaderIter: self._base_seed
    gen = torch.Generator()
    gen.manual_seed(draw_int64())  # RandomSampler.__iter__ (at the first batch)
    order = torch.randperm(x.shape[0], generator=gen)
    for start in range(0, x.shape[0], batch_size):
        yield x.index_select(0, order[start:start + batch_size])


def test_batches(x, batch_size):
    """The batches of DataLoader(dataset, batch_size, shuffle=False), num_workers=0."""
    draw_int64()  # _BaseDataLoaderIter: self._base_seed
    for start in range(0, x.shape[0], batch_size):
        yield x[start:start + batch_size]


def main(args):
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError:
        pass
    x_train = torch.from_numpy(benchutil.load_mnist(args.data_dir, "train"))  # [60000, 784] in [0, 1]
    x_test = torch.from_numpy(benchutil.load_mnist(args.data_dir, "t10k"))  # [10000, 784]
    n_train, n_test = x_train.shape[0], x_test.shape[0]

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

    # As the example: seed, then the model, then the optimizer (the loaders draw nothing here).
    torch.manual_seed(args.seed)
    model = VAE()
    optimizer = optim.Adam(model.parameters(), lr=args.lr)

    def train(epoch):
        model.train()
        train_loss = 0
        t0 = time.perf_counter()
        for data in train_batches(x_train, args.batch_size):
            optimizer.zero_grad()
            recon_batch, mu, logvar = model(data)
            loss = loss_function(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        seconds = time.perf_counter() - t0
        train_loss /= n_train
        if args.example_log:
            print('====> Epoch: {} Average loss: {:.4f}'.format(epoch, train_loss), file=sys.stderr, flush=True)
        return seconds, train_loss

    def test():
        """The example's test(): z sampled (eval mode does not change the model)."""
        model.eval()
        test_loss = rec = kl = 0
        with torch.no_grad():
            for data in test_batches(x_test, args.batch_size):
                recon_batch, mu, logvar = model(data)
                b, k = loss_parts(recon_batch, data, mu, logvar)
                test_loss += (b + k).item()
                rec += b.item()
                kl += k.item()
        if args.example_log:
            print('====> Test set loss: {:.4f}'.format(test_loss / n_test), file=sys.stderr, flush=True)
        return test_loss / n_test, rec / n_test, kl / n_test

    def test_mean_z():
        """The test loss with z = mu; draws nothing from the random stream."""
        model.eval()
        test_loss = rec = kl = 0
        with torch.no_grad():
            for start in range(0, n_test, args.batch_size):
                data = x_test[start:start + args.batch_size]
                mu, logvar = model.encode(data)
                b, k = loss_parts(model.decode(mu), data, mu, logvar)
                test_loss += (b + k).item()
                rec += b.item()
                kl += k.item()
        return test_loss / n_test, rec / n_test, kl / n_test

    for epoch in range(1, args.epochs + 1):
        seconds, train_loss = train(epoch)
        test_loss, test_rec, test_kl = test()
        with torch.no_grad():
            model.decode(torch.randn(64, 20))  # the example's sample (saved as an image there)
        mean_loss, mean_rec, _ = test_mean_z()
        benchutil.print_json({"tool": "pytorch", "epoch": epoch, "train_seconds": seconds,
                              "train_loss": train_loss, "test_loss": test_loss,
                              "test_loss_mean_z": mean_loss})

    benchutil.print_json({"tool": "pytorch", "kind": "final", "epochs": args.epochs, "seed": args.seed,
                          "train_loss": train_loss, "test_loss": test_loss, "test_loss_mean_z": mean_loss,
                          "test_reconstruction": test_rec, "test_reconstruction_mean_z": mean_rec,
                          "test_kl": test_kl, "n_train": int(n_train), "n_test": int(n_test)})
    return 0


if __name__ == "__main__":
    sys.exit(main(ARGS))
