//! The bounds the API validates requests against, shared by the handlers and the field
//! schemas of the OpenAPI document. A leaf.

/// Largest accepted request body.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_LIMIT: usize = 100;
pub const MAX_OFFSET: usize = 10_000;
/// Longest `category`, `brand` or `compatible_with` filter value, in bytes.
pub const MAX_FILTER_CHARS: usize = 200;
/// Longest suggest prefix, in characters.
pub const SUGGEST_MAX_CHARS: usize = 100;
pub const SUGGEST_MAX_LIMIT: usize = 20;
pub const SUGGEST_DEFAULT_LIMIT: usize = 8;
/// Most leads or events one list request returns.
pub const MAX_LIST_LIMIT: i64 = 1000;
