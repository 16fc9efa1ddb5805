//! Shipment tracking: a carrier-neutral model (a shipment's events with time, place and the
//! carrier's own code; its status and ETA) filled by a poller per carrier behind [`Carrier`].
//! [`Cdek`] speaks CDEK's API v2 (`POST /v2/oauth/token` with client credentials, then
//! `GET /v2/orders?cdek_number=…`, whose `entity.statuses` lists the order's history).
//! Operators may add events by hand as well; both kinds reach procurement through the
//! `shipment_events` trigger (migration 0010), a polled event once, however often it is seen.

use crate::Result;
use serde_json::Value;
use sqlx::{PgPool, Row};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// One event as the carrier reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackEvent {
    /// The carrier's status code (`ACCEPTED`, `DELIVERED`, …).
    pub code: String,
    /// Our `shipment_status`.
    pub status: &'static str,
    /// The carrier's own words for it.
    pub description: String,
    pub location: String,
    /// ISO 8601 with offset, as the carrier sent it.
    pub at: String,
}

/// What a carrier knows of a shipment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    pub events: Vec<TrackEvent>,
    /// `YYYY-MM-DD`.
    pub eta: Option<String>,
}

/// A carrier's tracking API. `Ok(None)`: the carrier does not know this number.
pub trait Carrier: Send + Sync + 'static {
    /// The `shipments.carrier` value this carrier serves.
    fn code(&self) -> &'static str;
    fn track(
        &self,
        tracking_no: &str,
    ) -> impl Future<Output = std::result::Result<Option<Tracking>, String>> + Send;
}

/// CDEK API v2 credentials and address (`https://api.cdek.ru/`; the test account lives at
/// `https://api.edu.cdek.ru/`).
#[derive(Debug, Clone)]
pub struct CdekConfig {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub timeout: Duration,
}

/// The CDEK client: an OAuth token kept until shortly before it expires, renewed on 401.
pub struct Cdek {
    cfg: CdekConfig,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

/// CDEK's status codes as our shipment statuses.
pub fn cdek_status(code: &str) -> &'static str {
    match code {
        "CREATED" | "ACCEPTED" => "preparing",
        "RECEIVED_AT_SHIPMENT_WAREHOUSE"
        | "READY_TO_SHIP_AT_SENDING_OFFICE"
        | "READY_FOR_SHIPMENT_IN_SENDER_CITY" => "handed_to_carrier",
        "ACCEPTED_IN_RECIPIENT_CITY"
        | "ACCEPTED_AT_PICK_UP_POINT"
        | "TAKEN_BY_COURIER"
        | "ACCEPTED_AT_RECIPIENT_CITY_WAREHOUSE"
        | "RECEIVED_IN_RECIPIENT_CITY" => "arrived",
        "DELIVERED" => "delivered",
        "NOT_DELIVERED" | "INVALID" | "RETURNED_TO_SENDER_CITY_WAREHOUSE" | "REMOVED" => "problem",
        _ => "in_transit",
    }
}

/// Reads `GET /v2/orders` answers: `entity.statuses[]` (`code`, `name`, `date_time`, `city`;
/// CDEK lists the newest first) and `entity.planned_delivery_date` when present.
pub fn parse_cdek_order(body: &Value) -> Option<Tracking> {
    let entity = body.get("entity")?;
    let mut events: Vec<TrackEvent> = entity["statuses"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["deleted"] != true)
        .filter_map(|s| {
            let code = s["code"].as_str()?.to_string();
            Some(TrackEvent {
                status: cdek_status(&code),
                code,
                description: s["name"].as_str().unwrap_or("").to_string(),
                location: s["city"].as_str().unwrap_or("").to_string(),
                at: s["date_time"].as_str()?.to_string(),
            })
        })
        .collect();
    events.reverse();
    Some(Tracking {
        events,
        eta: entity["planned_delivery_date"]
            .as_str()
            .and_then(|d| d.get(..10))
            .map(str::to_string),
    })
}

