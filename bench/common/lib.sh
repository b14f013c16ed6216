# Shared helpers of the bench/*/run.sh scripts. Source it (after `set -euo pipefail`):
#
#   . "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../common/lib.sh"
#
# Sourcing sets BENCH_COMMON (this folder) and REPO_ROOT and changes to the repository root.
# Functions:
#   require_aekit_bin BIN              exit 1 unless BIN is executable
#   require_mnist DATA FILE...         exit 1 unless every DATA/mnist/FILE exists
#   pin_threads N                      export the Rayon/OpenMP/BLAS thread counts for children
#   ensure_venv VENV REQUIREMENTS [NOTE]
#                                      create VENV if needed, reinstall REQUIREMENTS only when
#                                      the file's sha256 differs from the stamp in VENV
#   bench_tmpdir NAME                  BENCH_TMP = a fresh temporary folder, removed on exit
#   machine_info [dirty]               sets MACHINE_NPROC, MACHINE_CPU, RUN_DATE, GIT_REV
#                                      (with `dirty`: " (dirty)" appended when tracked files
#                                      outside bench/ are changed)
#   measure_begin / measure_end TOOL ROUND RESULTS
#                                      contention: appends a {"kind": "load", ...} JSON line
#                                      to RESULTS for what ran between the two calls

BENCH_COMMON="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$BENCH_COMMON/../.." && pwd)"
cd "$REPO_ROOT"

require_aekit_bin() {
    if [[ ! -x "$1" ]]; then
        echo "error: aekit binary not found at $1 (run: cargo build --release)" >&2
        exit 1
    fi
}

require_mnist() {
    local data="$1" f
    shift
    for f in "$@"; do
        if [[ ! -f "$data/mnist/$f" ]]; then
            echo "error: $data/mnist/$f not found (set AEKIT_DATA)" >&2
            exit 1
        fi
    done
}

pin_threads() {
    export RAYON_NUM_THREADS="$1" OMP_NUM_THREADS="$1" OPENBLAS_NUM_THREADS="$1" \
           MKL_NUM_THREADS="$1" BLIS_NUM_THREADS="$1" NUMEXPR_NUM_THREADS="$1" \
           VECLIB_MAXIMUM_THREADS="$1"
}

# The venv lives outside the repository; it is reinstalled only when the requirements change.
ensure_venv() {
    local venv="$1" req="$2" note="${3:-}" req_hash stamp
    req_hash="$(sha256sum "$req" | cut -d' ' -f1)"
    stamp="$venv/.aekit-bench-requirements.sha256"
    if [[ ! -x "$venv/bin/python" ]]; then
        echo "creating venv at $venv" >&2
        mkdir -p "$(dirname "$venv")"
        python3 -m venv "$venv"
    fi
    if [[ "$(cat "$stamp" 2>/dev/null || true)" != "$req_hash" ]]; then
        echo "installing pinned requirements into $venv${note:+ ($note)}" >&2
        "$venv/bin/python" -m pip install -q --upgrade pip
        "$venv/bin/python" -m pip install -q -r "$req"
        echo "$req_hash" > "$stamp"
    fi
}

bench_tmpdir() {
    BENCH_TMP="$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")"
    trap 'rm -rf "$BENCH_TMP"' EXIT
}

machine_info() {
    MACHINE_NPROC="$(nproc)"
    MACHINE_CPU="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || echo unknown)"
    RUN_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    GIT_REV="$(git rev-parse --short HEAD 2>/dev/null || echo none)"
    if [[ "${1:-}" == dirty && -n "$(git status --porcelain 2>/dev/null | grep -v '^?? bench/' || true)" ]]; then
        GIT_REV="$GIT_REV (dirty)"
    fi
}

# Contention check: CPU time the whole machine spent busy (and stolen by the hypervisor)
# while a tool ran, minus the tool's own CPU time = what other processes took meanwhile.
cpu_stat() { awk '/^cpu /{print $2+$3+$4+$7+$8, $9}' /proc/stat; }  # busy jiffies (no steal), steal
# Sets REPLY to the user+sys CPU seconds of this shell's finished children. Call it directly,
# not in $(...): `times` in a subshell would report the subshell's children. Needs BENCH_TMP.
children_cpu() {
    times > "$BENCH_TMP/times"
    REPLY="$(tail -n1 "$BENCH_TMP/times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); s += a[1] * 60 + a[2] } print s }')"
}
measure_begin() { read -r m_busy0 m_steal0 < <(cpu_stat); children_cpu; m_cpu0="$REPLY"; m_t0="$(date +%s.%N)"; }
measure_end() {  # tool round results
    local busy1 steal1 cpu1 t1
    read -r busy1 steal1 < <(cpu_stat); children_cpu; cpu1="$REPLY"; t1="$(date +%s.%N)"
    awk -v tool="$1" -v r="$2" -v b0="$m_busy0" -v b1="$busy1" -v s0="$m_steal0" -v s1="$steal1" \
        -v c0="$m_cpu0" -v c1="$cpu1" -v t0="$m_t0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        own = c1 - c0; other = (b1 - b0) / hz - own; if (other < 0) other = 0
        printf "{\"kind\": \"load\", \"tool\": \"%s\", \"round\": %d, \"wall_s\": %.2f, \"own_cpu_s\": %.2f, \"other_cpu_s\": %.2f, \"steal_s\": %.2f}\n", tool, r, t1 - t0, own, other, (s1 - s0) / hz
    }' >> "$3"
}

# The Python of the table, series and long-table benches (PyOD, scikit-learn, torch, pyarrow,
# stumpy: bench/tables/requirements.txt), in a venv outside the repository.
table_bench_python() {
    local venv="${AEKIT_BENCH_PYOD_VENV:-$HOME/.cache/aekit-bench/pyod-venv}"
    ensure_venv "$venv" "$REPO_ROOT/bench/tables/requirements.txt" >&2
    echo "$venv/bin/python"
}
