//! Lead intake: validation of a submitted lead and its durable, idempotent insertion.

use crate::{invalid, Error, LeadId, Phone, Result, TelegramId};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use sqlx::{PgPool, Row};

/// Lead sources.
pub const SOURCES: &[&str] = &["site", "bot", "tma"];
/// Lead kinds.
pub const KINDS: &[&str] = &["cart", "sos", "invoice", "quote", "callback"];
/// Sync states of a stored lead.
pub const SYNC_STATES: &[&str] = &["pending", "lead_created", "synced", "failed"];
/// Most lines a cart may have.
pub const MAX_CART_LINES: usize = 100;
/// Largest quantity of one cart line.
pub const MAX_QTY: i64 = 10_000;
/// Longest free text (descriptions, comments).
pub const MAX_TEXT: usize = 4000;

/// A lead as submitted (JSON body of `POST /api/v1/leads`).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadRequest {
    #[schema(schema_with = crate::schema::lead_source)]
    pub source: String,
    #[schema(schema_with = crate::schema::lead_kind)]
    pub kind: String,
    pub contact: ContactIn,
    /// cart: `{lines: [{catalog_id, qty, price_rub}], comment}`; sos: `{machine_instance_id,
    /// description}`; others: `{comment, order_number}`.
    #[serde(default)]
    pub payload: Value,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactIn {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

/// Who submits, when the caller is an authenticated Telegram user (bot or Mini App).
#[derive(Debug, Clone, Copy, Default)]
pub struct Submitter {
    pub telegram_id: Option<TelegramId>,
}

/// A stored lead as the API returns it.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct LeadView {
    pub id: LeadId,
    pub source: String,
    pub kind: String,
    #[schema(schema_with = crate::schema::sync_state)]
    pub status: String,
    pub contact: Value,
    pub payload: Value,
    pub ticket_id: Option<i64>,
    pub created_at: String,
    /// Given only to the lead's creator (and on a replay of the creation): the token
    /// `POST /api/v1/leads/{id}/attachments` needs in `X-Upload-Token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_token: Option<String>,
}

/// The outcome of a submit: the lead and whether it is a replay of an earlier submit.
#[derive(Debug)]
pub struct Submitted {
    pub lead: LeadView,
    pub replayed: bool,
}

struct Contact {
    name: String,
    phone: Option<Phone>,
    email: Option<String>,
}

fn text(field: &str, v: Option<&str>, max: usize) -> Result<String> {
    let s = v.unwrap_or("").trim();
    if s.chars().count() > max {
        return Err(invalid(field, format!("не длиннее {max} символов")));
    }
    Ok(s.to_string())
}

fn validate_contact(c: &ContactIn) -> Result<Contact> {
    let name = text("contact.name", c.name.as_deref(), 200)?;
    let phone = match c.phone.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => Some(Phone::parse(p).map_err(|_| {
            invalid(
                "contact.phone",
                "номер не распознан; пример: +7 912 345-67-89 или 8 (912) 345-67-89",
            )
        })?),
    };
    let email = match c.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => {
            let ok = e.len() <= 254
                && e.split_once('@').is_some_and(|(user, host)| {
                    !user.is_empty() && host.contains('.') && !host.starts_with('.')
                })
                && !e.contains(char::is_whitespace);
            if !ok {
                return Err(invalid("contact.email", "адрес почты не распознан"));
            }
            Some(e.to_lowercase())
        }
    };
    if phone.is_none() && email.is_none() {
        return Err(invalid(
            "contact",
            "укажите телефон или почту, чтобы менеджер мог связаться",
        ));
    }
    Ok(Contact { name, phone, email })
}

fn obj<'a>(payload: &'a Value, kind: &str) -> Result<&'a serde_json::Map<String, Value>> {
    match payload {
        Value::Object(m) => Ok(m),
        Value::Null => {
            static EMPTY: std::sync::OnceLock<serde_json::Map<String, Value>> =
                std::sync::OnceLock::new();
            Ok(EMPTY.get_or_init(serde_json::Map::new))
        }
        _ => Err(invalid("payload", format!("для «{kind}» ожидается объект"))),
    }
}

fn only_fields(m: &serde_json::Map<String, Value>, allowed: &[&str]) -> Result<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(invalid(&format!("payload.{k}"), "неизвестное поле")),
        None => Ok(()),
    }
}

fn opt_text(m: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(text(&format!("payload.{key}"), Some(s), MAX_TEXT)?))
            .map(|s| s.filter(|s| !s.is_empty())),
        Some(_) => Err(invalid(&format!("payload.{key}"), "ожидается строка")),
    }
}

