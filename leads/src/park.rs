//! "Мой парк": a client's machines with passport data and open service tickets, and who may
//! see them.

use crate::{ClientId, Error, Result, TelegramId};
use serde::Serialize;
use serde_json::Value;
use sqlx::{PgPool, Row};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Machine {
    pub id: i64,
    pub serial_number: String,
    pub model: String,
    pub product_id: Option<String>,
    pub product_name: Option<String>,
    pub sold_at: Option<String>,
    pub commissioned_at: Option<String>,
    pub crm_deal_id: Option<i64>,
    pub passport: Value,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: i64,
    pub machine_instance_id: i64,
    pub kind: String,
    pub status: String,
    pub description: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Park {
    pub client_id: ClientId,
    pub company: String,
    pub machines: Vec<Machine>,
    pub open_tickets: Vec<Ticket>,
}

/// The client a Telegram user belongs to (`None`: not linked yet).
pub async fn client_of_telegram_user(
    pool: &PgPool,
    telegram_id: TelegramId,
) -> Result<Option<ClientId>> {
    Ok(
        sqlx::query_scalar("SELECT client_id FROM telegram_users WHERE telegram_id = $1")
            .bind(telegram_id)
            .fetch_optional(pool)
            .await?
            .flatten(),
    )
}

/// The park of `client_id`.
pub async fn park(pool: &PgPool, client_id: ClientId) -> Result<Park> {
    let company: Option<String> = sqlx::query_scalar("SELECT company FROM clients WHERE id = $1")
        .bind(client_id)
        .fetch_optional(pool)
        .await?;
    let company = company.ok_or_else(|| Error::NotFound(format!("клиент {client_id}")))?;
    let machines = sqlx::query(
        "SELECT m.id, m.serial_number, m.model, m.product_id, c.name AS product_name,
                m.sold_at::text AS sold_at, m.commissioned_at::text AS commissioned_at,
                m.crm_deal_id, m.passport
         FROM machine_instances m LEFT JOIN catalog_items c ON c.id = m.product_id
         WHERE m.client_id = $1 ORDER BY m.id",
    )
    .bind(client_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Machine {
            id: r.try_get("id")?,
            serial_number: r.try_get("serial_number")?,
            model: r.try_get("model")?,
            product_id: r.try_get("product_id")?,
            product_name: r.try_get("product_name")?,
            sold_at: r.try_get("sold_at")?,
            commissioned_at: r.try_get("commissioned_at")?,
            crm_deal_id: r.try_get("crm_deal_id")?,
            passport: r.try_get("passport")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    let open_tickets = sqlx::query(
        "SELECT id, machine_instance_id, kind::text AS kind, status::text AS status, description,
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created
         FROM service_tickets WHERE client_id = $1 AND closed_at IS NULL ORDER BY id",
    )
    .bind(client_id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Ticket {
            id: r.try_get("id")?,
            machine_instance_id: r.try_get("machine_instance_id")?,
            kind: r.try_get("kind")?,
            status: r.try_get("status")?,
            description: r.try_get("description")?,
            created_at: r.try_get("created")?,
        })
    })
    .collect::<Result<Vec<_>>>()?;
    Ok(Park {
        client_id,
        company,
        machines,
        open_tickets,
    })
}
