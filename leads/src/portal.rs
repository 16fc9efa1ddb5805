//! What a customer's people read about their own account through the bot and the Mini App:
//! who they are, their service tickets with status history, modernisation projects, personal
//! offers, order shipments and the knowledge base for the models in their park. Every query
//! takes the caller's `client_id`; the server decides who may ask (see `server::api`).

use crate::{invalid, ClientId, Error, Result, TelegramId};
use serde::Serialize;
use sqlx::{PgPool, Row};
use std::path::Path;

/// An enum whose variants have fixed names, on the wire and in the database: `as_str`, `parse`,
/// `from_field` (a 400 that lists the names), `ALL`, and the names as a constant slice.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $names:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every variant, in the order of the names.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name on the wire and in the database.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The variant named `s`, if any.
            pub fn parse(s: &str) -> Option<$name> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }

            /// The variant a request field names, or a 400 naming the field and the choices.
            pub fn from_field(field: &str, s: &str) -> Result<$name> {
                Self::parse(s)
                    .ok_or_else(|| invalid(field, format!("одно из: {}", $names.join(", "))))
            }
        }

        /// The names, in order.
        pub const $names: &[&str] = &[$($text),+];
    };
}

named_enum! {
    /// A Telegram user's role within their client (`telegram_role`): which sections of the
    /// account they read.
    Role, ROLES {
        Director => "director",
        Engineer => "engineer",
        Procurement => "procurement",
    }
}

/// Document types of the knowledge base.
pub const DOC_TYPES: &[&str] = &["manual", "drawing", "schematic", "instruction"];

const TS: &str = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

/// A Telegram user as the bot sees them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Me {
    pub telegram_id: TelegramId,
    pub client_id: Option<ClientId>,
    pub company: Option<String>,
    pub role: Option<String>,
    pub phone: Option<String>,
    pub first_name: String,
}

/// The user with this Telegram id (`None`: never shared a phone with the bot).
pub async fn me(pool: &PgPool, telegram_id: TelegramId) -> Result<Option<Me>> {
    // Someone who speaks to the bot again has unblocked it: notifications resume.
    sqlx::query("UPDATE telegram_users SET blocked_at = NULL WHERE telegram_id = $1 AND blocked_at IS NOT NULL")
        .bind(telegram_id)
        .execute(pool)
        .await?;
    let row = sqlx::query(
        "SELECT t.telegram_id, t.client_id, c.company, t.role::text AS role, t.phone, t.first_name
         FROM telegram_users t LEFT JOIN clients c ON c.id = t.client_id
         WHERE t.telegram_id = $1",
    )
    .bind(telegram_id)
    .fetch_optional(pool)
    .await?;
    row.map(|r| {
        Ok(Me {
            telegram_id: r.try_get("telegram_id")?,
            client_id: r.try_get("client_id")?,
            company: r.try_get("company")?,
            role: r.try_get("role")?,
            phone: r.try_get("phone")?,
            first_name: r.try_get("first_name")?,
        })
    })
    .transpose()
}

/// An operator assigns a role to a linked Telegram user.
pub async fn set_role(pool: &PgPool, telegram_id: TelegramId, role: Role) -> Result<Me> {
    let linked: Option<Option<i64>> =
        sqlx::query_scalar("SELECT client_id FROM telegram_users WHERE telegram_id = $1")
            .bind(telegram_id)
            .fetch_optional(pool)
            .await?;
    match linked {
        None => {
            return Err(Error::NotFound(format!(
                "пользователь Telegram {telegram_id}"
            )))
        }
        Some(None) => {
            return Err(invalid(
                "telegram_id",
                "пользователь не привязан к клиенту: роль назначается после привязки",
            ))
        }
        Some(Some(_)) => {}
    }
    sqlx::query("UPDATE telegram_users SET role = $2::telegram_role WHERE telegram_id = $1")
        .bind(telegram_id)
        .bind(role.as_str())
        .execute(pool)
        .await?;
    me(pool, telegram_id)
        .await?
        .ok_or_else(|| Error::NotFound(format!("пользователь Telegram {telegram_id}")))
}

/// One status change of a ticket.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct TicketEvent {
    pub status: String,
    pub comment: String,
    pub at: String,
}

/// A service ticket with its machine and status history (oldest first).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct TicketDetail {
    pub id: i64,
    pub machine_instance_id: i64,
    pub serial_number: String,
    pub model: String,
    pub kind: String,
    pub status: String,
    pub description: String,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub history: Vec<TicketEvent>,
}

