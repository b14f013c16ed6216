"""aekit.ArrowScorer scaled out: Spark mapInArrow and Ray Data map_batches on 1 and 2 workers.

    ~/.cache/aekit-py-venv/bin/python bench/python/scale_out.py WORK [--rows 10000000] [--files 20] [--repeats 3]

Setup: a table detector ``aekit.AnomalyDetector(epochs=3)`` fitted on 10,000 rows of a synthetic
table (a, b, c ~ N(0, 1); d = a + 2b - c + N(0, 0.1^2)), wrapped in ``aekit.ArrowScorer``. The
--rows scoring rows (float64 columns a, b, c, d; 1% of rows with d shifted by 3) are written once
as --files Parquet files under WORK/data-ROWS (re-used when present).

What is measured, for each engine and worker count (1 and 2):
  * Spark (local[1], local[2]): ``spark.read.parquet(dir).mapInArrow(scorer.map_in_arrow,
    schema).write.format("noop")``; Arrow batches of 10,000 rows (Spark's default);
  * Ray Data (ray.init(num_cpus=1 / 2)): ``ray.data.read_parquet(dir).map_batches(scorer,
    batch_format="pyarrow", batch_size=10000)`` followed by a fused per-batch reduction (rows,
    sum of scores, flagged rows), so only a few numbers per batch reach the driver; the driver sums
    them (nothing is kept).
  Wall time of the job (session start excluded; a small warm-up job first starts the Python
  workers), median of --repeats runs; rows/s, rows/s per worker (= per core: one worker per
  core), and the speed-up from 1 to 2 workers.
  Memory: a psutil thread in the driver polls every 0.5 s the RSS of every Python worker process
  (Spark: the worker processes forked by ``pyspark.daemon``; Ray: the ``ray::`` worker processes
  whose title showed the scoring task) and keeps each process's peak; the table gives the largest per-worker peak, for the full --rows run and for
  a run on 1/10 of the files, to show that memory per worker does not grow with the rows scored.
  Also: peak USS (memory unique to the process; Ray workers map the shared object store, which
  RSS counts), the machine's CPU busy fraction during the run (psutil.cpu_times), and how many
  aekit-run-* temporary folders the configuration left in the temp directory; for Ray also the
  peak RSS outside the object store's /dev/shm mapping (psutil memory_maps).
  Spark reads with spark.sql.files.maxPartitionBytes=24m: one file per partition (20 tasks).
  Correctness: 1,000 rows go through each engine and worker count, and their scores are compared with
  ``scorer(table)`` called directly in the driver, and with ``det.decision_function``.

--control scores with ``ControlScorer`` (NumPy only, same columns) instead of aekit: the engines'
own memory, to compare the workers' memory with (its scores are not the detector's; the score
comparison lines then mean nothing).

Prints markdown tables and writes WORK/scale_out.json (WORK/scale_out_control.json).
"""
import argparse
import glob
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

COLS = ["a", "b", "c", "d"]


def table(n, rng, outliers=0.0):
    a, b, c = rng.normal(size=(3, n))
    d = a + 2 * b - c + rng.normal(scale=0.1, size=n)
    if outliers:
        d = d + 3.0 * (rng.random(n) < outliers)
    return {"a": a, "b": b, "c": c, "d": d}


def make_data(path, rows, files, seed=1):
    if len(glob.glob(os.path.join(path, "*.parquet"))) == files:
        return
    os.makedirs(path, exist_ok=True)
    rng = np.random.default_rng(seed)
    per = rows // files
    for i in range(files):
        n = per + (rows - per * files if i == files - 1 else 0)
        pq.write_table(pa.table(table(n, rng, outliers=0.01)), os.path.join(path, f"part-{i:03d}.parquet"))


