"""Batch scoring on Arrow record batches: the function Spark's ``mapInArrow`` and Ray Data's
``map_batches`` call on each worker.

An :class:`ArrowScorer` pickles the run's files (a few hundred kB), not a path, so workers on
other machines need no shared file system; each worker process opens the model once, on first
use, however often the engine unpickles the scorer (Spark does for every task). Memory per worker is one batch plus the model: batches stream through.
"""

import numpy as np

from . import _aekit  # noqa: F401  (the native module must import on the worker)
from ._common import open_files, read_run


class ArrowScorer:
    """``RecordBatch -> RecordBatch`` (or ``Table -> Table``) with the run's answers appended.

    Parameters
    ----------
    run : str or aekit.Run or a fitted estimator
        The run folder (or anything with ``run_dir_`` / ``path``).
    what : {"score", "encode", "reconstruct"}
        "score" (anomaly runs) adds ``score``, ``p_value`` and ``flag``; "encode" adds ``z0``,
        ``z1``, ...; "reconstruct" adds ``reconstruction_error``.
    columns : list of str or None
        The input columns, in the model's order (None: a table detector's own columns).
    keep : bool
        Keep the input columns in the output (default True).
    """

    def __init__(self, run, what="score", columns=None, keep=True):
        path = getattr(run, "run_dir_", None) or getattr(run, "path", None) or str(run)
        self._files = read_run(path)
        if "config.json" not in self._files:
            raise ValueError(f"{path}: not an aekit run folder (no config.json)")
        if what not in ("score", "encode", "reconstruct"):
            raise ValueError(f"what={what!r}: expected 'score', 'encode' or 'reconstruct'")
        self.what = what
        self.keep = keep
        self._run = None
        self.columns = columns if columns is not None else self._open().info.get("columns")
        if self.columns is None:
            raise ValueError("this run does not name its columns (an image run); pass columns=[...] in the model's order")

    def __getstate__(self):
        return {"_files": self._files, "what": self.what, "keep": self.keep, "columns": self.columns, "_run": None}

    def _open(self):
        if self._run is None:
            self._run = open_files(self._files)
        return self._run

    def _matrix(self, batch):
        names = batch.schema.names
        missing = [c for c in self.columns if c not in names]
        if missing:
            raise ValueError(f"the batch lacks the columns {missing}; it has {names}")
        cols = [batch.column(names.index(c)) for c in self.columns]
        # Numeric columns without nulls convert without copies, then stack into [n, p].
        arrays = []
        for name, col in zip(self.columns, cols):
            if col.null_count:
                raise ValueError(f"column {name!r} has {col.null_count} nulls; expected numbers in every row")
            arrays.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float32))
        return np.ascontiguousarray(np.column_stack(arrays)) if arrays else np.zeros((batch.num_rows, 0), np.float32)

    def __call__(self, batch):
        import pyarrow as pa

        run = self._open()
        x = self._matrix(batch)
        out = {}
        if self.what == "score":
            r = run.score(x)
            out = {"score": pa.array(r["scores"]), "p_value": pa.array(r["p_values"]), "flag": pa.array(r["flags"])}
        elif self.what == "encode":
            z = run.encode(x)
            out = {f"z{j}": pa.array(z[:, j]) for j in range(z.shape[1])}
        else:
            out = {"reconstruction_error": pa.array(run.reconstruct(x)[1])}
        names = (list(batch.schema.names) if self.keep else []) + list(out)
        arrays = ([batch.column(i) for i in range(batch.num_columns)] if self.keep else []) + list(out.values())
        if isinstance(batch, pa.Table):
            return pa.Table.from_arrays([pa.chunked_array([a]) if not isinstance(a, pa.ChunkedArray) else a for a in arrays], names=names)
        return pa.RecordBatch.from_arrays(arrays, names=names)

    def map_in_arrow(self, batches):
        """For Spark's ``DataFrame.mapInArrow(scorer.map_in_arrow, schema)``: an iterator of
        record batches in, one out."""
        for b in batches:
            yield self(b)

    def output_schema(self, input_schema):
        """The Arrow schema of the answers for an input schema (Spark needs it up front)."""
        import pyarrow as pa

        fields = list(input_schema) if self.keep else []
        if self.what == "score":
            fields += [pa.field("score", pa.float64()), pa.field("p_value", pa.float64()), pa.field("flag", pa.bool_())]
        elif self.what == "encode":
            fields += [pa.field(f"z{j}", pa.float32()) for j in range(self._open().info["latent_dim"])]
        else:
            fields += [pa.field("reconstruction_error", pa.float64())]
        return pa.schema(fields)
