//! The outbox worker: delivers stored leads to amoCRM exactly once.
//!
//! A lead is claimed with `FOR UPDATE SKIP LOCKED` and a lease (`locked_until`), so several
//! workers never take the same lead and a killed worker's lead is taken again when the lease
//! ends. Each claim counts an attempt *before* any CRM call. The steps store their result as
//! soon as amoCRM answers:
//!
//! 1. lead + contact (`leads/complex`, the contact reused when one with the phone exists) →
//!    `crm_lead_id`, state `lead_created`. The CRM lead's name carries the marker
//!    `[stanok-lead-{id}]`; an attempt after a possibly interrupted one first searches for the
//!    marker, so a lead created just before a crash is found, not created twice.
//! 2. the note (cart lines, totals, attachments) → `crm_note_ids`; likewise looked up by its
//!    marker first when an earlier attempt may have added it.
//! 3. state `synced`.
//!
//! Retryable failures (network, 429, 5xx, a token that needs a person to renew it) back off
//! exponentially with jitter up to `max_backoff` and are retried for as long as it takes: an
//! amoCRM outage of hours delays leads, it never loses one. Past `alert_after_attempts` each
//! failure is logged at error level (`lead sync stuck`), the line an operator's alert watches.
//! Only a permanent rejection (a 4xx other than 401/429) makes a lead `failed` for an operator
//! (`GET /api/v1/leads?status=failed`, then `POST /api/v1/admin/leads/requeue`).

use crate::amocrm::{AmoClient, CrmError};
use crate::{LeadId, Result};
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use std::sync::Arc;
use std::time::Duration;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Failures after which each further one is logged as an error (the lead keeps trying).
    pub alert_after_attempts: i32,
    /// How long a claim lasts before another worker may take the lead.
    pub lease: Duration,
    /// First retry delay; doubles per attempt up to `max_backoff`.
    pub base_backoff: Duration,
    pub max_backoff: Duration,
    /// Base of links to attachments in notes (e.g. `https://stanki.example`).
    pub public_base_url: String,
    /// Key signing those links (`None`: notes list file names without links).
    pub link_signing_key: Option<String>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            alert_after_attempts: 12,
            lease: Duration::from_secs(120),
            base_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(1800),
            public_base_url: String::new(),
            link_signing_key: None,
        }
    }
}

/// The marker a CRM lead and its note carry.
pub fn marker(lead_id: LeadId) -> String {
    format!("[stanok-lead-{lead_id}]")
}

struct Claimed {
    id: LeadId,
    kind: String,
    source: String,
    attempts: i32,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    payload: Value,
    crm_lead_id: Option<i64>,
    crm_contact_id: Option<i64>,
    note_ids: Vec<i64>,
}

/// The worker.
pub struct SyncWorker {
    pool: PgPool,
    amo: Arc<AmoClient>,
    cfg: SyncConfig,
}

fn kind_title(kind: &str) -> &'static str {
    match kind {
        "cart" => "Заказ из корзины",
        "sos" => "SOS: вызов сервиса",
        "invoice" => "Запрос счёта",
        "quote" => "Запрос КП",
        _ => "Обратный звонок",
    }
}

fn source_title(source: &str) -> &'static str {
    match source {
        "bot" => "Telegram-бот",
        "tma" => "Mini App",
        _ => "сайт",
    }
}

/// Roubles as people write them: `12 345,50 ₽`.
pub fn rub(x: f64) -> String {
    let cents = (x * 100.0).round() as i64;
    let (whole, frac) = (cents / 100, (cents % 100).abs());
    let digits = whole.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(c);
    }
    let sign = if whole < 0 { "-" } else { "" };
    format!("{sign}{grouped},{frac:02}\u{a0}₽")
}

