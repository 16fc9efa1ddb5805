//! Search-path benches on the shared synthetic fixture: lexical, hybrid (cached query vector),
//! filtered, suggest, RRF alone, HNSW at several ef (recall@10 printed), single upsert. The
//! percentile pass runs the lexical side through tantivy's union and the accumulating executor,
//! and the vector side through hnsw_rs's walk and the frozen walk, side by side.

use benches::{docs_from_env, engine, DIM, QUERIES};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use search_core::{
    Change, Executors, Filters, GraphWalk, Kind, LexicalExecutor, Mode, SearchRequest,
};

fn bench(c: &mut Criterion) {
    let n = docs_from_env();
    let started = std::time::Instant::now();
    let (engine, vectors) = engine(n);
    eprintln!(
        "indexed {n} docs in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    let snap = engine.snapshot();
    let qvecs = search_core::fixture::vectors(QUERIES.len(), DIM, 7);

    // The cost of one new vector for the writer (an insert into the graph; the walk finds it
    // by an exact scan until a background freeze), and of that freeze of the whole graph.
    // The vids appended here are live in no snapshot.
    let mut append_ms: Vec<f64> = (0..5)
        .map(|i| {
            let t = std::time::Instant::now();
            snap.vectors().append(&[Some(qvecs[i].as_slice())]).unwrap();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    append_ms.sort_by(|a, b| a.total_cmp(b));
    let t = std::time::Instant::now();
    snap.vectors().freeze_now();
    eprintln!(
        "append one vector: median {:.2} ms; freeze of the {n}-vector walk: {:.0} ms",
        append_ms[2],
        t.elapsed().as_secs_f64() * 1000.0
    );

    // Per-request latency distribution over the query mix (criterion reports means). The
    // vector modes run twice, with hnsw_rs's own search walk and with the frozen walk the
    // engine uses, side by side.
    // The lexical side likewise runs through tantivy's union and through the accumulating
    // executor the engine uses.
    for (label, mode, hnsw_rs_walk, tantivy_union) in [
        ("lexical (tantivy union)", Mode::Lexical, false, true),
        ("lexical", Mode::Lexical, false, false),
        ("hybrid (tantivy union)", Mode::Hybrid, false, true),
        ("hybrid (hnsw_rs walk)", Mode::Hybrid, true, false),
        ("hybrid", Mode::Hybrid, false, false),
        ("semantic (hnsw_rs walk)", Mode::Semantic, true, false),
        ("semantic", Mode::Semantic, false, false),
    ] {
        let exec = Executors {
            lexical: if tantivy_union {
                LexicalExecutor::TantivyUnion
            } else {
                LexicalExecutor::Accumulate
            },
            graph: if hnsw_rs_walk {
                GraphWalk::HnswRs
            } else {
                GraphWalk::Frozen
            },
        };
        let mut times: Vec<f64> = Vec::new();
        for round in 0..60 {
            for (k, q) in QUERIES.iter().enumerate() {
                let req = SearchRequest::new(*q, mode);
                let t = std::time::Instant::now();
                let _ = snap
                    .search_with_executors(&req, Some(&qvecs[k]), exec)
                    .unwrap();
                if round > 0 {
                    times.push(t.elapsed().as_secs_f64() * 1000.0);
                }
            }
        }
        times.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        eprintln!(
            "{label}: p50 {:.3} ms  p99 {:.3} ms  ({} requests)",
            pct(0.5),
            pct(0.99),
            times.len()
        );
    }

    let mut g = c.benchmark_group(format!("search_{n}"));
    g.bench_function("lexical", |b| {
        let mut i = 0;
        b.iter(|| {
            let req = SearchRequest::new(QUERIES[i % QUERIES.len()], Mode::Lexical);
            i += 1;
            snap.search_with_vector(&req, None).unwrap()
        })
    });
    g.bench_function("hybrid_cached_vector", |b| {
        let mut i = 0;
        b.iter(|| {
            let k = i % QUERIES.len();
            let req = SearchRequest::new(QUERIES[k], Mode::Hybrid);
            i += 1;
            snap.search_with_vector(&req, Some(&qvecs[k])).unwrap()
        })
    });
    g.bench_function("semantic", |b| {
        let mut i = 0;
        b.iter(|| {
            let k = i % QUERIES.len();
            i += 1;
            snap.search_with_vector(
                &SearchRequest::new(QUERIES[k], Mode::Semantic),
                Some(&qvecs[k]),
            )
            .unwrap()
        })
    });
    g.bench_function("hybrid_filtered", |b| {
        let mut i = 0;
        b.iter(|| {
            let k = i % QUERIES.len();
            i += 1;
            let mut req = SearchRequest::new(QUERIES[k], Mode::Hybrid);
            req.filters = Filters {
                kind: Some(Kind::SparePart),
                in_stock: Some(true),
                ..Filters::default()
            };
            snap.search_with_vector(&req, Some(&qvecs[k])).unwrap()
        })
    });
    g.bench_function("suggest", |b| {
        let prefixes = ["подш", "SFU16", "серво", "6205", "ремень кл"];
        let mut i = 0;
        b.iter(|| {
            i += 1;
            snap.suggest(prefixes[i % prefixes.len()], 8).unwrap()
        })
    });
    g.finish();

    let lists: Vec<Vec<u32>> = (0..2)
        .map(|s| (0..200u32).map(|x| (x * 7 + s * 13) % 400).collect())
        .collect();
    // The distance kernel, run-time SIMD against the portable loop, side by side.
    let mut g = c.benchmark_group("dot_384");
    let (a, b2) = (&vectors[0], &vectors[1]);
    g.bench_function("simd", |b| {
        b.iter(|| search_core::dot(criterion::black_box(a), criterion::black_box(b2)))
    });
    g.bench_function("portable", |b| {
        b.iter(|| search_core::dot_portable(criterion::black_box(a), criterion::black_box(b2)))
    });
    g.finish();

    c.bench_function("rrf_200x100", |b| {
        b.iter(|| search_core::rrf(&[(&lists[0], 1.0), (&lists[1][..100], 1.0)], 60.0))
    });

    // HNSW alone at several ef, with recall@10 against exact search printed once.
    let mut g = c.benchmark_group(format!("hnsw_{n}"));
    let vidx = snap.vectors();
    for ef in [32usize, 64, 96, 128, 200] {
        let theirs = benches::hnsw_recall_at_10(&snap, &vectors, &qvecs, ef, GraphWalk::HnswRs);
        eprintln!(
            "hnsw ef={ef}: recall@10 = {:.3} (hnsw_rs walk {theirs:.3})",
            benches::hnsw_recall_at_10(&snap, &vectors, &qvecs, ef, GraphWalk::Frozen)
        );
        g.bench_with_input(BenchmarkId::new("search_ef", ef), &ef, |b, &ef| {
            let mut i = 0;
            b.iter(|| {
                i += 1;
                vidx.search(&qvecs[i % qvecs.len()], 10, Some(ef), 1.0, &|_| true)
            })
        });
    }
    g.finish();

    c.bench_function("upsert_one_doc", |b| {
        let base = search_core::fixture::catalog(1, 99).pop().unwrap();
        let mut i = 0u64;
        b.iter(|| {
            i += 1;
            let mut d = base.clone();
            d.id = format!("BENCH-{}", i % 50);
            d.price_rub = Some(i as f64);
            engine
                .apply(
                    vec![Change::Upsert {
                        doc: d,
                        vector: Some(vectors[0].clone()),
                    }],
                    1_000_000 + i as i64,
                )
                .unwrap()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
