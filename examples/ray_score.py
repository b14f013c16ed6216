"""Score a Parquet table with an aekit anomaly detector on Ray Data (map_batches).

    python examples/ray_score.py RUN_DIR INPUT.parquet OUTPUT_DIR [--num-cpus 2]

The scorer pickles the run's files, so workers need aekit installed but no shared file system;
batches arrive as Arrow tables and leave with score, p_value and flag appended.
"""

import argparse

import ray

import aekit


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("run")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--num-cpus", type=int, default=2)
    a = ap.parse_args()
    ray.init(num_cpus=a.num_cpus, include_dashboard=False)
    ds = ray.data.read_parquet(a.input)
    ds.map_batches(aekit.ArrowScorer(a.run), batch_format="pyarrow").write_parquet(a.output)
    ray.shutdown()


if __name__ == "__main__":
    main()
