#!/usr/bin/env bash
# The live runner against its limit (issue #3, Performance): N trivial
# revisions (CREATE TABLE t_i + one INSERT each, written by gen_runner.py),
# applied by `retort upgrade head` and by a plain client script doing the
# same statements with one transaction per revision plus a `_versions` row
# insert (`sqlite3 FILE < script`, `psql -f script`). Whole processes,
# wall time, a fresh database for every run, retort and baseline runs
# alternating (A B, then B A, ...) so that machine noise hits both alike.
# Prints medians and the ratio retort / baseline:
#
#   sqlite    upgrade head           goal <= 1.05x  (same durability)
#   postgres  upgrade head           goal <= 1.00x
#   sqlite    no-op upgrade head     goal <= 15 ms with N applied; the ratio
#                                    is to `sqlite3 FILE 'select 1'`
#   sqlite    upgrade head --atomic  goal <= 0.3 s for N = 1000
#
# Usage:
#   benches/runner.sh                    N=1000, RUNS=5, NOOP_RUNS=20
#   N=200 RUNS=3 benches/runner.sh
#   RETORT_BIN=/other/retort benches/runner.sh    (skip the release build)
#   BASELINE_ONLY=1 benches/runner.sh             (no retort: baselines only)
#   SKIP_PG=1 benches/runner.sh                   (SQLite only)
#   PG_URL=postgres://u@host:5432/postgres?sslmode=disable benches/runner.sh
#
# PG_URL is an admin URL: each run creates and drops a database
# `retort_bench_<pid>_<n>` on that server (outside the timed part). Both
# sides connect with the same URL options (sslmode=disable by default: TLS
# costs ~100 ms per connection here, design §8).
#
# Durability: the SQLite baseline runs with sqlite3's defaults
# (journal_mode=DELETE, synchronous=FULL: every COMMIT is durable). retort
# runs with the same: sqlx 0.9 leaves journal_mode as the file has it
# (DELETE for a new file) and synchronous at SQLite's default FULL; retort
# changes neither (docs/design-notes.md, "Performance"). The journal modes
# found in both files are printed at the end. Set
# BASELINE_SQLITE_PRAGMAS='PRAGMA journal_mode=WAL;' to compare WAL to WAL.
#
#   sqlite    upgrade head --atomic  is also timed against the baseline
#                                    script in one transaction (alternating)
set -Eeuo pipefail
# A failure inside $(...) stops the script too, and every failure says
# where it happened: the script never ends quietly with a line missing.
shopt -s inherit_errexit
trap 'echo "runner.sh: line $LINENO: \`$BASH_COMMAND\` failed (exit $?)" >&2' ERR
cd "$(dirname "$0")/.."

N="${N:-1000}"
RUNS="${RUNS:-5}"
NOOP_RUNS="${NOOP_RUNS:-20}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
BASELINE_ONLY="${BASELINE_ONLY:-}"
SKIP_PG="${SKIP_PG:-}"
here="$(pwd)"

for tool in sqlite3 python3; do
    command -v "$tool" >/dev/null || { echo "runner.sh: $tool is required" >&2; exit 1; }
done
if [ -z "$SKIP_PG" ] && ! command -v psql >/dev/null; then
    echo "runner.sh: psql not found; set SKIP_PG=1 to skip PostgreSQL" >&2
    exit 1
fi

retort=""
if [ -z "$BASELINE_ONLY" ]; then
    if [ -n "${RETORT_BIN:-}" ]; then
        retort="$RETORT_BIN"
    else
        cargo build --release --quiet
        retort="$here/target/release/retort"
    fi
fi

work="$(mktemp -d)"
pg_dbs=()
cleanup() {
    local rc=$? db
    for db in "${pg_dbs[@]+"${pg_dbs[@]}"}"; do
        psql -X -q -d "$PG_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT

python3 benches/gen_runner.py "$N" "$work"
project="$work/project"
db="$project/bench.db"
base_sqlite="$work/baseline_sqlite.sql"
base_pg="$work/baseline_postgres.sql"
if [ -n "${BASELINE_SQLITE_PRAGMAS:-}" ]; then
    { printf '%s\n' "$BASELINE_SQLITE_PRAGMAS"; cat "$base_sqlite"; } >"$work/b.sql"
    mv "$work/b.sql" "$base_sqlite"
fi

# now_us: wall clock in microseconds.
now_us() { echo $(( $(date +%s%N) / 1000 )); }

# median FILE: the median of the numbers in FILE, one per line; fails when
# FILE holds none (a section that timed nothing must not print a figure).
median() {
    sort -n "$1" | awk -v f="$1" '{x[NR]=$1} END { if (NR == 0) { print "runner.sh: no timings in " f > "/dev/stderr"; exit 1 }
        m = (NR % 2) ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2; printf "%.0f\n", m }'
}

