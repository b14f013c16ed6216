"""Tables of the suite's results: AUROC per task and detector (mean over the split seeds given),
the mean over tasks, and each detector's worst gap to PyOD's AutoEncoder.

    python report.py PART RESULTS.jsonl...     (PART: val or test)
"""
import collections
import json
import sys


def main(part, files):
    res = collections.defaultdict(list)
    for f in files:
        for line in open(f):
            r = json.loads(line)
            res[(r["detector"], r["task"])].append(r[f"{part}_auroc"])
    dets = sorted({d for d, _ in res}, key=lambda d: (not d.startswith("aekit"), d))
    tasks = sorted({t for _, t in res})
    mean = {k: sum(v) / len(v) for k, v in res.items()}
    print(f"{part} AUROC (mean over {max(len(v) for v in res.values())} split seeds)")
    print("| task | " + " | ".join(dets) + " |")
    print("|---|" + "---|" * len(dets))
    for t in tasks:
        print(f"| {t} | " + " | ".join(f"{mean[(d, t)]:.3f}" if (d, t) in mean else "-" for d in dets) + " |")
    print("| **mean** | " + " | ".join(f"**{sum(mean[(d, t)] for t in tasks) / len(tasks):.3f}**" for d in dets) + " |")
    ref = "pyod-autoencoder"
    if any(d == ref for d in dets):
        gaps = {d: min(mean[(d, t)] - mean[(ref, t)] for t in tasks) for d in dets}
        print("| worst gap to PyOD AutoEncoder | " + " | ".join(f"{gaps[d]:+.3f}" for d in dets) + " |")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