/// Cart lines checked against the catalog: each item exists, quantity is sane, and the price
/// the customer saw is the current one. Returns the normalised payload with names and totals.
async fn validate_cart(pool: &PgPool, m: &serde_json::Map<String, Value>) -> Result<Value> {
    only_fields(m, &["lines", "comment"])?;
    let lines = m
        .get("lines")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("payload.lines", "ожидается список позиций"))?;
    if lines.is_empty() || lines.len() > MAX_CART_LINES {
        return Err(invalid(
            "payload.lines",
            format!("от 1 до {MAX_CART_LINES} позиций"),
        ));
    }
    let mut out = Vec::with_capacity(lines.len());
    let mut total = 0f64;
    let mut priced = true;
    for (i, line) in lines.iter().enumerate() {
        let f = |k: &str| format!("payload.lines[{i}].{k}");
        let l = line
            .as_object()
            .ok_or_else(|| invalid(&format!("payload.lines[{i}]"), "ожидается объект"))?;
        only_fields(l, &["catalog_id", "qty", "price_rub"])?;
        let id = l
            .get("catalog_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty() && s.len() <= 128)
            .ok_or_else(|| invalid(&f("catalog_id"), "ожидается id позиции каталога"))?;
        let qty = l
            .get("qty")
            .and_then(Value::as_i64)
            .filter(|q| (1..=MAX_QTY).contains(q))
            .ok_or_else(|| invalid(&f("qty"), format!("целое число от 1 до {MAX_QTY}")))?;
        let claimed = match l.get("price_rub") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.as_f64()
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .ok_or_else(|| invalid(&f("price_rub"), "ожидается неотрицательное число"))?,
            ),
        };
        let row = sqlx::query(
            "SELECT sku, name, price_rub::float8 AS price FROM catalog_documents WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| invalid(&f("catalog_id"), format!("позиции «{id}» нет в каталоге")))?;
        let price: Option<f64> = row.try_get("price")?;
        match (claimed, price) {
            (Some(c), Some(p)) if (c - p).abs() > 0.005 => {
                return Err(invalid(
                    &f("price_rub"),
                    format!("цена изменилась: сейчас {p:.2} ₽, обновите корзину"),
                ))
            }
            (Some(_), None) => {
                return Err(invalid(
                    &f("price_rub"),
                    "цена этой позиции — по запросу, не указывайте её",
                ))
            }
            _ => {}
        }
        let line_total = price.map(|p| p * qty as f64);
        match line_total {
            Some(t) => total += t,
            None => priced = false,
        }
        out.push(json!({
            "catalog_id": id,
            "sku": row.try_get::<String, _>("sku")?,
            "name": row.try_get::<String, _>("name")?,
            "qty": qty,
            "price_rub": price,
            "line_total_rub": line_total,
        }));
    }
    Ok(json!({
        "lines": out,
        "total_rub": (total * 100.0).round() / 100.0,
        "has_unpriced_lines": !priced,
        "comment": opt_text(m, "comment")?,
    }))
}

/// Validates the kind-specific payload; for `sos` also returns the machine number given.
async fn validate_payload(
    pool: &PgPool,
    kind: &str,
    payload: &Value,
) -> Result<(Value, Option<i64>)> {
    let m = obj(payload, kind)?;
    match kind {
        "cart" => Ok((validate_cart(pool, m).await?, None)),
        "sos" => {
            only_fields(m, &["machine_instance_id", "description"])?;
            let machine = m
                .get("machine_instance_id")
                .and_then(Value::as_i64)
                .ok_or_else(|| invalid("payload.machine_instance_id", "ожидается номер станка"))?;
            let description = opt_text(m, "description")?
                .ok_or_else(|| invalid("payload.description", "опишите неисправность"))?;
            // Whose machine it is is decided in `submit`, against the caller: an anonymous
            // caller's machine number is only a claim (and its existence is not revealed).
            Ok((
                json!({"machine_instance_id": machine, "description": description}),
                Some(machine),
            ))
        }
        _ => {
            only_fields(m, &["comment", "order_number"])?;
            Ok((
                json!({"comment": opt_text(m, "comment")?, "order_number": opt_text(m, "order_number")?}),
                None,
            ))
        }
    }
}

/// The stored form of a caller's idempotency key: `anon:…` or `tg{telegram id}:…`.
pub fn scoped_key(who: Submitter, key: &str) -> String {
    match who.telegram_id {
        Some(id) => format!("tg{id}:{key}"),
        None => format!("anon:{key}"),
    }
}

/// Hash of the request as received, to tell a replay from a reused key.
fn request_hash(req: &LeadRequest) -> String {
    let canonical = serde_json::to_vec(req).unwrap_or_default();
    hex::encode(Sha256::digest(canonical))
}