class RssSampler:
    """Peak RSS per process of the matching worker processes, polled every `every` seconds."""

    def __init__(self, kind, every=0.5):
        self.kind, self.every, self.peaks, self.driver_peak, self.active, self.uss, self.own = kind, every, {}, 0, set(), {}, {}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._loop, daemon=True)

    def _match(self, p):
        cmd = p.info["cmdline"] or []
        line = " ".join(cmd)
        if self.kind == "spark":
            # pyspark.daemon forks one worker per task slot; the daemon itself (parent: java) is left out.
            if "pyspark.daemon" in line or "pyspark.worker" in line:
                try:
                    return "pyspark.daemon" in " ".join(p.parent().cmdline()) if "pyspark.daemon" in line else True
                except Exception:
                    return False
            return False
        if line.startswith("ray::") or "default_worker.py" in line:
            # Ray keeps idle workers around; count those that ran the scoring (their title names it).
            if "MapBatches" in line or "ArrowScorer" in line:
                self.active.add(p.pid)
            return True
        return False

    def _loop(self):
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            for p in psutil.process_iter(["pid", "cmdline"]):
                try:
                    if p.pid != me.pid and self._match(p):
                        m = p.memory_full_info()
                        if m.rss > self.peaks.get(p.pid, 0):
                            self.peaks[p.pid] = m.rss
                        if m.uss > self.uss.get(p.pid, 0):
                            self.uss[p.pid] = m.uss
                        if self.kind == "ray":
                            # RSS outside Ray's shared-memory object store (mapped from /dev/shm).
                            own = sum(mm.rss for mm in p.memory_maps(grouped=True) if not mm.path.startswith("/dev/shm"))
                            if own > self.own.get(p.pid, 0):
                                self.own[p.pid] = own
                except Exception:
                    pass
            self.driver_peak = max(self.driver_peak, me.memory_info().rss)
            self._stop.wait(self.every)

    def __enter__(self):
        import psutil

        self._cpu0, self._t0 = psutil.cpu_times(), time.perf_counter()
        self._t.start()
        return self

    def __exit__(self, *exc):
        import psutil

        c1, wall = psutil.cpu_times(), time.perf_counter() - self._t0
        busy = lambda c: sum(c) - c.idle - getattr(c, "iowait", 0.0)
        self.cpu_busy = (busy(c1) - busy(self._cpu0)) / (wall * psutil.cpu_count())
        self._stop.set()
        self._t.join()

    def summary(self):
        # Spark: every forked pyspark worker; Ray: the workers seen running the scoring task.
        pids = [pid for pid in self.peaks if self.kind == "spark" or pid in self.active]
        if not pids:  # a short Ray job whose task titles the 0.5 s polls missed: all Ray workers
            pids = list(self.peaks)
        v = sorted(self.peaks[pid] for pid in pids)
        u = sorted(self.uss.get(pid, 0) for pid in pids)
        return {"workers_seen": len(v), "machine_cpu_busy": getattr(self, "cpu_busy", None),
                "max_worker_peak_uss_mb": u[-1] / 2**20 if u else None,
                "max_worker_peak_rss_outside_object_store_mb": max((self.own.get(pid, 0) for pid in pids), default=0) / 2**20 if self.kind == "ray" else None, "all_processes_peaks_mb": sorted(x / 2**20 for x in self.peaks.values()), "max_worker_peak_mb": v[-1] / 2**20 if v else None,
                "worker_peaks_mb": [x / 2**20 for x in v], "driver_peak_mb": self.driver_peak / 2**20}


class ControlScorer:
    """The control for --control: same input and output columns as ArrowScorer, computed with
    NumPy alone (no aekit), so that the memory a worker holds can be told apart from the engine's
    own buffering."""

    def __call__(self, t):
        x = np.column_stack([t.column(c).to_numpy() for c in COLS])
        score = (x * x).sum(axis=1)
        return t.append_column("score", pa.array(score)).append_column("p_value", pa.array(np.full(len(score), np.nan))) \
            .append_column("flag", pa.array(score > 10.0))


def spark_session(n):
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    return (SparkSession.builder.master(f"local[{n}]").appName(f"aekit-scale-{n}").config("spark.ui.enabled", "false")
            .config("spark.driver.host", "127.0.0.1").config("spark.driver.memory", "4g")
            # One Parquet file (~17 MB + 4 MB open cost) per partition, as Ray reads one file per task.
            .config("spark.sql.files.maxPartitionBytes", "24m").getOrCreate())


