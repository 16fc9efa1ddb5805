//! Notifications: the bot speaks first.
//!
//! Triggers (migration 0010) write one `notifications` row per recipient, kind and source row
//! in the transaction that made the change: a ticket's new status (engineers), a shipment
//! event (procurement), a machine added to the park (directors and engineers), a personal
//! offer published (directors). The unique key makes a change announced once however often it
//! is seen. [`Notifier`] sends due rows with the Bot API's `sendMessage`:
//!
//! - claims use `FOR UPDATE SKIP LOCKED` and a lease, so replicas share the work and a crash
//!   mid-send leaves the row to be taken again after the lease (the only window in which a
//!   message can be sent twice: Telegram has no idempotency key);
//! - about one message per second per chat (`notification_chats`) and at most `global_rate`
//!   per second overall (`crm_rate_slots`, key `telegram`), both reserved in Postgres, so they
//!   hold across replicas;
//! - at send time the recipient is checked again: still of the same client, the kind still
//!   on, not blocked; in quiet hours (Moscow time) the row waits for their end;
//! - `403` (the user blocked the bot) marks the user and skips their rows; `429` waits
//!   `retry_after`; other `4xx` fail the row; `5xx` and network errors retry with backoff.

use crate::{Result, TelegramId};
use serde_json::{json, Value};
use sqlx::{PgPool, Row};
use std::sync::Arc;
use std::time::Duration;

/// The kinds, in the order `/notifications` lists them, with their Russian names.
pub const KINDS: &[(&str, &str)] = &[
    ("ticket_status", "Статус ремонтов"),
    ("shipment", "Отгрузки и доставка"),
    ("new_machine", "Новые станки в парке"),
    ("offer", "Персональные предложения"),
];

/// Sender settings.
#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// The Bot API base, e.g. `https://api.telegram.org/`.
    pub api_url: String,
    pub token: String,
    /// Concurrent senders in this process.
    pub workers: usize,
    pub lease: Duration,
    /// Spacing of messages to one chat.
    pub per_chat: Duration,
    /// Spacing of all messages of the bot.
    pub global: Duration,
    pub alert_after_attempts: i32,
    pub timeout: Duration,
}

impl NotifierConfig {
    pub fn new(api_url: &str, token: &str) -> NotifierConfig {
        NotifierConfig {
            api_url: if api_url.ends_with('/') {
                api_url.to_string()
            } else {
                format!("{api_url}/")
            },
            token: token.to_string(),
            workers: 8,
            lease: Duration::from_secs(60),
            // Telegram: "no more than one message per second" in a chat and about 30 per
            // second overall; a margin keeps network jitter from crossing either (1.1 s, 100
            // ms of slack, saw two in one second once on a loaded test machine).
            per_chat: Duration::from_millis(1200),
            global: Duration::from_millis(40),
            alert_after_attempts: 10,
            timeout: Duration::from_secs(15),
        }
    }
}

/// What became of one claimed notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        message_id: i64,
    },
    /// Not sent and never will be: the reason.
    Skipped(String),
    /// Waits (quiet hours, Telegram's 429, an outage): why.
    Later(String),
    Failed(String),
}

/// A rate-limited sender: an amoCRM account or the bot as a whole (`crm_rate_slots`, keyed
/// by name), or one Telegram chat (`notification_chats`).
#[derive(Clone, Copy)]
pub(crate) enum Slot<'a> {
    Account(&'a str),
    Chat(i64),
}

/// Reserves the next slot of `slot` (`interval` apart, on the database's clock, serialised by
/// the key's row lock) and returns how long to wait for it.
pub(crate) async fn reserve_slot(
    pool: &PgPool,
    slot: Slot<'_>,
    interval: Duration,
) -> std::result::Result<Duration, sqlx::Error> {
    let (table, key_col) = match slot {
        Slot::Account(_) => ("crm_rate_slots", "account"),
        Slot::Chat(_) => ("notification_chats", "telegram_id"),
    };
    let query = format!(
        "INSERT INTO {table} AS s ({key_col}, next_at)
         VALUES ($1, clock_timestamp() + $2 * interval '1 microsecond')
         ON CONFLICT ({key_col}) DO UPDATE
             SET next_at = greatest(s.next_at, clock_timestamp()) + $2 * interval '1 microsecond'
         RETURNING extract(epoch FROM next_at - $2 * interval '1 microsecond' - clock_timestamp())::float8"
    );
    let q = sqlx::query_scalar::<_, f64>(&query);
    let q = match slot {
        Slot::Account(name) => q.bind(name),
        Slot::Chat(chat) => q.bind(chat),
    };
    let wait = q.bind(interval.as_micros() as f64).fetch_one(pool).await?;
    Ok(Duration::from_secs_f64(wait.max(0.0)))
}

