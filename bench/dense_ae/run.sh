#!/usr/bin/env bash
# Training-speed benchmark of the dense autoencoder on CPU: aekit vs PyTorch, same model,
# same data, same optimizer, same thread count.
#
#   bash bench/dense_ae/run.sh
#
# Model (aekit's default `--model dense`, rebuilt layer by layer in torch_dense_ae.py):
#   Linear 784->128 ReLU ->64 ReLU ->32 ReLU, decoder 32->64 ReLU ->128 ReLU ->784 (logits);
#   binary cross-entropy with logits (mean over pixels and samples, BCEWithLogitsLoss),
#   Adam lr 1e-3 eps 1e-8, batch 128, reshuffled every epoch, seed 0; all 60000 MNIST
#   training images, test BCE and MSE per pixel on the 10000 test images.
# Timed: each epoch's training steps only (shuffle, batches, forward, backward, Adam step),
# not data loading and not the per-epoch evaluation. aekit's numbers come from
# metrics.csv (train_seconds) and report.json (test_bce, test_mse) of its run folder.
#
# Environment:
#   AEKIT_DATA                 data root holding mnist/*.gz  (default: ../shared/data, relative to the repo root)
#   AEKIT_TORCH_VENV           Python venv with PyTorch      (default: $HOME/.cache/aekit-bench/torch-venv)
#   AEKIT_BENCH_EPOCHS         epochs per training run        (default: 3)
#   AEKIT_BENCH_THREADS        thread count for both tools    (default: 2)
#   AEKIT_BENCH_TRAIN_SAMPLES  first N training images        (default: 60000, all)
#   AEKIT_BENCH_ROUNDS         rounds; odd rounds run aekit first, even rounds PyTorch first (default: 1)
#   AEKIT_BIN                  aekit binary                   (default: target/release/aekit)
#
# Needs a release build (cargo build --release); this script never builds. The binary is
# copied to a temporary folder first, so a rebuild during the run does not change it.
# The venv is shared with bench/conv_ae/run.sh and reinstalled only when
# bench/conv_ae/requirements.txt (the one requirements file of both benchmarks) changes
# (torch from PyPI: the CUDA wheel, ~5 GB).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
cd "$repo_root"

AEKIT_DATA="${AEKIT_DATA:-../shared/data}"
VENV="${AEKIT_TORCH_VENV:-$HOME/.cache/aekit-bench/torch-venv}"
EPOCHS="${AEKIT_BENCH_EPOCHS:-3}"
THREADS="${AEKIT_BENCH_THREADS:-2}"
TRAIN_SAMPLES="${AEKIT_BENCH_TRAIN_SAMPLES:-60000}"
ROUNDS="${AEKIT_BENCH_ROUNDS:-1}"
AEKIT_BIN="${AEKIT_BIN:-target/release/aekit}"
BATCH=128
LR=0.001

if [[ ! -x "$AEKIT_BIN" ]]; then
    echo "error: aekit binary not found at $AEKIT_BIN (run: cargo build --release)" >&2
    exit 1
fi
for f in train-images-idx3-ubyte.gz t10k-images-idx3-ubyte.gz; do
    if [[ ! -f "$AEKIT_DATA/mnist/$f" ]]; then
        echo "error: $AEKIT_DATA/mnist/$f not found (set AEKIT_DATA)" >&2
        exit 1
    fi
done

# Pin threads for everything started from here on.
export RAYON_NUM_THREADS="$THREADS" OMP_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS" \
       MKL_NUM_THREADS="$THREADS" BLIS_NUM_THREADS="$THREADS" NUMEXPR_NUM_THREADS="$THREADS" \
       VECLIB_MAXIMUM_THREADS="$THREADS"

# --- PyTorch venv (outside the repository), reinstalled only when requirements.txt changes ---
req="$repo_root/bench/conv_ae/requirements.txt"
req_hash="$(sha256sum "$req" | cut -d' ' -f1)"
stamp="$VENV/.aekit-bench-requirements.sha256"
if [[ ! -x "$VENV/bin/python" ]]; then
    echo "creating venv at $VENV" >&2
    mkdir -p "$(dirname "$VENV")"
    python3 -m venv "$VENV"
fi
if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$req_hash" ]]; then
    echo "installing pinned requirements into $VENV (PyTorch from PyPI, several GB)" >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    "$VENV/bin/python" -m pip install -q -r "$req"
    echo "$req_hash" > "$stamp"