impl Cdek {
    pub fn new(mut cfg: CdekConfig) -> Cdek {
        if !cfg.base_url.ends_with('/') {
            cfg.base_url.push('/');
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .expect("HTTP client builds");
        Cdek {
            cfg,
            http,
            token: Mutex::new(None),
        }
    }

    async fn token(&self, renew: bool) -> std::result::Result<String, String> {
        let mut t = self.token.lock().await;
        if let Some((tok, until)) = t.as_ref() {
            if !renew && Instant::now() < *until {
                return Ok(tok.clone());
            }
        }
        let r = self
            .http
            .post(format!("{}v2/oauth/token", self.cfg.base_url))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.cfg.client_id.as_str()),
                ("client_secret", self.cfg.client_secret.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("СДЭК недоступен: {}", e.without_url()))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        let Some(tok) = body["access_token"]
            .as_str()
            .filter(|_| status.is_success())
        else {
            return Err(format!("СДЭК не выдал токен: {status}"));
        };
        let ttl = body["expires_in"]
            .as_u64()
            .unwrap_or(3600)
            .saturating_sub(60);
        *t = Some((tok.to_string(), Instant::now() + Duration::from_secs(ttl)));
        Ok(tok.to_string())
    }
}

impl Carrier for Cdek {
    fn code(&self) -> &'static str {
        "cdek"
    }

    async fn track(&self, tracking_no: &str) -> std::result::Result<Option<Tracking>, String> {
        let mut renew = false;
        loop {
            let token = self.token(renew).await?;
            let r = self
                .http
                .get(format!("{}v2/orders", self.cfg.base_url))
                .query(&[("cdek_number", tracking_no)])
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| format!("СДЭК недоступен: {}", e.without_url()))?;
            let status = r.status().as_u16();
            if status == 401 && !renew {
                renew = true;
                continue;
            }
            let body: Value = r.json().await.unwrap_or(Value::Null);
            return match status {
                200 => Ok(parse_cdek_order(&body)),
                404 => Ok(None),
                _ => Err(format!("СДЭК ответил {status}")),
            };
        }
    }
}

/// Polls the open shipments of one carrier, each at most every `every`.
pub struct Poller<C: Carrier> {
    pool: PgPool,
    carrier: C,
    every: Duration,
}

impl<C: Carrier> Poller<C> {
    pub fn new(pool: PgPool, carrier: C, every: Duration) -> Poller<C> {
        Poller {
            pool,
            carrier,
            every,
        }
    }

