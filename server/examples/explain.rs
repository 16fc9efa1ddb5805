//! Prints how a query is analysed and its top lexical hits: `cargo run --example explain -- "q"`.
//! Uses DATA_DIR's index as `stanok serve` left it (no model needed).

fn main() -> anyhow::Result<()> {
    let cfg = server::Config::from_env()?;
    let q = std::env::args().nth(1).unwrap_or_default();
    let syn = search_core::Synonyms::parse(server::DEFAULT_SYNONYMS).unwrap_or_default();
    let embedder = server::load_embedder(&cfg);
    let (engine, _) = server::open_engine(&cfg, embedder, syn)?;
    let snap = engine.snapshot();
    println!("{}", snap.explain(&q));
    for mode in [search_core::Mode::Lexical, search_core::Mode::Hybrid] {
        let res = snap.search(&search_core::SearchRequest::new(q.clone(), mode))?;
        println!("-- {} total={}", mode.as_str(), res.total);
        for h in res.hits {
            println!(
                "{:8.3} {} {} | {} | {:?}",
                h.score,
                if h.exact { "*" } else { " " },
                h.doc.id,
                h.doc.name,
                h.doc.compatible_models
            );
        }
    }
    Ok(())
}
