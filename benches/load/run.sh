#!/usr/bin/env bash
# HTTP load test of the search server (issue: server; harness of issue: benchmarks).
#
#   bash benches/load/run.sh            # 100k generated documents, 15 s per step
#   LOAD_DOCS=10000 LOAD_SECONDS=5 LOAD_CONCURRENCY="4 16" bash benches/load/run.sh
#
# Builds the release server, seeds a dedicated database (stanok_load) with the generated
# catalog (fixture vectors in the embedding cache; queries are embedded by the real model and
# then served from the query cache), starts `stanok serve` on loopback, warms every query once
# per mode, then runs wrk with the query mix of mix.lua at increasing concurrency, lexical and
# hybrid. wrk and the server share this machine's cores; the report says how many.
# Writes benches/results/load.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
N="${LOAD_DOCS:-100000}"
SECONDS_PER_STEP="${LOAD_SECONDS:-15}"
CONCURRENCY="${LOAD_CONCURRENCY:-4 16 64 128}"
PORT="${LOAD_PORT:-18090}"
OUT="$ROOT/benches/results/load.md"

bash "$ROOT/scripts/setup.sh" all
command -v wrk >/dev/null || { echo "[load] installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }

LOAD_DB_URL="${DATABASE_URL%/*}/stanok_load"
psql "$DATABASE_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = 'stanok_load'" | grep -q 1 \
  || psql "$DATABASE_URL" -c "CREATE DATABASE stanok_load" >/dev/null

cargo build --release -q -p server --bin stanok --example seed_catalog
BIN="$CARGO_TARGET_DIR/release"
have=$(psql "$LOAD_DB_URL" -Atc "SELECT count(*) FROM catalog_items" 2>/dev/null || echo 0)
if [ "$have" != "$N" ] || [ "${LOAD_RESEED:-0}" = 1 ]; then
  DATABASE_URL="$LOAD_DB_URL" "$BIN/examples/seed_catalog" "$N"
else
  echo "[load] stanok_load already holds $N documents (LOAD_RESEED=1 to regenerate)"
fi
mkdir -p "$(dirname "$OUT")"

DATA="$(mktemp -d /tmp/stanok-load.XXXXXX)"
LOG="$DATA/server.log"
BASE="http://127.0.0.1:$PORT"
SERVER=
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT

start_server() { # $1 = SEARCH_CACHE_ENTRIES, $2 = DOC_CACHE_ENTRIES, $3 = WORD_CACHE_MB
  DATABASE_URL="$LOAD_DB_URL" DATA_DIR="$DATA" LISTEN_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
    SEARCH_CACHE_ENTRIES="$1" DOC_CACHE_ENTRIES="$2" WORD_CACHE_MB="$3" "$BIN/stanok" serve >>"$LOG" 2>&1 &
  SERVER=$!
  local started; started=$(date +%s)
  until curl -sf "$BASE/readyz" >/dev/null; do
    kill -0 $SERVER 2>/dev/null || { cat "$LOG"; echo "[load] server exited"; exit 1; }
    sleep 1
  done
  echo "[load] ready in $(( $(date +%s) - started )) s (result cache $1, doc cache $2, word cache $3 MiB)"
  # The indexer merges the bulk load's small text segments at its first idle heartbeat, 10 s
  # after it caught up (to at most two): measure that steady state, not the minute after a load.
  for _ in $(seq 60); do
    segs=$(curl -sf "$BASE/api/v1/index/status" | grep -o '"text_segments":[0-9]*' | cut -d: -f2)
    [ "${segs:-9}" -le 2 ] && break
    sleep 1
  done
  echo "[load] text segments: ${segs:-?}"
  # Background work after a load (the HNSW graph's build, the walk's freeze) would share the
  # cores with the measurement: wait until the server has been idle for 5 s (at most 5 min).
  local ticks; ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
  for i in $(seq 60); do
    local a b; a=$(ticks); sleep 5; b=$(ticks)
    [ $((b - a)) -lt 25 ] && { echo "[load] server idle after $((i * 5)) s"; break; }
  done
  for mode in lexical hybrid; do
    # Warm-up: every query once (embeds each hybrid query with the real model, then cached).
    wrk -t1 -c1 -d3s -s "$ROOT/benches/load/mix.lua" "$BASE" -- "$mode" >/dev/null
  done
}

stop_server() {
  kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=
}

cores=$(nproc)
{
  echo "# HTTP load test"
  echo
  echo "\`bash benches/load/run.sh\` on $(date -u +%Y-%m-%d), $cores cores shared by wrk (2 threads) and the server;"
  echo "$N generated documents, query mix of \`benches/load/mix.lua\` (36 requests: codes, models, Russian and"
  echo "English descriptions, typos, filters, browsing), limit 10, ${SECONDS_PER_STEP} s per step; query embeddings"
  echo "cached. \"result cache\" is \`SEARCH_CACHE_ENTRIES\`: 0 computes every request; 1024 answers a repeated"
  echo "identical request from the current snapshot's cache (emptied by every applied change), which"
  echo "this 36-request mix hits almost always. \"doc cache\" is \`DOC_CACHE_ENTRIES\`: decoded stored documents"
  echo "(16384 by default); the mix's few hundred hits all fit, so 0 shows the cost of reading every hit"
  echo "from the doc store, as a catalog's long tail would. \"word cache\" is \`WORD_CACHE_MB\`: word impacts and"
  echo "term bitsets of the current snapshot (64 MiB by default; the load catalog's whole vocabulary fits), so"
  echo "0 shows the cost of reading every word's six postings lists on every request, as a snapshot's first"
  echo "queries after a change do. Each step starts once the server is idle."
  echo
  echo "| result cache | doc cache | word cache MiB | mode | connections | requests/s | p50 ms | p90 ms | p99 ms | non-2xx |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
} >"$OUT"
for caches in 0:16384:64 0:0:0 1024:16384:64; do
  IFS=: read -r cache docs words <<<"$caches"
  start_server "$cache" "$docs" "$words"
  for mode in lexical hybrid; do
    for c in $CONCURRENCY; do
      line=$(wrk -t2 -c"$c" -d"${SECONDS_PER_STEP}s" -s "$ROOT/benches/load/mix.lua" "$BASE" -- "$mode" | grep '^RESULT')
      echo "[load] cache=$cache docs=$docs words=$words $mode c=$c $line"
      rps=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$line")
      p50=$(sed 's/.*p50_ms=\([^ ]*\).*/\1/' <<<"$line")
      p90=$(sed 's/.*p90_ms=\([^ ]*\).*/\1/' <<<"$line")
      p99=$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$line")
      bad=$(sed 's/.*non2xx=\([^ ]*\).*/\1/' <<<"$line")
      echo "| $cache | $docs | $words | $mode | $c | $rps | $p50 | $p90 | $p99 | $bad |" >>"$OUT"
    done
  done
  stop_server
done
echo "[load] report: $OUT"
cat "$OUT"
