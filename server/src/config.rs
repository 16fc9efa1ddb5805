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
    /// The web app's build (`web/dist`): its shell and assets are served by `stanok serve`.
    pub web_dir: PathBuf,
    /// Files uploaded in the CMS (Directus's `STORAGE_LOCAL_ROOT`; default `DATA_DIR/cms-files`).
    pub cms_files_dir: PathBuf,
    pub model_dir: PathBuf,
    pub ort_dylib_path: PathBuf,
    /// `int8` (default) or `fp32`.
    pub model_precision: search_core::Precision,
    pub embed_threads: usize,
    /// ONNX Runtime's arena for the model's activations (`EMBED_ARENA`, `on` or `off`; default
    /// `off`: the arena keeps the peak of the largest batch for the process's life).
    pub embed_arena: bool,
    /// Allowed CORS origin for the site (`*` allows any).
    pub cors_origin: String,
    pub request_timeout_ms: u64,
    /// Searches computed at once (`SEARCH_CONCURRENCY`, default: twice the cores); more wait.
    pub search_concurrency: usize,
    /// This process's name in `indexer_replicas` (`REPLICA_ID`; default: host name and a hash
    /// of the data directory, so replicas never share a change-log position by accident).
    pub replica_id: String,
    /// After SIGTERM, how long readiness is false while requests are still served, so the load
    /// balancer's health check takes the replica out before it stops listening
    /// (`SHUTDOWN_DRAIN_MS`, default 5000: above twice the proxy's check interval).
    pub shutdown_drain_ms: u64,
    /// Most queries embedded in one model run (`QUERY_BATCH`, default 16); 0 embeds each query
    /// inside its search, one at a time (the behaviour before batching, kept for comparison).
    pub query_batch: usize,
    /// Bearer token of the operator routes (`/api/v1/admin/…`); unset turns them off.
    pub admin_token: Option<String>,
    /// Lead routes, amoCRM sync and the passport webhook.
    pub leads: LeadsConfig,
    /// Overrides of the engine's fusion, graph and cache settings.
    pub tuning: EngineTuning,
}

/// Overrides of the engine's settings (defaults chosen on the development set and in the
/// benchmarks), each from its environment variable; unset keeps the engine's default, a value
/// that does not parse or is out of range stops the start with its name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EngineTuning {
    pub rrf_k: Option<f32>,
    pub rrf_lexical_weight: Option<f32>,
    pub rrf_semantic_weight: Option<f32>,
    pub rrf_latin_semantic_factor: Option<f32>,
    pub rrf_code_semantic_factor: Option<f32>,
    pub rrf_lexical_score_weight: Option<f32>,
    pub rrf_lexical_score_power: Option<f32>,
    pub rrf_semantic_cosine_weight: Option<f32>,
    pub feedback_docs: Option<usize>,
    pub feedback_weight: Option<f32>,
    pub hnsw_ef_search: Option<usize>,
    /// `SEARCH_CACHE_ENTRIES`: results kept per snapshot (0: every request computed).
    pub search_cache_entries: Option<usize>,
    /// `DOC_CACHE_ENTRIES`: decoded stored documents kept.
    pub doc_cache_entries: Option<usize>,
    /// `WORD_CACHE_MB`: word impacts and term bitsets kept per snapshot.
    pub word_cache_mb: Option<usize>,
}

impl EngineTuning {
    /// The overrides set in the environment.
    pub fn from_env() -> anyhow::Result<EngineTuning> {
        EngineTuning::from_lookup(|k| std::env::var(k).ok())
    }

