"""Batch scoring on Arrow: the scorer alone, then inside Spark (local[2]) and Ray (2 CPUs);
scores equal the program's on the same rows."""

import os
import pickle
import sys

import numpy as np
import pytest

import aekit
from conftest import run_cli, table

import pyarrow as pa
COLS = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def detector(tmp_path_factory, aekit_bin):
    """A table detector fitted by the program, its test rows, and the program's scores."""
    import pandas as pd

    d = tmp_path_factory.mktemp("arrow")
    x, _ = table(300, False, 5)
    xt, _ = table(1000, True, 6)
    pd.DataFrame(x, columns=COLS).to_csv(d / "train.csv", index=False)
    pd.DataFrame(xt, columns=COLS).to_csv(d / "test.csv", index=False)
    run_cli(aekit_bin, "anomaly", "fit", "--data", "train.csv", "--epochs", "3", "--out", "det", "--quiet", cwd=d)
    run_cli(aekit_bin, "anomaly", "score", "--run", "det", "--data", "test.csv", "--out", "out/scores.csv", "--quiet", cwd=d)
    cli = pd.read_csv(d / "out/scores.csv")
    return d / "det", pd.read_csv(d / "test.csv"), cli


def test_record_batch_and_table(detector):
    run, test, cli = detector
    scorer = aekit.ArrowScorer(str(run))
    batch = pa.RecordBatch.from_pandas(test, preserve_index=False)
    out = scorer(batch)
    assert out.schema.names == COLS + ["score", "p_value", "flag"]
    np.testing.assert_allclose(out.column("score").to_numpy(), cli["score"].to_numpy(), rtol=1e-5)
    np.testing.assert_array_equal(out.column("flag").to_numpy(zero_copy_only=False), cli["flag"].to_numpy() == 1)
    assert out.schema == scorer.output_schema(batch.schema)
    # Pickled (what Spark and Ray ship to workers): the run travels inside.
    again = pickle.loads(pickle.dumps(scorer))
    t = again(pa.Table.from_pandas(test, preserve_index=False))
    np.testing.assert_allclose(t.column("score").to_numpy(), cli["score"].to_numpy(), rtol=1e-5)
    enc = aekit.ArrowScorer(str(run), what="encode", keep=False)(batch)
    assert enc.num_rows == 1000 and enc.schema.names[0] == "z0"
    with pytest.raises(ValueError, match="lacks the columns \\['d'\\]"):
        scorer(batch.drop_columns(["d"]))


def test_spark_map_in_arrow(detector):
    from pyspark.sql import SparkSession  # in crates/aekit-py/requirements-test.txt: never skipped

    run, test, cli = detector
    # Spark's Python workers are this interpreter (the venv that has aekit), as in a real job.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (SparkSession.builder.master("local[2]").appName("aekit-test").config("spark.ui.enabled", "false")
             .config("spark.driver.host", "127.0.0.1").config("spark.sql.execution.arrow.maxRecordsPerBatch", "250").getOrCreate())
    try:
        scorer = aekit.ArrowScorer(str(run))
        df = spark.createDataFrame(test).repartition(2)
        schema = scorer.output_schema(pa.schema([pa.field(c, pa.float64()) for c in COLS]))
        from pyspark.sql.pandas.types import from_arrow_schema

        got = df.mapInArrow(scorer.map_in_arrow, from_arrow_schema(schema)).toPandas()
    finally:
        spark.stop()
    merged = got.merge(test.assign(cli_score=cli["score"]), on=COLS)
    assert len(merged) == 1000
    np.testing.assert_allclose(merged["score"], merged["cli_score"], rtol=1e-5)


def test_ray_map_batches(detector):
    import ray  # in crates/aekit-py/requirements-test.txt: never skipped
    run, test, cli = detector
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = ray.data.from_pandas(test).repartition(4)
        got = ds.map_batches(aekit.ArrowScorer(str(run)), batch_format="pyarrow", batch_size=250).to_pandas()
    finally:
        ray.shutdown()
    merged = got.merge(test.assign(cli_score=cli["score"]), on=COLS)
    assert len(merged) == 1000
    np.testing.assert_allclose(merged["score"], merged["cli_score"], rtol=1e-5)


@pytest.mark.parametrize("example", ["spark_score.py", "ray_score.py"])
def test_examples_score_a_parquet_table(detector, tmp_path, example):
    import subprocess

    import pandas as pd

    from conftest import ROOT

    run, test, cli = detector
    test.to_parquet(tmp_path / "in.parquet", index=False)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    r = subprocess.run([sys.executable, str(ROOT / "examples" / example), str(run), str(tmp_path / "in.parquet"), str(tmp_path / "out")],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    got = pd.read_parquet(tmp_path / "out")
    merged = got.merge(test.assign(cli_score=cli["score"]), on=COLS)
    assert len(merged) == 1000
    np.testing.assert_allclose(merged["score"], merged["cli_score"], rtol=1e-5)
