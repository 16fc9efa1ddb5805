//! amoCRM API v4 client (see `../shared/protocols/amocrm.md`).
//!
//! Every request goes through one rate limiter shared by all replicas through Postgres (requests
//! spaced at least 1/7 s + 15 ms apart, so no
//! one-second window holds more than 7) and one error mapping: 2xx hal+json → value, 204 →
//! empty, 429 / 5xx / network / timeout → [`CrmError::Retryable`], 401 → one token refresh and
//! a retry (OAuth) or [`CrmError::Auth`], other 4xx → [`CrmError::Permanent`] with the
//! problem+json detail.
//!
//! OAuth2 refresh tokens rotate: the new pair is written to `crm_tokens` (under a row lock,
//! so two workers never refresh at once) and committed before the new access token is used.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sqlx::PgPool;
use std::time::Duration;

/// Errors talking to amoCRM.
#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// Worth retrying later: 429, 5xx, timeouts, connection failures.
    #[error("retryable ({status:?}): {message}")]
    Retryable {
        status: Option<u16>,
        message: String,
    },
    /// The request itself is wrong; retrying will not help.
    #[error("rejected ({status}): {message}")]
    Permanent { status: u16, message: String },
    /// No usable token (refresh refused, long-lived token revoked): an operator must act.
    #[error("authorization: {0}")]
    Auth(String),
    #[error("token storage: {0}")]
    Db(#[from] sqlx::Error),
}

