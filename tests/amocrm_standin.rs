//! A local amoCRM stand-in speaking the v4 wire format (see `../shared/protocols/amocrm.md`):
//! hal+json bodies, problem+json errors, 204 for empty lists, 429 with a plain-text body when
//! more than 7 requests arrive within one second, bearer tokens, and an OAuth token endpoint
//! whose refresh tokens rotate (the old one stops working). It records every request and can
//! inject failures, so the production client runs against it unchanged.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// An injected failure for the next matching request(s).
#[derive(Debug, Clone)]
pub enum FaultKind {
    /// Answer with this status (problem+json; 429 with a plain body) without doing anything.
    Status(u16),
    /// Do the work, then answer 500 (the response is "lost").
    FailAfterWork,
    /// Hang this long before answering normally.
    Delay(Duration),
}

#[derive(Debug, Clone)]
struct Fault {
    path_contains: String,
    method: Option<Method>,
    kind: FaultKind,
    remaining: usize,
}

/// One received request.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub at: Instant,
    pub method: Method,
    pub path: String,
    pub status: u16,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    next_id: i64,
    leads: BTreeMap<i64, Value>,
    contacts: BTreeMap<i64, Value>,
    notes: BTreeMap<i64, Vec<Value>>,
    requests: Vec<Recorded>,
    window: VecDeque<Instant>,
    faults: Vec<Fault>,
    access_tokens: Vec<String>,
    refresh_token: String,
    refreshes: usize,
    throttled: usize,
}

impl Inner {
    fn id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }
}

/// The running stand-in.
#[derive(Clone)]
pub struct AmoStandIn {
    pub base_url: String,
    inner: Arc<Mutex<Inner>>,
}

fn hal(status: StatusCode, v: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/hal+json")],
        v.to_string(),
    )
        .into_response()
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        json!({"title": title, "type": "https://httpstatus.es/", "status": status.as_u16(), "detail": detail})
            .to_string(),
    )
        .into_response()
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

