//! The site's server-rendered pages: what a search engine reads without running JavaScript.

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use server::api::{self, site::Site, HttpOptions};
use sqlx::PgPool;
use tower::ServiceExt;

/// A page as a search engine fetches it (host `shop.test`): status, content type, body.
pub(crate) async fn page(router: &axum::Router, uri: &str) -> (StatusCode, String, String) {
    let res = router
        .clone()
        .oneshot(
            Request::get(uri)
                .header("host", "shop.test")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = res.status();
    let ct = res
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

fn json_ld(html: &str) -> serde_json::Value {
    let start = html
        .find(r#"<script type="application/ld+json">"#)
        .expect("JSON-LD in the page")
        + r#"<script type="application/ld+json">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

async fn app(pool: PgPool) -> TestApp {
    let app = spawn_app(pool).await;
    app.import(&small_catalog(), true).await;
    app.sync().await;
    app
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_product_page_carries_its_offer_for_search_engines(pool: PgPool) {
    let app = app(pool).await;
    let (status, ct, html) = page(&app.router, "/p/P-1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(
        html.contains("<title>Подшипник шариковый 6205-2RS SKF — 450\u{a0}₽ | Станок</title>"),
        "{html}"
    );
    assert!(html.contains(r#"<link rel="canonical" href="http://shop.test/p/P-1">"#));
    assert!(html.contains(r#"<meta property="og:type" content="product">"#));
    assert!(html.contains(
        r#"<meta name="description" content="Радиальный шарикоподшипник для шпинделя.">"#
    ));
    let ld = json_ld(&html);
    assert_eq!(ld["@type"], "Product");
    assert_eq!(ld["sku"], "6205-2RS");
    assert_eq!(ld["brand"]["name"], "SKF");
    assert_eq!(ld["offers"]["price"], "450.00");
    assert_eq!(ld["offers"]["priceCurrency"], "RUB");
    assert_eq!(ld["offers"]["availability"], "https://schema.org/InStock");
    // Compatibility is linked both ways: the part names its machine, the machine its parts.
    assert!(html.contains(r#"href="/p/M-1""#), "part → machine link");
    let (_, _, machine) = page(&app.router, "/p/M-1").await;
    assert!(machine.contains(r#"href="/p/P-1""#) && machine.contains(r#"href="/p/P-5""#));
    assert_eq!(
        json_ld(&machine)["offers"]["availability"],
        "https://schema.org/BackOrder"
    );
    // A part without a price has no offer (search engines reject an offer without one).
    let (_, _, unpriced) = page(&app.router, "/p/P-5").await;
    assert!(json_ld(&unpriced).get("offers").is_none());
    assert!(unpriced.contains("Цена по запросу"));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn catalog_text_cannot_break_out_of_the_page(pool: PgPool) {
    let app = spawn_app(pool).await;
    let evil = r#"Вал </script><script>alert(1)</script> "кавычки" & <b>"#;
    app.import(
        &doc(
            "X-1",
            "spare_part",
            "X1",
            evil,
            serde_json::json!({"description": evil}),
        ),
        true,
    )
    .await;
    app.sync().await;
    let (status, _, html) = page(&app.router, "/p/X-1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("<b>"));
    // The JSON-LD and the embedded page data still carry the exact text.
    assert_eq!(json_ld(&html)["name"], evil);
    let start = html.find(r#"id="ssr-data">"#).unwrap() + r#"id="ssr-data">"#.len();
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(data["item"]["name"], evil);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn category_pages_list_their_cards_and_unknown_pages_are_404(pool: PgPool) {
    let app = app(pool).await;
    let (status, _, html) = page(
        &app.router,
        "/c/%D0%9F%D0%BE%D0%B4%D1%88%D0%B8%D0%BF%D0%BD%D0%B8%D0%BA%D0%B8",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1 class=\"text-2xl font-semibold\">Подшипники</h1>"));
    assert!(html.contains(r#"href="/p/P-1""#) && html.contains(r#"href="/p/P-2""#));
    assert!(!html.contains(r#"href="/p/P-3""#));
    assert_eq!(json_ld(&html)["numberOfItems"], 2);
    for uri in [
        "/c/%D0%9D%D0%B5%D1%82",
        "/p/missing",
        "/c/x?page=0",
        "/nothing/here",
    ] {
        let (status, ct, html) = page(&app.router, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(
            ct.starts_with("text/html") && html.contains("Страница не найдена"),
            "{uri}"
        );
        assert!(html.contains(r#"<meta name="robots" content="noindex">"#));
    }
    // API paths keep their JSON errors.
    let (status, ct, body) = page(&app.router, "/api/v1/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ct.starts_with("application/json"), "{ct}");
    assert!(body.contains(r#""code":"no_route""#));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_sitemap_lists_every_url_once_and_splits_into_an_index(pool: PgPool) {
    let app = app(pool).await;
    let (status, ct, xml) = page(&app.router, "/sitemap.xml").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.starts_with("application/xml"));
    let locs = |xml: &str| -> Vec<String> {
        xml.split("<loc>")
            .skip(1)
            .map(|s| s[..s.find("</loc>").unwrap()].to_string())
            .collect()
    };
    let all = locs(&xml);
    // Home, 6 categories, 7 products.
    assert_eq!(all.len(), 14, "{xml}");
    assert_eq!(all[0], "http://shop.test/");
    // Split at 4 URLs a file: an index of 4 parts that together hold the same URLs in order.
    let state = api::AppState::new(app.live.clone(), None)
        .with_leads(api::lead_routes::LeadsState::new(
            app.pool.clone(),
            app.dir.path().to_path_buf(),
        ))
        .with_site(Site::load(None, "https://shop.example.ru").with_sitemap_chunk(4));
    let router = api::router(state, &HttpOptions::default());
    let (_, _, index) = page(&router, "/sitemap.xml").await;
    assert!(index.contains("<sitemapindex"), "{index}");
    let parts = locs(&index);
    assert_eq!(parts.len(), 4);
    let mut joined = Vec::new();
    for p in &parts {
        let path = p.strip_prefix("https://shop.example.ru").unwrap();
        let (status, _, xml) = page(&router, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        joined.extend(
            locs(&xml)
                .into_iter()
                .map(|l| l.replace("https://shop.example.ru", "http://shop.test")),
        );
    }
    assert_eq!(joined, all);
    assert_eq!(
        page(&router, "/sitemap-5.xml").await.0,
        StatusCode::NOT_FOUND
    );
    let (_, _, robots) = page(&router, "/robots.txt").await;
    assert!(robots.contains("Sitemap: https://shop.example.ru/sitemap.xml"));
    assert!(robots.contains("Disallow: /api/"));
}
