//! Embedding costs with the real ONNX model: one query cold (a fresh text each time), one query
//! cached (LRU hit), and a batch of 32 catalog documents. Reads `MODEL_DIR`, `ORT_DYLIB_PATH`
//! and `MODEL_PRECISION` like the server (`source scripts/env.sh`); without a model it says so
//! and measures nothing.

use criterion::{criterion_group, criterion_main, Criterion};
use search_core::{CachedEmbedder, Embedder, OnnxEmbedder, TextKind};
use std::sync::Arc;

fn bench(c: &mut Criterion) {
    let model = match OnnxEmbedder::load(&benches::onnx_config(1, 2, 32)) {
        Ok(m) => Arc::new(m) as Arc<dyn Embedder>,
        Err(e) => {
            eprintln!("embedding benches skipped: no model ({e}); run scripts/setup.sh model");
            return;
        }
    };
    let cached = CachedEmbedder::new(model.clone(), 1024);
    let mut g = c.benchmark_group(format!("embed_{}", model.model_id()));
    let mut i = 0u64;
    g.bench_function("query_cold", |b| {
        b.iter(|| {
            i += 1;
            cached
                .embed_query(&format!("подшипник шпинделя для токарного станка {i}"))
                .unwrap()
        })
    });
    cached.embed_query("шарико-винтовая пара SFU1605").unwrap();
    g.bench_function("query_cached", |b| {
        b.iter(|| cached.embed_query("шарико-винтовая пара SFU1605").unwrap())
    });
    let docs: Vec<String> = search_core::fixture::catalog(32, 5)
        .iter()
        .map(|d| d.embedding_text())
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    g.sample_size(10);
    g.bench_function("documents_batch_32", |b| {
        b.iter(|| model.embed(&refs, TextKind::Passage).unwrap())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