const VIEW_COLUMNS: &str =
    "id, source::text AS source, kind::text AS kind, sync_state::text AS status, \
    contact_name, contact_phone, contact_email, payload, request_hash, upload_token, \
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created";

fn view(row: &sqlx::postgres::PgRow) -> Result<LeadView> {
    let payload: Value = row.try_get("payload")?;
    Ok(LeadView {
        id: row.try_get("id")?,
        source: row.try_get("source")?,
        kind: row.try_get("kind")?,
        status: row.try_get("status")?,
        contact: json!({
            "name": row.try_get::<String, _>("contact_name")?,
            "phone": row.try_get::<Option<String>, _>("contact_phone")?,
            "email": row.try_get::<Option<String>, _>("contact_email")?,
        }),
        ticket_id: payload.get("ticket_id").and_then(Value::as_i64),
        payload,
        created_at: row.try_get("created")?,
        upload_token: None,
    })
}

/// Validates and stores a lead. With an idempotency key, a repeated submit of the same request
/// returns the first lead (`replayed`), and a different request under the same key is refused.
/// The lead (and, for `sos`, its service ticket) is committed when this returns.
pub async fn submit(
    pool: &PgPool,
    req: &LeadRequest,
    idempotency_key: Option<&str>,
    who: Submitter,
) -> Result<Submitted> {
    if let Some(k) = idempotency_key {
        if k.is_empty() || k.len() > 200 || !k.chars().all(|c| c.is_ascii_graphic()) {
            return Err(invalid(
                "Idempotency-Key",
                "от 1 до 200 видимых ASCII-символов",
            ));
        }
    }
    // Keys are scoped to the caller: an anonymous caller cannot take (or replay) a key a
    // Telegram user or a site session will use, however predictable that key is.
    let scoped = idempotency_key.map(|k| scoped_key(who, k));
    let idempotency_key = scoped.as_deref();
    let hash = request_hash(req);
    // A replay is answered before validation: the catalog may have changed since.
    if let Some(k) = idempotency_key {
        if let Some(found) = find_by_key(pool, k, &hash).await? {
            return Ok(found);
        }
    }
    if !SOURCES.contains(&req.source.as_str()) {
        return Err(invalid("source", "одно из: site, bot, tma"));
    }
    if !KINDS.contains(&req.kind.as_str()) {
        return Err(invalid(
            "kind",
            "одно из: cart, sos, invoice, quote, callback",
        ));
    }
    let contact = validate_contact(&req.contact)?;
    let (mut payload, sos) = validate_payload(pool, &req.kind, &req.payload).await?;

    let mut tx = pool.begin().await?;
    // An SOS opens a service ticket only for an authenticated user (Telegram or a site
    // session) on a machine of their own client. Anyone else's SOS is a lead for a manager
    // to call back: no ticket appears in a company's repair status on a stranger's word, and
    // the answer is the same whether the machine exists or not.
    let own_machine: Option<(i64, i64)> = match (sos, who.telegram_id) {
        (Some(machine), Some(user)) => {
            let client: Option<i64> = sqlx::query_scalar(
                "SELECT m.client_id FROM machine_instances m
                 JOIN telegram_users t ON t.client_id = m.client_id
                 WHERE m.id = $1 AND t.telegram_id = $2",
            )
            .bind(machine)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
            match client {
                Some(c) => Some((machine, c)),
                None => return Err(Error::Forbidden("этого станка нет в вашем парке".into())),
            }
        }
        (Some(_), None) => {
            payload["machine_unverified"] = json!(true);
            None
        }
        (None, _) => None,
    };
    let client_id: Option<i64> = match (&own_machine, &contact.phone) {
        (Some((_, client)), _) => Some(*client),
        (None, Some(phone)) => {
            sqlx::query_scalar("SELECT id FROM clients WHERE phone = $1")
                .bind(phone.as_str())
                .fetch_optional(&mut *tx)
                .await?
        }
        _ => None,
    };
    if let Some((machine, client)) = own_machine {
        let ticket: i64 = sqlx::query_scalar(
            "INSERT INTO service_tickets (machine_instance_id, client_id, kind, description, created_by_telegram)
             VALUES ($1, $2, 'sos', $3, $4) RETURNING id",
        )
        .bind(machine)
        .bind(client)
        .bind(payload["description"].as_str().unwrap_or_default())
        .bind(who.telegram_id)
        .fetch_one(&mut *tx)
        .await?;
        payload["ticket_id"] = json!(ticket);
    }
    let upload_token = hex::encode(rand::random::<[u8; 32]>());
    let sql = format!(
        "INSERT INTO leads (source, kind, client_id, contact_name, contact_phone, contact_email,
                            payload, idempotency_key, request_hash, telegram_id, upload_token,
                            uploads_open_until)
         VALUES ($1::lead_source, $2::lead_kind, $3, $4, $5, $6, $7, $8, $9, $10, $11,
                 now() + interval '24 hours')
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING {VIEW_COLUMNS}"
    );
    let row = sqlx::query(&sql)
        .bind(&req.source)
        .bind(&req.kind)
        .bind(client_id)
        .bind(&contact.name)
        .bind(contact.phone.as_ref().map(Phone::as_str))
        .bind(&contact.email)
        .bind(&payload)
        .bind(idempotency_key)
        .bind(&hash)
        .bind(who.telegram_id)
        .bind(&upload_token)
        .fetch_optional(&mut *tx)
        .await?;
    match row {
        Some(row) => {
            let mut lead = view(&row)?;
            lead.upload_token = Some(upload_token);
            tx.commit().await?;
            Ok(Submitted {
                lead,
                replayed: false,
            })
        }
        None => {
            // A concurrent submit with the same key won; answer with its lead.
            tx.rollback().await?;
            let k = idempotency_key.unwrap_or_default();
            find_by_key(pool, k, &hash)
                .await?
                .ok_or_else(|| Error::KeyReused(k.to_string()))
        }
    }
}

