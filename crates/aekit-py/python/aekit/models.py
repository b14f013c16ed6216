"""Autoencoders and VAEs as scikit-learn estimators, and run folders (:func:`load`)."""

import json

import numpy as np
from sklearn.base import BaseEstimator, ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _aekit
from ._common import _seed, read_run, temp_run_dir, write_run


class Run:
    """A trained run folder opened for inference (what the ``aekit`` program wrote, or a fitted
    estimator's ``run_dir_``). Arrays are ``[n, input_len]`` in the run's data units: images as
    planar ``[C, H, W]`` values in [0, 1] flattened, table rows in the columns' own units."""

    def __init__(self, path, name=None):
        self.path = str(path)
        self._ep = _aekit.Endpoint.open(self.path, name)
        self.info = json.loads(self._ep.info())

    def __repr__(self):
        return f"aekit.Run({self.path!r}: {self.info['kind']} {self.info['model']}, routes {self.info['routes']})"

    def _rows(self, route, X, alpha=None):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D array (n_samples, n_values); got shape {X.shape}")
        return self._ep.rows(route, np.ascontiguousarray(X), alpha)

    def encode(self, X):
        """Latent codes ``[n, latent_dim]`` (a VAE's posterior means)."""
        return self._rows("encode", X)["codes"]

    def decode(self, Z):
        """Outputs ``[n, input_len]`` of latent codes."""
        return self._rows("decode", Z)["outputs"]

    def reconstruct(self, X):
        """Reconstructions ``[n, input_len]`` and the per-sample MSE per value."""
        r = self._rows("reconstruct", X)
        return r["outputs"], r["errors"]

    def score(self, X, alpha=None):
        """Anomaly runs: ``{"scores", "p_values", "flags"}``; flags by p-value <= alpha when
        given, else by the run's threshold."""
        return self._rows("score", X, alpha)

    def sample(self, n, random_state=None, temperature=1.0):
        """``n`` decoded draws from a VAE's prior."""
        return self._ep.sample(int(n), _seed(random_state), float(temperature))


def load(path, name=None):
    """Opens a run folder written by ``aekit train`` / ``aekit anomaly fit`` or by an estimator."""
    return Run(path, name)


class _RunEstimator(BaseEstimator):
    """Shared by the estimators that train an aekit model into a run folder."""

    _model = "dense"

    def _options(self):
        o = {}
        if getattr(self, "hidden", None) is not None:
            o["hidden"] = [int(h) for h in self.hidden]
        if getattr(self, "latent_dim", None) is not None:
            o["latent"] = int(self.latent_dim)
        if getattr(self, "activation", None) is not None:
            o["activation"] = self.activation
        return o

    def _train_options(self):
        o = {"lr": float(self.learning_rate), "seed": _seed(self.random_state)}
        # None leaves the epochs and batch size to the library (the anomaly detector's depend on
        # the data).
        if self.epochs is not None:
            o["epochs"] = int(self.epochs)
        if self.batch_size is not None:
            o["batch_size"] = int(self.batch_size)
        return o

    def _shape(self, p):
        if self.input_shape is None:
            return [p]
        shape = [int(s) for s in self.input_shape]
        if len(shape) == 2:
            shape = [1] + shape
        if int(np.prod(shape)) != p:
            raise ValueError(f"input_shape {tuple(self.input_shape)} holds {int(np.prod(shape))} values; X has {p} features")
        return shape

    def _fit_run(self, X, anomaly=None):
        names = getattr(X, "columns", None)
        X = validate_data(self, X, dtype=np.float32, ensure_min_samples=2)
        shape = self._shape(X.shape[1])
        # Without run_dir, the run lives in a temporary folder removed with the estimator.
        temporary = not self.run_dir
        out = self.run_dir or temp_run_dir(self)
        model = getattr(self, "model", None) or (None if anomaly is not None else self._model)
        report = _aekit.fit_run(
            np.ascontiguousarray(X, dtype=np.float32),
            shape,
            out,
            model=model,
            options=json.dumps(self._options()),
            train=json.dumps(self._train_options()),
            anomaly=None if anomaly is None else json.dumps(anomaly),
            feature_names=None if names is None else [str(c) for c in names],
            temporary=temporary,
        )
        self.run_dir_ = out
        self.report_ = json.loads(report)
        self.run_ = Run(out)
        self.latent_dim_ = self.run_.info.get("latent_dim")
        return self

    def _check(self, X):
        check_is_fitted(self, "run_")
        return np.ascontiguousarray(validate_data(self, X, dtype=np.float32, reset=False))

    # Pickles carry the run's files, so a fitted estimator survives joblib, multiprocessing and
    # GridSearchCV's workers; unpickling writes them to a new temporary folder.
    def __getstate__(self):
        state = self.__dict__.copy()
        if "run_" in state:
            state.pop("run_")
            state["_run_files"] = read_run(self.run_dir_)
        return state

    def __setstate__(self, state):
        files = state.pop("_run_files", None)
        self.__dict__.update(state)
        if files is not None:
            self.run_dir_ = write_run(files, temp_run_dir(self))
            self.run_ = Run(self.run_dir_)


