//! The engine: one writer, many snapshot readers, over a text index and a vector index kept in
//! step.
//!
//! Every write batch is applied under the writer lock: vectors are appended (and synced) first,
//! then the text index commits with a payload naming the change-log position it reflects, then
//! a new `Snapshot` is published. A search takes the current snapshot (an `Arc` clone) and never
//! waits for a writer. A snapshot knows which vector ids are live, so vectors added or
//! tombstoned after it was taken do not leak into its results.

mod compose;
mod config;
mod request;
mod search;
mod snapshot;
mod suggest;
#[cfg(test)]
pub(crate) mod tests;
mod writer;

pub use config::EngineConfig;
#[cfg(any(test, feature = "oracle"))]
pub use request::Executors;
#[cfg(feature = "oracle")]
pub use request::LexicalExecutor;
pub use request::{Facets, Hit, Mode, SearchRequest, SearchResults, Suggestion};
pub use search::{FusionInputs, LEXICAL_DEPTH, MAX_QUERY_CHARS, SEMANTIC_DEPTH};
pub use snapshot::Snapshot;
pub use writer::{Change, Engine, EngineStats, OpenOutcome};
