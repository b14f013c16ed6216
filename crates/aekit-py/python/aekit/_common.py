"""Helpers the estimators share: seeds, run folders carried inside pickles."""

import numbers
import os
import tempfile

import numpy as np

# Files of a run folder that inference needs; figures and checkpoints stay behind.
RUN_FILES = ("config.json", "model.safetensors", "anomaly.json", "standardize.json", "report.json", "anomaly_report.json")


def _seed(random_state):
    """An integer seed: None is 0 (aekit's results repeat unless asked otherwise)."""
    if random_state is None:
        return 0
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    return int(np.random.RandomState(random_state).randint(2**31) if not isinstance(random_state, np.random.RandomState) else random_state.randint(2**31))


def read_run(path):
    """The inference files of a run folder, as {name: bytes}."""
    out = {}
    for name in RUN_FILES:
        p = os.path.join(path, name)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[name] = f.read()
    return out


def write_run(files, path=None):
    """Writes {name: bytes} into `path` (a new temporary folder by default) and returns it."""
    path = path or tempfile.mkdtemp(prefix="aekit-run-")
    os.makedirs(path, exist_ok=True)
    for name, data in files.items():
        if name not in RUN_FILES:
            raise ValueError(f"unexpected run file {name!r}")
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    return path