def run_spark(n, scorer, data_dir, files_small, sample_path, repeats, log):
    from pyspark.sql.pandas.types import from_arrow_schema

    spark = spark_session(n)
    res = {"engine": "spark", "workers": n}
    try:
        schema = from_arrow_schema(scorer.output_schema(pa.schema([pa.field(c, pa.float64()) for c in COLS])))

        def job(paths):
            spark.read.parquet(*paths).mapInArrow(scorer.map_in_arrow, schema).write.format("noop").mode("overwrite").save()

        files = sorted(glob.glob(os.path.join(data_dir, "*.parquet")))
        res["partitions"] = spark.read.parquet(*files).rdd.getNumPartitions()
        # Warm-up (workers start) and the correctness sample.
        got = spark.read.parquet(sample_path).mapInArrow(scorer.map_in_arrow, schema).toPandas()
        res["sample"] = got
        job(files[:1])
        times, mem = [], None
        for r in range(repeats):
            with RssSampler("spark") as s:
                t0 = time.perf_counter()
                job(files)
                times.append(time.perf_counter() - t0)
            mem = s.summary() if mem is None or (s.summary()["max_worker_peak_mb"] or 0) > (mem["max_worker_peak_mb"] or 0) else mem
            log(f"  spark local[{n}] run {r}: {times[-1]:.2f} s, worker peak {s.summary()['max_worker_peak_mb']} MB")
        with RssSampler("spark") as s:
            job(files[:files_small])
        res.update(times_s=times, median_s=statistics.median(times), mem_full=mem, mem_small=s.summary())
    finally:
        spark.stop()
    return res


def _reduce(t):
    return pa.table({"rows": [t.num_rows], "score_sum": [pc.sum(t.column("score")).as_py()],
                     "flagged": [pc.sum(pc.cast(t.column("flag"), pa.int64())).as_py()]})