/// How late after its slot a send may still go out. One that wakes later (a stalled task or
/// machine) takes a new slot instead: sent late, it would bunch with the punctual sends after
/// it, and the receiving API counts requests per second as they arrive.
const LATE_AFTER_SLOT: Duration = Duration::from_millis(40);

/// Reserves the next slot of `slot` and sleeps until it, taking a new one after a late wake
/// (see [`LATE_AFTER_SLOT`]); after three late wakes in a row the machine is too busy for any
/// slot, and it goes.
pub(crate) async fn wait_for_slot(
    pool: &PgPool,
    slot: Slot<'_>,
    interval: Duration,
) -> std::result::Result<(), sqlx::Error> {
    for attempt in 0.. {
        let asked = tokio::time::Instant::now();
        let wait = reserve_slot(pool, slot, interval).await?;
        // The slot is on the database's clock, read between `asked` and now: `due` is its
        // earliest possible instant here, so lateness is never underestimated.
        let due = asked + wait;
        tokio::time::sleep_until(due).await;
        if tokio::time::Instant::now() <= due + LATE_AFTER_SLOT || attempt >= 3 {
            break;
        }
        tracing::debug!(attempt, "woke too late for the rate slot; taking another");
    }
    Ok(())
}

/// The Russian text of a notification.
pub fn render(kind: &str, p: &Value) -> String {
    let s = |k: &str| p[k].as_str().unwrap_or("").trim().to_string();
    match kind {
        "ticket_status" => {
            let mut t = format!(
                "🔧 Заявка №{} — {} № {}\nНовый статус: {}",
                p["ticket_id"],
                s("model"),
                s("serial"),
                ticket_status(&s("status"))
            );
            if !s("comment").is_empty() {
                t.push_str(&format!("\nКомментарий: {}", s("comment")));
            }
            t
        }
        "shipment" => {
            let mut t = format!("🚚 Заказ {}: {}", s("order"), shipment_status(&s("status")));
            let place = [s("description"), s("location")]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            if !place.is_empty() {
                t.push_str(&format!("\n{place}"));
            }
            t.push_str(&format!("\n{}", s("at")));
            if !s("tracking_no").is_empty() {
                t.push_str(&format!(
                    "\nПеревозчик: {} {}",
                    carrier_name(&s("carrier")),
                    s("tracking_no")
                ));
            }
            if let Some(eta) = p["eta"].as_str() {
                t.push_str(&format!("\nОжидаемая дата доставки: {}", ru_date(eta)));
            }
            t
        }
        "new_machine" => {
            let name = s("name");
            let what = if name.is_empty() { s("model") } else { name };
            format!(
                "🏭 В вашем парке новый станок: {what}, зав. № {}.\nПаспорт, документация и кнопка SOS — в разделе «Мой парк».",
                s("serial")
            )
        }
        "offer" => {
            let mut t = format!("🎁 Персональное предложение: {}", s("title"));
            if !s("body").is_empty() {
                t.push_str(&format!("\n{}", s("body")));
            }
            if let Some(d) = p["discount_pct"].as_f64() {
                t.push_str(&format!("\nСкидка {d}%"));
            }
            if let Some(v) = p["valid_until"].as_str() {
                t.push_str(&format!("\nДействует до {}", ru_date(v)));
            }
            t
        }
        other => format!("Уведомление: {other}"),
    }
}

fn ru_date(iso: &str) -> String {
    match iso.get(..10).map(|d| d.split('-').collect::<Vec<_>>()) {
        Some(p) if p.len() == 3 => format!("{}.{}.{}", p[2], p[1], p[0]),
        _ => iso.to_string(),
    }
}

pub fn ticket_status(s: &str) -> &str {
    match s {
        "new" => "новая",
        "accepted" => "принята",
        "in_progress" => "в работе",
        "waiting_parts" => "ждём запчасти",
        "done" => "выполнена",
        "cancelled" => "отменена",
        other => other,
    }
}

