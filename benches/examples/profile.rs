//! Per-query latency on the synthetic fixture, for finding where time goes:
//! `cargo run --release -p benches --example profile -- [lexical|hybrid|semantic][,mode…] [seconds]`.
//! With `perf record -g` around it, the loop after the table is the profile's subject.
//! `PROFILE_HIGHLIGHT=1` asks for highlights, as the HTTP API does. `PROFILE_MERGE_AB=1`
//! measures the snapshot before the idle segment merge and the one after, side by side
//! (interleaved per query), and exits. `PROFILE_UNION_AB=1` does the same for tantivy's union
//! against the accumulating executor on one snapshot, checking that both return the same
//! totals and hits. `PROFILE_QUERY=…` makes the loop run that query alone.

use benches::{docs_from_env, settle, unsettled_engine, DIM, QUERIES};
use search_core::{Executors, Mode, SearchRequest};

fn main() {
    let mut args = std::env::args().skip(1);
    let modes: Vec<Mode> = args
        .next()
        .unwrap_or_else(|| "lexical".into())
        .split(',')
        .map(|m| Mode::parse(m).expect("mode"))
        .collect();
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let n = docs_from_env();
    let (engine, vectors) = unsettled_engine(n);
    let qvecs = search_core::fixture::vectors(QUERIES.len(), DIM, 7);
    if std::env::var("PROFILE_MERGE_AB").is_ok_and(|v| v == "1") {
        let before = engine.snapshot();
        settle(&engine);
        let after = engine.snapshot();
        for &mode in &modes {
            side_by_side(&before, &after, mode, &qvecs);
        }
        return;
    }
    settle(&engine);
    let snap = engine.snapshot();
    if std::env::var("PROFILE_UNION_AB").is_ok_and(|v| v == "1") {
        for &mode in &modes {
            union_ab(&snap, mode, &qvecs);
        }
        return;
    }
    let ef = engine.config().hnsw.ef_search;
    println!("text segments: {}", snap.text_segments());
    println!(
        "hnsw M={} ef={ef}: recall@10 {:.3}",
        engine.config().hnsw.m,
        benches::hnsw_recall_at_10(&snap, &vectors, &qvecs, ef, search_core::GraphWalk::Frozen)
    );
    for &mode in &modes {
        table(&snap, mode, &qvecs);
    }
    let mode = modes[0];
    // `PROFILE_QUERY=…` loops over that one query instead of the whole list.
    let only = std::env::var("PROFILE_QUERY").ok();
    if let Some(q) = &only {
        println!("{}", snap.explain(q));
    }
    let started = std::time::Instant::now();
    let mut k = 0;
    let mut times = Vec::new();
    while started.elapsed().as_secs_f64() < secs {
        let q = only.as_deref().unwrap_or(QUERIES[k % QUERIES.len()]);
        let req = request(q, mode);
        let t = std::time::Instant::now();
        let _ = snap.search_with_vector(&req, Some(&qvecs[k % QUERIES.len()]));
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        k += 1;
    }
    // Unlike the table (one query repeated, its data hot in cache), the loop moves on to the
    // next query every time, as a server does.
    if !times.is_empty() {
        let (p50, p99) = p50_p99(&mut times);
        println!(
            "loop, {} requests in turn: p50 {p50:.3} ms p99 {p99:.3} ms",
            times.len()
        );
    }
}

fn table(snap: &search_core::Snapshot, mode: Mode, qvecs: &[Vec<f32>]) {
    let mut all = Vec::new();
    for (k, q) in QUERIES.iter().enumerate() {
        let req = request(q, mode);
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..200 {
            let t = std::time::Instant::now();
            let r = snap.search_with_vector(&req, Some(&qvecs[k])).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = r.total;
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!("{:>8.3} ms  total {:>6}  {q}", times[100], total);
        all.extend(times);
    }
    let (p50, p99) = p50_p99(&mut all);
    println!("{}: p50 {p50:.3} ms p99 {p99:.3} ms", mode.as_str());
}

/// Sorts `times` (non-empty) and returns its p50 and p99.
fn p50_p99(times: &mut [f64]) -> (f64, f64) {
    times.sort_by(|a, b| a.total_cmp(b));
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

/// p50 and p99 over all queries of two snapshots, runs alternating between them.
fn side_by_side(
    a: &search_core::Snapshot,
    b: &search_core::Snapshot,
    mode: Mode,
    qvecs: &[Vec<f32>],
) {
    let mut times = [Vec::new(), Vec::new()];
    for (k, q) in QUERIES.iter().enumerate() {
        let req = request(q, mode);
        for _ in 0..100 {
            for (i, s) in [a, b].into_iter().enumerate() {
                let t = std::time::Instant::now();
                let _ = s.search_with_vector(&req, Some(&qvecs[k])).unwrap();
                times[i].push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
    }
    for (i, s) in [a, b].into_iter().enumerate() {
        let (p50, p99) = p50_p99(&mut times[i]);
        println!(
            "{} with {} text segments: p50 {p50:.3} ms p99 {p99:.3} ms",
            mode.as_str(),
            s.text_segments()
        );
    }
}

fn request(q: &str, mode: Mode) -> SearchRequest {
    let mut req = SearchRequest::new(q, mode);
    req.highlight = std::env::var("PROFILE_HIGHLIGHT").is_ok_and(|v| v == "1");
    req
}

/// p50 and p99 of tantivy's union and of the accumulating executor on one snapshot, runs
/// alternating per request; reports any query whose total or hit list differs.
fn union_ab(snap: &search_core::Snapshot, mode: Mode, qvecs: &[Vec<f32>]) {
    let mut times = [Vec::new(), Vec::new()];
    let mut per_query = Vec::new();
    for (k, q) in QUERIES.iter().enumerate() {
        let req = request(q, mode);
        let mut answers = Vec::new();
        let mut mine = [Vec::new(), Vec::new()];
        for round in 0..100 {
            for (i, union) in [true, false].into_iter().enumerate() {
                let t = std::time::Instant::now();
                let r = snap
                    .search_with_executors(&req, Some(&qvecs[k]), Executors::lexical_union(union))
                    .unwrap();
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                times[i].push(ms);
                mine[i].push(ms);
                if round == 0 {
                    let ids: Vec<String> = r.hits.iter().map(|h| h.doc.id.clone()).collect();
                    answers.push((r.total, ids));
                }
            }
        }
        if answers[0] != answers[1] && std::env::var("PROFILE_DEBUG").is_ok() {
            for union in [true, false] {
                let r = snap
                    .search_with_executors(&req, Some(&qvecs[k]), Executors::lexical_union(union))
                    .unwrap();
                let s: Vec<String> = r
                    .hits
                    .iter()
                    .map(|h| format!("{}={:.9}", h.doc.id, h.score))
                    .collect();
                println!("union={union}: {}", s.join(" "));
            }
        }
        if answers[0] != answers[1] {
            println!(
                "DIFFERENT ANSWERS for {q}: {:?} vs {:?}",
                answers[0], answers[1]
            );
        }
        let (u, _) = p50_p99(&mut mine[0]);
        let (a, _) = p50_p99(&mut mine[1]);
        per_query.push(format!(
            "{u:>8.3} {a:>8.3} ms  total {:>6}  {q}",
            answers[0].0
        ));
    }
    println!("   union   accum");
    for line in per_query {
        println!("{line}");
    }
    for (i, label) in ["tantivy union", "accumulate"].into_iter().enumerate() {
        let (p50, p99) = p50_p99(&mut times[i]);
        println!("{} {label}: p50 {p50:.3} ms p99 {p99:.3} ms", mode.as_str());
    }
}
