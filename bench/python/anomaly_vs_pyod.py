"""aekit.AnomalyDetector beside PyOD's AutoEncoder on the table anomaly suite (bench/tables).

    PYTHONPATH=/work/main/crates/aekit-py/python ~/.cache/aekit-bench/serve-venv/bin/python \\
        bench/python/anomaly_vs_pyod.py WORK [--seeds 0 1 2 3 4] [--original-only]

The suite is made by bench/tables/make_suite.py (WORK/suite-SEED, one per split seed; made only
if missing). All ten tasks by default; --original-only keeps the six non-UCR ones. As
bench/tables does: fit on train.csv (normal rows only), AUROC (sklearn roc_auc_score) of
decision_function on test.csv (val.csv too, reported in the JSON only); the CSVs are read as
float64 exactly as bench/tables/rivals.py reads them.

What is measured, per task, over the split seeds:
  * quality: mean test AUROC of ``aekit.AnomalyDetector()`` at its defaults (20 epochs, batch
    64 for tables, seed 0) and of ``pyod.models.auto_encoder.AutoEncoder(random_state=seed, verbose=0)``
    at its defaults (10 epochs, batch 32), the call bench/tables/rivals.py makes;
  * fit time (wall, ``det.fit(train)``, which in both libraries also scores the training rows):
    aekit at its defaults (20 epochs) vs PyOD's AutoEncoder with ``epoch_num=20`` (same epochs,
    its other defaults kept). One fit per seed, so each per-task figure is the median of
    len(seeds) fits; one warm-up fit of each library (first task, first seed) is not counted.
    Overall ratio: geometric mean over tasks of (PyOD median / aekit median), and the ratio of
    the summed medians.
Threads: torch.set_num_threads(2) and threadpoolctl limits of 2 for PyOD; aekit uses the
machine's 2 cores.

Prints markdown tables and writes WORK/anomaly_vs_pyod.json.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SUITE = os.path.join(HERE, "..", "tables", "make_suite.py")
sys.path.insert(0, os.path.join(HERE, "..", "tables"))
from rivals import read  # noqa: E402  (the suite's CSV reader, shared with bench/tables)

ORIGINAL = ("breast-cancer", "digits-0", "digits-8", "iris-setosa-versicolor", "pyod-generate-20d", "wine-class0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("work")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--original-only", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)

    import pyod
    import sklearn
    import torch
    from pyod.models.auto_encoder import AutoEncoder
    from sklearn.metrics import roc_auc_score
    from threadpoolctl import threadpool_limits

    import aekit

    torch.set_num_threads(2)
    for s in a.seeds:
        d = os.path.join(a.work, f"suite-{s}")
        if not os.path.isfile(os.path.join(d, "suite.tsv")):
            subprocess.run([sys.executable, SUITE, d, "--seed", str(s)], check=True, stdout=subprocess.DEVNULL)
    tasks = sorted(t for t in os.listdir(os.path.join(a.work, f"suite-{a.seeds[0]}")) if os.path.isdir(os.path.join(a.work, f"suite-{a.seeds[0]}", t)))
    if a.original_only:
        tasks = [t for t in tasks if t in ORIGINAL]

    def load(seed, task):
        d = os.path.join(a.work, f"suite-{seed}", task)
        return read(os.path.join(d, "train.csv"))[0], read(os.path.join(d, "val.csv")), read(os.path.join(d, "test.csv"))

    def fit_timed(det, x):
        t0 = time.perf_counter()
        det.fit(x)
        return time.perf_counter() - t0

    records = []
    with threadpool_limits(limits=2):
        xtr, _, _ = load(a.seeds[0], tasks[0])
        aekit.AnomalyDetector().fit(xtr)  # warm-ups, not counted
        AutoEncoder(random_state=a.seeds[0], verbose=0, epoch_num=20).fit(xtr)
        for task in tasks:
            for seed in a.seeds:
                xtr, (xva, yva), (xte, yte) = load(seed, task)
                ae = aekit.AnomalyDetector()
                t_ae = fit_timed(ae, xtr)
                po = AutoEncoder(random_state=seed, verbose=0)
                t_po_default = fit_timed(po, xtr)
                po20 = AutoEncoder(random_state=seed, verbose=0, epoch_num=20)
                t_po20 = fit_timed(po20, xtr)
                rec = {"task": task, "seed": seed, "train_rows": int(xtr.shape[0]), "features": int(xtr.shape[1]),
                       "aekit_test_auroc": float(roc_auc_score(yte, ae.decision_function(xte))),
                       "aekit_val_auroc": float(roc_auc_score(yva, ae.decision_function(xva))),
                       "pyod_test_auroc": float(roc_auc_score(yte, po.decision_function(xte))),
                       "pyod_val_auroc": float(roc_auc_score(yva, po.decision_function(xva))),
                       "pyod_epoch20_test_auroc": float(roc_auc_score(yte, po20.decision_function(xte))),
                       "aekit_fit_s": t_ae, "pyod_default_fit_s": t_po_default, "pyod_epoch20_fit_s": t_po20}
                records.append(rec)
                print(f"  {task} seed {seed}: aekit {rec['aekit_test_auroc']:.3f} ({t_ae:.2f}s) pyod {rec['pyod_test_auroc']:.3f} "
                      f"({t_po_default:.2f}s, 20 ep {t_po20:.2f}s)", file=sys.stderr, flush=True)

    summary = []
    for task in tasks:
        rs = [r for r in records if r["task"] == task]
        summary.append({"task": task, "features": rs[0]["features"], "train_rows": rs[0]["train_rows"],
                        "aekit_test_auroc_mean": float(np.mean([r["aekit_test_auroc"] for r in rs])),
                        "aekit_test_auroc_sd": float(np.std([r["aekit_test_auroc"] for r in rs], ddof=1)) if len(rs) > 1 else 0.0,
                        "pyod_test_auroc_mean": float(np.mean([r["pyod_test_auroc"] for r in rs])),
                        "pyod_test_auroc_sd": float(np.std([r["pyod_test_auroc"] for r in rs], ddof=1)) if len(rs) > 1 else 0.0,
                        "aekit_fit_median_s": statistics.median(r["aekit_fit_s"] for r in rs),
                        "pyod_epoch20_fit_median_s": statistics.median(r["pyod_epoch20_fit_s"] for r in rs),
                        "pyod_default_fit_median_s": statistics.median(r["pyod_default_fit_s"] for r in rs)})
    for s in summary:
        s["fit_ratio_pyod20_over_aekit"] = s["pyod_epoch20_fit_median_s"] / s["aekit_fit_median_s"]
    geo = float(np.exp(np.mean([np.log(s["fit_ratio_pyod20_over_aekit"]) for s in summary])))
    tot = sum(s["pyod_epoch20_fit_median_s"] for s in summary) / sum(s["aekit_fit_median_s"] for s in summary)
    mean_ae = float(np.mean([s["aekit_test_auroc_mean"] for s in summary]))
    mean_po = float(np.mean([s["pyod_test_auroc_mean"] for s in summary]))
    wins = sum(s["aekit_test_auroc_mean"] > s["pyod_test_auroc_mean"] + 5e-4 for s in summary)
    losses = sum(s["aekit_test_auroc_mean"] < s["pyod_test_auroc_mean"] - 5e-4 for s in summary)

    n = len(a.seeds)
    print(f"\nTest AUROC, mean (sd) over split seeds {a.seeds}; both at their defaults\n")
    print("| task | features | train rows | aekit AnomalyDetector() | PyOD AutoEncoder() |")
    print("|---|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['task']} | {s['features']} | {s['train_rows']} | {s['aekit_test_auroc_mean']:.3f} ({s['aekit_test_auroc_sd']:.3f}) | "
              f"{s['pyod_test_auroc_mean']:.3f} ({s['pyod_test_auroc_sd']:.3f}) |")
    print(f"| **mean over {len(summary)} tasks** | | | **{mean_ae:.3f}** | **{mean_po:.3f}** |")
    print(f"\naekit higher on {wins}, equal (within 0.0005) on {len(summary) - wins - losses}, lower on {losses} of {len(summary)} tasks.")
    print(f"\nFit time (s), median of {n} fits (one per split seed, warm-up excluded), 20 epochs each, 2 threads\n")
    print("| task | aekit (defaults, 20 epochs, batch 64) | PyOD AutoEncoder(epoch_num=20, batch 32) | PyOD / aekit | PyOD at defaults (10 epochs) |")
    print("|---|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['task']} | {s['aekit_fit_median_s']:.3f} | {s['pyod_epoch20_fit_median_s']:.3f} | {s['fit_ratio_pyod20_over_aekit']:.1f}x | {s['pyod_default_fit_median_s']:.3f} |")
    print(f"| **overall** | {sum(s['aekit_fit_median_s'] for s in summary):.3f} (sum) | {sum(s['pyod_epoch20_fit_median_s'] for s in summary):.3f} (sum) | "
          f"**{geo:.1f}x** geo-mean ({tot:.1f}x of sums) | {sum(s['pyod_default_fit_median_s'] for s in summary):.3f} (sum) |")

    out = {"benchmark": "anomaly_vs_pyod", "seeds": a.seeds, "tasks": tasks,
           "versions": {"python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__, "torch": torch.__version__,
                        "pyod": pyod.__version__, "aekit": aekit.__version__},
           "torch_threads": torch.get_num_threads(), "summary": summary, "records": records,
           "overall": {"aekit_mean_test_auroc": mean_ae, "pyod_mean_test_auroc": mean_po, "aekit_wins": wins, "aekit_losses": losses,
                       "fit_ratio_geomean_pyod20_over_aekit": geo, "fit_ratio_of_sums_pyod20_over_aekit": tot}}
    path = os.path.join(a.work, "anomaly_vs_pyod.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\n(results in {path})")


if __name__ == "__main__":
    main()
