#!/usr/bin/env bash
# Hybrid search with queries never seen before (issue: hybrid at full speed for new queries).
#
#   bash benches/load/novel.sh                 # 6 300 documents, 10 s per step
#   NOVEL_DOCS=100000 NOVEL_SECONDS=15 bash benches/load/novel.sh
#
# One run, side by side: the server with QUERY_BATCH=0 (each query embedded inside its search,
# one at a time: the behaviour before batching) and with the default batching, each under
# wrk with a stream of distinct query texts drawn from the catalog (make_queries.py; no text is
# sent twice in the whole run, so neither the query-vector cache nor the result cache can
# help), lexical and hybrid at 4/16/64 connections, beside the cached 36-request mix
# (mix.lua, warmed). Then the batch-size curve: hybrid, new queries, 16 connections, for
# several QUERY_BATCH limits, with the mean batch the model thread actually ran.
# Result caches are off (SEARCH_CACHE_ENTRIES=0). Writes benches/results/novel.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
N="${NOVEL_DOCS:-6300}"
SECS="${NOVEL_SECONDS:-10}"
PORT="${NOVEL_PORT:-18092}"
OUT="$ROOT/benches/results/novel.md"
bash "$ROOT/scripts/setup.sh" all
command -v wrk >/dev/null || { echo "[novel] installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
DB_URL="${DATABASE_URL%/*}/stanok_novel"
psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS stanok_novel WITH (FORCE)" >/dev/null
psql "$DATABASE_URL" -qc "CREATE DATABASE stanok_novel" >/dev/null
cargo build --release -q -p server --bin stanok --example seed_catalog
BIN="$CARGO_TARGET_DIR/release"
DATABASE_URL="$DB_URL" "$BIN/examples/seed_catalog" "$N"
DATA="$(mktemp -d /tmp/stanok-novel.XXXXXX)"
QUERIES="$DATA/queries.txt"
"$BIN/stanok" demo-catalog --count "$N" --seed 77 | python3 "$ROOT/benches/load/make_queries.py" 400000 >"$QUERIES"
BASE="http://127.0.0.1:$PORT"
SERVER=
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
OFFSET=0

start_server() { # $1 = QUERY_BATCH
  rm -rf "$DATA/index" "$DATA/indexes"
  DATABASE_URL="$DB_URL" DATA_DIR="$DATA" LISTEN_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
    SEARCH_CACHE_ENTRIES=0 QUERY_BATCH="$1" "$BIN/stanok" serve >>"$DATA/server.log" 2>&1 &
  SERVER=$!
  until curl -sf "$BASE/readyz" >/dev/null; do
    kill -0 $SERVER 2>/dev/null || { cat "$DATA/server.log"; echo "[novel] server exited"; exit 1; }
    sleep 1
  done
  # Idle (segment merge and graph build after the load done) before measuring.
  local a b; for _ in $(seq 60); do
    a=$(awk '{print $14 + $15}' "/proc/$SERVER/stat"); sleep 3; b=$(awk '{print $14 + $15}' "/proc/$SERVER/stat")
    [ $((b - a)) -lt 15 ] && break
  done
  wrk -t1 -c1 -d3s -s "$ROOT/benches/load/mix.lua" "$BASE" -- hybrid >/dev/null
}
stop_server() { kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status"; }
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$SERVER/status"; }
batch_stats() { curl -sf "$BASE/metrics" | awk '/^stanok_query_embed_batches_total/ {b=$2} /^stanok_query_embed_texts_total/ {t=$2} END {if (b > 0) printf "%.1f", t/b; else printf "-"}'; }
step() { # $1 label, $2 script, $3 mode, $4 connections
  local line
  if [ "$2" = novel ]; then
    line=$(wrk -t2 -c"$4" -d"${SECS}s" -s "$ROOT/benches/load/novel.lua" "$BASE" -- "$3" "$QUERIES" "$OFFSET" | grep '^RESULT')
    OFFSET=$((OFFSET + 45000))
  else
    line=$(wrk -t2 -c"$4" -d"${SECS}s" -s "$ROOT/benches/load/mix.lua" "$BASE" -- "$3" | grep '^RESULT')
  fi
  echo "[novel] $1 $2 $3 c=$4 $line" >&2
  local rps p50 p99 bad
  rps=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$line"); p50=$(sed 's/.*p50_ms=\([^ ]*\).*/\1/' <<<"$line")
  p99=$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$line"); bad=$(sed 's/.*non2xx=\([^ ]*\).*/\1/' <<<"$line")
  echo "| $1 | $2 | $3 | $4 | $rps | $p50 | $p99 | $bad |"
}

{
  echo "# Hybrid search with new queries"
  echo
  echo "\`bash benches/load/novel.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores shared by wrk (2 threads) and the server;"
  echo "$N documents; result cache off; ${SECS} s per step. \"novel\": every request a text never sent before"
  echo "in this run (drawn from the catalog by make_queries.py); \"mix\": the 36 cached requests of mix.lua."
  echo "\"QUERY_BATCH=0\" embeds each query inside its search, one at a time (before); \"16\" is the default."
  echo
  echo "| QUERY_BATCH | queries | mode | connections | requests/s | p50 ms | p99 ms | non-2xx |"
  echo "|---|---|---|---|---|---|---|---|"
} >"$OUT"
declare -A RSS
for qb in 0 16; do
  start_server "$qb"
  for c in 4 16 64; do step "$qb" novel lexical "$c" >>"$OUT"; done
  for c in 4 16 64; do step "$qb" novel hybrid "$c" >>"$OUT"; done
  step "$qb" mix hybrid 16 >>"$OUT"
  RSS[$qb]="$(rss_mb) MB now, peak $(hwm_mb) MB"
  stop_server
done
{
  echo
  echo "Resident memory after the steps: QUERY_BATCH=0: ${RSS[0]}; QUERY_BATCH=16: ${RSS[16]}."
  echo
  echo "## Batch-size curve (hybrid, new queries, 16 connections)"
  echo
  echo "| QUERY_BATCH | requests/s | p50 ms | p99 ms | mean batch run |"
  echo "|---|---|---|---|---|"
} >>"$OUT"
for qb in 1 4 8 16 32; do
  start_server "$qb"
  line=$(step "$qb" novel hybrid 16)
  IFS='|' read -r _ _ _ _ _ rps p50 p99 _ <<<"$line"
  echo "| $qb |$rps |$p50 |$p99 | $(batch_stats) |" >>"$OUT"
  stop_server
done
echo "[novel] report: $OUT"
cat "$OUT"
