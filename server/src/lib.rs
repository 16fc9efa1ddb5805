//! `server`: the catalog search HTTP API (axum), the command line, configuration and the glue
//! that starts the engine and the indexer inside one process.
//!
//! Boundary: this crate alone knows the HTTP wire format (DTOs in `api`); it maps engine and
//! indexer errors to status codes in one place (`api::error`). It is never a dependency of
//! another crate; the bot talks to it over HTTP.

#![recursion_limit = "512"]

pub mod api;
pub mod config;
pub mod content;
pub mod eval;
pub mod harness;
pub mod import;
pub mod query_embed;

use anyhow::Context;
use search_core::{CachedEmbedder, Embedder, Engine, EngineConfig, OnnxEmbedder, Synonyms};
use sqlx::postgres::{PgPool, PgPoolOptions};
use std::sync::Arc;

pub use config::{Config, EngineTuning};

/// Default synonyms shipped with the server.
pub const DEFAULT_SYNONYMS: &str = include_str!("../synonyms.txt");

/// Embedding dimension of multilingual-e5-small.
pub const DIM: usize = 384;

/// Migrations embedded at build time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// Connects to Postgres (with retries while it starts) and applies migrations.
pub async fn connect(database_url: &str) -> anyhow::Result<PgPool> {
    let mut last = None;
    for attempt in 0..20 {
        match PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(database_url)
            .await
        {
            Ok(pool) => {
                MIGRATOR.run(&pool).await.context("applying migrations")?;
                return Ok(pool);
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, "database not reachable yet");
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        }
    }
    Err(anyhow::anyhow!(
        "cannot connect to {}: {}",
        config::redact(database_url),
        last.map(|e| e.to_string()).unwrap_or_default()
    ))
}

/// Loads the ONNX embedder; a missing model is logged and search runs lexical-only.
pub fn load_embedder(cfg: &Config) -> Option<Arc<dyn Embedder>> {
    match OnnxEmbedder::load(&cfg.onnx()) {
        Ok(e) => {
            tracing::info!(model = e.model_id(), "embedding model loaded");
            Some(Arc::new(e))
        }
        Err(e) => {
            tracing::warn!(error = %e, "embedding model unavailable; semantic search disabled");
            None
        }
    }
}

/// Synonyms: the shipped defaults plus the operator's rows in `search_synonyms` (edited in
/// the CMS; see [`content::Content::sync_synonyms`] for edits while serving).
pub async fn load_synonyms(pool: Option<&PgPool>) -> anyhow::Result<Synonyms> {
    let rows: Vec<(String, String)> = match pool {
        Some(pool) => {
            sqlx::query_as("SELECT term, synonyms FROM search_synonyms ORDER BY id")
                .fetch_all(pool)
                .await?
        }
        None => Vec::new(),
    };
    synonyms_with(&rows)
}

/// The shipped synonyms plus rows of (term, comma-separated equivalents).
pub fn synonyms_with(rows: &[(String, String)]) -> anyhow::Result<Synonyms> {
    let mut syn = Synonyms::parse(DEFAULT_SYNONYMS)
        .map_err(|line| anyhow::anyhow!("synonyms.txt line {line} is malformed"))?;
    for (term, rest) in rows {
        let mut group: Vec<String> = vec![term.trim().to_string()];
        group.extend(
            rest.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
        );
        group.retain(|s| !s.is_empty());
        if group.len() >= 2 {
            syn.add_group(group);
        }
    }
    Ok(syn)
}

/// Engine settings for the loaded model (or for lexical-only operation), with the tuning
/// overrides of the configuration.
pub fn engine_config(
    tuning: &EngineTuning,
    embedder: Option<&Arc<dyn Embedder>>,
    synonyms: Synonyms,
) -> EngineConfig {
    let (model_id, dim) = match embedder {
        Some(e) => (e.model_id().to_string(), e.dim()),
        None => ("none".to_string(), DIM),
    };
    let mut cfg = EngineConfig::new(model_id, dim);
    cfg.synonyms = Arc::new(synonyms);
    tuning.apply(&mut cfg);
    cfg
}

/// Query embeddings cached per process.
const QUERY_CACHE: usize = 4096;

/// Opens the live index generation (`DATA_DIR/index` → `DATA_DIR/indexes/…`) and attaches
/// the query embedder. Returns the engine and its generation directory.
pub fn open_engine(
    cfg: &Config,
    embedder: Option<Arc<dyn Embedder>>,
    synonyms: Synonyms,
) -> anyhow::Result<(Arc<Engine>, std::path::PathBuf)> {
    let ecfg = engine_config(&cfg.tuning, embedder.as_ref(), synonyms);
    let dirs = indexer::IndexDirs::new(&cfg.data_dir);
    let dir = dirs.live().context("preparing the index directory")?;
    let (engine, outcome) = Engine::open(&dir, ecfg).context("opening index")?;
    tracing::info!(?outcome, dir = %dir.display(), "index opened");
    engine.set_embedder(embedder.map(|e| Arc::new(CachedEmbedder::new(e, QUERY_CACHE))));
    Ok((Arc::new(engine), dir))
}

