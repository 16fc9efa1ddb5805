//! Restart of an on-disk engine over the synthetic catalog (`BENCH_DOCS`, default 100,000):
//! time to open, then semantic and hybrid latency in the first seconds after the restart,
//! while hnsw_rs's graph is rebuilt in the background, with the persisted walk and without
//! it (its file removed: every vector scanned), and once the graph is back.
//!
//! `cargo run --release -p benches --example restart` (the index goes to a temporary
//! directory; building it takes about as long as the profile example's).

use benches::{docs_from_env, QUERIES};
use search_core::{Engine, Mode, SearchRequest};
use std::time::Instant;

fn main() {
    let n = docs_from_env();
    let dir = tempfile_dir();
    let qvecs = search_core::fixture::vectors(QUERIES.len(), benches::DIM, 7);
    {
        let started = Instant::now();
        let (engine, _) = Engine::open(&dir, benches::config()).expect("open");
        benches::load(&engine, n);
        wait_for_graph(&engine);
        // The last freeze covers every vector (and persisted it).
        engine.snapshot().vectors().freeze_now();
        println!(
            "indexed {n} documents in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let walk = dir.join("walk.links");
    let saved = std::fs::read(&walk).expect("the walk was persisted");
    for with_walk in [true, false] {
        if with_walk {
            std::fs::write(&walk, &saved).expect("restore walk");
        } else {
            std::fs::remove_file(&walk).expect("remove walk");
        }
        let started = Instant::now();
        let (engine, _) = Engine::open(&dir, benches::config()).expect("reopen");
        let open = started.elapsed().as_secs_f64();
        let snap = engine.snapshot();
        let label = if with_walk {
            "persisted walk"
        } else {
            "no walk file"
        };
        println!("restart ({label}): open {open:.2} s");
        for mode in [Mode::Semantic, Mode::Hybrid] {
            let (p50, p99) = measure(&snap, mode, &qvecs, 5);
            println!(
                "  {:<8} while the graph rebuilds: p50 {p50:.3} ms p99 {p99:.3} ms (graph ready: {})",
                mode.as_str(),
                snap.vectors().graph_ready()
            );
        }
        let ready = wait_for_graph(&engine);
        println!("  graph rebuilt {ready:.1} s after open");
        for mode in [Mode::Semantic, Mode::Hybrid] {
            let (p50, p99) = measure(&engine.snapshot(), mode, &qvecs, 5);
            println!(
                "  {:<8} after: p50 {p50:.3} ms p99 {p99:.3} ms",
                mode.as_str()
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stanok-restart-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Seconds until the engine's graph holds every vector.
fn wait_for_graph(engine: &Engine) -> f64 {
    let started = Instant::now();
    while !engine.snapshot().vectors().graph_ready() {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    started.elapsed().as_secs_f64()
}

/// p50 and p99 over `rounds` passes of the query mix, queries in turn.
fn measure(
    snap: &search_core::Snapshot,
    mode: Mode,
    qvecs: &[Vec<f32>],
    rounds: usize,
) -> (f64, f64) {
    let mut times = Vec::new();
    for _ in 0..rounds {
        for (k, q) in QUERIES.iter().enumerate() {
            let req = SearchRequest::new(*q, mode);
            let t = Instant::now();
            snap.search_with_vector(&req, Some(&qvecs[k]))
                .expect("search");
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], times[times.len() * 99 / 100])
}