impl CrmError {
    pub fn status(&self) -> Option<u16> {
        match self {
            CrmError::Retryable { status, .. } => *status,
            CrmError::Permanent { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// How we authenticate.
#[derive(Debug, Clone)]
pub enum AmoAuth {
    /// A long-lived token of a private integration (no refresh).
    LongLived(String),
    /// OAuth2 with rotating refresh tokens; the first refresh token comes from configuration
    /// and is stored in `crm_tokens` on first use, later ones only live in Postgres.
    OAuth {
        client_id: String,
        client_secret: String,
        redirect_uri: String,
        initial_refresh_token: Option<String>,
    },
}

/// Client settings.
#[derive(Debug, Clone)]
pub struct AmoConfig {
    /// `https://{subdomain}.amocrm.ru` (tests: the local stand-in).
    pub base_url: String,
    /// Key of the token row, and the `account[subdomain]` webhooks must carry.
    pub account: String,
    pub auth: AmoAuth,
    /// Pipeline of new leads (`None`: the account's default).
    pub pipeline_id: Option<i64>,
    pub timeout: Duration,
    /// Spacing between requests: 1/6 s against the documented 7 requests/s, so that eight
    /// consecutive requests span 1.17 s and jitter on the way (a loaded host, the network) must
    /// bunch them by 170 ms to put eight into one second at amoCRM. 1/7 s + 1 ms failed the e2e
    /// burst test on a busy CI machine; 1/7 s + 15 ms (105 ms of slack) failed the cluster test
    /// once in about ten runs.
    pub min_interval: Duration,
}

impl AmoConfig {
    pub fn new(base_url: impl Into<String>, account: impl Into<String>, auth: AmoAuth) -> Self {
        AmoConfig {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            account: account.into(),
            auth,
            pipeline_id: None,
            timeout: Duration::from_secs(10),
            min_interval: Duration::from_micros(1_000_000 / 6),
        }
    }
}

/// Spaces requests at least `interval` apart across every task of every server replica: each
/// request reserves the account's next free slot in Postgres (`crm_rate_slots`, one row per
/// account, updated under its row lock, on the database's clock) and sleeps until it; a late
/// wake takes a new slot ([`crate::notify::wait_for_slot`]).
struct RateLimiter {
    pool: PgPool,
    account: String,
    interval: Duration,
}

impl RateLimiter {
    async fn wait(&self) -> Result<(), CrmError> {
        crate::notify::wait_for_slot(
            &self.pool,
            crate::notify::Slot::Account(&self.account),
            self.interval,
        )
        .await?;
        Ok(())
    }
}

/// The amoCRM client.
pub struct AmoClient {
    cfg: AmoConfig,
    http: reqwest::Client,
    pool: PgPool,
    limiter: RateLimiter,
}

impl AmoClient {
    pub fn new(cfg: AmoConfig, pool: PgPool) -> AmoClient {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .user_agent("stanok-leads/0.1")
            .build()
            .expect("HTTP client builds");
        AmoClient {
            limiter: RateLimiter {
                pool: pool.clone(),
                account: cfg.account.clone(),
                interval: cfg.min_interval,
            },
            cfg,
            http,
            pool,
        }
    }

    pub fn config(&self) -> &AmoConfig {
        &self.cfg
    }

    /// The current access token, refreshing it (rotating the refresh token) when it expires
    /// within a minute, or when amoCRM refused `rejected` (a 401) and it is still the stored
    /// one (another client or replica may have refreshed it meanwhile: then that one is used).
    async fn access_token(&self, rejected: Option<&str>) -> Result<String, CrmError> {
        let force = rejected.is_some();
        let AmoAuth::OAuth {
            client_id,
            client_secret,
            redirect_uri,
            initial_refresh_token,
        } = &self.cfg.auth
        else {
            let AmoAuth::LongLived(t) = &self.cfg.auth else {
                unreachable!()
            };
            return Ok(t.clone());
        };
        let fresh: Option<String> = sqlx::query_scalar(
            "SELECT access_token FROM crm_tokens
             WHERE account = $1 AND expires_at > now() + interval '60 seconds'",
        )
        .bind(&self.cfg.account)
        .fetch_optional(&self.pool)
        .await?;
        if let (Some(t), false) = (&fresh, force) {
            return Ok(t.clone());
        }
        // Refresh under the row lock; whoever waited re-checks and uses the new token.
        let mut tx = self.pool.begin().await?;
        if let Some(initial) = initial_refresh_token {
            sqlx::query(
                "INSERT INTO crm_tokens (account, access_token, refresh_token, expires_at)
                 VALUES ($1, '', $2, to_timestamp(0)) ON CONFLICT (account) DO NOTHING",
            )
            .bind(&self.cfg.account)
            .bind(initial)
            .execute(&mut *tx)
            .await?;
        }
        let row: Option<(String, Option<String>, bool)> = sqlx::query_as(
            "SELECT access_token, refresh_token, expires_at > now() + interval '60 seconds'
             FROM crm_tokens WHERE account = $1 FOR UPDATE",
        )
        .bind(&self.cfg.account)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((access, refresh, valid)) = row else {
            return Err(CrmError::Auth(
                "no refresh token stored; set AMOCRM_REFRESH_TOKEN".into(),
            ));
        };
        if valid && rejected != Some(access.as_str()) {
            return Ok(access); // still good, or someone else refreshed meanwhile
        }
        let refresh = refresh.ok_or_else(|| CrmError::Auth("no refresh token stored".into()))?;
        self.limiter.wait().await?;
        let resp = self
            .http
            .post(format!("{}/oauth2/access_token", self.cfg.base_url))
            .json(&json!({
                "client_id": client_id, "client_secret": client_secret,
                "grant_type": "refresh_token", "refresh_token": refresh,
                "redirect_uri": redirect_uri,
            }))
            .send()
            .await
            .map_err(|e| CrmError::Retryable {
                status: None,
                message: format!("token refresh: {e}"),
            })?;
        let status = resp.status();
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(CrmError::Retryable {
                status: Some(status.as_u16()),
                message: "token refresh".into(),
            });
        }
        if !status.is_success() {
            return Err(CrmError::Auth(format!(
                "refresh refused ({status}); re-authorise the integration"
            )));
        }
        let body: Value = resp.json().await.map_err(|e| CrmError::Retryable {
            status: None,
            message: format!("token response: {e}"),
        })?;
        let (Some(access), Some(new_refresh)) = (
            body["access_token"].as_str(),
            body["refresh_token"].as_str(),
        ) else {
            return Err(CrmError::Auth("token response without tokens".into()));
        };
        let expires_in = body["expires_in"].as_i64().unwrap_or(86_400);
        sqlx::query(
            "UPDATE crm_tokens SET access_token = $2, refresh_token = $3,
                    expires_at = now() + $4 * interval '1 second', updated_at = now()
             WHERE account = $1",
        )
        .bind(&self.cfg.account)
        .bind(access)
        .bind(new_refresh)
        .bind(expires_in)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        tracing::info!(account = %self.cfg.account, "amoCRM token refreshed");
        Ok(access.to_string())
    }

    /// One API call. `Ok(None)` is an empty answer (204).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, CrmError> {
        let mut rejected: Option<String> = None;
        loop {
            let token = self.access_token(rejected.as_deref()).await?;
            self.limiter.wait().await?;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.cfg.base_url))
                .bearer_auth(&token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = match req.send().await {
                Ok(r) => r,
                Err(e) => {
                    return Err(CrmError::Retryable {
                        status: None,
                        message: if e.is_timeout() {
                            format!("{method} {path}: timed out")
                        } else {
                            format!("{method} {path}: {e}")
                        },
                    })
                }
            };
            let status = resp.status();
            if status == StatusCode::NO_CONTENT {
                return Ok(None);
            }
            if status == StatusCode::UNAUTHORIZED
                && matches!(self.cfg.auth, AmoAuth::OAuth { .. })
                && rejected.is_none()
            {
                rejected = Some(token);
                continue;
            }
            let text = resp.text().await.unwrap_or_default();
            if status.is_success() {
                return serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| CrmError::Retryable {
                        status: Some(status.as_u16()),
                        message: format!("{method} {path}: unreadable body: {e}"),
                    });
            }
            let detail = serde_json::from_str::<Value>(&text)
                .ok()
                .map(|p| {
                    format!(
                        "{} {}",
                        p["title"].as_str().unwrap_or_default(),
                        p["detail"].as_str().unwrap_or_default()
                    )
                })
                .unwrap_or_else(|| text.chars().take(200).collect());
            let message = format!("{method} {path}: {status} {}", detail.trim());
            return Err(
                if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                    CrmError::Retryable {
                        status: Some(status.as_u16()),
                        message,
                    }
                } else if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                    CrmError::Auth(message)
                } else {
                    CrmError::Permanent {
                        status: status.as_u16(),
                        message,
                    }
                },
            );
        }
    }

    /// Contacts whose phone normalises to `phone` (E.164), by full-text search then an exact
    /// comparison (amoCRM does not normalise phones).
    pub async fn find_contact_by_phone(&self, phone: &str) -> Result<Option<i64>, CrmError> {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let query = digits
            .get(digits.len().saturating_sub(10)..)
            .unwrap_or(&digits);
        let found = self
            .call(
                Method::GET,
                &format!("/api/v4/contacts?query={query}&limit=50"),
                None,
            )
            .await?;
        let Some(found) = found else { return Ok(None) };
        let contacts = found["_embedded"]["contacts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        Ok(contacts
            .iter()
            .find(|c| {
                contact_phones(c)
                    .iter()
                    .any(|p| crate::Phone::parse(p).is_ok_and(|p| p.as_str() == phone))
            })
            .and_then(|c| c["id"].as_i64()))
    }

    /// Leads whose name contains `text` (used to find a lead an interrupted sync created).
    pub async fn find_leads(&self, text: &str) -> Result<Vec<Value>, CrmError> {
        let path = format!(
            "/api/v4/leads?query={}",
            serde_urlencoded::to_string([("q", text)])
                .unwrap_or_default()
                .trim_start_matches("q=")
        );
        Ok(self
            .call(Method::GET, &path, None)
            .await?
            .and_then(|v| v["_embedded"]["leads"].as_array().cloned())
            .unwrap_or_default())
    }

    /// `POST /api/v4/leads/complex` with one lead; returns (lead id, contact id).
    pub async fn create_lead_complex(&self, lead: &Value) -> Result<(i64, Option<i64>), CrmError> {
        let out = self
            .call(
                Method::POST,
                "/api/v4/leads/complex",
                Some(&Value::Array(vec![lead.clone()])),
            )
            .await?
            .ok_or_else(|| CrmError::Retryable {
                status: Some(204),
                message: "leads/complex answered without a body".into(),
            })?;
        let first = out.get(0).cloned().unwrap_or(Value::Null);
        let id = first["id"].as_i64().ok_or_else(|| CrmError::Retryable {
            status: None,
            message: format!("leads/complex: no id in {out}"),
        })?;
        Ok((id, first["contact_id"].as_i64()))
    }

    /// Notes of a lead (all pages).
    pub async fn lead_notes(&self, lead_id: i64) -> Result<Vec<Value>, CrmError> {
        let mut notes = Vec::new();
        let mut path = Some(format!("/api/v4/leads/{lead_id}/notes?limit=250"));
        while let Some(p) = path.take() {
            let Some(page) = self.call(Method::GET, &p, None).await? else {
                break;
            };
            notes.extend(
                page["_embedded"]["notes"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default(),
            );
            path = page["_links"]["next"]["href"]
                .as_str()
                .and_then(|h| h.find("/api/v4/").map(|i| h[i..].to_string()));
        }
        Ok(notes)
    }

    /// Adds a `common` note to a lead; returns the note id.
    pub async fn add_note(&self, lead_id: i64, text: &str) -> Result<i64, CrmError> {
        let out = self
            .call(
                Method::POST,
                &format!("/api/v4/leads/{lead_id}/notes"),
                Some(&json!([{"note_type": "common", "params": {"text": text}}])),
            )
            .await?
            .unwrap_or(Value::Null);
        out["_embedded"]["notes"][0]["id"]
            .as_i64()
            .ok_or_else(|| CrmError::Retryable {
                status: None,
                message: format!("notes: no id in {out}"),
            })
    }

    /// A lead with its contacts (`None` if it does not exist).
    pub async fn lead_with_contacts(&self, lead_id: i64) -> Result<Option<Value>, CrmError> {
        match self
            .call(
                Method::GET,
                &format!("/api/v4/leads/{lead_id}?with=contacts"),
                None,
            )
            .await
        {
            Err(CrmError::Permanent { status: 404, .. }) => Ok(None),
            other => other,
        }
    }

    pub async fn contact(&self, contact_id: i64) -> Result<Option<Value>, CrmError> {
        match self
            .call(Method::GET, &format!("/api/v4/contacts/{contact_id}"), None)
            .await
        {
            Err(CrmError::Permanent { status: 404, .. }) => Ok(None),
            other => other,
        }
    }
}

/// The phone values of a contact (`custom_fields_values` with `field_code` PHONE).
pub fn contact_phones(contact: &Value) -> Vec<String> {
    contact["custom_fields_values"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter(|f| f["field_code"] == "PHONE")
                .flat_map(|f| f["values"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| v["value"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The values of custom field `field_id` of an entity (as strings).
pub fn field_values(entity: &Value, field_id: i64) -> Vec<String> {
    entity["custom_fields_values"]
        .as_array()
        .map(|fields| {
            fields
                .iter()
                .filter(|f| f["field_id"].as_i64() == Some(field_id))
                .flat_map(|f| f["values"].as_array().cloned().unwrap_or_default())
                .filter_map(|v| match &v["value"] {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}
