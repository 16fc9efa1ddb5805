//! What the bot and the Mini App read about a customer's account: linking a Telegram user to a
//! client by phone, and the director's spend for a period compared with the one before.

use crate::{invalid, Phone, Result};
use serde::Serialize;
use sqlx::PgPool;

/// The outcome of linking a Telegram user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = TelegramLink)]
pub struct Link {
    pub telegram_id: i64,
    /// `None`: no client has this phone (the bot offers a callback request).
    pub client_id: Option<i64>,
    pub company: Option<String>,
    /// `director`, `engineer` or `procurement`; new users of a client start as `engineer`
    /// until an operator assigns another role.
    pub role: Option<String>,
}

/// Records the Telegram user with the phone they shared and binds them to the client with
/// that phone. An existing role is kept while the client stays the same; a first link, or a
/// link to another client, gets `engineer`.
pub async fn link_telegram_user(
    pool: &PgPool,
    telegram_id: i64,
    phone: &str,
    first_name: &str,
    username: Option<&str>,
) -> Result<Link> {
    let phone = Phone::parse(phone)
        .map_err(|_| invalid("phone", "номер не распознан; пример: +7 912 345-67-89"))?;
    let client: Option<(i64, String)> =
        sqlx::query_as("SELECT id, company FROM clients WHERE phone = $1")
            .bind(phone.as_str())
            .fetch_optional(pool)
            .await?;
    let role: Option<String> = sqlx::query_scalar(
        "INSERT INTO telegram_users (telegram_id, client_id, role, phone, first_name, username)
         VALUES ($1, $2, CASE WHEN $2::bigint IS NULL THEN NULL ELSE 'engineer'::telegram_role END, $3, $4, $5)
         ON CONFLICT (telegram_id) DO UPDATE SET
             client_id = EXCLUDED.client_id, phone = EXCLUDED.phone,
             first_name = EXCLUDED.first_name, username = EXCLUDED.username,
             -- A user linked to another client starts over as an engineer there: a role is
             -- given within one client and does not travel with the person.
             role = CASE WHEN EXCLUDED.client_id IS NULL THEN NULL
                         WHEN telegram_users.client_id IS DISTINCT FROM EXCLUDED.client_id THEN EXCLUDED.role
                         ELSE coalesce(telegram_users.role, EXCLUDED.role) END
         RETURNING role::text",
    )
    .bind(telegram_id)
    .bind(client.as_ref().map(|c| c.0))
    .bind(phone.as_str())
    .bind(first_name)
    .bind(username)
    .fetch_one(pool)
    .await?;
    Ok(Link {
        telegram_id,
        client_id: client.as_ref().map(|c| c.0),
        company: client.map(|c| c.1),
        role,
    })
}

/// The role of a Telegram user within their client (`None`: unknown or not linked).
pub async fn role_of(pool: &PgPool, telegram_id: i64) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT client_id, role::text FROM telegram_users
         WHERE telegram_id = $1 AND client_id IS NOT NULL AND role IS NOT NULL",
    )
    .bind(telegram_id)
    .fetch_optional(pool)
    .await?)
}

/// Spend in one period.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PeriodSpend {
    pub from: String,
    pub to: String,
    /// Service: tickets' costs plus other maintenance spend.
    pub maintenance_rub: f64,
    /// Orders that were not cancelled.
    pub orders_rub: f64,
    pub total_rub: f64,
}

/// The current period and the one before it, with the change in percent.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Spend {
    pub period: String,
    pub current: PeriodSpend,
    pub previous: PeriodSpend,
    /// `None` when the previous period had no spend.
    pub change_pct: Option<f64>,
}

async fn period_spend(pool: &PgPool, client_id: i64, from: &str, to: &str) -> Result<PeriodSpend> {
    let (maintenance, orders): (f64, f64) = sqlx::query_as(
        "SELECT
           coalesce((SELECT sum(amount_rub) FROM maintenance_spend
                     WHERE client_id = $1 AND spent_on >= $2::date AND spent_on < $3::date), 0)::float8
         + coalesce((SELECT sum(cost_rub) FROM service_tickets
                     WHERE client_id = $1 AND created_at >= $2::date AND created_at < $3::date), 0)::float8,
           coalesce((SELECT sum(total_rub) FROM orders
                     WHERE client_id = $1 AND status <> 'cancelled'
                       AND created_at >= $2::date AND created_at < $3::date), 0)::float8",
    )
    .bind(client_id)
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await?;
    Ok(PeriodSpend {
        from: from.to_string(),
        to: to.to_string(),
        maintenance_rub: maintenance,
        orders_rub: orders,
        total_rub: maintenance + orders,
    })
}

/// The periods spend is reported for.
pub const PERIODS: &[&str] = &["month", "quarter", "year"];

/// Spend of `client_id` in the `period` (`month`, `quarter`, `year`) containing `today`
/// (`YYYY-MM-DD`), and in the period before.
pub async fn spend(pool: &PgPool, client_id: i64, period: &str, today: &str) -> Result<Spend> {
    if !PERIODS.contains(&period) {
        return Err(invalid("period", "одно из: month, quarter, year"));
    }
    let unit = period;
    let step = match unit {
        "month" => "1 month",
        "quarter" => "3 months",
        _ => "1 year",
    };
    let (cur_from, cur_to, prev_from): (String, String, String) = sqlx::query_as(&format!(
        "SELECT d::date::text, (d + interval '{step}')::date::text, (d - interval '{step}')::date::text
         FROM date_trunc('{unit}', $1::date) AS d"
    ))
    .bind(today)
    .fetch_one(pool)
    .await
    .map_err(|_| invalid("today", "ожидается дата YYYY-MM-DD"))?;
    let current = period_spend(pool, client_id, &cur_from, &cur_to).await?;
    let previous = period_spend(pool, client_id, &prev_from, &cur_from).await?;
    let change_pct = (previous.total_rub > 0.0).then(|| {
        ((current.total_rub - previous.total_rub) / previous.total_rub * 1000.0).round() / 10.0
    });
    Ok(Spend {
        period: unit.to_string(),
        current,
        previous,
        change_pct,
    })
}