def run_ray(n, scorer, data_dir, files_small, sample_path, repeats, log):
    import ray

    ray.init(num_cpus=n, include_dashboard=False, log_to_driver=False)
    res = {"engine": "ray", "workers": n}
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        files = sorted(glob.glob(os.path.join(data_dir, "*.parquet")))

        def job(paths):
            ds = ray.data.read_parquet(paths).map_batches(scorer, batch_format="pyarrow", batch_size=10000).map_batches(_reduce, batch_format="pyarrow", batch_size=None)
            rows = 0
            for b in ds.iter_batches(batch_format="pyarrow", batch_size=None):
                rows += pc.sum(b.column("rows")).as_py()
            return rows

        res["sample"] = ray.data.read_parquet(sample_path).map_batches(scorer, batch_format="pyarrow", batch_size=250).to_pandas()
        job(files[:1])
        times, mem, rows = [], None, None
        for r in range(repeats):
            with RssSampler("ray") as s:
                t0 = time.perf_counter()
                rows = job(files)
                times.append(time.perf_counter() - t0)
            mem = s.summary() if mem is None or (s.summary()["max_worker_peak_mb"] or 0) > (mem["max_worker_peak_mb"] or 0) else mem
            log(f"  ray num_cpus={n} run {r}: {times[-1]:.2f} s ({rows} rows), worker peak {s.summary()['max_worker_peak_mb']} MB")
        with RssSampler("ray") as s:
            job(files[:files_small])
        res.update(times_s=times, median_s=statistics.median(times), mem_full=mem, mem_small=s.summary(), rows_counted=rows)
    finally:
        ray.shutdown()
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--engines", nargs="+", default=["spark", "ray"])
    ap.add_argument("--control", action="store_true", help="score with ControlScorer (NumPy only) instead of aekit")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    log = lambda m: print(m, file=sys.stderr, flush=True)

    import pandas as pd
    import psutil
    import pyspark
    import ray

    import aekit

    rng = np.random.default_rng(0)
    train = pd.DataFrame(table(10_000, rng))
    t0 = time.perf_counter()
    det = aekit.AnomalyDetector(epochs=3).fit(train)
    fit_s = time.perf_counter() - t0
    scorer = ControlScorer() if a.control else aekit.ArrowScorer(det)
    data_dir = os.path.join(a.work, f"data-{a.rows}")
    t0 = time.perf_counter()
    make_data(data_dir, a.rows, a.files)
    log(f"fit {fit_s:.2f} s; data in {data_dir} ({time.perf_counter() - t0:.1f} s)")
    files_small = max(1, a.files // 10)
    sample_path = os.path.join(a.work, "sample-1000.parquet")
    sample = pa.table(table(1000, np.random.default_rng(7), outliers=0.05))
    pq.write_table(sample, sample_path)
    direct = scorer(sample).to_pandas()
    det_scores = det.decision_function(sample.to_pandas())

    results = []
    for engine in a.engines:
        for n in a.workers:
            runs = lambda: len(glob.glob(os.path.join(tempfile.gettempdir(), "aekit-run-*")))
            before = runs()
            r = (run_spark if engine == "spark" else run_ray)(n, scorer, data_dir, files_small, sample_path, a.repeats, log)
            r["aekit_temp_run_folders_created"] = runs() - before
            got = r.pop("sample")
            m = got.merge(direct, on=COLS, suffixes=("", "_direct"))
            r["sample_check"] = {"rows_matched": int(len(m)),
                                 "max_abs_diff_vs_scorer": float(np.max(np.abs(m["score"] - m["score_direct"]))) if len(m) else None,
                                 "flags_equal": bool((m["flag"] == m["flag_direct"]).all()),
                                 "p_values_equal": bool(np.allclose(m["p_value"], m["p_value_direct"], rtol=0, atol=0))}
            r["rows_per_s"] = a.rows / r["median_s"]
            r["rows_per_s_per_worker"] = r["rows_per_s"] / n
            results.append(r)
    for r in results:
        one = next((q for q in results if q["engine"] == r["engine"] and q["workers"] == 1), None)
        r["speedup_vs_1"] = one["median_s"] / r["median_s"] if one else None

    out = {"benchmark": "scale_out", "control": a.control, "rows": a.rows, "files": a.files, "repeats": a.repeats, "fit_seconds": fit_s,
           "scorer_vs_decision_function_max_abs_diff": float(np.max(np.abs(direct["score"] - det_scores))),
           "versions": {"python": platform.python_version(), "pyspark": pyspark.__version__, "ray": ray.__version__, "pyarrow": pa.__version__,
                        "psutil": psutil.__version__, "aekit": aekit.__version__}, "results": results}
    path = os.path.join(a.work, "scale_out_control.json" if a.control else "scale_out.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, default=float)
    print(f"\nScoring {a.rows:,} rows ({a.files} Parquet files, 4 float64 columns) with aekit.ArrowScorer; "
          f"median of {a.repeats} runs after a warm-up job\n")
    print("| engine | workers | median wall (s) | rows/s | rows/s per worker | speed-up 1->N | peak RSS per worker, full run (MB) | same, 1/10 of the rows (MB) | peak USS per worker, full run (MB) | same, 1/10 of the rows (MB) | Ray: peak RSS outside object store (MB) | workers seen | machine CPU busy | driver peak RSS (MB) | temp run folders left |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    f0 = lambda v: "n/a" if v is None else f"{v:.0f}"
    for r in results:
        print(f"| {r['engine']} | {r['workers']} | {r['median_s']:.2f} | {r['rows_per_s']:,.0f} | {r['rows_per_s_per_worker']:,.0f} | "
              f"{r['speedup_vs_1']:.2f}x | {f0(r['mem_full']['max_worker_peak_mb'])} | {f0(r['mem_small']['max_worker_peak_mb'])} | "
              f"{f0(r['mem_full']['max_worker_peak_uss_mb'])} | {f0(r['mem_small']['max_worker_peak_uss_mb'])} | {f0(r['mem_full']['max_worker_peak_rss_outside_object_store_mb'])} | {r['mem_full']['workers_seen']} | {100 * r['mem_full']['machine_cpu_busy']:.0f}% | "
              f"{r['mem_full']['driver_peak_mb']:.0f} | {r['aekit_temp_run_folders_created']} |")
    print(f"\nCorrectness on 1,000 rows through each configuration (compared with scorer(table) in the driver; "
          f"scorer vs det.decision_function max abs diff {float(np.max(np.abs(direct['score'] - det_scores))):.2e})\n")
    print("| engine | workers | rows matched | max abs score diff | flags equal | p-values equal |")
    print("|---|---:|---:|---:|---|---|")
    for r in results:
        c = r["sample_check"]
        print(f"| {r['engine']} | {r['workers']} | {c['rows_matched']} | {c['max_abs_diff_vs_scorer']:.1e} | {c['flags_equal']} | {c['p_values_equal']} |")

    print(f"\n(results in {path})")


if __name__ == "__main__":
    main()
