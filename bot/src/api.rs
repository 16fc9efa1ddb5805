//! The bot's client of the server's HTTP API. Calls on behalf of a Telegram user carry the
//! bot's service token and `X-Telegram-User-Id`; the server decides what that user may see.

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The server answered with an error body (`{"error":{"code","message"}}`).
    #[error("server answered {status}: {code}: {message}")]
    Status {
        status: StatusCode,
        code: String,
        message: String,
    },
    /// The server could not be reached, or its answer was not what we expect.
    #[error("server unreachable or answer unreadable: {0}")]
    Transport(#[from] reqwest::Error),
}

impl ApiError {
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            ApiError::Transport(_) => None,
        }
    }

    /// The server's message for people, for 4xx answers (they are written in Russian).
    pub fn user_message(&self) -> Option<&str> {
        match self {
            ApiError::Status {
                status, message, ..
            } if status.is_client_error() => Some(message),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ApiError>;

/// A user's role within their client, as the server names it; a role this bot does not know
/// yet reads as `Other` (the engineer's menu), not as a failed answer.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Director,
    Engineer,
    Procurement,
    #[serde(other)]
    Other,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Link {
    pub telegram_id: i64,
    pub client_id: Option<i64>,
    pub company: Option<String>,
    pub role: Option<Role>,
}

/// A one-time sign-in link to the PWA.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct LoginLink {
    pub url: String,
    pub expires_in_secs: i64,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Me {
    pub telegram_id: i64,
    pub client_id: Option<i64>,
    pub company: Option<String>,
    pub role: Option<Role>,
    pub phone: Option<String>,
    #[serde(default)]
    pub first_name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Machine {
    pub id: i64,
    pub serial_number: String,
    pub model: String,
    pub product_name: Option<String>,
    pub sold_at: Option<String>,
    pub commissioned_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Park {
    pub client_id: i64,
    pub company: String,
    pub machines: Vec<Machine>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TicketEvent {
    pub status: String,
    pub comment: String,
    pub at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    pub id: i64,
    pub serial_number: String,
    pub model: String,
    pub kind: String,
    pub status: String,
    pub description: String,
    pub created_at: String,
    pub history: Vec<TicketEvent>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PeriodSpend {
    pub from: String,
    pub to: String,
    pub equipment_rub: f64,
    pub parts_rub: f64,
    pub service_rub: f64,
    pub total_rub: f64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NotificationKind {
    pub kind: String,
    pub label: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
pub struct QuietHours {
    pub from: i16,
    pub to: i16,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct NotificationSettings {
    pub kinds: Vec<NotificationKind>,
    pub quiet_hours: Option<QuietHours>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Spend {
    pub period: String,
    pub current: PeriodSpend,
    pub previous: PeriodSpend,
    pub change_pct: Option<f64>,
    #[serde(default)]
    pub deals_in_work: i64,
    #[serde(default)]
    pub deals_in_work_rub: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Project {
    pub title: String,
    pub status: String,
    pub budget_rub: Option<f64>,
    pub progress_pct: i32,
    pub due_on: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Offer {
    pub title: String,
    pub body: String,
    pub item_id: Option<String>,
    pub item_sku: Option<String>,
    pub price_rub: Option<f64>,
    pub discount_pct: Option<f64>,
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShipmentEvent {
    pub status: String,
    pub location: String,
    #[serde(default)]
    pub description: String,
    pub at: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Shipment {
    pub carrier: String,
    pub tracking_no: Option<String>,
    pub status: String,
    pub eta: Option<String>,
    pub events: Vec<ShipmentEvent>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OrderShipments {
    pub number: String,
    pub status: String,
    pub total_rub: f64,
    pub shipments: Vec<Shipment>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Document {
    pub id: i64,
    pub title: String,
    pub doc_type: String,
    pub file_name: String,
    pub models: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Hit {
    pub id: String,
    pub sku: String,
    pub name: String,
    #[serde(default)]
    pub brand: String,
    pub price_rub: Option<f64>,
    pub in_stock: i64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct SearchResponse {
    pub total: u64,
    pub hits: Vec<Hit>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Item {
    pub id: String,
    #[serde(default)]
    pub sku: String,
    pub name: String,
    pub price_rub: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Lead {
    pub id: i64,
    pub ticket_id: Option<i64>,
    /// Opens uploads to this lead (`X-Upload-Token`).
    #[serde(default)]
    pub upload_token: Option<String>,
}

/// A lead as the bot submits it (`POST /api/v1/leads`).
#[derive(Debug, Clone, Serialize)]
pub struct NewLead {
    pub kind: &'static str,
    pub name: String,
    pub phone: Option<String>,
    pub payload: Value,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorInner,
}

#[derive(Debug, Deserialize)]
struct ErrorInner {
    code: String,
    message: String,
}

#[derive(Deserialize)]
struct List<T> {
    #[serde(
        alias = "tickets",
        alias = "projects",
        alias = "offers",
        alias = "documents"
    )]
    items: Vec<T>,
}

/// The server API.
#[derive(Clone, Debug)]
pub struct Api {
    http: reqwest::Client,
    base: Url,
    service_token: String,
}

impl Api {
    pub fn new(base: Url, service_token: String) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("a reqwest client builds");
        Api {
            http,
            base,
            service_token,
        }
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("API paths are valid")
    }

    fn request(&self, method: Method, path: &str, user: Option<i64>) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, self.url(path))
            .bearer_auth(&self.service_token);
        if let Some(u) = user {
            r = r.header("X-Telegram-User-Id", u.to_string());
        }
        r
    }

    async fn send(r: reqwest::RequestBuilder) -> Result<reqwest::Response> {
        let resp = r.send().await?;
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let text = resp.text().await.unwrap_or_default();
        let (code, message) = match serde_json::from_str::<ErrorBody>(&text) {
            Ok(b) => (b.error.code, b.error.message),
            Err(_) => ("unexpected".into(), text.chars().take(200).collect()),
        };
        Err(ApiError::Status {
            status,
            code,
            message,
        })
    }

    async fn json<T: DeserializeOwned>(r: reqwest::RequestBuilder) -> Result<T> {
        Ok(Self::send(r).await?.json().await?)
    }

    /// Links the Telegram user to the client with this phone.
    pub async fn link(
        &self,
        user: i64,
        phone: &str,
        first_name: &str,
        username: Option<&str>,
    ) -> Result<Link> {
        Self::json(self.request(Method::POST, "api/v1/telegram/link", None).json(
            &serde_json::json!({"telegram_id": user, "phone": phone, "first_name": first_name, "username": username}),
        ))
        .await
    }

    /// A one-time sign-in link to the PWA for the user.
    pub async fn login_link(&self, user: i64) -> Result<LoginLink> {
        Self::json(self.request(Method::POST, "api/v1/auth/login-links", Some(user))).await
    }

    /// The user, or `None` if they never shared a phone.
    pub async fn me(&self, user: i64) -> Result<Option<Me>> {
        match Self::json(self.request(Method::GET, "api/v1/telegram/me", Some(user))).await {
            Ok(me) => Ok(Some(me)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn park(&self, user: i64, client: i64) -> Result<Park> {
        Self::json(self.request(
            Method::GET,
            &format!("api/v1/clients/{client}/park"),
            Some(user),
        ))
        .await
    }

    pub async fn tickets(&self, user: i64, client: i64) -> Result<Vec<Ticket>> {
        let l: List<Ticket> = Self::json(self.request(
            Method::GET,
            &format!("api/v1/clients/{client}/tickets"),
            Some(user),
        ))
        .await?;
        Ok(l.items)
    }

    /// The user's notification settings.
    pub async fn notification_settings(&self, user: i64) -> Result<NotificationSettings> {
        Self::json(self.request(Method::GET, "api/v1/telegram/notifications", Some(user))).await
    }

    /// Changes them: `change` is `{"kinds": {kind: bool}}` and/or `{"quiet_hours": …|null}`.
    pub async fn update_notifications(
        &self,
        user: i64,
        change: &Value,
    ) -> Result<NotificationSettings> {
        Self::json(
            self.request(Method::PUT, "api/v1/telegram/notifications", Some(user))
                .json(change),
        )
        .await
    }

    pub async fn spend(&self, user: i64, client: i64, period: &str) -> Result<Spend> {
        Self::json(
            self.request(
                Method::GET,
                &format!("api/v1/clients/{client}/spend"),
                Some(user),
            )
            .query(&[("period", period)]),
        )
        .await
    }

    pub async fn projects(&self, user: i64, client: i64) -> Result<Vec<Project>> {
        let l: List<Project> = Self::json(self.request(
            Method::GET,
            &format!("api/v1/clients/{client}/projects"),
            Some(user),
        ))
        .await?;
        Ok(l.items)
    }

    pub async fn offers(&self, user: i64, client: i64) -> Result<Vec<Offer>> {
        let l: List<Offer> = Self::json(self.request(
            Method::GET,
            &format!("api/v1/clients/{client}/offers"),
            Some(user),
        ))
        .await?;
        Ok(l.items)
    }

    /// The order's shipments, or `None` when the client has no such order.
    pub async fn shipments(
        &self,
        user: i64,
        client: i64,
        number: &str,
    ) -> Result<Option<OrderShipments>> {
        let mut url = self.url(&format!("api/v1/clients/{client}/orders/"));
        url.path_segments_mut()
            .expect("http URL")
            .pop_if_empty()
            .push(number)
            .push("shipments");
        let r = self
            .http
            .get(url)
            .bearer_auth(&self.service_token)
            .header("X-Telegram-User-Id", user.to_string());
        match Self::json(r).await {
            Ok(o) => Ok(Some(o)),
            Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn documents(&self, user: i64, client: i64) -> Result<Vec<Document>> {
        let l: List<Document> = Self::json(self.request(
            Method::GET,
            &format!("api/v1/clients/{client}/documents"),
            Some(user),
        ))
        .await?;
        Ok(l.items)
    }

    pub async fn document_file(&self, user: i64, client: i64, id: i64) -> Result<Vec<u8>> {
        let resp = Self::send(self.request(
            Method::GET,
            &format!("api/v1/clients/{client}/documents/{id}/file"),
            Some(user),
        ))
        .await?;
        Ok(resp.bytes().await?.to_vec())
    }

    pub async fn search(&self, text: &str, limit: u32) -> Result<SearchResponse> {
        Self::json(
            self.http
                .get(self.url("api/v1/search"))
                .query(&[("q", text), ("limit", &limit.to_string())]),
        )
        .await
    }

    pub async fn item(&self, id: &str) -> Result<Item> {
        let mut url = self.url("api/v1/catalog/");
        url.path_segments_mut()
            .expect("http URL")
            .pop_if_empty()
            .push(id);
        Self::json(self.http.get(url)).await
    }

    /// Submits a lead for `user`; `key` makes a repeated submit (a redelivered update) return
    /// the first lead instead of creating another.
    pub async fn create_lead(&self, user: i64, key: &str, lead: &NewLead) -> Result<Lead> {
        Self::json(
            self.request(Method::POST, "api/v1/leads", Some(user))
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({
                    "source": "bot",
                    "kind": lead.kind,
                    "contact": {"name": lead.name, "phone": lead.phone},
                    "payload": lead.payload,
                })),
        )
        .await
    }

    pub async fn attach(&self, lead: &Lead, name: &str, bytes: Vec<u8>) -> Result<()> {
        Self::send(
            self.request(
                Method::POST,
                &format!("api/v1/leads/{}/attachments", lead.id),
                None,
            )
            .query(&[("name", name)])
            .header(
                "X-Upload-Token",
                lead.upload_token.as_deref().unwrap_or_default(),
            )
            .header("Content-Type", "application/octet-stream")
            .body(bytes),
        )
        .await?;
        Ok(())
    }
}
