//! The digital passport: amoCRM status-change webhooks → machines in the client's park.
//!
//! The webhook body (form-encoded, PHP bracket keys, possibly several leads) is parsed into
//! status changes and stored in `crm_webhook_events`, one row per (lead, status), before the
//! 200; nothing else happens in the request. A worker then takes each pending event: a status
//! other than 142 is ignored; for 142 the lead is re-read through the API (webhooks are not
//! signed, and the lead may have moved on), its contact's phone finds or creates the
//! `clients` row, and every serial number in the deal becomes a `machine_instances` row bound
//! to the catalog product from the deal's fields. An event whose product or serial cannot be
//! determined is parked as `review` with the reason — never dropped.

use crate::amocrm::{self, AmoClient, CrmError};
use crate::{invalid, ClientId, Phone, Result};
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The won status, the same in every amoCRM pipeline.
pub const STATUS_WON: i64 = 142;
/// The lost status ("закрыто и не реализовано").
pub const STATUS_LOST: i64 = 143;

/// One `leads[status][N]` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub lead_id: i64,
    pub status_id: i64,
    pub pipeline_id: Option<i64>,
    /// From `leads[update]`: the deal was edited (its price, say), not moved.
    pub update: bool,
}

/// A parsed webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub subdomain: Option<String>,
    pub changes: Vec<StatusChange>,
    /// The whole form as a flat key → value object, stored with each event.
    pub raw: Value,
}

/// Parses amoCRM's form body. Entries other than `leads[status]` (adds, updates, contacts)
/// are kept in `raw` but yield no change; a status entry without a numeric id or status is
/// an error.
pub fn parse_webhook(body: &[u8]) -> Result<Webhook> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| invalid("body", "ожидается application/x-www-form-urlencoded"))?;
    if pairs.is_empty() {
        return Err(invalid("body", "пустое тело"));
    }
    let mut raw = serde_json::Map::new();
    let mut entries: BTreeMap<(bool, u32), BTreeMap<String, String>> = BTreeMap::new();
    let mut subdomain = None;
    for (k, v) in pairs {
        if k == "account[subdomain]" {
            subdomain = Some(v.clone());
        }
        let entry = k
            .strip_prefix("leads[status][")
            .map(|r| (false, r))
            .or_else(|| k.strip_prefix("leads[update][").map(|r| (true, r)));
        if let Some((update, rest)) = entry {
            let (idx, field) = rest
                .split_once("][")
                .ok_or_else(|| invalid(&k, "неожиданный ключ"))?;
            let idx: u32 = idx.parse().map_err(|_| invalid(&k, "неожиданный индекс"))?;
            // Only top-level fields (`id`, `status_id`, `pipeline_id`, …) matter here.
            if let Some(field) = field.strip_suffix(']').filter(|f| !f.contains('[')) {
                entries
                    .entry((update, idx))
                    .or_default()
                    .insert(field.to_string(), v.clone());
            }
        }
        raw.insert(k, Value::String(v));
    }
    let mut changes = Vec::new();
    for ((update, idx), fields) in entries {
        let group = if update { "update" } else { "status" };
        let num = |f: &str| -> Result<i64> {
            fields
                .get(f)
                .and_then(|v| v.trim().parse::<i64>().ok())
                .ok_or_else(|| invalid(&format!("leads[{group}][{idx}][{f}]"), "ожидается число"))
        };
        changes.push(StatusChange {
            lead_id: num("id")?,
            status_id: num("status_id")?,
            pipeline_id: num("pipeline_id").ok(),
            update,
        });
    }
    Ok(Webhook {
        subdomain,
        changes,
        raw: Value::Object(raw),
    })
}

