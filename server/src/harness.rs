//! Support for the benchmark harnesses (`server/examples/`, `benches/load/`): a generated
//! catalog imported into Postgres with fixture vectors seeded into the embedding cache.
//! Not used by the product at run time.

use search_core::{CatalogDoc, Embedder};
use sqlx::PgPool;
use std::time::Instant;

/// Empties the catalog of the database at `pool`, imports `n` generated documents and writes
/// fixture vectors for them into `embedding_cache` under `embedder`'s model id, so that a load
/// does not spend half an hour embedding. Documents changed later are embedded for real.
pub async fn seed_fixture_catalog(
    pool: &PgPool,
    n: usize,
    seed: u64,
    embedder: &dyn Embedder,
) -> anyhow::Result<Vec<CatalogDoc>> {
    sqlx::query("TRUNCATE catalog_items, catalog_changes, indexer_replicas CASCADE")
        .execute(pool)
        .await?;
    let docs = search_core::fixture::catalog(n, seed);
    let jsonl: String = docs
        .iter()
        .map(|d| serde_json::to_string(d).expect("documents serialise") + "\n")
        .collect();
    let t = Instant::now();
    let s = crate::import::import(pool, tokio::io::BufReader::new(jsonl.as_bytes()), false).await?;
    println!("import {n}: {s} in {:.1}s", t.elapsed().as_secs_f64());
    let model = embedder.model_id().to_string();
    let vectors = search_core::fixture::vectors(n, embedder.dim(), seed);
    for (chunk_d, chunk_v) in docs.chunks(5000).zip(vectors.chunks(5000)) {
        let hashes: Vec<String> = chunk_d.iter().map(|d| d.content_hash()).collect();
        let bytes: Vec<Vec<u8>> = chunk_v
            .iter()
            .map(|v| v.iter().flat_map(|x| x.to_le_bytes()).collect())
            .collect();
        sqlx::query(
            "INSERT INTO embedding_cache (model_id, content_hash, dim, vector)
             SELECT $1, h, $2, v FROM unnest($3::text[], $4::bytea[]) AS t(h, v) ON CONFLICT DO NOTHING",
        )
        .bind(&model)
        .bind(embedder.dim() as i32)
        .bind(&hashes)
        .bind(&bytes)
        .execute(pool)
        .await?;
    }
    Ok(docs)
}
