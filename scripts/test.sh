#!/usr/bin/env bash
# Quick start, test suite: install what is missing, then run every test of the workspace
# against the real PostgreSQL, Redis and ONNX model. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$STANOK_ROOT"
bash scripts/setup.sh all
export RUST_BACKTRACE=1
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
  cargo test --workspace --doc
else
  cargo test --workspace --no-fail-fast "$@"
fi
# The web app: unit tests and browser tests (headless Chromium) against the real server.
bash scripts/web-test.sh
# Schema-driven fuzzing of the running server (schemathesis from PyPI).
bash scripts/fuzz.sh
# The production shape: container files checked statically, then Traefik in front of replicas
# that are killed, restarted, added and stopped under load (deploy/, tests/cluster_main.rs).
bash scripts/cluster-test.sh
