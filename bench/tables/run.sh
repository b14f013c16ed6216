#!/usr/bin/env bash
# Table anomaly suite: aekit with default settings beside PyOD's AutoEncoder, VAE, IForest and
# ECOD at theirs, on tasks built from data inside PyPI packages (make_suite.py), over several
# split seeds. Defaults are judged on the validation parts; the test parts are reported.
#
#   bash bench/tables/run.sh [SEEDS...]        (default seeds: 0 1 2)
#
# Needs a release build (cargo build --release); the venv is made outside the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../common/lib.sh"
py=$(table_bench_python)
aekit="$REPO_ROOT/target/release/aekit"
require_aekit_bin "$aekit"
if [[ $# -eq 0 ]]; then set -- 0 1 2; fi
seeds=("$@")
work=${AEKIT_BENCH_WORK:-$(mktemp -d)}
results=()
for s in "${seeds[@]}"; do
    "$py" "$here/make_suite.py" "$work/suite-$s" --seed "$s" > /dev/null
    "$py" "$here/aekit_suite.py" "$aekit" "$work/suite-$s" > "$work/aekit-$s.jsonl"
    "$py" "$here/rivals.py" "$work/suite-$s" --seed "$s" > "$work/rivals-$s.jsonl"
    results+=("$work/aekit-$s.jsonl" "$work/rivals-$s.jsonl")
done
cat "$work/suite-${seeds[0]}/suite.tsv"
"$py" "$here/report.py" val "${results[@]}"
echo
"$py" "$here/report.py" test "${results[@]}"
echo "(results in $work)"
