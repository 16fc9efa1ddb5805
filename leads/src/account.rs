//! What the bot and the Mini App read about a customer's account: linking a Telegram user to a
//! client by phone, and the director's spend for a period compared with the one before.

use crate::{invalid, ClientId, Phone, Result, TelegramId};
use serde::Serialize;
use sqlx::{PgPool, Row};

/// The outcome of linking a Telegram user.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[schema(as = TelegramLink)]
pub struct Link {
    pub telegram_id: TelegramId,
    /// `None`: no client has this phone (the bot offers a callback request).
    pub client_id: Option<ClientId>,
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
    telegram_id: TelegramId,
    phone: &str,
    first_name: &str,
    username: Option<&str>,
) -> Result<Link> {
    let phone = Phone::parse(phone)
        .map_err(|_| invalid("phone", "номер не распознан; пример: +7 912 345-67-89"))?;
    let client: Option<(ClientId, String)> =
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
pub async fn role_of(
    pool: &PgPool,
    telegram_id: TelegramId,
) -> Result<Option<(ClientId, crate::portal::Role)>> {
    let row: Option<(ClientId, String)> = sqlx::query_as(
        "SELECT client_id, role::text FROM telegram_users
         WHERE telegram_id = $1 AND client_id IS NOT NULL AND role IS NOT NULL",
    )
    .bind(telegram_id)
    .fetch_optional(pool)
    .await?;
    // The column's type admits only the known roles; a new one must be added here first.
    row.map(|(client, role)| {
        crate::portal::Role::parse(&role)
            .map(|r| (client, r))
            .ok_or_else(|| {
                crate::Error::Db(sqlx::Error::Decode(format!("unknown role {role:?}").into()))
            })
    })
    .transpose()
}

/// Spend in one period: `[from, to)`, days in Moscow time.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct PeriodSpend {
    pub from: String,
    pub to: String,
    /// Orders of machines (won deals that sold one, orders with a machine among their lines).
    pub equipment_rub: f64,
    /// Other orders: spare parts.
    pub parts_rub: f64,
    /// Service: tickets' costs (by closing time, else creation) plus other maintenance spend.
    pub service_rub: f64,
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
    /// amoCRM deals of the client still in work, whatever the period: how many, and their sum.
    pub deals_in_work: i64,
    pub deals_in_work_rub: f64,
}

/// The periods spend is reported for.
pub const PERIODS: &[&str] = &["month", "quarter", "year"];

/// The time zone the director's periods are cut in.
pub const TIME_ZONE: &str = "Europe/Moscow";

/// Spend of `client_id` in the `period` (`month`, `quarter`, `year`) containing `today`
/// (`YYYY-MM-DD`, Moscow date; `None`: today in Moscow), and in the period before. One query:
/// orders count when not cancelled and, for amoCRM deals, won; an order belongs to the
/// period its time falls in, in Moscow time.
pub async fn spend(
    pool: &PgPool,
    client_id: ClientId,
    period: &str,
    today: Option<&str>,
) -> Result<Spend> {
    let Some(&unit) = PERIODS.iter().find(|p| **p == period) else {
        return Err(invalid("period", "одно из: month, quarter, year"));
    };
    let step = match unit {
        "month" => "1 month",
        "quarter" => "3 months",
        _ => "1 year",
    };
    // `unit` and `step` come from the constants above, never from the caller.
    let row = sqlx::query(&format!(
        "WITH b AS (
           SELECT d::date AS cur_from, (d + interval '{step}')::date AS cur_to,
                  (d - interval '{step}')::date AS prev_from
           FROM date_trunc('{unit}', coalesce($2::date, (now() AT TIME ZONE '{TIME_ZONE}')::date)::timestamp) AS d
         ), t AS (
           SELECT b.*, cur_from::timestamp AT TIME ZONE '{TIME_ZONE}' AS cur_ts,
                  cur_to::timestamp AT TIME ZONE '{TIME_ZONE}' AS end_ts,
                  prev_from::timestamp AT TIME ZONE '{TIME_ZONE}' AS prev_ts
           FROM b
         ), x AS (
           SELECT o.created_at >= t.cur_ts AS cur, o.category AS cat, o.total_rub AS amount
           FROM orders o, t
           WHERE o.client_id = $1 AND o.status <> 'cancelled' AND coalesce(o.crm_status, 'won') = 'won'
             AND o.created_at >= t.prev_ts AND o.created_at < t.end_ts
           UNION ALL
           SELECT coalesce(s.closed_at, s.created_at) >= t.cur_ts, 'service', s.cost_rub
           FROM service_tickets s, t
           WHERE s.client_id = $1 AND s.cost_rub IS NOT NULL
             AND coalesce(s.closed_at, s.created_at) >= t.prev_ts
             AND coalesce(s.closed_at, s.created_at) < t.end_ts
           UNION ALL
           SELECT m.spent_on >= t.cur_from, 'service', m.amount_rub
           FROM maintenance_spend m, t
           WHERE m.client_id = $1 AND m.spent_on >= t.prev_from AND m.spent_on < t.cur_to
         )
         SELECT t.cur_from::text AS cur_from, t.cur_to::text AS cur_to, t.prev_from::text AS prev_from,
                coalesce(sum(amount) FILTER (WHERE cur AND cat = 'equipment'), 0)::float8 AS ce,
                coalesce(sum(amount) FILTER (WHERE cur AND cat = 'parts'), 0)::float8 AS cp,
                coalesce(sum(amount) FILTER (WHERE cur AND cat = 'service'), 0)::float8 AS cs,
                coalesce(sum(amount) FILTER (WHERE NOT cur AND cat = 'equipment'), 0)::float8 AS pe,
                coalesce(sum(amount) FILTER (WHERE NOT cur AND cat = 'parts'), 0)::float8 AS pp,
                coalesce(sum(amount) FILTER (WHERE NOT cur AND cat = 'service'), 0)::float8 AS ps,
                (SELECT count(*) FROM orders WHERE client_id = $1 AND crm_status = 'in_work') AS wn,
                (SELECT coalesce(sum(total_rub), 0)::float8 FROM orders
                  WHERE client_id = $1 AND crm_status = 'in_work') AS wr
         FROM t LEFT JOIN x ON true
         GROUP BY t.cur_from, t.cur_to, t.prev_from"
    ))
    .bind(client_id)
    .bind(today)
    .fetch_one(pool)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(_) => invalid("today", "ожидается дата YYYY-MM-DD"),
        e => e.into(),
    })?;
    let period_spend = |from: &str, to: &str, e: &str, p: &str, s: &str| -> Result<PeriodSpend> {
        let (e, p, s): (f64, f64, f64) = (row.try_get(e)?, row.try_get(p)?, row.try_get(s)?);
        Ok(PeriodSpend {
            from: row.try_get(from)?,
            to: row.try_get(to)?,
            equipment_rub: e,
            parts_rub: p,
            service_rub: s,
            total_rub: e + p + s,
        })
    };
    let current = period_spend("cur_from", "cur_to", "ce", "cp", "cs")?;
    let previous = period_spend("prev_from", "cur_from", "pe", "pp", "ps")?;
    let change_pct = (previous.total_rub > 0.0).then(|| {
        ((current.total_rub - previous.total_rub) / previous.total_rub * 1000.0).round() / 10.0
    });
    Ok(Spend {
        period: unit.to_string(),
        current,
        previous,
        change_pct,
        deals_in_work: row.try_get("wn")?,
        deals_in_work_rub: row.try_get("wr")?,
    })
}
