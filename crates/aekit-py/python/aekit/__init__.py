"""aekit: autoencoders, PCA and variational autoencoders on aekit's Rust library.

Estimators follow scikit-learn's conventions (``fit``/``transform``/``inverse_transform``,
``get_params``/``set_params``, fitted attributes with a trailing underscore, ``random_state``);
:class:`AnomalyDetector` follows PyOD's (``decision_scores_``, ``threshold_``, ``labels_``,
``predict`` in {0, 1}). Every autoencoder trains into a run folder that the ``aekit`` program
reads, and :func:`load` opens run folders the program wrote. :class:`ArrowScorer` scores Arrow
record batches for Spark's ``mapInArrow`` and Ray Data's ``map_batches``.
"""

from ._aekit import __version__
from .pca import PCA
from .models import Autoencoder, VAE, Run, load
from .anomaly import AnomalyDetector
from .arrow import ArrowScorer

__all__ = ["PCA", "Autoencoder", "VAE", "AnomalyDetector", "Run", "load", "ArrowScorer", "__version__"]
