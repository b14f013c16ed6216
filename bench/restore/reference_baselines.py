"""Classical restoration figures on the MNIST test set with NumPy/PyTorch, to compare with
aekit's `eval` (mean over images of per-image PSNR, pixels in [0, 1]).

    ~/.cache/aekit-bench/torch-venv/bin/python bench/restore/reference_baselines.py

PyTorch's bicubic (a = -0.75, align_corners=False, clamped indices) gives the issue's 20.61 dB
(x2) and 14.70 dB (x4); aekit uses PIL's kernel (a = -0.5) through the image crate, so its
bicubic figures differ slightly. The noisy-input figure depends on the noise draw (~0.01 dB).
"""
import os
import numpy as np, gzip
def load(p):
    with gzip.open(p) as f: d=f.read()
    return np.frombuffer(d,np.uint8,offset=16).reshape(-1,28,28).astype(np.float32)/255
x=load(os.path.join(os.environ.get('AEKIT_DATA', '../shared/data'), 'mnist/t10k-images-idx3-ubyte.gz'))
rng=np.random.default_rng(0)
n=np.clip(x+0.5*rng.standard_normal(x.shape).astype(np.float32),0,1)
mse=((n-x)**2).reshape(len(x),-1).mean(1)
print('psnr of mean mse',10*np.log10(1/mse.mean()),'mean psnr',np.mean(10*np.log10(1/mse)))
# area x2, x4 and bicubic
import torch, torch.nn.functional as F
t=torch.from_numpy(x)[:,None]
for s in (2,4):
  lr=F.interpolate(t,scale_factor=1/s,mode='area')
  up=F.interpolate(lr,scale_factor=s,mode='bicubic',align_corners=False).clamp(0,1)
  m=((up-t)**2).flatten(1).mean(1).numpy()
  print(s,'bicubic torch psnr of mean',10*np.log10(1/m.mean()),'mean psnr',np.mean(10*np.log10(1/m)))
