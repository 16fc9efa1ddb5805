//! Where the embedder's memory goes: resident memory of this process after each stage (the
//! tokenizer alone, the ONNX session, a run of the largest document batch, then a stream of
//! query batches), with ONNX Runtime's arena on or off. `tokenizers` loads only
//! `tokenizers`' own `Tokenizer` (the one the embedder used before `unigram.rs`), for comparison.
//! One process per configuration, since freed memory does not always leave the resident set;
//! `benches/load/memory.sh` runs all three.
//!
//! `source scripts/env.sh && cargo run --release -p benches --example embed_memory -- on|off|tokenizers`

use search_core::{Embedder, OnnxEmbedder, TextKind};

/// (resident, peak resident) in MiB, from /proc/self/status.
fn rss() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "off".into());
    let arena = match mode.as_str() {
        "on" => true,
        "off" | "tokenizers" => false,
        other => panic!("expected on, off or tokenizers, got {other}"),
    };
    let mut cfg = benches::onnx_config(1, 2, 32);
    cfg.arena = arena;
    let mut last = rss().0;
    let mut stage = |name: &str| {
        let (now, peak) = rss();
        println!(
            "| {mode} | {name} | {now:.0} | {:+.0} | {peak:.0} |",
            now - last
        );
        last = now;
    };
    stage("process started");
    let path = cfg.model_dir.join("tokenizer.json");
    if mode == "tokenizers" {
        let tokenizer = tokenizers::Tokenizer::from_file(&path).expect("tokenizer");
        stage("tokenizers::Tokenizer loaded (the embedder's before unigram.rs)");
        drop(tokenizer);
        return;
    }
    let tokenizer = search_core::load_tokenizer(&path).expect("tokenizer");
    stage("compact tokenizer loaded alone");
    drop(tokenizer);
    stage("compact tokenizer dropped");
    let model = OnnxEmbedder::load(&cfg).expect("model");
    stage("embedder loaded (session + tokenizer)");
    let docs: Vec<String> = search_core::fixture::catalog(256, 9)
        .iter()
        .map(|d| format!("{} {}", d.embedding_text(), d.embedding_text()))
        .collect();
    let refs: Vec<&str> = docs.iter().map(String::as_str).collect();
    model.embed(&refs, TextKind::Passage).unwrap();
    stage("256 documents embedded (batches of 32, up to 256 tokens)");
    let queries: Vec<String> = (0..2000)
        .map(|i| format!("подшипник шпинделя {i} для станка 16К20 с ЧПУ"))
        .collect();
    for chunk in queries.chunks(16) {
        let qs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        model.embed(&qs, TextKind::Query).unwrap();
    }
    stage("2000 queries embedded (batches of 16)");
}
