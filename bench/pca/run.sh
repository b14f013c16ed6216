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

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
cd "$repo_root"

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_BENCH_VENV:-$HOME/.cache/aekit-bench/venv}"
RUNS="${AEKIT_BENCH_RUNS:-5}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"
COMPONENTS=50

if [[ ! -x "$AEKIT_BIN" ]]; then
    echo "error: aekit binary not found at $AEKIT_BIN (run: cargo build --release)" >&2
    exit 1
fi
if [[ ! -f "$AEKIT_DATA/mnist/train-images-idx3-ubyte.gz" ]]; then
    echo "error: MNIST not found in $AEKIT_DATA/mnist/ (set AEKIT_DATA)" >&2
    exit 1
fi

# Pin threads for everything started from here on.
export RAYON_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
       MKL_NUM_THREADS="$THREADS" BLIS_NUM_THREADS="$THREADS" NUMEXPR_NUM_THREADS="$THREADS" \
       VECLIB_MAXIMUM_THREADS="$THREADS"

# --- Python venv (outside the repository), reinstalled only when requirements.txt changes ---
req="$here/requirements.txt"
req_hash="$(sha256sum "$req" | cut -d' ' -f1)"
stamp="$VENV/.aekit-bench-requirements.sha256"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating venv at $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
fi
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$req_hash" ]]; then
    echo "installing pinned requirements into $VENV" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$req"
    echo "$req_hash" > "$stamp"
fi
PY="$VENV/bin/python"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/aekit-pca-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
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
import json, statistics, sys
solver, d, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
runs = []
for i in range(1, n + 1):
    with open(f"{d}/report_{i}.json") as f:
        runs.append(float(json.load(f)["fit_seconds"]))
print(json.dumps({"tool": "aekit", "solver": solver, "median_s": statistics.median(runs),
                  "min_s": min(runs), "max_s": max(runs), "runs": runs}))
EOF
done

# --- scikit-learn ---
"$PY" "$here/sklearn_pca.py" --data-dir "$AEKIT_DATA" --runs "$RUNS" --threads "$THREADS" \
    --components "$COMPONENTS" --solvers full,covariance_eigh,randomized | tee -a "$results" >&2

# --- report ---
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
git_rev="$(git rev-parse --short HEAD 2>/dev/null || echo none)"
"$PY" - "$results" "$(nproc)" "$cpu_model" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$git_rev" "$THREADS" "$RUNS" <<'EOF'
import json, sys
path, nproc, cpu, date, rev, threads, runs = sys.argv[1:8]
res, versions = {}, {}
with open(path) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        o = json.loads(line)
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
