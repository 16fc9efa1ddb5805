//! The HTTP API through the real router (`oneshot`), on a real database.

use crate::helpers::*;
use axum::body::Body;
use axum::http::Request;
use sqlx::PgPool;
use std::collections::HashSet;

async fn loaded(pool: PgPool) -> TestApp {
    let app = spawn_app(pool).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    app
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn readiness_follows_the_initial_load(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (s, v) = app.get("/readyz").await;
    assert_eq!(s, 503);
    assert_eq!(v["error"]["code"], "not_ready");
    let (s, _) = app.search("q=x").await;
    assert_eq!(s, 503);
    assert_eq!(app.get("/healthz").await.0, 200);
    app.import(&small_catalog(), false).await;
    app.sync().await;
    assert_eq!(app.get("/readyz").await.0, 200);
    let (s, v) = app.get("/api/v1/index/status").await;
    assert_eq!(s, 200);
    assert_eq!(v["ready"], true);
    assert_eq!(v["documents"], 7);
    assert_eq!(v["pending_changes"], 0);
    assert_eq!(v["model"], "hash-trigram-v1");
    assert!(v["last_applied_change"].as_i64().unwrap() >= 7);
    assert!(v["text_segments"].as_u64().is_some_and(|n| n >= 1));
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn search_finds_codes_models_and_words(pool: PgPool) {
    let app = loaded(pool).await;
    for (q, top) in [
        ("q=6205-2RS", "P-1"),
        ("q=6205+2rs", "P-1"),
        ("q=62052RS", "P-1"),
        ("q=SFU16", "P-3"),
        ("q=1FK7042", "P-4"),
        ("q=16K20", "M-1"), // Latin K finds the Cyrillic model
        ("q=vf-2", "M-2"),
        ("q=подшибник+skf", "P-1"), // typo
        ("q=швп", "P-3"),           // abbreviation
        ("q=хаас", "M-2"),          // transliterated brand
    ] {
        let (s, v) = app.search(q).await;
        assert_eq!(s, 200, "{q}: {v}");
        assert_eq!(
            TestApp::ids(&v).first().map(String::as_str),
            Some(top),
            "{q}: {v}"
        );
    }
    let (_, v) = app.search("q=6205-2RS").await;
    assert_eq!(v["hits"][0]["exact"], true);
    assert!(v["hits"][0]["highlights"]["name"]
        .as_str()
        .unwrap()
        .contains("<em>"));
    assert_eq!(v["mode"], "hybrid");
    assert!(v["took_ms"].as_f64().is_some());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn filters_and_facets(pool: PgPool) {
    let app = loaded(pool).await;
    let (_, v) = app.search("kind=spare_part&compatible_with=16K20").await;
    let ids: HashSet<String> = TestApp::ids(&v).into_iter().collect();
    assert_eq!(
        ids,
        HashSet::from(["P-1".into(), "P-4".into(), "P-5".into()])
    );
    assert_eq!(v["total"], 3);
    let (_, v) = app.search("q=подшипник&in_stock=true&mode=lexical").await;
    assert_eq!(TestApp::ids(&v), vec!["P-1"]);
    // Hybrid adds semantic neighbours after the lexical match, all passing the filter.
    let (_, v) = app.search("q=подшипник&in_stock=true").await;
    assert_eq!(TestApp::ids(&v)[0], "P-1");
    assert!(!TestApp::ids(&v).iter().any(|id| id == "P-2" || id == "M-1"));
    let (_, v) = app
        .search("price_min=400&price_max=20000&kind=spare_part")
        .await;
    let ids: HashSet<String> = TestApp::ids(&v).into_iter().collect();
    assert_eq!(ids, HashSet::from(["P-1".into(), "P-3".into()]));
    let (_, v) = app.search("q=подшипник&mode=lexical").await;
    let cats = &v["facets"]["category"];
    assert_eq!(cats[0]["value"], "Подшипники");
    assert_eq!(cats[0]["count"], 2);
    let brands: HashSet<String> = v["facets"]["brand"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(brands, HashSet::from(["SKF".into(), "FAG".into()]));
    // POST takes the same parameters as JSON.
    let (s, v) = app
        .post_json(
            "/api/v1/search",
            r#"{"q": "подшипник", "in_stock": true, "limit": 5, "mode": "lexical"}"#,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(TestApp::ids(&v), vec!["P-1"]);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn pagination_is_stable(pool: PgPool) {
    let app = spawn_app(pool).await;
    let catalog: Vec<String> = search_core::fixture::catalog(300, 11)
        .iter()
        .map(|d| serde_json::to_string(d).unwrap())
        .collect();
    app.import(&catalog.join("\n"), false).await;
    app.sync().await;
    for mode in ["hybrid", "lexical", "semantic"] {
        let mut seen = Vec::new();
        let mut totals = HashSet::new();
        for page in 0..6 {
            let (s, v) = app
                .search(&format!(
                    "q=подшипник+шпинделя&mode={mode}&limit=7&offset={}",
                    page * 7
                ))
                .await;
            assert_eq!(s, 200);
            totals.insert(v["total"].as_u64().unwrap());
            seen.extend(TestApp::ids(&v));
        }
        assert_eq!(totals.len(), 1, "{mode}: total changes between pages");
        let (_, all) = app
            .search(&format!("q=подшипник+шпинделя&mode={mode}&limit=42"))
            .await;
        assert_eq!(
            seen,
            TestApp::ids(&all),
            "{mode}: pages differ from one long page"
        );
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{mode}: duplicates across pages");
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn bad_input_gets_the_json_error_shape(pool: PgPool) {
    let app = loaded(pool).await;
    for (uri, code) in [
        ("/api/v1/search?limit=abc", "invalid_parameter"),
        ("/api/v1/search?limit=1000", "invalid_parameter"),
        ("/api/v1/search?mode=fuzzy", "invalid_parameter"),
        ("/api/v1/search?in_stock=yes", "invalid_parameter"),
        ("/api/v1/search?bogus=1", "invalid_parameter"),
        ("/api/v1/search?q=%ZZ", "invalid_parameter"),
        ("/api/v1/nope", "no_route"),
        ("/api/v1/catalog/NOPE", "not_found"),
        ("/api/v1/suggest?limit=0.5", "invalid_parameter"),
    ] {
        let (s, v) = app.get(uri).await;
        assert!(s.is_client_error(), "{uri}: {s}");
        assert_eq!(v["error"]["code"], code, "{uri}: {v}");
        assert!(v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()));
    }
    let long = format!("/api/v1/search?q={}", "x".repeat(600));
    assert_eq!(app.get(&long).await.1["error"]["code"], "invalid_parameter");
    let (s, v) = app.post_json("/api/v1/search", "{\"q\": ").await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );
    let (s, v) = app
        .post_json("/api/v1/search", r#"{"limit": "many"}"#)
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
    // The query string has only text, so `?limit=2` is parsed; a JSON body has types, and a
    // string where the document says number or boolean is rejected, as the document says.
    assert_eq!(app.search("q=x&limit=2&in_stock=true").await.0, 200);
    for body in [
        r#"{"limit": "2"}"#,
        r#"{"price_max": "100"}"#,
        r#"{"in_stock": "true"}"#,
    ] {
        let (s, v) = app.post_json("/api/v1/search", body).await;
        assert_eq!(
            (s.as_u16(), v["error"]["code"].as_str()),
            (400, Some("invalid_parameter")),
            "{body}"
        );
    }
    // An empty field means absent, in both forms.
    assert_eq!(app.search("q=x&kind=&mode=&limit=").await.0, 200);
    let (s, _) = app
        .post_json("/api/v1/search", r#"{"q": "x", "kind": "", "mode": null}"#)
        .await;
    assert_eq!(s, 200);
    let big = format!(r#"{{"q": "{}"}}"#, "я".repeat(100_000));
    let (s, v) = app.post_json("/api/v1/search", &big).await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    let (s, v) = app
        .request(
            Request::delete("/api/v1/search")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn catalog_item_suggest_metrics_and_openapi(pool: PgPool) {
    let app = loaded(pool).await;
    let (s, v) = app.get("/api/v1/catalog/P-1").await;
    assert_eq!(s, 200);
    assert_eq!(v["sku"], "6205-2RS");
    assert_eq!(v["compatible_machines"][0]["id"], "M-1");
    let (_, v) = app.get("/api/v1/catalog/M-1").await;
    let parts: HashSet<String> = v["compatible_parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        parts,
        HashSet::from(["P-1".into(), "P-4".into(), "P-5".into()])
    );

    let (_, v) = app.get("/api/v1/suggest?q=SFU1").await;
    assert_eq!(v["suggestions"][0]["id"], "P-3");
    let (_, v) = app.get("/api/v1/suggest?q=%D0%BF%D0%BE%D0%B4%D1%88").await; // "подш"
    let ids: HashSet<String> = v["suggestions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, HashSet::from(["P-1".into(), "P-2".into()]));

    let (s, doc) = app.get("/api/v1/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/search"]["get"].is_object());
    // Every reference resolves, and ids (newtypes in the code) are integers on the wire.
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(r) = m.get("$ref").and_then(|r| r.as_str()) {
                    out.push(r.to_string());
                }
                m.values().for_each(|x| refs(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(!all.is_empty());
    for r in &all {
        let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{r} does not resolve"
        );
    }
    for id in ["TelegramId", "ClientId", "LeadId"] {
        let schema = &doc["components"]["schemas"][id];
        assert_eq!(schema["type"], "integer", "{id}: {schema}");
        assert_eq!(schema["format"], "int64", "{id}: {schema}");
    }

    let res = tower::ServiceExt::oneshot(
        app.router.clone(),
        Request::get("/metrics").body(Body::empty()).unwrap(),
    )
    .await
    .unwrap();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        text.contains("http_requests_total{route=\"/api/v1/suggest\",status=\"200\"} 2"),
        "{text}"
    );
    assert!(text.contains("index_documents 7"));
}

/// Every operation the generated document describes is served by the router: no documented
/// path answers "no such route" or "method not allowed".
#[sqlx::test(migrations = "../migrations")]
async fn every_documented_operation_is_routed(pool: PgPool) {
    let app = loaded(pool).await;
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        let uri = path
            .split('/')
            .map(|seg| match seg {
                "{secret}" => WEBHOOK_SECRET.to_string(),
                "{sha256}" => "0".repeat(64),
                "{number}" => "A-1".to_string(),
                s if s.starts_with('{') => "1".to_string(),
                s => s.to_string(),
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let req = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let (s, v) = app.request(req).await;
            assert_ne!(s, 405, "{method} {uri}: {v}");
            assert_ne!(v["error"]["code"], "no_route", "{method} {uri}: {v}");
        }
    }
    assert!(operations >= 27, "{operations} operations documented");
}

/// The bounds the document states for the search parameters are the ones the server
/// enforces: the documented maximum passes, one more is rejected with our error shape.
#[sqlx::test(migrations = "../migrations")]
async fn documented_search_bounds_are_enforced(pool: PgPool) {
    let app = loaded(pool).await;
    let (_, doc) = app.get("/api/v1/openapi.json").await;
    let params = doc["paths"]["/api/v1/search"]["get"]["parameters"]
        .as_array()
        .unwrap();
    let mut checked = 0;
    for p in params {
        let name = p["name"].as_str().unwrap();
        let schema = &p["schema"];
        let cases: Vec<(String, String)> = if let Some(max) = schema["maximum"].as_u64() {
            vec![(max.to_string(), (max + 1).to_string())]
        } else if let Some(max) = schema["maxLength"].as_u64() {
            let ok = "a".repeat(max as usize);
            vec![(ok.clone(), format!("{ok}a"))]
        } else if let Some(values) = schema["enum"].as_array() {
            let ok = values[0].as_str().unwrap().to_string();
            vec![(ok, "no-such-value".to_string())]
        } else {
            continue;
        };
        for (ok, bad) in cases {
            let q = if name == "q" { "" } else { "&q=x" };
            let (s, v) = app.search(&format!("{name}={ok}{q}")).await;
            assert_eq!(s, 200, "{name}={ok}: {v}");
            let (s, v) = app.search(&format!("{name}={bad}{q}")).await;
            assert_eq!(s, 400, "{name}={bad}: {v}");
            assert_eq!(v["error"]["code"], "invalid_parameter", "{name}={bad}");
            checked += 1;
        }
    }
    // q, mode, kind, category, brand, compatible_with, limit, offset.
    assert_eq!(checked, 8);
}

/// Queries embedded in batches off the search slots answer exactly as queries the engine
/// embeds itself, in every mode, and `/metrics` counts the model thread's work.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn batched_query_embeddings_answer_as_the_engine_does(pool: PgPool) {
    use tower::ServiceExt;
    // Every answer computed, none from the result cache, so the two paths are really compared
    // (nextest runs each test in its own process; under `cargo test` this only turns a cache
    // off for other tests too).
    std::env::set_var("SEARCH_CACHE_ENTRIES", "0");
    let app = loaded(pool).await;
    let batcher = server::query_embed::QueryBatcher::spawn(
        app.engine
            .query_embedder()
            .expect("the test engine has an embedder"),
        4,
    );
    let batched = server::api::router(
        server::api::AppState::new(app.live.clone(), None).with_query_batcher(Some(batcher)),
        &server::api::HttpOptions::default(),
    );
    let get = |router: axum::Router, uri: String| async move {
        let res = router
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let bytes = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        v.as_object_mut().unwrap().remove("took_ms");
        v
    };
    let mut uris = Vec::new();
    for q in [
        "подшипник шпинделя",
        "ремень привода",
        "SFU1605",
        "шпиндель 16К20",
        "",
    ] {
        for mode in ["hybrid", "semantic", "lexical"] {
            if q.is_empty() && mode == "semantic" {
                continue;
            }
            uris.push(format!("/api/v1/search?q={}&mode={mode}", urlencode(q)));
        }
    }
    // Concurrently, so the batcher really batches.
    let answers =
        futures::future::join_all(uris.iter().map(|u| get(batched.clone(), u.clone()))).await;
    for (uri, batched_answer) in uris.iter().zip(answers) {
        let direct = get(app.router.clone(), uri.clone()).await;
        assert_eq!(batched_answer, direct, "{uri}");
    }
    let metrics = String::from_utf8(
        http_body_util::BodyExt::collect(
            batched
                .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
                .await
                .unwrap()
                .into_body(),
        )
        .await
        .unwrap()
        .to_bytes()
        .to_vec(),
    )
    .unwrap();
    let counter = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{name} in /metrics"))
    };
    // Four texts (hybrid and semantic of one text share a vector), each computed once.
    let texts = counter("stanok_query_embed_texts_total");
    assert!((1..=4).contains(&texts), "{texts} texts embedded");
    assert!(counter("stanok_query_embed_batches_total") <= texts);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
