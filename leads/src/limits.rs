//! Limits on what anyone may submit, shared by every server replica (counted in Postgres):
//! leads and uploads per caller (client IP for anonymous callers, the Telegram user
//! otherwise — the bot calls from one address on behalf of everyone) and per phone number, and
//! bytes of attachments per lead and per day.

use crate::{Error, LeadId, Result};
use sqlx::PgPool;
use std::time::Duration;

/// Configured limits (see the README's configuration table).
#[derive(Debug, Clone)]
pub struct Limits {
    /// Leads per caller per window.
    pub leads_per_caller: u32,
    /// Leads per contact phone per window.
    pub leads_per_phone: u32,
    /// Uploads per caller per window.
    pub uploads_per_caller: u32,
    pub window: Duration,
    /// Bytes of attachments one lead may hold.
    pub lead_bytes: i64,
    /// Bytes of attachments accepted in any 24 hours, from everyone.
    pub daily_bytes: i64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            leads_per_caller: 20,
            leads_per_phone: 10,
            uploads_per_caller: 100,
            window: Duration::from_secs(600),
            lead_bytes: 100 << 20,
            daily_bytes: 5 << 30,
        }
    }
}

/// Counts one hit in `bucket`; refuses with the seconds until the window ends once `limit` hits
/// are counted in it.
pub async fn hit(pool: &PgPool, bucket: &str, limit: u32, window: Duration) -> Result<()> {
    let secs = window.as_secs().max(1) as f64;
    let (hits, left): (i32, f64) = sqlx::query_as(
        "INSERT INTO rate_limit_hits AS r (bucket, window_start, hits)
         VALUES ($1, to_timestamp(floor(extract(epoch FROM now()) / $2) * $2), 1)
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = r.hits + 1
         RETURNING hits, extract(epoch FROM window_start + $2 * interval '1 second' - now())::float8",
    )
    .bind(bucket)
    .bind(secs)
    .fetch_one(pool)
    .await?;
    if rand::random::<u8>() == 0 {
        // Now and then, forget windows long over.
        sqlx::query("DELETE FROM rate_limit_hits WHERE window_start < now() - interval '1 day'")
            .execute(pool)
            .await?;
    }
    if hits as u32 > limit {
        return Err(Error::RateLimited {
            retry_after_secs: left.ceil().max(1.0) as u64,
        });
    }
    Ok(())
}

/// Refuses a file of `adding` bytes that would take the lead past its quota or everyone past
/// the daily one. Call it holding the lead's row lock.
pub async fn check_bytes(
    conn: &mut sqlx::PgConnection,
    lead_id: LeadId,
    adding: i64,
    limits: &Limits,
) -> Result<()> {
    let (lead, day): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(size_bytes), 0)::bigint FROM lead_attachments WHERE lead_id = $1),
                (SELECT coalesce(sum(size_bytes), 0)::bigint FROM lead_attachments
                 WHERE created_at > now() - interval '1 day')",
    )
    .bind(lead_id)
    .fetch_one(&mut *conn)
    .await?;
    if lead + adding > limits.lead_bytes {
        return Err(Error::Invalid {
            field: "file".into(),
            message: format!(
                "файлы одной заявки — не больше {} МБ вместе",
                limits.lead_bytes >> 20
            ),
        });
    }
    if day + adding > limits.daily_bytes {
        tracing::error!(
            day_bytes = day,
            "daily attachment quota reached; uploads refused"
        );
        return Err(Error::RateLimited {
            retry_after_secs: 3600,
        });
    }
    Ok(())
}
