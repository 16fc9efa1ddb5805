//! Leads against real Postgres and the local amoCRM stand-in: intake, idempotency,
//! attachments, delivery through failures, the 7 requests/s limit, token rotation, the
//! passport webhook and the park.

use crate::helpers::*;
use axum::body::Body;
use axum::http::Request;
use e2e::amocrm_standin::{AmoStandIn, FaultKind};
use leads::amocrm::{AmoAuth, AmoClient, AmoConfig};
use leads::sync::{SyncConfig, SyncWorker};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::Duration;

const ACCESS: &str = "long-lived-test-token";

fn amo(standin: &AmoStandIn, pool: &PgPool) -> Arc<AmoClient> {
    let mut cfg = AmoConfig::new(
        standin.base_url.clone(),
        "stanki",
        AmoAuth::LongLived(ACCESS.into()),
    );
    cfg.timeout = Duration::from_secs(1);
    Arc::new(AmoClient::new(cfg, pool.clone()))
}

fn passport_worker(pool: &PgPool, standin: &AmoStandIn) -> leads::passport::PassportWorker {
    leads::passport::PassportWorker::new(
        pool.clone(),
        amo(standin, pool),
        leads::passport::PassportConfig {
            serial_field_id: SERIAL_FIELD,
            product_field_id: PRODUCT_FIELD,
            alert_after_attempts: 5,
            lease: Duration::from_secs(5),
        },
    )
}

fn worker(pool: &PgPool, amo: Arc<AmoClient>) -> SyncWorker {
    SyncWorker::new(
        pool.clone(),
        amo,
        SyncConfig {
            lease: Duration::from_secs(2),
            base_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
            public_base_url: "https://stanki.example".into(),
            link_signing_key: Some("link-key".into()),
            ..Default::default()
        },
    )
}