fi
PY="$VENV/bin/python"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/aekit-dense-bench.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
results="$tmp/results.jsonl"
: > "$results"
cp "$AEKIT_BIN" "$tmp/aekit"
aekit_sha="$(sha256sum "$tmp/aekit" | cut -c1-12)"
aekit_version="$("$tmp/aekit" --version 2>/dev/null || echo unknown)"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
clk_tck="$(getconf CLK_TCK)"

# Contention check: CPU time the whole machine spent busy (and stolen by the hypervisor)
# while a tool ran, minus the tool's own CPU time = what other processes took meanwhile.
cpu_stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9}' /proc/stat; }  # busy jiffies (no steal), steal
# Sets REPLY to the user+sys CPU seconds of this shell's finished children. Call it directly,
# not in $(...): `times` in a subshell would report the subshell's children.
children_cpu() {
    times > "$tmp/times"
    REPLY="$(tail -n1 "$tmp/times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } print s }')"
}
measure_begin() { read -r m_busy0 m_steal0 < <(cpu_stat); children_cpu; m_cpu0="$REPLY"; m_t0="$(date +%s.%N)"; }
measure_end() {  # tool round
    local busy1 steal1 cpu1 t1
    read -r busy1 steal1 < <(cpu_stat); children_cpu; cpu1="$REPLY"; t1="$(date +%s.%N)"
    awk -v tool="$1" -v r="$2" -v b0="$m_busy0" -v b1="$busy1" -v s0="$m_steal0" -v s1="$steal1" \
        -v c0="$m_cpu0" -v c1="$cpu1" -v t0="$m_t0" -v t1="$t1" -v hz="$clk_tck" 'BEGIN {
        own = c1 - c0; other = (b1 - b0) / hz - own; if (other < 0) other = 0
        printf "{\"kind\": \"load\", \"tool\": \"%s\", \"round\": %d, \"wall_s\": %.2f, \"own_cpu_s\": %.2f, \"other_cpu_s\": %.2f, \"steal_s\": %.2f}\n", tool, r, t1 - t0, own, other, (s1 - s0) / hz
    }' >> "$results"
}

run_aekit() {
    local round="$1" out="$tmp/aekit_dense_$1"
    echo "round $round: aekit train --model dense ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$tmp/aekit" train --model dense --data mnist --data-dir "$AEKIT_DATA" \
            --train-samples "$TRAIN_SAMPLES" --epochs "$EPOCHS" --batch-size "$BATCH" --lr "$LR" \
            --seed 0 --out "$out" --quiet > "$tmp/aekit.log" 2>&1; then
        echo "error: aekit train --model dense failed (round $round):" >&2
        cat "$tmp/aekit.log" >&2
        exit 1
    fi
    measure_end aekit "$round"
    for f in metrics.csv report.json; do
        if [[ ! -f "$out/$f" ]]; then
            echo "error: $out/$f was not written by aekit train" >&2
            exit 1
        fi
    done
    "$PY" - "$out" "$round" >> "$results" <<'EOF'
import csv, json, sys
out, rnd = sys.argv[1], int(sys.argv[2])
with open(f"{out}/metrics.csv", newline="") as f:
    for row in csv.DictReader(f):
        print(json.dumps({"tool": "aekit", "round": rnd, "epoch": int(row["epoch"]),
                          "train_seconds": float(row["train_seconds"]),
                          "train_loss": float(row["train_loss"])}))
with open(f"{out}/report.json") as f:
    rep = json.load(f)
print(json.dumps({"tool": "aekit", "round": rnd, "kind": "final", "test_bce": float(rep["test_bce"]),
                  "test_mse": float(rep["test_mse"]),
                  "n_train": rep.get("n_train"), "n_test": rep.get("n_test")}))
EOF
}

run_torch() {
    local round="$1"
    echo "round $round: PyTorch ($EPOCHS epochs)" >&2
    measure_begin
    if ! "$PY" "$here/torch_dense_ae.py" --data-dir "$AEKIT_DATA" --epochs "$EPOCHS" --threads "$THREADS" \
            --train-samples "$TRAIN_SAMPLES" --batch-size "$BATCH" --lr "$LR" --seed 0 > "$tmp/torch.jsonl"; then
        echo "error: torch_dense_ae.py failed (round $round)" >&2
        exit 1
    fi
    measure_end pytorch "$round"
    "$PY" -c 'import json,sys
r=int(sys.argv[1])
for l in sys.stdin:
    o=json.loads(l); o["round"]=r; print(json.dumps(o))' "$round" < "$tmp/torch.jsonl" | tee -a "$results" >&2
}

