//! The real bot (`bot::run`) driven through the local Telegram Bot API stand-in, against the
//! real server on a TCP port, a fresh Postgres database and Redis (dialogue state). Tests play
//! Telegram users: they queue updates in the stand-in and read what the bot sent back.

use crate::helpers::*;
use axum::body::Body;
use axum::http::Request;
use bot::texts as t;
use e2e::telegram_standin::{Sent, TelegramStandIn};
use reqwest::Url;
use sqlx::PgPool;
use std::time::Duration;
use tokio::sync::oneshot;

const WAIT: Duration = Duration::from_secs(30);

fn redis_url() -> String {
    std::env::var("BOT_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/1".into())
}

/// A Telegram user id no earlier run used (dialogue state outlives test databases in Redis).
fn fresh_user() -> i64 {
    1_000_000_000 + rand::random::<u32>() as i64
}

struct World {
    app: TestApp,
    tg: TelegramStandIn,
    api: String,
    _stop_server: oneshot::Sender<()>,
}

struct RunningBot {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningBot {
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the bot stops within 20 s")
            .expect("the bot task ends without panicking");
    }
}

async fn world(pool: PgPool) -> World {
    let app = spawn_app(pool).await;
    app.import(&small_catalog(), false).await;
    app.sync().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app.router.clone();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await
    });
    let tg = TelegramStandIn::start(BOT_TOKEN).await;
    World {
        app,
        tg,
        api,
        _stop_server: stop,
    }
}

fn config(w: &World, mode: bot::Mode) -> bot::Config {
    bot::Config {
        token: BOT_TOKEN.to_string(),
        telegram_api_url: Some(Url::parse(&w.tg.url()).unwrap()),
        api_base_url: Url::parse(&format!("{}/", w.api)).unwrap(),
        service_token: BOT_SERVICE_TOKEN.to_string(),
        redis_url: redis_url(),
        mini_app_url: Some(Url::parse("https://shop.example.test/tma/catalog").unwrap()),
        mode,
        poll_timeout: Duration::from_secs(1),
    }
}

fn start_bot(w: &World, mode: bot::Mode) -> RunningBot {
    let cfg = config(w, mode);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        bot::run(cfg, async {
            let _ = stopped.await;
        })
        .await
        .expect("the bot runs");
    });
    RunningBot { stop, task }
}

impl World {
    /// The user sends `text` and the bot's first answer satisfying `pred` is returned.
    async fn say(&self, user: i64, text: &str, pred: impl Fn(&Sent) -> bool) -> Sent {
        let skip = self.tg.count_for(user);
        self.tg.send_text(user, text);
        self.tg.wait_for(user, skip, WAIT, pred).await
    }

    async fn press(
        &self,
        user: i64,
        message: i64,
        data: &str,
        pred: impl Fn(&Sent) -> bool,
    ) -> Sent {
        let skip = self.tg.count_for(user);
        self.tg.press(user, message, data);
        self.tg.wait_for(user, skip, WAIT, pred).await
    }

    async fn admin_post(&self, uri: &str, body: Body, content_type: &str) -> serde_json::Value {
        let (status, v) = self
            .app
            .request(
                Request::post(uri)
                    .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
                    .header("content-type", content_type)
                    .body(body)
                    .unwrap(),
            )
            .await;
        assert!(status.is_success(), "{uri}: {status} {v}");
        v
    }

    /// Links `user` to the client with `phone` through the bot (contact button) and gives them
    /// `role`; returns the menu the bot showed.
    async fn onboard(&self, user: i64, phone: &str, role: &str) -> Sent {
        self.say(user, "/start", |s| s.text() == t::ASK_PHONE).await;
        let skip = self.tg.count_for(user);
        self.tg.send_contact(user, phone, Some(user));
        self.tg
            .wait_for(user, skip, WAIT, |s| s.text().contains("Выберите раздел"))
            .await;
        if role != "engineer" {
            self.admin_post(
                &format!("/api/v1/admin/telegram-users/{user}/role"),
                Body::from(serde_json::json!({"role": role}).to_string()),
                "application/json",
            )
            .await;
        }
        self.say(user, "/menu", |s| s.text().contains("Выберите раздел"))
            .await
    }
}

fn is(text: &'static str) -> impl Fn(&Sent) -> bool {
    move |s| s.text() == text
}

fn has(text: &'static str) -> impl Fn(&Sent) -> bool {
    move |s| s.text().contains(text)
}

