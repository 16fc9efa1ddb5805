#!/usr/bin/env bash
# The web app's budgets, measured (issue: web): the gzip size of every chunk of the build, the
# latency of server-rendered product pages and of the sitemap on the 100k generated catalog of
# the load harness (database stanok_load, seeded as benches/load/run.sh does).
#
#   bash benches/load/web.sh            # WEB_BENCH_SECONDS per step (default 10)
#
# Writes benches/results/web.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
N="${LOAD_DOCS:-100000}"
SECS="${WEB_BENCH_SECONDS:-10}"
PORT="${WEB_BENCH_PORT:-18093}"
OUT="$ROOT/benches/results/web.md"
bash "$ROOT/scripts/setup.sh" all
command -v wrk >/dev/null || { echo "[web-bench] installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }

LOAD_DB_URL="${DATABASE_URL%/*}/stanok_load"
psql "$DATABASE_URL" -Atc "SELECT 1 FROM pg_database WHERE datname = 'stanok_load'" | grep -q 1 \
  || psql "$DATABASE_URL" -c "CREATE DATABASE stanok_load" >/dev/null
cargo build --release -q -p server --bin stanok --example seed_catalog
BIN="$CARGO_TARGET_DIR/release"
have=$(psql "$LOAD_DB_URL" -Atc "SELECT count(*) FROM catalog_items" 2>/dev/null || echo 0)
[ "$have" = "$N" ] || DATABASE_URL="$LOAD_DB_URL" "$BIN/examples/seed_catalog" "$N"

DATA="$(mktemp -d /tmp/stanok-webbench.XXXXXX)"
BASE="http://127.0.0.1:$PORT"
trap 'kill $SERVER 2>/dev/null || true; wait $SERVER 2>/dev/null || true; rm -rf "$DATA"' EXIT
DATABASE_URL="$LOAD_DB_URL" DATA_DIR="$DATA" LISTEN_ADDR="127.0.0.1:$PORT" RUST_LOG=warn \
  "$BIN/stanok" serve >"$DATA/server.log" 2>&1 &
SERVER=$!
until curl -sf "$BASE/readyz" >/dev/null; do
  kill -0 $SERVER 2>/dev/null || { cat "$DATA/server.log"; exit 1; }
  sleep 1
done
# Wait until the background graph build is done (the server idle for 5 s, at most 5 min).
ticks() { awk '{print $14 + $15}' "/proc/$SERVER/stat"; }
for _ in $(seq 60); do a=$(ticks); sleep 5; b=$(ticks); [ $((b - a)) -lt 25 ] && break; done
psql "$LOAD_DB_URL" -Atc "SELECT id FROM catalog_items ORDER BY md5(id) LIMIT 5000" >"$DATA/ids.txt"

{
  echo "# Web budgets"
  echo
  echo "\`bash benches/load/web.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores shared by wrk and the server, $N documents."
  echo
  echo "## Bundle (gzip, level 9)"
  echo
  echo "| chunk | bytes | gzip bytes |"
  echo "|---|---|---|"
  (cd "$ROOT/web" && node -e '
    const fs=require("fs"),z=require("zlib"),m=JSON.parse(fs.readFileSync("dist/.vite/manifest.json"));
    const files=new Set(); for (const c of Object.values(m)) { files.add(c.file); (c.css||[]).forEach(f=>files.add(f)); }
    for (const f of [...files].sort()) { const b=fs.readFileSync("dist/"+f);
      const entry=Object.values(m).some(c=>c.isEntry&&(c.file===f||(c.css||[]).includes(f)));
      console.log(`| ${f}${entry?" (entry)":""} | ${b.length} | ${z.gzipSync(b,{level:9}).length} |`); }
    for (const f of fs.readdirSync("dist/twins").sort()) { const b=fs.readFileSync("dist/twins/"+f);
      console.log(`| twins/${f} (3D model) | ${b.length} | ${z.gzipSync(b,{level:9}).length} |`); }')
  echo
  echo "## Server-rendered product pages (\`/p/{id}\`, 5,000 ids in turn)"
  echo
  echo "| connections | requests/s | p50 ms | p90 ms | p99 ms | non-2xx |"
  echo "|---|---|---|---|---|---|"
} >"$OUT"
wrk -t1 -c1 -d3s -s "$ROOT/benches/load/pages.lua" "$BASE" -- "$DATA/ids.txt" >/dev/null # warm-up
for c in 1 4 16; do
  line=$(wrk -t"$(( c < 2 ? 1 : 2 ))" -c"$c" -d"${SECS}s" -s "$ROOT/benches/load/pages.lua" "$BASE" -- "$DATA/ids.txt" | grep '^RESULT')
  echo "[web-bench] c=$c $line"
  f() { sed "s/.*$1=\\([^ ]*\\).*/\\1/" <<<"$line"; }
  echo "| $c | $(f rps) | $(f p50_ms) | $(f p90_ms) | $(f p99_ms) | $(f non2xx) |" >>"$OUT"
done
{
  echo
  echo "## Sitemap"
  echo
  for path in /sitemap.xml /sitemap-1.xml /sitemap-2.xml; do
    t=$(curl -s -o "$DATA/out" -w '%{time_total}' "$BASE$path")
    echo "- \`$path\`: $(awk -v t="$t" 'BEGIN{printf "%.0f", t*1000}') ms, $(grep -c '<loc>' "$DATA/out") entries"
  done
} >>"$OUT"
echo "[web-bench] report: $OUT"
cat "$OUT"
