//! `stanok`: the server binary. Glue only: parse the command line, read configuration, call
//! the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use server::api::{self, AppState, HttpOptions};
use server::Config;
use std::path::PathBuf;
use std::sync::Arc;

/// glibc's malloc spent a sixth of the server's CPU under search load (small per-query
/// allocations, and the doc store's 16 KiB blocks freed in bursts); mimalloc keeps them in
/// per-thread free lists.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stanok",
    version,
    about = "Catalog search service for machine tools and spare parts"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API with the in-process index and the indexer (applies migrations first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Upsert catalog records from a JSON Lines file ("-" for standard input).
    Import {
        file: PathBuf,
        /// Reject the whole file (write nothing) if any line is bad.
        #[arg(long)]
        strict: bool,
    },
    /// Rebuild the index from Postgres into a new directory and swap it in atomically.
    Reindex,
    /// Relevance of the indexed catalog on graded queries (nDCG@10, MRR, recall@10).
    Eval {
        #[arg(long)]
        queries: PathBuf,
        #[arg(long)]
        qrels: PathBuf,
        /// hybrid, lexical, semantic or all.
        #[arg(long, default_value = "all")]
        mode: String,
        /// Print one line per query (mode, id, nDCG@10, type, text, top 3 with grades).
        #[arg(long)]
        verbose: bool,
        /// Only fold K of N (e.g. `1/2`): queries split per type in id order, so a change tuned
        /// on one fold is judged on the other.
        #[arg(long, value_name = "K/N")]
        fold: Option<String>,
        /// Write, per query of the hybrid run, the lists it fuses (lexical candidates with
        /// scores, semantic neighbours with cosines, pins) as JSON Lines, for replaying and
        /// fitting the fusion offline (benches/relevance/fusion_grid.py).
        #[arg(long, value_name = "FILE")]
        dump_lists: Option<PathBuf>,
    },
    /// Why a query ranks as it does: the lexical plan and the first page with scores.
    Explain {
        /// hybrid, lexical or semantic.
        #[arg(long, default_value = "hybrid")]
        mode: String,
        /// The query.
        text: Vec<String>,
    },
    /// Write the generated demo catalog as JSON Lines to standard output.
    DemoCatalog {
        #[arg(long, default_value_t = 3000)]
        count: usize,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn,hnsw_rs=warn,ort=warn,sqlx=warn"));
    let json = std::env::var("LOG_FORMAT").is_ok_and(|v| v == "json");
    // Colours only on a terminal: a log file or collector gets plain text (with colour codes
    // between a field's name and value, the log scans of the tests could not find fields).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Turns transparent huge pages off for this process.
///
/// mimalloc asks the kernel for huge pages (`madvise(MADV_HUGEPAGE)`), and tantivy starts a
/// fresh indexing thread after every commit, whose heap then faults in new 2 MiB pages that
/// the kernel zeroes whole. Measured in the cluster test (debug build, three replicas under
/// load): committing a one-document batch took 357–679 ms, 77 % of it in the kernel's
/// `clear_page_erms`; with huge pages off, 15–23 ms. The change-to-visible latency every
/// replica promises (≤ 1 s) depends on it. Search throughput with and without huge pages is
/// compared in `benches/results/load-ab.md`. Best effort: on kernels without the call the
/// process runs as before.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_thp_disable(true) {
        eprintln!("could not turn transparent huge pages off: {e}");
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    disable_transparent_huge_pages();
    init_tracing();
    let cli = Cli::parse();
    let cfg = Config::from_env()?;
    match cli.command {
        Command::Migrate => {
            server::connect(&cfg.database_url).await?;
            println!("migrations applied");
        }
        Command::Import { file, strict } => {
            let pool = server::connect(&cfg.database_url).await?;
            let started = std::time::Instant::now();
            let summary = if file.as_os_str() == "-" {
                server::import::import(&pool, tokio::io::BufReader::new(tokio::io::stdin()), strict)
                    .await?
            } else {
                let f = tokio::fs::File::open(&file)
                    .await
                    .with_context(|| format!("opening {}", file.display()))?;
                server::import::import(&pool, tokio::io::BufReader::new(f), strict).await?
            };
            for r in summary.rejected.iter().take(100) {
                eprintln!("line {}: {}", r.line, r.reason);
            }
            if summary.rejected.len() > 100 {
                eprintln!(
                    "... and {} more rejected lines",
                    summary.rejected.len() - 100
                );
            }
            let secs = started.elapsed().as_secs_f64();
            let records = summary.inserted + summary.updated + summary.unchanged;
            println!(
                "{summary} in {secs:.2}s ({:.0} records/s)",
                records as f64 / secs.max(1e-9)
            );
            if summary.aborted {
                anyhow::bail!(
                    "--strict: {} bad line(s), nothing was written",
                    summary.rejected.len()
                );
            }
        }
        Command::Serve => serve(cfg).await?,
        Command::Reindex => reindex(cfg).await?,
        Command::Eval {
            queries,
            qrels,
            mode,
            verbose,
            fold,
            dump_lists,
        } => {
            let (engine, embedder) = synced_engine(&cfg).await?;
            let mut set = server::eval::EvalSet::load(&queries, &qrels)?;
            if let Some(fold) = fold {
                let (k, n) = fold
                    .split_once('/')
                    .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
                    .context("--fold must look like 1/2")?;
                set = set.fold(k, n)?;
            }
            let modes: Vec<search_core::Mode> = if mode == "all" {
                vec![
                    search_core::Mode::Lexical,
                    search_core::Mode::Semantic,
                    search_core::Mode::Hybrid,
                ]
            } else {
                vec![search_core::Mode::parse(&mode)
                    .context("--mode must be hybrid, lexical, semantic or all")?]
            };
            let cached = embedder.map(|e| search_core::CachedEmbedder::new(e, 4096));
            let snap = serving_snapshot(&engine).await;
            let mut results = Vec::new();
            for m in modes {
                if m != search_core::Mode::Lexical && cached.is_none() {
                    eprintln!("skipping {}: no embedding model", m.as_str());
                    continue;
                }
                let mut dump = match (&dump_lists, m) {
                    (Some(path), search_core::Mode::Hybrid) => Some(std::io::BufWriter::new(
                        std::fs::File::create(path)
                            .with_context(|| format!("creating {}", path.display()))?,
                    )),
                    _ => None,
                };
                let sink = dump.as_mut().map(|w| w as &mut dyn std::io::Write);
                results.push((m, set.run(&snap, cached.as_ref(), m, verbose, sink)?));
                if let Some(mut w) = dump {
                    std::io::Write::flush(&mut w)?;
                }
            }
            let reports: Vec<_> = results
                .iter()
                .map(|(m, r)| (*m, server::eval::aggregate(r)))
                .collect();
            println!("{}", server::eval::format_table(&reports));
            if let [(_, lexical), (_, semantic), (_, hybrid)] = results.as_slice() {
                let short = server::eval::hybrid_shortfalls(lexical, semantic, hybrid, 0.05);
                println!(
                    "hybrid below max(lexical, semantic) - 0.05 on {} of {} queries: {}",
                    short.len(),
                    hybrid.len(),
                    short.join(" ")
                );
            }
        }
        Command::Explain { mode, text } => {
            let mode = search_core::Mode::parse(&mode)
                .context("--mode must be hybrid, lexical or semantic")?;
            let text = text.join(" ");
            let (engine, _) = synced_engine(&cfg).await?;
            let snap = serving_snapshot(&engine).await;
            println!("{}", snap.explain(&text));
            let found = snap.search(&search_core::SearchRequest::new(text, mode))?;
            for (i, hit) in found.hits.iter().enumerate() {
                let exact = if hit.exact { " exact" } else { "" };
                println!(
                    "{:>2}. {:<10} {:>10.3}{exact}  {}",
                    i + 1,
                    hit.doc.id,
                    hit.score,
                    hit.doc.name
                );
            }
        }
        Command::DemoCatalog { count, seed } => {
            use std::io::Write;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for doc in search_core::fixture::catalog(count, seed) {
                serde_json::to_writer(&mut out, &doc)?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

async fn serve(cfg: Config) -> anyhow::Result<()> {
    let pool = server::connect(&cfg.database_url).await?;
    let embedder = server::load_embedder(&cfg);
    let synonyms = server::load_synonyms(Some(&pool)).await?;
    let live = server::open_live(&cfg, pool.clone(), embedder, synonyms)?;
    let content = server::content::Content::load(
        pool.clone(),
        cfg.cms_files_dir.clone(),
        cfg.data_dir.join("media-variants"),
    )
    .await?;
    let batcher = (cfg.query_batch > 0)
        .then(|| live.engine().query_embedder())
        .flatten()
        .map(|e| server::query_embed::QueryBatcher::spawn(e, cfg.query_batch));
    let state = AppState::new(live.clone(), cfg.admin_token.clone())
        .with_query_batcher(batcher)
        .with_content(content.clone())
        .with_leads(server::leads_state(&cfg, pool.clone()))
        .with_search_concurrency(cfg.search_concurrency)
        .with_site(api::site::Site::load(
            Some(&cfg.web_dir),
            &cfg.leads.public_base_url,
        ));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let sync = tokio::spawn(live.clone().run(stop_rx.clone()));
    let content_sync = tokio::spawn(content.run(live, stop_rx.clone()));
    let mut workers = server::spawn_lead_workers(&cfg, pool.clone(), stop_rx.clone())?;
    workers.extend(server::spawn_notify_workers(&cfg, pool, stop_rx));
    let draining = state.draining.clone();
    let drain_ms = cfg.shutdown_drain_ms;
    let app = api::router(
        state,
        &HttpOptions {
            cors_origin: cfg.cors_origin.clone(),
            request_timeout: std::time::Duration::from_millis(cfg.request_timeout_ms),
            replica_id: Some(cfg.replica_id.clone()),
        },
    );
    let listener = tokio::net::TcpListener::bind(cfg.listen_addr)
        .await
        .with_context(|| format!("binding {}", cfg.listen_addr))?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
        // Leave the pool first: readiness turns false and requests are still served until the
        // proxy's health check has seen it, then new connections stop and in-flight ones finish.
        draining.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(drain_ms, "shutting down: readiness is false, draining");
        tokio::time::sleep(std::time::Duration::from_millis(drain_ms)).await;
        tracing::info!("shutting down: finishing in-flight requests");
    })
    .await?;
    let _ = stop_tx.send(true);
    let _ = sync.await;
    let _ = content_sync.await;
    for w in workers {
        let _ = w.await;
    }
    Ok(())
}

/// Rebuilds the index from Postgres into a new generation and swaps it in atomically. With a
/// server running on this data directory, the server does it in-process (asked over HTTP with
/// `ADMIN_TOKEN`) so search never stops; otherwise this process builds and swaps the link.
async fn reindex(cfg: Config) -> anyhow::Result<()> {
    let dirs = indexer::IndexDirs::new(&cfg.data_dir);
    let live = dirs.live()?;
    if live.join("text").join("meta.json").exists() {
        if let Err(e) = search_core::try_lock_writer(&live.join("text")) {
            tracing::info!(reason = %e, "the index is in use by a running server; asking it to reindex");
            return reindex_via_server(&cfg).await;
        }
    }
    let pool = server::connect(&cfg.database_url).await?;
    let embedder = server::load_embedder(&cfg);
    let synonyms = server::load_synonyms(Some(&pool)).await?;
    let ecfg = server::engine_config(&cfg.tuning, embedder.as_ref(), synonyms);
    let started = std::time::Instant::now();
    let query_embedder = embedder
        .clone()
        .map(|e| Arc::new(search_core::CachedEmbedder::new(e, 16)));
    let (idx, generation) = indexer::live::build_generation(
        &dirs,
        ecfg,
        |engine| indexer::Indexer::new(pool, engine, embedder, cfg.replica_id.clone()),
        query_embedder,
    )
    .await?;
    let docs = idx.engine().stats().documents;
    drop(idx);
    dirs.publish(&generation)?;
    dirs.remove_stale(&[&generation]);
    println!(
        "reindexed {docs} documents into {} in {:.1}s",
        generation.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn reindex_via_server(cfg: &Config) -> anyhow::Result<()> {
    let token = cfg.admin_token.as_deref().context(
        "a server is running on this index; set ADMIN_TOKEN (the server's) so reindex can ask it",
    )?;
    let base = format!("http://{}", cfg.listen_addr);
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{base}/api/v1/admin/reindex"))
        .bearer_auth(token)
        .send()
        .await
        .with_context(|| format!("calling the server at {base}"))?;
    if !resp.status().is_success() {
        anyhow::bail!(
            "the server refused: {} {}",
            resp.status(),
            resp.text().await.unwrap_or_default()
        );
    }
    println!("the server is rebuilding the index; search keeps running");
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let status: serde_json::Value = http
            .get(format!("{base}/api/v1/index/status"))
            .send()
            .await?
            .json()
            .await?;
        let state = &status["reindex"];
        match state["state"].as_str() {
            Some("running") => continue,
            Some("done") => {
                println!(
                    "reindexed {} documents into {} in {:.1}s",
                    state["documents"],
                    state["generation"].as_str().unwrap_or("?"),
                    state["seconds"].as_f64().unwrap_or_default()
                );
                return Ok(());
            }
            Some("failed") => anyhow::bail!("reindex failed: {}", state["error"]),
            other => anyhow::bail!("unexpected reindex state {other:?}"),
        }
    }
}

/// The engine over `DATA_DIR`, brought up to date with Postgres (for `eval` and `explain`).
async fn synced_engine(
    cfg: &server::Config,
) -> anyhow::Result<(
    std::sync::Arc<search_core::Engine>,
    Option<std::sync::Arc<dyn search_core::Embedder>>,
)> {
    let pool = server::connect(&cfg.database_url).await?;
    let embedder = server::load_embedder(cfg);
    let synonyms = server::load_synonyms(Some(&pool)).await?;
    let (engine, _) = server::open_engine(cfg, embedder.clone(), synonyms)?;
    let idx = indexer::Indexer::new(
        pool,
        engine.clone(),
        embedder.clone(),
        cfg.replica_id.clone(),
    );
    idx.initial_load().await?;
    let mut g = None;
    while idx.sync_once(&mut g).await? > 0 {}
    Ok((engine, embedder))
}

/// The current snapshot once its vector graph serves: a reopened index searches vectors
/// exactly until the graph is rebuilt, and measurements should see the graph that serves.
async fn serving_snapshot(engine: &search_core::Engine) -> std::sync::Arc<search_core::Snapshot> {
    let snap = engine.snapshot();
    while !snap.vectors().graph_ready() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    snap
}
