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

mod accumulate;
mod analysis;
mod bits;
mod doc;
mod embed;
mod engine;
mod error;
pub mod eval;
#[cfg(any(test, feature = "fixture"))]
pub mod fixture;
mod fusion;
mod highlight;
mod point;
mod synonyms;
mod text;
mod unigram;
mod vector;
mod walk;
mod word_cache;

pub use analysis::fold_code;
pub use doc::{CatalogDoc, Kind};
pub use embed::{
    CachedEmbedder, Embedder, HashingEmbedder, OnnxConfig, OnnxEmbedder, Precision, TextKind,
};
pub use engine::{
    Change, Engine, EngineConfig, EngineStats, Facets, FusionInputs, Hit, Mode, OpenOutcome,
    SearchRequest, SearchResults, Snapshot, Suggestion, LEXICAL_DEPTH, MAX_QUERY_CHARS,
    SEMANTIC_DEPTH,
};
#[cfg(feature = "oracle")]
pub use engine::{Executors, LexicalExecutor};
pub use error::{Error, Result};
pub use fusion::{fuse, rrf, Ranked, RrfParams, ScoreTerm};
pub use synonyms::Synonyms;
pub use text::{try_lock_writer, Filters};
pub use unigram::{load_tokenizer, CompactTokenizer};
#[cfg(feature = "oracle")]
pub use vector::GraphWalk;
pub use vector::{dot, dot_portable, HnswParams, VectorIndex, Vid};
