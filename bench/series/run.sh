#!/usr/bin/env bash
# Series anomaly benchmark (UCR anomaly-archive protocol): bash bench/series/run.sh [--window W]
set -euo pipefail
source "$(cd "$(dirname "$0")" && pwd)/../common/lib.sh"
py=$(table_bench_python)
require_aekit_bin "$REPO_ROOT/target/release/aekit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" "$REPO_ROOT/bench/series/run.py" "$REPO_ROOT/target/release/aekit" "$work" "$@"
