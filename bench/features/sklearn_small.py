# The reference figures of classify.rs's unit test: standardized PCA-10 features of the embedded
# MNIST subset, LogisticRegression(C=1) run to a tight tolerance, float64.
# Run: ~/.cache/aekit-bench/torch-venv/bin/python bench/features/sklearn_small.py
import gzip, numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
def imgs(f, n):
    return np.frombuffer(gzip.open(f).read(), np.uint8, offset=16).reshape(-1, 784)[:n].astype(np.float32).astype(np.float64) / 255
def labs(f, n):
    return np.frombuffer(gzip.open(f).read(), np.uint8, offset=8)[:n]
d = __import__("os").path.join(__import__("os").path.dirname(__file__), "../../assets/mnist-subset/")
Xtr, ytr = imgs(d + "train-images-idx3-ubyte.gz", 4000), labs(d + "train-labels-idx1-ubyte.gz", 4000)
Xte, yte = imgs(d + "t10k-images-idx3-ubyte.gz", 1000), labs(d + "t10k-labels-idx1-ubyte.gz", 1000)
pca = PCA(n_components=10, svd_solver="full").fit(Xtr)
Ztr, Zte = pca.transform(Xtr), pca.transform(Xte)
sc = StandardScaler().fit(Ztr)
clf = LogisticRegression(C=1.0, tol=1e-12, max_iter=100000).fit(sc.transform(Ztr), ytr)
np.set_printoptions(precision=17, linewidth=200)
print("n_iter", clf.n_iter_)
print("coef0", repr(clf.coef_[0]))
print("coef9", repr(clf.coef_[9]))
print("intercept", repr(clf.intercept_))
print("test acc", clf.score(sc.transform(Zte), yte), "train acc", clf.score(sc.transform(Ztr), ytr))
print("proba0", repr(clf.predict_proba(sc.transform(Zte[:1]))[0]))
P = clf.predict_proba(sc.transform(Ztr))
print("objective/n", -np.log(P[np.arange(4000), ytr]).mean() + 0.5 * (clf.coef_**2).sum() / 4000)
