"""Helpers the estimators share: seeds, run folders carried inside pickles."""

import hashlib
import numbers
import os
import shutil
import tempfile
import weakref

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


def temp_run_dir(owner):
    """A new temporary run folder, deleted when `owner` is garbage-collected (or at exit)."""
    path = tempfile.mkdtemp(prefix="aekit-run-")
    weakref.finalize(owner, shutil.rmtree, path, ignore_errors=True)
    return path


# Runs opened in this process, by the hash of their files: a worker that unpickles the same
# scorer for every task (Spark does) opens the model once.
_OPENED = {}


def open_files(files):
    """A Run for {name: bytes}, written to a temporary folder once per process."""
    from .models import Run

    key = hashlib.sha256(b"".join(hashlib.sha256(files[k]).digest() + k.encode() for k in sorted(files))).hexdigest()
    run = _OPENED.get(key)
    if run is None:
        path = write_run(files)
        run = Run(path)
        weakref.finalize(run, shutil.rmtree, path, ignore_errors=True)
        _OPENED[key] = run
    return run
