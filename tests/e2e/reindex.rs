//! Reindex while serving, and a sync task killed in the middle of its work.

use crate::helpers::*;
use axum::body::Body;
use axum::http::Request;
use search_core::{Embedder, HashingEmbedder, TextKind};
use sqlx::PgPool;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

async fn import_generated(app: &TestApp, n: usize) {
    let jsonl: String = search_core::fixture::catalog(n, 11)
        .iter()
        .map(|d| serde_json::to_string(d).unwrap() + "\n")
        .collect();
    let summary = app.import(&jsonl, true).await;
    assert_eq!(summary.inserted, n as u64);
}

async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    for _ in 0..1200 {
        if cond().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn reindex_swaps_in_without_a_failed_search(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    import_generated(&app, 1500).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let serving = tokio::spawn(app.live.clone().run(rx));
    wait_until("the initial load", async || {
        app.get("/readyz").await.0 == 200
    })
    .await;
    let first_generation = app.live.generation();

    // Operator route: off without the token, refused with a wrong one.
    let post = |token: Option<&str>| {
        let mut req = Request::post("/api/v1/admin/reindex");
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.body(Body::empty()).unwrap()
    };
    let (status, v) = app.request(post(None)).await;
    assert_eq!(
        (status.as_u16(), v["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    let (status, _) = app.request(post(Some("wrong-token"))).await;
    assert_eq!(status, 401);

    // Searches keep running, through the router, for the whole reindex.
    let searching = Arc::new(AtomicBool::new(true));
    let searches = Arc::new(AtomicUsize::new(0));
    let router = app.router.clone();
    let searcher = {
        let (searching, searches) = (searching.clone(), searches.clone());
        tokio::spawn(async move {
            let mut failures = Vec::new();
            let queries = [
                "/api/v1/search?q=подшипник&mode=hybrid",
                "/api/v1/search?q=&kind=spare_part&limit=5",
                "/api/v1/search?q=16К20&mode=lexical",
            ];
            let mut i = 0;
            while searching.load(Ordering::Relaxed) {
                let uri = queries[i % queries.len()];
                i += 1;
                let res = tower::ServiceExt::oneshot(
                    router.clone(),
                    Request::get(uri).body(Body::empty()).unwrap(),
                )
                .await
                .unwrap();
                let status = res.status();
                let body = http_body_util::BodyExt::collect(res.into_body())
                    .await
                    .unwrap()
                    .to_bytes();
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                if status != 200 || v["total"].as_u64().unwrap_or(0) == 0 {
                    failures.push(format!("{uri}: {status} {v}"));
                }
                searches.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
            failures
        })
    };

    let (status, v) = app.request(post(Some(ADMIN_TOKEN))).await;
    assert_eq!(status, 202, "{v}");
    let (status, v) = app.request(post(Some(ADMIN_TOKEN))).await;
    assert_eq!(
        (status.as_u16(), v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "a second reindex while one runs is refused"
    );
    // Changes committed while the rebuild runs must reach the new index.
    sqlx::query(
        "INSERT INTO catalog_items (id, kind, sku, name, record_hash)
         VALUES ('NEW-1', 'spare_part', 'ZX-9001', 'Кольцо уплотнительное ZX-9001', 'h')",
    )
    .execute(&pool)
    .await
    .unwrap();
    wait_until("the reindex to finish", async || {
        let (_, v) = app.get("/api/v1/index/status").await;
        v["reindex"]["state"] != "running"
    })
    .await;
    let (_, v) = app.get("/api/v1/index/status").await;
    assert_eq!(v["reindex"]["state"], "done", "{v}");
    assert_eq!(v["ready"], true);
    // Anyone sees the generation's name; only an operator its place on disk.
    let public = v["reindex"]["generation"].as_str().unwrap().to_string();
    assert!(!public.contains('/') && !public.is_empty(), "{v}");
    let (_, v) = app
        .request(
            Request::get("/api/v1/index/status")
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let full = v["reindex"]["generation"].as_str().unwrap();
    assert!(full.starts_with('/') && full.ends_with(&public), "{v}");
    searching.store(false, Ordering::Relaxed);
    let failures = searcher.await.unwrap();
    assert!(
        failures.is_empty(),
        "searches failed during the reindex: {failures:?}"
    );
    assert!(searches.load(Ordering::Relaxed) > 10);

    let second_generation = app.live.generation();
    assert_ne!(first_generation, second_generation);
    assert_eq!(
        std::fs::canonicalize(app.dir.path().join("index")).unwrap(),
        second_generation,
        "the on-disk link names the new generation"
    );
    // The rebuilt index serves, follows the log, and holds exactly what Postgres holds.
    wait_until("the new document", async || {
        app.live.engine().snapshot().get("NEW-1").unwrap().is_some()
    })
    .await;
    sqlx::query(
        "UPDATE catalog_items SET name = 'Кольцо уплотнительное ZX-9001 NBR' WHERE id = 'NEW-1'",
    )
    .execute(&pool)
    .await
    .unwrap();
    wait_until("a change after the swap", async || {
        let (_, v) = app.search("q=nbr&mode=lexical").await;
        TestApp::ids(&v) == vec!["NEW-1"]
    })
    .await;
    let engine = app.live.engine();
    let snap = engine.snapshot();
    let mut indexed = snap
        .browse(
            &search_core::Filters::default(),
            snap.num_docs() as usize + 1,
        )
        .unwrap();
    indexed.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(indexed, in_postgres(&pool).await);
    stop.send(true).unwrap();
    serving.await.unwrap();
}

/// The hashing embedder, slowed down so that a batch takes long enough to be interrupted.
struct SlowEmbedder(HashingEmbedder);

impl Embedder for SlowEmbedder {
    fn model_id(&self) -> &str {
        self.0.model_id()
    }
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn embed(&self, texts: &[&str], kind: TextKind) -> search_core::Result<Vec<Vec<f32>>> {
        std::thread::sleep(Duration::from_millis(texts.len() as u64));
        self.0.embed(texts, kind)
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn sync_killed_mid_batch_resumes_with_nothing_lost_or_doubled(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let slow: Arc<dyn Embedder> = Arc::new(SlowEmbedder(HashingEmbedder::new(64)));
    let app = spawn_app_with(pool.clone(), Some(slow.clone()), dir).await;
    import_generated(&app, 300).await;
    app.sync().await;

    let (_stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(app.indexer.clone().run(rx));
    // Rounds of renames committed while the task applies them; it is aborted in the middle.
    let mut rng = search_core::fixture::Rng::new(3);
    for round in 0..8 {
        sqlx::query(
            "UPDATE catalog_items SET name = name || ' р' || $1::text,
                    price_rub = coalesce(price_rub, 0) + 1
             WHERE id IN (SELECT id FROM catalog_items ORDER BY md5(id || $1::text) LIMIT 150)",
        )
        .bind(round.to_string())
        .execute(&pool)
        .await
        .unwrap();
        if round == 4 {
            tokio::time::sleep(Duration::from_millis(20 + rng.below(120) as u64)).await;
            task.abort();
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let _ = task.await;
    // Restart on the same directory: resume at the persisted position.
    let TestApp {
        dir,
        engine,
        indexer,
        live,
        router,
        ..
    } = app;
    drop((router, live, indexer));
    // An engine write already handed to a blocking thread finishes (or not) atomically; wait
    // for it to let go of the index, as process exit would.
    wait_until("the aborted task's blocking work", async || {
        Arc::strong_count(&engine) == 1
    })
    .await;
    let persisted = engine.stats().applied_seq;
    drop(engine);
    let head: i64 = sqlx::query_scalar("SELECT max(seq) FROM catalog_changes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        persisted < head,
        "the kill must leave work behind ({persisted} of {head})"
    );
    let app = spawn_app_with(pool.clone(), Some(slow), dir).await;
    assert_eq!(app.engine.stats().applied_seq, persisted);
    // What `initial_load` does on a restart before it reports ready, one batch at a time.
    let mut gap = None;
    let mut consumed = 0;
    loop {
        let n = app.indexer.sync_once(&mut gap).await.unwrap();
        if n == 0 {
            break;
        }
        consumed += n as i64;
    }
    assert_eq!(
        consumed,
        head - persisted,
        "every entry after the persisted position is applied exactly once"
    );
    assert_eq!(app.engine.stats().applied_seq, head);
    app.indexer.initial_load().await.unwrap();
    assert_eq!(
        app.engine.stats().applied_seq,
        head,
        "nothing left to apply"
    );
    assert_eq!(app.indexed(), in_postgres(&pool).await);
}