    /// The overrides `get` names (environment variable → value).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<EngineTuning> {
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        // A weight or factor: a finite number, not negative.
        let weight = |k: &str| -> anyhow::Result<Option<f32>> {
            set(k)
                .map(|v| {
                    v.trim()
                        .parse::<f32>()
                        .ok()
                        .filter(|x| x.is_finite() && *x >= 0.0)
                        .ok_or_else(|| anyhow::anyhow!("{k} must be a number ≥ 0, got {v:?}"))
                })
                .transpose()
        };
        let count = |k: &str, min: usize| -> anyhow::Result<Option<usize>> {
            set(k)
                .map(|v| {
                    v.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|n| *n >= min)
                        .ok_or_else(|| {
                            anyhow::anyhow!("{k} must be a whole number ≥ {min}, got {v:?}")
                        })
                })
                .transpose()
        };
        let rrf_k = weight("RRF_K")?;
        if rrf_k == Some(0.0) {
            anyhow::bail!("RRF_K must be above 0");
        }
        Ok(EngineTuning {
            rrf_k,
            rrf_lexical_weight: weight("RRF_LEXICAL_WEIGHT")?,
            rrf_semantic_weight: weight("RRF_SEMANTIC_WEIGHT")?,
            rrf_latin_semantic_factor: weight("RRF_LATIN_SEMANTIC_FACTOR")?,
            rrf_code_semantic_factor: weight("RRF_CODE_SEMANTIC_FACTOR")?,
            rrf_lexical_score_weight: weight("RRF_LEXICAL_SCORE_WEIGHT")?,
            rrf_lexical_score_power: weight("RRF_LEXICAL_SCORE_POWER")?,
            rrf_semantic_cosine_weight: weight("RRF_SEMANTIC_COSINE_WEIGHT")?,
            feedback_docs: count("FEEDBACK_DOCS", 0)?,
            feedback_weight: weight("FEEDBACK_WEIGHT")?,
            hnsw_ef_search: count("HNSW_EF_SEARCH", 1)?,
            search_cache_entries: count("SEARCH_CACHE_ENTRIES", 0)?,
            doc_cache_entries: count("DOC_CACHE_ENTRIES", 0)?,
            word_cache_mb: count("WORD_CACHE_MB", 0)?,
        })
    }

    /// `cfg` with these overrides applied.
    pub fn apply(&self, cfg: &mut search_core::EngineConfig) {
        let set_f = |to: &mut f32, v: Option<f32>| {
            if let Some(v) = v {
                *to = v;
            }
        };
        set_f(&mut cfg.rrf.k, self.rrf_k);
        set_f(&mut cfg.rrf.lexical_weight, self.rrf_lexical_weight);
        set_f(&mut cfg.rrf.semantic_weight, self.rrf_semantic_weight);
        set_f(
            &mut cfg.rrf.latin_semantic_factor,
            self.rrf_latin_semantic_factor,
        );
        set_f(
            &mut cfg.rrf.code_semantic_factor,
            self.rrf_code_semantic_factor,
        );
        set_f(
            &mut cfg.rrf.lexical_score_weight,
            self.rrf_lexical_score_weight,
        );
        set_f(
            &mut cfg.rrf.lexical_score_power,
            self.rrf_lexical_score_power,
        );
        set_f(
            &mut cfg.rrf.semantic_cosine_weight,
            self.rrf_semantic_cosine_weight,
        );
        set_f(&mut cfg.feedback_weight, self.feedback_weight);
        if let Some(n) = self.feedback_docs {
            cfg.feedback_docs = n;
        }
        if let Some(ef) = self.hnsw_ef_search {
            cfg.hnsw.ef_search = ef;
        }
        if let Some(n) = self.search_cache_entries {
            cfg.result_cache = n;
        }
        if let Some(n) = self.doc_cache_entries {
            cfg.doc_cache = n;
        }
        if let Some(mb) = self.word_cache_mb {
            cfg.word_cache_bytes = mb << 20;
        }
    }
}

