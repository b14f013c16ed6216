"""Validation-only architecture probe (PyTorch), the one NOTES.md cites for the unet
("Photos: self-ensemble, a U-Net"): train a denoiser on DATA/train's 64x64 crops (random 48x48
patches, one of 8 flips/rotations per batch, fresh sigma 25/255 noise), Adam 1e-3 with cosine
decay over the budget, batch 16, 2 threads; report PSNR RGB on DATA/val/coffee.png (noise seed
1, clipped, 8 bits), plain and with the 8-transform self-ensemble (tta8). Never the test photos.

    python arch_probe.py DATA "DnCNN()" 1500        # a budget of steps
    python arch_probe.py DATA "UNet(48)" t300       # a budget of seconds

HEBIAS=1 draws biases with the He distribution (aekit's initialisation) instead of zeros.
"""
import sys, time, math, os, json
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); import metrics
torch.set_num_threads(2)
S = 25/255

def he(m):
    for c in m.modules():
        if isinstance(c, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(c.weight, nonlinearity='relu'); (nn.init.normal_(c.bias, std=(2.0/(c.weight[0].numel() if isinstance(c, nn.Conv2d) else c.weight.shape[1]*4))**0.5) if os.environ.get('HEBIAS') else nn.init.zeros_(c.bias))

class DnCNN(nn.Module):
    def __init__(s, d=8, w=48):
        super().__init__()
        L = [nn.Conv2d(3, w, 3, padding=1), nn.ReLU()]
        for _ in range(d-2): L += [nn.Conv2d(w, w, 3, padding=1), nn.ReLU()]
        s.body = nn.Sequential(*L); s.tail = nn.Conv2d(w, 3, 3, padding=1); he(s)
        nn.init.zeros_(s.tail.weight); nn.init.zeros_(s.tail.bias)
    def forward(s, x): return x + s.tail(s.body(x))

def cr(i, o, st=1): return nn.Sequential(nn.Conv2d(i, o, 3, stride=st, padding=1), nn.ReLU())
class UNet(nn.Module):
    def __init__(s, w=32, n3=2, up='convT'):
        super().__init__()
        s.e1 = nn.Sequential(cr(3, w), cr(w, w))
        s.e2 = nn.Sequential(cr(w, 2*w, 2), cr(2*w, 2*w))
        s.e3 = nn.Sequential(cr(2*w, 4*w, 2), *[cr(4*w, 4*w) for _ in range(n3)])
        s.u2 = nn.ConvTranspose2d(4*w, 2*w, 2, stride=2); s.d2 = cr(2*w, 2*w)
        s.u1 = nn.ConvTranspose2d(2*w, w, 2, stride=2); s.d1 = cr(w, w)
        s.tail = nn.Conv2d(w, 3, 3, padding=1); he(s)
        nn.init.zeros_(s.tail.weight); nn.init.zeros_(s.tail.bias)
    def forward(s, x):
        a = s.e1(x); b = s.e2(a); c = s.e3(b)
        b = s.d2(F.relu(s.u2(c)) + b); a = s.d1(F.relu(s.u1(b)) + a)
        return x + s.tail(a)

def load(p):
    with Image.open(p) as im: return np.asarray(im.convert('RGB'))

def main():
    data, arch, b = sys.argv[1], sys.argv[2], sys.argv[3]; timed = b.startswith('t'); budget = float(b[1:]) if timed else int(b)
    torch.manual_seed(0); rng = np.random.default_rng(0)
    net = eval(arch)
    crops = torch.from_numpy(np.stack([load(p) for p in metrics.stems(os.path.join(data, 'train')).values()])).permute(0,3,1,2).float()/255
    n = len(crops); P = 48
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    t0 = time.perf_counter(); steps = 0
    while True:
        frac = (time.perf_counter() - t0) / budget if timed else steps / budget
        if frac >= 1: break
        for g in opt.param_groups: g['lr'] = 1e-3 * 0.5 * (1 + math.cos(math.pi * frac))
        idx = rng.integers(0, n, 16); ys = rng.integers(0, 17, 16); xs = rng.integers(0, 17, 16)
        c = torch.stack([crops[i, :, y:y+P, x:x+P] for i, y, x in zip(idx, ys, xs)])
        k = int(rng.integers(0, 8)); c = torch.rot90(c, k % 4, (2, 3)); c = c.flip(3) if k >= 4 else c
        noisy = (c + S*torch.randn_like(c)).clamp(0, 1)
        loss = F.mse_loss(net(noisy), c); opt.zero_grad(); loss.backward(); opt.step(); steps += 1; tot = (tot if steps > 1 else 0) + loss.item()
        if steps % 100 == 0: print(steps, tot/100, flush=True); tot = 0
    net.eval()
    clean = load(os.path.join(data, 'val', 'coffee.png')).astype(np.float32)/255
    H, W = (clean.shape[0]//4)*4, (clean.shape[1]//4)*4; clean = clean[:H, :W]
    noisy = np.clip(clean + S*np.random.default_rng(1).standard_normal(clean.shape), 0, 1)
    noisy = np.round(noisy*255)/255
    x = torch.from_numpy(noisy).float().permute(2,0,1)[None]
    with torch.no_grad():
        y = net(x)[0].permute(1,2,0).clamp(0,1).numpy()
        acc = 0
        for k in range(8):
            t = torch.rot90(x, k % 4, (2, 3)); t = t.flip(3) if k >= 4 else t
            o = net(t); o = o.flip(3) if k >= 4 else o; acc = acc + torch.rot90(o, -(k % 4), (2, 3))
        yt = (acc / 8)[0].permute(1,2,0).clamp(0,1).numpy()
    y = np.round(y*255)/255; yt = np.round(yt*255)/255
    psnr = 10*np.log10(1/np.mean((y-clean)**2)); pin = 10*np.log10(1/np.mean((noisy-clean)**2))
    tta = 10*np.log10(1/np.mean((yt-clean)**2))
    print(json.dumps({'arch': arch, 'steps_budget': budget, 'wall': round(time.perf_counter()-t0, 1), 'steps': steps, 'params': sum(p.numel() for p in net.parameters()), 'val_psnr': round(float(psnr), 3), 'tta8': round(float(tta), 3), 'noisy': round(float(pin), 3)}), flush=True)
main()