class Autoencoder(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _RunEstimator):
    """An autoencoder trained with Adam on the reconstruction error (no labels).

    ``transform`` gives the latent codes, ``inverse_transform`` decodes codes, ``score`` is
    minus the mean reconstruction MSE (higher is better, as scikit-learn scores are).

    Parameters
    ----------
    model : str
        Any of ``aekit train``'s models: "dense" (default), "linear", "sparse", "conv" (images:
        give ``input_shape``), ...
    hidden : tuple of int or None
        Hidden layer sizes of dense models (None: the model's default).
    latent_dim : int or None
        Size of the code.
    activation : {"relu", "sigmoid", "tanh"} or None
    epochs, batch_size, learning_rate : training settings (defaults as ``aekit train``).
    input_shape : None, (H, W) or (C, H, W)
        None: the rows are table rows; otherwise images of this shape, flattened row-major.
    random_state : int or None
        Seed of the initialisation and shuffling (None: 0).
    run_dir : str or None
        The run folder to train into (None: a new temporary folder, ``run_dir_``).
    """

    def __init__(self, model="dense", *, hidden=None, latent_dim=None, activation=None, epochs=10, batch_size=128, learning_rate=1e-3,
                 input_shape=None, random_state=None, run_dir=None):
        self.model = model
        self.hidden = hidden
        self.latent_dim = latent_dim
        self.activation = activation
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.input_shape = input_shape
        self.random_state = random_state
        self.run_dir = run_dir

    def fit(self, X, y=None):
        return self._fit_run(X)

    @property
    def _n_features_out(self):
        return self.latent_dim_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # aekit's models compute in float32: float32 in, float32 out (float64 is converted).
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    def transform(self, X):
        x = self._check(X)
        return self.run_.encode(x)

    def inverse_transform(self, X):
        check_is_fitted(self, "run_")
        return self.run_.decode(X)

    def reconstruct(self, X):
        """Reconstructions of ``X`` in its own units."""
        x = self._check(X)
        return self.run_.reconstruct(x)[0]

    def reconstruction_error(self, X):
        """Mean squared error per value of each sample."""
        x = self._check(X)
        return self.run_.reconstruct(x)[1]

    def score(self, X, y=None):
        return -float(np.mean(self.reconstruction_error(X)))


class VAE(Autoencoder):
    """A variational autoencoder (Kingma & Welling): ``transform`` gives posterior means,
    ``sample`` decodes draws from the prior. Defaults: the "vae" model (Bernoulli likelihood,
    for data in [0, 1])."""

    def __init__(self, model="vae", *, hidden=None, latent_dim=None, activation=None, epochs=10, batch_size=128, learning_rate=1e-3,
                 input_shape=None, random_state=None, run_dir=None):
        super().__init__(model, hidden=hidden, latent_dim=latent_dim, activation=activation, epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, input_shape=input_shape, random_state=random_state, run_dir=run_dir)

    def sample(self, n_samples=1, random_state=None, temperature=1.0):
        check_is_fitted(self, "run_")
        return self.run_.sample(n_samples, random_state, temperature)
