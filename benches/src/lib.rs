//! Shared bench fixture: a seeded synthetic catalog indexed in memory with synthetic
//! 384-dimensional vectors (cluster-structured unit vectors), so the search path is measured
//! without the embedding model. `BENCH_DOCS` sets the catalog size (default 100,000).

use search_core::{Change, Engine, EngineConfig};

pub const DIM: usize = 384;

pub fn docs_from_env() -> usize {
    std::env::var("BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

/// Builds an in-memory engine over `n` fixture documents; returns it with the vectors used.
pub fn engine(n: usize) -> (Engine, Vec<Vec<f32>>) {
    let docs = search_core::fixture::catalog(n, 42);
    let vectors = search_core::fixture::vectors(n, DIM, 42);
    let engine = Engine::in_memory(EngineConfig::new("bench-synthetic", DIM)).expect("engine");
    let mut seq = 0;
    for (chunk_docs, chunk_vecs) in docs.chunks(10_000).zip(vectors.chunks(10_000)) {
        seq += 1;
        let changes = chunk_docs
            .iter()
            .zip(chunk_vecs)
            .map(|(d, v)| Change::Upsert {
                doc: d.clone(),
                vector: Some(v.clone()),
            })
            .collect();
        engine.apply(changes, seq).expect("apply");
    }
    (engine, vectors)
}

pub use search_core::fixture::QUERIES;
