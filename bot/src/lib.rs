//! The Telegram bot for the customer's engineers, directors and procurement staff.
//!
//! The bot is a client of the server's HTTP API like the web site: it never touches Postgres
//! or the search index. It authenticates to the server with its service token and names the
//! Telegram user it speaks for; the server decides what that user may see (their own client,
//! their role). Dialogue state lives in Redis (teloxide's `RedisStorage`, JSON), so a restart
//! in the middle of a dialogue resumes where the user was. Requests to Telegram go through
//! teloxide's `Throttle`. Updates arrive by long polling or by webhook (with a secret token
//! compared in constant time), by configuration.

pub mod api;
pub mod handlers;
pub mod state;
pub mod texts;

use anyhow::Context as _;
use reqwest::Url;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use teloxide::adaptors::throttle::Limits;
use teloxide::dispatching::dialogue::{serializer::Json, RedisStorage};
use teloxide::prelude::*;
use teloxide::types::BotCommand;
use teloxide::update_listeners::{webhooks, Polling};

/// How updates reach the bot.
#[derive(Debug, Clone)]
pub enum Mode {
    /// `getUpdates` long polling (deletes any webhook first).
    Polling,
    /// Telegram posts updates to `url`; the bot listens on `listen` and refuses requests
    /// without `secret` in `X-Telegram-Bot-Api-Secret-Token`.
    Webhook {
        listen: SocketAddr,
        url: Url,
        secret: String,
    },
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub token: String,
    /// A Bot API server other than Telegram's (`TELOXIDE_API_URL`).
    pub telegram_api_url: Option<Url>,
    /// Our server (`API_BASE_URL`), e.g. `http://127.0.0.1:8080/`.
    pub api_base_url: Url,
    pub service_token: String,
    /// The bot's own Redis database, e.g. `redis://127.0.0.1:6379/1`.
    pub redis_url: String,
    /// The catalog web page opened as a Mini App (`MINI_APP_URL`, https).
    pub mini_app_url: Option<Url>,
    pub mode: Mode,
    pub poll_timeout: Duration,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn url(name: &str, raw: &str) -> anyhow::Result<Url> {
    let mut u = Url::parse(raw).with_context(|| format!("{name} is not a URL: {raw}"))?;
    if !u.path().ends_with('/') {
        let p = format!("{}/", u.path());
        u.set_path(&p);
    }
    Ok(u)
}

impl Config {
    /// Reads `TELOXIDE_TOKEN` (or `BOT_TOKEN`), `TELOXIDE_API_URL`, `API_BASE_URL`,
    /// `BOT_SERVICE_TOKEN`, `REDIS_URL`, `MINI_APP_URL`, `BOT_MODE` (`polling` | `webhook`),
    /// and for webhooks `BOT_WEBHOOK_URL`, `BOT_WEBHOOK_LISTEN`, `BOT_WEBHOOK_SECRET`.
    pub fn from_env() -> anyhow::Result<Config> {
        let token = var("TELOXIDE_TOKEN")
            .or_else(|| var("BOT_TOKEN"))
            .context("TELOXIDE_TOKEN is not set (the token from @BotFather)")?;
        let telegram_api_url = var("TELOXIDE_API_URL")
            .map(|u| Url::parse(&u).with_context(|| format!("TELOXIDE_API_URL: {u}")))
            .transpose()?;
        let api_base_url = url(
            "API_BASE_URL",
            &var("API_BASE_URL").unwrap_or_else(|| "http://127.0.0.1:8080/".into()),
        )?;
        let service_token = var("BOT_SERVICE_TOKEN")
            .context("BOT_SERVICE_TOKEN is not set (the bot's credential for the server)")?;
        let redis_url = var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379/1".into());
        let mini_app_url = var("MINI_APP_URL")
            .map(|u| Url::parse(&u).with_context(|| format!("MINI_APP_URL: {u}")))
            .transpose()?;
        let mode = match var("BOT_MODE").as_deref().unwrap_or("polling") {
            "polling" => Mode::Polling,
            "webhook" => {
                let url = var("BOT_WEBHOOK_URL").context("BOT_WEBHOOK_URL is not set")?;
                let secret = var("BOT_WEBHOOK_SECRET").context("BOT_WEBHOOK_SECRET is not set")?;
                if secret.len() > 256
                    || !secret
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    anyhow::bail!("BOT_WEBHOOK_SECRET: 1-256 characters of A-Z a-z 0-9 _ -");
                }
                Mode::Webhook {
                    listen: var("BOT_WEBHOOK_LISTEN")
                        .unwrap_or_else(|| "0.0.0.0:8443".into())
                        .parse()
                        .context("BOT_WEBHOOK_LISTEN is not host:port")?,
                    url: Url::parse(&url).with_context(|| format!("BOT_WEBHOOK_URL: {url}"))?,
                    secret,
                }
            }
            other => anyhow::bail!("BOT_MODE must be polling or webhook, not {other}"),
        };
        Ok(Config {
            token,
            telegram_api_url,
            api_base_url,
            service_token,
            redis_url,
            mini_app_url,
            mode,
            poll_timeout: Duration::from_secs(
                var("BOT_POLL_TIMEOUT_SECS")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(30),
            ),
        })
    }
}

