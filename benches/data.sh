#!/usr/bin/env bash
# The data lane against its limits (issue #5, Performance).
#
# A table users(id INTEGER PRIMARY KEY, email TEXT) of N rows (default
# 1,000,000), email = lower(trim(email)):
#
#   update     retort's batched, checkpointed `update` step (`retort
#              upgrade head`, whole process) vs one plain UPDATE through the
#              database's client, alternating A B / B A, fresh copy of the
#              database each run. The step has no `batch_size`: batches are
#              sized by time (200 ms each, from 1,000 rows, at most doubling),
#              as a user gets by default. Goals: <= 1.2x SQLite, <= 1.05x
#              PostgreSQL.
#   update/B   the same with `batch_size = BATCH` (10,000: the issue's
#              Python reference loop), N/BATCH durable commits.
#   transform  a row-level `transform` step (`{{ email|trim|lower }}`, no
#              batch_size: timed, at most 10,000 rows a batch), vs the same
#              plain UPDATE. Goal: <= 3x on SQLite.
#   floor      retort's `update` with `batch_size = BATCH` vs the same
#              batches through the sqlite3 shell (one script: per batch
#              BEGIN IMMEDIATE, checkpoint read, boundary, UPDATE, checkpoint
#              write, COMMIT). On SQLite the cost of N/BATCH durable commits
#              (4 syncs each in the default DELETE journal mode) is most of
#              the gap to one UPDATE and moves with the disk's sync latency;
#              this ratio is what retort adds on top of that.
#   memory     peak RSS of the transform run at 100k and at N rows
#              (/usr/bin/time -v). Goal: <= 30 MB and flat.
#
# Usage:
#   benches/data.sh                       N=1000000 RUNS=3 BATCH=10000
#   N=200000 RUNS=2 benches/data.sh
#   SKIP_PG=1 benches/data.sh             (SQLite only)
#   SKIP_SQLITE=1 benches/data.sh         (PostgreSQL only)
#   ONLY="update floor" benches/data.sh   (these pairs only: update update/B transform floor)
#   RAW=1 benches/data.sh                 (print every pair's ratio)
#   RETORT_BIN=target/release/retort benches/data.sh
#   PG_URL=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
#   PG_TMPFS=1 benches/data.sh            (PostgreSQL pairs on a throwaway
#                                          cluster in /dev/shm, see below)
#
# PG_TMPFS: the disk's sync latency on these machines moves 10-25x within
# an hour, and one UPDATE of 1M rows fsyncs ~15 WAL segments, so pairs on
# the disk-backed server scatter by +-30 %. A cluster initialised in
# /dev/shm (stock settings, its own port) takes the disk out and measures
# what retort adds in CPU and round trips; both figures go in the notes.
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-1000000}"
RUNS="${RUNS:-3}"
BATCH="${BATCH:-10000}"
PG_URL="${PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
BIN="${RETORT_BIN:-target/release/retort}"
if [[ -z "${RETORT_BIN:-}" ]]; then
  cargo build --release --quiet
fi
BIN="$(realpath "$BIN")"

