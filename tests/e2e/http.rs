//! The server on a real TCP port (port 0) with a fresh database: what only a real socket shows
//! (compression, CORS, request ids, body limits on the wire, graceful shutdown).

use crate::helpers::*;
use sqlx::PgPool;
use std::collections::HashSet;

struct Running {
    base: String,
    http: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
    _app: TestApp,
}

async fn serve(pool: PgPool) -> Running {
    let app = spawn_app(pool).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = app.router.clone();
    let served = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    Running {
        base,
        http: reqwest::Client::new(),
        stop,
        served,
        _app: app,
    }
}

async fn json(resp: reqwest::Response) -> (u16, serde_json::Value) {
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn search_over_a_real_socket(pool: PgPool) {
    let srv = serve(pool).await;
    let resp = srv
        .http
        .get(format!("{}/api/v1/search", srv.base))
        .query(&[("q", "подшипник 6205"), ("limit", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a generated request id: {id}");
    let v: serde_json::Value = resp.json().await.unwrap();
    let skus: HashSet<&str> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["sku"].as_str().unwrap())
        .collect();
    assert_eq!(skus, HashSet::from(["6205-2RS", "6205-2Z"]));

    // A caller's request id is echoed back.
    let resp = srv
        .http
        .get(format!("{}/healthz", srv.base))
        .header("x-request-id", "req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "req-42");

    // POST with the same parameters as JSON gives the same answer.
    let (s, body) = json(
        srv.http
            .post(format!("{}/api/v1/search", srv.base))
            .json(&serde_json::json!({"q": "подшипник 6205", "limit": 2}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(body["hits"], v["hits"]);

    // Pagination over the wire: pages of 2 cover the browse result once each.
    let mut seen = HashSet::new();
    let mut totals = HashSet::new();
    for offset in (0..8).step_by(2) {
        let (s, page) = json(
            srv.http
                .get(format!(
                    "{}/api/v1/search?q=&limit=2&offset={offset}",
                    srv.base
                ))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(s, 200);
        totals.insert(page["total"].as_u64().unwrap());
        for id in TestApp::ids(&page) {
            assert!(seen.insert(id.clone()), "{id} on two pages");
        }
    }
    assert_eq!(totals, HashSet::from([7]));
    assert_eq!(seen.len(), 7);
    srv.stop.send(()).unwrap();
    srv.served.await.unwrap().unwrap();
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn wire_level_errors_compression_and_cors(pool: PgPool) {
    let srv = serve(pool).await;
    // Oversized body: 413 with the JSON error shape, not a dropped connection.
    let big = format!("{{\"q\": \"{}\"}}", "а".repeat(100 * 1024));
    let (s, v) = json(
        srv.http
            .post(format!("{}/api/v1/search", srv.base))
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    // Malformed JSON and a bad query string.
    let (s, v) = json(
        srv.http
            .post(format!("{}/api/v1/search", srv.base))
            .header("content-type", "application/json")
            .body("{\"q\": ")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );
    let (s, v) = json(
        srv.http
            .get(format!("{}/api/v1/search?q=x&limit=abc", srv.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("limit"));
    let (s, v) = json(
        srv.http
            .delete(format!("{}/api/v1/search", srv.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );

    // Compression when asked for (the OpenAPI document is large enough to be compressed).
    let resp = srv
        .http
        .get(format!("{}/api/v1/openapi.json", srv.base))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let compressed = resp.bytes().await.unwrap();
    assert_eq!(&compressed[..2], &[0x1f, 0x8b], "a gzip stream");

    // CORS preflight from the site.
    let resp = srv
        .http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/search", srv.base),
        )
        .header("origin", "https://stanki.example")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");

    // Graceful shutdown: the server future ends and the port stops answering.
    let base = srv.base.clone();
    srv.stop.send(()).unwrap();
    srv.served.await.unwrap().unwrap();
    assert!(srv
        .http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_err());
}

/// Resident memory of this test process (the server runs in it), in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn unauthenticated_uploads_cost_the_server_no_memory(pool: PgPool) {
    let srv = serve(pool).await;
    let idle = rss_bytes();
    // 200 uploads at once, each announcing 50 MiB and sending it as fast as the server takes
    // it, without a token (attachments) or with a wrong one (admin documents).
    const SIZE: u64 = 50 << 20;
    let uploads = (0..200).map(|i| {
        let uri = if i % 2 == 0 {
            format!("{}/api/v1/leads/1/attachments?name=x.pdf", srv.base)
        } else {
            format!("{}/api/v1/admin/documents?title=x&models=16К20", srv.base)
        };
        let body = futures::stream::iter(
            (0..SIZE / (64 << 10)).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 << 10])),
        );
        srv.http
            .post(uri)
            .header("authorization", "Bearer wrong")
            .header("content-length", SIZE)
            .body(reqwest::Body::wrap_stream(body))
            .send()
    });
    let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(idle));
    let sampling = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                peak.fetch_max(rss_bytes(), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    let results = futures::future::join_all(uploads).await;
    sampling.abort();
    let statuses: HashSet<u16> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().map(|r| r.status().as_u16()))
        .collect();
    // A client may see its connection closed mid-body instead of the answer; none is accepted.
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert!(!statuses.is_empty());
    let grew = peak
        .load(std::sync::atomic::Ordering::Relaxed)
        .saturating_sub(idle);
    println!("idle {} MiB, peak growth {} MiB", idle >> 20, grew >> 20);
    assert!(grew < 200 << 20, "memory grew by {} MiB", grew >> 20);
}
