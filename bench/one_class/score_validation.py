"""Which anomaly score suits images, judged on validation data only (the MNIST training set).

    PYTHONPATH=crates/aekit-py/python ~/.cache/aekit-py-venv/bin/python bench/one_class/score_validation.py DIGIT...

For each digit d: aekit.AnomalyDetector (the default conv model, 20 epochs, seed 0) fitted on
90% of d's training images; validation = the other 10% (normal) and 2,000 training images of the
other digits (anomalies). Prints the validation AUROC of: plain MSE, MSE over the input's ink
(+1), MSE over the reconstruction's ink (+1), the largest 4x4-pooled error, a standardized latent
distance, and MSE plus latent distance. The test set is not read.
"""
import gzip, os, numpy as np, time, sys
from sklearn.metrics import roc_auc_score
import aekit
MNIST = os.path.join(os.environ.get("AEKIT_DATA", "../shared/data"), "mnist")


def idx(path, off):
    with gzip.open(path) as f: return np.frombuffer(f.read(), np.uint8, offset=off)
X = idx(os.path.join(MNIST, 'train-images-idx3-ubyte.gz'), 16).reshape(-1, 784).astype(np.float32) / 255
y = idx(os.path.join(MNIST, 'train-labels-idx1-ubyte.gz'), 8)
rng = np.random.default_rng(0)
for d in [int(a) for a in sys.argv[1:]]:
    nd = np.flatnonzero(y == d); rng.shuffle(nd)
    cut = len(nd) // 10
    tr, va_n = nd[cut:], nd[:cut]
    other = np.flatnonzero(y != d); va_a = rng.choice(other, 2000, replace=False)
    va = np.concatenate([va_n, va_a]); lab = np.r_[np.zeros(len(va_n)), np.ones(len(va_a))]
    t = time.time()
    det = aekit.AnomalyDetector(input_shape=(1, 28, 28), random_state=0, calibration_fraction=0.0).fit(X[tr])
    xv = X[va]
    rec, _ = det.run_.reconstruct(xv)
    err = (xv - rec) ** 2
    mse = err.mean(1)
    ink = xv.sum(1); rink = rec.sum(1)
    e2 = err.reshape(-1, 28, 28)
    # max over 4x4 average-pooled error maps
    pooled = e2.reshape(-1, 7, 4, 7, 4).mean((2, 4)).max((1, 2))
    z = det.run_.encode(X[tr]); zv = det.run_.encode(xv)
    mu, sd = z.mean(0), z.std(0) + 1e-6
    lat = (((zv - mu) / sd) ** 2).mean(1)
    zt = (((z - mu) / sd) ** 2).mean(1); mt = ((X[tr] - det.run_.reconstruct(X[tr])[0]) ** 2).mean(1)
    comb = mse / mt.std() + lat / zt.std()
    res = {k: roc_auc_score(lab, v) for k, v in dict(mse=mse, mse_per_ink=mse / (ink + 1), mse_per_rink=mse / (rink + 1), pooled_max=pooled, latent=lat, mse_plus_latent=comb).items()}
    print(d, f"{time.time()-t:.0f}s", " ".join(f"{k} {v:.4f}" for k, v in res.items()), flush=True)