async fn find_by_key(pool: &PgPool, key: &str, hash: &str) -> Result<Option<Submitted>> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM leads WHERE idempotency_key = $1");
    let Some(row) = sqlx::query(&sql).bind(key).fetch_optional(pool).await? else {
        return Ok(None);
    };
    let stored: Option<String> = row.try_get("request_hash")?;
    if stored.as_deref() != Some(hash) {
        return Err(Error::KeyReused(key.to_string()));
    }
    let mut lead = view(&row)?;
    lead.upload_token = row.try_get("upload_token")?;
    Ok(Some(Submitted {
        lead,
        replayed: true,
    }))
}

/// One lead by id.
pub async fn get(pool: &PgPool, id: LeadId) -> Result<LeadView> {
    let sql = format!("SELECT {VIEW_COLUMNS} FROM leads WHERE id = $1");
    let row = sqlx::query(&sql)
        .bind(id)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::NotFound(format!("заявка {id}")))?;
    view(&row)
}

/// A lead as operators see it in the sync list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SyncRow {
    pub id: LeadId,
    pub kind: String,
    pub source: String,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub crm_lead_id: Option<i64>,
    pub created_at: String,
}

/// Leads in a sync state (`pending`, `lead_created`, `synced`, `failed`), newest first.
pub async fn list_by_status(pool: &PgPool, status: &str, limit: i64) -> Result<Vec<SyncRow>> {
    if !SYNC_STATES.contains(&status) {
        return Err(invalid(
            "status",
            "одно из: pending, lead_created, synced, failed",
        ));
    }
    let rows = sqlx::query(
        "SELECT id, kind::text AS kind, source::text AS source, sync_state::text AS status, attempts,
                last_error, crm_lead_id,
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created
         FROM leads WHERE sync_state = $1::lead_sync_state ORDER BY id DESC LIMIT $2",
    )
    .bind(status)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SyncRow {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                source: r.try_get("source")?,
                status: r.try_get("status")?,
                attempts: r.try_get("attempts")?,
                last_error: r.try_get("last_error")?,
                crm_lead_id: r.try_get("crm_lead_id")?,
                created_at: r.try_get("created")?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_needs_a_way_to_reach_someone() {
        let c = ContactIn {
            name: Some("Иван".into()),
            ..Default::default()
        };
        assert!(
            matches!(validate_contact(&c), Err(Error::Invalid { field, .. }) if field == "contact")
        );
        let c = ContactIn {
            phone: Some("8 (912) 345-67-89".into()),
            ..Default::default()
        };
        assert_eq!(
            validate_contact(&c).unwrap().phone.unwrap().as_str(),
            "+79123456789"
        );
        for bad in ["ivan", "a@b", "a b@c.ru", "@mail.ru"] {
            let c = ContactIn {
                email: Some(bad.into()),
                ..Default::default()
            };
            assert!(validate_contact(&c).is_err(), "{bad}");
        }
    }

    #[test]
    fn request_hash_tells_bodies_apart() {
        let a: LeadRequest = serde_json::from_value(
            json!({"source": "site", "kind": "callback", "contact": {"phone": "+79123456789"}}),
        )
        .unwrap();
        let mut b = a.clone();
        assert_eq!(request_hash(&a), request_hash(&b));
        b.contact.name = Some("Пётр".into());
        assert_ne!(request_hash(&a), request_hash(&b));
    }
}