pub fn shipment_status(s: &str) -> &str {
    match s {
        "preparing" => "готовится к отгрузке",
        "handed_to_carrier" => "передан перевозчику",
        "in_transit" => "в пути",
        "arrived" => "прибыл в город получателя",
        "delivered" => "доставлен",
        "problem" => "проблема с доставкой",
        other => other,
    }
}

fn carrier_name(c: &str) -> &str {
    match c {
        "cdek" => "СДЭК",
        other => other,
    }
}

/// The sender.
pub struct Notifier {
    pool: PgPool,
    http: reqwest::Client,
    cfg: NotifierConfig,
}

impl Notifier {
    pub fn new(pool: PgPool, cfg: NotifierConfig) -> Notifier {
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .build()
            .expect("HTTP client builds");
        Notifier { pool, http, cfg }
    }

    /// Sends one due notification; `None` when nothing is due.
    pub async fn run_once(&self) -> Result<Option<(i64, Outcome)>> {
        let row = sqlx::query(
            "WITH c AS (
               UPDATE notifications n SET locked_until = now() + $1 * interval '1 millisecond',
                                          attempts = n.attempts + 1
               WHERE n.id = (SELECT m.id FROM notifications m
                             WHERE m.state = 'pending' AND m.next_attempt_at <= now()
                               AND (m.locked_until IS NULL OR m.locked_until < now())
                               AND NOT EXISTS (SELECT 1 FROM notification_chats c
                                               WHERE c.telegram_id = m.telegram_id
                                                 AND c.next_at > clock_timestamp())
                             ORDER BY m.next_attempt_at, m.id
                             FOR UPDATE SKIP LOCKED LIMIT 1)
               RETURNING n.id, n.telegram_id, n.client_id, n.kind, n.payload, n.attempts)
             SELECT c.id, c.telegram_id, c.client_id, c.kind::text AS kind, c.payload, c.attempts,
                    t.client_id AS now_client, t.blocked_at IS NOT NULL AS blocked,
                    EXISTS (SELECT 1 FROM notification_prefs p WHERE p.telegram_id = c.telegram_id
                              AND p.kind = c.kind AND NOT p.enabled) AS switched_off,
                    extract(epoch FROM quiet_until(t.quiet_from, t.quiet_to, now()) - now())::float8 AS quiet_secs
             FROM c LEFT JOIN telegram_users t ON t.telegram_id = c.telegram_id",
        )
        .bind(self.cfg.lease.as_millis() as i64)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let id: i64 = row.try_get("id")?;
        let chat: i64 = row.try_get("telegram_id")?;
        let client: i64 = row.try_get("client_id")?;
        let kind: String = row.try_get("kind")?;
        let payload: Value = row.try_get("payload")?;
        let attempts: i32 = row.try_get("attempts")?;
        let now_client: Option<i64> = row.try_get("now_client")?;
        let blocked: Option<bool> = row.try_get("blocked")?;
        let switched_off: bool = row.try_get("switched_off")?;
        let quiet: Option<f64> = row.try_get("quiet_secs")?;

        // The recipient is judged now, not when the row was written: a user who left the
        // client, switched the kind off or blocked the bot gets nothing.
        let skip = if now_client != Some(client) {
            Some("получатель больше не связан с этим клиентом")
        } else if blocked == Some(true) {
            Some("пользователь заблокировал бота")
        } else if switched_off {
            Some("уведомления этого вида выключены")
        } else {
            None
        };
        if let Some(why) = skip {
            self.finish(id, "skipped", why).await?;
            return Ok(Some((id, Outcome::Skipped(why.into()))));
        }
        if let Some(secs) = quiet {
            sqlx::query(
                "UPDATE notifications SET locked_until = NULL, attempts = attempts - 1,
                        next_attempt_at = now() + $2 * interval '1 second' WHERE id = $1",
            )
            .bind(id)
            .bind(secs)
            .execute(&self.pool)
            .await?;
            return Ok(Some((
                id,
                Outcome::Later(format!("тихие часы, ещё {secs:.0} с")),
            )));
        }

        // One chat at a time, then the bot as a whole.
        let wait = reserve_slot(&self.pool, Slot::Chat(chat), self.cfg.per_chat).await?;
        tokio::time::sleep(wait).await;
        // The overall limit counts arrivals per second: a late wake takes a new slot.
        wait_for_slot(&self.pool, Slot::Account("telegram"), self.cfg.global).await?;

