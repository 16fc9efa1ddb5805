#!/usr/bin/env bash
# Where the server's memory goes, side by side in one run (issue: a smaller footprint).
#
#   bash benches/load/memory.sh                    # 6 300 documents
#   MEMORY_DOCS=100000 bash benches/load/memory.sh # the 100k figure
#
# 1. The embedder alone, stage by stage (benches/examples/embed_memory.rs), arena on and off.
# 2. The server: resident memory idle after the load, then after new-query hybrid, lexical and
#    the cached mix under wrk (16 connections, 10 s each), for
#      - EMBED_ARENA=on  (ONNX Runtime's arena: the behaviour before),
#      - EMBED_ARENA=off (the default),
#      - EMBED_ARENA=off with MALLOC_ARENA_MAX=2 (glibc's per-thread heaps capped),
#      - no model (MODEL_DIR pointing nowhere: lexical only; the index, caches and runtime).
#    Warm starts read document vectors from the embedding cache (seeded fixture vectors, as the
#    load harness does); "cold" rows empty that cache first, so every document runs through the
#    model, as on a first start (6 300 documents only).
# Result caches stay at their defaults. Writes benches/results/memory.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
N="${MEMORY_DOCS:-6300}"
SECS="${MEMORY_SECONDS:-10}"
PORT="${MEMORY_PORT:-18093}"
OUT="$ROOT/benches/results/memory${MEMORY_SUFFIX:-}.md"
bash "$ROOT/scripts/setup.sh" all
command -v wrk >/dev/null || { echo "[memory] installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
DB_URL="${DATABASE_URL%/*}/stanok_memory"
psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS stanok_memory WITH (FORCE)" >/dev/null
psql "$DATABASE_URL" -qc "CREATE DATABASE stanok_memory" >/dev/null
cargo build --release -q -p server --bin stanok --example seed_catalog
cargo build --release -q -p benches --example embed_memory
BIN="$CARGO_TARGET_DIR/release"
DATABASE_URL="$DB_URL" "$BIN/examples/seed_catalog" "$N"
DATA="$(mktemp -d /tmp/stanok-memory.XXXXXX)"
QUERIES="$DATA/queries.txt"
"$BIN/stanok" demo-catalog --count "$N" --seed 77 | python3 "$ROOT/benches/load/make_queries.py" 200000 >"$QUERIES"
psql "$DB_URL" -qc "CREATE TABLE fixture_vectors AS SELECT * FROM embedding_cache" >/dev/null
BASE="http://127.0.0.1:$PORT"
SERVER=
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
OFFSET=0

mb() { awk -v f="$1:" '$1 == f {printf "%.0f", $2/1024}' "/proc/$SERVER/status"; }
start_server() { # env assignments for the server
  rm -rf "$DATA/index" "$DATA/indexes"
  local t0=$SECONDS
  env DATABASE_URL="$DB_URL" DATA_DIR="$DATA" LISTEN_ADDR="127.0.0.1:$PORT" RUST_LOG=warn "$@" \
    "$BIN/stanok" serve >>"$DATA/server.log" 2>&1 &
  SERVER=$!
  until curl -sf "$BASE/readyz" >/dev/null; do
    kill -0 $SERVER 2>/dev/null || { tail -30 "$DATA/server.log"; echo "[memory] server exited"; exit 1; }
    sleep 1
  done
  READY_S=$((SECONDS - t0))
  # Idle (segment merge and graph build after the load done) before measuring.
  local a b; for _ in $(seq 60); do
    a=$(awk '{print $14 + $15}' "/proc/$SERVER/stat"); sleep 3; b=$(awk '{print $14 + $15}' "/proc/$SERVER/stat")
    [ $((b - a)) -lt 15 ] && break
  done
  return 0
}
stop_server() { kill $SERVER; wait $SERVER 2>/dev/null || true; SERVER=; }
load() { # $1 novel|mix, $2 mode
  if [ "$1" = novel ]; then
    wrk -t2 -c16 -d"${SECS}s" -s "$ROOT/benches/load/novel.lua" "$BASE" -- "$2" "$QUERIES" "$OFFSET" | grep '^RESULT' | sed 's/.*rps=\([^ ]*\).*/\1/'
    OFFSET=$((OFFSET + 20000))
  else
    wrk -t2 -c16 -d"${SECS}s" -s "$ROOT/benches/load/mix.lua" "$BASE" -- "$2" | grep '^RESULT' | sed 's/.*rps=\([^ ]*\).*/\1/'
  fi
}
row() { # $1 label, $2 cold|warm, then env assignments
  local label=$1 start=$2; shift 2
  if [ "$start" = cold ]; then
    psql "$DB_URL" -qc "TRUNCATE embedding_cache" >/dev/null
  else
    psql "$DB_URL" -qc "TRUNCATE embedding_cache; INSERT INTO embedding_cache SELECT * FROM fixture_vectors" >/dev/null
  fi
  start_server "$@"
  local idle hybrid lexical mix
  idle=$(mb VmRSS)
  hybrid=$(load novel hybrid)
  lexical=$(load novel lexical)
  mix=$(load mix hybrid)
  echo "[memory] $label $start ready=${READY_S}s idle=$idle now=$(mb VmRSS) peak=$(mb VmHWM) hybrid=$hybrid lexical=$lexical mix=$mix" >&2
  echo "| $label | $start | $READY_S | $idle | $(mb VmRSS) | $(mb VmHWM) | $hybrid | $lexical | $mix |"
  stop_server
}

{
  echo "# Memory"
  echo
  echo "\`bash benches/load/memory.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, $N documents."
  echo
  echo "## The embedder alone (benches/examples/embed_memory.rs)"
  echo
  echo "| arena (or tokenizer) | stage | resident MiB | change | peak MiB |"
  echo "|---|---|---|---|---|"
  for a in tokenizers on off; do "$BIN/examples/embed_memory" "$a"; done
  echo
  echo "## The server under load"
  echo
  echo "Resident memory (MiB) when ready and idle, then after ${SECS} s each of new-query hybrid, new-query"
  echo "lexical and the cached hybrid mix at 16 connections (requests/s beside). \"cold\": the embedding"
  echo "cache emptied first, so every document runs through the model."
  echo
  echo "| configuration | start | ready s | idle | after load | peak | hybrid new req/s | lexical new req/s | mix req/s |"
  echo "|---|---|---|---|---|---|---|---|---|"
} >"$OUT"
if [ "$N" -le 20000 ]; then
  row "EMBED_ARENA=on" warm EMBED_ARENA=on >>"$OUT"
fi
row "EMBED_ARENA=off" warm EMBED_ARENA=off >>"$OUT"
if [ "$N" -le 20000 ]; then
  row "EMBED_ARENA=off MALLOC_ARENA_MAX=2" warm EMBED_ARENA=off MALLOC_ARENA_MAX=2 >>"$OUT"
fi
row "no model" warm MODEL_DIR=/nonexistent >>"$OUT"
# A cold 100k start would embed for over half an hour: 6 300 documents show the difference.
if [ "$N" -le 20000 ]; then
  row "EMBED_ARENA=on" cold EMBED_ARENA=on >>"$OUT"
  row "EMBED_ARENA=off" cold EMBED_ARENA=off >>"$OUT"
fi
echo "[memory] report: $OUT"
cat "$OUT"