impl AmoStandIn {
    /// Starts on a free loopback port. `access_token` is valid from the start (a long-lived
    /// token); `refresh_token` is the first OAuth refresh token.
    pub async fn start(access_token: &str, refresh_token: &str) -> AmoStandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve(listener, access_token, refresh_token)
    }

    /// Serves on `listener` (the demo binary picks its port).
    pub fn serve(
        listener: tokio::net::TcpListener,
        access_token: &str,
        refresh_token: &str,
    ) -> AmoStandIn {
        let inner = Arc::new(Mutex::new(Inner {
            next_id: 1000,
            access_tokens: vec![access_token.to_string()],
            refresh_token: refresh_token.to_string(),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/oauth2/access_token", post(token))
            .route("/api/v4/contacts", get(find_contacts))
            .route("/api/v4/contacts/{id}", get(get_contact))
            .route("/api/v4/leads", get(find_leads))
            .route("/api/v4/leads/complex", post(create_complex))
            .route("/api/v4/leads/{id}", get(get_lead))
            .route("/api/v4/leads/{id}/notes", get(list_notes).post(add_notes))
            .layer(axum::middleware::from_fn_with_state(inner.clone(), gate))
            .route("/_standin/leads", get(dump))
            .with_state(inner.clone());
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        crate::serve_on_own_thread("amocrm-standin", listener.into_std().unwrap(), app);
        AmoStandIn { base_url, inner }
    }

    /// Fails the next `times` requests whose path contains `path_contains`.
    pub fn fail(&self, path_contains: &str, method: Option<Method>, kind: FaultKind, times: usize) {
        self.inner.lock().unwrap().faults.push(Fault {
            path_contains: path_contains.to_string(),
            method,
            kind,
            remaining: times,
        });
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The most requests that arrived within any one-second window.
    pub fn max_per_second(&self) -> usize {
        let times: Vec<Instant> = self.requests().iter().map(|r| r.at).collect();
        let mut best = 0;
        let mut start = 0;
        for end in 0..times.len() {
            while times[end].duration_since(times[start]) >= Duration::from_secs(1) {
                start += 1;
            }
            best = best.max(end - start + 1);
        }
        best
    }

    pub fn throttled(&self) -> usize {
        self.inner.lock().unwrap().throttled
    }

    pub fn refreshes(&self) -> usize {
        self.inner.lock().unwrap().refreshes
    }

    pub fn leads(&self) -> Vec<Value> {
        self.inner.lock().unwrap().leads.values().cloned().collect()
    }

    pub fn contacts(&self) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .contacts
            .values()
            .cloned()
            .collect()
    }

    pub fn notes(&self, lead_id: i64) -> Vec<Value> {
        self.inner
            .lock()
            .unwrap()
            .notes
            .get(&lead_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Revokes every access token (as expiry would), forcing a refresh.
    pub fn expire_access_tokens(&self) {
        self.inner.lock().unwrap().access_tokens.clear();
    }

    /// Adds a contact with phones as a manager would type them; returns its id.
    pub fn add_contact(&self, name: &str, phones: &[&str]) -> i64 {
        let mut g = self.inner.lock().unwrap();
        let id = g.id();
        let values: Vec<Value> = phones
            .iter()
            .map(|p| json!({"value": p, "enum_code": "WORK"}))
            .collect();
        g.contacts.insert(
            id,
            json!({"id": id, "name": name, "custom_fields_values": [{"field_code": "PHONE", "field_name": "Телефон", "values": values}]}),
        );
        id
    }

    /// Adds a deal in `status_id` with custom fields `(field_id, value)` and a contact.
    pub fn add_deal(
        &self,
        name: &str,
        status_id: i64,
        contact_id: i64,
        fields: &[(i64, &str)],
    ) -> i64 {
        let mut g = self.inner.lock().unwrap();
        let id = g.id();
        let cf: Vec<Value> = fields
            .iter()
            .map(
                |(fid, v)| json!({"field_id": fid, "field_name": "поле", "values": [{"value": v}]}),
            )
            .collect();
        g.leads.insert(
            id,
            json!({"id": id, "name": name, "price": 1729000, "status_id": status_id, "pipeline_id": 5553,
                   "custom_fields_values": cf, "_embedded": {"contacts": [{"id": contact_id, "is_main": true}]}}),
        );
        id
    }

    /// Adds a contact to a deal: amoCRM lists a deal's contacts with `is_main` on one of them.
    /// With `main`, it becomes the main contact and is listed last (the order amoCRM promises
    /// nothing about).
    pub fn add_deal_contact(&self, lead_id: i64, contact_id: i64, main: bool) {
        let mut g = self.inner.lock().unwrap();
        if let Some(l) = g.leads.get_mut(&lead_id) {
            let contacts = l["_embedded"]["contacts"].as_array_mut().unwrap();
            if main {
                for c in contacts.iter_mut() {
                    c["is_main"] = json!(false);
                }
            }
            contacts.push(json!({"id": contact_id, "is_main": main}));
        }
    }

    /// Edits a top-level field of a deal (`price`, `closed_at`, `name`, …).
    pub fn set_deal_field(&self, lead_id: i64, key: &str, value: Value) {
        let mut g = self.inner.lock().unwrap();
        if let Some(l) = g.leads.get_mut(&lead_id) {
            l[key] = value;
        }
    }

    pub fn set_status(&self, lead_id: i64, status_id: i64) {
        let mut g = self.inner.lock().unwrap();
        if let Some(l) = g.leads.get_mut(&lead_id) {
            l["status_id"] = json!(status_id);
        }
    }
}

type Shared = Arc<Mutex<Inner>>;

/// Auth, the 7-per-second limit, injected faults and the request log.
async fn gate(
    State(inner): State<Shared>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // Arrival is when the request head was read, as amoCRM would count it, not after the body.
    let now = Instant::now();
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.to_string())
        .unwrap_or_default();
    let authorised = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let (req, body) = {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, 10 << 20)
            .await
            .unwrap_or_default();
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (
            axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes)),
            v,
        )
    };
    let (verdict, fault) = {
        let mut g = inner.lock().unwrap();
        while g
            .window
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            g.window.pop_front();
        }
        g.window.push_back(now);
        let verdict = if g.window.len() > 7 {
            g.throttled += 1;
            Some((StatusCode::TOO_MANY_REQUESTS, "throttled"))
        } else if path.starts_with("/api/v4/")
            && !authorised
                .as_ref()
                .is_some_and(|t| g.access_tokens.contains(t))
        {
            Some((StatusCode::UNAUTHORIZED, "unauthorized"))
        } else {
            None
        };
        let fault = if verdict.is_none() {
            let idx = g.faults.iter().position(|f| {
                f.remaining > 0
                    && path.contains(&f.path_contains)
                    && f.method.as_ref().is_none_or(|m| *m == method)
            });
            idx.map(|i| {
                g.faults[i].remaining -= 1;
                g.faults[i].kind.clone()
            })
        } else {
            None
        };
        (verdict, fault)
    };
    let resp = match (verdict, fault) {
        (Some((StatusCode::TOO_MANY_REQUESTS, _)), _) => {
            (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response()
        }
        (Some((s, t)), _) => problem(s, t, "Токен недействителен"),
        (None, Some(FaultKind::Status(429))) => {
            (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response()
        }
        (None, Some(FaultKind::Status(s))) => problem(
            StatusCode::from_u16(s).unwrap(),
            "Injected",
            "отказ для проверки",
        ),
        (None, Some(FaultKind::FailAfterWork)) => {
            let _ = next.run(req).await;
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Injected",
                "ответ потерян",
            )
        }
        (None, Some(FaultKind::Delay(d))) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        (None, None) => next.run(req).await,
    };
    inner.lock().unwrap().requests.push(Recorded {
        at: now,
        method,
        path,
        status: resp.status().as_u16(),
        body,
    });
    resp
}

