//! End-to-end tests against a fresh PostgreSQL database per test (`#[sqlx::test]`), the real
//! indexer and the real router. All compile into one binary.

mod api;
mod cms;
mod db;
mod embed;
mod helpers;
mod http;
mod indexer;
mod leads;
mod notify;
mod reindex;
mod sessions;
mod site;
mod telegram_bot;