/// The note text: one readable line per cart item, the order total, comment and file links.
pub fn note_text(
    lead_id: LeadId,
    kind: &str,
    source: &str,
    payload: &Value,
    attachments: &[(String, String)],
) -> String {
    let mut out = format!(
        "{} ({}), заявка {}\n",
        kind_title(kind),
        source_title(source),
        marker(lead_id)
    );
    if let Some(lines) = payload["lines"].as_array() {
        for (i, l) in lines.iter().enumerate() {
            let qty = l["qty"].as_i64().unwrap_or(0);
            let price = l["price_rub"].as_f64();
            let line = match (price, l["line_total_rub"].as_f64()) {
                (Some(p), Some(t)) => format!("{qty} шт × {} = {}", rub(p), rub(t)),
                _ => format!("{qty} шт × цена по запросу"),
            };
            out.push_str(&format!(
                "{}. {} — {} — {}\n",
                i + 1,
                l["sku"].as_str().unwrap_or(""),
                l["name"].as_str().unwrap_or(""),
                line
            ));
        }
        if let Some(total) = payload["total_rub"].as_f64() {
            let suffix = if payload["has_unpriced_lines"] == true {
                " (без позиций с ценой по запросу)"
            } else {
                ""
            };
            out.push_str(&format!("Итого: {}{suffix}\n", rub(total)));
        }
    }
    if let (Some(m), true) = (
        payload["machine_instance_id"].as_i64(),
        payload["machine_unverified"] == true,
    ) {
        out.push_str(&format!(
            "Станок №{m} указан без входа в бота или на сайт — не проверен, сервисная заявка не открыта\n"
        ));
    }
    if let Some(d) = payload["description"].as_str() {
        out.push_str(&format!("Описание: {d}\n"));
    }
    if let Some(t) = payload["ticket_id"].as_i64() {
        out.push_str(&format!("Сервисная заявка №{t}\n"));
    }
    if let Some(o) = payload["order_number"].as_str() {
        out.push_str(&format!("Номер заказа: {o}\n"));
    }
    if let Some(c) = payload["comment"].as_str() {
        out.push_str(&format!("Комментарий: {c}\n"));
    }
    if !attachments.is_empty() {
        out.push_str("Файлы:\n");
        for (name, link) in attachments {
            out.push_str(&format!("- {name}: {link}\n"));
        }
    }
    out.trim_end().to_string()
}

impl SyncWorker {
    pub fn new(pool: PgPool, amo: Arc<AmoClient>, cfg: SyncConfig) -> SyncWorker {
        SyncWorker { pool, amo, cfg }
    }

