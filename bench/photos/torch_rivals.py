"""The PyTorch rivals of the photo restoration benchmark, trained for a fixed wall-clock budget on
the 64x64 crops of DATA/train, then run on the whole test photos.

    python torch_rivals.py DATA_DIR OUT_DIR --task denoise|superres [--scale S] --seconds T
                           [--threads 2] [--depth 8] [--width 48] [--seed 0] [--batch-norm]

The net (both tasks): `depth` 3x3 convolutions with zero padding ("same" size), `width` channels,
a ReLU after each but the last, 3 input and 3 output channels (RGB), no batch norm unless
--batch-norm (then after the inner convolutions, as in DnCNN); it predicts a residual.
  denoise   DnCNN (Zhang et al. 2017): output = input - net(input). Training pairs: a random
            48x48 patch of a random crop, plus fresh Gaussian noise of sigma 25/255 for every
            batch, clipped to [0, 1] (not rounded to 8 bits).
  superres  VDSR-style (Kim et al. 2016): output = bicubic + net(bicubic), where bicubic is the
            low-res picture upscaled by PIL's Image.BICUBIC. Training pairs: each whole 64x64 crop,
            downscaled by the scale with PIL's Image.resize(..., Image.BICUBIC) (antialiased, as
            make_data.py makes test/lowres_xS) and upscaled back the same way, both rounded to
            8 bits as the test pictures are; a random crop per sample, no other augmentation.
Both: MSE loss, Adam (lr 1e-3, PyTorch defaults otherwise), batch 16, until `seconds` of training
have passed (checked after each step; the data preparation is not counted). Test: test/noisy25
(denoise) or test/lowres_xS upscaled bicubic (superres), restored whole, clipped, rounded to
8 bits, written to OUT_DIR/STEM.png and scored by metrics.py. Prints one JSON line.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import metrics  # noqa: E402

SIGMA = 25.0 / 255.0


def load_u8(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def bicubic_up(u8, s):
    h, w = u8.shape[:2]
    return np.asarray(Image.fromarray(u8, "RGB").resize((w * s, h * s), Image.BICUBIC))


def bicubic_down_up(u8, s):
    h, w = u8.shape[:2]
    lr = Image.fromarray(u8, "RGB").resize((w // s, h // s), Image.BICUBIC)
    return np.asarray(lr.resize((w, h), Image.BICUBIC))


def chw(u8_batch):
    """(N, H, W, 3) uint8 -> (N, 3, H, W) float32 in [0, 1]."""
    import torch
    return torch.from_numpy(np.array(u8_batch, copy=True)).permute(0, 3, 1, 2).float().div_(255.0)


def make_net(depth, width, batch_norm):
    import torch.nn as nn
    layers = [nn.Conv2d(3, width, 3, padding=1, bias=True), nn.ReLU(inplace=True)]
    for _ in range(depth - 2):
        layers.append(nn.Conv2d(width, width, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.ReLU(inplace=True))
    layers.append(nn.Conv2d(width, 3, 3, padding=1, bias=True))
    # The same initialisation as aekit's dncnn/vdsr: He (kaiming_normal_, fan_in, ReLU gain)
    # for the hidden convolutions, zeros for the last one (the net starts as the identity).
    # Biases: aekit draws them with the same He distribution (Burn's initializer covers both).
    convs = [m for m in layers if isinstance(m, nn.Conv2d)]
    for m in convs[:-1]:
        nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
        if m.bias is not None:
            nn.init.normal_(m.bias, std=(2.0 / (m.in_channels * 9)) ** 0.5)
    nn.init.zeros_(convs[-1].weight)
    nn.init.zeros_(convs[-1].bias)
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--task", choices=["denoise", "superres"], required=True)
    ap.add_argument("--scale", type=int, default=2)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--width", type=int, default=48)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch-norm", action="store_true")
    a = ap.parse_args()
    if a.depth < 2:
        sys.exit("error: --depth must be at least 2")

    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)

    train_dir = os.path.join(a.data, "train")
    crops = np.stack([load_u8(p) for p in metrics.stems(train_dir).values()])  # (N, 64, 64, 3)
    n = len(crops)
    if a.task == "denoise":
        patch = 48
        clean_all = chw(crops)
        inp_all = None
        task = "denoise-sigma25"
    else:
        patch = crops.shape[1]
        clean_all = chw(crops)
        inp_all = chw(np.stack([bicubic_down_up(c, a.scale) for c in crops]))
        task = f"superres-x{a.scale}"

    net = make_net(a.depth, a.width, a.batch_norm)
    params = sum(p.numel() for p in net.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed)
    net.train()
    steps = 0
    order = rng.permutation(n)
    pos = 0
    last_loss = float("nan")
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < a.seconds:
        if pos + a.batch_size > n:
            order, pos = rng.permutation(n), 0
        idx = torch.from_numpy(order[pos:pos + a.batch_size].copy())
        pos += a.batch_size
        if a.task == "denoise":
            full = clean_all.shape[2]
            ys = rng.integers(0, full - patch + 1, size=len(idx))
            xs = rng.integers(0, full - patch + 1, size=len(idx))
            clean = torch.stack([clean_all[i, :, y:y + patch, x:x + patch] for i, y, x in zip(idx.tolist(), ys, xs)])
            noisy = (clean + SIGMA * torch.randn(clean.shape, generator=gen)).clamp_(0.0, 1.0)
            out = noisy - net(noisy)
        else:
            clean = clean_all[idx]
            bic = inp_all[idx]
            out = bic + net(bic)
        loss = torch.nn.functional.mse_loss(out, clean)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        steps += 1
        last_loss = float(loss.detach())
    train_s = time.perf_counter() - t0

    net.eval()
    os.makedirs(a.out, exist_ok=True)
    if a.task == "denoise":
        inp_dir = os.path.join(a.data, "test", "noisy25")
    else:
        inp_dir = os.path.join(a.data, "test", f"lowres_x{a.scale}")
    t1 = time.perf_counter()
    with torch.no_grad():
        for stem, path in metrics.stems(inp_dir).items():
            u8 = load_u8(path)
            if a.task == "denoise":
                x = chw(u8[None])
                y = x - net(x)
            else:
                x = chw(bicubic_up(u8, a.scale)[None])
                y = x + net(x)
            y8 = y[0].clamp(0.0, 1.0).mul(255.0).round().byte().permute(1, 2, 0).numpy()
            Image.fromarray(np.ascontiguousarray(y8), "RGB").save(os.path.join(a.out, stem + ".png"))
    restore_s = time.perf_counter() - t1

    r = {"method": "torch-dncnn" if a.task == "denoise" else "torch-vdsr", "task": task,
         "train_seconds": round(train_s, 2), "seconds": round(restore_s, 3),
         "steps": steps, "epochs": round(steps * a.batch_size / n, 2), "train_images": n,
         "final_batch_loss": last_loss,
         "settings": {"depth": a.depth, "width": a.width, "batch_norm": a.batch_norm, "params": params,
                      "batch_size": a.batch_size, "lr": a.lr, "patch": patch, "budget_seconds": a.seconds,
                      "threads": a.threads, "seed": a.seed, "torch": torch.__version__}}
    r.update(metrics.score_dir(a.out, os.path.join(a.data, "test", "clean"),
                               a.scale if a.task == "superres" else None))
    print(json.dumps(r))


if __name__ == "__main__":
    main()
