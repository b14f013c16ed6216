"""aekit.PCA against scikit-learn's PCA: the estimator checks and the numbers on MNIST."""

import numpy as np
import pytest
from sklearn.decomposition import PCA as SkPCA
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import check_estimator

import aekit


def test_sklearn_estimator_checks_pass():
    # Every check of scikit-learn's suite, none expected to fail.
    check_estimator(aekit.PCA())
    check_estimator(aekit.PCA(n_components=2, whiten=True))


@pytest.mark.parametrize("solver", ["full", "randomized"])
def test_matches_sklearn_on_mnist(mnist_subset, solver):
    x, _, xte, _ = mnist_subset
    x64, xte64 = x.astype(np.float64), xte.astype(np.float64)
    ours = aekit.PCA(n_components=50, svd_solver=solver, random_state=0).fit(x64)
    ref = SkPCA(n_components=50, svd_solver=solver, random_state=0).fit(x64)
    # Exact solvers: explained-variance ratio to 1e-4 (relative). Randomized solvers are two
    # approximations with different random draws: they agree closely on the leading components
    # and within 1% on the tail.
    if solver == "full":
        np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-4)
    else:
        np.testing.assert_allclose(ours.explained_variance_ratio_[:20], ref.explained_variance_ratio_[:20], rtol=1e-3)
        np.testing.assert_allclose(ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-2)
    np.testing.assert_allclose(ours.mean_, ref.mean_, atol=1e-6)
    k = 20  # the leading components are well separated; later ones may mix under rounding
    cos = np.abs(np.sum(ours.components_[:k] * ref.components_[:k], axis=1))
    assert cos.min() > 0.999, cos
    np.testing.assert_allclose(ours.transform(xte64)[:, :k], ref.transform(xte64)[:, :k], atol=2e-2)
    assert ours.n_components_ == 50 and ours.n_features_in_ == 784


def test_fraction_whiten_and_inverse():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 12)) @ rng.normal(size=(12, 12))
    ours, ref = aekit.PCA(0.9).fit(x), SkPCA(0.9).fit(x)
    assert ours.n_components_ == ref.n_components_
    w = aekit.PCA(4, whiten=True).fit(x)
    z = w.transform(x)
    np.testing.assert_allclose(z.std(axis=0, ddof=1), 1.0, rtol=1e-3)
    full = aekit.PCA().fit(x)
    np.testing.assert_allclose(full.inverse_transform(full.transform(x)), x, atol=1e-3)
    np.testing.assert_allclose(ours.score(x), ref.score(x), rtol=1e-4)


def test_errors():
    with pytest.raises(NotFittedError):
        aekit.PCA(2).transform(np.zeros((3, 4)))
    p = aekit.PCA(2).fit(np.random.default_rng(0).normal(size=(10, 4)))
    with pytest.raises(ValueError, match="X has 3 features, but PCA is expecting 4 features"):
        p.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        aekit.PCA(2).fit(np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 1.0]]))
    with pytest.raises(ValueError, match="n_components=9"):
        aekit.PCA(9).fit(np.zeros((10, 4)) + np.arange(4))
    with pytest.raises(ValueError, match="svd_solver"):
        aekit.PCA(2, svd_solver="arpack").fit(np.random.default_rng(0).normal(size=(10, 4)))