/// The serving index of `serve`: the live generation with its indexer, ready for
/// [`indexer::Live::run`].
pub fn open_live(
    cfg: &Config,
    pool: PgPool,
    embedder: Option<Arc<dyn Embedder>>,
    synonyms: Synonyms,
) -> anyhow::Result<Arc<indexer::Live>> {
    let (engine, dir) = open_engine(cfg, embedder.clone(), synonyms)?;
    let indexer = Arc::new(indexer::Indexer::new(
        pool,
        engine,
        embedder,
        cfg.replica_id.clone(),
    ));
    Ok(indexer::Live::new(
        indexer,
        indexer::IndexDirs::new(&cfg.data_dir),
        dir,
    ))
}

/// The lead routes' state from configuration.
pub fn leads_state(cfg: &Config, pool: PgPool) -> api::lead_routes::LeadsState {
    let l = &cfg.leads;
    let mut s = api::lead_routes::LeadsState::new(pool, cfg.data_dir.clone());
    s.webhook_secret = l.webhook_secret.clone();
    s.amo_subdomain = l.amo_subdomain.clone();
    s.bot_token = l.bot_token.clone();
    s.bot_service_token = l.bot_service_token.clone();
    s.link_signing_key = l.link_signing_key.clone();
    s.max_attachment_bytes = l.max_attachment_bytes;
    s.limits = l.limits.clone();
    s.trusted_proxy_hops = l.trusted_proxy_hops;
    s
}

/// Starts the notification senders (when the bot's token is configured) and the carrier
/// pollers (CDEK when `CDEK_*` is configured). They stop when `shutdown` turns true.
pub fn spawn_notify_workers(
    cfg: &Config,
    pool: PgPool,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let l = &cfg.leads;
    let mut handles = Vec::new();
    match &l.bot_token {
        Some(token) if l.notify_workers > 0 => {
            let mut ncfg = leads::notify::NotifierConfig::new(&l.telegram_api_url, token);
            ncfg.workers = l.notify_workers;
            let notifier = Arc::new(leads::notify::Notifier::new(pool.clone(), ncfg));
            handles.extend(notifier.spawn(shutdown.clone()));
        }
        _ => tracing::warn!(
            "TELOXIDE_TOKEN not set or NOTIFY_WORKERS=0: notifications wait in Postgres"
        ),
    }
    if let (Some(base), Some(id), Some(secret)) =
        (&l.cdek_base_url, &l.cdek_client_id, &l.cdek_client_secret)
    {
        let cdek = leads::tracking::Cdek::new(leads::tracking::CdekConfig {
            base_url: base.clone(),
            client_id: id.clone(),
            client_secret: secret.clone(),
            timeout: std::time::Duration::from_secs(15),
        });
        let poller = Arc::new(leads::tracking::Poller::new(
            pool,
            cdek,
            std::time::Duration::from_secs(l.tracking_poll_secs),
        ));
        handles.push(tokio::spawn(poller.run(shutdown)));
    }
    handles
}

/// Starts the amoCRM outbox and passport workers when amoCRM is configured. Returns their
/// join handles (they stop when `shutdown` turns true).
pub fn spawn_lead_workers(
    cfg: &Config,
    pool: PgPool,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let Some(amo_cfg) = cfg.leads.amo()? else {
        tracing::warn!(
            "amoCRM is not configured (AMOCRM_BASE_URL): leads are stored and wait for it"
        );
        return Ok(Vec::new());
    };
    let amo = Arc::new(leads::amocrm::AmoClient::new(amo_cfg, pool.clone()));
    let sync = Arc::new(leads::sync::SyncWorker::new(
        pool.clone(),
        amo.clone(),
        leads::sync::SyncConfig {
            public_base_url: cfg.leads.public_base_url.clone(),
            link_signing_key: cfg.leads.link_signing_key.clone(),
            ..Default::default()
        },
    ));
    let mut handles = vec![tokio::spawn(sync.run(shutdown.clone()))];
    match (cfg.leads.serial_field_id, cfg.leads.product_field_id) {
        (Some(serial), Some(product)) => {
            let passport = Arc::new(leads::passport::PassportWorker::new(
                pool,
                amo,
                leads::passport::PassportConfig {
                    serial_field_id: serial,
                    product_field_id: product,
                    alert_after_attempts: 12,
                    lease: std::time::Duration::from_secs(120),
                },
            ));
            handles.push(tokio::spawn(passport.run(shutdown)));
        }
        _ => tracing::warn!(
            "AMOCRM_SERIAL_FIELD_ID / AMOCRM_PRODUCT_FIELD_ID not set: won deals are stored and wait"
        ),
    }
    Ok(handles)
}