/// Stores the webhook's status changes; a (lead, status) seen before is not stored again,
/// unless its earlier event ended without registering a machine (`ignored`, `review`,
/// `failed`): then it is processed again (the deal may have been fixed in amoCRM since).
/// An edit of a deal (`leads[update]`) always makes its event due again: the order follows
/// the deal's amount, and processing is idempotent.
/// Returns how many events were stored or made due again.
pub async fn store_events(pool: &PgPool, hook: &Webhook) -> Result<u64> {
    let mut stored = 0;
    let mut tx = pool.begin().await?;
    for c in &hook.changes {
        stored += sqlx::query(
            "INSERT INTO crm_webhook_events (crm_lead_id, status_id, pipeline_id, raw)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (crm_lead_id, status_id) DO UPDATE
                 SET state = 'pending', raw = EXCLUDED.raw, attempts = 0, next_attempt_at = now(),
                     locked_until = NULL, processed_at = NULL
                 WHERE $5 OR crm_webhook_events.state IN ('ignored', 'review', 'failed')",
        )
        .bind(c.lead_id)
        .bind(c.status_id)
        .bind(c.pipeline_id)
        .bind(&hook.raw)
        .bind(c.update)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    tx.commit().await?;
    Ok(stored)
}

/// Which deal fields hold the machine's serial number(s) and catalog product.
#[derive(Debug, Clone)]
pub struct PassportConfig {
    pub serial_field_id: i64,
    pub product_field_id: i64,
    /// Failures after which each further one is logged as an error (the event keeps trying).
    pub alert_after_attempts: i32,
    pub lease: Duration,
}

/// What processing an event decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Machines registered (ids), or already registered by an earlier event.
    Registered(Vec<i64>),
    /// A deal not (or no longer) won: its order was recorded as in work or lost.
    Order(String),
    Ignored(String),
    Review(String),
}

/// The passport worker.
pub struct PassportWorker {
    pool: PgPool,
    amo: Arc<AmoClient>,
    cfg: PassportConfig,
}

/// Makes `failed` and `review` events (all, or those in `ids`) due again. Returns how many.
pub async fn requeue(pool: &PgPool, ids: Option<&[i64]>) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE crm_webhook_events SET state = 'pending', attempts = 0, next_attempt_at = now(),
                locked_until = NULL, processed_at = NULL
         WHERE state IN ('failed', 'review') AND ($1::bigint[] IS NULL OR id = ANY($1))",
    )
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

impl PassportWorker {
    pub fn new(pool: PgPool, amo: Arc<AmoClient>, cfg: PassportConfig) -> PassportWorker {
        PassportWorker { pool, amo, cfg }
    }

