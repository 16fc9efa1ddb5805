//! Update handling: one endpoint for messages and one for button presses. Each loads the
//! chat's dialogue state from Redis, decides with a plain `match`, calls the server API, and
//! answers. A failure of the server or of Telegram becomes a friendly message to the user and
//! an error in the log; nothing is dropped silently.

use crate::api::{Api, ApiError, Me, NewLead, Role};
use crate::state::{CartLine, Cb, State, Step, MAX_SOS_PHOTOS};
use crate::texts as t;
use reqwest::{StatusCode, Url};
use std::sync::Arc;
use teloxide::adaptors::Throttle;
use teloxide::dispatching::dialogue::{serializer::Json, Dialogue, RedisStorage};
use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    ButtonRequest, ChatId, FileId, InlineKeyboardButton, InlineKeyboardMarkup, InputFile,
    KeyboardButton, KeyboardMarkup, MessageId, WebAppInfo,
};

/// The bot as handlers use it: requests are throttled to Telegram's limits.
pub type Tg = Throttle<Bot>;
pub type Storage = RedisStorage<Json>;
pub type BotDialogue = Dialogue<State, Storage>;
pub type HandlerResult = Result<(), anyhow::Error>;

/// What every handler needs besides the bot and the dialogue.
#[derive(Debug)]
pub struct Ctx {
    pub api: Api,
    /// The unthrottled bot, for file downloads.
    pub plain: Bot,
    pub mini_app_url: Option<Url>,
}

/// Largest file the bot takes from a chat (the Bot API serves at most 20 MB).
const MAX_DOWNLOAD_BYTES: u32 = 20 * 1024 * 1024;
/// Search results shown in the chat.
const SEARCH_HITS: u32 = 5;
/// Longest free text the bot forwards.
const MAX_TEXT: usize = 2000;

/// A handler's failure: either something to tell the user in so many words, or an error.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Telegram(#[from] teloxide::RequestError),
    #[error("download: {0}")]
    Download(#[from] teloxide::DownloadError),
    #[error("dialogue storage: {0}")]
    Storage(String),
}

type Res<T = ()> = Result<T, Failure>;

fn storage_err<E: std::fmt::Display>(e: E) -> Failure {
    Failure::Storage(e.to_string())
}

async fn save(dialogue: &BotDialogue, state: State) -> Res {
    dialogue.update(state).await.map_err(storage_err)
}

/// Tells the user what went wrong (without internals) and logs the cause.
async fn report(bot: &Tg, chat: ChatId, err: Failure) {
    let text = match &err {
        Failure::Api(e) if e.status() == Some(StatusCode::FORBIDDEN) => {
            tracing::warn!(chat = chat.0, error = %err, "refused by the server");
            t::FORBIDDEN.to_string()
        }
        Failure::Api(e) if e.user_message().is_some() => {
            tracing::warn!(chat = chat.0, error = %err, "request rejected by the server");
            e.user_message().unwrap_or(t::FAILED).to_string()
        }
        _ => {
            tracing::error!(chat = chat.0, error = %err, "update handling failed");
            t::FAILED.to_string()
        }
    };
    if let Err(e) = bot.send_message(chat, text).await {
        tracing::error!(chat = chat.0, error = %e, "could not tell the user about a failure");
    }
}

fn menu_keyboard(role: Option<Role>, mini_app: Option<&Url>) -> KeyboardMarkup {
    let b = KeyboardButton::new;
    let rows: Vec<Vec<KeyboardButton>> = match role {
        Some(Role::Director) => vec![
            vec![b(t::BTN_SPEND), b(t::BTN_PROJECTS)],
            vec![b(t::BTN_OFFERS), b(t::BTN_PARK)],
            vec![b(t::BTN_TICKETS)],
        ],
        Some(Role::Procurement) => {
            let catalog = match mini_app {
                Some(url) => b(t::BTN_CATALOG)
                    .request(ButtonRequest::WebApp(WebAppInfo { url: url.clone() })),
                None => b(t::BTN_CATALOG),
            };
            vec![
                vec![b(t::BTN_QUOTE), b(t::BTN_INVOICE)],
                vec![b(t::BTN_SHIPMENT), b(t::BTN_CART)],
                vec![catalog],
            ]
        }
        _ => vec![
            vec![b(t::BTN_PARK), b(t::BTN_SOS)],
            vec![b(t::BTN_TICKETS), b(t::BTN_KB)],
        ],
    };
    KeyboardMarkup::new(rows).resize_keyboard().persistent()
}

