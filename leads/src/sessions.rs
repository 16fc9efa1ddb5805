//! Sign-in outside Telegram: one-time login links and the sessions they open.
//!
//! The bot asks for a link on behalf of a linked Telegram user; the link carries a random
//! token that works once and for minutes; exchanging it opens a session (a second random
//! token, kept by the browser in an `HttpOnly` cookie) that expires and that an operator can
//! revoke. Only sha256 of either token is stored. A session speaks for its Telegram user, so
//! the park routes keep their rule: only that user's client's data.

use crate::{Error, Result, TelegramId};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// How long a login link works.
pub const LINK_TTL_SECS: i64 = 15 * 60;
/// How long a session lasts.
pub const SESSION_TTL_SECS: i64 = 30 * 24 * 3600;

fn new_token() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh login link token for a Telegram user linked to a client (else `Forbidden`).
pub async fn create_link(pool: &PgPool, telegram_id: TelegramId, ttl_secs: i64) -> Result<String> {
    if crate::account::role_of(pool, telegram_id).await?.is_none() {
        return Err(Error::Forbidden(
            "сначала подключитесь к боту по номеру телефона (/start)".into(),
        ));
    }
    let token = new_token();
    sqlx::query(
        "INSERT INTO web_login_links (token_hash, telegram_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(hash(&token))
    .bind(telegram_id)
    .bind(ttl_secs as f64)
    .execute(pool)
    .await?;
    Ok(token)
}

/// Exchanges a login link token for a session token: once, before it expires.
pub async fn exchange(
    pool: &PgPool,
    link_token: &str,
    user_agent: &str,
    ttl_secs: i64,
) -> Result<(String, TelegramId)> {
    let refused = || Error::Unauthenticated("login link used, expired or unknown".into());
    if link_token.len() != 64 || !link_token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused());
    }
    let mut tx = pool.begin().await?;
    // The update is the single-use check: of two concurrent exchanges only one sees the row.
    let user: Option<TelegramId> = sqlx::query_scalar(
        "UPDATE web_login_links SET used_at = now()
         WHERE token_hash = $1 AND used_at IS NULL AND expires_at > now()
         RETURNING telegram_id",
    )
    .bind(hash(link_token))
    .fetch_optional(&mut *tx)
    .await?;
    let user = user.ok_or_else(refused)?;
    let session = new_token();
    sqlx::query(
        "INSERT INTO web_sessions (token_hash, telegram_id, expires_at, user_agent)
         VALUES ($1, $2, now() + make_interval(secs => $3), left($4, 300))",
    )
    .bind(hash(&session))
    .bind(user)
    .bind(ttl_secs as f64)
    .bind(user_agent)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((session, user))
}

/// The Telegram user of a live session.
pub async fn user_of(pool: &PgPool, session_token: &str) -> Result<Option<TelegramId>> {
    if session_token.len() != 64 {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(
        "SELECT telegram_id FROM web_sessions
         WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(hash(session_token))
    .fetch_optional(pool)
    .await?)
}

/// Ends one session (sign-out).
pub async fn revoke(pool: &PgPool, session_token: &str) -> Result<()> {
    sqlx::query(
        "UPDATE web_sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(hash(session_token))
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends every session of a user (a lost phone); returns how many were live.
pub async fn revoke_all(pool: &PgPool, telegram_id: TelegramId) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE web_sessions SET revoked_at = now()
         WHERE telegram_id = $1 AND revoked_at IS NULL AND expires_at > now()",
    )
    .bind(telegram_id)
    .execute(pool)
    .await?;
    sqlx::query(
        "UPDATE web_login_links SET used_at = now() WHERE telegram_id = $1 AND used_at IS NULL",
    )
    .bind(telegram_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