# row LABEL RETORT BASELINE RATIO GOAL: one line of the result table.
rows=0
row() {
    printf '%-36s %12s %12s %8s   %s\n' "$@"
    rows=$((rows + 1))
}

# ratio A B: A / B with two decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
secs() { awk -v u="$1" 'BEGIN { printf "%.3f s", u / 1e6 }'; }
msecs() { awk -v u="$1" 'BEGIN { printf "%.1f ms", u / 1e3 }'; }

# time_into FILE CMD...: runs CMD (output discarded, failure fatal with its
# stderr), appends the wall time in microseconds to FILE.
time_into() {
    local file="$1"; shift
    local t0 t1
    t0=$(now_us)
    if ! "$@" >/dev/null 2>"$work/err"; then
        echo "runner.sh: failed: $*" >&2
        cat "$work/err" >&2
        exit 1
    fi
    t1=$(now_us)
    echo $(( t1 - t0 )) >>"$file"
}

fresh_sqlite() { rm -f "$db" "$db-wal" "$db-shm" "$db-journal"; }

# expect_sqlite_versions: the file holds N version rows and N tables.
expect_sqlite_versions() {
    local got
    got=$(sqlite3 "$db" "SELECT (SELECT count(*) FROM _versions) || ' ' || (SELECT count(*) FROM sqlite_master WHERE name LIKE 't\_%' ESCAPE '\\')")
    [ "$got" = "$N $N" ] || { echo "runner.sh: $1: expected $N versions and tables, got $got" >&2; exit 1; }
}

