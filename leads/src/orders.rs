//! Orders from amoCRM deals. Each deal the passport worker reads (on any status change or
//! edit) becomes, or updates, one `orders` row keyed by the deal's id: its amount is the
//! deal's price, its date the deal's closing time (won or lost) or creation, its status
//! follows the deal (in work → `new`, won → `confirmed` unless an operator moved it on since,
//! lost → `cancelled`). Its lines are our own cart lead's when the deal came from one; a deal
//! that names a machine, or whose lines hold one, is equipment, anything else spare parts.

use crate::{invalid, ClientId, Result};
use serde_json::Value;
use sqlx::{Postgres, Transaction};

/// The amoCRM status of a deal as the director reads it.
pub fn crm_status(status_id: Option<i64>) -> &'static str {
    match status_id {
        Some(crate::passport::STATUS_WON) => "won",
        Some(crate::passport::STATUS_LOST) => "lost",
        _ => "in_work",
    }
}

/// Records `deal` (amoCRM API v4 lead) as an order of `client_id`. Returns the order id.
pub async fn upsert_from_deal(
    tx: &mut Transaction<'_, Postgres>,
    client_id: ClientId,
    deal: &Value,
    sells_machine: bool,
) -> Result<i64> {
    let deal_id = deal["id"]
        .as_i64()
        .ok_or_else(|| invalid("id", "у сделки нет id"))?;
    let status = crm_status(deal["status_id"].as_i64());
    let price = deal["price"]
        .as_f64()
        .filter(|p| p.is_finite() && *p >= 0.0);
    // Won and lost deals carry their closing time; a deal in work its creation.
    let at = match status {
        "in_work" => deal["created_at"].as_i64(),
        _ => deal["closed_at"].as_i64().or(deal["created_at"].as_i64()),
    };
    let lead: Option<(i64, Value)> = sqlx::query_as(
        "SELECT id, payload FROM leads WHERE crm_lead_id = $1 AND kind = 'cart' ORDER BY id LIMIT 1",
    )
    .bind(deal_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (lead_id, payload) = match &lead {
        Some((id, p)) => (Some(*id), Some(p)),
        None => (None, None),
    };
    let order_id: i64 = sqlx::query_scalar(
        "INSERT INTO orders (number, client_id, lead_id, status, total_rub, created_at,
                             crm_deal_id, crm_status, category)
         VALUES ('CRM-' || $1, $2, $3,
                 CASE $4 WHEN 'lost' THEN 'cancelled' WHEN 'won' THEN 'confirmed' ELSE 'new' END::order_status,
                 coalesce($5, ($6::jsonb ->> 'total_rub')::numeric, 0),
                 coalesce(to_timestamp($7::bigint), now()), $1, $4,
                 CASE WHEN $8 OR EXISTS (
                     SELECT 1 FROM jsonb_array_elements(coalesce($6::jsonb -> 'lines', '[]')) e
                     JOIN catalog_items c ON c.id = e ->> 'catalog_id' WHERE c.kind = 'product')
                 THEN 'equipment' ELSE 'parts' END)
         ON CONFLICT (crm_deal_id) DO UPDATE SET
             client_id = EXCLUDED.client_id,
             lead_id = coalesce(EXCLUDED.lead_id, orders.lead_id),
             status = CASE
                 WHEN EXCLUDED.crm_status = 'lost' THEN 'cancelled'::order_status
                 WHEN EXCLUDED.crm_status = 'in_work' THEN 'new'::order_status
                 WHEN orders.status IN ('new', 'cancelled') THEN 'confirmed'::order_status
                 ELSE orders.status END,
             total_rub = EXCLUDED.total_rub,
             created_at = EXCLUDED.created_at,
             crm_status = EXCLUDED.crm_status,
             category = EXCLUDED.category,
             updated_at = now()
         RETURNING id",
    )
    .bind(deal_id)
    .bind(client_id)
    .bind(lead_id)
    .bind(status)
    .bind(price)
    .bind(payload)
    .bind(at)
    .bind(sells_machine)
    .fetch_one(&mut **tx)
    .await?;
    if let Some(payload) = payload {
        sqlx::query("DELETE FROM order_lines WHERE order_id = $1")
            .bind(order_id)
            .execute(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO order_lines (order_id, item_id, sku, name, qty, price_rub)
             SELECT $1, c.id, l.sku, l.name, l.qty, coalesce(l.price_rub, 0)
             FROM jsonb_to_recordset(coalesce($2::jsonb -> 'lines', '[]'))
                  AS l(catalog_id text, sku text, name text, qty integer, price_rub numeric)
             LEFT JOIN catalog_items c ON c.id = l.catalog_id",
        )
        .bind(order_id)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    }
    Ok(order_id)
}
