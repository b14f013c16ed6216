#!/usr/bin/env bash
# Load test of `aekit serve` on loopback (issue 16): `score` on one MNIST test image per request,
# at concurrency 1, 8 and 64, with batching on and off; throughput, p50/p99 latency, non-2xx
# answers, and the server's resident memory before and after each series (flat memory); then
# the malformed-request corpus of corpus.py against a fresh server.
#
#   bash bench/serve/run.sh [WORK_DIR]
#
# Environment: AEKIT_BIN (default target/release/aekit), SERVE_SECONDS per measurement (default
# 10), SERVE_REPEATS (default 3; the median is reported), SERVE_CONCURRENCY (default "1 8 64").
# The load generator is wrk (Debian's package, installed when missing), one thread, on the same
# machine as the server: on 2 cores both compete for the CPU, so the figures are a floor.
#
# The rival: when the Python venv AEKIT_BENCH_SERVE_VENV (default ~/.cache/aekit-bench/serve-venv)
# exists, the same route served by FastAPI + uvicorn + PyTorch (rival_fastapi.py) is measured with
# the same wrk command, concurrencies and repeats, as rows with batching "fastapi+pytorch". The
# venv lives outside the repository (it weighs gigabytes) and is made by hand:
#   python3 -m venv ~/.cache/aekit-bench/serve-venv
#   ~/.cache/aekit-bench/serve-venv/bin/pip install torch fastapi "uvicorn[standard]" orjson numpy
# (torch from https://download.pytorch.org/whl/cpu where that index is reachable: the CPU build is
# a fraction of the size; the PyPI one, which bundles CUDA, works the same here, it just never
# finds a GPU, and its import costs each worker ~770 MiB resident). The rival's RSS is the sum
# over its processes (uvicorn's supervisor and 2 workers), shared library pages counted once per
# process as RSS does: that overstates it by a few hundred MiB against a PSS sum.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
WORK="${1:-$(mktemp -d)}"
mkdir -p "$WORK"
BIN="${AEKIT_BIN:-$root/target/release/aekit}"
SECONDS_EACH="${SERVE_SECONDS:-10}"
REPEATS="${SERVE_REPEATS:-3}"
CONC="${SERVE_CONCURRENCY:-1 8 64}"
command -v wrk >/dev/null || apt-get install -y -q wrk >/dev/null

# A detector of digit 1 fitted on the full MNIST training set (784-64-8 dense autoencoder).
if [ ! -f "$WORK/det/anomaly.json" ]; then
  AEKIT_DATA="${AEKIT_DATA:-$root/../shared/data}" "$BIN" anomaly fit --model dense --data mnist --normal-labels 1 \
    --hidden 64 --latent 8 --epochs 5 --out "$WORK/det" --quiet
fi
# The body: the first MNIST test image as {"inputs": [[784 values in [0, 1]]]}.
python3 - "$WORK/body.json" <<'PY'
import gzip, json, os, sys
p = os.path.join(os.environ.get("AEKIT_DATA", os.path.join(os.path.dirname(sys.argv[0]) or ".", "../shared/data")), "mnist/t10k-images-idx3-ubyte.gz")
if not os.path.exists(p):
    p = "../shared/data/mnist/t10k-images-idx3-ubyte.gz"
