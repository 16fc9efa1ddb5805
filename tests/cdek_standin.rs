//! A local CDEK API v2 for tests, speaking its wire format: `POST /v2/oauth/token` with
//! `grant_type=client_credentials`, `client_id`, `client_secret` (form body or query) answers
//! `{"access_token","token_type":"bearer","expires_in","scope","jti"}`; `GET /v2/orders?cdek_number=N`
//! with `Authorization: Bearer …` answers `{"entity":{…,"statuses":[…]},"requests":[…]}` with
//! the newest status first (`code`, `name`, `date_time` as `YYYY-MM-DDThh:mm:ss+hhmm`, `city`),
//! 404 with `requests[].errors[]` for an unknown number, 401 for a missing or stale token.
//! Tests add statuses as the carrier moves the parcel.

use axum::extract::{Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Inner {
    tokens: Vec<String>,
    orders: HashMap<String, Vec<Value>>,
    planned: HashMap<String, String>,
    order_calls: usize,
}

struct Shared {
    client_id: String,
    client_secret: String,
    inner: Mutex<Inner>,
}

#[derive(Clone)]
pub struct CdekStandIn {
    shared: Arc<Shared>,
    pub addr: SocketAddr,
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"requests": [{"type": "GET", "state": "INVALID",
                                  "errors": [{"code": code, "message": message}]}]})),
    )
        .into_response()
}

impl CdekStandIn {
    pub async fn start(client_id: &str, client_secret: &str) -> CdekStandIn {
        let shared = Arc::new(Shared {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            inner: Mutex::new(Inner::default()),
        });
        let app = Router::new()
            .route("/v2/oauth/token", post(token))
            .route("/v2/orders", get(order))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        CdekStandIn { shared, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The carrier records a status of parcel `number` (`date_time` with its offset).
    pub fn add_status(&self, number: &str, code: &str, name: &str, city: &str, date_time: &str) {
        let mut g = self.shared.inner.lock().unwrap();
        g.orders.entry(number.to_string()).or_default().insert(
            0,
            json!({"code": code, "name": name, "date_time": date_time, "city": city}),
        );
    }

    pub fn set_planned_delivery(&self, number: &str, date: &str) {
        let mut g = self.shared.inner.lock().unwrap();
        g.planned.insert(number.to_string(), date.to_string());
    }

    /// Forgets every issued token, as when they expire.
    pub fn expire_tokens(&self) {
        self.shared.inner.lock().unwrap().tokens.clear();
    }

    /// `GET /v2/orders` calls answered so far (any outcome).
    pub fn order_calls(&self) -> usize {
        self.shared.inner.lock().unwrap().order_calls
    }
}

async fn token(State(s): State<Arc<Shared>>, req: Request) -> Response {
    let query = req.uri().query().unwrap_or("").to_string();
    let body = axum::body::to_bytes(req.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let mut p: HashMap<String, String> = serde_urlencoded::from_str(&query).unwrap_or_default();
    p.extend(serde_urlencoded::from_bytes::<HashMap<String, String>>(&body).unwrap_or_default());
    if p.get("grant_type").map(String::as_str) != Some("client_credentials")
        || p.get("client_id") != Some(&s.client_id)
        || p.get("client_secret") != Some(&s.client_secret)
    {
        return error(
            StatusCode::UNAUTHORIZED,
            "v2_unauthorized",
            "Invalid client credentials",
        );
    }
    let mut g = s.inner.lock().unwrap();
    let tok = format!("cdek-token-{}", g.tokens.len() + 1);
    g.tokens.push(tok.clone());
    Json(
        json!({"access_token": tok, "token_type": "bearer", "expires_in": 3599,
                "scope": "order:all payment:all", "jti": format!("jti-{}", g.tokens.len())}),
    )
    .into_response()
}

async fn order(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let mut g = s.inner.lock().unwrap();
    g.order_calls += 1;
    if !auth.is_some_and(|t| g.tokens.contains(&t)) {
        return error(
            StatusCode::UNAUTHORIZED,
            "v2_token_expired",
            "Token is expired or invalid",
        );
    }
    let Some(number) = q.get("cdek_number") else {
        return error(
            StatusCode::BAD_REQUEST,
            "v2_field_is_empty",
            "cdek_number is empty",
        );
    };
    let Some(statuses) = g.orders.get(number) else {
        return error(
            StatusCode::NOT_FOUND,
            "v2_entity_not_found",
            "Order not found",
        );
    };
    let mut entity = json!({"uuid": format!("00000000-0000-4000-8000-{:012}", number.len()),
                            "type": 1, "is_return": false, "is_reverse": false,
                            "cdek_number": number, "number": format!("ST-{number}"), "tariff_code": 136,
                            "statuses": statuses});
    if let Some(d) = g.planned.get(number) {
        entity["planned_delivery_date"] = json!(d);
    }
    Json(json!({"entity": entity, "requests": [{"request_uuid": "r-1", "type": "CREATE", "state": "SUCCESSFUL",
                                               "date_time": "2026-12-01T10:00:00+0300", "errors": [], "warnings": []}]}))
    .into_response()
}