        let text = render(&kind, &payload);
        let url = format!("{}bot{}/sendMessage", self.cfg.api_url, self.cfg.token);
        let answer = self
            .http
            .post(&url)
            .json(&json!({"chat_id": chat, "text": text, "link_preview_options": {"is_disabled": true}}))
            .send()
            .await;
        let (status, body) = match answer {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json::<Value>().await.unwrap_or(Value::Null))
            }
            Err(e) => (0, json!({"description": e.without_url().to_string()})),
        };
        let description = body["description"].as_str().unwrap_or("").to_string();
        let outcome = match status {
            200 if body["ok"] == true => {
                let mid = body["result"]["message_id"].as_i64().unwrap_or(0);
                sqlx::query(
                    "UPDATE notifications SET state = 'sent', sent_at = now(), message_id = $2,
                            locked_until = NULL, last_error = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(mid)
                .execute(&self.pool)
                .await?;
                Outcome::Sent { message_id: mid }
            }
            403 => {
                let mut tx = self.pool.begin().await?;
                sqlx::query("UPDATE telegram_users SET blocked_at = now() WHERE telegram_id = $1")
                    .bind(chat)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "UPDATE notifications SET state = 'skipped', last_error = $2, locked_until = NULL
                     WHERE telegram_id = $1 AND state = 'pending'",
                )
                .bind(chat)
                .bind(format!("403: {description}"))
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                tracing::info!(
                    notification = id,
                    "the user blocked the bot; their notifications are skipped"
                );
                Outcome::Skipped(format!("403: {description}"))
            }
            429 => {
                let after = body["parameters"]["retry_after"]
                    .as_i64()
                    .unwrap_or(5)
                    .max(1);
                self.later(id, Duration::from_secs(after as u64), &description)
                    .await?;
                // Keep this chat quiet as long as Telegram asked.
                sqlx::query("UPDATE notification_chats SET next_at = greatest(next_at, now() + $2 * interval '1 second') WHERE telegram_id = $1")
                    .bind(chat)
                    .bind(after as f64)
                    .execute(&self.pool)
                    .await?;
                Outcome::Later(format!("429: через {after} с"))
            }
            400..=499 => {
                let why = format!("{status}: {description}");
                self.finish(id, "failed", &why).await?;
                tracing::warn!(notification = id, error = %why, "Telegram refused a notification");
                Outcome::Failed(why)
            }
            _ => {
                let why = format!("{status}: {description}");
                let delay = Duration::from_secs((1u64 << attempts.clamp(1, 11)).min(1800));
                self.later(id, delay, &why).await?;
                if attempts >= self.cfg.alert_after_attempts {
                    tracing::error!(notification = id, attempts, error = %why, "notification stuck; still retrying");
                }
                Outcome::Later(why)
            }
        };
        Ok(Some((id, outcome)))
    }

    async fn later(&self, id: i64, after: Duration, why: &str) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET locked_until = NULL, last_error = $3,
                    next_attempt_at = now() + $2 * interval '1 millisecond' WHERE id = $1",
        )
        .bind(id)
        .bind(after.as_millis() as i64)
        .bind(crate::redact(why))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Ends a row that will not be sent (`skipped` or `failed`), saying why.
    async fn finish(&self, id: i64, state: &str, why: &str) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET state = $2, last_error = $3, locked_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(state)
        .bind(crate::redact(why))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Runs `workers` senders until `shutdown`.
    pub fn spawn(
        self: Arc<Self>,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        (0..self.cfg.workers.max(1))
            .map(|_| {
                let me = self.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    crate::poll_until(shutdown, "notifier", || async {
                        me.run_once().await.map(|o| o.is_some())
                    })
                    .await
                })
            })
            .collect()
    }
}

/// A user's notification settings.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct Settings {
    pub kinds: Vec<KindSetting>,
    /// Quiet hours in Moscow time, `[from, to)` in whole hours; `None`: none.
    pub quiet_hours: Option<QuietHours>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct KindSetting {
    pub kind: String,
    pub label: String,
    pub enabled: bool,
}

#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
pub struct QuietHours {
    pub from: i16,
    pub to: i16,
}

