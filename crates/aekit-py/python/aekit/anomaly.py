"""Anomaly detection with PyOD's interface over ``aekit anomaly fit``."""

import numpy as np
from scipy.special import erf
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted, validate_data

from .models import _RunEstimator


class AnomalyDetector(_RunEstimator):
    """An autoencoder trained on (mostly) normal data; how badly it reconstructs a sample is the
    anomaly score. For tables: how rare each column's absolute error is among the training rows'
    errors in that column (-ln of the right-tail probability, summed over columns); for images:
    the squared error relative to the reconstruction's ink; for a VAE: the negative ELBO. Drops
    into code written for PyOD detectors.

    Defaults are ``aekit anomaly fit``'s: the model and its sizes are derived from the data
    (dense for tables, whose columns are standardized; conv for images given ``input_shape``),
    15 epochs for tables and 20 for images (``epochs=None``), batch 64 for tables and 128 for
    images (``batch_size=None``), Adam at 1e-3, and
    20% of the rows held out (seeded) to calibrate conformal p-values.

    Attributes (PyOD's): ``decision_scores_`` (scores of the fitted rows), ``threshold_`` (their
    ``1 - contamination`` percentile), ``labels_`` (0 normal, 1 anomaly); and ``run_dir_``, the
    run folder (``aekit anomaly score --run`` reads it).
    """

    def __init__(self, contamination=0.1, *, model=None, hidden=None, latent_dim=None, epochs=None, batch_size=None, learning_rate=1e-3,
                 calibration_fraction=0.2, alpha=0.05, input_shape=None, random_state=None, run_dir=None):
        self.contamination = contamination
        self.model = model
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.calibration_fraction = calibration_fraction
        self.alpha = alpha
        self.input_shape = input_shape
        self.random_state = random_state
        self.run_dir = run_dir

    activation = None

    def fit(self, X, y=None):
        if not 0 < self.contamination <= 0.5:
            raise ValueError(f"contamination={self.contamination!r}: expected a fraction in (0, 0.5]")
        self._fit_run(X, anomaly={"contamination": float(self.contamination), "alpha": float(self.alpha),
                                  "calibration_fraction": float(self.calibration_fraction)})
        self.decision_scores_ = self.decision_function(X)
        self.threshold_ = float(np.percentile(self.decision_scores_, 100 * (1 - self.contamination)))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)
        return self

    def decision_function(self, X):
        """Anomaly scores (higher is more anomalous)."""
        x = self._check(X)
        return self.run_.score(x)["scores"]

    def predict(self, X):
        """1 for scores above ``threshold_``, else 0."""
        check_is_fitted(self, "threshold_")
        return (self.decision_function(X) > self.threshold_).astype(int)

    def predict_proba(self, X, method="linear"):
        """``[n, 2]`` probabilities of normal and anomalous, as PyOD computes them: the scores
        min-max scaled by the training scores ("linear") or through the Gaussian CDF of the
        standardized score ("unify", Kriegel et al. 2011)."""
        check_is_fitted(self, "threshold_")
        s = self.decision_function(X)
        train = self.decision_scores_
        if method == "linear":
            lo, hi = train.min(), train.max()
            p = np.clip((s - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
        elif method == "unify":
            p = np.clip(erf((s - train.mean()) / (train.std() * np.sqrt(2))), 0, 1)
        else:
            raise ValueError(f"method={method!r}: expected 'linear' or 'unify'")
        return np.column_stack([1 - p, p])

    def p_values(self, X):
        """Split-conformal p-values against the held-out normal calibration rows: for normal
        data exchangeable with them, P(p <= a) <= a. NaN when ``calibration_fraction`` is 0."""
        x = self._check(X)
        return self.run_.score(x)["p_values"]

    def fit_predict(self, X, y=None):
        return self.fit(X).labels_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.estimator_type = "outlier_detector"
        return tags