raw = gzip.open(p).read()[16:16 + 784]
json.dump({"inputs": [[round(b / 255, 6) for b in raw]]}, open(sys.argv[1], "w"))
PY
export BODY_FILE="$WORK/body.json"
results="$WORK/results.jsonl"
: > "$results"
: > "$WORK/batches.jsonl"
# Resident memory of a server, its child processes included (uvicorn's workers are children of
# its supervisor; aekit serve has none), in KiB.
rss() {
  local total=0 p kib
  for p in "$1" $(pgrep -P "$1" || true); do
    # 0 for a process gone, or a zombie (no VmRSS line), between pgrep and the read.
    kib=$(awk '/VmRSS/ {r = $2} END {print r + 0}' "/proc/$p/status" 2>/dev/null) || true
    total=$((total + ${kib:-0}))
  done
  echo "$total"
}
# One series against a running server: a warm-up, then every concurrency $REPEATS times, each a
# JSON line in $results labelled with $1 in the "batching" field. $2: base URL, $3: server pid.
measure() {
  local label=$1 url=$2 pid=$3 c rep before after line
  wrk -t1 -c8 -d2s -s "$here/post.lua" "$url/v1/models/det/score" > /dev/null   # warm-up
  for c in $CONC; do
    for rep in $(seq "$REPEATS"); do
      before=$(rss "$pid")
      line=$(wrk -t1 -c"$c" -d"${SECONDS_EACH}s" --timeout 10s -s "$here/post.lua" "$url/v1/models/det/score" | grep '^RESULT')
      after=$(rss "$pid")
      echo "$line" | python3 -c "
import json, sys
kv = dict(x.split('=') for x in sys.stdin.read().split()[1:])
r = {k: float(v) for k, v in kv.items()}
r.update(batching='$label', concurrency=$c, repeat=$rep, rss_kib_before=$before, rss_kib_after=$after,
         requests_per_s=r['requests'] / r['seconds'])
print(json.dumps(r))" >> "$results"
    done
  done
}

for batching in on off; do
  flag=""; [ "$batching" = off ] && flag="--no-batching"
  "$BIN" serve --run "det=$WORK/det" --addr 127.0.0.1:0 --quiet $flag > "$WORK/serve.out" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/listening on //p' "$WORK/serve.out")
  measure "$batching" "$url" "$pid"
  mean_batch=$(curl -s "$url/metrics" | awk '/^aekit_batch_samples_sum/ {s=$2} /^aekit_batch_samples_count/ {c=$2} END {printf "%.2f", s/c}')
  echo "{\"batching\": \"$batching\", \"mean_samples_per_forward_pass\": $mean_batch}" >> "$WORK/batches.jsonl"
  kill -TERM $pid; wait $pid || true
done

# The rival (see the top): started after aekit's servers have stopped, so that it has the machine
# to itself as they had. A free port is picked by binding port 0, since uvicorn does not print the
# port it got. Its import of torch takes seconds, hence the long wait for /healthz; a rival that
# does not come up is reported and skipped, so aekit's rows still print.
VENV="${AEKIT_BENCH_SERVE_VENV:-$HOME/.cache/aekit-bench/serve-venv}"
if [ -x "$VENV/bin/python" ]; then
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$VENV/bin/python" "$here/rival_fastapi.py" --port "$port" > "$WORK/rival.out" 2>&1 &
  pid=$!
  url="http://127.0.0.1:$port"
  for _ in $(seq 600); do curl -sf "$url/healthz" > /dev/null && break; sleep 0.1; done
  if curl -sf "$url/healthz" > /dev/null; then
    measure fastapi+pytorch "$url" "$pid"
  else
    echo "rival_fastapi.py did not answer /healthz within 60 s; its output:" >&2
    cat "$WORK/rival.out" >&2
  fi
  kill -TERM $pid; wait $pid || true
else
  echo "no venv at $VENV: the FastAPI + PyTorch rival is not measured (see the top of $0)" >&2
fi
python3 "$here/report.py" "$results"
cat "$WORK/batches.jsonl"

# The malformed-request corpus (corpus.py), with a 2 s body timeout so slow bodies end quickly.
"$BIN" serve --run "det=$WORK/det" --addr 127.0.0.1:0 --quiet --body-timeout-secs 2 > "$WORK/serve.out" &
pid=$!
for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
addr=$(sed -n 's|listening on http://||p' "$WORK/serve.out")
python3 "$here/corpus.py" "$addr" det "$BODY_FILE" "${SERVE_CORPUS:-3000}" | tee "$WORK/corpus.json"
kill -TERM $pid; wait $pid || true
