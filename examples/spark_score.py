"""Score a Parquet table with an aekit anomaly detector on Spark (mapInArrow).

    python examples/spark_score.py RUN_DIR INPUT.parquet OUTPUT_DIR [--master local[2]]

RUN_DIR is a table detector (``aekit anomaly fit --data train.csv --out RUN_DIR`` or
``aekit.AnomalyDetector(run_dir=...)``); INPUT holds its columns. The run's files travel inside
the pickled scorer, so executors need aekit installed but no shared file system. Each executor's
Python worker opens the model once and streams record batches through it.
"""

import argparse
import os
import sys

import pyarrow as pa
from pyspark.sql import SparkSession
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

import aekit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--master", default="local[2]")
    a = ap.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    spark = SparkSession.builder.master(a.master).appName("aekit-score").getOrCreate()
    df = spark.read.parquet(a.input)
    scorer = aekit.ArrowScorer(a.run)  # adds score, p_value, flag
    schema = from_arrow_schema(scorer.output_schema(to_arrow_schema(df.schema)))
    df.mapInArrow(scorer.map_in_arrow, schema).write.mode("overwrite").parquet(a.output)
    spark.stop()


if __name__ == "__main__":
    main()