    /// Polls one due shipment; returns its id and how many events were new, `None` when
    /// nothing is due.
    pub async fn run_once(&self) -> Result<Option<(i64, usize)>> {
        let row = sqlx::query(
            "UPDATE shipments SET last_polled_at = now()
             WHERE id = (SELECT id FROM shipments
                         WHERE carrier = $1 AND tracking_no IS NOT NULL AND status <> 'delivered'
                           AND (last_polled_at IS NULL OR last_polled_at < now() - $2 * interval '1 millisecond')
                         ORDER BY last_polled_at NULLS FIRST, id FOR UPDATE SKIP LOCKED LIMIT 1)
             RETURNING id, tracking_no",
        )
        .bind(self.carrier.code())
        .bind(self.every.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let number: String = row.try_get("tracking_no")?;
        let tracking = match self.carrier.track(&number).await {
            Ok(Some(t)) => t,
            Ok(None) => {
                self.note(id, "перевозчик не знает этот номер").await?;
                return Ok(Some((id, 0)));
            }
            Err(e) => {
                tracing::warn!(shipment = id, carrier = self.carrier.code(), error = %e, "tracking failed");
                self.note(id, &e).await?;
                return Ok(Some((id, 0)));
            }
        };
        Ok(Some((id, record(&self.pool, id, &tracking).await?)))
    }

    async fn note(&self, id: i64, why: &str) -> Result<()> {
        sqlx::query("UPDATE shipments SET poll_error = $2 WHERE id = $1")
            .bind(id)
            .bind(why)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Polls until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        crate::poll_until(shutdown, "tracking", || async {
            self.run_once().await.map(|o| o.is_some())
        })
        .await
    }
}

/// Stores the events of `tracking` not stored before (each new one notifies procurement) and
/// sets the shipment's status from its latest event and its ETA. Returns how many were new.
pub async fn record(pool: &PgPool, shipment: i64, tracking: &Tracking) -> Result<usize> {
    let mut tx = pool.begin().await?;
    // The ETA first: the events' notifications quote it.
    sqlx::query("UPDATE shipments SET eta = coalesce($2::date, eta) WHERE id = $1")
        .bind(shipment)
        .bind(tracking.eta.as_deref())
        .execute(&mut *tx)
        .await?;
    let mut new = 0;
    for e in &tracking.events {
        new += sqlx::query(
            "INSERT INTO shipment_events (shipment_id, status, location, at, code, description)
             VALUES ($1, $2::shipment_status, $3, $4::timestamptz, $5, $6)
             ON CONFLICT (shipment_id, code, at) WHERE code IS NOT NULL DO NOTHING",
        )
        .bind(shipment)
        .bind(e.status)
        .bind(&e.location)
        .bind(&e.at)
        .bind(&e.code)
        .bind(&e.description)
        .execute(&mut *tx)
        .await?
        .rows_affected() as usize;
    }
    sqlx::query(
        "UPDATE shipments SET poll_error = NULL,
                status = coalesce((SELECT status FROM shipment_events WHERE shipment_id = $1
                                   ORDER BY at DESC, id DESC LIMIT 1), status),
                updated_at = CASE WHEN $2 > 0 THEN now() ELSE updated_at END
         WHERE id = $1",
    )
    .bind(shipment)
    .bind(new as i64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(new)
}

/// The values of `shipment_status`.
pub const SHIPMENT_STATUSES: &[&str] = &[
    "preparing",
    "handed_to_carrier",
    "in_transit",
    "arrived",
    "delivered",
    "problem",
];

/// An operator's event, typed in by hand.
pub async fn add_manual_event(
    pool: &PgPool,
    shipment: i64,
    status: &str,
    location: &str,
    description: &str,
) -> Result<i64> {
    if !SHIPMENT_STATUSES.contains(&status) {
        return Err(crate::invalid(
            "status",
            "одно из: preparing, handed_to_carrier, in_transit, arrived, delivered, problem",
        ));
    }
    let mut tx = pool.begin().await?;
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO shipment_events (shipment_id, status, location, description)
         SELECT id, $2::shipment_status, $3, $4 FROM shipments WHERE id = $1 RETURNING id",
    )
    .bind(shipment)
    .bind(status)
    .bind(location)
    .bind(description)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(id) = id else {
        return Err(crate::Error::NotFound("отгрузка не найдена".into()));
    };
    sqlx::query(
        "UPDATE shipments SET status = $2::shipment_status, updated_at = now() WHERE id = $1",
    )
    .bind(shipment)
    .bind(status)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cdek_history_is_read_oldest_first_with_our_statuses() {
        let body = json!({"entity": {"uuid": "72753031-1d2a-4f5c-9b32-8d3b3a1c2e11", "cdek_number": "1106207236",
            "planned_delivery_date": "2026-12-07",
            "statuses": [
                {"code": "ACCEPTED_IN_RECIPIENT_CITY", "name": "Прибыл в г. получателя", "date_time": "2026-12-05T09:00:00+0500", "city": "Екатеринбург"},
                {"code": "SENT_TO_TRANSIT_CITY", "name": "Отправлен в г. транзит", "date_time": "2026-12-03T18:00:00+0300", "city": "Москва"},
                {"code": "CREATED", "name": "Создан", "date_time": "2026-12-02T10:00:00+0300", "city": "Москва", "deleted": true},
                {"code": "ACCEPTED", "name": "Принят", "date_time": "2026-12-02T10:05:00+0300", "city": "Москва"}
            ]}, "requests": []});
        let t = parse_cdek_order(&body).unwrap();
        let got: Vec<(&str, &str)> = t
            .events
            .iter()
            .map(|e| (e.code.as_str(), e.status))
            .collect();
        assert_eq!(
            got,
            vec![
                ("ACCEPTED", "preparing"),
                ("SENT_TO_TRANSIT_CITY", "in_transit"),
                ("ACCEPTED_IN_RECIPIENT_CITY", "arrived"),
            ]
        );
        assert_eq!(t.eta.as_deref(), Some("2026-12-07"));
        assert!(parse_cdek_order(&json!({"requests": []})).is_none());
    }
}
