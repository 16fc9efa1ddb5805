#!/usr/bin/env bash
# Quick start, main job: install what is missing, build, import the generated demo catalog and
# run the search server on LISTEN_ADDR (default 127.0.0.1:8080). Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STANOK_ROOT"
bash scripts/setup.sh all
cargo build --release -p server --bin stanok
BIN="$CARGO_TARGET_DIR/release/stanok"
mkdir -p "$DATA_DIR"
"$BIN" migrate
"$BIN" demo-catalog --count "${DEMO_COUNT:-3000}" > "$DATA_DIR/demo-catalog.jsonl"
"$BIN" import "$DATA_DIR/demo-catalog.jsonl"
echo "[run] search server on http://$LISTEN_ADDR  (try: curl 'http://$LISTEN_ADDR/api/v1/search?q=подшипник+6205')" >&2
exec "$BIN" serve