/// Tickets of `client_id`, newest first: open ones only, or all of them.
pub async fn tickets(
    pool: &PgPool,
    client_id: ClientId,
    include_closed: bool,
) -> Result<Vec<TicketDetail>> {
    let rows = sqlx::query(&format!(
        "SELECT t.id, t.machine_instance_id, m.serial_number, m.model, t.kind::text AS kind,
                t.status::text AS status, t.description,
                to_char(t.created_at AT TIME ZONE 'UTC', {TS}) AS created,
                to_char(t.closed_at AT TIME ZONE 'UTC', {TS}) AS closed
         FROM service_tickets t JOIN machine_instances m ON m.id = t.machine_instance_id
         WHERE t.client_id = $1 AND ($2 OR t.closed_at IS NULL)
         ORDER BY t.id DESC LIMIT 50"
    ))
    .bind(client_id)
    .bind(include_closed)
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = rows
        .iter()
        .map(|r| r.try_get("id"))
        .collect::<std::result::Result<_, _>>()?;
    let events = sqlx::query(&format!(
        "SELECT ticket_id, status::text AS status, comment,
                to_char(at AT TIME ZONE 'UTC', {TS}) AS at
         FROM service_ticket_events WHERE ticket_id = ANY($1) ORDER BY at, id"
    ))
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("id")?;
            let history = events
                .iter()
                .filter(|e| e.try_get::<i64, _>("ticket_id").ok() == Some(id))
                .map(|e| {
                    Ok(TicketEvent {
                        status: e.try_get("status")?,
                        comment: e.try_get("comment")?,
                        at: e.try_get("at")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            Ok(TicketDetail {
                id,
                machine_instance_id: r.try_get("machine_instance_id")?,
                serial_number: r.try_get("serial_number")?,
                model: r.try_get("model")?,
                kind: r.try_get("kind")?,
                status: r.try_get("status")?,
                description: r.try_get("description")?,
                created_at: r.try_get("created")?,
                closed_at: r.try_get("closed")?,
                history,
            })
        })
        .collect()
}

/// A modernisation project.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Project {
    pub id: i64,
    pub title: String,
    pub status: String,
    pub budget_rub: Option<f64>,
    pub progress_pct: i32,
    pub starts_on: Option<String>,
    pub due_on: Option<String>,
    pub description: String,
}

/// Proposed and active projects of `client_id` (done and cancelled ones are history).
pub async fn projects(pool: &PgPool, client_id: ClientId) -> Result<Vec<Project>> {
    sqlx::query(
        "SELECT id, title, status, budget_rub::float8 AS budget, progress_pct,
                starts_on::text AS starts_on, due_on::text AS due_on, description
         FROM modernization_projects
         WHERE client_id = $1 AND status IN ('proposed', 'active')
         ORDER BY status = 'active' DESC, due_on NULLS LAST, id",
    )
    .bind(client_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Project {
            id: r.try_get("id")?,
            title: r.try_get("title")?,
            status: r.try_get("status")?,
            budget_rub: r.try_get("budget")?,
            progress_pct: r.try_get("progress_pct")?,
            starts_on: r.try_get("starts_on")?,
            due_on: r.try_get("due_on")?,
            description: r.try_get("description")?,
        })
    })
    .collect()
}

/// A personal offer, with the catalog item it is about.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Offer {
    pub id: i64,
    pub title: String,
    pub body: String,
    pub item_id: Option<String>,
    pub item_sku: Option<String>,
    pub item_name: Option<String>,
    pub price_rub: Option<f64>,
    pub discount_pct: Option<f64>,
    pub valid_until: Option<String>,
}

/// Offers of `client_id` still valid on `today` (`YYYY-MM-DD`).
pub async fn offers(pool: &PgPool, client_id: ClientId, today: &str) -> Result<Vec<Offer>> {
    sqlx::query(
        "SELECT o.id, o.title, o.body, o.item_id, c.sku, c.name, c.price_rub::float8 AS price,
                o.discount_pct::float8 AS discount, o.valid_until::text AS valid_until
         FROM personal_offers o LEFT JOIN catalog_items c ON c.id = o.item_id
         WHERE o.client_id = $1 AND (o.valid_until IS NULL OR o.valid_until >= $2::date)
           AND o.published_at IS NOT NULL AND o.published_at <= now()
         ORDER BY o.valid_until NULLS LAST, o.id",
    )
    .bind(client_id)
    .bind(today)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Offer {
            id: r.try_get("id")?,
            title: r.try_get("title")?,
            body: r.try_get("body")?,
            item_id: r.try_get("item_id")?,
            item_sku: r.try_get("sku")?,
            item_name: r.try_get("name")?,
            price_rub: r.try_get("price")?,
            discount_pct: r.try_get("discount")?,
            valid_until: r.try_get("valid_until")?,
        })
    })
    .collect()
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ShipmentEvent {
    pub status: String,
    pub location: String,
    /// The carrier's or operator's words ("Отправлен в г. транзит").
    pub description: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Shipment {
    pub id: i64,
    pub carrier: String,
    pub tracking_no: Option<String>,
    pub status: String,
    pub eta: Option<String>,
    pub events: Vec<ShipmentEvent>,
}

/// An order with its shipments.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct OrderShipments {
    pub number: String,
    pub status: String,
    pub total_rub: f64,
    pub created_at: String,
    pub shipments: Vec<Shipment>,
}

