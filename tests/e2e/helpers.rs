//! Test application: a fresh database (given by `#[sqlx::test]`), an engine in a temp dir, the
//! indexer and the router, with one method per endpoint.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use search_core::{CatalogDoc, Embedder, Engine, HashingEmbedder};
use server::api::{self, AppState, HttpOptions};
use sqlx::PgPool;
use std::sync::Arc;
use tower::ServiceExt;

/// Operator token of every test app.
pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const WEBHOOK_SECRET: &str = "hook-0f3c9a7e5b1d4c2a8e6f";
pub const BOT_TOKEN: &str = "123456:TEST-bot-token";
pub const BOT_SERVICE_TOKEN: &str = "bot-service-token";

pub struct TestApp {
    pub pool: PgPool,
    pub engine: Arc<Engine>,
    pub indexer: Arc<indexer::Indexer>,
    pub live: Arc<indexer::Live>,
    pub content: Arc<server::content::Content>,
    pub router: axum::Router,
    pub dir: tempfile::TempDir,
}

/// The embedder most tests use: deterministic and model-free. Tests of the ONNX model itself
/// live in `embed.rs`.
pub fn hashing() -> Arc<dyn Embedder> {
    Arc::new(HashingEmbedder::new(64))
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, Some(hashing()), tempfile::tempdir().unwrap()).await
}

pub async fn spawn_app_with(
    pool: PgPool,
    embedder: Option<Arc<dyn Embedder>>,
    dir: tempfile::TempDir,
) -> TestApp {
    spawn_replica(pool, embedder, dir, "test").await
}

/// Limits so high no ordinary test meets them (the limit tests set their own).
pub fn generous_limits() -> leads::limits::Limits {
    leads::limits::Limits {
        leads_per_caller: 1_000_000,
        leads_per_phone: 1_000_000,
        uploads_per_caller: 1_000_000,
        ..Default::default()
    }
}

pub async fn spawn_replica(
    pool: PgPool,
    embedder: Option<Arc<dyn Embedder>>,
    dir: tempfile::TempDir,
    replica_id: &str,
) -> TestApp {
    spawn_limited(pool, embedder, dir, replica_id, generous_limits()).await
}

pub async fn spawn_limited(
    pool: PgPool,
    embedder: Option<Arc<dyn Embedder>>,
    dir: tempfile::TempDir,
    replica_id: &str,
    limits: leads::limits::Limits,
) -> TestApp {
    let synonyms = server::load_synonyms(Some(&pool)).await.unwrap();
    let cfg = server::engine_config(&Default::default(), embedder.as_ref(), synonyms);
    let dirs = indexer::IndexDirs::new(dir.path());
    let generation = dirs.live().unwrap();
    let (engine, _) = Engine::open(&generation, cfg).unwrap();
    engine.set_embedder(
        embedder
            .clone()
            .map(|e| Arc::new(search_core::CachedEmbedder::new(e, 64))),
    );
    let engine = Arc::new(engine);
    let indexer = Arc::new(indexer::Indexer::new(
        pool.clone(),
        engine.clone(),
        embedder,
        replica_id,
    ));
    let live = indexer::Live::new(indexer.clone(), dirs, generation);
    let mut leads =
        server::api::lead_routes::LeadsState::new(pool.clone(), dir.path().to_path_buf());
    leads.webhook_secret = Some(WEBHOOK_SECRET.to_string());
    leads.amo_subdomain = Some("stanki".to_string());
    leads.bot_token = Some(BOT_TOKEN.to_string());
    leads.bot_service_token = Some(BOT_SERVICE_TOKEN.to_string());
    leads.link_signing_key = Some("link-key".to_string());
    leads.max_attachment_bytes = 64 * 1024;
    leads.limits = limits;
    let content = server::content::Content::load(
        pool.clone(),
        dir.path().join("cms-files"),
        dir.path().join("media-variants"),
    )
    .await
    .unwrap();
    let state = AppState::new(live.clone(), Some(ADMIN_TOKEN.to_string()))
        .with_leads(leads)
        .with_content(content.clone());
    let router = api::router(state, &HttpOptions::default());
    TestApp {
        pool,
        engine,
        indexer,
        live,
        content,
        router,
        dir,
    }
}

