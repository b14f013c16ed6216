"""Would an ensemble of model seeds pay on the table suite? Fits K model seeds per task and split
(`anomaly fit --seed k`, defaults otherwise), scores PART, and compares the single models' mean
AUROC with that of ensembles of 3 and 5 consecutive seeds, combined by the mean, the median or
the mean rank of their scores.

    python bench/tables/seed_ensemble.py AEKIT SUITES PART N_SPLITS K [FIT OPTIONS...]

SUITES as for model_seeds.py (make_suite.py's suite-0 ... folders); PART val (for choosing) or
test. Two fits at once, one thread each.
"""
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.metrics import roc_auc_score

from model_seeds import fit_and_score, jobs_of

aekit, root, part, n_splits, k = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
extra = sys.argv[6:]
env = dict(os.environ, RAYON_NUM_THREADS="1")


def one(job):
    rows = fit_and_score(aekit, root, part, job, extra, env)[1]
    return (*job, np.array([float(r["score"]) for r in rows]), np.array([int(r["anomalous"]) for r in rows]))


jobs = jobs_of(root, n_splits, k)
res = {}
with ThreadPoolExecutor(2) as ex:
    for s, t, seed, sc, y in ex.map(one, jobs):
        res[(s, t, seed)] = (sc, y)
tasks = sorted({t for (_, t, _) in res})
def rank(v):
    return np.argsort(np.argsort(v)) / (len(v) - 1)
out = {}
for t in tasks:
    single, ens = [], {}
    for s in range(n_splits):
        y = res[(s, t, 0)][1]
        S = np.stack([res[(s, t, seed)][0] for seed in range(k)])
        single.append(np.mean([roc_auc_score(y, S[i]) for i in range(k)]))
        for m in (3, 5):
            for how in ("mean", "rank", "median"):
                aucs = []
                for g in range(k // m):
                    G = S[g * m:(g + 1) * m]
                    if how == "mean": sc = G.mean(0)
                    elif how == "median": sc = np.median(G, 0)
                    else: sc = np.mean([rank(r) for r in G], 0)
                    aucs.append(roc_auc_score(y, sc))
                ens.setdefault((m, how), []).append(np.mean(aucs))
    out[t] = (np.mean(single), {kk: np.mean(v) for kk, v in ens.items()})
keys = sorted(out[tasks[0]][1])
print("| task | single | " + " | ".join(f"{m}x{h}" for m, h in keys) + " |")
for t in tasks:
    print(f"| {t} | {out[t][0]:.3f} | " + " | ".join(f"{out[t][1][kk]:.3f}" for kk in keys) + " |")
print(f"| mean | {np.mean([out[t][0] for t in tasks]):.4f} | " + " | ".join(f"{np.mean([out[t][1][kk] for t in tasks]):.4f}" for kk in keys) + " |")