/// Constant-time comparison of the webhook's secret header.
fn secret_matches(presented: &[u8], expected: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    let (a, b) = (Sha256::digest(presented), Sha256::digest(expected));
    a.iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

async fn check_secret(
    secret: Arc<String>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let ok = req
        .headers()
        .get("x-telegram-bot-api-secret-token")
        .is_some_and(|v| secret_matches(v.as_bytes(), secret.as_bytes()));
    if !ok {
        tracing::warn!("webhook call with a wrong or missing secret token refused");
        return axum::http::StatusCode::UNAUTHORIZED.into_response();
    }
    next.run(req).await
}

fn commands() -> Vec<BotCommand> {
    vec![
        BotCommand::new("start", "Подключиться по номеру телефона"),
        BotCommand::new("menu", "Меню"),
        BotCommand::new("login", "Вход в приложение для телефона"),
        BotCommand::new("notifications", "Настройка уведомлений"),
        BotCommand::new("cancel", "Отменить текущее действие"),
        BotCommand::new("help", "Справка"),
    ]
}

/// Runs the bot until `shutdown` resolves.
pub async fn run(
    cfg: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut plain = Bot::new(&cfg.token);
    if let Some(u) = &cfg.telegram_api_url {
        plain = plain.set_api_url(u.clone());
    }
    let bot = plain.clone().throttle(Limits::default());
    let storage = RedisStorage::open(cfg.redis_url.as_str(), Json)
        .await
        .with_context(|| format!("Redis at {} (dialogue storage)", cfg.redis_url))?;
    let ctx = Arc::new(handlers::Ctx {
        api: api::Api::new(cfg.api_base_url.clone(), cfg.service_token.clone()),
        plain,
        mini_app_url: cfg.mini_app_url.clone(),
    });
    if let Err(e) = bot.set_my_commands(commands()).await {
        tracing::warn!(error = %e, "setMyCommands failed; continuing");
    }
    let handler = dptree::entry()
        .branch(
            Update::filter_message()
                .enter_dialogue::<Message, handlers::Storage, state::State>()
                .endpoint(handlers::on_message),
        )
        .branch(
            Update::filter_callback_query()
                .enter_dialogue::<CallbackQuery, handlers::Storage, state::State>()
                .endpoint(handlers::on_callback),
        );
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler)
        .dependencies(dptree::deps![storage, ctx])
        .default_handler(|_| async {})
        .build();
    let token = dispatcher.shutdown_token();
    tokio::spawn(async move {
        shutdown.await;
        // The dispatcher may not have started yet; try until it takes the request.
        loop {
            match token.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let errors = LoggingErrorHandler::with_custom_text("update listener error");
    match cfg.mode {
        Mode::Polling => {
            tracing::info!("bot: long polling");
            let listener = Polling::builder(bot.clone())
                .timeout(cfg.poll_timeout)
                .delete_webhook()
                .await
                .build();
            dispatcher.dispatch_with_listener(listener, errors).await;
        }
        Mode::Webhook {
            listen,
            url,
            secret,
        } => {
            tracing::info!(%listen, %url, "bot: webhook");
            let opts = webhooks::Options::new(listen, url).secret_token(secret.clone());
            let (listener, stop, router) = webhooks::axum_to_router(bot.clone(), opts)
                .await
                .context("setWebhook failed")?;
            let secret = Arc::new(secret);
            let router = router.layer(axum::middleware::from_fn(move |req, next| {
                check_secret(secret.clone(), req, next)
            }));
            let tcp = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("bind {listen}"))?;
            tokio::spawn(async move {
                if let Err(e) = axum::serve(tcp, router).with_graceful_shutdown(stop).await {
                    tracing::error!(error = %e, "webhook server failed");
                }
            });
            dispatcher.dispatch_with_listener(listener, errors).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_comparison() {
        assert!(secret_matches(b"abc_DEF-123", b"abc_DEF-123"));
        assert!(!secret_matches(b"abc_DEF-124", b"abc_DEF-123"));
        assert!(!secret_matches(b"", b"abc"));
        assert!(!secret_matches(b"abc_DEF-1234", b"abc_DEF-123"));
    }
}
