//! `search-core`: the hybrid catalog search engine as a pure, synchronous library.
//!
//! A tantivy text index (Russian/English analysis, code folding for part numbers and machine
//! models, typo and transliteration repair, caller-supplied synonyms) and an HNSW vector index
//! (hnsw_rs over multilingual-e5-small embeddings computed in-process with ONNX Runtime) are
//! fused by reciprocal-rank fusion, with exact part-number and model matches pinned on top.
//!
//! Boundary: no async runtime, no database, no HTTP. Callers (the indexer and the server) feed
//! documents through the single writer (`Engine::apply`) and search through snapshots
//! (`Engine::snapshot`). Why a library without tokio: the engine's work is CPU-bound, so it
//! runs on whatever thread pool the caller chooses (`spawn_blocking` in the server).

pub mod accumulate;
pub mod analysis;
mod bits;
pub mod doc;
pub mod embed;
pub mod engine;
pub mod error;
pub mod eval;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
pub mod fusion;
pub mod highlight;
pub mod synonyms;
pub mod text;
pub mod unigram;
pub mod vector;
mod walk;

pub use doc::{CatalogDoc, Kind};
pub use embed::{
    CachedEmbedder, Embedder, HashingEmbedder, OnnxConfig, OnnxEmbedder, Precision, TextKind,
};
pub use engine::{
    Change, Engine, EngineConfig, EngineStats, Facets, Hit, Mode, OpenOutcome, SearchRequest,
    SearchResults, Snapshot, Suggestion,
};
#[cfg(feature = "oracle")]
pub use engine::{Executors, LexicalExecutor};
pub use error::{Error, Result};
pub use fusion::{rrf, RrfParams};
pub use synonyms::Synonyms;
pub use text::Filters;
#[cfg(feature = "oracle")]
pub use vector::GraphWalk;
pub use vector::{HnswParams, VectorIndex, Vid};
