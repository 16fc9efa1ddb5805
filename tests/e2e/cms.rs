//! CMS content as the server reads it from Postgres, with no Directus running: product texts
//! and the ownership rule against the import, the journal, SEO meta, the filter configuration
//! and synonyms. (The same flows through the real Directus: `web/e2e/cms.test.ts`.)

use crate::helpers::*;
use axum::http::StatusCode;
use sqlx::PgPool;
use std::time::{Duration, Instant};

async fn page(app: &TestApp, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = crate::site::page(&app.router, uri).await;
    (status, body)
}

async fn app(pool: PgPool) -> TestApp {
    let app = spawn_app(pool).await;
    app.import(&small_catalog(), true).await;
    app.sync().await;
    app
}

fn title(html: &str) -> &str {
    let a = html.find("<title>").expect("a title") + "<title>".len();
    &html[a..a + html[a..].find("</title>").unwrap()]
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.unwrap();
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_cms_product_text_wins_over_the_import_and_survives_a_reimport(pool: PgPool) {
    let app = app(pool).await;
    exec(
        &app.pool,
        "INSERT INTO catalog_item_content (item_id, name, description)
         VALUES ('P-1', 'Подшипник шпинделя 6205-2RS для 16К20', 'Закрытый подшипник передней опоры шпинделя.')",
    )
    .await;
    app.sync().await;
    let (_, v) = app.search("q=передней+опоры&mode=lexical").await;
    assert_eq!(
        TestApp::ids(&v).first().map(String::as_str),
        Some("P-1"),
        "{v}"
    );
    assert_eq!(
        v["hits"][0]["name"],
        "Подшипник шпинделя 6205-2RS для 16К20"
    );
    let (_, html) = page(&app, "/p/P-1").await;
    assert!(
        html.contains(
            "<h1 class=\"mt-1 text-2xl font-semibold\">Подшипник шпинделя 6205-2RS для 16К20</h1>"
        ),
        "{html}"
    );

    // The same source file again: nothing imported changes, the CMS text stays.
    let summary = app.import(&small_catalog(), true).await;
    assert_eq!(summary.updated, 0, "{summary:?}");
    app.sync().await;
    let (_, item) = app.get("/api/v1/catalog/P-1").await;
    assert_eq!(item["name"], "Подшипник шпинделя 6205-2RS для 16К20");

    // A changed price from the import is applied; the CMS name is still shown.
    let changed = small_catalog().replace("\"price_rub\":450", "\"price_rub\":470");
    assert_ne!(changed, small_catalog());
    app.import(&changed, true).await;
    app.sync().await;
    let (_, item) = app.get("/api/v1/catalog/P-1").await;
    assert_eq!(
        (item["name"].as_str(), item["price_rub"].as_f64()),
        (Some("Подшипник шпинделя 6205-2RS для 16К20"), Some(470.0))
    );

    // Clearing the CMS row brings the imported text back.
    exec(
        &app.pool,
        "DELETE FROM catalog_item_content WHERE item_id = 'P-1'",
    )
    .await;
    app.sync().await;
    let (_, item) = app.get("/api/v1/catalog/P-1").await;
    assert_eq!(item["name"], "Подшипник шариковый 6205-2RS SKF");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_journal_shows_published_articles_only_with_their_meta_and_sitemap_entry(pool: PgPool) {
    let app = app(pool).await;
    exec(
        &app.pool,
        "INSERT INTO articles (slug, title, summary, body, status) VALUES
         ('smazka-shpindelya', 'Как смазывать шпиндель 16К20', 'Регламент смазки передней бабки.',
          E'## Когда менять масло\\n\\nРаз в **500 часов**.\\n\\n<script>alert(1)</script>', 'draft')",
    )
    .await;
    assert_eq!(
        page(&app, "/journal/smazka-shpindelya").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, sitemap) = page(&app, "/sitemap.xml").await;
    assert!(!sitemap.contains("/journal"), "{sitemap}");

    exec(
        &app.pool,
        "UPDATE articles SET status = 'published' WHERE slug = 'smazka-shpindelya'",
    )
    .await;
    let (status, html) = page(&app, "/journal/smazka-shpindelya").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(title(&html), "Как смазывать шпиндель 16К20 | Станок");
    assert!(
        html.contains(r#"<meta name="description" content="Регламент смазки передней бабки.">"#),
        "{html}"
    );
    assert!(html
        .contains(r#"<link rel="canonical" href="http://shop.test/journal/smazka-shpindelya">"#));
    assert!(
        html.contains("<h2>Когда менять масло</h2>") && html.contains("<strong>500 часов</strong>"),
        "{html}"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;") && !html.contains("<script>alert"),
        "{html}"
    );
    let (_, list) = page(&app, "/journal").await;
    assert!(
        list.contains(r#"href="/journal/smazka-shpindelya""#),
        "{list}"
    );
    let (_, sitemap) = page(&app, "/sitemap.xml").await;
    assert!(
        sitemap.contains("<loc>http://shop.test/journal/smazka-shpindelya</loc>"),
        "{sitemap}"
    );
    assert!(
        sitemap.contains("<loc>http://shop.test/journal</loc>"),
        "{sitemap}"
    );

    // The article's own SEO fields win; a date in the future hides it again.
    exec(&app.pool, "UPDATE articles SET seo_title = 'Смазка шпинделя: регламент', seo_description = 'Коротко о смазке.'").await;
    let (_, html) = page(&app, "/journal/smazka-shpindelya").await;
    assert_eq!(title(&html), "Смазка шпинделя: регламент");
    assert!(html.contains(r#"<meta name="description" content="Коротко о смазке.">"#));
    exec(
        &app.pool,
        "UPDATE articles SET published_at = now() + interval '1 day'",
    )
    .await;
    assert_eq!(
        page(&app, "/journal/smazka-shpindelya").await.0,
        StatusCode::NOT_FOUND
    );
    assert!(!page(&app, "/journal").await.1.contains("smazka-shpindelya"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn seo_meta_comes_from_the_path_then_the_page_type_then_generated_text(pool: PgPool) {
    let app = app(pool).await;
    exec(
        &app.pool,
        "INSERT INTO seo_templates (page_type, title, description) VALUES
           ('spare_part', '{name} — купить, артикул {sku}', 'Запчасть {brand} {name}: {price}.'),
           ('category', '{category}: каталог и цены', '')",
    )
    .await;
    exec(
        &app.pool,
        "INSERT INTO seo_meta (path, title, description, keywords, noindex) VALUES
           ('/p/P-2', 'Подшипник 6205-2Z FAG со склада', 'Свой текст.', 'подшипник, 6205', true)",
    )
    .await;
    exec(&app.pool, "INSERT INTO catalog_item_content (item_id, seo_title) VALUES ('P-4', 'Серводвигатель 1FK7 в наличии')").await;
    app.content.reload().await.unwrap();

    let (_, html) = page(&app, "/p/P-1").await;
    assert_eq!(
        title(&html),
        "Подшипник шариковый 6205-2RS SKF — купить, артикул 6205-2RS"
    );
    assert!(
        html.contains("content=\"Запчасть SKF Подшипник шариковый 6205-2RS SKF: 450\u{a0}₽.\""),
        "{html}"
    );
    let (_, html) = page(&app, "/p/P-2").await;
    assert_eq!(title(&html), "Подшипник 6205-2Z FAG со склада");
    assert!(html.contains(r#"<meta name="keywords" content="подшипник, 6205">"#));
    assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
    let (_, html) = page(&app, "/p/P-4").await;
    assert_eq!(title(&html), "Серводвигатель 1FK7 в наличии");
    // A machine has no template: generated text.
    let (_, html) = page(&app, "/p/M-2").await;
    assert!(
        title(&html).starts_with("Вертикальный обрабатывающий центр Haas VF-2 — "),
        "{}",
        title(&html)
    );
    let (_, html) = page(
        &app,
        "/c/%D0%9F%D0%BE%D0%B4%D1%88%D0%B8%D0%BF%D0%BD%D0%B8%D0%BA%D0%B8",
    )
    .await;
    assert_eq!(title(&html), "Подшипники: каталог и цены");
}

/// Waits up to `limit` for `check` to hold, polling every 20 ms; returns the time it took.
async fn within<F, Fut>(limit: Duration, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn filter_and_synonym_edits_reach_search_without_a_restart(pool: PgPool) {
    let app = app(pool).await;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(app.content.clone().run(app.live.clone(), stopped));
    let (_, v) = app.search("q=подшипник").await;
    let fields: Vec<&str> = v["filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "kind",
            "in_stock",
            "price",
            "compatible_with",
            "category",
            "brand"
        ]
    );
    assert!(v["facets"]["brand"].is_array());

    exec(
        &app.pool,
        "INSERT INTO catalog_filters (field, label, position, enabled) VALUES
           ('brand', 'Бренд', 1, true), ('category', 'Раздел', 2, true), ('kind', 'Тип', 3, false)",
    )
    .await;
    // The notification applies it at once (measured: tens of ms); the 30 s poll is only the
    // safety net. The bound is loose because the suite shares two cores with other tests.
    let took = within(Duration::from_secs(5), || async {
        let (_, v) = app.search("q=подшипник").await;
        v["filters"] == serde_json::json!([{"field": "brand", "label": "Бренд"}, {"field": "category", "label": "Раздел"}])
            && v["facets"].get("kind").is_none()
            && v["facets"]["brand"].is_array()
    })
    .await;
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(1)),
        "filters not applied: {took:?}"
    );

    // An unknown word finds nothing until a manager declares it a synonym.
    let (_, v) = app.search("q=винтопара&mode=lexical").await;
    assert!(!TestApp::ids(&v).contains(&"P-3".to_string()), "{v}");
    exec(&app.pool, "INSERT INTO search_synonyms (term, synonyms) VALUES ('винтопара', 'шарико-винтовая пара, ball screw')").await;
    let took = within(Duration::from_secs(5), || async {
        let (_, v) = app.search("q=винтопара&mode=lexical").await;
        TestApp::ids(&v).first().map(String::as_str) == Some("P-3")
    })
    .await;
    assert!(
        took.is_some_and(|t| t < Duration::from_secs(1)),
        "synonym not applied: {took:?}"
    );
    let _ = stop.send(true);
    task.await.unwrap();
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn without_directus_pictures_are_absent_and_pages_still_render(pool: PgPool) {
    let app = app(pool).await;
    let id = "0b5a4a52-6a44-4b71-9d52-6f2b3c1d9e10";
    exec(
        &app.pool,
        &format!("INSERT INTO catalog_item_content (item_id, image) VALUES ('P-1', '{id}')"),
    )
    .await;
    app.content.reload().await.unwrap();
    let (status, html) = page(&app, "/p/P-1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(&format!("/media/{id}?w=640")), "{html}");
    // No Directus schema in this database: the file is not found, not an error.
    assert_eq!(
        page(&app, &format!("/media/{id}?w=640")).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        page(&app, &format!("/media/{id}?w=333")).await.0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        page(&app, "/media/not-a-uuid").await.0,
        StatusCode::NOT_FOUND
    );
}
