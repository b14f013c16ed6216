"""Long tables of the anomaly scorer's memory check: `--rows N` rows of the same 5-column kind
as the fit file (a, b, c = a + b, d = a - b, e; Gaussian, seeded), written as CSV and as Parquet
(snappy, pyarrow's default, in row groups of 1 M rows).

    python make_tables.py OUT_DIR --rows 10000000 [--seed 1]
"""
import argparse
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def table(n, rng):
    a = rng.normal(10.0, 3.0, n)
    b = rng.normal(0.0, 1.0, n)
    e = rng.normal(0.0, 0.5, n)
    return {"a": a, "b": b, "c": a + b + rng.normal(0, 0.05, n), "d": a - b + rng.normal(0, 0.05, n), "e": e}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--fit-rows", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    fit = pa.table(table(a.fit_rows, rng))
    with open(os.path.join(a.out, "normal.csv"), "w") as f:
        f.write("a,b,c,d,e\n")
        np.savetxt(f, np.column_stack([fit[c].to_numpy() for c in fit.column_names]), delimiter=",", fmt="%.5f")
    writer = pq.ParquetWriter(os.path.join(a.out, "long.parquet"), pa.schema([(c, pa.float64()) for c in "abcde"]))
    chunk = 1_000_000
    for start in range(0, a.rows, chunk):
        writer.write_table(pa.table(table(min(chunk, a.rows - start), rng)))
    writer.close()
    print(f"{a.rows} rows: {os.path.getsize(os.path.join(a.out, 'long.parquet')) / 1e6:.1f} MB Parquet")


if __name__ == "__main__":
    main()
