"""aekit on each task of the table suite, as a user runs it: `aekit anomaly fit --data
train.csv --out R` (plus any extra options given after --), then `aekit anomaly score --run R
--data {val,test}.csv --label-column anomaly`; AUROC from the score report. Prints one JSON line
per task, as rivals.py does.

    python aekit_suite.py AEKIT_BINARY SUITE_DIR [--name NAME] [-- FIT_OPTIONS...]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    ap.add_argument("aekit")
    ap.add_argument("suite")
    ap.add_argument("--name", default="aekit")
    a = ap.parse_args(argv)
    for task in sorted(os.listdir(a.suite)):
        d = os.path.join(a.suite, task)
        if not os.path.isdir(d):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            run = os.path.join(tmp, "run")
            t0 = time.perf_counter()
            subprocess.run([a.aekit, "anomaly", "fit", "--data", os.path.join(d, "train.csv"), "--out", run, "--quiet", *extra], check=True)
            secs = time.perf_counter() - t0
            out = {"task": task, "detector": a.name, "fit_seconds": secs}
            for part in ("val", "test"):
                scores = os.path.join(tmp, part, "scores.csv")
                subprocess.run(
                    [a.aekit, "anomaly", "score", "--run", run, "--data", os.path.join(d, f"{part}.csv"), "--label-column", "anomaly", "--out", scores, "--quiet"],
                    check=True,
                )
                out[f"{part}_auroc"] = json.load(open(os.path.join(tmp, part, "report.json")))["auroc"]
            print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
