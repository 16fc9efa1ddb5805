//! `amocrm-standin`: the local amoCRM stand-in as a program, for the quick start's demo mode.
//! Listens on `STANDIN_ADDR` (default 127.0.0.1:8099) and accepts the long-lived token
//! `AMOCRM_LONG_LIVED_TOKEN` (default `demo-token`). What it received:
//! `curl http://127.0.0.1:8099/_standin/leads`.

#[tokio::main]
async fn main() {
    let addr = std::env::var("STANDIN_ADDR").unwrap_or_else(|_| "127.0.0.1:8099".into());
    let token = std::env::var("AMOCRM_LONG_LIVED_TOKEN").unwrap_or_else(|_| "demo-token".into());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("binding {addr}: {e}"));
    let standin = e2e::amocrm_standin::AmoStandIn::serve(listener, &token, "demo-refresh");
    eprintln!("amoCRM stand-in on {}", standin.base_url);
    let _ = tokio::signal::ctrl_c().await;
}
