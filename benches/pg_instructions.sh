#!/usr/bin/env bash
# PostgreSQL server work of the data lane's `update`, counted in
# instructions (issue #5, Performance; design notes "Key spans").
#
# Wall time on these machines scatters by +-20 % between identical runs of
# one UPDATE, even on a cluster in /dev/shm, so a 5 % goal cannot be read
# off a handful of pairs. Instruction counts repeat to ~0.03 %: this
# script starts a throwaway cluster in /dev/shm under valgrind's callgrind
# (every backend counted, `--trace-children`), and counts the backends of
#
#   plain    one `UPDATE users SET email = lower(trim(email))` (psql)
#   retort   `retort upgrade head` with the bench's `update` step (no
#            batch_size: batches sized by time, as a user gets by default)
#
# on a fresh copy of users(id INTEGER PRIMARY KEY, email TEXT) of N rows
# (default 200,000; each run takes ~1 min under valgrind). It prints both
# counts and their ratio. Instructions are not time (I/O waits, cache
# misses and the disk's sync latency are not in them); the wall-time
# ratios of benches/data.sh remain the figures, this says what retort adds
# in work. Under valgrind the server is ~20x slower, so the timed sizer
# picks smaller batches than in a real run: if anything this overstates
# retort's per-batch costs.
#
# Usage: benches/pg_instructions.sh            (needs root: the cluster runs as postgres)
#        N=100000 RETORT_BIN=target/release/retort benches/pg_instructions.sh
set -euo pipefail
cd "$(dirname "$0")/.."

N="${N:-200000}"
PORT="${PG_TMP_PORT:-5498}"
BIN="${RETORT_BIN:-target/release/retort}"
if [[ -z "${RETORT_BIN:-}" ]]; then
  cargo build --release --quiet
fi
BIN="$(realpath "$BIN")"
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }

ROOT="$(mktemp -d /dev/shm/retort-pgcg.XXXXXX)"
WORK="$(mktemp -d)"
chown postgres "$ROOT"
stop() {
  su postgres -c "$PG_BIN/pg_ctl -D $ROOT/data -m fast stop" >/dev/null 2>&1 || true
  rm -rf "$ROOT" "$WORK"
}
trap stop EXIT
su postgres -c "$PG_BIN/initdb -D $ROOT/data -A trust -U postgres" >/dev/null
mkdir "$ROOT/cg" && chown postgres "$ROOT/cg"
su postgres -c "cd $ROOT && nohup valgrind --tool=callgrind --trace-children=yes \
  --callgrind-out-file=$ROOT/cg/cg.%p $PG_BIN/postgres -D $ROOT/data -p $PORT -k /tmp \
  -c listen_addresses=127.0.0.1 -c autovacuum=off > $ROOT/valgrind.log 2>&1 &"
U="postgres://postgres@127.0.0.1:$PORT"
for _ in $(seq 120); do
  psql -X -q -d "$U/postgres" -c 'select 1' >/dev/null 2>&1 && break
  sleep 1
done

psql -X -q -d "$U/postgres" -c "CREATE DATABASE tpl"
psql -X -q -d "$U/tpl" -c "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);
INSERT INTO users SELECT v, '  User' || v || '@Example.COM ' FROM generate_series(1, $N) v;" \
  -c "VACUUM ANALYZE users"

mkdir -p "$WORK/p/migrations/data"
cat > "$WORK/p/alembic.toml" <<EOF
[database]
url = "sqlite://app.db"
[lanes]
data = "migrations/data"
EOF
cat > "$WORK/p/migrations/data/d1_bench.toml" <<EOF
revision = "d1"
message = "bench"
downgrade = []
[[upgrade]]
op = "update"
name = "normalize_emails"
table = "users"
set = { email = "lower(trim(email))" }
EOF

# Instructions of the backends that `$@` started (a backend writes its
# file when it exits).
count() {
  psql -X -q -d "$U/postgres" -c "DROP DATABASE IF EXISTS run" -c "CREATE DATABASE run TEMPLATE tpl" -c CHECKPOINT
  sleep 2
  local before after total=0 f
  before="$(ls "$ROOT/cg" | sort)"
  "$@" >/dev/null
  sleep 3
  after="$(ls "$ROOT/cg" | sort)"
  for f in $(comm -13 <(echo "$before") <(echo "$after")); do
    total=$((total + $(awk '/^summary:/ {print $2; exit}' "$ROOT/cg/$f")))
  done
  [[ "$(psql -X -A -t -d "$U/run" -c "SELECT count(*) FROM users WHERE email <> lower(trim(email))")" == 0 ]]
  echo "$total"
}

plain=$(count psql -X -q -d "$U/run" -c "UPDATE users SET email = lower(trim(email))")
retort=$(count bash -c "cd '$WORK/p' && '$BIN' -q --url '$U/run' upgrade head")
printf 'N=%d  plain UPDATE %.3f G instructions   retort %.3f G   ratio %.3fx\n' \
  "$N" "$(echo "$plain / 1000000000" | bc -l)" "$(echo "$retort / 1000000000" | bc -l)" \
  "$(echo "$retort / $plain" | bc -l)"
