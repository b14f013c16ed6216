#!/usr/bin/env bash
# Load test of `aekit serve` on loopback (issue 16): `score` on one MNIST test image per request,
# at concurrency 1, 8 and 64, with batching on and off; throughput, p50/p99 latency, non-2xx
# answers, and the server's resident memory before and after each series (flat memory).
#
#   bash bench/serve/run.sh [WORK_DIR]
#
# Environment: AEKIT_BIN (default target/release/aekit), SERVE_SECONDS per measurement (default
# 10), SERVE_REPEATS (default 3; the median is reported), SERVE_CONCURRENCY (default "1 8 64").
# The load generator is wrk (Debian's package, installed when missing), one thread, on the same
# machine as the server: on 2 cores both compete for the CPU, so the figures are a floor.
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
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

for batching in on off; do
  flag=""; [ "$batching" = off ] && flag="--no-batching"
  "$BIN" serve --run "det=$WORK/det" --addr 127.0.0.1:0 --quiet $flag > "$WORK/serve.out" &
  pid=$!
  for _ in $(seq 100); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/listening on //p' "$WORK/serve.out")
  wrk -t1 -c8 -d2s -s "$here/post.lua" "$url/v1/models/det/score" > /dev/null   # warm-up
  for c in $CONC; do
    for rep in $(seq "$REPEATS"); do
      before=$(rss $pid)
      line=$(wrk -t1 -c"$c" -d"${SECONDS_EACH}s" --timeout 10s -s "$here/post.lua" "$url/v1/models/det/score" | grep '^RESULT')
      after=$(rss $pid)
      echo "$line" | python3 -c "
import json, sys
kv = dict(x.split('=') for x in sys.stdin.read().split()[1:])
r = {k: float(v) for k, v in kv.items()}
r.update(batching='$batching', concurrency=$c, repeat=$rep, rss_kib_before=$before, rss_kib_after=$after,
         requests_per_s=r['requests'] / r['seconds'])
print(json.dumps(r))" >> "$results"
    done
  done
  kill -TERM $pid; wait $pid || true
done
python3 "$here/report.py" "$results"