async fn token(State(inner): State<Shared>, body: Bytes) -> Response {
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut g = inner.lock().unwrap();
    if v["grant_type"] != "refresh_token"
        || v["refresh_token"].as_str() != Some(g.refresh_token.as_str())
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "Refresh token has been revoked",
        );
    }
    g.refreshes += 1;
    let n = g.refreshes;
    let access = format!("access-{n}-{}", rand_suffix());
    let refresh = format!("refresh-{n}-{}", rand_suffix());
    g.access_tokens.push(access.clone());
    g.refresh_token = refresh.clone();
    hal(
        StatusCode::OK,
        json!({"token_type": "Bearer", "expires_in": 86400, "access_token": access, "refresh_token": refresh, "server_time": 1}),
    )
}

fn rand_suffix() -> String {
    format!("{:x}", rand::random::<u64>())
}

fn query_param(q: &Option<String>, key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(q.as_deref().unwrap_or("")).ok()?;
    pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

async fn find_contacts(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let query = digits(&query_param(&q, "query").unwrap_or_default());
    let g = inner.lock().unwrap();
    let found: Vec<Value> = g
        .contacts
        .values()
        .filter(|c| {
            !query.is_empty() && c.to_string().split('"').any(|s| digits(s).contains(&query))
        })
        .cloned()
        .collect();
    if found.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    hal(
        StatusCode::OK,
        json!({"_page": 1, "_embedded": {"contacts": found}}),
    )
}

async fn get_contact(State(inner): State<Shared>, Path(id): Path<i64>) -> Response {
    match inner.lock().unwrap().contacts.get(&id) {
        Some(c) => hal(StatusCode::OK, c.clone()),
        None => problem(StatusCode::NOT_FOUND, "Not Found", "contact"),
    }
}

async fn find_leads(State(inner): State<Shared>, RawQuery(q): RawQuery) -> Response {
    let query = query_param(&q, "query").unwrap_or_default();
    let g = inner.lock().unwrap();
    let found: Vec<Value> = g
        .leads
        .values()
        .filter(|l| !query.is_empty() && l["name"].as_str().is_some_and(|n| n.contains(&query)))
        .cloned()
        .collect();
    if found.is_empty() {
        return StatusCode::NO_CONTENT.into_response();
    }
    hal(
        StatusCode::OK,
        json!({"_page": 1, "_embedded": {"leads": found}}),
    )
}

async fn create_complex(State(inner): State<Shared>, body: Bytes) -> Response {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "Bad Request", "expected an array");
    };
    if items.is_empty() || items.len() > 50 {
        return problem(StatusCode::BAD_REQUEST, "Bad Request", "1..50 leads");
    }
    let mut g = inner.lock().unwrap();
    let mut out = Vec::new();
    for item in items {
        if item["name"].as_str().is_none_or(str::is_empty) {
            return (
                StatusCode::BAD_REQUEST,
                [(header::CONTENT_TYPE, "application/problem+json")],
                json!({"title": "Bad Request", "status": 400, "detail": "Request validation failed",
                       "validation-errors": [{"request_id": item["request_id"], "errors": [{"code": "NotSupportedChoice", "path": "name", "detail": "empty"}]}]})
                    .to_string(),
            )
                .into_response();
        }
        let contact = &item["_embedded"]["contacts"][0];
        let contact_id = match contact["id"].as_i64() {
            Some(id) => id,
            None => {
                let id = g.id();
                let mut c = contact.clone();
                c["id"] = json!(id);
                g.contacts.insert(id, c);
                id
            }
        };
        let id = g.id();
        let mut lead = item.clone();
        lead["id"] = json!(id);
        lead["status_id"] = json!(100);
        lead["_embedded"]["contacts"] = json!([{"id": contact_id}]);
        g.leads.insert(id, lead);
        out.push(
            json!({"id": id, "contact_id": contact_id, "company_id": null,
                        "request_id": [item["request_id"].clone()], "merged": false}),
        );
    }
    hal(StatusCode::OK, Value::Array(out))
}

