#!/usr/bin/env python3
"""scikit-learn PCA reference values for aekit unit tests.

Run with the benchmark venv (see run.sh / requirements.txt):
    ~/.cache/aekit-bench/venv/bin/python bench/pca/reference_values.py > out.txt
Prints everything at full precision (repr of float64 / float32 values).
"""
import os
import sys

import numpy as np
import scipy
import sklearn
from sklearn.decomposition import PCA

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import benchutil  # noqa: E402

np.set_printoptions(precision=17, floatmode="unique", linewidth=120, threshold=10**6)


def show(name, value):
    if isinstance(value, np.ndarray):
        print(f"{name} (dtype={value.dtype}, shape={value.shape}) =\n{np.array2string(value, separator=', ')}")
    else:
        print(f"{name} = {value!r}")


print(f"# python {sys.version.split()[0]}, numpy {np.__version__}, scipy {scipy.__version__}, "
      f"scikit-learn {sklearn.__version__}")

# ---------------------------------------------------------------- 1. toy 6x2
print("\n## 1. X = [[-1,-1],[-2,-1],[-3,-2],[1,1],[2,1],[3,2]], PCA(n_components=2, svd_solver='full')")
X = np.array([[-1, -1], [-2, -1], [-3, -2], [1, 1], [2, 1], [3, 2]], dtype=np.float64)
p = PCA(n_components=2, svd_solver="full").fit(X)
show("components_", p.components_)
show("explained_variance_", p.explained_variance_)
show("explained_variance_ratio_", p.explained_variance_ratio_)
show("singular_values_", p.singular_values_)
show("mean_", p.mean_)
show("noise_variance_", p.noise_variance_)
show("transform(X)", p.transform(X))
print("\n### whiten=True")
pw = PCA(n_components=2, svd_solver="full", whiten=True).fit(X)
Zw = pw.transform(X)
show("whiten transform(X)", Zw)
show("whiten inverse_transform(transform(X))", pw.inverse_transform(Zw))

# ---------------------------------------------------------------- 2. 8x5
print("\n## 2. A = np.arange(40).reshape(8,5)**1.5 % 7 (float64)")
A = (np.arange(40).reshape(8, 5).astype(np.float64) ** 1.5) % 7
show("A", A)
pa = PCA(n_components=3, svd_solver="full").fit(A)
show("components_", pa.components_)
show("explained_variance_", pa.explained_variance_)
show("explained_variance_ratio_", pa.explained_variance_ratio_)
show("singular_values_", pa.singular_values_)
show("mean_", pa.mean_)
show("transform(A)[:3]", pa.transform(A)[:3])
pfull = PCA(svd_solver="full").fit(A)
show("PCA(svd_solver='full') all explained_variance_ratio_", pfull.explained_variance_ratio_)
show("cumsum of it", np.cumsum(pfull.explained_variance_ratio_))
show("PCA(n_components=0.9, svd_solver='full').n_components_",
     int(PCA(n_components=0.9, svd_solver="full").fit(A).n_components_))

# ---------------------------------------------------------------- 3. MNIST
data_dir = benchutil.default_data_dir()
Xtr = benchutil.load_mnist(data_dir, "train")
Xte = benchutil.load_mnist(data_dir, "t10k")
print(f"\n## 3. MNIST train {Xtr.shape} {Xtr.dtype}, test {Xte.shape}, pixels/255, PCA(n_components=50, svd_solver='full')")
pm = PCA(n_components=50, svd_solver="full").fit(Xtr)
cum = np.cumsum(pm.explained_variance_ratio_.astype(np.float64))
for k in (1, 5, 9, 13, 17, 21, 25, 29):
    print(f"cumulative explained_variance_ratio k={k}: {float(cum[k - 1])!r}")
show("explained_variance_ratio_.dtype", str(pm.explained_variance_ratio_.dtype))
show("explained_variance_[:5]", pm.explained_variance_[:5])
show("singular_values_[:5]", pm.singular_values_[:5])
for r in (0, 1):
    c = pm.components_[r]
    j = int(np.argmax(np.abs(c)))
    print(f"components_[{r}]: argmax|.| = {j}, value = {float(c[j])!r}, sign = {int(np.sign(c[j]))}")
    print(f"components_[{r}][:10] rounded 6 = {[round(float(v), 6) for v in c[:10]]}")
    print(f"components_[{r}][:10] raw = {[float(v) for v in c[:10]]}")
amax = np.argmax(np.abs(pm.components_), axis=1)
print("svd_flip check: every row of components_ has a positive entry at its largest |value|: "
      f"{bool(np.all(pm.components_[np.arange(50), amax] > 0))}")
# components_[0][:10] of raw MNIST are border pixels (exactly 0 in every image) -> also give a
# window over the centre of the image, where the entries are non-trivial.
for r in (0, 1):
    print(f"components_[{r}][400:410] rounded 6 = {[round(float(v), 6) for v in pm.components_[r][400:410]]}")

for k in (16, 29):
    pk = PCA(n_components=k, svd_solver="full").fit(Xtr)
    rec = pk.inverse_transform(pk.transform(Xte))
    mse = float(np.mean((rec.astype(np.float64) - Xte.astype(np.float64)) ** 2))
    psnr = 10.0 * np.log10(1.0 / mse)
    print(f"k={k}: test reconstruction mse per pixel = {mse!r}, PSNR dB = {float(psnr)!r}, "
          f"train cum EVR = {float(np.sum(pk.explained_variance_ratio_, dtype=np.float64))!r}")

# Same fit in float64 (sklearn computes in the input dtype; the float32 numbers above carry
# float32 rounding). Useful as a tighter reference for a float64 implementation.
print("\n## 3b. MNIST again with X cast to float64, PCA(n_components=50, svd_solver='full')")
Xtr64, Xte64 = Xtr.astype(np.float64), Xte.astype(np.float64)
pm64 = PCA(n_components=50, svd_solver="full").fit(Xtr64)
cum64 = np.cumsum(pm64.explained_variance_ratio_)
for k in (1, 5, 9, 13, 17, 21, 25, 29):
    print(f"float64 cumulative explained_variance_ratio k={k}: {float(cum64[k - 1])!r}")
show("float64 explained_variance_[:5]", pm64.explained_variance_[:5])
show("float64 singular_values_[:5]", pm64.singular_values_[:5])
for r in (0, 1):
    print(f"float64 components_[{r}][400:410] rounded 6 = "
          f"{[round(float(v), 6) for v in pm64.components_[r][400:410]]}")
for k in (16, 29):
    pk = PCA(n_components=k, svd_solver="full").fit(Xtr64)
    mse = float(np.mean((pk.inverse_transform(pk.transform(Xte64)) - Xte64) ** 2))
    print(f"float64 k={k}: test reconstruction mse per pixel = {mse!r}, "
          f"PSNR dB = {float(10.0 * np.log10(1.0 / mse))!r}")
