//! The bot speaks first: orders from won deals, carrier tracking and notifications, against
//! real Postgres, the real router, and local stand-ins of amoCRM, CDEK and the Bot API.

use crate::helpers::*;
use axum::body::Body;
use axum::http::Request;
use e2e::amocrm_standin::AmoStandIn;
use e2e::cdek_standin::CdekStandIn;
use e2e::telegram_standin::TelegramStandIn;
use leads::amocrm::{AmoAuth, AmoClient, AmoConfig};
use leads::notify::{Notifier, NotifierConfig};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCESS: &str = "long-lived-test-token";
const SERIAL_FIELD: i64 = 701;
const PRODUCT_FIELD: i64 = 702;

fn notifier(pool: &PgPool, tg: &TelegramStandIn, workers: usize) -> Arc<Notifier> {
    let mut cfg = NotifierConfig::new(&tg.url(), BOT_TOKEN);
    cfg.workers = workers;
    cfg.lease = Duration::from_secs(2);
    cfg.timeout = Duration::from_secs(5);
    Arc::new(Notifier::new(pool.clone(), cfg))
}

async fn pending(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notifications WHERE state = 'pending'")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Runs `n` until no notification is pending (the per-chat spacing may make a round find
/// nothing due for a moment).
async fn drain(pool: &PgPool, n: &Notifier) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(pool).await > 0 {
        assert!(Instant::now() < deadline, "notifications still pending");
        if n.run_once().await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn user(pool: &PgPool, id: i64, client: i64, role: &str) {
    sqlx::query(
        "INSERT INTO telegram_users (telegram_id, client_id, role, first_name)
         VALUES ($1, $2, $3::telegram_role, 'Тест')",
    )
    .bind(id)
    .bind(client)
    .bind(role)
    .execute(pool)
    .await
    .unwrap();
}

async fn machine(pool: &PgPool, client: i64, serial: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO machine_instances (serial_number, product_id, model, client_id)
         VALUES ($1, 'M-1', '16К20', $2) RETURNING id",
    )
    .bind(serial)
    .bind(client)
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn admin(app: &TestApp, uri: &str, body: Value) -> (u16, Value) {
    let (s, v) = app
        .request(
            Request::post(uri)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    (s.as_u16(), v)
}

async fn as_user(
    app: &TestApp,
    method: &str,
    uri: &str,
    user: i64,
    body: Option<Value>,
) -> (u16, Value) {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
        .header("x-telegram-user-id", user.to_string());
    if body.is_some() {
        r = r.header("content-type", "application/json");
    }
    let (s, v) = app
        .request(
            r.body(body.map(|b| Body::from(b.to_string())).unwrap_or_default())
                .unwrap(),
        )
        .await;
    (s.as_u16(), v)
}

fn texts_to(tg: &TelegramStandIn, chat: i64) -> Vec<String> {
    tg.sent()
        .iter()
        .filter(|s| s.chat_id == chat && s.method == "sendmessage")
        .map(|s| s.text().to_string())
        .collect()
}

async fn ticket(pool: &PgPool, machine: i64, client: i64) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO service_tickets (machine_instance_id, client_id, kind, description)
         VALUES ($1, $2, 'repair', 'Стук в шпинделе') RETURNING id",
    )
    .bind(machine)
    .bind(client)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_ticket_status_change_reaches_each_engineer_of_the_client_once_across_a_restart(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let tg = TelegramStandIn::start(BOT_TOKEN).await;
    let own = client(&pool, "ООО Ромашка", "+79120000001").await;
    let other = client(&pool, "АО Другое", "+79120000002").await;
    for (id, c, role) in [
        (501, own, "engineer"),
        (502, own, "engineer"),
        (503, own, "director"),
        (504, own, "procurement"),
        (601, other, "engineer"),
    ] {
        user(&pool, id, c, role).await;
    }
    let m = machine(&pool, own, "SN-1").await;
    let theirs = machine(&pool, other, "SN-2").await;
    let t = ticket(&pool, m, own).await;
    let their_ticket = ticket(&pool, theirs, other).await;
    // The machines themselves were announced; this test is about tickets.
    sqlx::query("DELETE FROM notifications")
        .execute(&pool)
        .await
        .unwrap();

    let (s, v) = admin(
        &app,
        &format!("/api/v1/admin/tickets/{t}/status"),
        json!({"status": "in_progress", "comment": "Выехал инженер Петров"}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let queued: Vec<i64> = sqlx::query_scalar(
        "SELECT telegram_id FROM notifications WHERE kind = 'ticket_status' ORDER BY telegram_id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        queued,
        vec![501, 502],
        "the client's engineers, nobody else"
    );

    // The first server sends one message and stops.
    let first = notifier(&pool, &tg, 1);
    assert!(matches!(
        first.run_once().await.unwrap(),
        Some((_, leads::notify::Outcome::Sent { .. }))
    ));
    drop(first);
    // While no server runs, the ticket moves on, and a worker dies holding a claim.
    let (s, _) = admin(
        &app,
        &format!("/api/v1/admin/tickets/{t}/status"),
        json!({"status": "waiting_parts", "comment": "Ждём подшипник"}),
    )
    .await;
    assert_eq!(s, 200);
    sqlx::query(
        "UPDATE notifications SET locked_until = now() + interval '1 second', attempts = attempts + 1
         WHERE id = (SELECT min(id) FROM notifications WHERE state = 'pending')",
    )
    .execute(&pool)
    .await
    .unwrap();
    // Another client's ticket changes too.
    let (s, _) = admin(
        &app,
        &format!("/api/v1/admin/tickets/{their_ticket}/status"),
        json!({"status": "done"}),
    )
    .await;
    assert_eq!(s, 200);

    // The restarted server delivers the rest.
    let second = notifier(&pool, &tg, 2);
    drain(&pool, &second).await;
    for engineer in [501, 502] {
        let got = texts_to(&tg, engineer);
        assert_eq!(
            got.len(),
            2,
            "one message per change to {engineer}: {got:#?}"
        );
        assert!(
            got.iter()
                .any(|t| t.contains("в работе") && t.contains("Выехал инженер Петров")),
            "{got:#?}"
        );
        assert!(
            got.iter()
                .any(|t| t.contains("ждём запчасти") && t.contains("Ждём подшипник")),
            "{got:#?}"
        );
    }
    assert!(texts_to(&tg, 503).is_empty() && texts_to(&tg, 504).is_empty());
    assert_eq!(
        texts_to(&tg, 601).len(),
        1,
        "the other client's engineer hears of their own ticket only"
    );
    assert!(texts_to(&tg, 601)[0].contains("выполнена"));
    // Seeing the same status again announces nothing.
    sqlx::query("UPDATE service_tickets SET status = 'waiting_parts' WHERE id = $1")
        .bind(t)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(pending(&pool).await, 0);
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_user_who_blocked_the_bot_is_skipped_and_the_rest_delivered(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let tg = TelegramStandIn::start(BOT_TOKEN).await;
    let own = client(&pool, "ООО Ромашка", "+79120000001").await;
    for id in [701, 702, 703] {
        user(&pool, id, own, "engineer").await;
    }
    let m = machine(&pool, own, "SN-1").await;
    let t = ticket(&pool, m, own).await;
    sqlx::query("DELETE FROM notifications")
        .execute(&pool)
        .await
        .unwrap();
    tg.block(702);
    // 703 switched ticket news off through the bot's settings.
    let (s, v) = as_user(
        &app,
        "PUT",
        "/api/v1/telegram/notifications",
        703,
        Some(json!({"kinds": {"ticket_status": false}})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["kinds"][0],
        json!({"kind": "ticket_status", "label": "Статус ремонтов", "enabled": false})
    );
    let (s, v) = as_user(
        &app,
        "PUT",
        "/api/v1/telegram/notifications",
        703,
        Some(json!({"kinds": {"weather": true}})),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"]["message"].as_str().is_some());

    admin(
        &app,
        &format!("/api/v1/admin/tickets/{t}/status"),
        json!({"status": "accepted"}),
    )
    .await;
    let n = notifier(&pool, &tg, 2);
    drain(&pool, &n).await;
    assert_eq!(texts_to(&tg, 701).len(), 1);
    assert!(texts_to(&tg, 702).is_empty() && texts_to(&tg, 703).is_empty());
    let states: Vec<(i64, String)> =
        sqlx::query_as("SELECT telegram_id, state FROM notifications ORDER BY telegram_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(states, vec![(701, "sent".into()), (702, "skipped".into())]);
    let blocked: bool = sqlx::query_scalar(
        "SELECT blocked_at IS NOT NULL FROM telegram_users WHERE telegram_id = 702",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(blocked);

    // Later changes are not even queued for the blocked user, until they speak to the bot.
    admin(
        &app,
        &format!("/api/v1/admin/tickets/{t}/status"),
        json!({"status": "in_progress"}),
    )
    .await;
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE telegram_id = 702")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(queued, 1, "only the skipped one");
    let (s, _) = as_user(&app, "GET", "/api/v1/telegram/me", 702, None).await;
    assert_eq!(s, 200);
    admin(
        &app,
        &format!("/api/v1/admin/tickets/{t}/status"),
        json!({"status": "done"}),
    )
    .await;
    drain(&pool, &n).await;
    assert_eq!(texts_to(&tg, 701).len(), 3);
    assert_eq!(
        texts_to(&tg, 702).len(),
        0,
        "the stand-in still refuses: blocked again"
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn two_hundred_notifications_at_once_stay_within_telegrams_limits(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let tg = TelegramStandIn::start(BOT_TOKEN).await;
    let own = client(&pool, "ООО Ромашка", "+79120000001").await;
    for id in 0..40 {
        user(&pool, 9000 + id, own, "procurement").await;
    }
    sqlx::query("INSERT INTO orders (number, client_id, total_rub) VALUES ('Z-1', $1, 1000)")
        .bind(own)
        .execute(&pool)
        .await
        .unwrap();
    let (s, v) = admin(
        &app,
        "/api/v1/admin/shipments",
        json!({"order": "z-1", "carrier": "Деловые линии"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let shipment = v["id"].as_i64().unwrap();
    for (status, place) in [
        ("handed_to_carrier", "Москва"),
        ("in_transit", "Казань"),
        ("in_transit", "Уфа"),
        ("arrived", "Челябинск"),
        ("delivered", "Челябинск"),
    ] {
        let (s, v) = admin(
            &app,
            &format!("/api/v1/admin/shipments/{shipment}/events"),
            json!({"status": status, "location": place}),
        )
        .await;
        assert_eq!(s, 201, "{v}");
    }
    assert_eq!(pending(&pool).await, 200);

    // Two replicas, eight senders each.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let mut tasks = notifier(&pool, &tg, 8).spawn(stopped.clone());
    tasks.extend(notifier(&pool, &tg, 8).spawn(stopped));
    let deadline = Instant::now() + Duration::from_secs(90);
    while pending(&pool).await > 0 {
        assert!(Instant::now() < deadline, "not delivered in 90 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = started.elapsed();
    stop.send(true).unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let (overall, per_chat) = tg.peak_rates();
    println!("200 notifications in {took:?}; peak {overall}/s overall, {per_chat}/s per chat");
    assert!(
        overall <= 30,
        "Telegram allows about 30 messages a second, the stand-in saw {overall}"
    );
    assert_eq!(per_chat, 1, "one message a second per chat at most");
    for id in 0..40 {
        assert_eq!(
            texts_to(&tg, 9000 + id).len(),
            5,
            "each change once to {id}"
        );
    }
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_carrier_event_reaches_procurement_once_and_shows_on_the_shipment_screen(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let tg = TelegramStandIn::start(BOT_TOKEN).await;
    let cdek = CdekStandIn::start("client-1", "secret-1").await;
    let own = client(&pool, "ООО Ромашка", "+79120000001").await;
    user(&pool, 801, own, "procurement").await;
    user(&pool, 802, own, "engineer").await;
    sqlx::query("INSERT INTO orders (number, client_id, total_rub) VALUES ('CRM-77', $1, 15800)")
        .bind(own)
        .execute(&pool)
        .await
        .unwrap();
    let (s, v) = admin(
        &app,
        "/api/v1/admin/shipments",
        json!({"order": "CRM-77", "carrier": "cdek", "tracking_no": "1106207236"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    cdek.add_status(
        "1106207236",
        "ACCEPTED",
        "Принят",
        "Москва",
        "2026-12-01T10:05:00+0300",
    );
    cdek.set_planned_delivery("1106207236", "2026-12-07");
    let poller = leads::tracking::Poller::new(
        pool.clone(),
        leads::tracking::Cdek::new(leads::tracking::CdekConfig {
            base_url: cdek.url(),
            client_id: "client-1".into(),
            client_secret: "secret-1".into(),
            timeout: Duration::from_secs(5),
        }),
        Duration::ZERO,
    );
    let n = notifier(&pool, &tg, 1);
    assert_eq!(poller.run_once().await.unwrap().map(|p| p.1), Some(1));
    drain(&pool, &n).await;
    let got = texts_to(&tg, 801);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(
        got[0].contains("Заказ CRM-77: готовится к отгрузке") && got[0].contains("СДЭК 1106207236"),
        "{got:#?}"
    );
    assert!(got[0].contains("07.12.2026"), "{got:#?}");

    // Nothing new: nothing said. A new status, after the token expired: one message.
    assert_eq!(poller.run_once().await.unwrap().map(|p| p.1), Some(0));
    cdek.add_status(
        "1106207236",
        "SENT_TO_TRANSIT_CITY",
        "Отправлен в г. транзит",
        "Екатеринбург",
        "2026-12-03T18:00:00+0500",
    );
    cdek.expire_tokens();
    assert_eq!(poller.run_once().await.unwrap().map(|p| p.1), Some(1));
    drain(&pool, &n).await;
    let got = texts_to(&tg, 801);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(
        got[1].contains("в пути") && got[1].contains("Екатеринбург"),
        "{got:#?}"
    );
    assert!(
        texts_to(&tg, 802).is_empty(),
        "engineers do not get shipments"
    );

    // The shipment screen procurement opens in the bot.
    let (s, v) = as_user(
        &app,
        "GET",
        &format!("/api/v1/clients/{own}/orders/CRM-77/shipments"),
        801,
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let sh = &v["shipments"][0];
    assert_eq!(sh["status"], "in_transit", "{v}");
    assert_eq!(sh["eta"], "2026-12-07", "{v}");
    let places: Vec<&str> = sh["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["location"].as_str())
        .collect();
    assert_eq!(places, vec!["Москва", "Екатеринбург"], "{v}");
}

fn webhook(group: &str, changes: &[(i64, i64)]) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (i, (lead, status)) in changes.iter().enumerate() {
        pairs.push((format!("leads[{group}][{i}][id]"), lead.to_string()));
        pairs.push((
            format!("leads[{group}][{i}][status_id]"),
            status.to_string(),
        ));
        pairs.push((format!("leads[{group}][{i}][pipeline_id]"), "5553".into()));
    }
    pairs.push(("account[subdomain]".into(), "stanki".into()));
    serde_urlencoded::to_string(&pairs).unwrap()
}

async fn post_hook(app: &TestApp, body: &str) -> Value {
    let (s, v) = app
        .request(
            Request::post(format!("/api/v1/webhooks/amocrm/{WEBHOOK_SECRET}"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    v
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn a_won_deal_becomes_one_order_and_later_edits_update_it(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let standin = AmoStandIn::start(ACCESS, "refresh-0").await;
    let own = client(&pool, "ООО Ромашка", "+79123456789").await;
    user(&pool, 901, own, "director").await;
    user(&pool, 902, own, "engineer").await;
    user(&pool, 903, own, "procurement").await;
    let contact = standin.add_contact("ООО Ромашка", &["8 (912) 345-67-89"]);
    // A cart order of ours became this deal; another deal sells a machine.
    let parts = standin.add_deal("Запчасти по заявке с сайта", 142, contact, &[]);
    standin.set_deal_field(parts, "price", json!(16250));
    standin.set_deal_field(parts, "closed_at", json!(1_764_547_200)); // 2025-12-01 00:00 UTC
    sqlx::query(
        "INSERT INTO leads (source, kind, client_id, contact_phone, payload, crm_lead_id, sync_state)
         VALUES ('site', 'cart', $1, '+79123456789', $2, $3, 'synced')",
    )
    .bind(own)
    .bind(json!({"lines": [
        {"catalog_id": "P-1", "sku": "6205-2RS", "name": "Подшипник шариковый 6205-2RS SKF", "qty": 1, "price_rub": 450.0},
        {"catalog_id": "P-3", "sku": "SFU1605-600", "name": "Шарико-винтовая пара SFU1605 600 мм", "qty": 1, "price_rub": 15800.0}],
        "total_rub": 16250.0}))
    .bind(parts)
    .execute(&pool)
    .await
    .unwrap();
    let lathe = standin.add_deal(
        "Станок 16К20",
        142,
        contact,
        &[(SERIAL_FIELD, "SN-0042"), (PRODUCT_FIELD, "16K20-710")],
    );
    let talks = standin.add_deal("Обрабатывающий центр", 142553, contact, &[]);

    let mut cfg = AmoConfig::new(
        standin.base_url.clone(),
        "stanki",
        AmoAuth::LongLived(ACCESS.into()),
    );
    cfg.timeout = Duration::from_secs(2);
    let worker = leads::passport::PassportWorker::new(
        pool.clone(),
        Arc::new(AmoClient::new(cfg, pool.clone())),
        leads::passport::PassportConfig {
            serial_field_id: SERIAL_FIELD,
            product_field_id: PRODUCT_FIELD,
            alert_after_attempts: 5,
            lease: Duration::from_secs(5),
        },
    );
    let orders = || async {
        sqlx::query_as::<_, (String, String, f64, Option<String>, String, i64)>(
            "SELECT number, status::text, total_rub::float8, crm_status, category,
                    (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id)
             FROM orders o ORDER BY crm_deal_id",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
    };
    post_hook(
        &app,
        &webhook("status", &[(parts, 142), (lathe, 142), (talks, 142553)]),
    )
    .await;
    while worker.run_once().await.unwrap().is_some() {}
    let first = orders().await;
    assert_eq!(
        first,
        vec![
            (
                format!("CRM-{parts}"),
                "confirmed".into(),
                16250.0,
                Some("won".into()),
                "parts".into(),
                2
            ),
            (
                format!("CRM-{lathe}"),
                "confirmed".into(),
                1_729_000.0,
                Some("won".into()),
                "equipment".into(),
                0
            ),
            (
                format!("CRM-{talks}"),
                "new".into(),
                1_729_000.0,
                Some("in_work".into()),
                "parts".into(),
                0
            ),
        ]
    );
    let at: String = sqlx::query_scalar("SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM orders WHERE crm_deal_id = $1")
        .bind(parts)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        at, "2025-12-01 00:00",
        "a won order is dated by the deal's closing"
    );

    // A replayed webhook stores nothing; processing it again changes nothing.
    let v = post_hook(&app, &webhook("status", &[(parts, 142), (lathe, 142)])).await;
    assert_eq!(v["stored"], 0);
    sqlx::query("UPDATE crm_webhook_events SET state = 'pending'")
        .execute(&pool)
        .await
        .unwrap();
    while worker.run_once().await.unwrap().is_some() {}
    assert_eq!(orders().await, first);

    // The manager edits the price after the deal was won; the deal in talks is lost.
    standin.set_deal_field(lathe, "price", json!(1_650_000));
    standin.set_status(talks, 143);
    post_hook(&app, &webhook("update", &[(lathe, 142)])).await;
    post_hook(&app, &webhook("status", &[(talks, 143)])).await;
    while worker.run_once().await.unwrap().is_some() {}
    let now = orders().await;
    assert_eq!(now.len(), 3, "never a second order for a deal");
    assert_eq!(now[1].2, 1_650_000.0);
    assert_eq!(
        (now[2].1.as_str(), now[2].3.as_deref()),
        ("cancelled", Some("lost"))
    );

    // The machine of the won deal was announced to the director and the engineer.
    let told: Vec<(i64, String)> =
        sqlx::query_as("SELECT telegram_id, kind::text FROM notifications ORDER BY telegram_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        told,
        vec![(901, "new_machine".into()), (902, "new_machine".into())]
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn spend_is_cut_in_moscow_time_around_a_month_boundary(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let own = client(&pool, "ООО Ромашка", "+79120000001").await;
    let other = client(&pool, "АО Другое", "+79120000002").await;
    user(&pool, 951, own, "director").await;
    user(&pool, 952, own, "engineer").await;
    let m = machine(&pool, own, "SN-1").await;
    // (number, client, total, status, crm_status, category, at in UTC)
    type SeedOrder<'a> = (
        &'a str,
        i64,
        f64,
        &'a str,
        Option<&'a str>,
        &'a str,
        &'a str,
    );
    let orders: &[SeedOrder] = &[
        // 00:30 on 1 November in Moscow: November.
        (
            "A",
            own,
            1_000_000.0,
            "confirmed",
            Some("won"),
            "equipment",
            "2026-10-31 21:30+00",
        ),
        // 23:30 on 31 October in Moscow: October.
        (
            "B",
            own,
            50_000.0,
            "delivered",
            Some("won"),
            "parts",
            "2026-10-31 20:30+00",
        ),
        // A deal still in talks and a cancelled order are not spend.
        (
            "C",
            own,
            7_000.0,
            "new",
            Some("in_work"),
            "parts",
            "2026-11-05 10:00+00",
        ),
        (
            "D",
            own,
            3_000.0,
            "cancelled",
            None,
            "parts",
            "2026-11-06 10:00+00",
        ),
        // An order typed in by hand.
        (
            "E",
            own,
            2_500.0,
            "new",
            None,
            "parts",
            "2026-11-10 10:00+00",
        ),
        // Another client's.
        (
            "F",
            other,
            500_000.0,
            "confirmed",
            Some("won"),
            "equipment",
            "2026-11-02 10:00+00",
        ),
    ];
    for (number, c, total, status, crm, cat, at) in orders {
        sqlx::query(
            "INSERT INTO orders (number, client_id, total_rub, status, crm_status, category, created_at)
             VALUES ($1, $2, $3, $4::order_status, $5, $6, $7::timestamptz)",
        )
        .bind(number)
        .bind(c)
        .bind(total)
        .bind(status)
        .bind(crm)
        .bind(cat)
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    // Service: a ticket closed at 00:10 on 1 December in Moscow (December), one in November,
    // and other maintenance spend on the last day of each month.
    for (cost, closed) in [
        (12_000.0, "2026-11-30 21:10+00"),
        (8_000.0, "2026-11-15 09:00+00"),
    ] {
        sqlx::query(
            "INSERT INTO service_tickets (machine_instance_id, client_id, kind, status, cost_rub, created_at, closed_at)
             VALUES ($1, $2, 'repair', 'done', $3, $4::timestamptz - interval '3 days', $4::timestamptz)",
        )
        .bind(m)
        .bind(own)
        .bind(cost)
        .bind(closed)
        .execute(&pool)
        .await
        .unwrap();
    }
    sqlx::query(
        "INSERT INTO maintenance_spend (client_id, amount_rub, spent_on)
         VALUES ($1, 4000, '2026-11-30'), ($1, 6000, '2026-10-01')",
    )
    .bind(own)
    .execute(&pool)
    .await
    .unwrap();

    let spend = |period: &'static str, today: &'static str| {
        let app = &app;
        async move {
            let (s, v) = as_user(
                app,
                "GET",
                &format!("/api/v1/clients/{own}/spend?period={period}&today={today}"),
                951,
                None,
            )
            .await;
            assert_eq!(s, 200, "{v}");
            v
        }
    };
    // By hand: November = A (equipment) + E (parts) + the November ticket + 30 Nov spend.
    let nov = (1_000_000.0, 2_500.0, 8_000.0 + 4_000.0);
    let oct = (0.0, 50_000.0, 6_000.0);
    let v = spend("month", "2026-11-15").await;
    let sums = |p: &Value| {
        (
            p["equipment_rub"].as_f64().unwrap(),
            p["parts_rub"].as_f64().unwrap(),
            p["service_rub"].as_f64().unwrap(),
        )
    };
    assert_eq!(sums(&v["current"]), nov, "{v}");
    assert_eq!(sums(&v["previous"]), oct, "{v}");
    assert_eq!(
        (v["current"]["from"].as_str(), v["current"]["to"].as_str()),
        (Some("2026-11-01"), Some("2026-12-01"))
    );
    let (tn, to) = (nov.0 + nov.1 + nov.2, oct.0 + oct.1 + oct.2);
    assert_eq!(v["current"]["total_rub"].as_f64(), Some(tn));
    assert_eq!(
        v["change_pct"].as_f64(),
        Some(((tn - to) / to * 1000.0).round() / 10.0)
    );
    assert_eq!(
        (v["deals_in_work"].as_i64(), v["deals_in_work_rub"].as_f64()),
        (Some(1), Some(7_000.0))
    );
    // December holds the ticket closed after midnight Moscow time.
    let v = spend("month", "2026-12-01").await;
    assert_eq!(sums(&v["current"]), (0.0, 0.0, 12_000.0), "{v}");
    // The quarter holds all of October to December.
    let v = spend("quarter", "2026-11-15").await;
    assert_eq!(
        sums(&v["current"]),
        (1_000_000.0, 52_500.0, 30_000.0),
        "{v}"
    );
    assert_eq!(v["change_pct"], Value::Null);
    // Only the director sees it; a bad date is a 400.
    let (s, _) = as_user(
        &app,
        "GET",
        &format!("/api/v1/clients/{own}/spend"),
        952,
        None,
    )
    .await;
    assert_eq!(s, 403);
    let (s, v) = as_user(
        &app,
        "GET",
        &format!("/api/v1/clients/{own}/spend?today=2026-13-40"),
        951,
        None,
    )
    .await;
    assert_eq!(s, 400, "{v}");
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn quiet_hours_hold_messages_until_they_end_in_moscow(pool: PgPool) {
    let tg = TelegramStandIn::start(BOT_TOKEN).await;
    // 22:00–08:00 Moscow time, seen from a few instants (UTC+3 all year).
    for (at, until) in [
        ("2026-12-04 20:30+00", Some("2026-12-05 05:00")), // 23:30 in Moscow
        ("2026-12-04 00:00+00", Some("2026-12-04 05:00")), // 03:00
        ("2026-12-04 07:00+00", None),                     // 10:00
        ("2026-12-04 05:00+00", None),                     // 08:00 sharp: over
    ] {
        let got: Option<String> = sqlx::query_scalar(
            "SELECT to_char(quiet_until(22::smallint, 8::smallint, $1::timestamptz) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')",
        )
        .bind(at)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(got.as_deref(), until, "at {at}");
    }
    // A user whose quiet hours cover now gets the news of a new machine only after them.
    let own = client(&pool, "ООО Ромашка", "+79120000001").await;
    user(&pool, 401, own, "engineer").await;
    user(&pool, 402, own, "engineer").await;
    sqlx::query(
        "UPDATE telegram_users SET quiet_from = extract(hour FROM now() AT TIME ZONE 'Europe/Moscow')::smallint,
                                   quiet_to = ((extract(hour FROM now() AT TIME ZONE 'Europe/Moscow')::int + 2) % 24)::smallint
         WHERE telegram_id = 401",
    )
    .execute(&pool)
    .await
    .unwrap();
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    machine(&pool, own, "SN-9").await;
    let n = notifier(&pool, &tg, 1);
    let mut outcomes = Vec::new();
    while let Some((_, o)) = n.run_once().await.unwrap() {
        outcomes.push(o);
    }
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, leads::notify::Outcome::Later(_))),
        "{outcomes:?}"
    );
    assert_eq!(texts_to(&tg, 402).len(), 1);
    assert!(texts_to(&tg, 402)[0]
        .contains("новый станок: Токарно-винторезный станок 16К20 РМЦ 710 мм, зав. № SN-9"));
    assert!(texts_to(&tg, 401).is_empty());
    let waits_hours: f64 = sqlx::query_scalar(
        "SELECT (extract(epoch FROM next_attempt_at - now()) / 3600)::float8 FROM notifications WHERE telegram_id = 401 AND state = 'pending'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        (1.0..=2.0).contains(&waits_hours),
        "waits until the quiet hours end: {waits_hours} h"
    );
}