async fn machine(pool: &PgPool, client: i64, serial: &str, model: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO machine_instances (serial_number, product_id, model, client_id, sold_at)
         VALUES ($1, 'M-1', $2, $3, '2025-03-14') RETURNING id",
    )
    .bind(serial)
    .bind(model)
    .bind(client)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// Runs `;`-separated seed statements with `$1` = the own client, `$2` = the other one.
async fn seed(pool: &PgPool, own: i64, other: i64, sql: &str) {
    for stmt in sql.split(";\n").filter(|s| !s.trim().is_empty()) {
        let stmt = stmt
            .replace("$1", &own.to_string())
            .replace("$2", &other.to_string());
        sqlx::query(&stmt)
            .execute(pool)
            .await
            .unwrap_or_else(|e| panic!("seed: {e}: {stmt}"));
    }
}

const JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x00, 0x00, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x08, 0x06, 0x06, 0x07, 0x06, 0x05, 0x08,
    0xFF, 0xD9,
];

fn pdf(tag: &str) -> Vec<u8> {
    format!("%PDF-1.4\n% {tag}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
        .into_bytes()
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn engineer_park_sos_across_a_restart_tickets_and_knowledge_base(pool: PgPool) {
    let w = world(pool.clone()).await;
    let own = client(&pool, "ООО Ромашка", "+79123456789").await;
    let other = client(&pool, "АО Другое", "+79990001122").await;
    let mut machines = Vec::new();
    for i in 1..=7 {
        machines.push(machine(&pool, own, &format!("SN-{i}"), "16К20").await);
    }
    let foreign = machine(&pool, other, "SN-FOREIGN", "16К20").await;
    // Documents: one for the park's model (spelled with a Latin K), one for a model not in it.
    let manual = pdf("manual 16K20");
    let q = serde_urlencoded::to_string([
        ("title", "Руководство по эксплуатации 16К20"),
        ("doc_type", "manual"),
        ("models", "16K20, 16К20-РМЦ"),
        ("name", "16k20-manual.pdf"),
    ])
    .unwrap();
    let doc = w
        .admin_post(
            &format!("/api/v1/admin/documents?{q}"),
            Body::from(manual.clone()),
            "application/pdf",
        )
        .await;
    let q = serde_urlencoded::to_string([
        ("title", "Чертёж VF-2"),
        ("doc_type", "drawing"),
        ("models", "VF-2"),
    ])
    .unwrap();
    w.admin_post(
        &format!("/api/v1/admin/documents?{q}"),
        Body::from(pdf("vf2")),
        "application/pdf",
    )
    .await;

    let mut running = start_bot(&w, bot::Mode::Polling);
    let user = fresh_user();

    // Onboarding: the phone button; someone else's contact does not link.
    let ask = w.say(user, "/start", is(t::ASK_PHONE)).await;
    assert!(
        ask.body["reply_markup"]["keyboard"][0][0]["request_contact"] == true,
        "{:?}",
        ask.body
    );
    let skip = w.tg.count_for(user);
    w.tg.send_contact(user, "+79123456789", Some(user + 1));
    w.tg.wait_for(user, skip, WAIT, is(t::NOT_OWN_CONTACT))
        .await;
    let linked: Option<i64> =
        sqlx::query_scalar("SELECT client_id FROM telegram_users WHERE telegram_id = $1")
            .bind(user)
            .fetch_optional(&pool)
            .await
            .unwrap()
            .flatten();
    assert_eq!(linked, None, "a foreign contact must not link");
    let skip = w.tg.count_for(user);
    w.tg.send_contact(user, "8 (912) 345-67-89", Some(user));
    let menu =
        w.tg.wait_for(user, skip, WAIT, has("Выберите раздел"))
            .await;
    assert!(
        menu.text().contains("ООО Ромашка · инженер"),
        "{}",
        menu.text()
    );
    let buttons = menu.keyboard_buttons();
    for b in [t::BTN_PARK, t::BTN_SOS, t::BTN_TICKETS, t::BTN_KB] {
        assert!(buttons.contains(&b.to_string()), "{buttons:?}");
    }
    assert!(!buttons.contains(&t::BTN_SPEND.to_string()), "{buttons:?}");

    // Мой парк: 7 machines over two pages, never the other client's.
    let page1 = w.say(user, t::BTN_PARK, has("Мой парк")).await;
    assert!(
        page1.text().contains("станков: 7 (стр. 1/2)"),
        "{}",
        page1.text()
    );
    for i in 1..=5 {
        assert!(
            page1.text().contains(&format!("№SN-{i}\n")),
            "{}",
            page1.text()
        );
    }
    assert!(!page1.text().contains("SN-6") && !page1.text().contains("FOREIGN"));
    assert_eq!(
        page1.callback_buttons(),
        vec![("Вперёд ▶".to_string(), "park:1".to_string())]
    );
    let page2 = w
        .press(user, page1.message_id, "park:1", |s| {
            s.method == "editmessagetext"
        })
        .await;
    assert!(
        page2.text().contains("SN-6") && page2.text().contains("SN-7"),
        "{}",
        page2.text()
    );
    assert_eq!(page2.body["message_id"], page1.message_id);

    // SOS: the machine list is the user's park only; a forged button for another client's
    // machine is refused and opens nothing.
    let pick = w.say(user, t::BTN_SOS, is(t::SOS_PICK_MACHINE)).await;
    let offered: Vec<String> = pick.callback_buttons().into_iter().map(|b| b.1).collect();
    assert_eq!(offered.len(), 7);
    assert!(!offered.contains(&format!("sos:{foreign}")));
    w.press(
        user,
        pick.message_id,
        &format!("sos:{foreign}"),
        is(t::UNKNOWN_BUTTON),
    )
    .await;
    w.press(
        user,
        pick.message_id,
        &format!("sos:{}", machines[0]),
        has("Опишите неисправность"),
    )
    .await;
    w.say(
        user,
        "Шпиндель греется и стучит на 1000 об/мин",
        has("Фото: 0"),
    )
    .await;
    let skip = w.tg.count_for(user);
    w.tg.send_photo(user, JPEG, None);
    let summary = w.tg.wait_for(user, skip, WAIT, has("Фото: 1")).await;
    assert!(summary
        .callback_buttons()
        .iter()
        .any(|(_, d)| d == "sos_send"));

    // The bot restarts in the middle of the dialogue; the next press continues it.
    running.stop().await;
    running = start_bot(&w, bot::Mode::Polling);
    let done = w
        .press(user, summary.message_id, "sos_send", has("принята"))
        .await;
    let (tickets, leads): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM service_tickets WHERE machine_instance_id = $1),
                (SELECT count(*) FROM leads WHERE kind = 'sos' AND telegram_id = $2)",
    )
    .bind(machines[0])
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((tickets, leads), (1, 1), "exactly one ticket and one lead");
    let ticket: i64 =
        sqlx::query_scalar("SELECT id FROM service_tickets WHERE machine_instance_id = $1")
            .bind(machines[0])
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(
        done.text().contains(&format!("№{ticket} принята")),
        "{}",
        done.text()
    );
    let (description, photos): (String, i64) = sqlx::query_as(
        "SELECT t.description, (SELECT count(*) FROM lead_attachments a JOIN leads l ON l.id = a.lead_id
                                 WHERE l.telegram_id = $2 AND l.kind = 'sos' AND a.mime_type = 'image/jpeg')
         FROM service_tickets t WHERE t.id = $1",
    )
    .bind(ticket)
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(description, "Шпиндель греется и стучит на 1000 об/мин");
    assert_eq!(photos, 1);
    // A second press of the same button (a double tap) opens nothing more.
    w.press(user, summary.message_id, "sos_send", is(t::UNKNOWN_BUTTON))
        .await;
    let tickets: i64 = sqlx::query_scalar("SELECT count(*) FROM service_tickets")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tickets, 1);

    // Repair status with history, after service moves the ticket on.
    w.admin_post(
        &format!("/api/v1/admin/tickets/{ticket}/status"),
        Body::from(r#"{"status":"waiting_parts","comment":"заказан подшипник 6205-2RS"}"#),
        "application/json",
    )
    .await;
    let status = w.say(user, t::BTN_TICKETS, has("Заявки на ремонт")).await;
    assert!(
        status
            .text()
            .contains(&format!("№{ticket} — 16К20 №SN-1 — ждём запчасти")),
        "{}",
        status.text()
    );
    assert!(status.text().contains("· новая"), "{}", status.text());
    assert!(
        status
            .text()
            .contains("· ждём запчасти — заказан подшипник 6205-2RS"),
        "{}",
        status.text()
    );

    // Knowledge base: only documents for the park's models; the file arrives intact.
    let kb = w.say(user, t::BTN_KB, has("Документы")).await;
    assert!(
        kb.text().contains("Руководство по эксплуатации 16К20"),
        "{}",
        kb.text()
    );
    assert!(!kb.text().contains("VF-2"), "{}", kb.text());
    let doc_id = doc["id"].as_i64().unwrap();
    assert_eq!(kb.callback_buttons().len(), 1);
    let sent = w
        .press(user, kb.message_id, &format!("doc:{doc_id}"), |s| {
            s.method == "senddocument"
        })
        .await;
    let (name, bytes) = sent.file.clone().expect("a file was uploaded");
    assert_eq!(name, "16k20-manual.pdf");
    assert_eq!(bytes, manual);

    // An engineer typing a director's button is refused by the server.
    w.say(user, t::BTN_SPEND, is(t::FORBIDDEN)).await;
    running.stop().await;
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn director_sees_real_spend_projects_and_offers(pool: PgPool) {
    let w = world(pool.clone()).await;
    let own = client(&pool, "ООО Ромашка", "+79123456789").await;
    let other = client(&pool, "АО Другое", "+79990001122").await;
    // This month: 120 000 maintenance + 80 000 orders (+ a cancelled order that does not
    // count); last month 100 000 in orders; another client's spend is not ours.
    seed(
        &pool,
        own,
        other,
        "INSERT INTO maintenance_spend (client_id, amount_rub, spent_on) VALUES
           ($1, 120000, (now() AT TIME ZONE 'Europe/Moscow')::date), ($2, 5000000, (now() AT TIME ZONE 'Europe/Moscow')::date);
         INSERT INTO orders (number, client_id, status, total_rub, created_at) VALUES
           ('ЗК-1', $1, 'paid', 80000, now()), ('ЗК-2', $1, 'cancelled', 999999, now()),
           ('ЗК-0', $1, 'delivered', 100000,
            (date_trunc('month', now() AT TIME ZONE 'Europe/Moscow') - interval '10 days') AT TIME ZONE 'Europe/Moscow'),
           ('ЗК-9', $2, 'paid', 7777777, now());
         INSERT INTO modernization_projects (client_id, title, status, budget_rub, progress_pct, due_on) VALUES
           ($1, 'Модернизация 16К20: УЦИ и ЧПУ', 'active', 2500000, 40, '2027-03-01'),
           ($1, 'Старый проект', 'done', 1, 100, NULL),
           ($2, 'Чужой проект', 'active', 1, 1, NULL);
         INSERT INTO personal_offers (client_id, title, body, item_id, discount_pct, valid_until) VALUES
           ($1, 'Скидка на подшипники шпинделя', 'Для вашего 16К20', 'P-1', 15, current_date + 30),
           ($1, 'Истёкшее предложение', '', NULL, 5, current_date - 1),
           ($2, 'Чужое предложение', '', NULL, 50, NULL);",
    )
    .await;
    let running = start_bot(&w, bot::Mode::Polling);
    let director = fresh_user();
    let menu = w.onboard(director, "+7 912 345 67 89", "director").await;
    assert!(menu.text().contains("директор"), "{}", menu.text());
    assert!(menu.keyboard_buttons().contains(&t::BTN_SPEND.to_string()));

    let spend = w.say(director, t::BTN_SPEND, has("Текущий месяц")).await;
    let text = spend.text();
    assert!(
        text.contains("Сервис и ремонт: 120 000 ₽ (было 0 ₽)"),
        "{text}"
    );
    assert!(
        text.contains("Запчасти: 80 000 ₽ (было 100 000 ₽)"),
        "{text}"
    );
    assert!(text.contains("Итого: 200 000 ₽"), "{text}");
    assert!(text.contains("+100.0%"), "{text}");
    assert!(text.contains("прошлый месяц: 100 000 ₽"), "{text}");
    let year = w
        .press(director, spend.message_id, "spend:year", has("Текущий год"))
        .await;
    assert!(year.text().contains("Итого:"), "{}", year.text());

    let projects = w
        .say(director, t::BTN_PROJECTS, has("Проекты модернизации"))
        .await;
    assert!(
        projects.text().contains(
            "Модернизация 16К20: УЦИ и ЧПУ — в работе, готовность 40%, бюджет 2 500 000 ₽"
        ),
        "{}",
        projects.text()
    );
    assert!(!projects.text().contains("Старый") && !projects.text().contains("Чужой"));
    let offers = w
        .say(director, t::BTN_OFFERS, has("Персональные предложения"))
        .await;
    assert!(
        offers
            .text()
            .contains("Скидка на подшипники шпинделя — скидка 15%"),
        "{}",
        offers.text()
    );
    assert!(
        offers.text().contains("6205-2RS: 450 ₽"),
        "{}",
        offers.text()
    );
    assert!(!offers.text().contains("Истёкшее") && !offers.text().contains("Чужое"));

    // An engineer of the same client, and a user linked to no client, cannot reach them.
    let engineer = fresh_user();
    w.onboard(engineer, "+79123456789", "engineer").await;
    w.say(engineer, t::BTN_SPEND, is(t::FORBIDDEN)).await;
    w.say(engineer, t::BTN_PROJECTS, is(t::FORBIDDEN)).await;
    let stranger = fresh_user();
    w.say(stranger, t::BTN_SPEND, is(t::NEED_START)).await;
    running.stop().await;
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn procurement_quotes_by_photo_tracks_shipments_searches_and_orders(pool: PgPool) {
    let w = world(pool.clone()).await;
    let own = client(&pool, "ООО Ромашка", "+79123456789").await;
    let other = client(&pool, "АО Другое", "+79990001122").await;
    seed(
        &pool,
        own,
        other,
        "WITH o AS (INSERT INTO orders (number, client_id, status, total_rub) VALUES ('ЗК-1001', $1, 'shipped', 15800) RETURNING id),
              s AS (INSERT INTO shipments (order_id, carrier, tracking_no, status, eta)
                    SELECT id, 'ПЭК', 'PEK-123456', 'in_transit'::shipment_status, '2026-12-01'::date FROM o RETURNING id)
         INSERT INTO shipment_events (shipment_id, status, location)
         SELECT id, 'handed_to_carrier'::shipment_status, 'Москва' FROM s UNION ALL SELECT id, 'in_transit'::shipment_status, 'Казань' FROM s;
         INSERT INTO orders (number, client_id, status, total_rub) VALUES ('ЗК-2002', $2, 'new', 1);",
    )
    .await;
    let running = start_bot(&w, bot::Mode::Polling);
    let user = fresh_user();
    let menu = w.onboard(user, "+79123456789", "procurement").await;
    let buttons = menu.keyboard_buttons();
    assert!(buttons.contains(&t::BTN_QUOTE.to_string()), "{buttons:?}");
    // The catalog button opens the Mini App.
    let catalog = &menu.body["reply_markup"]["keyboard"][2][0];
    assert_eq!(
        catalog["web_app"]["url"],
        "https://shop.example.test/tma/catalog"
    );

    // Quote request by a photo of the nameplate: a `quote` lead with the file.
    w.say(user, t::BTN_QUOTE, is(t::ASK_FILE_QUOTE)).await;
    let skip = w.tg.count_for(user);
    w.tg.send_photo(user, JPEG, Some("Нужен такой двигатель, 2 шт."));
    let done =
        w.tg.wait_for(user, skip, WAIT, has("коммерческое предложение"))
            .await;
    let (lead, comment, phone): (i64, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT id, payload->>'comment', contact_phone FROM leads WHERE kind = 'quote' AND telegram_id = $1",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(done.text().contains(&format!("№{lead}")), "{}", done.text());
    assert_eq!(comment.as_deref(), Some("Нужен такой двигатель, 2 шт."));
    assert_eq!(phone.as_deref(), Some("+79123456789"));
    let sha: String = sqlx::query_scalar("SELECT sha256 FROM lead_attachments WHERE lead_id = $1")
        .bind(lead)
        .fetch_one(&pool)
        .await
        .unwrap();
    use sha2::Digest;
    assert_eq!(sha, hex::encode(sha2::Sha256::digest(JPEG)));
    // An invoice request by a PDF file.
    w.say(user, t::BTN_INVOICE, is(t::ASK_FILE_INVOICE)).await;
    let skip = w.tg.count_for(user);
    w.tg.send_document(user, &pdf("spec"), "спецификация.pdf", "application/pdf");
    w.tg.wait_for(user, skip, WAIT, has("на счёт")).await;
    let invoices: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM leads l JOIN lead_attachments a ON a.lead_id = l.id
         WHERE l.kind = 'invoice' AND a.file_name = 'спецификация.pdf'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(invoices, 1);

    // Shipment status: own order with its events; another client's order is "not found".
    w.say(user, t::BTN_SHIPMENT, is(t::ASK_ORDER_NUMBER)).await;
    let status = w.say(user, "зк-1001", has("Заказ ЗК-1001")).await;
    for part in [
        "отгружен",
        "ПЭК: в пути",
        "PEK-123456",
        "2026-12-01",
        "· Казань",
    ] {
        assert!(status.text().contains(part), "{part}: {}", status.text());
    }
    w.say(user, t::BTN_SHIPMENT, is(t::ASK_ORDER_NUMBER)).await;
    w.say(user, "ЗК-2002", has("не найден")).await;

    // Catalog search in the chat: the same top hit as the API.
    let (_, api) = w
        .app
        .search("q=%D0%BF%D0%BE%D0%B4%D1%88%D0%B8%D0%BF%D0%BD%D0%B8%D0%BA%206205-2RS&limit=5")
        .await;
    let top_sku = api["hits"][0]["sku"].as_str().unwrap().to_string();
    let top_id = api["hits"][0]["id"].as_str().unwrap().to_string();
    let found = w.say(user, "подшипник 6205-2RS", has("Найдено")).await;
    assert!(
        found.text().contains(&format!(
            "1. {}\nАрт. {top_sku}",
            api["hits"][0]["name"].as_str().unwrap()
        )),
        "{}",
        found.text()
    );
    let cart_button = found.callback_buttons()[0].clone();
    assert_eq!(cart_button.1, format!("cart:{top_id}"));
    w.press(
        user,
        found.message_id,
        &cart_button.1,
        has("добавлен в корзину"),
    )
    .await;
    w.press(
        user,
        found.message_id,
        &cart_button.1,
        has("добавлен в корзину"),
    )
    .await;
    let cart = w.say(user, t::BTN_CART, has("Корзина:")).await;
    assert!(
        cart.text().contains(&format!("{top_sku} —")),
        "{}",
        cart.text()
    );
    assert!(
        cart.text().contains("2 × 450 ₽") && cart.text().contains("Итого: 900 ₽"),
        "{}",
        cart.text()
    );
    w.press(user, cart.message_id, "checkout", has("Заказ принят"))
        .await;
    // A stale second press of "checkout" orders nothing more.
    w.press(user, cart.message_id, "checkout", is(t::CART_EMPTY))
        .await;
    let lines: Vec<serde_json::Value> = sqlx::query_scalar(
        "SELECT payload->'lines' FROM leads WHERE kind = 'cart' AND telegram_id = $1",
    )
    .bind(user)
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(lines.len(), 1, "one cart lead");
    assert_eq!(lines[0][0]["catalog_id"], top_id.as_str());
    assert_eq!(lines[0][0]["qty"], 2);
    assert_eq!(lines[0][0]["line_total_rub"], 900.0);
    running.stop().await;
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn an_unknown_phone_leads_to_a_callback_request(pool: PgPool) {
    let w = world(pool.clone()).await;
    let running = start_bot(&w, bot::Mode::Polling);
    let user = fresh_user();
    w.say(user, "/start", is(t::ASK_PHONE)).await;
    let skip = w.tg.count_for(user);
    w.tg.send_contact(user, "+7 (495) 123-45-67", Some(user));
    let offer = w.tg.wait_for(user, skip, WAIT, is(t::UNKNOWN_CLIENT)).await;
    assert_eq!(offer.callback_buttons()[0].1, "call_me");
    // Menu buttons lead nowhere for a user without a client.
    w.say(user, t::BTN_PARK, is(t::UNKNOWN_CLIENT)).await;
    w.press(
        user,
        offer.message_id,
        "call_me",
        is(t::ASK_CALLBACK_COMMENT),
    )
    .await;
    let done = w
        .say(user, "Интересует токарный станок с ЧПУ", has("перезвонит"))
        .await;
    let (id, phone, comment): (i64, Option<String>, Option<String>) = sqlx::query_as(
        "SELECT id, contact_phone, payload->>'comment' FROM leads WHERE kind = 'callback' AND telegram_id = $1",
    )
    .bind(user)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(done.text().contains(&format!("№{id}")));
    assert_eq!(phone.as_deref(), Some("+74951234567"));
    assert_eq!(comment.as_deref(), Some("Интересует токарный станок с ЧПУ"));
    // Forged button data is refused politely.
    w.press(user, offer.message_id, "admin:drop", is(t::UNKNOWN_BUTTON))
        .await;
    running.stop().await;
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn webhook_mode_accepts_telegram_and_rejects_a_wrong_secret(pool: PgPool) {
    let w = world(pool).await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let listen: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let secret = "s3cr3t_webhook-token";
    let url = Url::parse(&format!("http://127.0.0.1:{port}/telegram/webhook")).unwrap();
    let running = start_bot(
        &w,
        bot::Mode::Webhook {
            listen,
            url: url.clone(),
            secret: secret.to_string(),
        },
    );
    // The bot registers its webhook with the secret.
    let deadline = std::time::Instant::now() + WAIT;
    while w.tg.webhook().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "setWebhook was not called"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        w.tg.webhook(),
        Some((url.to_string(), Some(secret.to_string())))
    );
    let http = reqwest::Client::new();
    let user = fresh_user();
    let post = |token: Option<&str>, body: serde_json::Value| {
        let mut r = http.post(url.clone()).json(&body);
        if let Some(t) = token {
            r = r.header("X-Telegram-Bot-Api-Secret-Token", t);
        }
        r.send()
    };
    // Wait until the webhook server listens.
    let mut status = None;
    while std::time::Instant::now() < deadline {
        if let Ok(r) = post(Some("wrong"), w.tg.text_update(user, "/help")).await {
            status = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, Some(401), "wrong secret");
    let r = post(None, w.tg.text_update(user, "/help")).await.unwrap();
    assert_eq!(r.status().as_u16(), 401, "missing secret");
    let r = post(Some(&format!("{secret}x")), w.tg.text_update(user, "/help"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "longer secret");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(w.tg.count_for(user), 0, "a refused update is not processed");
    let r = post(Some(secret), w.tg.text_update(user, "/help"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    w.tg.wait_for(user, 0, WAIT, is(t::HELP)).await;
    running.stop().await;
}

/// The server side the bot relies on: every portal route answers only for the caller's own
/// client and role, and a Telegram user's SOS only for their own machine.
#[sqlx::test(migrator = "server::MIGRATOR")]
async fn portal_routes_answer_only_for_the_callers_client_and_role(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.import(&small_catalog(), false).await;
    let own = client(&pool, "ООО Ромашка", "+79123456789").await;
    let other = client(&pool, "АО Другое", "+79990001122").await;
    let mine = machine(&pool, own, "SN-1", "16К20").await;
    let theirs = machine(&pool, other, "SN-2", "16К20").await;
    seed(
        &pool,
        own,
        other,
        "INSERT INTO orders (number, client_id) VALUES ('ЗК-7', $1), ('ЗК-8', $2)",
    )
    .await;
    let (engineer, director, procurement) = (501, 502, 503);
    for (user, role) in [
        (engineer, "engineer"),
        (director, "director"),
        (procurement, "procurement"),
    ] {
        sqlx::query("INSERT INTO telegram_users (telegram_id, client_id, role, phone) VALUES ($1, $2, $3::telegram_role, '+79123456789')")
            .bind(user)
            .bind(own)
            .bind(role)
            .execute(&pool)
            .await
            .unwrap();
    }
    let get = |uri: String, user: Option<i64>| {
        let mut r = Request::get(uri);
        if let Some(u) = user {
            r = r
                .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
                .header("x-telegram-user-id", u.to_string());
        }
        app.request(r.body(Body::empty()).unwrap())
    };
    let status = |(s, _): (axum::http::StatusCode, serde_json::Value)| s.as_u16();
    for (path, allowed) in [
        ("tickets", vec![engineer, director, procurement]),
        ("documents", vec![engineer, director]),
        ("projects", vec![director]),
        ("offers", vec![director]),
        ("orders/ЗК-7/shipments", vec![procurement, director]),
    ] {
        let path = path.replace("ЗК", "%D0%97%D0%9A");
        for user in [engineer, director, procurement] {
            let want = if allowed.contains(&user) { 200 } else { 403 };
            assert_eq!(
                status(get(format!("/api/v1/clients/{own}/{path}"), Some(user)).await),
                want,
                "{path} as {user}"
            );
            // Another client's data: refused for everyone.
            assert_eq!(
                status(get(format!("/api/v1/clients/{other}/{path}"), Some(user)).await),
                403,
                "{path} of another client as {user}"
            );
        }
        assert_eq!(
            status(get(format!("/api/v1/clients/{own}/{path}"), None).await),
            401,
            "{path} without credentials"
        );
    }
    // Another client's order number is "not found" even for the right role.
    assert_eq!(
        status(
            get(
                format!("/api/v1/clients/{own}/orders/%D0%97%D0%9A-8/shipments"),
                Some(director)
            )
            .await
        ),
        404
    );
    // /me names the caller; an unknown Telegram user is 404.
    let (s, me) = get("/api/v1/telegram/me".into(), Some(director)).await;
    assert_eq!(
        (s.as_u16(), me["client_id"].as_i64(), me["role"].as_str()),
        (200, Some(own), Some("director"))
    );
    assert_eq!(
        status(get("/api/v1/telegram/me".into(), Some(999)).await),
        404
    );
    // SOS from a Telegram user: own machine yes, another client's machine no (nothing stored).
    let sos = |machine: i64| {
        Request::post("/api/v1/leads")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {BOT_SERVICE_TOKEN}"))
            .header("x-telegram-user-id", engineer.to_string())
            .body(Body::from(
                serde_json::json!({"source": "bot", "kind": "sos", "contact": {"phone": "+79123456789"},
                                   "payload": {"machine_instance_id": machine, "description": "не включается"}})
                .to_string(),
            ))
            .unwrap()
    };
    assert_eq!(status(app.request(sos(theirs)).await), 403);
    assert_eq!(status(app.request(sos(mine)).await), 201);
    let tickets: Vec<i64> = sqlx::query_scalar("SELECT machine_instance_id FROM service_tickets")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(tickets, vec![mine]);
    // Roles are assigned by operators only, and only to linked users.
    let role = |token: &str, user: i64, role: &str| {
        Request::post(format!("/api/v1/admin/telegram-users/{user}/role"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::from(serde_json::json!({"role": role}).to_string()))
            .unwrap()
    };
    assert_eq!(
        status(
            app.request(role(BOT_SERVICE_TOKEN, engineer, "director"))
                .await
        ),
        401
    );
    assert_eq!(
        status(app.request(role(ADMIN_TOKEN, engineer, "boss")).await),
        400
    );
    assert_eq!(
        status(app.request(role(ADMIN_TOKEN, 424242, "director")).await),
        404
    );
    assert_eq!(
        status(app.request(role(ADMIN_TOKEN, engineer, "director")).await),
        200
    );
    assert_eq!(
        status(get(format!("/api/v1/clients/{own}/projects"), Some(engineer)).await),
        200
    );
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn login_sends_a_one_time_link_to_the_pwa(pool: PgPool) {
    let w = world(pool.clone()).await;
    let own = client(&pool, "ООО Ромашка", "+79123456789").await;
    let running = start_bot(&w, bot::Mode::Polling);
    let user = fresh_user();
    // Not linked yet: no link, the phone is asked for instead.
    let first = w.say(user, "/login", |_| true).await;
    assert!(!first.text().contains("#token="), "{}", first.text());
    w.onboard(user, "+79123456789", "engineer").await;
    let sent = w.say(user, "/login", has("#token=")).await;
    let url = sent
        .text()
        .split_whitespace()
        .find(|w| w.contains("#token="))
        .unwrap()
        .to_string();
    assert!(url.contains("/app/login#token="), "{url}");
    let token = url.split("#token=").nth(1).unwrap();
    let http = reqwest::Client::new();
    let exchange = || {
        http.post(format!("{}/api/v1/auth/session", w.api))
            .json(&serde_json::json!({ "token": token }))
            .send()
    };
    let ok = exchange().await.unwrap();
    assert_eq!(ok.status(), 200);
    let me: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(me["client_id"], own);
    assert_eq!(exchange().await.unwrap().status(), 401);
    running.stop().await;
}

#[sqlx::test(migrator = "server::MIGRATOR")]
async fn notification_settings_switch_kinds_and_quiet_hours_in_place(pool: PgPool) {
    let w = world(pool.clone()).await;
    client(&pool, "ООО Ромашка", "+79123456789").await;
    let running = start_bot(&w, bot::Mode::Polling);
    let engineer = fresh_user();
    w.onboard(engineer, "+79123456789", "engineer").await;
    let screen = w.say(engineer, "/notifications", has("Уведомления")).await;
    let buttons = screen.callback_buttons();
    assert_eq!(
        buttons[0],
        ("✅ Статус ремонтов".to_string(), "ntf:0".to_string())
    );
    assert_eq!(buttons.len(), 5, "{buttons:?}");
    assert_eq!(buttons[4].1, "quiet:on");
    assert!(
        screen.text().contains("Тихие часы выключены"),
        "{}",
        screen.text()
    );

    let edited = w
        .press(
            engineer,
            screen.message_id,
            "ntf:0",
            has("🔕 Статус ремонтов"),
        )
        .await;
    assert_eq!(
        edited.method, "editmessagetext",
        "the screen changes in place"
    );
    let edited = w
        .press(
            engineer,
            screen.message_id,
            "quiet:on",
            has("Тихие часы: 22:00–08:00"),
        )
        .await;
    assert_eq!(edited.callback_buttons()[4].1, "quiet:off");
    let (enabled, from, to): (bool, Option<i16>, Option<i16>) = sqlx::query_as(
        "SELECT p.enabled, t.quiet_from, t.quiet_to FROM telegram_users t
         JOIN notification_prefs p ON p.telegram_id = t.telegram_id AND p.kind = 'ticket_status'
         WHERE t.telegram_id = $1",
    )
    .bind(engineer)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((enabled, from, to), (false, Some(22), Some(8)));
    // Back on.
    w.press(
        engineer,
        screen.message_id,
        "ntf:0",
        has("✅ Статус ремонтов"),
    )
    .await;
    running.stop().await;
}