    async fn claim(&self) -> Result<Option<Claimed>> {
        let row = sqlx::query(
            "UPDATE leads SET locked_until = now() + $1 * interval '1 millisecond',
                              attempts = attempts + 1
             WHERE id = (SELECT id FROM leads
                         WHERE sync_state IN ('pending', 'lead_created') AND next_attempt_at <= now()
                           AND (locked_until IS NULL OR locked_until < now())
                         ORDER BY next_attempt_at, id
                         FOR UPDATE SKIP LOCKED LIMIT 1)
             RETURNING id, kind::text AS kind, source::text AS source, attempts, contact_name,
                       contact_phone, contact_email, payload, crm_lead_id, crm_contact_id, crm_note_ids",
        )
        .bind(self.cfg.lease.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = row else { return Ok(None) };
        Ok(Some(Claimed {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            source: r.try_get("source")?,
            attempts: r.try_get("attempts")?,
            name: r.try_get("contact_name")?,
            phone: r.try_get("contact_phone")?,
            email: r.try_get("contact_email")?,
            payload: r.try_get("payload")?,
            crm_lead_id: r.try_get("crm_lead_id")?,
            crm_contact_id: r.try_get("crm_contact_id")?,
            note_ids: r.try_get("crm_note_ids")?,
        }))
    }

    async fn record(&self, lead: LeadId, step: &str, outcome: std::result::Result<(), &CrmError>) {
        let (ok, status, error) = match outcome {
            Ok(()) => (true, None, None),
            Err(e) => (
                false,
                e.status().map(i32::from),
                Some(crate::redact(&e.to_string())),
            ),
        };
        if let Err(e) = sqlx::query(
            "INSERT INTO lead_sync_attempts (lead_id, step, ok, http_status, error) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(lead)
        .bind(step)
        .bind(ok)
        .bind(status)
        .bind(error)
        .execute(&self.pool)
        .await
        {
            tracing::warn!(lead = lead.0, error = %e, "cannot record a sync attempt");
        }
    }

    /// Claims and syncs one lead. Returns its id, or `None` when nothing is due.
    pub async fn run_once(&self) -> Result<Option<LeadId>> {
        let Some(lead) = self.claim().await? else {
            return Ok(None);
        };
        let id = lead.id;
        match self.deliver(lead).await {
            Ok(()) => {
                sqlx::query(
                    "UPDATE leads SET sync_state = 'synced', synced_at = now(), locked_until = NULL,
                                      last_error = NULL WHERE id = $1",
                )
                .bind(id)
                .execute(&self.pool)
                .await?;
                tracing::info!(lead = id.0, "lead delivered to amoCRM");
            }
            Err((step, e)) => {
                self.record(id, step, Err(&e)).await;
                let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM leads WHERE id = $1")
                    .bind(id)
                    .fetch_one(&self.pool)
                    .await?;
                let give_up = matches!(e, CrmError::Permanent { .. });
                let delay = self.backoff(attempts);
                sqlx::query(
                    "UPDATE leads SET locked_until = NULL, last_error = $2,
                            sync_state = CASE WHEN $3 THEN 'failed'::lead_sync_state ELSE sync_state END,
                            next_attempt_at = now() + $4 * interval '1 millisecond'
                     WHERE id = $1",
                )
                .bind(id)
                .bind(crate::redact(&e.to_string()))
                .bind(give_up)
                .bind(delay.as_millis() as i64)
                .execute(&self.pool)
                .await?;
                if give_up {
                    tracing::error!(lead = id.0, attempts, error = %crate::redact(&e.to_string()), "lead sync failed; left for an operator");
                } else if attempts >= self.cfg.alert_after_attempts {
                    tracing::error!(lead = id.0, attempts, retry_in_ms = delay.as_millis() as u64, error = %crate::redact(&e.to_string()), "lead sync stuck; still retrying");
                } else {
                    tracing::warn!(lead = id.0, attempts, retry_in_ms = delay.as_millis() as u64, error = %crate::redact(&e.to_string()), "lead sync will be retried");
                }
            }
        }
        Ok(Some(id))
    }

    /// Makes `failed` leads (all of them, or those in `ids`) due again from their last completed
    /// step. Returns how many.
    pub async fn requeue_failed(pool: &PgPool, ids: Option<&[i64]>) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE leads SET sync_state = CASE WHEN crm_lead_id IS NULL THEN 'pending'::lead_sync_state
                                                ELSE 'lead_created'::lead_sync_state END,
                              attempts = 0, next_attempt_at = now(), locked_until = NULL
             WHERE sync_state = 'failed' AND ($1::bigint[] IS NULL OR id = ANY($1))",
        )
        .bind(ids)
        .execute(pool)
        .await?;
        Ok(done.rows_affected())
    }