async fn state_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT sync_state::text FROM leads WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Runs the worker until lead `id` is synced (or fails the test after `secs`).
async fn deliver(pool: &PgPool, w: &SyncWorker, id: i64, secs: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    while state_of(pool, id).await != "synced" {
        assert!(
            std::time::Instant::now() < deadline,
            "lead {id} not delivered"
        );
        if w.run_once().await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The stand-in's leads carrying our lead's marker.
fn crm_leads_of(standin: &AmoStandIn, id: i64) -> Vec<Value> {
    let mark = leads::sync::marker(leads::LeadId(id));
    standin
        .leads()
        .into_iter()
        .filter(|l| l["name"].as_str().unwrap_or("").contains(&mark))
        .collect()
}

fn cart() -> String {
    json!({
        "source": "site", "kind": "cart",
        "contact": {"name": "Иван Петров", "phone": "8 (912) 345-67-89", "email": "ivan@zavod.ru"},
        "payload": {"lines": [
            {"catalog_id": "P-1", "qty": 2, "price_rub": 450},
            {"catalog_id": "P-5", "qty": 1}
        ], "comment": "Нужно до пятницы"}
    })
    .to_string()
}

async fn post_lead(app: &TestApp, body: &str, key: Option<&str>) -> (u16, Value, bool) {
    let mut req = Request::post("/api/v1/leads").header("content-type", "application/json");
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let res = tower::ServiceExt::oneshot(
        app.router.clone(),
        req.body(Body::from(body.to_string())).unwrap(),
    )
    .await
    .unwrap();
    let status = res.status().as_u16();
    let replayed = res.headers().get("idempotent-replayed").is_some();
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap(), replayed)
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn intake_validates_replays_and_stores_attachments(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;

    let (s, first, replayed) = post_lead(&app, &cart(), Some("order-1")).await;
    assert_eq!(s, 201, "{first}");
    assert!(!replayed);
    assert_eq!(first["contact"]["phone"], "+79123456789");
    assert_eq!(first["payload"]["total_rub"], 900.0);
    assert_eq!(first["payload"]["lines"][0]["sku"], "6205-2RS");
    // The same submit again: the first result, nothing new stored.
    let (s, again, replayed) = post_lead(&app, &cart(), Some("order-1")).await;
    assert_eq!((s, replayed), (201, true));
    assert_eq!(again, first);
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    // The same key for another request is refused.
    let other = cart().replace("Иван Петров", "Пётр Иванов");
    let (s, v, _) = post_lead(&app, &other, Some("order-1")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );

    // Validation names the field.
    for (body, field) in [
        (
            cart().replace("\"price_rub\":450", "\"price_rub\":400"),
            "payload.lines[0].price_rub",
        ),
        (cart().replace("P-1", "NOPE"), "payload.lines[0].catalog_id"),
        (
            cart().replace("\"qty\":2", "\"qty\":0"),
            "payload.lines[0].qty",
        ),
        (cart().replace("8 (912) 345-67-89", "12"), "contact.phone"),
        (cart().replace("\"cart\"", "\"gift\""), "kind"),
        (
            json!({"source": "site", "kind": "callback", "contact": {"name": "Без связи"}})
                .to_string(),
            "contact",
        ),
        (
            json!({"source": "bot", "kind": "sos", "contact": {"phone": "+79123456789"},
                "payload": {"machine_instance_id": "один", "description": "стучит шпиндель"}})
            .to_string(),
            "payload.machine_instance_id",
        ),
    ] {
        let (s, v, _) = post_lead(&app, &body, None).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["error"]["code"], "invalid_parameter", "{v}");
        assert!(
            v["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {v}"
        );
    }

    // Attachments: content decides, size is limited, the file lands under its hash.
    let id = first["id"].as_i64().unwrap();
    let token = first["upload_token"]
        .as_str()
        .expect("the creator gets an upload token")
        .to_string();
    assert_eq!(token.len(), 64);
    let upload = |name: &str, bytes: Vec<u8>| {
        Request::post(format!("/api/v1/leads/{id}/attachments?name={name}"))
            .header("content-type", "application/octet-stream")
            .header("x-upload-token", &token)
            .body(Body::from(bytes))
            .unwrap()
    };
    let pdf = b"%PDF-1.4\n% invoice\n".to_vec();
    let (s, v) = app.request(upload("invoice.pdf", pdf.clone())).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["mime_type"], "application/pdf");
    let sha = v["sha256"].as_str().unwrap().to_string();
    let stored = std::fs::read(leads::attachments::path_for(app.dir.path(), &sha)).unwrap();
    assert_eq!(stored, pdf);
    let (s, v) = app
        .request(upload("photo.jpg", b"MZ\x90\0 not really a photo".to_vec()))
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let mut big = b"%PDF-1.4\n".to_vec();
    big.resize(70 * 1024, b'x');
    let (s, v) = app.request(upload("big.pdf", big)).await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (413, Some("body_too_large"))
    );
    // Without the lead's token nothing is stored: no token, another lead's token, a lead that
    // does not exist (the same answer, so ids cannot be probed).
    let attach = |uri: String, token: Option<&str>| {
        let mut r = Request::post(uri);
        if let Some(t) = token {
            r = r.header("x-upload-token", t);
        }
        r.body(Body::from(pdf.clone())).unwrap()
    };
    let (s, _) = app
        .request(attach(
            format!("/api/v1/leads/{id}/attachments?name=x.pdf"),
            None,
        ))
        .await;
    assert_eq!(s, 401);
    let (s, other_lead, _) = post_lead(&app, &cart().replace("order", "x"), Some("order-2")).await;
    assert_eq!(s, 201);
    let (s, _) = app
        .request(attach(
            format!("/api/v1/leads/{id}/attachments?name=x.pdf"),
            other_lead["upload_token"].as_str(),
        ))
        .await;
    assert_eq!(s, 403);
    let (s, v) = app
        .request(attach(
            "/api/v1/leads/999999/attachments?name=a.pdf".into(),
            Some(&token),
        ))
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let files: i64 = sqlx::query_scalar("SELECT count(*) FROM lead_attachments")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(files, 1);
    // Keys are the caller's own: the key an anonymous caller used is free for a Telegram user.
    sqlx::query("INSERT INTO telegram_users (telegram_id) VALUES (77)")
        .execute(&pool)
        .await
        .unwrap();
    let (s, v) = app
        .request(
            Request::post("/api/v1/leads")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
                .header("x-telegram-user-id", "77")
                .header("idempotency-key", "order-1")
                .body(Body::from(other))
                .unwrap(),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    assert_ne!(v["id"], first["id"]);
    // The signed link serves the file; a forged one does not.
    let sig = leads::attachments::link_signature("link-key", leads::LeadId(id), &sha);
    let (s, _) = app
        .get(&format!("/api/v1/leads/{id}/attachments/{sha}?sig={sig}"))
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .get(&format!(
            "/api/v1/leads/{id}/attachments/{sha}?sig=00{}",
            &sig[2..]
        ))
        .await;
    assert_eq!(s, 401);

    // Operators list leads by sync state; others may not.
    let (s, _) = app.get("/api/v1/leads?status=pending").await;
    assert_eq!(s, 401, "no token");
    let (s, v) = app
        .request(
            Request::get("/api/v1/leads?status=pending")
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        v["leads"].as_array().unwrap().iter().any(|l| l["id"] == id),
        "{v}"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn cart_lead_reaches_amocrm_once_through_outages(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    // The customer is already a contact, with the phone typed differently.
    let contact = standin.add_contact("Иван Петров", &["+7 912 345 67 89"]);
    let (_, lead, _) = post_lead(&app, &cart(), None).await;
    let id = lead["id"].as_i64().unwrap();

    // amoCRM misbehaves: 500 twice, a 429, a timeout, then a lead created whose answer is lost;
    // the note fails once with 503.
    standin.fail("/leads/complex", None, FaultKind::Status(500), 2);
    standin.fail("/leads/complex", None, FaultKind::Status(429), 1);
    standin.fail(
        "/leads/complex",
        None,
        FaultKind::Delay(Duration::from_millis(1500)),
        1,
    );
    standin.fail("/leads/complex", None, FaultKind::FailAfterWork, 1);
    standin.fail(
        "/notes",
        Some(axum::http::Method::POST),
        FaultKind::Status(503),
        1,
    );
    let w = worker(&pool, amo(&standin, &pool));
    deliver(&pool, &w, id, 60).await;

    let created = crm_leads_of(&standin, id);
    assert_eq!(created.len(), 1, "exactly one CRM lead: {created:?}");
    let crm_id = created[0]["id"].as_i64().unwrap();
    assert_eq!(
        created[0]["_embedded"]["contacts"][0]["id"], contact,
        "existing contact reused"
    );
    assert_eq!(created[0]["price"], 900);
    let notes = standin.notes(crm_id);
    assert_eq!(notes.len(), 1, "exactly one note: {notes:?}");
    let text = notes[0]["params"]["text"].as_str().unwrap();
    assert_eq!(notes[0]["note_type"], "common");
    assert!(
        text.contains(
            "1. 6205-2RS — Подшипник шариковый 6205-2RS SKF — 2 шт × 450,00\u{a0}₽ = 900,00\u{a0}₽"
        ),
        "{text}"
    );
    assert!(
        text.contains("2. B-1600 — Ремень клиновой B-1600 Gates — 1 шт × цена по запросу"),
        "{text}"
    );
    assert!(text.contains("Итого: 900,00\u{a0}₽"), "{text}");
    assert!(text.contains("Комментарий: Нужно до пятницы"), "{text}");
    let (stored_crm, attempts): (Option<i64>, i32) =
        sqlx::query_as("SELECT crm_lead_id, attempts FROM leads WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored_crm, Some(crm_id));
    assert!(attempts >= 6, "every failure was an attempt: {attempts}");
    let failures: i64 =
        sqlx::query_scalar("SELECT count(*) FROM lead_sync_attempts WHERE lead_id = $1 AND NOT ok")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(failures >= 6, "failures recorded: {failures}");
    assert_eq!(standin.throttled(), 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn worker_killed_between_lead_and_note_resumes_without_duplicates(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let (_, lead, _) = post_lead(&app, &cart(), None).await;
    let id = lead["id"].as_i64().unwrap();
    // The note request hangs; the worker is killed while it waits.
    standin.fail(
        "/notes",
        Some(axum::http::Method::POST),
        FaultKind::Delay(Duration::from_secs(3)),
        1,
    );
    let client = amo(&standin, &pool);
    let w = Arc::new(worker(&pool, client.clone()));
    let task = tokio::spawn({
        let w = w.clone();
        async move { w.run_once().await }
    });
    for _ in 0..100 {
        if state_of(&pool, id).await == "lead_created" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(state_of(&pool, id).await, "lead_created");
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    let _ = task.await;

    // A new worker takes the lead once its lease ends and finishes the job.
    let w2 = worker(&pool, client);
    deliver(&pool, &w2, id, 30).await;
    let created = crm_leads_of(&standin, id);
    assert_eq!(created.len(), 1);
    tokio::time::sleep(Duration::from_secs(3)).await; // let a hung note request finish, if any
    assert_eq!(standin.notes(created[0]["id"].as_i64().unwrap()).len(), 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_burst_of_500_leads_is_delivered_once_each_within_the_rate_limit(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    for i in 0..500 {
        let body = json!({"source": "site", "kind": "callback",
                          "contact": {"name": format!("Клиент {i}"), "phone": format!("+7900{:07}", i)}});
        let (s, v, _) = post_lead(&app, &body.to_string(), Some(&format!("burst-{i}"))).await;
        assert_eq!(s, 201, "{v}");
    }
    // Two workers share one client (and so one rate limiter), racing for leads.
    let client = amo(&standin, &pool);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let w1 = Arc::new(worker(&pool, client.clone()));
    let w2 = Arc::new(worker(&pool, client));
    let t1 = tokio::spawn(w1.run(rx.clone()));
    let t2 = tokio::spawn(w2.run(rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(400);
    loop {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM leads WHERE sync_state <> 'synced'")
                .fetch_one(&pool)
                .await
                .unwrap();
        if left == 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{left} leads left");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.send(true).unwrap();
    t1.await.unwrap();
    t2.await.unwrap();
    let names: std::collections::HashSet<String> = standin
        .leads()
        .iter()
        .map(|l| l["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(standin.leads().len(), 500, "none twice");
    assert_eq!(names.len(), 500);
    assert!(
        standin.max_per_second() <= 7,
        "at most 7 requests in any second: {}",
        standin.max_per_second()
    );
    assert_eq!(standin.throttled(), 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn oauth_refresh_rotates_persists_and_never_reuses_a_stale_token(pool: PgPool) {
    let standin = AmoStandIn::start("not-used", "refresh-0").await;
    let oauth = |initial: &str| {
        let mut cfg = AmoConfig::new(
            standin.base_url.clone(),
            "stanki",
            AmoAuth::OAuth {
                client_id: "cid".into(),
                client_secret: "secret".into(),
                redirect_uri: "https://stanki.example/oauth".into(),
                initial_refresh_token: Some(initial.into()),
            },
        );
        cfg.timeout = Duration::from_secs(2);
        Arc::new(AmoClient::new(cfg, pool.clone()))
    };
    let stored = || async {
        sqlx::query_as::<_, (String, Option<String>)>(
            "SELECT access_token, refresh_token FROM crm_tokens WHERE account = 'stanki'",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };
    let a = oauth("refresh-0");
    assert_eq!(a.find_contact_by_phone("+79123456789").await.unwrap(), None);
    assert_eq!(standin.refreshes(), 1);
    let (access1, refresh1) = stored().await;
    assert!(access1.starts_with("access-1"));
    assert!(refresh1.as_deref().unwrap().starts_with("refresh-1"));

    // The access token dies: one refresh, the new pair persisted.
    standin.expire_access_tokens();
    a.find_contact_by_phone("+79123456789").await.unwrap();
    assert_eq!(standin.refreshes(), 2);
    let (_, refresh2) = stored().await;
    assert_ne!(refresh2, refresh1);

    // A restarted process still configured with the first refresh token uses the stored one;
    // two clients hitting an expired token at once refresh once.
    standin.expire_access_tokens();
    // Let the stand-in's one-second window empty first.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let b = oauth("refresh-0");
    let c = oauth("refresh-0");
    let (rb, rc) = tokio::join!(
        b.find_contact_by_phone("+79123456789"),
        c.find_contact_by_phone("+79123456789")
    );
    rb.unwrap();
    rc.unwrap();
    assert_eq!(standin.refreshes(), 3, "one refresh for both");
    let used: Vec<String> = standin
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/oauth2"))
        .map(|r| r.body["refresh_token"].as_str().unwrap_or("").to_string())
        .collect();
    let distinct: std::collections::HashSet<&String> = used.iter().collect();
    assert_eq!(
        used.len(),
        distinct.len(),
        "a refresh token is used once: {used:?}"
    );
    assert_eq!(used[0], "refresh-0");
}

fn webhook_body(changes: &[(i64, i64)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, (lead, status)) in changes.iter().enumerate() {
        pairs.push((format!("leads[status][{i}][id]"), lead.to_string()));
        pairs.push((format!("leads[status][{i}][status_id]"), status.to_string()));
        pairs.push((
            format!("leads[status][{i}][old_status_id]"),
            "142553".into(),
        ));
        pairs.push((format!("leads[status][{i}][pipeline_id]"), "5553".into()));
        pairs.push((format!("leads[status][{i}][name]"), "Сделка".into()));
    }
    pairs.push(("account[subdomain]".into(), "stanki".into()));
    pairs.push(("account[id]".into(), "29911".into()));
    serde_urlencoded::to_string(&pairs).unwrap()
}

async fn post_hook(app: &TestApp, secret: &str, body: &str) -> (u16, Value) {
    let (s, v) = app
        .request(
            Request::post(format!("/api/v1/webhooks/amocrm/{secret}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .header("user-agent", "amoCRM-WebHook-client/1.0")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    (s.as_u16(), v)
}

const SERIAL_FIELD: i64 = 701;
const PRODUCT_FIELD: i64 = 702;

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn won_deal_becomes_a_machine_in_the_right_clients_park(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let client_id: i64 = sqlx::query_scalar(
        "INSERT INTO clients (company, phone) VALUES ('ООО Ромашка', '+79123456789') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let other_client: i64 = sqlx::query_scalar(
        "INSERT INTO clients (company, phone) VALUES ('АО Другое', '+79990001122') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO telegram_users (telegram_id, client_id, role) VALUES (555, $1, 'engineer'), (777, $2, 'engineer')")
        .bind(client_id)
        .bind(other_client)
        .execute(&pool)
        .await
        .unwrap();
    let contact = standin.add_contact("ООО Ромашка", &["8 (912) 345-67-89"]);
    let won = standin.add_deal(
        "Станок 16К20",
        142,
        contact,
        &[(SERIAL_FIELD, "SN-0042"), (PRODUCT_FIELD, "16K20-710")],
    );
    let lost = standin.add_deal("Не купили", 143, contact, &[]);
    let not_really = standin.add_deal(
        "Передумали",
        143,
        contact,
        &[(SERIAL_FIELD, "SN-0099"), (PRODUCT_FIELD, "16K20-710")],
    );
    let unknown_product = standin.add_deal(
        "Неизвестный",
        142,
        contact,
        &[(SERIAL_FIELD, "SN-0100"), (PRODUCT_FIELD, "XYZ-1")],
    );
    let events = || async {
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM crm_webhook_events")
            .fetch_one(&pool)
            .await
            .unwrap()
    };

    // A wrong secret stores nothing and looks like no route; garbage is a 400.
    let body = webhook_body(&[(won, 142), (lost, 143)]);
    let (s, _) = post_hook(&app, "wrong-secret", &body).await;
    assert_eq!(s, 404);
    assert_eq!(events().await, 0);
    let (s, v) = post_hook(&app, WEBHOOK_SECRET, "leads%5Bstatus%5D%5B0%5D%5Bid%5D=abc").await;
    assert_eq!(s, 400, "{v}");
    let (s, _) = post_hook(&app, WEBHOOK_SECRET, &body.replace("stanki", "chuzhie")).await;
    assert_eq!(s, 403, "another account's webhook");
    assert_eq!(events().await, 0);

    let (s, v) = post_hook(&app, WEBHOOK_SECRET, &body).await;
    assert_eq!((s, v["stored"].as_i64()), (200, Some(2)));
    let (s, v) = post_hook(&app, WEBHOOK_SECRET, &body).await;
    assert_eq!(
        (s, v["stored"].as_i64()),
        (200, Some(0)),
        "a replay stores nothing new"
    );
    // The webhook says won, the CRM says otherwise; and a product we do not sell.
    let (s, _) = post_hook(
        &app,
        WEBHOOK_SECRET,
        &webhook_body(&[(not_really, 142), (unknown_product, 142)]),
    )
    .await;
    assert_eq!(s, 200);

    let worker = passport_worker(&pool, &standin);
    while worker.run_once().await.unwrap().is_some() {}
    let machines: Vec<(String, Option<String>, i64, Option<i64>)> = sqlx::query_as(
        "SELECT serial_number, product_id, client_id, crm_deal_id FROM machine_instances ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        machines,
        vec![(
            "SN-0042".to_string(),
            Some("M-1".to_string()),
            client_id,
            Some(won)
        )]
    );
    let states: Vec<(i64, String)> =
        sqlx::query_as("SELECT crm_lead_id, state FROM crm_webhook_events ORDER BY crm_lead_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        states,
        vec![
            (won, "done".into()),
            // Not won: each deal's order is recorded as lost.
            (lost, "done".into()),
            (not_really, "done".into()),
            (unknown_product, "review".into())
        ]
    );
    let clients: i64 = sqlx::query_scalar("SELECT count(*) FROM clients")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        clients, 2,
        "the client was found by phone, not created again"
    );

    // Replaying the won event changes nothing.
    sqlx::query("UPDATE crm_webhook_events SET state = 'pending' WHERE crm_lead_id = $1")
        .bind(won)
        .execute(&pool)
        .await
        .unwrap();
    while worker.run_once().await.unwrap().is_some() {}
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM machine_instances")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);

    // The park: the client's own engineer sees it; others do not.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let tma = |user: i64, at: i64| {
        leads::auth::sign_init_data(
            BOT_TOKEN,
            at,
            &format!(r#"{{"id":{user},"first_name":"Инженер"}}"#),
            "q",
        )
    };
    let park = |auth: Option<String>, id: i64| {
        let mut r = Request::get(format!("/api/v1/clients/{id}/park"));
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r.body(Body::empty()).unwrap()
    };
    let (s, v) = app
        .request(park(Some(format!("tma {}", tma(555, now))), client_id))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["machines"][0]["serial_number"], "SN-0042");
    assert_eq!(
        v["machines"][0]["product_name"],
        "Токарно-винторезный станок 16К20 РМЦ 710 мм"
    );
    let (s, _) = app
        .request(park(Some(format!("tma {}", tma(777, now))), client_id))
        .await;
    assert_eq!(s, 403, "another client's engineer");
    let (s, _) = app
        .request(park(
            Some(format!("tma {}", tma(555, now - 2 * 86_400))),
            client_id,
        ))
        .await;
    assert_eq!(s, 401, "stale auth_date");
    let good = tma(555, now);
    let flipped = if good.ends_with('0') { '1' } else { '0' };
    let bad_hash = format!("{}{flipped}", &good[..good.len() - 1]);
    let (s, _) = app
        .request(park(Some(format!("tma {bad_hash}")), client_id))
        .await;
    assert_eq!(s, 401, "bad hash");
    let (s, _) = app.request(park(None, client_id)).await;
    assert_eq!(s, 401);
    // The bot on behalf of a user; operators see any park.
    let (s, _) = app
        .request(
            Request::get(format!("/api/v1/clients/{client_id}/park"))
                .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
                .header("x-telegram-user-id", "555")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .request(park(Some(format!("Bearer {ADMIN_TOKEN}")), other_client))
        .await;
    assert_eq!(s, 200);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn sos_opens_a_ticket_and_a_rejected_lead_is_left_for_operators(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let client: i64 = sqlx::query_scalar(
        "INSERT INTO clients (company, phone) VALUES ('ООО Ромашка', '+79123456789') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let machine: i64 = sqlx::query_scalar(
        "INSERT INTO machine_instances (serial_number, product_id, model, client_id) VALUES ('SN-1', 'M-1', '16К20', $1) RETURNING id",
    )
    .bind(client)
    .fetch_one(&pool)
    .await
    .unwrap();
    let sos = json!({"source": "bot", "kind": "sos", "contact": {"name": "Инженер", "phone": "+79123456789"},
                     "payload": {"machine_instance_id": machine, "description": "Стук в шпинделе на 1000 об/мин"}});
    // Anonymous: a lead for a manager, no ticket in the company's repair status.
    let (s, v, _) = post_lead(&app, &sos.to_string(), None).await;
    assert_eq!(s, 201, "{v}");
    assert!(v["ticket_id"].is_null(), "{v}");
    assert_eq!(v["payload"]["machine_unverified"], true);
    // The same from the client's engineer signed in through the bot opens the ticket.
    sqlx::query(
        "INSERT INTO telegram_users (telegram_id, client_id, role) VALUES (5005, $1, 'engineer')",
    )
    .bind(client)
    .execute(&pool)
    .await
    .unwrap();
    let (s, v) = app
        .request(
            Request::post("/api/v1/leads")
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
                .header("x-telegram-user-id", "5005")
                .body(Body::from(sos.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let ticket = v["ticket_id"]
        .as_i64()
        .expect("the ticket number comes back at once");
    let (kind, status, t_client): (String, String, i64) = sqlx::query_as(
        "SELECT kind::text, status::text, client_id FROM service_tickets WHERE id = $1",
    )
    .bind(ticket)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), status.as_str(), t_client),
        ("sos", "new", client)
    );

    // amoCRM rejects the lead outright (400): no retry storm, the lead waits for a person.
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    // (Both leads of this test: the anonymous one and the engineer's.)
    standin.fail("/leads/complex", None, FaultKind::Status(400), 2);
    let id = v["id"].as_i64().unwrap();
    let w = worker(&pool, amo(&standin, &pool));
    while w.run_once().await.unwrap().is_some() {}
    assert_eq!(state_of(&pool, id).await, "failed");
    assert_eq!(state_of(&pool, id - 1).await, "failed");
    let (s, list) = app
        .request(
            Request::get("/api/v1/leads?status=failed")
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(list["leads"][0]["id"], id);
    assert!(
        list["leads"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("400"),
        "{list}"
    );
    assert!(standin.leads().is_empty());
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_bot_links_users_by_phone_and_directors_see_spend(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let client: i64 = sqlx::query_scalar(
        "INSERT INTO clients (company, phone) VALUES ('ООО Ромашка', '+79123456789') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let link = |token: &str, body: Value| {
        Request::post("/api/v1/telegram/link")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    // Only the bot may link; the phone may be typed any Russian way.
    let (s, _) = app
        .request(link(
            "wrong",
            json!({"telegram_id": 1, "phone": "+79123456789"}),
        ))
        .await;
    assert_eq!(s, 401);
    let (s, v) = app
        .request(link(
            BOT_SERVICE_TOKEN,
            json!({"telegram_id": 555, "phone": "8 (912) 345-67-89", "first_name": "Анна"}),
        ))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["client_id"].as_i64(), v["role"].as_str()),
        (Some(client), Some("engineer"))
    );
    let (_, v) = app
        .request(link(
            BOT_SERVICE_TOKEN,
            json!({"telegram_id": 556, "phone": "+7 999 000 11 22"}),
        ))
        .await;
    assert_eq!(
        (v["client_id"].clone(), v["role"].clone()),
        (Value::Null, Value::Null),
        "unknown phone"
    );

    // Spend this month vs last month, from the tables the director's numbers come from.
    for sql in [
        // Months begin at midnight in Moscow.
        "INSERT INTO orders (number, client_id, status, total_rub, created_at) VALUES
           ('A-1', $1, 'paid', 100000, (date_trunc('month', now() AT TIME ZONE 'Europe/Moscow') + interval '1 hour') AT TIME ZONE 'Europe/Moscow'),
           ('A-2', $1, 'cancelled', 999999, (date_trunc('month', now() AT TIME ZONE 'Europe/Moscow') + interval '2 hours') AT TIME ZONE 'Europe/Moscow'),
           ('A-0', $1, 'delivered', 50000, (date_trunc('month', now() AT TIME ZONE 'Europe/Moscow') - interval '10 days') AT TIME ZONE 'Europe/Moscow')",
        "INSERT INTO maintenance_spend (client_id, amount_rub, spent_on) VALUES
           ($1, 25000, date_trunc('month', now() AT TIME ZONE 'Europe/Moscow')::date),
           ($1, 50000, (date_trunc('month', now() AT TIME ZONE 'Europe/Moscow') - interval '1 month')::date)",
    ] {
        sqlx::query(sql).bind(client).execute(&pool).await.unwrap();
    }
    let spend = |user: &str| {
        Request::get(format!("/api/v1/clients/{client}/spend?period=month"))
            .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
            .header("x-telegram-user-id", user)
            .body(Body::empty())
            .unwrap()
    };
    let (s, _) = app.request(spend("555")).await;
    assert_eq!(s, 403, "an engineer does not see spend");
    sqlx::query("UPDATE telegram_users SET role = 'director' WHERE telegram_id = 555")
        .execute(&pool)
        .await
        .unwrap();
    let (s, v) = app.request(spend("555")).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["current"]["parts_rub"], 100000.0,
        "cancelled orders do not count"
    );
    assert_eq!(v["current"]["service_rub"], 25000.0);
    assert_eq!(v["previous"]["total_rub"], 100000.0);
    assert_eq!(v["change_pct"], 25.0);
    let (s, v) = app
        .request(
            Request::get(format!("/api/v1/clients/{client}/spend?period=decade"))
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (400, Some("invalid_parameter"))
    );
}

/// A request body that sends one chunk and then never ends (a slow or hostile client).
fn endless_body() -> Body {
    let first = futures::stream::once(async {
        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"%PDF-1.4\n"))
    });
    Body::from_stream(futures::StreamExt::chain(first, futures::stream::pending()))
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn uploads_are_refused_before_their_body_is_read(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let (s, lead, _) = post_lead(&app, &cart(), None).await;
    assert_eq!(s, 201);
    let id = lead["id"].as_i64().unwrap();
    // If a handler read the body first, these would wait forever.
    let cases = [
        (
            format!("/api/v1/leads/{id}/attachments?name=a.pdf"),
            None,
            401,
        ),
        (
            format!("/api/v1/leads/{id}/attachments?name=a.pdf"),
            Some(("x-upload-token", "0".repeat(64))),
            403,
        ),
        (
            "/api/v1/admin/documents?title=x&models=16К20".to_string(),
            None,
            401,
        ),
        (
            "/api/v1/admin/documents?title=x&models=16К20".to_string(),
            Some(("authorization", "Bearer wrong".to_string())),
            401,
        ),
    ];
    for (uri, header, want) in cases {
        let mut r = Request::post(uri.as_str()).header("content-type", "application/octet-stream");
        if let Some((k, v)) = &header {
            r = r.header(*k, v);
        }
        let res = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            tower::ServiceExt::oneshot(app.router.clone(), r.body(endless_body()).unwrap()),
        )
        .await
        .unwrap_or_else(|_| panic!("{uri} waited for the body before checking the caller"))
        .unwrap();
        assert_eq!(res.status().as_u16(), want, "{uri} {header:?}");
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_long_amocrm_outage_delays_leads_and_loses_none(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let body = cart().replace("Нужно до пятницы", &format!("Заказ {i}"));
        let (s, lead, _) = post_lead(&app, &body, None).await;
        assert_eq!(s, 201);
        ids.push(lead["id"].as_i64().unwrap());
    }
    // Every request fails for 120 calls: with the backoff capped at 40 ms that is what hours
    // of an outage are to a worker whose cap is 30 minutes (12 attempts used to mean "failed").
    for path in ["/leads", "/contacts", "/notes"] {
        standin.fail(path, None, FaultKind::Status(503), 40);
    }
    let w = SyncWorker::new(
        pool.clone(),
        amo(&standin, &pool),
        SyncConfig {
            lease: Duration::from_secs(2),
            base_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(40),
            alert_after_attempts: 3,
            ..Default::default()
        },
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let states: Vec<String> =
            sqlx::query_scalar("SELECT sync_state::text FROM leads ORDER BY id")
                .fetch_all(&pool)
                .await
                .unwrap();
        assert!(
            !states.iter().any(|s| s == "failed"),
            "a lead was given up: {states:?}"
        );
        if states.iter().all(|s| s == "synced") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered: {states:?}"
        );
        if w.run_once().await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let max_attempts: i32 = sqlx::query_scalar("SELECT max(attempts) FROM leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(
        max_attempts > 12,
        "the outage outlasted the old give-up point: {max_attempts}"
    );
    for id in ids {
        let created = crm_leads_of(&standin, id);
        assert_eq!(created.len(), 1, "lead {id}: {created:?}");
        assert_eq!(
            standin.notes(created[0]["id"].as_i64().unwrap()).len(),
            1,
            "lead {id}"
        );
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_operator_requeues_a_rejected_lead_after_fixing_the_cause(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let (_, lead, _) = post_lead(&app, &cart(), None).await;
    let id = lead["id"].as_i64().unwrap();
    standin.fail("/leads/complex", None, FaultKind::Status(400), 1);
    let w = worker(&pool, amo(&standin, &pool));
    while w.run_once().await.unwrap().is_some() {}
    assert_eq!(state_of(&pool, id).await, "failed");
    let requeue = |token: Option<&str>| {
        let mut r =
            Request::post("/api/v1/admin/leads/requeue").header("content-type", "application/json");
        if let Some(t) = token {
            r = r.header("authorization", format!("Bearer {t}"));
        }
        r.body(Body::from(json!({"ids": [id]}).to_string()))
            .unwrap()
    };
    assert_eq!(app.request(requeue(None)).await.0, 401);
    assert_eq!(app.request(requeue(Some("wrong"))).await.0, 401);
    let (s, v) = app.request(requeue(Some(ADMIN_TOKEN))).await;
    assert_eq!((s.as_u16(), v["requeued"].as_u64()), (200, Some(1)), "{v}");
    deliver(&pool, &w, id, 30).await;
    assert_eq!(crm_leads_of(&standin, id).len(), 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn files_added_after_delivery_reach_the_crm_exactly_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let quote = json!({"source": "bot", "kind": "quote", "contact": {"name": "Снабженец", "phone": "+79120000001"},
                       "payload": {"comment": "КП на подшипники по фото"}});
    let (s, lead, _) = post_lead(&app, &quote.to_string(), None).await;
    assert_eq!(s, 201);
    let id = lead["id"].as_i64().unwrap();
    let token = lead["upload_token"].as_str().unwrap().to_string();
    // The worker runs the whole time, as in production.
    let w = Arc::new(worker(&pool, amo(&standin, &pool)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(w.clone().run(stopped));
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while crm_leads_of(&standin, id).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the lead never reached amoCRM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let crm_id = crm_leads_of(&standin, id)[0]["id"].as_i64().unwrap();
    while standin.notes(crm_id).is_empty() {
        assert!(std::time::Instant::now() < deadline, "no first note");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Photos arrive after the note; the answer to one follow-up note is lost (posted, then 502).
    standin.fail(
        "/notes",
        Some(axum::http::Method::POST),
        FaultKind::FailAfterWork,
        1,
    );
    let mut photos = Vec::new();
    for i in 0..3u8 {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend_from_slice(&[i; 32]);
        let (s, v) = app
            .request(
                Request::post(format!("/api/v1/leads/{id}/attachments?name=photo-{i}.png"))
                    .header("x-upload-token", &token)
                    .body(Body::from(png))
                    .unwrap(),
            )
            .await;
        assert_eq!(s, 201, "{v}");
        photos.push(v["sha256"].as_str().unwrap().to_string());
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !sqlx::query_scalar::<_, bool>("SELECT bool_and(noted) FROM lead_attachments")
        .fetch_one(&pool)
        .await
        .unwrap()
    {
        assert!(std::time::Instant::now() < deadline, "photos not all noted");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = stop.send(true);
    task.await.unwrap();
    assert_eq!(state_of(&pool, id).await, "synced");
    let notes: Vec<String> = standin
        .notes(crm_id)
        .iter()
        .map(|n| n["params"]["text"].as_str().unwrap().to_string())
        .collect();
    for sha in &photos {
        let n = notes.iter().filter(|t| t.contains(sha.as_str())).count();
        assert_eq!(n, 1, "photo {sha} in {n} notes: {notes:#?}");
    }
    assert!(
        notes[1..]
            .iter()
            .all(|t| t.starts_with("Дополнительные файлы к заявке №")),
        "{notes:#?}"
    );
}

/// A lead request as if from `ip` (the address the server's listener reports).
fn lead_from(ip: [u8; 4], body: &str, xff: Option<&str>) -> Request<Body> {
    let mut r = Request::post("/api/v1/leads").header("content-type", "application/json");
    if let Some(x) = xff {
        r = r.header("x-forwarded-for", x);
    }
    let mut r = r.body(Body::from(body.to_string())).unwrap();
    r.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            ip, 40000,
        ))));
    r
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_flood_from_one_address_is_cut_off_and_a_real_customer_still_gets_through(pool: PgPool) {
    let limits = leads::limits::Limits {
        leads_per_caller: 20,
        leads_per_phone: 5,
        ..Default::default()
    };
    let app = spawn_limited(
        pool.clone(),
        Some(hashing()),
        tempfile::tempdir().unwrap(),
        "test",
        limits,
    )
    .await;
    app.import(&small_catalog(), false).await;
    let (mut created, mut limited) = (0, 0);
    for i in 0..1000 {
        let body = json!({"source": "site", "kind": "callback",
                          "contact": {"phone": format!("+7912{:07}", i)}});
        let res = tower::ServiceExt::oneshot(
            app.router.clone(),
            lead_from([203, 0, 113, 7], &body.to_string(), None),
        )
        .await
        .unwrap();
        match res.status().as_u16() {
            201 => created += 1,
            429 => {
                limited += 1;
                let retry: u64 = res.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=600).contains(&retry), "{retry}");
            }
            s => panic!("unexpected {s}"),
        }
    }
    assert_eq!((created, limited), (20, 980));
    // A forged X-Forwarded-For does not help without a trusted proxy in front.
    let body = json!({"source": "site", "kind": "callback", "contact": {"phone": "+79990000001"}})
        .to_string();
    let (s, v) = app
        .request(lead_from([203, 0, 113, 7], &body, Some("198.51.100.1")))
        .await;
    assert_eq!(
        (s.as_u16(), v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{v}"
    );
    // One phone number cannot be used for more than its own limit from many addresses.
    let same_phone =
        json!({"source": "site", "kind": "callback", "contact": {"phone": "8 912 555-44-33"}})
            .to_string();
    let statuses: Vec<u16> = futures::future::join_all((0..7u8).map(|i| {
        tower::ServiceExt::oneshot(
            app.router.clone(),
            lead_from([198, 51, 100, i], &same_phone, None),
        )
    }))
    .await
    .into_iter()
    .map(|r| r.unwrap().status().as_u16())
    .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        5,
        "{statuses:?}"
    );

    // A real customer from another address is accepted and reaches amoCRM promptly, ahead of
    // nothing but the 25 leads that were let in.
    let (s, v) = app.request(lead_from([192, 0, 2, 10], &cart(), None)).await;
    assert_eq!(s, 201, "{v}");
    let id = v["id"].as_i64().unwrap();
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let w = worker(&pool, amo(&standin, &pool));
    let started = std::time::Instant::now();
    deliver(&pool, &w, id, 60).await;
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM leads")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 26);
    println!(
        "the customer's lead reached amoCRM {:?} after the flood",
        started.elapsed()
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_repeated_won_event_is_processed_when_the_first_registered_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    sqlx::query("INSERT INTO clients (company, phone) VALUES ('ООО Ромашка', '+79123456789')")
        .execute(&pool)
        .await
        .unwrap();
    let contact = standin.add_contact("ООО Ромашка", &["8 (912) 345-67-89"]);
    // The deal names a product the catalog does not have yet: the first event goes to review.
    let deal = standin.add_deal(
        "Пресс",
        142,
        contact,
        &[(SERIAL_FIELD, "SN-7000"), (PRODUCT_FIELD, "PRESS-9")],
    );
    let worker = passport_worker(&pool, &standin);
    let (s, _) = post_hook(&app, WEBHOOK_SECRET, &webhook_body(&[(deal, 142)])).await;
    assert_eq!(s, 200);
    while worker.run_once().await.unwrap().is_some() {}
    let state: String = sqlx::query_scalar("SELECT state FROM crm_webhook_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, "review");
    // The product is added; amoCRM sends the deal's won status again (a manager re-saved it).
    app.import(
        &doc(
            "M-9",
            "product",
            "PRESS-9",
            "Пресс гидравлический П-9",
            json!({"model": "П-9"}),
        ),
        false,
    )
    .await;
    let (s, _) = post_hook(&app, WEBHOOK_SECRET, &webhook_body(&[(deal, 142)])).await;
    assert_eq!(s, 200);
    while worker.run_once().await.unwrap().is_some() {}
    let machines: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT serial_number, product_id FROM machine_instances")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        machines,
        vec![("SN-7000".to_string(), Some("M-9".to_string()))]
    );
    // Once done, a third delivery of the same event changes nothing.
    let (s, _) = post_hook(&app, WEBHOOK_SECRET, &webhook_body(&[(deal, 142)])).await;
    assert_eq!(s, 200);
    while worker.run_once().await.unwrap().is_some() {}
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM machine_instances")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_role_does_not_travel_to_another_client(pool: PgPool) {
    sqlx::query("INSERT INTO clients (company, phone) VALUES ('ООО Альфа', '+79120000001'), ('ООО Бета', '+79120000002')")
        .execute(&pool)
        .await
        .unwrap();
    let link = |phone: &'static str| {
        leads::account::link_telegram_user(&pool, leads::TelegramId(42), phone, "Пётр", None)
    };
    assert_eq!(
        link("+79120000001").await.unwrap().role.as_deref(),
        Some("engineer")
    );
    sqlx::query("UPDATE telegram_users SET role = 'director' WHERE telegram_id = 42")
        .execute(&pool)
        .await
        .unwrap();
    // The same client again: the director stays a director.
    assert_eq!(
        link("+79120000001").await.unwrap().role.as_deref(),
        Some("director")
    );
    // Linked to another company: an engineer there, not its director.
    assert_eq!(
        link("+79120000002").await.unwrap().role.as_deref(),
        Some("engineer")
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn the_passport_binds_the_machine_to_the_deals_main_contact(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let buyer: i64 = sqlx::query_scalar("INSERT INTO clients (company, phone) VALUES ('ООО Покупатель', '+79120000005') RETURNING id")
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO clients (company, phone) VALUES ('Дилер', '+79120000006')")
        .execute(&pool)
        .await
        .unwrap();
    // The dealer's contact is listed first; the buyer is the deal's main contact.
    let dealer = standin.add_contact("Дилер", &["+7 912 000-00-06"]);
    let main = standin.add_contact("ООО Покупатель", &["+7 912 000-00-05"]);
    let deal = standin.add_deal(
        "Станок 16К20",
        142,
        dealer,
        &[(SERIAL_FIELD, "SN-5555"), (PRODUCT_FIELD, "16K20-710")],
    );
    standin.add_deal_contact(deal, main, true);
    let (s, _) = post_hook(&app, WEBHOOK_SECRET, &webhook_body(&[(deal, 142)])).await;
    assert_eq!(s, 200);
    let worker = passport_worker(&pool, &standin);
    while worker.run_once().await.unwrap().is_some() {}
    let owner: i64 = sqlx::query_scalar(
        "SELECT client_id FROM machine_instances WHERE serial_number = 'SN-5555'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(owner, buyer);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn two_replicas_together_stay_within_amocrms_seven_requests_a_second(pool: PgPool) {
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    // Two server replicas: two clients, each with its own process state, one database.
    let (a, b) = (amo(&standin, &pool), amo(&standin, &pool));
    let calls = (0..24).map(|i| {
        let c = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { c.find_contact_by_phone("+79120000009").await }
    });
    let results = futures::future::join_all(calls).await;
    let failed: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(standin.throttled(), 0, "amoCRM answered 429");
    assert!(
        standin.max_per_second() <= 7,
        "{} in one second",
        standin.max_per_second()
    );
    assert!(standin.requests().len() >= 24);
}