/// Shipment status of order `number` of `client_id`. An order of another client is
/// indistinguishable from a missing one.
pub async fn order_shipments(
    pool: &PgPool,
    client_id: ClientId,
    number: &str,
) -> Result<OrderShipments> {
    let number = number.trim();
    if number.is_empty() || number.chars().count() > 64 {
        return Err(invalid("number", "номер заказа: от 1 до 64 символов"));
    }
    let order = sqlx::query(&format!(
        "SELECT id, number, status::text AS status, total_rub::float8 AS total,
                to_char(created_at AT TIME ZONE 'UTC', {TS}) AS created
         FROM orders WHERE client_id = $1 AND upper(number) = upper($2)"
    ))
    .bind(client_id)
    .bind(number)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| Error::NotFound(format!("заказ {number}")))?;
    let order_id: i64 = order.try_get("id")?;
    let ships = sqlx::query(
        "SELECT id, carrier, tracking_no, status::text AS status, eta::text AS eta
         FROM shipments WHERE order_id = $1 ORDER BY id",
    )
    .bind(order_id)
    .fetch_all(pool)
    .await?;
    let mut shipments = Vec::with_capacity(ships.len());
    for s in &ships {
        let id: i64 = s.try_get("id")?;
        let events = sqlx::query(&format!(
            "SELECT status::text AS status, location, description,
                    to_char(at AT TIME ZONE 'UTC', {TS}) AS at
             FROM shipment_events WHERE shipment_id = $1 ORDER BY at, id"
        ))
        .bind(id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|e| {
            Ok(ShipmentEvent {
                status: e.try_get("status")?,
                location: e.try_get("location")?,
                description: e.try_get("description")?,
                at: e.try_get("at")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        shipments.push(Shipment {
            id,
            carrier: s.try_get("carrier")?,
            tracking_no: s.try_get("tracking_no")?,
            status: s.try_get("status")?,
            eta: s.try_get("eta")?,
            events,
        });
    }
    Ok(OrderShipments {
        number: order.try_get("number")?,
        status: order.try_get("status")?,
        total_rub: order.try_get("total")?,
        created_at: order.try_get("created")?,
        shipments,
    })
}

/// A knowledge-base document.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Document {
    pub id: i64,
    pub title: String,
    pub doc_type: String,
    pub file_name: String,
    pub mime_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub models: Vec<String>,
}

/// Model names compare without case, spaces, dashes or Cyrillic look-alikes (`16К20` = `16k20`).
const MODEL_KEY_SQL: &str = "translate(lower({}), 'авекмнорстух -', 'abekmhopctyx')";

fn model_key(col: &str) -> String {
    MODEL_KEY_SQL.replace("{}", col)
}

fn document(r: &sqlx::postgres::PgRow) -> Result<Document> {
    Ok(Document {
        id: r.try_get("id")?,
        title: r.try_get("title")?,
        doc_type: r.try_get("doc_type")?,
        file_name: r.try_get("file_name")?,
        mime_type: r.try_get("mime_type")?,
        size_bytes: r.try_get("size_bytes")?,
        sha256: r.try_get("sha256")?,
        models: r.try_get("models")?,
    })
}

const DOC_COLUMNS: &str =
    "d.id, d.title, d.doc_type, d.file_name, d.mime_type, d.size_bytes, d.sha256,
    ARRAY(SELECT model FROM kb_document_models WHERE document_id = d.id ORDER BY model) AS models";

/// Documents for the models in `client_id`'s park.
pub async fn documents(pool: &PgPool, client_id: ClientId) -> Result<Vec<Document>> {
    sqlx::query(&format!(
        "SELECT {DOC_COLUMNS} FROM kb_documents d
         WHERE EXISTS (SELECT 1 FROM kb_document_models dm JOIN machine_instances m
                         ON {} = {}
                       WHERE dm.document_id = d.id AND m.client_id = $1)
         ORDER BY d.title, d.id",
        model_key("dm.model"),
        model_key("m.model"),
    ))
    .bind(client_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(document)
    .collect()
}

/// One document, if it belongs to a model in `client_id`'s park.
pub async fn document_for_client(pool: &PgPool, client_id: ClientId, id: i64) -> Result<Document> {
    documents(pool, client_id)
        .await?
        .into_iter()
        .find(|d| d.id == id)
        .ok_or_else(|| Error::NotFound(format!("документ {id}")))
}

/// Stores a knowledge-base file (by content hash, like lead attachments) for `models`.
pub async fn add_document(
    pool: &PgPool,
    data_dir: &Path,
    title: &str,
    doc_type: &str,
    file_name: &str,
    models: &[String],
    bytes: &[u8],
) -> Result<Document> {
    let title = title.trim();
    if title.is_empty() || title.chars().count() > 300 {
        return Err(invalid("title", "от 1 до 300 символов"));
    }
    if !DOC_TYPES.contains(&doc_type) {
        return Err(invalid(
            "doc_type",
            "одно из: manual, drawing, schematic, instruction",
        ));
    }
    let models: Vec<String> = models
        .iter()
        .map(|m| m.trim().to_string())
        .filter(|m| !m.is_empty())
        .collect();
    if models.is_empty() || models.len() > 50 || models.iter().any(|m| m.chars().count() > 100) {
        return Err(invalid("models", "от 1 до 50 моделей через запятую"));
    }
    let stored = crate::attachments::put_file(data_dir, file_name, bytes, usize::MAX).await?;
    let mut tx = pool.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO kb_documents (title, doc_type, sha256, file_name, mime_type, size_bytes)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(title)
    .bind(doc_type)
    .bind(&stored.sha256)
    .bind(&stored.file_name)
    .bind(stored.mime_type)
    .bind(bytes.len() as i64)
    .fetch_one(&mut *tx)
    .await?;
    for m in &models {
        sqlx::query(
            "INSERT INTO kb_document_models (document_id, model) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(m)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    let row = sqlx::query(&format!(
        "SELECT {DOC_COLUMNS} FROM kb_documents d WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_one(pool)
    .await?;
    document(&row)
}

named_enum! {
    /// A service ticket's status (`ticket_status` in the database).
    TicketStatus, TICKET_STATUSES {
        New => "new",
        Accepted => "accepted",
        InProgress => "in_progress",
        WaitingParts => "waiting_parts",
        Done => "done",
        Cancelled => "cancelled",
    }
}

/// Moves ticket `id` to `status`; the history trigger records the change with `comment`.
pub async fn set_ticket_status(
    pool: &PgPool,
    id: i64,
    status: TicketStatus,
    comment: &str,
) -> Result<()> {
    if comment.chars().count() > 1000 {
        return Err(invalid("comment", "не длиннее 1000 символов"));
    }
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('stanok.ticket_comment', $1, true)")
        .bind(comment.trim())
        .execute(&mut *tx)
        .await?;
    let n = sqlx::query("UPDATE service_tickets SET status = $2::ticket_status WHERE id = $1")
        .bind(id)
        .bind(status.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 0 {
        return Err(Error::NotFound(format!("заявка на сервис {id}")));
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_ticket_statuses_round_trip_their_names_and_reject_others() {
        for name in ROLES {
            assert_eq!(Role::parse(name).map(Role::as_str), Some(*name));
        }
        for name in TICKET_STATUSES {
            assert_eq!(
                TicketStatus::parse(name).map(TicketStatus::as_str),
                Some(*name)
            );
        }
        assert_eq!(ROLES.len(), 3);
        assert_eq!(TICKET_STATUSES.len(), TicketStatus::ALL.len());
        for bad in ["Director", "admin", "", "in progress"] {
            assert!(Role::parse(bad).is_none() && TicketStatus::parse(bad).is_none());
            assert!(matches!(
                Role::from_field("role", bad),
                Err(Error::Invalid { field, message })
                    if field == "role" && message == "одно из: director, engineer, procurement"
            ));
            assert!(matches!(
                TicketStatus::from_field("status", bad),
                Err(Error::Invalid { field, message }) if field == "status"
                    && message == "одно из: new, accepted, in_progress, waiting_parts, done, cancelled"
            ));
        }
    }
}
