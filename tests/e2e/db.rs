//! Schema, change capture and import against real PostgreSQL.

use crate::helpers::*;
use sqlx::PgPool;

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn migrations_create_every_table(pool: PgPool) {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    for t in [
        "catalog_items",
        "catalog_changes",
        "embedding_cache",
        "indexer_replicas",
        "clients",
        "telegram_users",
        "machine_instances",
        "service_tickets",
        "service_ticket_events",
        "leads",
        "lead_attachments",
        "lead_sync_attempts",
        "crm_tokens",
        "crm_webhook_events",
        "orders",
        "order_lines",
        "maintenance_spend",
        "modernization_projects",
        "personal_offers",
        "shipments",
        "shipment_events",
        "kb_documents",
        "kb_document_models",
        "articles",
        "seo_meta",
        "catalog_filters",
        "search_synonyms",
        "seo_templates",
        "catalog_item_content",
    ] {
        assert!(tables.contains(&t.to_string()), "missing table {t}");
    }
    // Phones are stored only in E.164.
    let bad = sqlx::query("INSERT INTO clients (company, phone) VALUES ('x', '8 912 345 67 89')")
        .execute(&pool)
        .await;
    assert!(bad.is_err());
}

async fn changes(pool: &PgPool) -> Vec<(i64, String, String)> {
    sqlx::query_as("SELECT seq, doc_id, op FROM catalog_changes ORDER BY seq")
        .fetch_all(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn triggers_log_insert_update_delete_in_order(pool: PgPool) {
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool)
        .await
        .unwrap();
    listener.listen(indexer::CHANNEL).await.unwrap();
    sqlx::query("INSERT INTO catalog_items (id, kind, name, record_hash) VALUES ('A', 'spare_part', 'Вал', 'h1')")
        .execute(&pool).await.unwrap();
    sqlx::query("UPDATE catalog_items SET name = 'Вал шлицевой' WHERE id = 'A'")
        .execute(&pool)
        .await
        .unwrap();
    // An update that changes nothing is not a change.
    sqlx::query("UPDATE catalog_items SET name = 'Вал шлицевой' WHERE id = 'A'")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM catalog_items WHERE id = 'A'")
        .execute(&pool)
        .await
        .unwrap();
    let log = changes(&pool).await;
    let ops: Vec<(&str, &str)> = log
        .iter()
        .map(|(_, d, o)| (d.as_str(), o.as_str()))
        .collect();
    assert_eq!(ops, vec![("A", "upsert"), ("A", "upsert"), ("A", "delete")]);
    assert!(log.windows(2).all(|w| w[0].0 < w[1].0));
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), listener.recv())
        .await
        .expect("a notification arrives")
        .unwrap();
    assert_eq!(n.payload(), log[0].0.to_string());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn import_counts_inserts_updates_and_unchanged(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let s = app.import(&small_catalog(), false).await;
    assert_eq!(
        (s.inserted, s.updated, s.unchanged, s.rejected.len()),
        (7, 0, 0, 0)
    );
    let s = app.import(&small_catalog(), false).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 0, 7));
    let changed = small_catalog().replace("\"price_rub\":450", "\"price_rub\":470");
    let s = app.import(&changed, false).await;
    assert_eq!((s.inserted, s.updated, s.unchanged), (0, 1, 6));
    let price: f64 =
        sqlx::query_scalar("SELECT price_rub::float8 FROM catalog_items WHERE id = 'P-1'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(price, 470.0);
    // Only the one real change reached the change log after the first import.
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_changes")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 8);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn import_reports_bad_lines_and_keeps_good_ones(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let lines = [
        doc("X-1", "spare_part", "A1", "Первая", serde_json::json!({})),
        "{not json".to_string(),
        doc("X-2", "tool", "A2", "Вторая", serde_json::json!({})),
        String::new(),
        doc(
            "X-3",
            "spare_part",
            "A3",
            "Третья",
            serde_json::json!({"price_rub": -5}),
        ),
        doc(
            "X-4",
            "spare_part",
            "A4",
            "Четвёртая",
            serde_json::json!({}),
        ),
    ]
    .join("\n");
    let s = app.import(&lines, false).await;
    assert_eq!(s.inserted, 2);
    let rejected: Vec<usize> = s.rejected.iter().map(|r| r.line).collect();
    assert_eq!(rejected, vec![2, 3, 5]);
    assert!(s.rejected[0].reason.contains("JSON"));
    assert!(s.rejected[1].reason.contains("tool"));
    assert!(s.rejected[2].reason.contains("price_rub"));

    // --strict: any bad line and nothing at all is written.
    sqlx::query("DELETE FROM catalog_items")
        .execute(&pool)
        .await
        .unwrap();
    let s = app.import(&lines, true).await;
    assert!(s.aborted);
    assert_eq!(s.rejected.len(), 3);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM catalog_items")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 0);
    let good = [lines.lines().next().unwrap(), lines.lines().last().unwrap()].join("\n");
    let s = app.import(&good, true).await;
    assert!(!s.aborted);
    assert_eq!(s.inserted, 2);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn import_handles_a_repeated_id_in_one_file(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let lines = [
        doc(
            "D-1",
            "spare_part",
            "A1",
            "Старое имя",
            serde_json::json!({}),
        ),
        doc(
            "D-1",
            "spare_part",
            "A1",
            "Новое имя",
            serde_json::json!({}),
        ),
    ]
    .join("\n");
    let s = app.import(&lines, false).await;
    assert_eq!((s.inserted, s.updated), (1, 1));
    let name: String = sqlx::query_scalar("SELECT name FROM catalog_items WHERE id = 'D-1'")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(name, "Новое имя");
}
