# Shared defaults for every project script. Source it; it only sets variables.
# Each value may be overridden from the environment.
STANOK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export STANOK_ROOT
export STANOK_CACHE="${STANOK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stanok}"
export DATABASE_URL="${DATABASE_URL:-postgres://stanok:stanok@127.0.0.1:5432/stanok}"
export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379/0}"
export LISTEN_ADDR="${LISTEN_ADDR:-127.0.0.1:8080}"
export DATA_DIR="${DATA_DIR:-$STANOK_ROOT/data}"
export MODEL_DIR="${MODEL_DIR:-$STANOK_CACHE/model}"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$STANOK_CACHE/onnxruntime/libonnxruntime.so}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$STANOK_ROOT/target}"
export WEB_DIR="${WEB_DIR:-$STANOK_ROOT/web/dist}"
export CMS_FILES_DIR="${CMS_FILES_DIR:-$DATA_DIR/cms-files}"