fn phone_keyboard() -> KeyboardMarkup {
    KeyboardMarkup::new([[
        KeyboardButton::new(t::SHARE_PHONE_BUTTON).request(ButtonRequest::Contact)
    ]])
    .resize_keyboard()
    .one_time_keyboard()
}

fn button(text: impl Into<String>, cb: &Cb) -> Option<InlineKeyboardButton> {
    cb.data().map(|d| InlineKeyboardButton::callback(text, d))
}

async fn send_menu(bot: &Tg, chat: ChatId, me: &Me, ctx: &Ctx) -> Res {
    bot.send_message(chat, t::menu_greeting(me.company.as_deref(), me.role))
        .reply_markup(menu_keyboard(me.role, ctx.mini_app_url.as_ref()))
        .await?;
    Ok(())
}

/// The linked user behind an update, or a prompt to `/start`.
async fn linked(bot: &Tg, chat: ChatId, ctx: &Ctx, user: i64) -> Res<Option<(Me, i64)>> {
    match ctx.api.me(user).await? {
        Some(me) => match me.client_id {
            Some(client) => Ok(Some((me, client))),
            None => {
                bot.send_message(chat, t::UNKNOWN_CLIENT)
                    .reply_markup(InlineKeyboardMarkup::new([button(
                        t::CALL_ME_BUTTON,
                        &Cb::CallMe,
                    )
                    .into_iter()
                    .collect::<Vec<_>>()]))
                    .await?;
                Ok(None)
            }
        },
        None => {
            bot.send_message(chat, t::NEED_START).await?;
            Ok(None)
        }
    }
}

/// Entry point for messages.
pub async fn on_message(
    bot: Tg,
    dialogue: BotDialogue,
    state: State,
    msg: Message,
    ctx: Arc<Ctx>,
) -> HandlerResult {
    // The bot serves people one to one; groups and channels are ignored.
    if !msg.chat.is_private() {
        return Ok(());
    }
    let Some(user) = msg.from.as_ref().map(|u| u.id.0 as i64) else {
        return Ok(());
    };
    if let Err(e) = handle_message(&bot, &dialogue, state, &msg, &ctx, user).await {
        report(&bot, msg.chat.id, e).await;
    }
    Ok(())
}

fn command(text: &str) -> Option<&str> {
    let first = text.split_whitespace().next()?;
    let cmd = first.strip_prefix('/')?;
    Some(cmd.split('@').next().unwrap_or(cmd))
}

