#!/usr/bin/env bash
# Series anomaly benchmark (UCR anomaly-archive protocol): bash bench/series/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
source "$root/bench/common/lib.sh"
venv=${AEKIT_BENCH_PYOD_VENV:-$HOME/.cache/aekit-bench/pyod-venv}
ensure_venv "$venv" "$root/bench/tables/requirements.txt"
require_aekit_bin "$root/target/release/aekit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$venv/bin/python" "$here/run.py" "$root/target/release/aekit" "$work" "$@"
