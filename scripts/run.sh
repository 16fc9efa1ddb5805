#!/usr/bin/env bash
# Quick start, main job: install what is missing, build (the server and the web app), import the
# generated demo catalog and run the search server and site on LISTEN_ADDR (default
# 127.0.0.1:8080). Idempotent.
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
# Demo mode: without a real amoCRM account, leads go to the local amoCRM stand-in (the same
# one the tests use), so the whole lead flow can be tried; see README.
if [ -z "${AMOCRM_BASE_URL:-}" ]; then
  cargo build --release -q -p e2e --bin amocrm-standin
  STANDIN_ADDR="${STANDIN_ADDR:-127.0.0.1:8099}"
  STANDIN_ADDR="$STANDIN_ADDR" AMOCRM_LONG_LIVED_TOKEN=demo-token \
    "$CARGO_TARGET_DIR/release/amocrm-standin" &
  STANDIN=$!
  trap 'kill $STANDIN 2>/dev/null || true' EXIT
  export AMOCRM_BASE_URL="http://$STANDIN_ADDR" AMOCRM_SUBDOMAIN=demo AMOCRM_LONG_LIVED_TOKEN=demo-token
  export AMOCRM_WEBHOOK_SECRET="${AMOCRM_WEBHOOK_SECRET:-demo-webhook-secret}"
  export AMOCRM_SERIAL_FIELD_ID=701 AMOCRM_PRODUCT_FIELD_ID=702
  echo "[run] demo amoCRM stand-in on http://$STANDIN_ADDR (received leads: curl http://$STANDIN_ADDR/_standin/leads)" >&2
fi
echo "[run] the site on http://$LISTEN_ADDR/  (API: curl 'http://$LISTEN_ADDR/api/v1/search?q=подшипник+6205')" >&2
"$BIN" serve