async fn handle_message(
    bot: &Tg,
    dialogue: &BotDialogue,
    state: State,
    msg: &Message,
    ctx: &Ctx,
    user: i64,
) -> Res {
    let chat = msg.chat.id;
    if let Some(contact) = msg.contact() {
        return on_contact(bot, dialogue, state, msg, ctx, user, contact).await;
    }
    let text = msg.text().map(str::trim);
    if let Some(cmd) = text.and_then(command) {
        match cmd {
            "start" => {
                if let Some(me) = ctx.api.me(user).await? {
                    if me.client_id.is_some() {
                        save(
                            dialogue,
                            State {
                                step: Step::Idle,
                                ..state
                            },
                        )
                        .await?;
                        return send_menu(bot, chat, &me, ctx).await;
                    }
                }
                save(
                    dialogue,
                    State {
                        step: Step::AwaitPhone,
                        ..state
                    },
                )
                .await?;
                bot.send_message(chat, t::ASK_PHONE)
                    .reply_markup(phone_keyboard())
                    .await?;
            }
            "cancel" => {
                save(
                    dialogue,
                    State {
                        step: Step::Idle,
                        ..state
                    },
                )
                .await?;
                bot.send_message(chat, t::CANCELLED).await?;
                if let Some((me, _)) = linked(bot, chat, ctx, user).await? {
                    send_menu(bot, chat, &me, ctx).await?;
                }
            }
            "notifications" => {
                if linked(bot, chat, ctx, user).await?.is_some() {
                    let s = ctx.api.notification_settings(user).await?;
                    send_notification_settings(bot, chat, &s, None).await?;
                }
            }
            "login" => {
                if linked(bot, chat, ctx, user).await?.is_some() {
                    let link = ctx.api.login_link(user).await?;
                    bot.send_message(chat, t::login_link(&link.url, link.expires_in_secs / 60))
                        .await?;
                }
            }
            "menu" => {
                if let Some((me, _)) = linked(bot, chat, ctx, user).await? {
                    save(
                        dialogue,
                        State {
                            step: Step::Idle,
                            ..state
                        },
                    )
                    .await?;
                    send_menu(bot, chat, &me, ctx).await?;
                }
            }
            _ => {
                bot.send_message(chat, t::HELP).await?;
            }
        }
        return Ok(());
    }
    // A menu button works from any step and ends the one in progress.
    if let Some(text) = text {
        if is_menu_button(text) {
            let state = State {
                step: Step::Idle,
                ..state
            };
            save(dialogue, state.clone()).await?;
            return on_menu_button(bot, dialogue, state, msg, ctx, user, text).await;
        }
    }
    match state.step.clone() {
        Step::AwaitPhone => {
            bot.send_message(chat, t::ASK_PHONE)
                .reply_markup(phone_keyboard())
                .await?;
        }
        Step::CallbackComment { phone } => {
            let Some(comment) = text.filter(|s| !s.is_empty()) else {
                bot.send_message(chat, t::ASK_CALLBACK_COMMENT).await?;
                return Ok(());
            };
            let name = msg.from.as_ref().map(|u| u.full_name()).unwrap_or_default();
            let lead = ctx
                .api
                .create_lead(
                    user,
                    &format!("tg-callback-{user}-{}", msg.id.0),
                    &NewLead {
                        kind: "callback",
                        name,
                        phone: Some(phone),
                        payload: serde_json::json!({"comment": clip(comment)}),
                    },
                )
                .await?;
            save(
                dialogue,
                State {
                    step: Step::Idle,
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::callback_created(lead.id)).await?;
        }
        Step::SosDescribe {
            machine_id,
            machine,
        } => {
            let Some(description) = text.filter(|s| !s.is_empty()) else {
                bot.send_message(chat, t::SOS_NEED_TEXT).await?;
                return Ok(());
            };
            let description = clip(description);
            let key = format!("tg-sos-{user}-{}", msg.id.0);
            save(
                dialogue,
                State {
                    step: Step::SosConfirm {
                        machine_id,
                        machine: machine.clone(),
                        description: description.clone(),
                        photos: vec![],
                        key,
                    },
                    ..state
                },
            )
            .await?;
            send_sos_summary(bot, chat, &machine, &description, 0).await?;
        }
        Step::SosConfirm {
            machine_id,
            machine,
            description,
            mut photos,
            key,
        } => {
            if let Some(sizes) = msg.photo() {
                if photos.len() >= MAX_SOS_PHOTOS {
                    bot.send_message(chat, t::SOS_TOO_MANY_PHOTOS).await?;
                    return Ok(());
                }
                if let Some(largest) = sizes.last() {
                    photos.push(largest.file.id.0.clone());
                }
                let n = photos.len();
                save(
                    dialogue,
                    State {
                        step: Step::SosConfirm {
                            machine_id,
                            machine: machine.clone(),
                            description: description.clone(),
                            photos,
                            key,
                        },
                        ..state
                    },
                )
                .await?;
                send_sos_summary(bot, chat, &machine, &description, n).await?;
            } else {
                send_sos_summary(bot, chat, &machine, &description, photos.len()).await?;
            }
        }
        Step::AwaitFile { kind } => {
            let file = if let Some(sizes) = msg.photo() {
                sizes
                    .last()
                    .map(|p| (p.file.id.clone(), p.file.size, "photo.jpg".to_string()))
            } else {
                msg.document().map(|d| {
                    (
                        d.file.id.clone(),
                        d.file.size,
                        d.file_name.clone().unwrap_or_else(|| "file".into()),
                    )
                })
            };
            let Some((file_id, size, name)) = file else {
                bot.send_message(chat, t::NEED_FILE).await?;
                return Ok(());
            };
            if size > MAX_DOWNLOAD_BYTES {
                bot.send_message(
                    chat,
                    "Файл больше 20 МБ — пришлите его меньшего размера или на почту.",
                )
                .await?;
                return Ok(());
            }
            let Some((me, _)) = linked(bot, chat, ctx, user).await? else {
                return Ok(());
            };
            let Some(phone) = me.phone.clone() else {
                bot.send_message(chat, t::NO_PHONE).await?;
                return Ok(());
            };
            let bytes = download(ctx, file_id).await?;
            let kind: &'static str = if kind == "invoice" {
                "invoice"
            } else {
                "quote"
            };
            let lead = ctx
                .api
                .create_lead(
                    user,
                    &format!("tg-{kind}-{user}-{}", msg.id.0),
                    &NewLead {
                        kind,
                        name: me.first_name.clone(),
                        phone: Some(phone),
                        payload: serde_json::json!({"comment": msg.caption().map(clip)}),
                    },
                )
                .await?;
            ctx.api.attach(&lead, &name, bytes).await?;
            save(
                dialogue,
                State {
                    step: Step::Idle,
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::file_lead_created(kind, lead.id))
                .await?;
        }
        Step::AwaitOrderNumber => {
            let Some(number) = text.filter(|s| !s.is_empty() && s.chars().count() <= 64) else {
                bot.send_message(chat, t::ASK_ORDER_NUMBER).await?;
                return Ok(());
            };
            let Some((_, client)) = linked(bot, chat, ctx, user).await? else {
                return Ok(());
            };
            let answer = match ctx.api.shipments(user, client, number).await? {
                Some(o) => t::shipments(&o),
                None => t::order_not_found(number),
            };
            save(
                dialogue,
                State {
                    step: Step::Idle,
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, answer).await?;
        }
        Step::Idle => match text {
            Some(q) if !q.is_empty() => {
                if linked(bot, chat, ctx, user).await?.is_some() {
                    search(bot, chat, ctx, q).await?;
                }
            }
            _ => {
                bot.send_message(chat, t::HELP).await?;
            }
        },
    }
    Ok(())
}

fn clip(s: &str) -> String {
    s.trim().chars().take(MAX_TEXT).collect()
}

fn is_menu_button(text: &str) -> bool {
    [
        t::BTN_PARK,
        t::BTN_SOS,
        t::BTN_TICKETS,
        t::BTN_KB,
        t::BTN_SPEND,
        t::BTN_PROJECTS,
        t::BTN_OFFERS,
        t::BTN_QUOTE,
        t::BTN_INVOICE,
        t::BTN_SHIPMENT,
        t::BTN_CART,
        t::BTN_CATALOG,
    ]
    .contains(&text)
}

async fn download(ctx: &Ctx, file_id: FileId) -> Res<Vec<u8>> {
    let file = ctx.plain.get_file(file_id).await?;
    let mut buf = Vec::with_capacity(file.size as usize);
    ctx.plain.download_file(&file.path, &mut buf).await?;
    Ok(buf)
}

async fn send_sos_summary(
    bot: &Tg,
    chat: ChatId,
    machine: &str,
    description: &str,
    photos: usize,
) -> Res {
    let row: Vec<InlineKeyboardButton> = [
        button(t::SOS_SEND_BUTTON, &Cb::SosSend),
        button(t::SOS_CANCEL_BUTTON, &Cb::SosCancel),
    ]
    .into_iter()
    .flatten()
    .collect();
    bot.send_message(chat, t::sos_summary(machine, description, photos))
        .reply_markup(InlineKeyboardMarkup::new([row]))
        .await?;
    Ok(())
}

/// The settings screen: one button per kind, one for quiet hours; pressing one edits the
/// message in place.
async fn send_notification_settings(
    bot: &Tg,
    chat: ChatId,
    s: &crate::api::NotificationSettings,
    edit: Option<MessageId>,
) -> Res {
    let mut rows: Vec<Vec<InlineKeyboardButton>> = s
        .kinds
        .iter()
        .enumerate()
        .filter_map(|(i, k)| button(t::notification_button(k), &Cb::NotifyToggle(i as u8)))
        .map(|b| vec![b])
        .collect();
    let quiet_on = s.quiet_hours.is_some();
    rows.extend(button(t::quiet_button(quiet_on), &Cb::Quiet(!quiet_on)).map(|b| vec![b]));
    let text = t::notification_settings(s);
    match edit {
        Some(id) => {
            bot.edit_message_text(chat, id, text)
                .reply_markup(InlineKeyboardMarkup::new(rows))
                .await?;
        }
        None => {
            bot.send_message(chat, text)
                .reply_markup(InlineKeyboardMarkup::new(rows))
                .await?;
        }
    }
    Ok(())
}

async fn search(bot: &Tg, chat: ChatId, ctx: &Ctx, q: &str) -> Res {
    let q: String = q.chars().take(200).collect();
    let found = ctx.api.search(&q, SEARCH_HITS).await?;
    let rows: Vec<Vec<InlineKeyboardButton>> = found
        .hits
        .iter()
        .filter_map(|h| button(format!("🛒 В корзину: {}", h.sku), &Cb::Cart(h.id.clone())))
        .map(|b| vec![b])
        .collect();
    bot.send_message(chat, t::search_results(&q, found.total, &found.hits))
        .reply_markup(InlineKeyboardMarkup::new(rows))
        .await?;
    Ok(())
}

async fn on_menu_button(
    bot: &Tg,
    dialogue: &BotDialogue,
    state: State,
    _msg: &Message,
    ctx: &Ctx,
    user: i64,
    text: &str,
) -> Res {
    let chat = _msg.chat.id;
    let Some((me, client)) = linked(bot, chat, ctx, user).await? else {
        return Ok(());
    };
    match text {
        t::BTN_PARK => send_park(bot, chat, ctx, user, client, 0, None).await?,
        t::BTN_SOS => {
            let park = ctx.api.park(user, client).await?;
            if park.machines.is_empty() {
                bot.send_message(chat, t::SOS_NO_MACHINES).await?;
                return Ok(());
            }
            let rows: Vec<Vec<InlineKeyboardButton>> = park
                .machines
                .iter()
                .take(50)
                .filter_map(|m| button(t::machine_label(m), &Cb::SosMachine(m.id)))
                .map(|b| vec![b])
                .collect();
            bot.send_message(chat, t::SOS_PICK_MACHINE)
                .reply_markup(InlineKeyboardMarkup::new(rows))
                .await?;
        }
        t::BTN_TICKETS => {
            let list = ctx.api.tickets(user, client).await?;
            bot.send_message(chat, t::tickets(&list)).await?;
        }
        t::BTN_KB => {
            let docs = ctx.api.documents(user, client).await?;
            let rows: Vec<Vec<InlineKeyboardButton>> = docs
                .iter()
                .take(50)
                .filter_map(|d| button(format!("📄 {}", d.title), &Cb::Doc(d.id)))
                .map(|b| vec![b])
                .collect();
            bot.send_message(chat, t::documents(&docs))
                .reply_markup(InlineKeyboardMarkup::new(rows))
                .await?;
        }
        t::BTN_SPEND => {
            // Ask the server first, so a user who may not see spend learns it now.
            let s = ctx.api.spend(user, client, "month").await?;
            let row: Vec<InlineKeyboardButton> = [
                button("Месяц", &Cb::Spend("month")),
                button("Квартал", &Cb::Spend("quarter")),
                button("Год", &Cb::Spend("year")),
            ]
            .into_iter()
            .flatten()
            .collect();
            bot.send_message(chat, t::spend(&s))
                .reply_markup(InlineKeyboardMarkup::new([row]))
                .await?;
        }
        t::BTN_PROJECTS => {
            let list = ctx.api.projects(user, client).await?;
            bot.send_message(chat, t::projects(&list)).await?;
        }
        t::BTN_OFFERS => {
            let list = ctx.api.offers(user, client).await?;
            let rows: Vec<Vec<InlineKeyboardButton>> = list
                .iter()
                .filter_map(|o| {
                    let id = o.item_id.clone()?;
                    button(
                        format!("🛒 В корзину: {}", o.item_sku.clone().unwrap_or_default()),
                        &Cb::Cart(id),
                    )
                })
                .map(|b| vec![b])
                .collect();
            bot.send_message(chat, t::offers(&list))
                .reply_markup(InlineKeyboardMarkup::new(rows))
                .await?;
        }
        t::BTN_QUOTE | t::BTN_INVOICE => {
            let (kind, ask) = if text == t::BTN_INVOICE {
                ("invoice", t::ASK_FILE_INVOICE)
            } else {
                ("quote", t::ASK_FILE_QUOTE)
            };
            save(
                dialogue,
                State {
                    step: Step::AwaitFile { kind: kind.into() },
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, ask).await?;
        }
        t::BTN_SHIPMENT => {
            save(
                dialogue,
                State {
                    step: Step::AwaitOrderNumber,
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::ASK_ORDER_NUMBER).await?;
        }
        t::BTN_CART => send_cart(bot, chat, &state).await?,
        t::BTN_CATALOG => {
            let mut req = bot.send_message(chat, t::SEARCH_HINT);
            if let Some(url) = &ctx.mini_app_url {
                req = req.reply_markup(InlineKeyboardMarkup::new([[
                    InlineKeyboardButton::web_app(
                        "Открыть каталог",
                        WebAppInfo { url: url.clone() },
                    ),
                ]]));
            }
            req.await?;
        }
        _ => send_menu(bot, chat, &me, ctx).await?,
    }
    Ok(())
}

async fn send_cart(bot: &Tg, chat: ChatId, state: &State) -> Res {
    let mut req = bot.send_message(chat, t::cart(&state.cart, state.cart_total()));
    if !state.cart.is_empty() {
        let row: Vec<InlineKeyboardButton> = [
            button(t::CHECKOUT_BUTTON, &Cb::Checkout),
            button(t::CLEAR_CART_BUTTON, &Cb::ClearCart),
        ]
        .into_iter()
        .flatten()
        .collect();
        req = req.reply_markup(InlineKeyboardMarkup::new([row]));
    }
    req.await?;
    Ok(())
}

/// Shows a page of the park: a new message, or an edit of the one whose button was pressed.
async fn send_park(
    bot: &Tg,
    chat: ChatId,
    ctx: &Ctx,
    user: i64,
    client: i64,
    page: u32,
    edit: Option<MessageId>,
) -> Res {
    let park = ctx.api.park(user, client).await?;
    let (text, page, pages) = t::park_page(&park.company, &park.machines, page as usize);
    let mut row = Vec::new();
    if page > 0 {
        row.extend(button("◀ Назад", &Cb::Park(page as u32 - 1)));
    }
    if page + 1 < pages {
        row.extend(button("Вперёд ▶", &Cb::Park(page as u32 + 1)));
    }
    let markup = InlineKeyboardMarkup::new([row]);
    match edit {
        Some(id) => {
            bot.edit_message_text(chat, id, text)
                .reply_markup(markup)
                .await?;
        }
        None => {
            bot.send_message(chat, text).reply_markup(markup).await?;
        }
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn on_contact(
    bot: &Tg,
    dialogue: &BotDialogue,
    state: State,
    msg: &Message,
    ctx: &Ctx,
    user: i64,
    contact: &teloxide::types::Contact,
) -> Res {
    let chat = msg.chat.id;
    // Only the user's own number links them: a forwarded contact of someone else would
    // otherwise give access to that person's company.
    if contact.user_id.map(|u| u.0 as i64) != Some(user) {
        bot.send_message(chat, t::NOT_OWN_CONTACT)
            .reply_markup(phone_keyboard())
            .await?;
        return Ok(());
    }
    let from = msg.from.as_ref();
    let link = ctx
        .api
        .link(
            user,
            &contact.phone_number,
            &from.map(|u| u.full_name()).unwrap_or_default(),
            from.and_then(|u| u.username.as_deref()),
        )
        .await?;
    if link.client_id.is_none() {
        save(
            dialogue,
            State {
                step: Step::Idle,
                ..state
            },
        )
        .await?;
        bot.send_message(chat, t::UNKNOWN_CLIENT)
            .reply_markup(InlineKeyboardMarkup::new([button(
                t::CALL_ME_BUTTON,
                &Cb::CallMe,
            )
            .into_iter()
            .collect::<Vec<_>>()]))
            .await?;
        return Ok(());
    }
    save(
        dialogue,
        State {
            step: Step::Idle,
            ..state
        },
    )
    .await?;
    let me = Me {
        telegram_id: user,
        client_id: link.client_id,
        company: link.company,
        role: link.role,
        phone: None,
        first_name: String::new(),
    };
    send_menu(bot, chat, &me, ctx).await
}

/// Entry point for inline-button presses.
pub async fn on_callback(
    bot: Tg,
    dialogue: BotDialogue,
    state: State,
    q: CallbackQuery,
    ctx: Arc<Ctx>,
) -> HandlerResult {
    let chat = dialogue.chat_id();
    let user = q.from.id.0 as i64;
    // Always answer, so the client stops its spinner, whatever happens next.
    let answered = bot.answer_callback_query(q.id.clone()).await;
    if let Err(e) = answered {
        tracing::warn!(error = %e, "answerCallbackQuery failed");
    }
    let message = q.message.as_ref().map(|m| m.id());
    let Some(cb) = q.data.as_deref().and_then(Cb::parse) else {
        tracing::warn!(chat = chat.0, data = ?q.data, "unknown callback data");
        bot.send_message(chat, t::UNKNOWN_BUTTON).await?;
        return Ok(());
    };
    if let Err(e) = handle_callback(&bot, &dialogue, state, &ctx, user, chat, message, cb).await {
        report(&bot, chat, e).await;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn handle_callback(
    bot: &Tg,
    dialogue: &BotDialogue,
    state: State,
    ctx: &Ctx,
    user: i64,
    chat: ChatId,
    message: Option<MessageId>,
    cb: Cb,
) -> Res {
    if cb == Cb::CallMe {
        let me = ctx.api.me(user).await?;
        let Some(phone) = me.and_then(|m| m.phone) else {
            bot.send_message(chat, t::NEED_START).await?;
            return Ok(());
        };
        save(
            dialogue,
            State {
                step: Step::CallbackComment { phone },
                ..state
            },
        )
        .await?;
        bot.send_message(chat, t::ASK_CALLBACK_COMMENT).await?;
        return Ok(());
    }
    let Some((me, client)) = linked(bot, chat, ctx, user).await? else {
        return Ok(());
    };
    match cb {
        Cb::CallMe => {}
        Cb::Park(page) => send_park(bot, chat, ctx, user, client, page, message).await?,
        Cb::SosMachine(id) => {
            // The machine must be in the user's own park (the server checks again on submit).
            let park = ctx.api.park(user, client).await?;
            let Some(m) = park.machines.iter().find(|m| m.id == id) else {
                bot.send_message(chat, t::UNKNOWN_BUTTON).await?;
                return Ok(());
            };
            let machine = t::machine_label(m);
            save(
                dialogue,
                State {
                    step: Step::SosDescribe {
                        machine_id: id,
                        machine: machine.clone(),
                    },
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::sos_ask_description(&machine))
                .await?;
        }
        Cb::SosSend => {
            let Step::SosConfirm {
                machine_id,
                description,
                photos,
                key,
                ..
            } = state.step.clone()
            else {
                bot.send_message(chat, t::UNKNOWN_BUTTON).await?;
                return Ok(());
            };
            let lead = ctx
                .api
                .create_lead(
                    user,
                    &key,
                    &NewLead {
                        kind: "sos",
                        name: me.first_name.clone(),
                        phone: me.phone.clone(),
                        payload: serde_json::json!({
                            "machine_instance_id": machine_id,
                            "description": description,
                        }),
                    },
                )
                .await?;
            for (i, p) in photos.iter().enumerate() {
                let bytes = download(ctx, FileId(p.clone())).await?;
                ctx.api
                    .attach(&lead, &format!("sos-{}.jpg", i + 1), bytes)
                    .await?;
            }
            save(
                dialogue,
                State {
                    step: Step::Idle,
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::sos_created(lead.ticket_id, lead.id))
                .await?;
        }
        Cb::SosCancel => {
            save(
                dialogue,
                State {
                    step: Step::Idle,
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::CANCELLED).await?;
        }
        Cb::NotifyToggle(i) => {
            let s = ctx.api.notification_settings(user).await?;
            let Some(k) = s.kinds.get(i as usize) else {
                bot.send_message(chat, t::UNKNOWN_BUTTON).await?;
                return Ok(());
            };
            let change = serde_json::json!({"kinds": {k.kind.clone(): !k.enabled}});
            let s = ctx.api.update_notifications(user, &change).await?;
            send_notification_settings(bot, chat, &s, message).await?;
        }
        Cb::Quiet(on) => {
            let hours = on.then(|| serde_json::json!({"from": t::QUIET_FROM, "to": t::QUIET_TO}));
            let change = serde_json::json!({ "quiet_hours": hours });
            let s = ctx.api.update_notifications(user, &change).await?;
            send_notification_settings(bot, chat, &s, message).await?;
        }
        Cb::Spend(period) => {
            let s = ctx.api.spend(user, client, period).await?;
            bot.send_message(chat, t::spend(&s)).await?;
        }
        Cb::Doc(id) => {
            let docs = ctx.api.documents(user, client).await?;
            let Some(d) = docs.into_iter().find(|d| d.id == id) else {
                bot.send_message(chat, t::UNKNOWN_BUTTON).await?;
                return Ok(());
            };
            let bytes = ctx.api.document_file(user, client, id).await?;
            bot.send_document(chat, InputFile::memory(bytes).file_name(d.file_name))
                .caption(d.title)
                .await?;
        }
        Cb::Cart(id) => {
            let item = match ctx.api.item(&id).await {
                Ok(item) => item,
                Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => {
                    bot.send_message(chat, "Этой позиции больше нет в каталоге.")
                        .await?;
                    return Ok(());
                }
                Err(e) => return Err(e.into()),
            };
            let mut state = state;
            let sku = if item.sku.is_empty() {
                item.id.clone()
            } else {
                item.sku.clone()
            };
            let added = state.add_to_cart(CartLine {
                catalog_id: item.id,
                sku: sku.clone(),
                name: item.name,
                price_rub: item.price_rub,
                qty: 1,
            });
            let lines = state.cart.len();
            save(dialogue, state).await?;
            let text = if added {
                t::added_to_cart(&sku, lines)
            } else {
                t::CART_FULL.to_string()
            };
            bot.send_message(chat, text).await?;
        }
        Cb::Checkout => {
            if state.cart.is_empty() {
                bot.send_message(chat, t::CART_EMPTY).await?;
                return Ok(());
            }
            let lines: Vec<serde_json::Value> = state
                .cart
                .iter()
                .map(|l| {
                    serde_json::json!({"catalog_id": l.catalog_id, "qty": l.qty, "price_rub": l.price_rub})
                })
                .collect();
            // The key names this checkout of this cart: a redelivered press orders once, and
            // the next order (after `orders` moves on) gets a new key.
            let key = format!(
                "tg-cart-{user}-{}-{}",
                state.orders,
                hex_digest(&serde_json::to_vec(&lines).unwrap_or_default())
            );
            let lead = ctx
                .api
                .create_lead(
                    user,
                    &key,
                    &NewLead {
                        kind: "cart",
                        name: me.first_name.clone(),
                        phone: me.phone.clone(),
                        payload: serde_json::json!({"lines": lines}),
                    },
                )
                .await?;
            save(
                dialogue,
                State {
                    step: Step::Idle,
                    cart: vec![],
                    orders: state.orders + 1,
                },
            )
            .await?;
            bot.send_message(chat, t::order_created(lead.id)).await?;
        }
        Cb::ClearCart => {
            save(
                dialogue,
                State {
                    cart: vec![],
                    ..state
                },
            )
            .await?;
            bot.send_message(chat, t::CART_CLEARED).await?;
        }
    }
    Ok(())
}

fn hex_digest(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .take(12)
        .map(|b| format!("{b:02x}"))
        .collect()
}
