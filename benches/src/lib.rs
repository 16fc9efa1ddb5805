//! Shared bench fixture: a seeded synthetic catalog indexed in memory with synthetic
//! 384-dimensional vectors (cluster-structured unit vectors) and the server's synonym
//! dictionary, so the search path is measured as it runs in production, without the
//! embedding model. `BENCH_DOCS` sets the catalog size (default 100,000).

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
    let (engine, vectors) = unsettled_engine(n);
    settle(&engine);
    (engine, vectors)
}

/// The engine right after the bulk load, its text segments not merged yet.
pub fn unsettled_engine(n: usize) -> (Engine, Vec<Vec<f32>>) {
    let engine = Engine::in_memory(config()).expect("engine");
    let vectors = load(&engine, n);
    (engine, vectors)
}

/// The benches' engine configuration: the server's synonym dictionary, the default HNSW
/// parameters (`BENCH_HNSW_M` tries another graph degree without a rebuild of the defaults).
pub fn config() -> EngineConfig {
    let mut config = EngineConfig::new("bench-synthetic", DIM);
    // The server's default dictionary: queries expand as they do in production.
    config.synonyms = std::sync::Arc::new(
        search_core::Synonyms::parse(include_str!("../../server/synonyms.txt"))
            .expect("server/synonyms.txt parses"),
    );
    if let Some(m) = std::env::var("BENCH_HNSW_M")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        config.hnsw.m = m;
    }
    config
}

/// Upserts `n` fixture documents with their vectors in batches of 10,000 and freezes the
/// walk; returns the vectors.
pub fn load(engine: &Engine, n: usize) -> Vec<Vec<f32>> {
    let docs = search_core::fixture::catalog(n, 42);
    let vectors = search_core::fixture::vectors(n, DIM, 42);
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
    // Measure the steady state: the walk holds every vector (the engine freezes it in the
    // background during a bulk load).
    engine.snapshot().vectors().freeze_now();
    vectors
}

/// Merges text segments until the engine's merge rule has nothing left to do.
pub fn settle(engine: &Engine) {
    while engine.merge_segments_if_needed().expect("merge") {}
}

pub use search_core::fixture::QUERIES;

/// HNSW recall@10 at `ef` against exact search, over 100 probes near documents (as real
/// queries are), each a document's vector nudged towards one of `qvecs`.
pub fn hnsw_recall_at_10(
    snap: &search_core::Snapshot,
    vectors: &[Vec<f32>],
    qvecs: &[Vec<f32>],
    ef: usize,
    by: search_core::GraphWalk,
) -> f64 {
    let vidx = snap.vectors();
    let live: Vec<u32> = snap.live_vids().collect();
    let probes = 100;
    let mut hits = 0;
    for (pi, base) in vectors
        .iter()
        .step_by((vectors.len() / probes).max(1))
        .take(probes)
        .enumerate()
    {
        let mut q: Vec<f32> = base
            .iter()
            .zip(&qvecs[pi % qvecs.len()])
            .map(|(a, b)| a + 0.3 * b)
            .collect();
        let norm = q.iter().map(|x| x * x).sum::<f32>().sqrt();
        q.iter_mut().for_each(|x| *x /= norm);
        let exact = vidx.exact_search(&q, 10, &mut live.iter().copied());
        let approx: Vec<u32> = vidx
            .search_walking(&q, 10, Some(ef), 1.0, &|_| true, by)
            .into_iter()
            .map(|x| x.0)
            .collect();
        hits += exact.iter().filter(|(v, _)| approx.contains(v)).count();
    }
    hits as f64 / (probes * 10) as f64
}

/// The real model's settings as the server reads them (`MODEL_DIR`, `ORT_DYLIB_PATH`,
/// `MODEL_PRECISION`; `source scripts/env.sh`), with the layout given.
pub fn onnx_config(sessions: usize, threads: usize, batch_size: usize) -> search_core::OnnxConfig {
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let cache = std::env::var("STANOK_CACHE").unwrap_or_else(|_| format!("{home}/.cache/stanok"));
    search_core::OnnxConfig {
        model_dir: std::env::var("MODEL_DIR")
            .map_or_else(|_| format!("{cache}/model").into(), Into::into),
        runtime_lib: std::env::var("ORT_DYLIB_PATH").map_or_else(
            |_| format!("{cache}/onnxruntime/libonnxruntime.so").into(),
            Into::into,
        ),
        precision: search_core::Precision::parse(
            &std::env::var("MODEL_PRECISION").unwrap_or_else(|_| "int8".into()),
        )
        .unwrap_or(search_core::Precision::Int8),
        sessions,
        threads,
        max_tokens: 256,
        batch_size,
        arena: std::env::var("EMBED_ARENA").is_ok_and(|v| v == "on"),
    }
}
