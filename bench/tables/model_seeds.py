"""aekit's mean AUROC on the table suite for several model seeds (`anomaly fit --seed K`).

The suite's tasks are small, so the initial weights move the AUROC by as much as the margins
between detectors; defaults are judged by the mean over model seeds, not by seed 0 alone.

    python bench/tables/model_seeds.py AEKIT SUITES PART N_SPLITS K [FIT OPTIONS...]

SUITES holds `suite-0` ... `suite-{N_SPLITS-1}` (make_suite.py; run.sh leaves them in its work
folder), PART is `val` (for choosing settings) or `test` (for reporting). Prints the per-task
mean over splits and seeds, the mean over tasks per model seed, and their mean. Two fits run at
once, one thread each.
"""

import csv
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def fit_and_score(aekit, root, part, job, extra, env):
    """`anomaly fit` on split `s`'s task at model seed `seed` (job = (s, task, seed)), then
    `anomaly score` on PART: (report.json, the rows of scores.csv)."""
    s, task, seed = job
    d = f"{root}/suite-{s}/{task}"
    with tempfile.TemporaryDirectory() as tmp:
        run = f"{tmp}/r"
        subprocess.run([aekit, "anomaly", "fit", "--data", f"{d}/train.csv", "--out", run, "--quiet", "--seed", str(seed), *extra], check=True, env=env)
        subprocess.run([aekit, "anomaly", "score", "--run", run, "--data", f"{d}/{part}.csv", "--label-column", "anomaly",
                        "--out", f"{tmp}/s/scores.csv", "--quiet"], check=True, env=env)
        with open(f"{tmp}/s/report.json") as f, open(f"{tmp}/s/scores.csv") as g:
            return json.load(f), list(csv.DictReader(g))


def jobs_of(root, n_splits, k):
    """(split seed, task, model seed) for every task of suites 0..n_splits-1 and seeds 0..k-1."""
    return [(s, t, seed) for s in range(n_splits) for t in sorted(os.listdir(f"{root}/suite-{s}"))
            if os.path.isdir(f"{root}/suite-{s}/{t}") for seed in range(k)]


def main():
    aekit, root, part, n_splits, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    extra = sys.argv[6:]
    env = dict(os.environ, RAYON_NUM_THREADS="1")

    def one(job):
        return job[1], job[2], fit_and_score(aekit, root, part, job, extra, env)[0]["auroc"]

    jobs = jobs_of(root, n_splits, k)
    res = {}
    with ThreadPoolExecutor(2) as ex:
        for task, seed, auroc in ex.map(one, jobs):
            res.setdefault(task, {}).setdefault(seed, []).append(auroc)
    tasks = sorted(res)
    print(f"{part} AUROC, aekit {' '.join(extra) or 'defaults'}, {n_splits} split seeds x {k} model seeds")
    print("| task | mean over splits and model seeds |\n|---|---|")
    for t in tasks:
        print(f"| {t} | {np.mean([np.mean(res[t][s]) for s in range(k)]):.3f} |")
    per_seed = [np.mean([np.mean(res[t][s]) for t in tasks]) for s in range(k)]
    print("mean over tasks per model seed:", " ".join(f"{v:.4f}" for v in per_seed), f"| mean {np.mean(per_seed):.4f}")


if __name__ == "__main__":
    main()