/// Settings of the lead flows (all optional: without amoCRM settings leads are stored and
/// wait; without a webhook secret the webhook route is off).
#[derive(Clone, Default)]
pub struct LeadsConfig {
    pub amo_base_url: Option<String>,
    pub amo_subdomain: Option<String>,
    pub amo_long_lived_token: Option<String>,
    pub amo_client_id: Option<String>,
    pub amo_client_secret: Option<String>,
    pub amo_redirect_uri: Option<String>,
    pub amo_refresh_token: Option<String>,
    pub amo_pipeline_id: Option<i64>,
    pub webhook_secret: Option<String>,
    pub serial_field_id: Option<i64>,
    pub product_field_id: Option<i64>,
    pub bot_token: Option<String>,
    pub bot_service_token: Option<String>,
    pub link_signing_key: Option<String>,
    pub public_base_url: String,
    pub max_attachment_bytes: usize,
    /// Rate limits and byte quotas of lead intake and uploads (`LIMIT_*`).
    pub limits: leads::limits::Limits,
    /// Trusted reverse proxies in front (`TRUSTED_PROXY_HOPS`).
    pub trusted_proxy_hops: usize,
    /// The Bot API the notifier sends through (`TELEGRAM_API_URL`, else `TELOXIDE_API_URL`,
    /// else Telegram's).
    pub telegram_api_url: String,
    /// Concurrent notification senders per replica (`NOTIFY_WORKERS`, default 8; 0: off).
    pub notify_workers: usize,
    /// CDEK API v2 (`CDEK_BASE_URL`, `CDEK_CLIENT_ID`, `CDEK_CLIENT_SECRET`).
    pub cdek_base_url: Option<String>,
    pub cdek_client_id: Option<String>,
    pub cdek_client_secret: Option<String>,
    /// How often an open shipment is polled (`TRACKING_POLL_SECS`, default 600).
    pub tracking_poll_secs: u64,
}

fn opt(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn opt_i64(name: &str) -> anyhow::Result<Option<i64>> {
    opt(name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|e| anyhow::anyhow!("{name}: {e}"))
        })
        .transpose()
}

impl LeadsConfig {
    pub fn from_env() -> anyhow::Result<LeadsConfig> {
        Ok(LeadsConfig {
            amo_base_url: opt("AMOCRM_BASE_URL"),
            amo_subdomain: opt("AMOCRM_SUBDOMAIN"),
            amo_long_lived_token: opt("AMOCRM_LONG_LIVED_TOKEN"),
            amo_client_id: opt("AMOCRM_CLIENT_ID"),
            amo_client_secret: opt("AMOCRM_CLIENT_SECRET"),
            amo_redirect_uri: opt("AMOCRM_REDIRECT_URI"),
            amo_refresh_token: opt("AMOCRM_REFRESH_TOKEN"),
            amo_pipeline_id: opt_i64("AMOCRM_PIPELINE_ID")?,
            webhook_secret: opt("AMOCRM_WEBHOOK_SECRET"),
            serial_field_id: opt_i64("AMOCRM_SERIAL_FIELD_ID")?,
            product_field_id: opt_i64("AMOCRM_PRODUCT_FIELD_ID")?,
            bot_token: opt("TELOXIDE_TOKEN").or_else(|| opt("BOT_TOKEN")),
            bot_service_token: opt("BOT_SERVICE_TOKEN"),
            telegram_api_url: opt("TELEGRAM_API_URL")
                .or_else(|| opt("TELOXIDE_API_URL"))
                .unwrap_or_else(|| "https://api.telegram.org/".into()),
            notify_workers: opt_i64("NOTIFY_WORKERS")?
                .map(|n| usize::try_from(n).map_err(|_| anyhow::anyhow!("NOTIFY_WORKERS: {n} < 0")))
                .transpose()?
                .unwrap_or(8),
            cdek_base_url: opt("CDEK_BASE_URL"),
            cdek_client_id: opt("CDEK_CLIENT_ID"),
            cdek_client_secret: opt("CDEK_CLIENT_SECRET"),
            tracking_poll_secs: opt_i64("TRACKING_POLL_SECS")?
                .map(|n| {
                    u64::try_from(n)
                        .ok()
                        .filter(|n| *n > 0)
                        .ok_or_else(|| anyhow::anyhow!("TRACKING_POLL_SECS: {n} ≤ 0"))
                })
                .transpose()?
                .unwrap_or(600),
            link_signing_key: opt("LINK_SIGNING_KEY"),
            public_base_url: opt("PUBLIC_BASE_URL").unwrap_or_default(),
            max_attachment_bytes: opt("MAX_ATTACHMENT_BYTES")
                .map(|v| v.parse::<usize>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("MAX_ATTACHMENT_BYTES: {e}"))?
                .unwrap_or(leads::attachments::DEFAULT_MAX_BYTES),
            limits: {
                let d = leads::limits::Limits::default();
                let num = |k: &str, default: u64| -> anyhow::Result<u64> {
                    opt(k)
                        .map(|v| v.parse::<u64>().map_err(|e| anyhow::anyhow!("{k}: {e}")))
                        .transpose()
                        .map(|v| v.unwrap_or(default))
                };
                leads::limits::Limits {
                    leads_per_caller: num("LIMIT_LEADS_PER_CALLER", d.leads_per_caller.into())?
                        as u32,
                    leads_per_phone: num("LIMIT_LEADS_PER_PHONE", d.leads_per_phone.into())? as u32,
                    uploads_per_caller: num(
                        "LIMIT_UPLOADS_PER_CALLER",
                        d.uploads_per_caller.into(),
                    )? as u32,
                    window: std::time::Duration::from_secs(
                        num("LIMIT_WINDOW_SECS", d.window.as_secs())?.max(1),
                    ),
                    lead_bytes: num("LIMIT_LEAD_BYTES", d.lead_bytes as u64)? as i64,
                    daily_bytes: num("LIMIT_DAILY_UPLOAD_BYTES", d.daily_bytes as u64)? as i64,
                }
            },
            trusted_proxy_hops: opt("TRUSTED_PROXY_HOPS")
                .map(|v| v.parse::<usize>())
                .transpose()
                .map_err(|e| anyhow::anyhow!("TRUSTED_PROXY_HOPS: {e}"))?
                .unwrap_or(0),
        })
    }