retort_sqlite() { (cd "$project" && "$retort" -q --url sqlite://bench.db "$@"); }
baseline_sqlite() { sqlite3 "$db" <"$base_sqlite"; }
retort_pg() { (cd "$project" && "$retort" -q --url "$1" upgrade head); }

pg_counter=0
# new_pg_db: creates a database, prints its URL.
new_pg_db() {
    pg_counter=$((pg_counter + 1))
    local name="retort_bench_$$_$pg_counter"
    psql -X -q -d "$PG_URL" -c "CREATE DATABASE $name" >/dev/null
    pg_dbs+=("$name")
    # Replace the admin URL's database, keep its query string.
    local base="${PG_URL%%\?*}" query=""
    [ "$PG_URL" != "$base" ] && query="?${PG_URL#*\?}"
    echo "${base%/*}/$name$query"
}
drop_pg_db() {
    local name="${1##*/}"; name="${name%%\?*}"
    psql -X -q -d "$PG_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null
}
expect_pg_versions() {
    local got
    got=$(psql -X -At -d "$2" -c "SELECT (SELECT count(*) FROM _versions) || ' ' || (SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name LIKE 't\_%')")
    [ "$got" = "$N $N" ] || { echo "runner.sh: $1: expected $N versions and tables, got $got" >&2; exit 1; }
}

version="baseline only"
[ -n "$retort" ] && version="$("$retort" --version 2>/dev/null || echo 'retort ?')"
printf '%s; N=%s revisions; %s alternating runs (no-op: %s); median wall time, whole processes\n' \
    "$version" "$N" "$RUNS" "$NOOP_RUNS"
printf 'cores: %s; load: %s\n\n' "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)"

if [ -n "$retort" ]; then
    # The generated files must load: fail early, with retort's message.
    (cd "$project" && "$retort" upgrade --sql >/dev/null)
fi

# --- SQLite: upgrade head vs sqlite3 script ----------------------------------
: >"$work/sa"; : >"$work/sb"
for ((i = 0; i < RUNS; i++)); do
    for side in $([ $((i % 2)) = 0 ] && echo "a b" || echo "b a"); do
        fresh_sqlite
        if [ "$side" = a ]; then
            if [ -z "$retort" ]; then continue; fi
            time_into "$work/sa" retort_sqlite upgrade head
            expect_sqlite_versions retort
        else
            time_into "$work/sb" baseline_sqlite
            expect_sqlite_versions baseline
        fi
    done
done
sb=$(median "$work/sb")
fresh_sqlite; baseline_sqlite; base_mode=$(sqlite3 "$db" 'PRAGMA journal_mode')
printf '%-36s %12s %12s %8s   %s\n' "" retort baseline ratio goal # header
if [ -n "$retort" ]; then
    sa=$(median "$work/sa")
    fresh_sqlite; retort_sqlite upgrade head; retort_mode=$(sqlite3 "$db" 'PRAGMA journal_mode')
    row "sqlite upgrade head" "$(secs "$sa")" "$(secs "$sb")" "$(ratio "$sa" "$sb")" "<= 1.05x"
else
    retort_mode="-"
    row "sqlite upgrade head" "-" "$(secs "$sb")" "-" "<= 1.05x"
fi

# --- PostgreSQL: upgrade head vs psql -f -------------------------------------
if [ -z "$SKIP_PG" ]; then
    : >"$work/pa"; : >"$work/pb"
    for ((i = 0; i < RUNS; i++)); do
        for side in $([ $((i % 2)) = 0 ] && echo "a b" || echo "b a"); do
            if [ "$side" = a ] && [ -z "$retort" ]; then continue; fi
            url=$(new_pg_db)
            if [ "$side" = a ]; then
                time_into "$work/pa" retort_pg "$url"
                expect_pg_versions retort "$url"
            else
                time_into "$work/pb" psql -X -q -v ON_ERROR_STOP=1 -d "$url" -f "$base_pg"
                expect_pg_versions baseline "$url"
            fi
            drop_pg_db "$url"
        done
    done
    pb=$(median "$work/pb")
    if [ -n "$retort" ]; then
        pa=$(median "$work/pa")
        row "postgres upgrade head" "$(secs "$pa")" "$(secs "$pb")" "$(ratio "$pa" "$pb")" "<= 1.00x"
    else
        row "postgres upgrade head" "-" "$(secs "$pb")" "-" "<= 1.00x"
    fi
fi

# --- SQLite: no-op upgrade head with N applied vs sqlite3 'select 1' ---------
fresh_sqlite
if [ -n "$retort" ]; then retort_sqlite upgrade head; else baseline_sqlite; fi
: >"$work/na"; : >"$work/nb"
if [ -n "$retort" ]; then retort_sqlite upgrade head; fi   # warm the page cache
for ((i = 0; i < NOOP_RUNS; i++)); do
    for side in $([ $((i % 2)) = 0 ] && echo "a b" || echo "b a"); do
        if [ "$side" = a ]; then
            if [ -n "$retort" ]; then time_into "$work/na" retort_sqlite upgrade head; fi
        else
            time_into "$work/nb" sqlite3 "$db" 'select 1'
        fi
    done
done
nb=$(median "$work/nb")
if [ -n "$retort" ]; then
    na=$(median "$work/na")
    row "sqlite no-op upgrade head" "$(msecs "$na")" "$(msecs "$nb")" "$(ratio "$na" "$nb")" "<= 15 ms (baseline: sqlite3 'select 1')"
else
    row "sqlite no-op upgrade head" "-" "$(msecs "$nb")" "-" "<= 15 ms (baseline: sqlite3 'select 1')"
fi

# --- SQLite: all in one transaction ------------------------------------------
# Baseline: the same script with one BEGIN/COMMIT around everything.
base_atomic="$work/baseline_sqlite_atomic.sql"
{ echo "BEGIN;"; grep -v -x -e 'BEGIN;' -e 'COMMIT;' "$base_sqlite"; echo "COMMIT;"; } >"$base_atomic"
: >"$work/aa"; : >"$work/ab"
for ((i = 0; i < RUNS; i++)); do
    for side in $([ $((i % 2)) = 0 ] && echo "a b" || echo "b a"); do
        fresh_sqlite
        if [ "$side" = a ]; then
            if [ -z "$retort" ]; then continue; fi
            time_into "$work/aa" retort_sqlite upgrade head --atomic
            expect_sqlite_versions "retort --atomic"
        else
            time_into "$work/ab" sqlite3 "$db" -cmd ".read $base_atomic" ".quit"
            expect_sqlite_versions "baseline --atomic"
        fi
    done
done
ab=$(median "$work/ab")
if [ -n "$retort" ]; then
    aa=$(median "$work/aa")
    row "sqlite upgrade head --atomic" "$(secs "$aa")" "$(secs "$ab")" "$(ratio "$aa" "$ab")" "<= 0.3 s"
else
    row "sqlite upgrade head --atomic" "-" "$(secs "$ab")" "-" "<= 0.3 s"
fi

# Every section must have printed its line (SQLite, no-op, --atomic, and
# PostgreSQL unless skipped).
want=4
[ -n "$SKIP_PG" ] && want=3
if [ "$rows" -ne "$want" ]; then
    echo "runner.sh: $rows of $want result lines printed" >&2
    exit 1
fi

printf '\nSQLite journal modes: retort %s, baseline %s (synchronous: sqlite3 default FULL)\n' "$retort_mode" "$base_mode"
