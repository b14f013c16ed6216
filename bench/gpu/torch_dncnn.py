"""PyTorch's time per epoch for aekit's default photo denoiser (DnCNN family, depth 8, 48
channels, batch 16, 48x48 crops, Adam 1e-3, MSE on the predicted noise), as a reference for
what a GPU and a CPU do with this model: the network is bench/photos/torch_rivals.py's make_net.

    python torch_dncnn.py --device cuda|cpu [--epochs 3] [--crops 3640] [--batch-size 16]
                          [--threads N] [--tf32]

The crops are random pixels (time does not depend on content); an epoch is 3,640 crops (8 Mi
pixels). aekit's default epoch on the photo benchmark's six training pictures is 1,538 crops, so
compare the two per crop. The loss is summed on the device and read once per epoch,
as aekit reads it every 50 steps, and each epoch ends with a synchronize. Prints one JSON line
per epoch.
"""
import argparse
import json
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--device", default="cpu")
ap.add_argument("--epochs", type=int, default=3)
ap.add_argument("--crops", type=int, default=3640)
ap.add_argument("--batch-size", type=int, default=16)
ap.add_argument("--threads", type=int, default=os.cpu_count())
ap.add_argument("--tf32", action="store_true", help="let cuDNN use TF32 (PyTorch's default for convolutions)")
args = ap.parse_args()
os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "photos"))
from torch_rivals import make_net  # noqa: E402

torch.manual_seed(0)
torch.set_num_threads(args.threads)
torch.backends.cudnn.allow_tf32 = args.tf32
torch.backends.cuda.matmul.allow_tf32 = args.tf32
torch.backends.cudnn.benchmark = True
dev = torch.device(args.device)
net = make_net(8, 48, False).to(dev)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
clean = torch.rand(args.crops, 3, 48, 48, device=dev)
for epoch in range(1, args.epochs + 1):
    t0 = time.perf_counter()
    total = torch.zeros((), device=dev)
    order = torch.randperm(args.crops, device=dev)
    for s in range(0, args.crops, args.batch_size):
        x = clean[order[s:s + args.batch_size]]
        noise = torch.randn_like(x) * 0.098
        noisy = (x + noise).clamp(0, 1)
        loss = torch.nn.functional.mse_loss(net(noisy), noisy - x)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.detach()
    total = float(total)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    print(json.dumps({"tool": "pytorch", "device": args.device, "tf32": args.tf32, "threads": args.threads,
                      "batch_size": args.batch_size, "epoch": epoch,
                      "train_seconds": time.perf_counter() - t0, "train_loss": total}), flush=True)
