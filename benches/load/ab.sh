#!/usr/bin/env bash
# Side-by-side HTTP load test of two server builds (A and B) on the same catalog and machine:
# both servers run at once on their own ports and data directories; wrk alternates between
# them, step by step, for LOAD_ROUNDS rounds, so machine noise falls on both alike. Reports
# the median requests/s and p99 per build and mode, and B's ratio to A.
#
#   LOAD_A=/path/to/stanok-base LOAD_B=/path/to/stanok-new bash benches/load/ab.sh
#
# Env: LOAD_DOCS (100000), LOAD_SECONDS per step (10), LOAD_ROUNDS (3), LOAD_CONCURRENCY (16).
# The catalog comes from the stanok_load database as `run.sh` seeds it (run that once first).
# Writes benches/results/load-ab.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$ROOT/scripts/env.sh"
A="${LOAD_A:?LOAD_A: the baseline stanok binary}"
B="${LOAD_B:?LOAD_B: the stanok binary to compare}"
N="${LOAD_DOCS:-100000}"
STEP="${LOAD_SECONDS:-10}"
ROUNDS="${LOAD_ROUNDS:-3}"
C="${LOAD_CONCURRENCY:-16}"
OUT="$ROOT/benches/results/load-ab.md"
command -v wrk >/dev/null || { echo "[ab] installing wrk"; DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null; }
LOAD_DB_URL="${DATABASE_URL%/*}/stanok_load"
have=$(psql "$LOAD_DB_URL" -Atc "SELECT count(*) FROM catalog_items" 2>/dev/null || echo 0)
[ "$have" = "$N" ] || { echo "[ab] stanok_load holds $have documents, not $N: run benches/load/run.sh first"; exit 1; }

WORK="$(mktemp -d /tmp/stanok-ab.XXXXXX)"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"' EXIT

start() { # $1 = name, $2 = binary, $3 = port
  mkdir -p "$WORK/$1"
  DATABASE_URL="$LOAD_DB_URL" DATA_DIR="$WORK/$1" LISTEN_ADDR="127.0.0.1:$3" RUST_LOG=warn \
    SEARCH_CACHE_ENTRIES=0 "$2" serve >>"$WORK/$1.log" 2>&1 &
  PIDS+=($!)
}
wait_ready() { # $1 = port, $2 = pid
  until curl -sf "http://127.0.0.1:$1/readyz" >/dev/null; do
    kill -0 "$2" 2>/dev/null || { echo "[ab] server on $1 exited"; cat "$WORK"/*.log; exit 1; }
    sleep 1
  done
  for _ in $(seq 60); do
    segs=$(curl -sf "http://127.0.0.1:$1/api/v1/index/status" | grep -o '"text_segments":[0-9]*' | cut -d: -f2)
    [ "${segs:-9}" -le 2 ] && break
    sleep 1
  done
}
idle() { # both servers idle for 5 s (the graph build and the walk's freeze are done)
  local ticks; ticks() { for p in "${PIDS[@]}"; do awk '{print $14 + $15}' "/proc/$p/stat"; done | paste -sd+ | bc; }
  for _ in $(seq 60); do
    local a b; a=$(ticks); sleep 5; b=$(ticks)
    [ $((b - a)) -lt 25 ] && return
  done
}

start a "$A" 18091
start b "$B" 18092
wait_ready 18091 "${PIDS[0]}"
wait_ready 18092 "${PIDS[1]}"
idle
echo "[ab] both servers ready and idle"
for port in 18091 18092; do
  for mode in lexical hybrid; do
    wrk -t1 -c1 -d3s -s "$ROOT/benches/load/mix.lua" "http://127.0.0.1:$port" -- "$mode" >/dev/null
  done
done
RAW="$WORK/raw.tsv"
for r in $(seq "$ROUNDS"); do
  for mode in lexical hybrid; do
    # Alternate which build goes first, so neither always follows the other.
    order="a:18091 b:18092"; [ $((r % 2)) = 0 ] && order="b:18092 a:18091"
    for step in $order; do
      IFS=: read -r name port <<<"$step"
      line=$(wrk -t2 -c"$C" -d"${STEP}s" -s "$ROOT/benches/load/mix.lua" "http://127.0.0.1:$port" -- "$mode" | grep '^RESULT')
      echo "[ab] round $r $mode $name $line"
      rps=$(sed 's/.*rps=\([^ ]*\).*/\1/' <<<"$line")
      p99=$(sed 's/.*p99_ms=\([^ ]*\).*/\1/' <<<"$line")
      printf '%s\t%s\t%s\t%s\n' "$mode" "$name" "$rps" "$p99" >>"$RAW"
    done
  done
done
python3 - "$RAW" "$OUT" "$A" "$B" "$N" "$STEP" "$ROUNDS" "$C" "$(nproc)" <<'PY'
import sys, statistics, datetime
raw, out, a, b, n, step, rounds, c, cores = sys.argv[1:]
rows = [l.split('\t') for l in open(raw).read().split('\n') if l]
def med(mode, name, col):
    return statistics.median(float(r[col]) for r in rows if r[0] == mode and r[1] == name)
lines = [
    "# HTTP load, two builds side by side",
    "",
    f"`benches/load/ab.sh` on {datetime.date.today()}, {cores} cores shared by wrk and both servers; {n} documents,",
    f"the query mix of `benches/load/mix.lua`, {c} connections, result cache off, {step} s per step,",
    f"{rounds} rounds alternating A and B step by step; medians over the rounds.",
    "",
    f"A: `{a}`  ",
    f"B: `{b}`",
    "",
    "| mode | A req/s | B req/s | B/A | A p99 ms | B p99 ms | B/A |",
    "|---|---|---|---|---|---|---|",
]
for mode in ["lexical", "hybrid"]:
    ar, br = med(mode, "a", 2), med(mode, "b", 2)
    ap, bp = med(mode, "a", 3), med(mode, "b", 3)
    lines.append(f"| {mode} | {ar:.1f} | {br:.1f} | {br / ar:.3f} | {ap:.2f} | {bp:.2f} | {bp / ap:.3f} |")
open(out, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