pub fn doc(id: &str, kind: &str, sku: &str, name: &str, extra: serde_json::Value) -> String {
    let mut v = serde_json::json!({
        "id": id, "kind": kind, "sku": sku, "name": name, "brand": "", "model": "",
        "category": "", "description": "", "attributes": {}, "compatible_models": [],
        "price_rub": 1000.0, "in_stock": 1
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        for (k, val) in e {
            o.insert(k.clone(), val.clone());
        }
    }
    v.to_string()
}

/// A small fixed catalog with the hard cases (codes, Cyrillic models, compatibility).
pub fn small_catalog() -> String {
    [
        doc("M-1", "product", "16K20-710", "Токарно-винторезный станок 16К20 РМЦ 710 мм",
            serde_json::json!({"brand": "Красный пролетарий", "model": "16К20", "category": "Токарные станки",
                               "description": "Универсальный токарный станок для точения и нарезания резьб.", "price_rub": 1729000, "in_stock": 0})),
        doc("M-2", "product", "VF2-2024", "Вертикальный обрабатывающий центр Haas VF-2",
            serde_json::json!({"brand": "Haas", "model": "VF-2", "category": "Обрабатывающие центры",
                               "description": "Вертикальный фрезерный центр с ЧПУ Haas.", "price_rub": 9800000})),
        doc("P-1", "spare_part", "6205-2RS", "Подшипник шариковый 6205-2RS SKF",
            serde_json::json!({"brand": "SKF", "model": "6205", "category": "Подшипники",
                               "description": "Радиальный шарикоподшипник для шпинделя.", "compatible_models": ["16К20"], "price_rub": 450, "in_stock": 12})),
        doc("P-2", "spare_part", "6205-2Z", "Подшипник шариковый 6205-2Z FAG",
            serde_json::json!({"brand": "FAG", "model": "6205", "category": "Подшипники",
                               "description": "Подшипник с металлическими шайбами.", "price_rub": 390, "in_stock": 0})),
        doc("P-3", "spare_part", "SFU1605-600", "Шарико-винтовая пара SFU1605 600 мм",
            serde_json::json!({"brand": "HIWIN", "model": "SFU1605", "category": "ШВП и винтовые пары",
                               "description": "Винт с гайкой для привода подачи по оси X.", "compatible_models": ["VF-2"], "price_rub": 15800, "in_stock": 3})),
        doc("P-4", "spare_part", "1FK7042-5AF71", "Серводвигатель Siemens 1FK7042-5AF71",
            serde_json::json!({"brand": "Siemens", "model": "1FK7", "category": "Серводвигатели",
                               "description": "Синхронный серводвигатель подачи.", "compatible_models": ["VF-2", "16К20"], "price_rub": 98000, "in_stock": 1})),
        doc("P-5", "spare_part", "B-1600", "Ремень клиновой B-1600 Gates",
            serde_json::json!({"brand": "Gates", "model": "B", "category": "Приводные ремни",
                               "description": "Клиновой ремень главного привода.", "compatible_models": ["16К20"], "price_rub": null, "in_stock": 40})),
    ]
    .join("\n")
}

impl TestApp {
    pub async fn import(&self, jsonl: &str, strict: bool) -> server::import::ImportSummary {
        server::import::import(
            &self.pool,
            tokio::io::BufReader::new(jsonl.as_bytes()),
            strict,
        )
        .await
        .unwrap()
    }

    /// Stops this replica (engine, indexer, routes) and hands back its data directory, as a
    /// process that exits leaves its volume behind.
    pub fn stop(self) -> tempfile::TempDir {
        let TestApp {
            dir,
            pool: _,
            engine,
            indexer,
            live,
            content,
            router,
        } = self;
        drop((router, content, live, indexer, engine));
        dir
    }

    /// Loads (first time) and applies every pending change.
    pub async fn sync(&self) {
        self.indexer.initial_load().await.unwrap();
        let mut gap = None;
        while self.indexer.sync_once(&mut gap).await.unwrap() > 0 {}
    }

    pub async fn request(&self, req: Request<Body>) -> (StatusCode, serde_json::Value) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let v = serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, v)
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, serde_json::Value) {
        self.request(Request::get(uri).body(Body::empty()).unwrap())
            .await
    }

    pub async fn post_json(&self, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        self.request(
            Request::post(uri)
                .header("content-type", "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    pub async fn search(&self, query: &str) -> (StatusCode, serde_json::Value) {
        self.get(&format!("/api/v1/search?{query}")).await
    }

    pub fn ids(v: &serde_json::Value) -> Vec<String> {
        v["hits"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|h| h["id"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every document the index holds.
    pub fn indexed(&self) -> Vec<CatalogDoc> {
        let snap = self.engine.snapshot();
        let mut docs = snap
            .browse(
                &search_core::Filters::default(),
                snap.num_docs() as usize + 1,
            )
            .unwrap();
        docs.sort_by(|a, b| a.id.cmp(&b.id));
        docs
    }
}

/// Every document Postgres holds, as the indexer reads it.
pub async fn in_postgres(pool: &PgPool) -> Vec<CatalogDoc> {
    let sql = format!(
        "SELECT {} FROM catalog_items ORDER BY id",
        indexer::DOC_COLUMNS
    );
    sqlx::query(&sql)
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|r| indexer::row_to_doc(r).unwrap())
        .collect()
}

/// A customer company with its phone (E.164).
pub async fn client(pool: &PgPool, company: &str, phone: &str) -> i64 {
    sqlx::query_scalar("INSERT INTO clients (company, phone) VALUES ($1, $2) RETURNING id")
        .bind(company)
        .bind(phone)
        .fetch_one(pool)
        .await
        .unwrap()
}