/// A change of settings: kinds to switch, and quiet hours to set (`Some(None)` clears them).
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsChange {
    #[serde(default)]
    pub kinds: std::collections::BTreeMap<String, bool>,
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<QuietHours>)]
    pub quiet_hours: Option<Option<QuietHours>>,
}

mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// The settings of `telegram_id` (every kind on unless switched off).
pub async fn settings(pool: &PgPool, telegram_id: TelegramId) -> Result<Settings> {
    let off: Vec<String> = sqlx::query_scalar(
        "SELECT kind::text FROM notification_prefs WHERE telegram_id = $1 AND NOT enabled",
    )
    .bind(telegram_id)
    .fetch_all(pool)
    .await?;
    let quiet: Option<(Option<i16>, Option<i16>)> =
        sqlx::query_as("SELECT quiet_from, quiet_to FROM telegram_users WHERE telegram_id = $1")
            .bind(telegram_id)
            .fetch_optional(pool)
            .await?;
    let Some(quiet) = quiet else {
        return Err(crate::Error::NotFound("пользователь не найден".into()));
    };
    Ok(Settings {
        kinds: KINDS
            .iter()
            .map(|(k, label)| KindSetting {
                kind: k.to_string(),
                label: label.to_string(),
                enabled: !off.iter().any(|o| o == k),
            })
            .collect(),
        quiet_hours: match quiet {
            (Some(from), Some(to)) => Some(QuietHours { from, to }),
            _ => None,
        },
    })
}

/// Applies `change` to the settings of `telegram_id` and returns the result.
pub async fn update_settings(
    pool: &PgPool,
    telegram_id: TelegramId,
    change: &SettingsChange,
) -> Result<Settings> {
    for k in change.kinds.keys() {
        if !KINDS.iter().any(|(known, _)| known == k) {
            return Err(crate::invalid(
                &format!("kinds.{k}"),
                "неизвестный вид уведомлений",
            ));
        }
    }
    if let Some(Some(q)) = change.quiet_hours {
        if !(0..24).contains(&q.from) || !(0..24).contains(&q.to) || q.from == q.to {
            return Err(crate::invalid(
                "quiet_hours",
                "часы от 0 до 23, начало и конец разные",
            ));
        }
    }
    let mut tx = pool.begin().await?;
    for (k, on) in &change.kinds {
        sqlx::query(
            "INSERT INTO notification_prefs (telegram_id, kind, enabled) VALUES ($1, $2::notification_kind, $3)
             ON CONFLICT (telegram_id, kind) DO UPDATE SET enabled = EXCLUDED.enabled",
        )
        .bind(telegram_id)
        .bind(k)
        .bind(on)
        .execute(&mut *tx)
        .await?;
    }
    if let Some(q) = change.quiet_hours {
        sqlx::query(
            "UPDATE telegram_users SET quiet_from = $2, quiet_to = $3 WHERE telegram_id = $1",
        )
        .bind(telegram_id)
        .bind(q.map(|q| q.from))
        .bind(q.map(|q| q.to))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    settings(pool, telegram_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_name_the_change_in_russian() {
        let t = render(
            "ticket_status",
            &json!({"ticket_id": 7, "status": "waiting_parts", "comment": "ждём подшипник",
                    "model": "16К20", "serial": "SN-1"}),
        );
        assert!(t.contains("Заявка №7"), "{t}");
        assert!(t.contains("ждём запчасти"), "{t}");
        assert!(t.contains("Комментарий: ждём подшипник"), "{t}");
        let t = render(
            "shipment",
            &json!({"order": "CRM-5", "status": "in_transit", "location": "Екатеринбург",
                    "description": "Отправлен в город-транзит", "carrier": "cdek",
                    "tracking_no": "1106207236", "at": "01.12.2026 10:00", "eta": "2026-12-07"}),
        );
        assert!(t.contains("Заказ CRM-5: в пути"), "{t}");
        assert!(t.contains("Екатеринбург"), "{t}");
        assert!(t.contains("СДЭК 1106207236"), "{t}");
        assert!(t.contains("07.12.2026"), "{t}");
        let t = render(
            "offer",
            &json!({"title": "Скидка на ШВП", "body": "", "discount_pct": 10.0, "valid_until": null}),
        );
        assert!(t.contains("Скидка на ШВП") && t.contains("10%"), "{t}");
    }
}
