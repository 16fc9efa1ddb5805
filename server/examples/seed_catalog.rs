//! Seeds the database at `DATABASE_URL` with a generated catalog of N documents and fixture
//! vectors in the embedding cache (see `server::harness`), for the load harness.
//!
//! `cargo run --release -p server --example seed_catalog -- 100000`

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let cfg = server::Config::from_env()?;
    let pool = server::connect(&cfg.database_url).await?;
    let embedder = server::load_embedder(&cfg).ok_or_else(|| anyhow::anyhow!("model missing"))?;
    server::harness::seed_fixture_catalog(&pool, n, 77, embedder.as_ref()).await?;
    Ok(())
}
