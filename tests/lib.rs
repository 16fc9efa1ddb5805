//! Test support shared by the end-to-end tests (in `e2e/`): local stand-ins for the SaaS we
//! cannot reach, speaking their real wire formats.

pub mod amocrm_standin;
pub mod cdek_standin;
pub mod telegram_standin;

/// Serves `app` on `listener` from a thread and runtime of its own, as the SaaS it stands in
/// for runs on its own machine: a test that loads its own runtime must not delay when requests
/// are seen to arrive, or its stalls would bunch their timestamps into rates the senders never
/// made (the rate-limit assertions read those timestamps).
pub fn serve_on_own_thread(name: &str, listener: std::net::TcpListener, app: axum::Router) {
    listener.set_nonblocking(true).unwrap();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap()
            })
        })
        .unwrap();
}
