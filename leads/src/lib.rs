//! `leads`: customer actions that become amoCRM leads, and the digital-passport flow back.
//!
//! - `intake`: validates a submitted lead (contact, kind-specific payload checked against the
//!   catalog), stores it with its idempotency key; every accepted lead is committed before the
//!   caller answers. `attachments`: files sniffed by content and stored by sha256.
//! - `amocrm`: the API v4 client (rate limit 7 requests/s, OAuth2 with rotating refresh tokens
//!   persisted in Postgres, or a long-lived token; problem+json errors; 204 as empty).
//! - `sync`: the outbox worker that delivers leads (lead + contact, then the cart note) exactly
//!   once, resuming a half-done sync from the CRM ids it stored and a marker it left in the CRM.
//! - `passport`: amoCRM status webhooks stored durably, and the worker that turns a won deal
//!   (status 142, confirmed by re-reading it) into a `machine_instances` row for the client
//!   found by phone. `park`: a client's machines and open tickets.
//! - `auth`: Telegram Mini App `initData` validation.
//!
//! Boundary: Postgres and the amoCRM HTTP API live here; no HTTP *server* types. The server
//! maps [`Error`] to responses.

pub mod account;
pub mod amocrm;
pub mod attachments;
pub mod auth;
pub mod intake;
pub mod limits;
pub mod park;
pub mod passport;
pub mod phone;
pub mod portal;
pub mod schema;
pub mod sessions;
pub mod sync;

pub use phone::Phone;

/// Errors of the leads domain.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text is not a phone number we can normalise.
    #[error("invalid phone number: {0}")]
    InvalidPhone(String),
    /// A field of the request is invalid; `message` is Russian, for people.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The referenced lead, client or machine does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The idempotency key was used before for a different request.
    #[error("idempotency key reused: {0}")]
    KeyReused(String),
    /// An uploaded file is larger than allowed.
    #[error("file too large: {size} > {limit} bytes")]
    TooLarge { size: usize, limit: usize },
    /// An uploaded file is not of an accepted type (judged by content).
    #[error("unsupported file type")]
    UnsupportedType,
    /// The caller is known but may not do this (another client's machine, wrong role).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Authentication failed (bad signature, stale data, unknown user).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// Too many requests from this caller (or too many bytes from everyone) for now.
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("file storage: {0}")]
    Io(#[from] std::io::Error),
    #[error("amoCRM: {0}")]
    Crm(#[from] amocrm::CrmError),
}

pub type Result<T> = std::result::Result<T, Error>;

pub(crate) fn invalid(field: &str, message: impl Into<String>) -> Error {
    Error::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Runs `step` until `shutdown`; `step` says whether it found work, and an idle or failed step
/// waits half a second (or for shutdown) before the next.
pub(crate) async fn poll_until<F, Fut>(
    mut shutdown: tokio::sync::watch::Receiver<bool>,
    what: &str,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    loop {
        if *shutdown.borrow() {
            return;
        }
        let busy = match step().await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "{what} loop error");
                false
            }
        };
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                _ = shutdown.changed() => return,
            }
        }
    }
}