for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 == 1 )); then run_aekit "$round"; run_torch "$round"
    else run_torch "$round"; run_aekit "$round"; fi
done

# --- report ---
cpu_model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
git_rev="$(git rev-parse --short HEAD 2>/dev/null || echo none)"
if [[ -n "$(git status --porcelain 2>/dev/null | grep -v '^?? bench/' || true)" ]]; then git_rev="$git_rev (dirty)"; fi
burn_version="$(grep -A1 '^name = "burn"$' Cargo.lock 2>/dev/null | sed -n 's/^version = "\(.*\)"/\1/p' || true)"
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$results" "$(nproc)" "$cpu_model" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$git_rev" "$THREADS" \
    "$EPOCHS" "$TRAIN_SAMPLES" "$ROUNDS" "$aekit_version" "$aekit_sha" "${burn_version:-unknown}" \
    "$load_before" "$load_after" <<'EOF'
import json, statistics, sys
(path, nproc, cpu, date, rev, threads, epochs, n_train, rounds, aekit_version, aekit_sha,
 burn, load_before, load_after) = sys.argv[1:15]
epochs_of, final, versions, loads = {}, {}, {}, []
with open(path) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        o = json.loads(line)
        if o.get("kind") == "versions":
            versions = o
        elif o.get("kind") == "load":
            loads.append(o)
        elif o.get("kind") == "final":
            final[o["tool"]] = o  # the last round's
        else:
            epochs_of.setdefault(o["tool"], []).append(o)

def median_s(tool):
    return statistics.median(e["train_seconds"] for e in epochs_of[tool])

print()
print(f"## Dense autoencoder training speed, CPU: aekit vs PyTorch")
print()
print(f"- data: first {n_train} MNIST training images (784 pixels, /255, float32); test: 10000 MNIST test images")
print("- model: Linear 784->128->64->32->64->128->784, ReLU after every layer but the last (logits); "
      "BCE with logits; Adam lr 1e-3 eps 1e-8; batch 128; shuffled each epoch; seed 0")
print(f"- {epochs} epochs x {rounds} round(s), order per round: odd = aekit then PyTorch, even = PyTorch then aekit; "
      "timed: training steps of each epoch only (no data loading, no evaluation)")
print(f"- machine: nproc={nproc}, CPU: {cpu}; load average before {load_before}, after {load_after}")
print(f"- date: {date}, aekit git rev: {rev}, {aekit_version} (binary sha256 {aekit_sha}), burn {burn}")
for o in loads:
    print(f"- contention, round {o['round']} {o['tool']}: whole run {o['wall_s']:.1f} s wall, {o['own_cpu_s']:.1f} CPU-s own, "
          f"{o['other_cpu_s']:.1f} CPU-s by other processes, {o['steal_s']:.1f} s stolen by the hypervisor")
print(f"- threads: {threads} (RAYON_NUM_THREADS for aekit; torch.set_num_threads + OMP_NUM_THREADS for PyTorch)")
print(f"- python {versions.get('python')}, torch {versions.get('torch')}, numpy {versions.get('numpy')}; "
      f"torch threads {versions.get('torch_threads')}, interop {versions.get('torch_interop_threads')}, "
      f"mkldnn {versions.get('mkldnn')}, CPU capability {versions.get('cpu_capability')}")
print()
print("| tool | median epoch train s | each epoch train s | final train loss (BCE) | test BCE | test MSE | ratio aekit/pytorch |")
print("|---|---|---|---|---|---|---|")
ratio = "n/a"
if "aekit" in epochs_of and "pytorch" in epochs_of:
    ratio = f"{median_s('aekit') / median_s('pytorch'):.2f}"
for tool in ("aekit", "pytorch"):
    if tool not in epochs_of:
        print(f"| {tool} | n/a | n/a | n/a | n/a | n/a | n/a |")
        continue
    eps = epochs_of[tool]
    each = ", ".join(f"{e['train_seconds']:.2f}" for e in eps)
    last_loss = eps[-1]["train_loss"]
    fin = final.get(tool, {})
    bce_s, mse_s = (("n/a" if fin.get(k) is None else f"{fin[k]:.5f}") for k in ("test_bce", "test_mse"))
    print(f"| {tool} | {median_s(tool):.2f} | {each} | {last_loss:.5f} | {bce_s} | {mse_s} | "
          f"{ratio if tool == 'aekit' else '1 (reference)'} |")
EOF