WORK="$(mktemp -d)"
cleanup() {
  if [[ -n "${PG_TMP_ROOT:-}" ]]; then
    su postgres -c "$PG_BIN/pg_ctl -D $PG_TMP_ROOT/data -m immediate stop" >/dev/null 2>&1 || true
    rm -rf "$PG_TMP_ROOT"
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
if [[ -n "${PG_TMPFS:-}" ]]; then
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
  PG_TMP_ROOT="$(mktemp -d /dev/shm/retort-pg.XXXXXX)"
  chown postgres "$PG_TMP_ROOT"
  PG_TMP_PORT="${PG_TMP_PORT:-5499}"
  su postgres -c "$PG_BIN/initdb -D $PG_TMP_ROOT/data -A trust -U postgres" >/dev/null
  su postgres -c "$PG_BIN/pg_ctl -D $PG_TMP_ROOT/data -o '-p $PG_TMP_PORT -k /tmp -c listen_addresses=127.0.0.1' -l $PG_TMP_ROOT/log -w start" >/dev/null
  PG_URL="postgres://postgres@127.0.0.1:$PG_TMP_PORT/postgres?sslmode=disable"
fi

project() { # dir step-toml
  mkdir -p "$1/migrations/data"
  cat > "$1/alembic.toml" <<EOF
[database]
url = "sqlite://app.db"
[lanes]
data = "migrations/data"
EOF
  cat > "$1/migrations/data/d1_bench.toml" <<EOF
revision = "d1"
message = "bench"
downgrade = []
$2
EOF
}

UPDATE_STEP='[[upgrade]]
op = "update"
name = "normalize_emails"
table = "users"
set = { email = "lower(trim(email))" }'
project "$WORK/update" "$UPDATE_STEP"
project "$WORK/update_fixed" "$UPDATE_STEP
batch_size = $BATCH"
project "$WORK/transform" '[[upgrade]]
op = "transform"
name = "normalize_emails"
table = "users"
set = { email = "{{ email|trim|lower }}" }'

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
quartile() { # q (1 or 3): by linear interpolation between order statistics
  sort -g | awk -v q="$1" '{a[NR]=$1} END {p = 1 + (NR - 1) * q / 4; i = int(p); f = p - i; print (i < NR) ? a[i] + f * (a[i+1] - a[i]) : a[i]}'
}

# ---- SQLite -------------------------------------------------------------
make_sqlite() { # file rows
  sqlite3 "$1" "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < $2)
INSERT INTO users SELECT v, '  User' || v || '@Example.COM ' FROM s;"
}
make_sqlite "$WORK/tpl.db" "$N"

sqlite_retort() { # project
  cp "$WORK/tpl.db" "$1/app.db"; rm -f "$1/app.db-wal" "$1/app.db-shm"
  local t0; t0=$(now)
  (cd "$1" && "$BIN" -q upgrade head)
  echo "$(now) - $t0" | bc
  [[ "$(sqlite3 "$1/app.db" "SELECT count(*) FROM users WHERE email <> lower(trim(email))")" == 0 ]]
}
sqlite_batches() { # the same batches and checkpoints in one sqlite3 script
  cp "$WORK/tpl.db" "$WORK/loop.db"
  local t0; t0=$(now)
  sqlite3 "$WORK/loop.db" < "$WORK/loop.sql" >/dev/null
  echo "$(now) - $t0" | bc
}
awk -v n="$N" -v b="$BATCH" -v q="'" 'BEGIN {
  print "CREATE TABLE v (version TEXT PRIMARY KEY, state TEXT, progress TEXT); INSERT INTO v VALUES (" q "d1" q ", " q "running" q ", " q "{}" q ");"
  for (k = 0; k < n; k += b) {
    printf "BEGIN IMMEDIATE; SELECT state, progress FROM v WHERE version = %sd1%s; ", q, q
    printf "SELECT (SELECT id FROM users WHERE id > %d ORDER BY id LIMIT 1 OFFSET %d), %d; ", k, b - 1, b
    printf "UPDATE users SET email = lower(trim(email)) WHERE id > %d AND id <= %d; ", k, k + b
    printf "UPDATE v SET progress = json_set(progress, %s$.last_key%s, %d) WHERE version = %sd1%s; COMMIT;\n", q, q, k + b, q, q
  }
}' > "$WORK/loop.sql"
sqlite_plain() {
  cp "$WORK/tpl.db" "$WORK/plain.db"
  local t0; t0=$(now)
  sqlite3 "$WORK/plain.db" "UPDATE users SET email = lower(trim(email))"
  echo "$(now) - $t0" | bc
}

