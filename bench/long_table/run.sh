#!/usr/bin/env bash
# Peak memory of `aekit anomaly score` on a 10-million-row Parquet table (make_tables.py), three
# runs; the memory must not grow with the file (BENCHMARKS.md, "Anomaly scoring of a long table").
#
#   bash bench/long_table/run.sh [ROWS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../common/lib.sh"
py=$(table_bench_python)
aekit="$REPO_ROOT/target/release/aekit"
require_aekit_bin "$aekit"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$py" "$here/make_tables.py" "$work" --rows "${1:-10000000}"
cd "$work"
"$aekit" anomaly fit --model dense --data normal.csv --hidden 16 --latent 3 --epochs 10 --batch-size 64 --out tdet --quiet
for i in 1 2 3; do
    /usr/bin/time -f "run $i: peak RSS %M KB, %e s" "$aekit" anomaly score --run tdet --data long.parquet --out "s$i/scores.csv" --quiet
done
echo "rows written: $(($(wc -l < s1/scores.csv) - 1))"
