//! The indexer against real PostgreSQL: visibility of changes, convergence, restart, cache.

use crate::helpers::*;
use sqlx::PgPool;
use std::sync::atomic::Ordering;

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn insert_update_delete_become_visible(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    let (_, v) = app.search("q=6205-2RS&mode=lexical").await;
    assert_eq!(TestApp::ids(&v)[0], "P-1");

    sqlx::query("UPDATE catalog_items SET name = 'Подшипник закрытый 6205-2RS SKF Explorer' WHERE id = 'P-1'")
        .execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO catalog_items (id, kind, sku, name, record_hash) VALUES ('P-9', 'spare_part', 'LC1D25', 'Контактор LC1D25', 'x')")
        .execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM catalog_items WHERE id = 'P-5'")
        .execute(&pool)
        .await
        .unwrap();
    app.sync().await;
    let (_, v) = app.search("q=explorer&mode=lexical").await;
    assert_eq!(TestApp::ids(&v), vec!["P-1"]);
    let (_, v) = app.search("q=контактор").await;
    assert_eq!(TestApp::ids(&v)[0], "P-9");
    let (_, v) = app.search("q=ремень+клиновой&mode=lexical").await;
    assert!(!TestApp::ids(&v).contains(&"P-5".to_string()));
    assert_eq!(app.indexed(), in_postgres(&pool).await);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn interleaved_changes_converge_to_postgres(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.sync().await;
    let mut rng = search_core::fixture::Rng::new(7);
    for i in 0..1000 {
        let id = format!("C-{}", rng.below(120));
        match rng.below(4) {
            0 => {
                sqlx::query("DELETE FROM catalog_items WHERE id = $1")
                    .bind(&id)
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            _ => {
                sqlx::query(
                    "INSERT INTO catalog_items (id, kind, sku, name, price_rub, in_stock, record_hash)
                     VALUES ($1, 'spare_part', $2, $3, $4, $5, 'h')
                     ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, price_rub = EXCLUDED.price_rub, in_stock = EXCLUDED.in_stock",
                )
                .bind(&id)
                .bind(format!("SKU-{}", rng.below(50)))
                .bind(format!("Деталь номер {i}"))
                .bind(rng.below(10_000) as f64)
                .bind(rng.below(20) as i32)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
        if i % 250 == 0 {
            app.sync().await; // apply part of the way, as a live system would
        }
    }
    app.sync().await;
    assert_eq!(app.indexed(), in_postgres(&pool).await);
    assert_eq!(
        app.indexer.status.pending_changes.load(Ordering::Relaxed),
        0
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn restart_resumes_from_the_persisted_position_without_reembedding(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_path_buf();
    let app = spawn_app_with(pool.clone(), Some(hashing()), dir).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    assert_eq!(app.indexer.status.embedded.load(Ordering::Relaxed), 7);
    let seq = app.engine.stats().applied_seq;
    assert!(seq > 0);
    // Stop, change Postgres meanwhile, start again on the same directory.
    let TestApp {
        dir,
        engine,
        indexer,
        live,
        router,
        ..
    } = app;
    drop((router, live, indexer, engine));
    sqlx::query("UPDATE catalog_items SET price_rub = 1 WHERE id = 'P-2'")
        .execute(&pool)
        .await
        .unwrap();
    let app = spawn_app_with(pool.clone(), Some(hashing()), dir).await;
    assert_eq!(
        app.engine.stats().applied_seq,
        seq,
        "position survives the restart"
    );
    assert_eq!(app.engine.stats().documents, 7);
    app.sync().await;
    assert_eq!(
        app.engine.stats().applied_seq,
        seq + 1,
        "exactly the one new change was applied"
    );
    // Price-only change: same text, so nothing was embedded again.
    assert_eq!(app.indexer.status.embedded.load(Ordering::Relaxed), 0);
    assert_eq!(app.engine.stats().without_vector, 0);
    assert_eq!(app.indexed(), in_postgres(&pool).await);
    assert!(path.join("index").exists());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn reload_reuses_cached_embeddings(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    let cached: i64 = sqlx::query_scalar("SELECT count(*) FROM embedding_cache")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(cached, 7);
    // A second, empty index directory loads the same catalog from the cache.
    let app2 = spawn_app(pool.clone()).await;
    app2.sync().await;
    assert_eq!(app2.indexer.status.embedded.load(Ordering::Relaxed), 0);
    assert_eq!(
        app2.indexer.status.embed_cache_hits.load(Ordering::Relaxed),
        7
    );
    assert_eq!(app2.engine.stats().without_vector, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn without_a_model_documents_are_lexical_and_counted(pool: PgPool) {
    let app = spawn_app_with(pool.clone(), None, tempfile::tempdir().unwrap()).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    assert_eq!(app.engine.stats().without_vector, 7);
    let (status, v) = app.get("/api/v1/index/status").await;
    assert_eq!(status, 200);
    assert_eq!(v["documents_without_vector"], 7);
    let (_, v) = app.search("q=SFU1605").await;
    assert_eq!(
        v["mode"], "lexical",
        "hybrid degrades to lexical without a model"
    );
    assert_eq!(TestApp::ids(&v)[0], "P-3");
    let (status, v) = app.search("q=SFU1605&mode=semantic").await;
    assert_eq!(status, 503);
    assert_eq!(v["error"]["code"], "semantic_unavailable");
}

async fn wait_for(app: &TestApp, mut cond: impl FnMut(&TestApp) -> bool) -> bool {
    for _ in 0..200 {
        if cond(app) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn background_sync_follows_notifications_and_survives_dropped_connections(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(app.indexer.clone().run(rx));
    assert!(
        wait_for(&app, |a| a.engine.stats().documents == 7).await,
        "initial load"
    );

    sqlx::query("UPDATE catalog_items SET name = 'Подшипник керамический 6205' WHERE id = 'P-2'")
        .execute(&pool)
        .await
        .unwrap();
    assert!(
        wait_for(&app, |a| a
            .engine
            .snapshot()
            .get("P-2")
            .unwrap()
            .unwrap()
            .name
            .contains("керамический"))
        .await,
        "a committed change becomes visible without anyone calling sync"
    );

    // Kill every other client connection of this database (the listener among them); not
    // autovacuum workers, which only a superuser may end.
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND backend_type = 'client backend' AND usename = current_user",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO catalog_items (id, kind, sku, name, record_hash) VALUES ('P-77', 'spare_part', 'X77', 'Фильтр гидравлический', 'h')")
        .execute(&pool).await.unwrap();
    assert!(
        wait_for(&app, |a| a.engine.snapshot().get("P-77").unwrap().is_some()).await,
        "sync resumes after the connection drop"
    );
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(app.indexed(), in_postgres(&pool).await);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn two_replicas_converge_and_pruning_waits_for_the_slower(pool: PgPool) {
    let a = spawn_replica(
        pool.clone(),
        Some(hashing()),
        tempfile::tempdir().unwrap(),
        "a",
    )
    .await;
    let b = spawn_replica(
        pool.clone(),
        Some(hashing()),
        tempfile::tempdir().unwrap(),
        "b",
    )
    .await;
    a.import(&small_catalog(), false).await;
    a.sync().await;
    b.sync().await;
    let b_pos = b.engine.stats().applied_seq;
    b.indexer.heartbeat().await.unwrap();
    // Only A follows the next changes.
    sqlx::query("UPDATE catalog_items SET in_stock = 99 WHERE id = 'P-3'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM catalog_items WHERE id = 'P-4'")
        .execute(&pool)
        .await
        .unwrap();
    a.sync().await;
    a.indexer.heartbeat().await.unwrap();
    let left: Vec<i64> = sqlx::query_scalar("SELECT seq FROM catalog_changes ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(
        left.iter().all(|s| *s > b_pos),
        "entries every replica applied are pruned"
    );
    assert_eq!(left.len(), 2, "entries B still needs are kept: {left:?}");
    b.sync().await;
    b.indexer.heartbeat().await.unwrap();
    let truth = in_postgres(&pool).await;
    assert_eq!(a.indexed(), truth);
    assert_eq!(b.indexed(), truth);
    let left: Vec<i64> = sqlx::query_scalar("SELECT seq FROM catalog_changes")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        left,
        vec![a.engine.stats().applied_seq],
        "once both applied everything, only the newest entry is kept"
    );

    // A replica joining now loads from scratch at the newest position: the next change is
    // applied on the first pass, not held back as a gap in the log.
    let c = spawn_replica(
        pool.clone(),
        Some(hashing()),
        tempfile::tempdir().unwrap(),
        "c",
    )
    .await;
    c.indexer.initial_load().await.unwrap();
    assert_eq!(c.engine.stats().applied_seq, left[0]);
    assert!(c
        .indexer
        .status
        .ready
        .load(std::sync::atomic::Ordering::Relaxed));
    sqlx::query("UPDATE catalog_items SET in_stock = 7 WHERE id = 'P-3'")
        .execute(&pool)
        .await
        .unwrap();
    let mut gap = None;
    assert_eq!(c.indexer.sync_once(&mut gap).await.unwrap(), 1);
    assert!(gap.is_none(), "no gap seen after the pruned log");
    assert_eq!(c.indexed(), in_postgres(&pool).await);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_restarted_replica_is_ready_only_after_catching_up(pool: PgPool) {
    let a = spawn_replica(
        pool.clone(),
        Some(hashing()),
        tempfile::tempdir().unwrap(),
        "a",
    )
    .await;
    a.import(&small_catalog(), false).await;
    a.sync().await;
    a.indexer.heartbeat().await.unwrap();
    let before = a.engine.stats().applied_seq;
    // Stop it, keeping its data directory.
    let dir = a.stop();
    // Changes while it is away.
    sqlx::query("UPDATE catalog_items SET in_stock = 42 WHERE id = 'P-3'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM catalog_items WHERE id = 'P-4'")
        .execute(&pool)
        .await
        .unwrap();
    let back = spawn_replica(pool.clone(), Some(hashing()), dir, "a").await;
    assert_eq!(
        back.engine.stats().applied_seq,
        before,
        "reopened at its old position"
    );
    back.indexer.initial_load().await.unwrap();
    assert!(back
        .indexer
        .status
        .ready
        .load(std::sync::atomic::Ordering::Relaxed));
    assert!(back.engine.stats().applied_seq > before);
    assert_eq!(
        back.indexed(),
        in_postgres(&pool).await,
        "ready means caught up"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_index_ahead_of_a_restored_database_reloads(pool: PgPool) {
    let a = spawn_replica(
        pool.clone(),
        Some(hashing()),
        tempfile::tempdir().unwrap(),
        "a",
    )
    .await;
    a.import(&small_catalog(), false).await;
    a.sync().await;
    let applied = a.engine.stats().applied_seq;
    assert!(applied > 1);
    let dir = a.stop();
    // A restored backup: an older log whose sequence starts below this index's position, and
    // a catalog that differs from what the index holds.
    sqlx::query("TRUNCATE catalog_changes")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("SELECT setval(pg_get_serial_sequence('catalog_changes', 'seq'), 1, false)")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE catalog_items SET name = 'Восстановленный подшипник' WHERE id = 'P-3'")
        .execute(&pool)
        .await
        .unwrap();
    let back = spawn_replica(pool.clone(), Some(hashing()), dir, "a").await;
    assert_eq!(back.engine.stats().applied_seq, applied);
    back.indexer.initial_load().await.unwrap();
    assert_eq!(
        back.engine.stats().applied_seq,
        1,
        "reloaded at the database's position"
    );
    assert_eq!(back.indexed(), in_postgres(&pool).await);
}