    /// Processes one due event; `None` when nothing is due.
    pub async fn run_once(&self) -> Result<Option<(i64, Outcome)>> {
        let row = sqlx::query(
            "UPDATE crm_webhook_events SET locked_until = now() + $1 * interval '1 millisecond',
                                           attempts = attempts + 1
             WHERE id = (SELECT id FROM crm_webhook_events
                         WHERE state = 'pending' AND next_attempt_at <= now()
                           AND (locked_until IS NULL OR locked_until < now())
                         ORDER BY id FOR UPDATE SKIP LOCKED LIMIT 1)
             RETURNING id, crm_lead_id, attempts",
        )
        .bind(self.cfg.lease.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let lead_id: i64 = row.try_get("crm_lead_id")?;
        let attempts: i32 = row.try_get("attempts")?;
        // Every status change re-reads the deal: its order follows the deal's current
        // status; a won deal also registers its machines.
        let outcome = self.register(lead_id).await;
        let (state, note) = match &outcome {
            Ok(Outcome::Registered(ids)) => ("done", format!("станки: {ids:?}")),
            Ok(Outcome::Order(what)) => ("done", what.clone()),
            Ok(Outcome::Ignored(why)) => ("ignored", why.clone()),
            Ok(Outcome::Review(why)) => ("review", why.clone()),
            Err(e) => {
                let permanent = matches!(e, crate::Error::Crm(CrmError::Permanent { .. }));
                // Only a permanent rejection stops retries; an outage is waited out.
                let state = if permanent { "failed" } else { "pending" };
                if !permanent && attempts >= self.cfg.alert_after_attempts {
                    tracing::error!(event = id, attempts, error = %e, "won-deal event stuck; still retrying");
                }
                (state, crate::redact(&e.to_string()))
            }
        };
        // Doubling from 2 s, at most 30 min.
        let delay_ms = (1000i64 * (1i64 << attempts.clamp(1, 12))).min(1_800_000);
        sqlx::query(
            "UPDATE crm_webhook_events SET state = $2, note = $3, locked_until = NULL,
                    last_error = CASE WHEN $2 IN ('pending', 'failed') THEN $3 ELSE last_error END,
                    next_attempt_at = now() + $4 * interval '1 millisecond',
                    processed_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
             WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(&note)
        .bind(delay_ms)
        .execute(&self.pool)
        .await?;
        match outcome {
            Ok(o) => {
                tracing::info!(
                    event = id,
                    crm_lead = lead_id,
                    ?o,
                    "webhook event processed"
                );
                Ok(Some((id, o)))
            }
            Err(e) => {
                tracing::warn!(event = id, crm_lead = lead_id, error = %e, state, "webhook event failed");
                Ok(Some((id, Outcome::Review(note))))
            }
        }
    }

    async fn register(&self, crm_lead_id: i64) -> Result<Outcome> {
        let Some(lead) = self.amo.lead_with_contacts(crm_lead_id).await? else {
            return Ok(Outcome::Ignored("сделки нет в amoCRM".into()));
        };
        let won = lead["status_id"].as_i64() == Some(STATUS_WON);
        // The client: the deal's main contact, else the first contact with a phone we can
        // normalise (a deal's other contacts may be a dealer's or a colleague's).
        let mut phone = None;
        let mut contact_id = None;
        let mut company = String::new();
        let mut contacts = lead["_embedded"]["contacts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        contacts.sort_by_key(|c| c["is_main"] != true);
        for c in contacts {
            let Some(cid) = c["id"].as_i64() else {
                continue;
            };
            if let Some(contact) = self.amo.contact(cid).await? {
                if let Some(p) = amocrm::contact_phones(&contact)
                    .iter()
                    .find_map(|p| Phone::parse(p).ok())
                {
                    phone = Some(p);
                    contact_id = Some(cid);
                    company = contact["name"].as_str().unwrap_or_default().to_string();
                    break;
                }
            }
        }
        let Some(phone) = phone else {
            return Ok(Outcome::Review("у контакта сделки нет телефона".into()));
        };
        let serials: Vec<String> = amocrm::field_values(&lead, self.cfg.serial_field_id)
            .iter()
            .flat_map(|v| {
                v.split([',', ';', '\n'])
                    .map(str::trim)
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty())
            .collect();
        let code = amocrm::field_values(&lead, self.cfg.product_field_id)
            .into_iter()
            .map(|v| v.trim().to_string())
            .find(|v| !v.is_empty());
        // A deal that names a machine sells equipment; one that names nothing is an order of
        // parts (our cart leads) and needs no passport.
        let sells_machine = !serials.is_empty() || code.is_some();
        let product = match &code {
            Some(code) => sqlx::query(
                "SELECT id, model FROM catalog_items
                 WHERE kind = 'product' AND (id = $1 OR lower(sku) = lower($1) OR lower(model) = lower($1))
                 ORDER BY (id = $1) DESC, (lower(sku) = lower($1)) DESC, id LIMIT 1",
            )
            .bind(code)
            .fetch_optional(&self.pool)
            .await?
            .map(|r| -> Result<(String, String)> { Ok((r.try_get("id")?, r.try_get("model")?)) })
            .transpose()?,
            None => None,
        };

        let mut tx = self.pool.begin().await?;
        let client_id: ClientId = sqlx::query_scalar(
            "INSERT INTO clients (company, phone, crm_contact_id) VALUES ($1, $2, $3)
             ON CONFLICT (phone) DO UPDATE SET crm_contact_id = coalesce(clients.crm_contact_id, EXCLUDED.crm_contact_id)
             RETURNING id",
        )
        .bind(&company)
        .bind(phone.as_str())
        .bind(contact_id)
        .fetch_one(&mut *tx)
        .await?;
        crate::orders::upsert_from_deal(&mut tx, client_id, &lead, sells_machine).await?;
        if !won {
            tx.commit().await?;
            return Ok(Outcome::Order(format!(
                "статус {}: заказ обновлён",
                lead["status_id"]
            )));
        }
        if !sells_machine {
            tx.commit().await?;
            return Ok(Outcome::Registered(Vec::new()));
        }
        if serials.is_empty() {
            tx.commit().await?;
            return Ok(Outcome::Review("в сделке не указан серийный номер".into()));
        }
        let Some((product_id, model)) = product else {
            tx.commit().await?;
            return Ok(Outcome::Review(match code {
                Some(code) => format!("станок «{code}» не найден в каталоге"),
                None => "в сделке не указан станок из каталога".into(),
            }));
        };
        let passport = json!({
            "deal_name": lead["name"], "price": lead["price"], "pipeline_id": lead["pipeline_id"],
            "closed_at": lead["closed_at"], "product_code": code,
        });
        let mut ids = Vec::new();
        for serial in &serials {
            let existing: Option<(i64, Option<i64>)> = sqlx::query_as(
                "SELECT id, crm_deal_id FROM machine_instances WHERE serial_number = $1 AND model = $2",
            )
            .bind(serial)
            .bind(&model)
            .fetch_optional(&mut *tx)
            .await?;
            match existing {
                Some((id, Some(deal))) if deal == crm_lead_id => ids.push(id),
                Some((_, deal)) => {
                    tx.rollback().await?;
                    return Ok(Outcome::Review(format!(
                        "станок {model} № {serial} уже зарегистрирован (сделка {deal:?})"
                    )));
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO machine_instances (serial_number, product_id, model, client_id, sold_at, crm_deal_id, passport)
                         VALUES ($1, $2, $3, $4, current_date, $5, $6) RETURNING id",
                    )
                    .bind(serial)
                    .bind(&product_id)
                    .bind(&model)
                    .bind(client_id)
                    .bind(crm_lead_id)
                    .bind(&passport)
                    .fetch_one(&mut *tx)
                    .await?;
                    ids.push(id);
                }
            }
        }
        tx.commit().await?;
        Ok(Outcome::Registered(ids))
    }

    /// Processes events until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        crate::poll_until(shutdown, "passport", || async {
            self.run_once().await.map(|o| o.is_some())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The shape amoCRM sends on a status change (two leads in one request).
    const BODY: &str = "leads%5Bstatus%5D%5B0%5D%5Bid%5D=25399013&leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%A1%D1%82%D0%B0%D0%BD%D0%BE%D0%BA&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142&leads%5Bstatus%5D%5B0%5D%5Bold_status_id%5D=142553&leads%5Bstatus%5D%5B0%5D%5Bprice%5D=1729000&leads%5Bstatus%5D%5B0%5D%5Bresponsible_user_id%5D=123&leads%5Bstatus%5D%5B0%5D%5Blast_modified%5D=1700000000&leads%5Bstatus%5D%5B0%5D%5Bpipeline_id%5D=5553&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bid%5D=701&leads%5Bstatus%5D%5B0%5D%5Bcustom_fields%5D%5B0%5D%5Bvalues%5D%5B0%5D%5Bvalue%5D=SN-1&leads%5Bstatus%5D%5B1%5D%5Bid%5D=25399014&leads%5Bstatus%5D%5B1%5D%5Bstatus_id%5D=143&leads%5Bstatus%5D%5B1%5D%5Bpipeline_id%5D=5553&account%5Bsubdomain%5D=stanki&account%5Bid%5D=29911";

    #[test]
    fn parses_several_status_changes() {
        let hook = parse_webhook(BODY.as_bytes()).unwrap();
        assert_eq!(hook.subdomain.as_deref(), Some("stanki"));
        assert_eq!(
            hook.changes,
            vec![
                StatusChange {
                    lead_id: 25399013,
                    status_id: 142,
                    pipeline_id: Some(5553),
                    update: false,
                },
                StatusChange {
                    lead_id: 25399014,
                    status_id: 143,
                    pipeline_id: Some(5553),
                    update: false,
                },
            ]
        );
        assert_eq!(
            hook.raw["leads[status][0][custom_fields][0][values][0][value]"],
            "SN-1"
        );
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert!(parse_webhook(b"").is_err());
        assert!(parse_webhook(
            b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=abc&leads%5Bstatus%5D%5B0%5D%5Bstatus_id%5D=142"
        )
        .is_err());
        assert!(
            parse_webhook(b"leads%5Bstatus%5D%5B0%5D%5Bid%5D=5").is_err(),
            "no status_id"
        );
        // Other events are not errors, they just carry no status change.
        let hook =
            parse_webhook(b"leads%5Badd%5D%5B0%5D%5Bid%5D=5&account%5Bsubdomain%5D=x").unwrap();
        assert!(hook.changes.is_empty());
    }
}
