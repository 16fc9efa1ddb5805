//! The model's ceiling on these cores, for choosing the query batch and the document-embedding
//! layout: documents per second for session × thread layouts and batch sizes, and query
//! embeddings per second by batch size (one model run per batch). Medians of 5 rounds.
//!
//! `source scripts/env.sh && cargo run --release -p benches --example embed_throughput`

use search_core::{Embedder, OnnxEmbedder, TextKind};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let docs: Vec<String> = search_core::fixture::catalog(256, 9)
        .iter()
        .map(|d| d.embedding_text())
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    println!("| documents: sessions × threads | batch | docs/s (median of 5) |");
    println!("|---|---|---|");
    for (sessions, threads) in [(1, 2), (2, 1)] {
        for batch in [8, 32] {
            let model =
                OnnxEmbedder::load(&benches::onnx_config(sessions, threads, batch)).expect("model");
            model.embed(&refs[..16], TextKind::Passage).unwrap();
            let rates: Vec<f64> = (0..5)
                .map(|_| {
                    let t = Instant::now();
                    model.embed(&refs, TextKind::Passage).unwrap();
                    refs.len() as f64 / t.elapsed().as_secs_f64()
                })
                .collect();
            println!(
                "| {sessions} × {threads} | {batch} | {:.0} |",
                median(rates)
            );
        }
    }
    let model = OnnxEmbedder::load(&benches::onnx_config(1, 2, 64)).expect("model");
    let queries: Vec<String> = (0..64)
        .map(|i| format!("подшипник шпинделя {i} для станка 16К20"))
        .collect();
    println!();
    println!("| queries: batch (one run) | ms per run | queries/s |");
    println!("|---|---|---|");
    for batch in [1, 2, 4, 8, 16, 32] {
        let qs: Vec<&str> = queries[..batch].iter().map(String::as_str).collect();
        model.embed(&qs, TextKind::Query).unwrap();
        let ms: Vec<f64> = (0..15)
            .map(|_| {
                let t = Instant::now();
                model.embed(&qs, TextKind::Query).unwrap();
                t.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        let m = median(ms);
        println!("| {batch} | {m:.2} | {:.0} |", batch as f64 / m * 1000.0);
    }
}
