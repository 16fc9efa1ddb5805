//! A local Telegram Bot API server for tests, speaking the real wire format
//! (`../shared/protocols/telegram.md`): `POST /bot<token>/<Method>` with JSON or multipart
//! bodies, method names matched case-insensitively, answers `{"ok":true,"result":...}` or
//! `{"ok":false,"error_code":N,"description":...}`, long-polling `getUpdates` with `offset`
//! confirmation, `getFile` + `/file/bot<token>/<path>` downloads, and `setWebhook` with a
//! `secret_token`. Tests play the users: they queue updates (messages, contacts, photos,
//! documents, button presses) and read what the bot sent.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Something the bot sent (any method other than getUpdates / getFile / getMe).
#[derive(Debug, Clone)]
pub struct Sent {
    /// Lower-case method name (`sendmessage`, `senddocument`, ...).
    pub method: String,
    pub chat_id: i64,
    /// The request's parameters (multipart text fields as strings).
    pub body: Value,
    /// For `sendDocument`: the uploaded file's name and bytes.
    pub file: Option<(String, Vec<u8>)>,
    /// The message id given to a sent message.
    pub message_id: i64,
    /// When the stand-in received it.
    pub at: Instant,
}

impl Sent {
    pub fn text(&self) -> &str {
        self.body
            .get("text")
            .or_else(|| self.body.get("caption"))
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// Callback data of the inline buttons, row by row flattened.
    pub fn callback_buttons(&self) -> Vec<(String, String)> {
        let markup = match self.body.get("reply_markup") {
            Some(Value::String(s)) => serde_json::from_str(s).unwrap_or(Value::Null),
            Some(v) => v.clone(),
            None => Value::Null,
        };
        markup["inline_keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .filter_map(|b| {
                Some((
                    b["text"].as_str()?.to_string(),
                    b["callback_data"].as_str()?.to_string(),
                ))
            })
            .collect()
    }

    /// Texts of the reply-keyboard buttons.
    pub fn keyboard_buttons(&self) -> Vec<String> {
        self.body["reply_markup"]["keyboard"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .filter_map(|b| b["text"].as_str().map(str::to_string))
            .collect()
    }
}

#[derive(Default)]
struct Inner {
    next_update: i64,
    next_message: i64,
    updates: Vec<Value>,
    sent: Vec<Sent>,
    files: HashMap<String, (String, Vec<u8>)>,
    webhook: Option<(String, Option<String>)>,
    calls: Vec<String>,
    /// Users who blocked the bot: sending to them answers 403.
    blocked: std::collections::HashSet<i64>,
}

struct Shared {
    token: String,
    inner: Mutex<Inner>,
    new_update: Notify,
    new_sent: Notify,
}

/// The running stand-in.
#[derive(Clone)]
pub struct TelegramStandIn {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
}

pub const BOT_USER_ID: i64 = 7_000_000_001;

fn ok(result: Value) -> Response {
    Json(json!({"ok": true, "result": result})).into_response()
}

fn fail(code: u16, description: &str) -> Response {
    (
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"ok": false, "error_code": code, "description": description})),
    )
        .into_response()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn user(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("Пользователь {id}"), "language_code": "ru"})
}

fn private_chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": format!("Пользователь {id}")})
}

fn bot_user() -> Value {
    json!({"id": BOT_USER_ID, "is_bot": true, "first_name": "Станок", "username": "stanok_test_bot"})
}

