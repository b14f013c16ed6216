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
The training loop, the timing and the JSON lines are bench/common/torch_ae.py's (shared with
the conv and dense autoencoder benchmarks); this file gives it the example's model, loss,
batches (the example's random stream) and per-epoch test passes.

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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import torch_ae  # noqa: E402


def make_parser():
    # No --train-samples: all 60000 training images, as the example.
    p = torch_ae.parser(__doc__, epochs=10, seed=1)
    p.add_argument("--example-log", action="store_true",
                   help="also print the example's per-epoch lines to stderr")
    return p


# Pin OpenMP/BLAS threads *before* torch is imported.
ARGS = torch_ae.parse_args(make_parser())

import torch  # noqa: E402
from torch import nn  # noqa: E402
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
    order = torch.randperm(x.shape[0], generator=gen).to(x.device)
    for start in range(0, x.shape[0], batch_size):
        yield x.index_select(0, order[start:start + batch_size])


def test_batches(x, batch_size):
    """The batches of DataLoader(dataset, batch_size, shuffle=False), num_workers=0."""
    draw_int64()  # _BaseDataLoaderIter: self._base_seed
    for start in range(0, x.shape[0], batch_size):
        yield x[start:start + batch_size]


def batch_loss(output, data):
    """loss_function of one training batch, from the model's output (recon, mu, logvar)."""
    recon_batch, mu, logvar = output
    return loss_function(recon_batch, data, mu, logvar)


def test(model, x_test, args):
    """The example's test(): z sampled (eval mode does not change the model)."""
    model.eval()
    n_test = x_test.shape[0]
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


def test_mean_z(model, x_test, args):
    """The test loss with z = mu; draws nothing from the random stream."""
    model.eval()
    n_test = x_test.shape[0]
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


def main(args):
    last = {}  # the last epoch's figures, for the "final" line

    def epoch_end(model, x_test, epoch, train_loss):
        """After the example's train(epoch): its test(), its sample, then the z = mu test."""
        if args.example_log:
            print('====> Epoch: {} Average loss: {:.4f}'.format(epoch, train_loss), file=sys.stderr, flush=True)
        test_loss, test_rec, test_kl = test(model, x_test, args)
        with torch.no_grad():
            model.decode(torch.randn(64, 20).to(x_test.device))  # the example's sample (saved as an image there)
        mean_loss, mean_rec, _ = test_mean_z(model, x_test, args)
        last.update(epochs=args.epochs, seed=args.seed, train_loss=train_loss, test_loss=test_loss,
                    test_loss_mean_z=mean_loss, test_reconstruction=test_rec,
                    test_reconstruction_mean_z=mean_rec, test_kl=test_kl)
        return {"test_loss": test_loss, "test_loss_mean_z": mean_loss}

    # The example's loss is summed over the batch; its "Average loss" divides by 60000.
    return torch_ae.run(args, VAE, batch_loss, batches=train_batches, loss_is_sum=True,
                        epoch_end=epoch_end, final=lambda model, x_test: last)


if __name__ == "__main__":
    sys.exit(main(ARGS))
