//! The embedder's compact Unigram against `tokenizers`' own model on the same texts, side by
//! side in one process: texts per second for catalog documents and for short queries
//! (median of 7 rounds each, alternating). Resident memory: `embed_memory`.
//!
//! `source scripts/env.sh && cargo run --release -p benches --example tokenizer_speed`

use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let path = benches::onnx_config(1, 1, 1)
        .model_dir
        .join("tokenizer.json");
    let reference = tokenizers::Tokenizer::from_file(&path).expect("tokenizer.json");
    let compact = search_core::load_tokenizer(&path).expect("tokenizer.json");
    let docs: Vec<String> = search_core::fixture::catalog(2000, 9)
        .iter()
        .map(|d| format!("passage: {}", d.embedding_text()))
        .collect();
    let queries: Vec<String> = (0..2000)
        .map(|i| format!("query: подшипник шпинделя {i} для станка 16К20"))
        .collect();
    println!("| texts | tokenizers' Unigram, texts/s | compact, texts/s | ratio |");
    println!("|---|---|---|---|");
    for (name, texts) in [("documents", &docs), ("queries", &queries)] {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..7 {
            let t = Instant::now();
            for s in texts {
                reference.encode(s.as_str(), true).unwrap();
            }
            a.push(texts.len() as f64 / t.elapsed().as_secs_f64());
            let t = Instant::now();
            for s in texts {
                compact.encode(s.as_str(), true).unwrap();
            }
            b.push(texts.len() as f64 / t.elapsed().as_secs_f64());
        }
        let (a, b) = (median(a), median(b));
        println!("| {name} | {a:.0} | {b:.0} | {:.2} |", b / a);
    }
}
