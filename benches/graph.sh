#!/usr/bin/env bash
# Times whole `retort` processes on large revision graphs: a linear chain of
# N revisions and a branchy graph of N (branches and merges), both written by
# gen_graph.py into a temporary directory. Reports the median wall time of
# `heads`, `history` and `upgrade --sql heads` (every run parses every file,
# as a real invocation does).
#
#   benches/graph.sh              N=5000, 10 runs per command
#   N=1000 RUNS=20 benches/graph.sh
#   ALEMBIC_PYTHON=/path/to/venv/bin/python benches/graph.sh
#   RETORT_BIN=/other/retort benches/graph.sh   (skip the release build)
#
# With ALEMBIC_PYTHON (a Python with alembic installed), or when `python3 -m
# alembic` works, the same graphs are also timed with Alembic; the runs
# alternate retort/Alembic (A/B) so that machine noise hits both alike, and
# the table shows the ratio. Uses hyperfine when installed
# (`apt-get install hyperfine`), else a loop over `date +%s%N`.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-5000}"
RUNS="${RUNS:-10}"
here="$(pwd)"

if [ -n "${RETORT_BIN:-}" ]; then
    retort="$RETORT_BIN"            # e.g. a build of another branch
else
    cargo build --release --quiet
    retort="$here/target/release/retort"
fi

alembic_py="${ALEMBIC_PYTHON:-}"
if [ -z "$alembic_py" ] && python3 -c 'import alembic' 2>/dev/null; then
    alembic_py="$(command -v python3)"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# median_ms CMD... : median wall time of RUNS runs, in ms (one warm-up run).
median_ms() {
    local dir="$1"; shift
    if command -v hyperfine >/dev/null; then
        (cd "$dir" && hyperfine -N --style none --warmup 1 --runs "$RUNS" \
            --export-json "$work/h.json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1)
        python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["results"][0]["median"]*1000, 1))' "$work/h.json"
    else
        local times=() i t0 t1
        (cd "$dir" && "$@" >/dev/null 2>&1)
        for ((i = 0; i < RUNS; i++)); do
            t0=$(date +%s%N); (cd "$dir" && "$@" >/dev/null 2>&1); t1=$(date +%s%N)
            times+=($(( (t1 - t0) / 1000 )))
        done
        printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.1f\n", m/1000}'
    fi
}

# ab_median_ms DIR RETORT_CMD -- ALEMBIC_CMD : alternate single runs of the
# two commands RUNS times; prints "<retort median> <alembic median>".
ab_median_ms() {
    local dir="$1"; shift
    local a=() b=() sep i t0 t1
    for ((sep = 1; sep <= $#; sep++)); do [ "${!sep}" = "--" ] && break; done
    local cmd_a=("${@:1:sep-1}") cmd_b=("${@:sep+1}")
    (cd "$dir" && "${cmd_a[@]}" >/dev/null 2>&1 && "${cmd_b[@]}" >/dev/null 2>&1)
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N); (cd "$dir" && "${cmd_a[@]}" >/dev/null 2>&1); t1=$(date +%s%N)
        a+=($(( (t1 - t0) / 1000 )))
        t0=$(date +%s%N); (cd "$dir" && "${cmd_b[@]}" >/dev/null 2>&1); t1=$(date +%s%N)
        b+=($(( (t1 - t0) / 1000 )))
    done
    local med='{x[NR]=$1} END {m=(NR%2)?x[(NR+1)/2]:(x[NR/2]+x[NR/2+1])/2; printf "%.1f", m/1000}'
    printf '%s %s\n' "$(printf '%s\n' "${a[@]}" | sort -n | awk "$med")" \
                     "$(printf '%s\n' "${b[@]}" | sort -n | awk "$med")"
}

printf 'retort %s, N=%s, %s runs each, median wall time\n\n' "$("$retort" --version 2>/dev/null || echo '?')" "$N" "$RUNS"
if [ -n "$alembic_py" ]; then
    printf '%-8s %-22s %12s %12s %8s\n' graph command "retort ms" "alembic ms" ratio
else
    printf '%-8s %-22s %12s\n' graph command "retort ms"
fi

for shape in linear branchy; do
    dir="$work/$shape"
    python3 benches/gen_graph.py "$shape" "$N" "$dir" ${alembic_py:+--alembic}
    # Fail early, with the error, if retort cannot load the graph.
    (cd "$dir" && "$retort" heads >/dev/null)
    for cmd in "heads" "history" "upgrade --sql heads"; do
        # shellcheck disable=SC2086
        if [ -n "$alembic_py" ]; then
            read -r r a < <(ab_median_ms "$dir" "$retort" $cmd -- "$alembic_py" -m alembic $cmd)
            printf '%-8s %-22s %12s %12s %8s\n' "$shape" "$cmd" "$r" "$a" \
                "$(awk -v r="$r" -v a="$a" 'BEGIN { printf "%.1fx", a / r }')"
        else
            printf '%-8s %-22s %12s\n' "$shape" "$cmd" "$(median_ms "$dir" "$retort" $cmd)"
        fi
    done
done
