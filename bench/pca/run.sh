#!/usr/bin/env bash
# Reproducible PCA benchmark: aekit vs scikit-learn on MNIST train (60000 x 784).
#
#   bash bench/pca/run.sh
#
# Environment:
#   AEKIT_DATA          data root holding mnist/*.gz   (default: ../shared/data, relative to the repo root)
#   AEKIT_BENCH_VENV    Python venv to create/reuse    (default: $HOME/.cache/aekit-bench/venv)
#   AEKIT_BENCH_RUNS    timed runs per solver           (default: 5)
#   AEKIT_BENCH_THREADS thread count for both tools     (default: 2)
#   AEKIT_BIN           aekit binary                    (default: target/release/aekit)
#
# Needs a release build (cargo build --release); this script never builds.
set -euo pipefail

. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../common/lib.sh"
here="$REPO_ROOT/bench/pca"

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_BENCH_VENV:-$HOME/.cache/aekit-bench/venv}"
RUNS="${AEKIT_BENCH_RUNS:-5}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"
COMPONENTS=50

require_aekit_bin "$AEKIT_BIN"
require_mnist "$AEKIT_DATA" train-images-idx3-ubyte.gz

# Pin threads for everything started from here on.
pin_threads "$THREADS"

ensure_venv "$VENV" "$here/requirements.txt"
PY="$VENV/bin/python"
# The inline Python below imports bench/common/benchutil.py.
export PYTHONPATH="$BENCH_COMMON${PYTHONPATH:+:$PYTHONPATH}"

bench_tmpdir aekit-pca-bench
tmp="$BENCH_TMP"
results="$tmp/results.jsonl"
: > "$results"

# --- aekit ---
for solver in exact randomized; do
    for i in $(seq 1 "$RUNS"); do
        out="$tmp/aekit_${solver}/run_$i"
        mkdir -p "$(dirname "$out")"
        if ! "$AEKIT_BIN" pca --data mnist --data-dir "$AEKIT_DATA" --out "$out" \
                --components "$COMPONENTS" --solver "$solver" --seed 0 --quiet \
                > "$tmp/aekit.log" 2>&1; then
            echo "error: aekit pca --solver $solver failed (run $i):" >&2
            cat "$tmp/aekit.log" >&2
            exit 1
        fi
        if [[ ! -f "$out/report.json" ]]; then
            echo "error: $out/report.json was not written by aekit pca" >&2
            exit 1
        fi
        cp "$out/report.json" "$tmp/aekit_${solver}/report_$i.json"
        echo "aekit $solver run $i done" >&2
    done
    "$PY" - "$solver" "$tmp/aekit_${solver}" "$RUNS" >> "$results" <<'EOF'
import json, sys
import benchutil
solver, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = []
for i in range(1, n + 1):
    with open(f"{d}/report_{i}.json") as f:
        runs.append(float(json.load(f)["fit_seconds"]))
benchutil.print_json({"tool": "aekit", "solver": solver, **benchutil.summary(runs)})
EOF
done

# --- scikit-learn ---
"$PY" "$here/sklearn_pca.py" --data-dir "$AEKIT_DATA" --runs "$RUNS" --threads "$THREADS" \
    --components "$COMPONENTS" --solvers full,covariance_eigh,randomized | tee -a "$results" >&2

# --- report ---
machine_info
"$PY" - "$results" "$MACHINE_NPROC" "$MACHINE_CPU" "$RUN_DATE" "$GIT_REV" "$THREADS" "$RUNS" <<'EOF'
import sys
import benchutil
path, nproc, cpu, date, rev, threads, runs = sys.argv[1:8]
res, versions = {}, {}
for o in benchutil.read_jsonl(path):
    if o.get("kind") == "versions":
        versions = o
    else:
        res[(o["tool"], o["solver"])] = o

print()
print(f"## PCA fit time, MNIST train 60000x784 float32, 50 components")
print()
print(f"- machine: nproc={nproc}, CPU: {cpu}")
print(f"- date: {date}, aekit git rev: {rev}")
print(f"- threads: {threads} (RAYON_NUM_THREADS / threadpoolctl), median of {runs} runs, fit only")
print(f"- python {versions.get('python')}, numpy {versions.get('numpy')}, scipy {versions.get('scipy')}, "
      f"scikit-learn {versions.get('sklearn')}, threadpoolctl {versions.get('threadpoolctl')}")
print()
print("| aekit solver | aekit median s (min-max) | sklearn svd_solver | sklearn median s (min-max) | ratio aekit/sklearn |")
print("|---|---|---|---|---|")
def cell(o):
    return f"{o['median_s']:.3f} ({o['min_s']:.3f}-{o['max_s']:.3f})"
for a, s in (("exact", "full"), ("exact", "covariance_eigh"), ("randomized", "randomized")):
    ao, so = res.get(("aekit", a)), res.get(("sklearn", s))
    if ao is None or so is None:
        print(f"| {a} | {'n/a' if ao is None else cell(ao)} | {s} | {'n/a' if so is None else cell(so)} | n/a |")
        continue
    print(f"| {a} | {cell(ao)} | {s} | {cell(so)} | {ao['median_s'] / so['median_s']:.2f} |")
EOF