run_pair() { # name retort-fn baseline-fn arg backend [baseline label]
  local token="${1//[0-9]/}"; token="${token/\//\/B}" # update/10000 -> update/B
  if [[ -n "${ONLY:-}" && " $ONLY " != *" $token "* ]]; then return; fi
  local a=() b=() r=()
  for i in $(seq "$RUNS"); do
    local ta tb
    if (( i % 2 )); then ta=$($2 "$4"); tb=$($3); else tb=$($3); ta=$($2 "$4"); fi
    a+=("$ta"); b+=("$tb"); r+=("$(echo "$ta / $tb" | bc -l)")
  done
  local ma mb mr lo hi
  ma=$(printf '%s\n' "${a[@]}" | median); mb=$(printf '%s\n' "${b[@]}" | median)
  # Each pair ran back to back, so its ratio cancels the drift of the
  # machine between pairs; the median of those ratios is the figure, and
  # the quartiles say how far to trust it.
  mr=$(printf '%s\n' "${r[@]}" | median)
  lo=$(printf '%s\n' "${r[@]}" | quartile 1); hi=$(printf '%s\n' "${r[@]}" | quartile 3)
  printf '%-12s %-10s retort %6.2f s   %s %6.2f s   ratio %.3fx (pairs: median %.3fx, quartiles %.3f-%.3f, n=%d)\n' \
    "$1" "$5" "$ma" "${6:-plain UPDATE}" "$mb" "$(echo "$ma / $mb" | bc -l)" "$mr" "$lo" "$hi" "$RUNS"
  if [[ -n "${RAW:-}" ]]; then printf '  pair %s\n' "${r[@]}"; fi
}

echo "N=$N RUNS=$RUNS BATCH=$BATCH load: $(cut -d' ' -f1-3 /proc/loadavg)"
if [[ -z "${SKIP_SQLITE:-}" ]]; then
run_pair update sqlite_retort sqlite_plain "$WORK/update" sqlite
run_pair "update/$BATCH" sqlite_retort sqlite_plain "$WORK/update_fixed" sqlite
run_pair transform sqlite_retort sqlite_plain "$WORK/transform" sqlite
run_pair floor sqlite_retort sqlite_batches "$WORK/update_fixed" sqlite "same batches in sqlite3"
fi

# ---- memory ---------------------------------------------------------------
if [[ -x /usr/bin/time && -z "${SKIP_SQLITE:-}" ]]; then
  for rows in 100000 "$N"; do
    make_sqlite "$WORK/mem.db" "$rows"
    cp "$WORK/mem.db" "$WORK/transform/app.db"
    kb=$(cd "$WORK/transform" && /usr/bin/time -v "$BIN" -q upgrade head 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /, "", $2); print $2}')
    printf 'memory     transform %8d rows: peak RSS %.1f MB\n' "$rows" "$(echo "$kb / 1024" | bc -l)"
    rm -f "$WORK/mem.db"
  done
fi

# ---- PostgreSQL -----------------------------------------------------------
if [[ -z "${SKIP_PG:-}" ]] && psql -X -q -d "$PG_URL" -c 'select 1' >/dev/null 2>&1; then
  base="${PG_URL%%\?*}"; base="${base%/*}"; query="${PG_URL#*\?}"
  tpl="retort_bench_tpl_$$"
  psql -X -q -d "$PG_URL" -c "DROP DATABASE IF EXISTS $tpl" -c "CREATE DATABASE $tpl"
  psql -X -q -d "$base/$tpl?$query" -c "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
INSERT INTO users SELECT v, '  User' || v || '@Example.COM ' FROM generate_series(1, $N) v;" -c "VACUUM ANALYZE users"
  n=0
  # A CHECKPOINT before each timed run: otherwise the WAL of the previous
  # runs (and the database copy) is flushed at a random moment of this one.
  fresh() { n=$((n + 1)); local db="retort_bench_$$_$n"; psql -X -q -d "$PG_URL" -c "CREATE DATABASE $db TEMPLATE $tpl" -c "CHECKPOINT" >/dev/null; echo "$db"; }
  drop() { psql -X -q -d "$PG_URL" -c "DROP DATABASE $1" >/dev/null; }
  pg_retort() {
    local db; db=$(fresh)
    local t0; t0=$(now)
    (cd "$1" && "$BIN" -q --url "$base/$db?$query" upgrade head)
    echo "$(now) - $t0" | bc
    drop "$db"
  }
  pg_plain() {
    local db; db=$(fresh)
    local t0; t0=$(now)
    psql -X -q -d "$base/$db?$query" -c "UPDATE users SET email = lower(trim(email))" >/dev/null
    echo "$(now) - $t0" | bc
    drop "$db"
  }
  run_pair update pg_retort pg_plain "$WORK/update" postgres
  run_pair "update/$BATCH" pg_retort pg_plain "$WORK/update_fixed" postgres
  run_pair transform pg_retort pg_plain "$WORK/transform" postgres
  psql -X -q -d "$PG_URL" -c "DROP DATABASE $tpl"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
