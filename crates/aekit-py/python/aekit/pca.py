"""PCA with scikit-learn's names, semantics and numbers; the fit (the eigendecomposition or the
randomized SVD) runs in aekit's Rust library on float32 with the GIL released."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _aekit
from ._common import _seed


class PCA(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Principal component analysis, as ``sklearn.decomposition.PCA``.

    Parameters
    ----------
    n_components : int, float in (0, 1) or None
        Components to keep; a float keeps the fewest whose cumulative explained-variance ratio
        exceeds it; None keeps min(n_samples, n_features).
    whiten : bool
        Scale the projections to unit variance.
    svd_solver : {"auto", "full", "covariance_eigh", "randomized"}
        "full" and "covariance_eigh" both use aekit's exact solver (an eigendecomposition of the
        covariance matrix in float64, scikit-learn's ``covariance_eigh``; not an SVD of X, same
        result up to rounding); "auto" follows scikit-learn 1.5+: the exact solver when
        n_features <= 1000 and n_samples >= 10 n_features or the data are small, else
        "randomized" for fewer than 80% of the components. The choice is ``_fit_svd_solver``.
    iterated_power : int or "auto"
        Power iterations of the randomized solver ("auto": 7 for fewer than 10% of the
        components, else 4, as scikit-learn).
    n_oversamples : int
        Extra random directions of the randomized solver.
    random_state : int, RandomState or None
        Seed of the randomized solver (None: 0, so results repeat; scikit-learn draws a fresh one).
    copy, tol, power_iteration_normalizer
        Accepted for compatibility: aekit never modifies X, has no ARPACK solver (``tol``), and
        normalizes power iterations its own way (only "auto" is accepted).

    Attributes: ``components_``, ``explained_variance_``, ``explained_variance_ratio_``,
    ``singular_values_``, ``mean_``, ``noise_variance_``, ``n_components_``, ``n_samples_``,
    ``n_features_in_``.
    """

    def __init__(self, n_components=None, *, copy=True, whiten=False, svd_solver="auto", tol=0.0, iterated_power="auto",
                 n_oversamples=10, power_iteration_normalizer="auto", random_state=None):
        self.n_components = n_components
        self.copy = copy
        self.whiten = whiten
        self.svd_solver = svd_solver
        self.tol = tol
        self.iterated_power = iterated_power
        self.n_oversamples = n_oversamples
        self.power_iteration_normalizer = power_iteration_normalizer
        self.random_state = random_state

    def _solver(self, n, p, k):
        """scikit-learn 1.5+'s choice (PCA._fit), mapped onto aekit's two solvers."""
        s = self.svd_solver
        if s == "auto":
            if p <= 1000 and n >= 10 * p:
                s = "covariance_eigh"
            elif max(n, p) <= 500:
                s = "full"
            elif isinstance(k, numbers.Integral) and 1 <= k < 0.8 * min(n, p):
                s = "randomized"
            else:
                s = "full"
        if s not in ("full", "covariance_eigh", "randomized"):
            raise ValueError(f"invalid svd_solver: {self.svd_solver!r}; expected 'auto', 'full', 'covariance_eigh' or 'randomized' (aekit has no ARPACK)")
        return s

    def fit(self, X, y=None):
        self._fit(X)
        return self

    def fit_transform(self, X, y=None):
        return self._fit(X).transform(X)

    def _fit(self, X):
        # Finiteness is checked by the Rust fit (in parallel), with the same ValueError naming
        # the sample and feature; checking here too would read the data once more.
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_min_samples=2, ensure_all_finite=False)
        n, p = X.shape
        k = self.n_components
        count, fraction = None, None
        if k is None:
            pass
        elif isinstance(k, numbers.Integral) and not isinstance(k, bool):
            if not 1 <= k <= min(n, p):
                raise ValueError(f"n_components={k} must be between 1 and min(n_samples, n_features)={min(n, p)}")
            count = int(k)
        elif isinstance(k, numbers.Real) and 0 < k < 1:
            fraction = float(k)
        else:
            raise ValueError(f"n_components={k!r}: expected an int, a float in (0, 1) or None ('mle' is not supported)")
        if self.power_iteration_normalizer != "auto":
            raise ValueError(f"power_iteration_normalizer={self.power_iteration_normalizer!r}: aekit accepts only 'auto'")
        n_iter = None if self.iterated_power == "auto" else int(self.iterated_power)
        self._fit_svd_solver = self._solver(n, p, k)
        x32 = np.ascontiguousarray(X, dtype=np.float32)
        r = _aekit.pca_fit(x32, n_components=count, fraction=fraction, whiten=bool(self.whiten),
                           solver="randomized" if self._fit_svd_solver == "randomized" else "exact", seed=_seed(self.random_state),
                           n_oversamples=int(self.n_oversamples), n_iter=n_iter)
        dtype = X.dtype
        self.components_ = np.asarray(r["components_"], dtype=dtype)
        self.explained_variance_ = np.asarray(r["explained_variance_"], dtype=dtype)
        self.explained_variance_ratio_ = np.asarray(r["explained_variance_ratio_"], dtype=dtype)
        self.singular_values_ = np.asarray(r["singular_values_"], dtype=dtype)
        self.mean_ = np.asarray(r["mean_"], dtype=dtype)
        self.noise_variance_ = float(r["noise_variance_"])
        self.n_components_ = self.components_.shape[0]
        self.n_samples_ = n
        return self

    @property
    def _n_features_out(self):
        return self.n_components_

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        Z = (X - self.mean_) @ self.components_.T
        if self.whiten:
            Z /= np.sqrt(self.explained_variance_)
        return Z

    def inverse_transform(self, X):
        check_is_fitted(self)
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_components_:
            raise ValueError(f"X has shape {X.shape}; expected (n_samples, {self.n_components_})")
        if self.whiten:
            X = X * np.sqrt(self.explained_variance_)
        return X @ self.components_ + self.mean_

    def score_samples(self, X):
        """Log-likelihood of each sample under the probabilistic PCA model (scikit-learn's)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        p = X.shape[1]
        comps = self.components_ * np.sqrt(self.explained_variance_ - self.noise_variance_)[:, None]
        cov = comps.T @ comps + self.noise_variance_ * np.eye(p)
        prec = np.linalg.inv(cov)
        d = X - self.mean_
        return -0.5 * (np.sum(d @ prec * d, axis=1) + p * np.log(2 * np.pi) - np.linalg.slogdet(prec)[1])

    def score(self, X, y=None):
        return float(np.mean(self.score_samples(X)))