fn as_i64(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl TelegramStandIn {
    pub async fn start(token: &str) -> TelegramStandIn {
        let shared = Arc::new(Shared {
            token: token.to_string(),
            inner: Mutex::new(Inner {
                next_update: 1,
                next_message: 1000,
                ..Inner::default()
            }),
            new_update: Notify::new(),
            new_sent: Notify::new(),
        });
        let app = Router::new()
            .route("/{bot}/{method}", post(method).get(method))
            .route("/file/{bot}/{*path}", get(file))
            .with_state(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        crate::serve_on_own_thread("telegram-standin", listener, app);
        TelegramStandIn { shared, addr }
    }

    /// The base URL to give the bot (`TELOXIDE_API_URL`).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.shared.inner.lock().unwrap()
    }

    fn push(&self, kind: &str, value: Value) -> i64 {
        let id = {
            let mut g = self.lock();
            let id = g.next_update;
            g.next_update += 1;
            g.updates.push(json!({"update_id": id, kind: value}));
            id
        };
        self.shared.new_update.notify_waiters();
        id
    }

    fn message(&self, from: i64, extra: Value) -> (i64, Value) {
        let mid = {
            let mut g = self.lock();
            g.next_message += 1;
            g.next_message
        };
        let mut m = json!({"message_id": mid, "date": now(), "chat": private_chat(from), "from": user(from)});
        if let (Some(m), Value::Object(e)) = (m.as_object_mut(), extra) {
            m.extend(e);
        }
        (mid, m)
    }

    /// The user types a text (or a command).
    pub fn send_text(&self, from: i64, text: &str) -> i64 {
        let mut extra = json!({"text": text});
        if text.starts_with('/') {
            let len = text
                .split_whitespace()
                .next()
                .unwrap_or(text)
                .encode_utf16()
                .count();
            extra["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        let (mid, m) = self.message(from, extra);
        self.push("message", m);
        mid
    }

    /// The user shares a contact: their own (`user_id` = theirs) or someone else's.
    pub fn send_contact(&self, from: i64, phone: &str, contact_user: Option<i64>) -> i64 {
        let mut c = json!({"phone_number": phone, "first_name": "Иван"});
        if let Some(u) = contact_user {
            c["user_id"] = json!(u);
        }
        let (mid, m) = self.message(from, json!({"contact": c}));
        self.push("message", m);
        mid
    }

    fn add_file(&self, bytes: &[u8], name: &str) -> (String, String) {
        let mut g = self.lock();
        let n = g.files.len() + 1;
        let id = format!("AgACAgIAAxkBAAI{n:06}");
        let unique = format!("AQAD{n:06}");
        let path = format!("documents/file_{n}_{name}");
        g.files.insert(id.clone(), (path, bytes.to_vec()));
        (id, unique)
    }

    /// The user sends a photo (two sizes, as Telegram does; the last is the largest).
    pub fn send_photo(&self, from: i64, bytes: &[u8], caption: Option<&str>) -> i64 {
        let (small, su) = self.add_file(&bytes[..bytes.len().min(64)], "thumb.jpg");
        let (id, unique) = self.add_file(bytes, "photo.jpg");
        let mut extra = json!({"photo": [
            {"file_id": small, "file_unique_id": su, "width": 90, "height": 67, "file_size": bytes.len().min(64)},
            {"file_id": id, "file_unique_id": unique, "width": 1280, "height": 960, "file_size": bytes.len()}
        ]});
        if let Some(c) = caption {
            extra["caption"] = json!(c);
        }
        let (mid, m) = self.message(from, extra);
        self.push("message", m);
        mid
    }

    /// The user sends a file.
    pub fn send_document(&self, from: i64, bytes: &[u8], name: &str, mime: &str) -> i64 {
        let (id, unique) = self.add_file(bytes, name);
        let (mid, m) = self.message(
            from,
            json!({"document": {"file_id": id, "file_unique_id": unique, "file_name": name, "mime_type": mime, "file_size": bytes.len()}}),
        );
        self.push("message", m);
        mid
    }

    /// The user presses an inline button with `data` under the bot's message `message_id`.
    pub fn press(&self, from: i64, message_id: i64, data: &str) -> i64 {
        let q = json!({
            "id": format!("cbq-{}-{}", from, self.lock().next_update),
            "from": user(from),
            "chat_instance": format!("ci-{from}"),
            "data": data,
            "message": {"message_id": message_id, "date": now(), "chat": private_chat(from), "from": bot_user(), "text": "…"},
        });
        self.push("callback_query", q)
    }

    /// Raw update JSON as Telegram would post it to a webhook.
    pub fn text_update(&self, from: i64, text: &str) -> Value {
        let (_, m) = self.message(from, json!({"text": text}));
        let id = {
            let mut g = self.lock();
            g.next_update += 1;
            g.next_update
        };
        json!({"update_id": id, "message": m})
    }

    /// Everything the bot sent so far.
    pub fn sent(&self) -> Vec<Sent> {
        self.lock().sent.clone()
    }

    /// Lower-case names of every method called, in order.
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.lock().webhook.clone()
    }

    /// Updates not yet confirmed by an `offset`.
    pub fn pending_updates(&self) -> usize {
        self.lock().updates.len()
    }

    /// Waits for the first thing sent to `chat` after the first `skip` ones that satisfies
    /// `pred`; panics after `timeout` with what was sent.
    pub async fn wait_for(
        &self,
        chat: i64,
        skip: usize,
        timeout: Duration,
        pred: impl Fn(&Sent) -> bool,
    ) -> Sent {
        let deadline = Instant::now() + timeout;
        loop {
            let notified = self.shared.new_sent.notified();
            {
                let g = self.lock();
                if let Some(s) = g
                    .sent
                    .iter()
                    .filter(|s| s.chat_id == chat)
                    .skip(skip)
                    .find(|s| pred(s))
                {
                    return s.clone();
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let sent: Vec<String> = self
                    .sent()
                    .iter()
                    .filter(|s| s.chat_id == chat)
                    .map(|s| format!("{}: {}", s.method, s.text()))
                    .collect();
                panic!("nothing matching was sent to {chat} within {timeout:?}; sent: {sent:#?}");
            }
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// The user blocks the bot: whatever is sent to them now fails with 403.
    pub fn block(&self, user: i64) {
        self.lock().blocked.insert(user);
    }

    /// The most messages received within any one second, overall and to any single chat.
    pub fn peak_rates(&self) -> (usize, usize) {
        let g = self.lock();
        let sends: Vec<&Sent> = g
            .sent
            .iter()
            .filter(|s| s.method.starts_with("send"))
            .collect();
        let peak = |list: &[&Sent]| -> usize {
            let mut best = 0;
            for (i, a) in list.iter().enumerate() {
                let n = list[i..]
                    .iter()
                    .take_while(|b| b.at.duration_since(a.at) < Duration::from_secs(1))
                    .count();
                best = best.max(n);
            }
            best
        };
        let overall = peak(&sends);
        let mut by_chat: HashMap<i64, Vec<&Sent>> = HashMap::new();
        for s in &sends {
            by_chat.entry(s.chat_id).or_default().push(s);
        }
        let per_chat = by_chat.values().map(|l| peak(l)).max().unwrap_or(0);
        (overall, per_chat)
    }

    /// How many things were sent to `chat` so far.
    pub fn count_for(&self, chat: i64) -> usize {
        self.lock()
            .sent
            .iter()
            .filter(|s| s.chat_id == chat)
            .count()
    }
}

async fn params(req: Request) -> (Value, Option<(String, Vec<u8>)>) {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if ct.starts_with("multipart/form-data") {
        let mut out = serde_json::Map::new();
        let mut file = None;
        if let Ok(mut mp) = Multipart::from_request(req, &()).await {
            while let Ok(Some(field)) = mp.next_field().await {
                let name = field.name().unwrap_or("").to_string();
                let file_name = field.file_name().map(str::to_string);
                let bytes = field.bytes().await.unwrap_or_default();
                match file_name {
                    Some(f) => file = Some((f, bytes.to_vec())),
                    None => {
                        let text = String::from_utf8_lossy(&bytes).to_string();
                        let v = serde_json::from_str::<Value>(&text)
                            .ok()
                            .filter(|v| v.is_object() || v.is_array())
                            .unwrap_or(Value::String(text));
                        out.insert(name, v);
                    }
                }
            }
        }
        return (Value::Object(out), file);
    }
    let query = req.uri().query().unwrap_or("").to_string();
    let body = Bytes::from_request(req, &()).await.unwrap_or_default();
    if ct.starts_with("application/json") {
        return (serde_json::from_slice(&body).unwrap_or(json!({})), None);
    }
    let raw = if body.is_empty() {
        query.into_bytes()
    } else {
        body.to_vec()
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&raw).unwrap_or_default();
    (
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
        None,
    )
}

async fn method(
    State(s): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    req: Request,
) -> Response {
    if bot != format!("bot{}", s.token) {
        return fail(401, "Unauthorized");
    }
    let method = method.to_ascii_lowercase();
    let (p, file) = params(req).await;
    s.inner.lock().unwrap().calls.push(method.clone());
    match method.as_str() {
        "getme" => ok(
            json!({"id": BOT_USER_ID, "is_bot": true, "first_name": "Станок", "username": "stanok_test_bot",
                              "can_join_groups": false, "can_read_all_group_messages": false, "supports_inline_queries": false,
                              "can_connect_to_business": false, "has_main_web_app": false}),
        ),
        "getupdates" => {
            let offset = p.get("offset").and_then(as_i64).unwrap_or(0);
            let timeout = p.get("timeout").and_then(as_i64).unwrap_or(0).clamp(0, 5);
            let deadline = Instant::now() + Duration::from_secs(timeout as u64);
            loop {
                let notified = s.new_update.notified();
                {
                    let mut g = s.inner.lock().unwrap();
                    if g.webhook.is_some() {
                        return fail(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first");
                    }
                    // Updates below the offset are confirmed and forgotten, as Telegram does.
                    g.updates
                        .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
                    if !g.updates.is_empty() {
                        return ok(Value::Array(g.updates.clone()));
                    }
                }
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return ok(json!([]));
                }
                let _ = tokio::time::timeout(left, notified).await;
            }
        }
        "deletewebhook" => {
            s.inner.lock().unwrap().webhook = None;
            ok(json!(true))
        }
        "setwebhook" => {
            let Some(url) = p.get("url").and_then(Value::as_str) else {
                return fail(400, "Bad Request: url is required");
            };
            let secret = p
                .get("secret_token")
                .and_then(Value::as_str)
                .map(str::to_string);
            s.inner.lock().unwrap().webhook = Some((url.to_string(), secret));
            ok(json!(true))
        }
        "getwebhookinfo" => {
            ok(json!({"url": "", "has_custom_certificate": false, "pending_update_count": 0}))
        }
        "setmycommands" | "deletemycommands" => ok(json!(true)),
        "getfile" => {
            let id = p.get("file_id").and_then(Value::as_str).unwrap_or("");
            let g = s.inner.lock().unwrap();
            match g.files.get(id) {
                Some((path, bytes)) => {
                    ok(json!({"file_id": id, "file_unique_id": format!("u{id}"),
                                                 "file_size": bytes.len(), "file_path": path}))
                }
                None => fail(400, "Bad Request: invalid file_id"),
            }
        }
        "answercallbackquery" => {
            record(&s, &method, &p, None);
            ok(json!(true))
        }
        m if m.starts_with("send") || m.starts_with("edit") => {
            let Some(chat) = p.get("chat_id").and_then(as_i64) else {
                return fail(400, "Bad Request: chat_id is empty");
            };
            if s.inner.lock().unwrap().blocked.contains(&chat) {
                return fail(403, "Forbidden: bot was blocked by the user");
            }
            if m == "sendmessage"
                && p.get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
            {
                return fail(400, "Bad Request: message text is empty");
            }
            if m == "sendmessage" && p["text"].as_str().unwrap_or("").chars().count() > 4096 {
                return fail(400, "Bad Request: message is too long");
            }
            for (_, data) in buttons(&p) {
                if data.len() > 64 {
                    return fail(400, "Bad Request: BUTTON_DATA_INVALID");
                }
            }
            let mid = record(&s, m, &p, file.clone());
            let mid = if m.starts_with("edit") {
                p.get("message_id").and_then(as_i64).unwrap_or(mid)
            } else {
                mid
            };
            let mut msg = json!({"message_id": mid, "date": now(), "chat": private_chat(chat), "from": bot_user()});
            if let Some(t) = p.get("text") {
                msg["text"] = t.clone();
            }
            if let Some((name, bytes)) = &file {
                msg["document"] = json!({"file_id": format!("BQAC{mid}"), "file_unique_id": format!("d{mid}"),
                                         "file_name": name, "file_size": bytes.len()});
            }
            ok(msg)
        }
        _ => fail(404, "Not Found: method not found"),
    }
}

fn buttons(p: &Value) -> Vec<(String, String)> {
    Sent {
        method: String::new(),
        chat_id: 0,
        body: p.clone(),
        file: None,
        message_id: 0,
        at: Instant::now(),
    }
    .callback_buttons()
}

fn record(s: &Shared, method: &str, p: &Value, file: Option<(String, Vec<u8>)>) -> i64 {
    let mid = {
        let mut g = s.inner.lock().unwrap();
        g.next_message += 1;
        let mid = g.next_message;
        g.sent.push(Sent {
            method: method.to_string(),
            chat_id: p.get("chat_id").and_then(as_i64).unwrap_or(0),
            body: p.clone(),
            file,
            message_id: mid,
            at: Instant::now(),
        });
        mid
    };
    s.new_sent.notify_waiters();
    mid
}

async fn file(State(s): State<Arc<Shared>>, Path((bot, path)): Path<(String, String)>) -> Response {
    if bot != format!("bot{}", s.token) {
        return fail(401, "Unauthorized");
    }
    let g = s.inner.lock().unwrap();
    match g.files.values().find(|(p, _)| *p == path) {
        Some((_, bytes)) => bytes.clone().into_response(),
        None => fail(404, "Not Found"),
    }
}
