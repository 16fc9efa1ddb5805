//! The one error type of `search-core`.

use std::path::PathBuf;

/// Errors of the search core. User errors (bad request values) are apart from internal ones so
/// that callers can map them to client and server errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request value the caller must fix (bad filter, unknown mode, over-long query).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A document failed validation before indexing.
    #[error("invalid document {id}: {reason}")]
    InvalidDocument { id: String, reason: String },
    /// The embedding model is missing or failed; lexical search still works.
    #[error("embedding failed: {0}")]
    Embedding(String),
    /// Index files are missing, half-written or from another format version.
    #[error("index at {path} is corrupt: {reason}")]
    CorruptIndex { path: PathBuf, reason: String },
    /// tantivy reported an error.
    #[error("text index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Filesystem error.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True when the caller's input caused the error.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidRequest(_) | Error::InvalidDocument { .. }
        )
    }
}

/// Result alias of the search core.
pub type Result<T> = std::result::Result<T, Error>;
