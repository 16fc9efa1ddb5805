//! Configuration: defaults, overridden by environment variables. Validated once at start.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Raw settings as read from the environment (see README for the table).
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub redis_url: String,
    pub listen_addr: SocketAddr,
    pub data_dir: PathBuf,
    pub model_dir: PathBuf,
    pub ort_dylib_path: PathBuf,
    /// `int8` (default) or `fp32`.
    pub model_precision: search_core::Precision,
    pub embed_threads: usize,
    /// Allowed CORS origin for the site (`*` allows any).
    pub cors_origin: String,
    pub request_timeout_ms: u64,
    pub replica_id: String,
    /// Bearer token of the operator routes (`/api/v1/admin/…`); unset turns them off.
    pub admin_token: Option<String>,
}

impl std::fmt::Debug for Config {
    // The database URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact(&self.database_url))
            .field("redis_url", &redact(&self.redis_url))
            .field("listen_addr", &self.listen_addr)
            .field("data_dir", &self.data_dir)
            .field("model_dir", &self.model_dir)
            .field("model_precision", &self.model_precision)
            .field("embed_threads", &self.embed_threads)
            .field("cors_origin", &self.cors_origin)
            .field("replica_id", &self.replica_id)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Replaces the password part of a URL with `***`.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let cache =
            std::env::var("STANOK_CACHE").unwrap_or_else(|_| format!("{home}/.cache/stanok"));
        let precision = var("MODEL_PRECISION", "int8");
        Ok(Config {
            database_url: var(
                "DATABASE_URL",
                "postgres://stanok:stanok@127.0.0.1:5432/stanok",
            ),
            redis_url: var("REDIS_URL", "redis://127.0.0.1:6379/0"),
            listen_addr: var("LISTEN_ADDR", "127.0.0.1:8080")
                .parse()
                .map_err(|e| anyhow::anyhow!("LISTEN_ADDR: {e}"))?,
            data_dir: PathBuf::from(var("DATA_DIR", "./data")),
            model_dir: PathBuf::from(var("MODEL_DIR", &format!("{cache}/model"))),
            ort_dylib_path: PathBuf::from(var(
                "ORT_DYLIB_PATH",
                &format!("{cache}/onnxruntime/libonnxruntime.so"),
            )),
            model_precision: search_core::Precision::parse(&precision).ok_or_else(|| {
                anyhow::anyhow!("MODEL_PRECISION must be int8 or fp32, got {precision}")
            })?,
            embed_threads: var("EMBED_THREADS", "2")
                .parse()
                .map_err(|e| anyhow::anyhow!("EMBED_THREADS: {e}"))?,
            cors_origin: var("CORS_ORIGIN", "*"),
            request_timeout_ms: var("REQUEST_TIMEOUT_MS", "10000")
                .parse()
                .map_err(|e| anyhow::anyhow!("REQUEST_TIMEOUT_MS: {e}"))?,
            replica_id: var("REPLICA_ID", "default"),
            admin_token: std::env::var("ADMIN_TOKEN").ok().filter(|t| !t.is_empty()),
        })
    }

    pub fn onnx(&self) -> search_core::OnnxConfig {
        search_core::OnnxConfig {
            model_dir: self.model_dir.clone(),
            runtime_lib: self.ort_dylib_path.clone(),
            precision: self.model_precision,
            sessions: 1,
            threads: self.embed_threads.max(1),
            max_tokens: 256,
            batch_size: 32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
    }
}
