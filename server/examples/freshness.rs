//! Indexer benchmark harness (issue: indexer): freshness of single-document updates, bulk
//! update throughput, initial load with a warm embedding cache and restart-to-ready, on a
//! generated catalog in a dedicated database.
//!
//! `DATABASE_URL=postgres://stanok:stanok@127.0.0.1:5432/stanok_bench \
//!  cargo run --release -p server --example freshness -- 100000`
//!
//! The bulk of the catalog gets fixture vectors written into `embedding_cache` under the real
//! model id (embedding 100k documents takes about 35 minutes here); every document changed
//! during the measurement is embedded by the real model, as in production.

use search_core::{Embedder, Engine};
use sqlx::Row;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let cfg = server::Config::from_env()?;
    let pool = server::connect(&cfg.database_url).await?;
    let embedder = server::load_embedder(&cfg).ok_or_else(|| anyhow::anyhow!("model missing"))?;
    let docs = server::harness::seed_fixture_catalog(&pool, n, 77, embedder.as_ref()).await?;

    let dir = tempfile::tempdir()?;
    let open = |embedder: Arc<dyn Embedder>| -> anyhow::Result<Arc<Engine>> {
        let ecfg = server::engine_config(
            &cfg.tuning,
            Some(&embedder),
            search_core::Synonyms::default(),
        );
        let (engine, _) = Engine::open(&dir.path().join("index"), ecfg)?;
        engine.set_embedder(Some(Arc::new(search_core::CachedEmbedder::new(
            embedder, 256,
        ))));
        Ok(Arc::new(engine))
    };
    let engine = open(embedder.clone())?;
    let indexer = Arc::new(indexer::Indexer::new(
        pool.clone(),
        engine.clone(),
        Some(embedder.clone()),
        "bench",
    ));
    let t = Instant::now();
    indexer.initial_load().await?;
    let load = t.elapsed().as_secs_f64();
    println!(
        "initial load with warm embedding cache: {n} docs in {load:.1}s = {:.0} docs/s (embedded {})",
        n as f64 / load,
        indexer.status.embedded.load(std::sync::atomic::Ordering::Relaxed)
    );

    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(indexer.clone().run(rx));
    // Freshness: commit a name change, poll the snapshot until it shows.
    let mut lat = Vec::new();
    for i in 0..200 {
        let id = &docs[(i * 7919) % n].id;
        let name = format!("Обновлённая позиция {i} для проверки свежести");
        sqlx::query("UPDATE catalog_items SET name = $1 WHERE id = $2")
            .bind(&name)
            .bind(id)
            .execute(&pool)
            .await?;
        let t = Instant::now();
        loop {
            if engine.snapshot().get(id)?.is_some_and(|d| d.name == name) {
                break;
            }
            if t.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("change {i} not visible after 30 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "freshness over 200 updates (incl. embedding the new name): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        pct(&mut lat, 0.5),
        pct(&mut lat, 0.99),
        pct(&mut lat, 1.0)
    );

    // Bulk price update of 10k rows: text unchanged, so nothing to embed.
    let t = Instant::now();
    let res = sqlx::query("UPDATE catalog_items SET price_rub = price_rub + 1 WHERE id IN (SELECT id FROM catalog_items ORDER BY id LIMIT 10000)")
        .execute(&pool)
        .await?;
    let target: i64 = sqlx::query("SELECT max(seq) AS m FROM catalog_changes")
        .fetch_one(&pool)
        .await?
        .try_get("m")?;
    while engine.stats().applied_seq < target {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let bulk = t.elapsed().as_secs_f64();
    println!(
        "bulk price update: {} rows committed and applied in {bulk:.2}s = {:.0} changes/s",
        res.rows_affected(),
        res.rows_affected() as f64 / bulk
    );
    stop.send(true)?;
    task.await?;
    drop(indexer);
    drop(engine);

    // Restart: reopen the directory (vectors reloaded, graph rebuilt) and check readiness.
    let t = Instant::now();
    let engine = open(embedder.clone())?;
    let indexer = indexer::Indexer::new(pool.clone(), engine.clone(), Some(embedder), "bench");
    indexer.initial_load().await?;
    println!(
        "restart to ready with {} docs: {:.2}s, embedded {}",
        engine.stats().documents,
        t.elapsed().as_secs_f64(),
        indexer
            .status
            .embedded
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}
