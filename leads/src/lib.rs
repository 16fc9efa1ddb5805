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
mod ids;
pub mod intake;
pub mod limits;
pub mod notify;
pub mod orders;
pub mod park;
pub mod passport;
pub mod phone;
pub mod portal;
pub mod schema;
pub mod sessions;
pub mod sync;
pub mod tracking;

pub use ids::{ClientId, LeadId, TelegramId};
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
/// Text for logs and stored error strings with phone numbers masked: any run of 10 or more
/// digits (spaces, dashes, brackets and a leading `+` between them allowed) keeps only its
/// last two digits. amoCRM's error answers may echo the values we sent.
pub fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit()
            || (chars[i] == '+' && chars.get(i + 1).is_some_and(|c| c.is_ascii_digit()))
        {
            let mut j = i;
            let mut digits = 0;
            let mut last_digit_end = i;
            while j < chars.len() && (chars[j].is_ascii_digit() || " -()+".contains(chars[j])) {
                if chars[j].is_ascii_digit() {
                    digits += 1;
                    last_digit_end = j + 1;
                }
                j += 1;
            }
            let run: String = chars[i..last_digit_end].iter().collect();
            if digits >= 10 {
                let tail: String = run
                    .chars()
                    .filter(char::is_ascii_digit)
                    .rev()
                    .take(2)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                out.push_str(&format!("***{tail}"));
            } else {
                out.push_str(&run);
            }
            i = last_digit_end.max(i + 1);
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

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

#[cfg(test)]
mod redact_tests {
    #[test]
    fn phone_numbers_are_masked_and_other_numbers_kept() {
        assert_eq!(
            super::redact("contact +7 (912) 345-67-89 rejected, lead 12345, status 400"),
            "contact ***89 rejected, lead 12345, status 400"
        );
        assert_eq!(super::redact("79123456789"), "***89");
        assert_eq!(super::redact("нет ошибок"), "нет ошибок");
    }
}