    /// The amoCRM client settings, if amoCRM is configured.
    pub fn amo(&self) -> anyhow::Result<Option<leads::amocrm::AmoConfig>> {
        let Some(base) = &self.amo_base_url else {
            return Ok(None);
        };
        let auth = match (&self.amo_long_lived_token, &self.amo_client_id) {
            (Some(t), _) => leads::amocrm::AmoAuth::LongLived(t.clone()),
            (None, Some(id)) => leads::amocrm::AmoAuth::OAuth {
                client_id: id.clone(),
                client_secret: self.amo_client_secret.clone().unwrap_or_default(),
                redirect_uri: self.amo_redirect_uri.clone().unwrap_or_default(),
                initial_refresh_token: self.amo_refresh_token.clone(),
            },
            (None, None) => anyhow::bail!(
                "AMOCRM_BASE_URL is set: also set AMOCRM_LONG_LIVED_TOKEN or AMOCRM_CLIENT_ID/AMOCRM_CLIENT_SECRET/AMOCRM_REFRESH_TOKEN"
            ),
        };
        let account = self.amo_subdomain.clone().unwrap_or_else(|| base.clone());
        let mut cfg = leads::amocrm::AmoConfig::new(base.clone(), account, auth);
        cfg.pipeline_id = self.amo_pipeline_id;
        Ok(Some(cfg))
    }
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
            .field("embed_arena", &self.embed_arena)
            .field("cors_origin", &self.cors_origin)
            .field("replica_id", &self.replica_id)
            .field("shutdown_drain_ms", &self.shutdown_drain_ms)
            .field("query_batch", &self.query_batch)
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

/// A replica id unique per host and data directory: two replicas that share a database keep
/// separate change-log positions without anyone naming them (`REPLICA_ID` overrides).
pub fn default_replica_id(data_dir: &std::path::Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    // Absolute without touching the disk: the directory may not exist before the first start,
    // and the id must not change once it does.
    let dir = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
    // FNV-1a over the path: stable across builds (std's hasher is not specified to be).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in dir.to_string_lossy().bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{host}-{:08x}", h as u32)
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
            web_dir: PathBuf::from(var("WEB_DIR", "./web/dist")),
            cms_files_dir: match std::env::var("CMS_FILES_DIR") {
                Ok(d) if !d.is_empty() => PathBuf::from(d),
                _ => PathBuf::from(var("DATA_DIR", "./data")).join("cms-files"),
            },
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
            embed_arena: match var("EMBED_ARENA", "off").as_str() {
                "on" => true,
                "off" => false,
                other => anyhow::bail!("EMBED_ARENA must be on or off, got {other}"),
            },
            cors_origin: var("CORS_ORIGIN", "*"),
            request_timeout_ms: var("REQUEST_TIMEOUT_MS", "10000")
                .parse()
                .map_err(|e| anyhow::anyhow!("REQUEST_TIMEOUT_MS: {e}"))?,
            search_concurrency: match std::env::var("SEARCH_CONCURRENCY") {
                Ok(v) if !v.is_empty() => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| anyhow::anyhow!("SEARCH_CONCURRENCY: a positive number"))?,
                _ => crate::api::default_search_concurrency(),
            },
            replica_id: match std::env::var("REPLICA_ID") {
                Ok(id) if !id.trim().is_empty() => id,
                _ => default_replica_id(&PathBuf::from(var("DATA_DIR", "./data"))),
            },
            query_batch: var("QUERY_BATCH", "16")
                .parse()
                .map_err(|e| anyhow::anyhow!("QUERY_BATCH: {e}"))?,
            shutdown_drain_ms: var("SHUTDOWN_DRAIN_MS", "5000")
                .parse()
                .map_err(|e| anyhow::anyhow!("SHUTDOWN_DRAIN_MS: {e}"))?,
            admin_token: std::env::var("ADMIN_TOKEN").ok().filter(|t| !t.is_empty()),
            leads: LeadsConfig::from_env()?,
            tuning: EngineTuning::from_env()?,
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
            arena: self.embed_arena,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replica_ids_differ_by_data_directory_and_are_stable() {
        let a = default_replica_id(std::path::Path::new("/srv/a"));
        let b = default_replica_id(std::path::Path::new("/srv/b"));
        assert_ne!(a, b);
        assert_eq!(a, default_replica_id(std::path::Path::new("/srv/a")));
        // The same before and after the directory exists.
        // A relative DATA_DIR (the default `./data`), first missing, then created.
        let tmp = std::path::PathBuf::from(format!("stanok-replica-{}", std::process::id()));
        let before = default_replica_id(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let after = default_replica_id(&tmp);
        std::fs::remove_dir_all(&tmp).unwrap();
        assert_eq!(before, after);
    }

    #[test]
    fn engine_tuning_is_validated_and_applied() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.to_string())
        };
        let t = EngineTuning::from_lookup(env(&[
            ("RRF_K", "5"),
            ("FEEDBACK_DOCS", "0"),
            ("WORD_CACHE_MB", "2"),
            ("RRF_SEMANTIC_WEIGHT", " "),
        ]))
        .unwrap();
        let mut cfg = search_core::EngineConfig::new("m", 8);
        let before = cfg.rrf.semantic_weight;
        t.apply(&mut cfg);
        assert_eq!(cfg.rrf.k, 5.0);
        assert_eq!(cfg.feedback_docs, 0);
        assert_eq!(cfg.word_cache_bytes, 2 << 20);
        assert_eq!(cfg.rrf.semantic_weight, before, "blank keeps the default");
        for bad in [
            &[("RRF_K", "0")][..],
            &[("RRF_K", "abc")],
            &[("RRF_SEMANTIC_WEIGHT", "-1")],
            &[("FEEDBACK_WEIGHT", "NaN")],
            &[("HNSW_EF_SEARCH", "0")],
            &[("DOC_CACHE_ENTRIES", "-5")],
        ] {
            let err = EngineTuning::from_lookup(env(bad)).unwrap_err().to_string();
            assert!(err.contains(bad[0].0), "{err}");
        }
    }

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