async fn get_lead(State(inner): State<Shared>, Path(id): Path<i64>, uri: Uri) -> Response {
    let g = inner.lock().unwrap();
    match g.leads.get(&id) {
        Some(l) => {
            let mut l = l.clone();
            if !uri.query().unwrap_or("").contains("with=contacts") {
                l["_embedded"].as_object_mut().map(|e| e.remove("contacts"));
            }
            hal(StatusCode::OK, l)
        }
        None => problem(StatusCode::NOT_FOUND, "Not Found", "lead"),
    }
}

async fn list_notes(State(inner): State<Shared>, Path(id): Path<i64>) -> Response {
    let g = inner.lock().unwrap();
    match g.notes.get(&id) {
        Some(n) if !n.is_empty() => hal(StatusCode::OK, json!({"_embedded": {"notes": n}})),
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

async fn add_notes(
    State(inner): State<Shared>,
    Path(id): Path<i64>,
    _headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(Value::Array(items)) = serde_json::from_slice::<Value>(&body) else {
        return problem(StatusCode::BAD_REQUEST, "Bad Request", "expected an array");
    };
    let mut g = inner.lock().unwrap();
    if !g.leads.contains_key(&id) {
        return problem(StatusCode::NOT_FOUND, "Not Found", "lead");
    }
    let mut created = Vec::new();
    for item in items {
        let nid = g.id();
        let mut n = item.clone();
        n["id"] = json!(nid);
        n["entity_id"] = json!(id);
        g.notes.entry(id).or_default().push(n.clone());
        created.push(n);
    }
    hal(StatusCode::OK, json!({"_embedded": {"notes": created}}))
}

/// Everything received so far (for the demo: `curl …/_standin/leads`).
async fn dump(State(inner): State<Shared>) -> Response {
    let g = inner.lock().unwrap();
    let leads: Vec<Value> = g
        .leads
        .values()
        .map(|l| {
            let mut l = l.clone();
            let id = l["id"].as_i64().unwrap_or_default();
            l["notes"] = json!(g.notes.get(&id).cloned().unwrap_or_default());
            l
        })
        .collect();
    hal(
        StatusCode::OK,
        json!({"leads": leads, "contacts": g.contacts.values().collect::<Vec<_>>()}),
    )
}
