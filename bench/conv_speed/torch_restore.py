"""PyTorch side of bench/conv_speed/run.sh: the same restoration network, data, batch and
optimiser as the aekit command beside it; prints one JSON line per epoch with the seconds of
that epoch's training steps (batches, forward, backward, Adam; not loading) and its mean loss.

    python torch_restore.py srcnn AEKIT_DATA N_IMAGES EPOCHS   # MNIST x2 super-resolution
    python torch_restore.py dncnn CROPS_DIR N_STEPS EPOCHS     # photo denoiser, 48x48 crops

srcnn: aekit's `--model srcnn` (9-5-5, 64/32 channels, "same" padding, ReLU), input = the
bicubic upscaling (a = -0.75 in PyTorch, aekit -0.5: same cost) of the 2x2 area downscale of
the first N training images, BCE on logits, batch 128, Adam 1e-3, reshuffled every epoch.
dncnn: aekit's photo default (depth 8, width 48, residual), batch 16 of random 48x48 crops of
the 64x64 PNG crops (random flip), Gaussian noise sigma 25/255, MSE, Adam 1e-3; N_STEPS steps
per epoch (aekit's: 2 x 80% of the crops / 16).
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
torch.set_num_threads(int(os.environ.get("AEKIT_BENCH_THREADS", "2")))
torch.manual_seed(0)
rng = np.random.default_rng(0)


def srcnn():
    return nn.Sequential(
        nn.Conv2d(1, 64, 9, padding=4), nn.ReLU(),
        nn.Conv2d(64, 32, 5, padding=2), nn.ReLU(),
        nn.Conv2d(32, 1, 5, padding=2))


class DnCNN(nn.Module):
    def __init__(self, d=8, w=48):
        super().__init__()
        layers = [nn.Conv2d(3, w, 3, padding=1), nn.ReLU()]
        for _ in range(d - 2):
            layers += [nn.Conv2d(w, w, 3, padding=1), nn.ReLU()]
        layers += [nn.Conv2d(w, 3, 3, padding=1)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.body(x)


def main():
    kind, data, n, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if kind == "srcnn":
        import benchutil
        x = benchutil.load_idx_images(benchutil.mnist_path(data, "train"))[:n].reshape(-1, 1, 28, 28)
        x = torch.from_numpy(np.ascontiguousarray(x))
        net = srcnn()
    else:
        from PIL import Image
        files = sorted(os.listdir(data))
        crops = torch.from_numpy(np.stack([np.asarray(Image.open(os.path.join(data, f)).convert("RGB")) for f in files]))
        crops = crops.permute(0, 3, 1, 2).float() / 255
        net = DnCNN()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3, eps=1e-8)
    for epoch in range(epochs):
        t0 = time.perf_counter()
        total, steps = 0.0, 0
        if kind == "srcnn":
            perm = torch.from_numpy(rng.permutation(len(x)))
            for i in range(0, len(x), 128):
                hr = x[perm[i:i + 128]]
                lr = F.avg_pool2d(hr, 2)
                inp = F.interpolate(lr, size=(28, 28), mode="bicubic", align_corners=False)
                loss = F.binary_cross_entropy_with_logits(net(inp), hr)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item(); steps += 1
        else:
            for _ in range(n):
                idx = rng.integers(0, len(crops), 16)
                r, c = rng.integers(0, 17, 2)
                clean = crops[idx, :, r:r + 48, c:c + 48]
                if rng.random() < 0.5:
                    clean = clean.flip(3)
                noisy = clean + torch.randn_like(clean) * (25 / 255)
                loss = F.mse_loss(net(noisy), clean)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += loss.item(); steps += 1
        print(json.dumps({"epoch": epoch + 1, "train_seconds": time.perf_counter() - t0, "train_loss": total / steps}), flush=True)


if __name__ == "__main__":
    main()