    fn backoff(&self, attempts: i32) -> Duration {
        let exp = self
            .cfg
            .base_backoff
            .saturating_mul(1u32 << attempts.clamp(1, 16).saturating_sub(1) as u32)
            .min(self.cfg.max_backoff);
        // Full jitter in [exp/2, exp].
        let half = exp / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    async fn deliver(
        &self,
        mut lead: Claimed,
    ) -> std::result::Result<(), (&'static str, CrmError)> {
        let mark = marker(lead.id);
        let maybe_done_before = lead.attempts > 1;
        if lead.crm_lead_id.is_none() {
            let mut found = None;
            if maybe_done_before {
                let leads = self
                    .amo
                    .find_leads(&mark)
                    .await
                    .map_err(|e| ("find_lead", e))?;
                found = leads
                    .iter()
                    .find(|l| l["name"].as_str().is_some_and(|n| n.contains(&mark)))
                    .and_then(|l| l["id"].as_i64());
            }
            let (crm_id, contact) = match found {
                Some(id) => (id, None),
                None => {
                    let existing = match &lead.phone {
                        Some(p) => self
                            .amo
                            .find_contact_by_phone(p)
                            .await
                            .map_err(|e| ("find_contact", e))?,
                        None => None,
                    };
                    let contact = match existing {
                        Some(id) => json!({"id": id}),
                        None => {
                            let mut fields = Vec::new();
                            if let Some(p) = &lead.phone {
                                fields.push(json!({"field_code": "PHONE", "values": [{"value": p, "enum_code": "WORK"}]}));
                            }
                            if let Some(e) = &lead.email {
                                fields.push(json!({"field_code": "EMAIL", "values": [{"value": e, "enum_code": "WORK"}]}));
                            }
                            let name = if lead.name.is_empty() {
                                lead.phone
                                    .clone()
                                    .or(lead.email.clone())
                                    .unwrap_or_default()
                            } else {
                                lead.name.clone()
                            };
                            json!({"name": name, "custom_fields_values": fields})
                        }
                    };
                    let mut body = json!({
                        "name": format!("{} {}", kind_title(&lead.kind), mark),
                        "_embedded": {
                            "contacts": [contact],
                            "tags": [{"name": source_title(&lead.source)}, {"name": lead.kind}],
                        },
                        "request_id": lead.id.to_string(),
                    });
                    if let Some(total) = lead.payload["total_rub"].as_f64() {
                        body["price"] = json!(total.round() as i64);
                    }
                    if let Some(p) = self.amo.config().pipeline_id {
                        body["pipeline_id"] = json!(p);
                    }
                    let (id, contact) = self
                        .amo
                        .create_lead_complex(&body)
                        .await
                        .map_err(|e| ("create_lead", e))?;
                    (id, contact.or(existing))
                }
            };
            sqlx::query(
                "UPDATE leads SET crm_lead_id = $2, crm_contact_id = coalesce($3, crm_contact_id),
                                  sync_state = 'lead_created' WHERE id = $1",
            )
            .bind(lead.id)
            .bind(crm_id)
            .bind(contact)
            .execute(&self.pool)
            .await
            .map_err(|e| ("store_lead", CrmError::Db(e)))?;
            self.record(lead.id, "create_lead", Ok(())).await;
            lead.crm_lead_id = Some(crm_id);
            lead.crm_contact_id = contact.or(lead.crm_contact_id);
        }
        let crm_id = lead.crm_lead_id.expect("set above");

        let db = |step: &'static str| move |e: sqlx::Error| (step, CrmError::Db(e));
        // The first note: the lead itself and the files it has by then (batch 0).
        let has_files: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM lead_attachments WHERE lead_id = $1)")
                .bind(lead.id)
                .fetch_one(&self.pool)
                .await
                .map_err(db("attachments"))?;
        let needs_note = lead.kind != "callback" || has_files;
        if needs_note && lead.note_ids.is_empty() {
            sqlx::query("UPDATE lead_attachments SET note_batch = 0 WHERE lead_id = $1 AND note_batch IS NULL")
                .bind(lead.id)
                .execute(&self.pool)
                .await
                .map_err(db("attachments"))?;
            let links = self.batch_links(lead.id, 0).await?;
            let text = note_text(lead.id, &lead.kind, &lead.source, &lead.payload, &links);
            let note_id = self
                .post_note_once(crm_id, &mark, &text, maybe_done_before)
                .await?;
            self.store_note(lead.id, note_id, 0).await?;
            self.record(lead.id, "add_note", Ok(())).await;
        }
        // Files that came after it: one follow-up note per batch, each posted once.
        loop {
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT note_batch FROM lead_attachments
                 WHERE lead_id = $1 AND NOT noted AND note_batch IS NOT NULL ORDER BY note_batch LIMIT 1",
            )
            .bind(lead.id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("attachments"))?;
            let batch = match open {
                Some(b) => b,
                None => {
                    let first: Option<i64> = sqlx::query_scalar(
                        "UPDATE lead_attachments SET note_batch = (SELECT min(id) FROM lead_attachments
                                                                   WHERE lead_id = $1 AND note_batch IS NULL)
                         WHERE lead_id = $1 AND note_batch IS NULL RETURNING note_batch",
                    )
                    .bind(lead.id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(db("attachments"))?;
                    match first {
                        Some(b) => b,
                        None => break,
                    }
                }
            };
            let batch_mark = format!("[stanok-lead-{}-files-{batch}]", lead.id);
            let links = self.batch_links(lead.id, batch).await?;
            let mut text = format!(
                "Дополнительные файлы к заявке №{} {batch_mark}\nФайлы:\n",
                lead.id
            );
            for (name, link) in &links {
                text.push_str(&format!("- {name}: {link}\n"));
            }
            let note_id = self
                .post_note_once(crm_id, &batch_mark, text.trim_end(), true)
                .await?;
            self.store_note(lead.id, note_id, batch).await?;
            self.record(lead.id, "add_files_note", Ok(())).await;
        }
        Ok(())
    }

    /// Records a posted note and marks its batch's files noted, together.
    async fn store_note(
        &self,
        lead_id: LeadId,
        note_id: i64,
        batch: i64,
    ) -> std::result::Result<(), (&'static str, CrmError)> {
        let db = |e: sqlx::Error| ("store_note", CrmError::Db(e));
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("UPDATE leads SET crm_note_ids = array_append(crm_note_ids, $2) WHERE id = $1")
            .bind(lead_id)
            .bind(note_id)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "UPDATE lead_attachments SET noted = true WHERE lead_id = $1 AND note_batch = $2",
        )
        .bind(lead_id)
        .bind(batch)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    /// Name and link of each file of a note batch.
    async fn batch_links(
        &self,
        lead_id: LeadId,
        batch: i64,
    ) -> std::result::Result<Vec<(String, String)>, (&'static str, CrmError)> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT file_name, sha256, mime_type, size_bytes FROM lead_attachments
             WHERE lead_id = $1 AND note_batch = $2 ORDER BY id",
        )
        .bind(lead_id)
        .bind(batch)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| ("attachments", CrmError::Db(e)))?;
        Ok(rows
            .into_iter()
            .map(|(name, sha, mime, size)| {
                let link = match &self.cfg.link_signing_key {
                    Some(key) => format!(
                        "{}/api/v1/leads/{lead_id}/attachments/{sha}?sig={}",
                        self.cfg.public_base_url,
                        crate::attachments::link_signature(key, lead_id, &sha)
                    ),
                    None => format!("{mime} ({size} байт)"),
                };
                (name, link)
            })
            .collect())
    }

    /// Posts a note carrying `marker` unless one already exists (when an earlier attempt may
    /// have posted it before its answer was lost). Returns the note's id.
    async fn post_note_once(
        &self,
        crm_id: i64,
        marker: &str,
        text: &str,
        look_first: bool,
    ) -> std::result::Result<i64, (&'static str, CrmError)> {
        if look_first {
            let notes = self
                .amo
                .lead_notes(crm_id)
                .await
                .map_err(|e| ("find_note", e))?;
            if let Some(id) = notes
                .iter()
                .find(|n| {
                    n["params"]["text"]
                        .as_str()
                        .is_some_and(|t| t.contains(marker))
                })
                .and_then(|n| n["id"].as_i64())
            {
                return Ok(id);
            }
        }
        self.amo
            .add_note(crm_id, text)
            .await
            .map_err(|e| ("add_note", e))
    }

    /// Delivers leads until `shutdown`; sleeps briefly when nothing is due.
    pub async fn run(self: Arc<Self>, shutdown: tokio::sync::watch::Receiver<bool>) {
        crate::poll_until(shutdown, "lead sync", || async {
            self.run_once().await.map(|o| o.is_some())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roubles_are_grouped_with_a_comma() {
        assert_eq!(rub(1234567.5), "1\u{a0}234\u{a0}567,50\u{a0}₽");
        assert_eq!(rub(450.0), "450,00\u{a0}₽");
        assert_eq!(rub(0.07), "0,07\u{a0}₽");
    }

    #[test]
    fn cart_note_has_a_line_per_item_and_the_total() {
        let payload = json!({
            "lines": [
                {"sku": "6205-2RS", "name": "Подшипник 6205-2RS SKF", "qty": 2, "price_rub": 450.0, "line_total_rub": 900.0},
                {"sku": "B-1600", "name": "Ремень B-1600", "qty": 1, "price_rub": null, "line_total_rub": null}
            ],
            "total_rub": 900.0, "has_unpriced_lines": true, "comment": "Срочно"
        });
        let text = note_text(
            LeadId(7),
            "cart",
            "site",
            &payload,
            &[("скан.pdf".into(), "https://x/f".into())],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "Заказ из корзины (сайт), заявка [stanok-lead-7]");
        assert_eq!(
            lines[1],
            "1. 6205-2RS — Подшипник 6205-2RS SKF — 2 шт × 450,00\u{a0}₽ = 900,00\u{a0}₽"
        );
        assert_eq!(
            lines[2],
            "2. B-1600 — Ремень B-1600 — 1 шт × цена по запросу"
        );
        assert!(lines[3].starts_with("Итого: 900,00\u{a0}₽"));
        assert!(text.contains("Комментарий: Срочно"));
        assert!(text.contains("- скан.pdf: https://x/f"));
    }
}
