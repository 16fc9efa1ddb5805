//! Lead intake, attachments, the operators' sync list, the amoCRM webhook and the client park.
//!
//! Who may call what:
//! - `POST /api/v1/leads`, `POST /api/v1/leads/{id}/attachments`: anyone (the site's forms);
//!   a Mini App caller may add `Authorization: tma <initData>` to be recorded as the submitter.
//! - `GET /api/v1/leads?status=`: operators (`Authorization: Bearer ADMIN_TOKEN`).
//! - `GET /api/v1/leads/{id}/attachments/{sha256}?sig=`: links in amoCRM notes, signed with
//!   `LINK_SIGNING_KEY`.
//! - `POST /api/v1/webhooks/amocrm/{secret}`: amoCRM, with the secret from configuration.
//! - `GET /api/v1/clients/{id}/park`: that client's Telegram users (Mini App `initData`, or
//!   the bot's service token plus `X-Telegram-User-Id`), and operators.

use super::error::{invalid, ApiError, ErrorBody};
use super::limits::MAX_LIST_LIMIT;
use super::schema::FileBytes;
use super::{token_matches, ApiJson, ApiQuery, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use leads::{ClientId, LeadId, TelegramId};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::path::PathBuf;

/// Settings and handles of the lead routes.
#[derive(Clone)]
pub struct LeadsState {
    pub pool: PgPool,
    pub data_dir: PathBuf,
    /// Path secret of the amoCRM webhook (`None`: the webhook is off).
    pub webhook_secret: Option<String>,
    /// `account[subdomain]` webhooks must carry (`None`: not checked).
    pub amo_subdomain: Option<String>,
    /// Bot token for Mini App `initData` validation.
    pub bot_token: Option<String>,
    /// The bot's own token for calls on behalf of a Telegram user.
    pub bot_service_token: Option<String>,
    pub link_signing_key: Option<String>,
    pub max_attachment_bytes: usize,
    pub init_data_max_age_secs: i64,
    /// Rate limits and byte quotas of lead intake and uploads.
    pub limits: leads::limits::Limits,
    /// Reverse proxies in front of the server whose `X-Forwarded-For` entries are trusted
    /// (`TRUSTED_PROXY_HOPS`; 0: the peer address is the client's).
    pub trusted_proxy_hops: usize,
}

impl LeadsState {
    pub fn new(pool: PgPool, data_dir: PathBuf) -> LeadsState {
        LeadsState {
            pool,
            data_dir,
            webhook_secret: None,
            amo_subdomain: None,
            bot_token: None,
            bot_service_token: None,
            link_signing_key: None,
            max_attachment_bytes: leads::attachments::DEFAULT_MAX_BYTES,
            init_data_max_age_secs: 86_400,
            limits: leads::limits::Limits::default(),
            trusted_proxy_hops: 0,
        }
    }
}

pub(super) fn leads_state(state: &AppState) -> Result<&LeadsState, ApiError> {
    state.leads.as_deref().ok_or(ApiError::NoRoute)
}

/// The Telegram user a request speaks for, if it carries Mini App `initData`, the bot's
/// service token with a user id, or a site session cookie (the PWA). `Err` when it tries and
/// fails; an unknown or revoked session cookie counts as no credentials.
pub(super) async fn telegram_caller(
    ls: &LeadsState,
    headers: &HeaderMap,
) -> Result<Option<TelegramId>, ApiError> {
    let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return match session_cookie(headers) {
            Some(token) => Ok(leads::sessions::user_of(&ls.pool, token).await?),
            None => Ok(None),
        };
    };
    if let Some(init) = auth.strip_prefix("tma ") {
        let token = ls.bot_token.as_deref().ok_or(ApiError::Unauthorized)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or_default();
        let user =
            leads::auth::validate_init_data(init.trim(), token, now, ls.init_data_max_age_secs)?;
        return Ok(Some(user.id));
    }
    if let Some(bearer) = auth.strip_prefix("Bearer ") {
        if let Some(service) = ls.bot_service_token.as_deref() {
            if token_matches(bearer.trim().as_bytes(), service.as_bytes()) {
                let id = headers
                    .get("x-telegram-user-id")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<TelegramId>().ok())
                    .ok_or_else(|| invalid("X-Telegram-User-Id", "ожидается id пользователя"))?;
                return Ok(Some(id));
            }
        }
    }
    Ok(None)
}

/// Name of the site session cookie (`HttpOnly`, `SameSite=Strict`).
pub(super) const SESSION_COOKIE: &str = "stanok_session";

/// The site session token from the `Cookie` header, if any.
pub(super) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim())
}

pub(super) fn is_admin(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(expected) = state.admin_token.as_deref() else {
        return false;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| token_matches(t.trim().as_bytes(), expected.as_bytes()))
}

/// A stored file (by sha256 under `DATA_DIR`) as a download with its original name.
pub(super) async fn file_response(
    data_dir: &std::path::Path,
    sha256: &str,
    mime_type: String,
    file_name: &str,
) -> Result<Response, ApiError> {
    let bytes = tokio::fs::read(leads::attachments::path_for(data_dir, sha256))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let disposition = format!(
        "attachment; filename*=UTF-8''{}",
        serde_urlencoded::to_string([("f", file_name)])
            .unwrap_or_default()
            .trim_start_matches("f=")
    );
    Ok((
        [
            (header::CONTENT_TYPE, mime_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Submit a lead (cart order, SOS, invoice/quote request, callback). A repeat with the same
/// `Idempotency-Key` answers with the first lead.
#[utoipa::path(post, path = "/api/v1/leads", operation_id = "createLead", tag = "leads",
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 200)),
    request_body = leads::intake::LeadRequest,
    responses((status = 201, description = "Заявка принята (при повторе с тем же ключом — первая)", body = leads::intake::LeadView),
              (status = 400, description = "Неверная заявка", body = ErrorBody),
              (status = 401, description = "Неверные данные Mini App", body = ErrorBody),
              (status = 413, description = "Тело слишком большое", body = ErrorBody),
              (status = 422, description = "Ключ уже использован для другой заявки", body = ErrorBody),
              (status = 429, description = "Слишком много заявок с этого адреса или телефона (Retry-After)", body = ErrorBody)))]
pub(super) async fn create_lead(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    ApiJson(req): ApiJson<leads::intake::LeadRequest>,
) -> Result<Response, ApiError> {
    let ls = leads_state(&state)?;
    let telegram_id = telegram_caller(ls, &headers).await?;
    let l = &ls.limits;
    let who = caller_bucket(
        telegram_id,
        peer_of(&extensions),
        &headers,
        ls.trusted_proxy_hops,
    );
    leads::limits::hit(
        &ls.pool,
        &format!("lead:{who}"),
        l.leads_per_caller,
        l.window,
    )
    .await?;
    if let Some(phone) = req
        .contact
        .phone
        .as_deref()
        .and_then(|p| leads::Phone::parse(p).ok())
    {
        leads::limits::hit(
            &ls.pool,
            &format!("lead:phone:{}", phone.as_str()),
            l.leads_per_phone,
            l.window,
        )
        .await?;
    }
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| invalid("Idempotency-Key", "только ASCII"))?
                .to_string(),
        ),
    };
    let out = leads::intake::submit(
        &ls.pool,
        &req,
        key.as_deref(),
        leads::intake::Submitter { telegram_id },
    )
    .await?;
    let mut resp = (StatusCode::CREATED, Json(&out.lead)).into_response();
    if out.replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(resp)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct AttachParams {
    /// The file name to store; `file` when absent.
    #[param(max_length = 200)]
    name: Option<String>,
}

fn lead_id(raw: &str) -> Result<LeadId, ApiError> {
    raw.parse::<LeadId>()
        .ok()
        .filter(|id| id.0 > 0)
        .ok_or_else(|| invalid("id", "ожидается номер заявки"))
}

/// Attach a file (JPEG, PNG, WebP or PDF); the file is the raw request body, its name comes
/// from `?name=`.
#[utoipa::path(post, path = "/api/v1/leads/{id}/attachments", operation_id = "addAttachment", tag = "leads",
    params(("id" = i64, Path, minimum = 1), AttachParams,
           ("X-Upload-Token" = String, Header, description = "upload_token из ответа на создание заявки")),
    request_body(content = inline(FileBytes), content_type = "application/octet-stream"),
    responses((status = 201, description = "Файл сохранён", body = leads::attachments::Attachment),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нет X-Upload-Token", body = ErrorBody),
              (status = 403, description = "Токен не подходит или приём файлов закрыт", body = ErrorBody),
              (status = 404, description = "Нет такой заявки", body = ErrorBody),
              (status = 413, description = "Файл слишком большой", body = ErrorBody),
              (status = 415, description = "Неподдерживаемый тип файла", body = ErrorBody),
              (status = 429, description = "Слишком много загрузок (Retry-After)", body = ErrorBody)))]
pub(super) async fn add_attachment(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<AttachParams>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<leads::attachments::Attachment>), ApiError> {
    let ls = leads_state(&state)?;
    let id = lead_id(&id)?;
    // The bot uploads for all its users from one address; each lead's own cap bounds it.
    let from_bot = ls.bot_service_token.as_deref().is_some_and(|t| {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|p| token_matches(p.trim().as_bytes(), t.as_bytes()))
    });
    if !from_bot {
        let who = caller_bucket(None, peer_of(&extensions), &headers, ls.trusted_proxy_hops);
        leads::limits::hit(
            &ls.pool,
            &format!("upload:{who}"),
            ls.limits.uploads_per_caller,
            ls.limits.window,
        )
        .await?;
    }
    // The token is checked before a byte of the body is read.
    let token = headers
        .get("x-upload-token")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized)?;
    leads::attachments::may_upload(&ls.pool, id, token).await?;
    let body = axum::body::to_bytes(body, ls.max_attachment_bytes + 1)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;
    let a = leads::attachments::store(
        &ls.pool,
        &ls.data_dir,
        id,
        p.name.as_deref().unwrap_or("file"),
        &body,
        ls.max_attachment_bytes,
        &ls.limits,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(a)))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SigParams {
    /// The link's signature (HMAC with `LINK_SIGNING_KEY`).
    sig: Option<String>,
}

/// Download an attachment by a signed link from the CRM note.
#[utoipa::path(get, path = "/api/v1/leads/{id}/attachments/{sha256}", operation_id = "getAttachment", tag = "leads",
    params(("id" = i64, Path, minimum = 1), ("sha256" = String, Path), SigParams),
    responses((status = 200, description = "Файл", body = inline(FileBytes), content_type = "application/octet-stream"),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Неверная подпись", body = ErrorBody),
              (status = 404, description = "Нет файла", body = ErrorBody)))]
pub(super) async fn get_attachment(
    State(state): State<AppState>,
    Path((id, sha)): Path<(String, String)>,
    ApiQuery(p): ApiQuery<SigParams>,
) -> Result<Response, ApiError> {
    let ls = leads_state(&state)?;
    let id = lead_id(&id)?;
    let key = ls.link_signing_key.as_deref().ok_or(ApiError::NoRoute)?;
    let sig = p.sig.ok_or(ApiError::Unauthorized)?;
    if !token_matches(
        sig.as_bytes(),
        leads::attachments::link_signature(key, id, &sha).as_bytes(),
    ) {
        return Err(ApiError::Unauthorized);
    }
    let files = leads::attachments::list(&ls.pool, id).await?;
    let file = files
        .into_iter()
        .find(|a| a.sha256 == sha)
        .ok_or_else(|| ApiError::NotFound("файл".into()))?;
    file_response(&ls.data_dir, &file.sha256, file.mime_type, &file.file_name).await
}

/// The client's address: the peer's, or with `hops` trusted proxies in front the entry of
/// `X-Forwarded-For` the outermost of them appended (entries further left are the client's
/// word and are ignored).
pub(super) fn client_ip(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    hops: usize,
) -> String {
    if hops > 0 {
        let entries: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .collect();
        if entries.len() >= hops {
            if let Ok(ip) = entries[entries.len() - hops].parse::<std::net::IpAddr>() {
                return ip.to_string();
            }
        }
    }
    peer.map(|p| p.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The rate-limit identity of a caller: the Telegram user when there is one, else the address.
fn caller_bucket(
    telegram_id: Option<TelegramId>,
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
    hops: usize,
) -> String {
    match telegram_id {
        Some(id) => format!("tg:{id}"),
        None => format!("ip:{}", client_ip(peer, headers, hops)),
    }
}

fn peer_of(parts: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    parts
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The bot calling with its service token, checked from the headers alone (an extractor
/// before the body's, so a wrong caller's body is never read).
pub(super) struct BotService;

impl axum::extract::FromRequestParts<AppState> for BotService {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<BotService, ApiError> {
        let ls = leads_state(state)?;
        let service = ls
            .bot_service_token
            .as_deref()
            .ok_or(ApiError::Unauthorized)?;
        let ok = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| token_matches(t.trim().as_bytes(), service.as_bytes()));
        if ok {
            Ok(BotService)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}

/// Most rows one `GET /api/v1/leads` returns.

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct ListParams {
    #[param(schema_with = super::schema::param::lead_status)]
    status: Option<String>,
    #[param(schema_with = super::schema::param::list_limit)]
    limit: Option<String>,
}

/// Leads in one sync state, newest first.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LeadList {
    status: String,
    leads: Vec<leads::intake::SyncRow>,
}

/// Leads by sync state (operators).
#[utoipa::path(get, path = "/api/v1/leads", operation_id = "listLeads", tag = "leads", security(("adminToken" = [])),
    params(ListParams),
    responses((status = 200, description = "Заявки", body = LeadList),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нет токена", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody)))]
pub(super) async fn list_leads(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<LeadList>, ApiError> {
    super::require_admin(&state, &headers)?;
    let ls = leads_state(&state)?;
    let status = p.status.unwrap_or_else(|| "failed".into());
    let limit = match p.limit {
        None => 100,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_LIST_LIMIT).contains(l))
            .ok_or_else(|| invalid("limit", format!("от 1 до {MAX_LIST_LIMIT}")))?,
    };
    let leads = leads::intake::list_by_status(&ls.pool, &status, limit).await?;
    Ok(Json(LeadList { status, leads }))
}

/// What the webhook took in.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct WebhookAck {
    /// Status changes in the request.
    received: usize,
    /// Of those, the ones stored (not seen before).
    stored: u64,
}

/// amoCRM status-change webhook (digital passport).
#[utoipa::path(post, path = "/api/v1/webhooks/amocrm/{secret}", operation_id = "amocrmWebhook", tag = "leads",
    params(("secret" = String, Path)),
    request_body(content = inline(HashMap<String, String>), content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "Принято", body = WebhookAck),
              (status = 400, description = "Неверное тело", body = ErrorBody),
              (status = 403, description = "Чужой аккаунт", body = ErrorBody),
              (status = 404, description = "Неизвестный адрес", body = ErrorBody)))]
pub(super) async fn amocrm_webhook(
    State(state): State<AppState>,
    Path(secret): Path<String>,
    body: axum::body::Body,
) -> Result<Json<WebhookAck>, ApiError> {
    let ls = leads_state(&state)?;
    // A wrong secret looks like a missing route and stores nothing; the body is read only
    // after the secret matched.
    let expected = ls.webhook_secret.as_deref().ok_or(ApiError::NoRoute)?;
    if !token_matches(secret.as_bytes(), expected.as_bytes()) {
        return Err(ApiError::NoRoute);
    }
    let body: Bytes = axum::body::to_bytes(body, super::MAX_BODY_BYTES)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;
    let hook = leads::passport::parse_webhook(&body)?;
    if let Some(want) = ls.amo_subdomain.as_deref() {
        if hook.subdomain.as_deref() != Some(want) {
            return Err(ApiError::Forbidden("чужой аккаунт amoCRM".into()));
        }
    }
    let stored = leads::passport::store_events(&ls.pool, &hook).await?;
    Ok(Json(WebhookAck {
        received: hook.changes.len(),
        stored,
    }))
}

/// A client's machines and open tickets (Мой парк).
#[utoipa::path(get, path = "/api/v1/clients/{id}/park", operation_id = "clientPark", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path), ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Парк", body = leads::park::Park),
              (status = 400, description = "Неверный id", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Чужой клиент", body = ErrorBody),
              (status = 404, description = "Нет клиента", body = ErrorBody)))]
pub(super) async fn client_park(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<leads::park::Park>, ApiError> {
    let ls = leads_state(&state)?;
    let client_id = id
        .parse::<ClientId>()
        .map_err(|_| invalid("id", "ожидается номер клиента"))?;
    if !is_admin(&state, &headers) {
        let user = telegram_caller(ls, &headers)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let own = leads::park::client_of_telegram_user(&ls.pool, user).await?;
        if own != Some(client_id) {
            // Same answer whether the client exists or not.
            return Err(ApiError::Forbidden("это не ваш клиент".into()));
        }
    }
    Ok(Json(leads::park::park(&ls.pool, client_id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct LinkRequest {
    telegram_id: TelegramId,
    phone: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    first_name: String,
    #[serde(default)]
    username: Option<String>,
}

/// The bot links a Telegram user who shared their phone (bot service token only).
#[utoipa::path(post, path = "/api/v1/telegram/link", operation_id = "linkTelegram", tag = "clients",
    security(("botService" = [])),
    request_body = LinkRequest,
    responses((status = 200, description = "Привязка", body = leads::account::Link),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нужен токен бота", body = ErrorBody)))]
pub(super) async fn link_telegram(
    State(state): State<AppState>,
    _: BotService,
    ApiJson(req): ApiJson<LinkRequest>,
) -> Result<Json<leads::account::Link>, ApiError> {
    let ls = leads_state(&state)?;
    if req.first_name.chars().count() > 200 {
        return Err(invalid("first_name", "не длиннее 200 символов"));
    }
    Ok(Json(
        leads::account::link_telegram_user(
            &ls.pool,
            req.telegram_id,
            &req.phone,
            &req.first_name,
            req.username.as_deref(),
        )
        .await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct SpendParams {
    #[param(schema_with = super::schema::param::spend_period)]
    period: Option<String>,
    /// The day whose period is reported (`YYYY-MM-DD`); today in Moscow by default.
    #[param(value_type = Option<String>, format = Date)]
    today: Option<String>,
}

/// The director's spend for the current month / quarter / year against the previous one:
/// directors of that client and operators only.
#[utoipa::path(get, path = "/api/v1/clients/{id}/spend", operation_id = "clientSpend", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path), SpendParams, ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Расходы", body = leads::account::Spend),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody)))]
pub(super) async fn client_spend(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<SpendParams>,
) -> Result<Json<leads::account::Spend>, ApiError> {
    let ls = leads_state(&state)?;
    let client_id = id
        .parse::<ClientId>()
        .map_err(|_| invalid("id", "ожидается номер клиента"))?;
    if !is_admin(&state, &headers) {
        let user = telegram_caller(ls, &headers)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        match leads::account::role_of(&ls.pool, user).await? {
            Some((client, role))
                if client == client_id && role == leads::portal::Role::Director => {}
            Some((client, _)) if client == client_id => {
                return Err(ApiError::Forbidden("расходы видит директор".into()))
            }
            _ => return Err(ApiError::Forbidden("это не ваш клиент".into())),
        }
    }
    let period = p.period.unwrap_or_else(|| "month".into());
    Ok(Json(
        leads::account::spend(&ls.pool, client_id, &period, p.today.as_deref()).await?,
    ))
}

/// Which failed items to requeue; all of them when `ids` is absent.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RequeueRequest {
    ids: Option<Vec<i64>>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Requeued {
    requeued: u64,
}

/// Requeue `failed` leads (after amoCRM rejected them and someone fixed the cause); they resume
/// from their last completed step.
#[utoipa::path(post, path = "/api/v1/admin/leads/requeue", operation_id = "requeueLeads", tag = "leads", security(("adminToken" = [])),
    request_body = RequeueRequest,
    responses((status = 200, description = "Поставлено в очередь", body = Requeued),
              (status = 401, description = "Нет токена", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody)))]
pub(super) async fn requeue_leads(
    State(state): State<AppState>,
    _: super::Admin,
    ApiJson(req): ApiJson<RequeueRequest>,
) -> Result<Json<Requeued>, ApiError> {
    let ls = leads_state(&state)?;
    let n = leads::sync::SyncWorker::requeue_failed(&ls.pool, req.ids.as_deref()).await?;
    tracing::info!(requeued = n, "failed leads requeued by an operator");
    Ok(Json(Requeued { requeued: n }))
}

/// Requeue won-deal webhook events that `failed` or wait in `review`.
#[utoipa::path(post, path = "/api/v1/admin/crm-events/requeue", operation_id = "requeueCrmEvents", tag = "leads", security(("adminToken" = [])),
    request_body = RequeueRequest,
    responses((status = 200, description = "Поставлено в очередь", body = Requeued),
              (status = 401, description = "Нет токена", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody)))]
pub(super) async fn requeue_crm_events(
    State(state): State<AppState>,
    _: super::Admin,
    ApiJson(req): ApiJson<RequeueRequest>,
) -> Result<Json<Requeued>, ApiError> {
    let ls = leads_state(&state)?;
    let n = leads::passport::requeue(&ls.pool, req.ids.as_deref()).await?;
    tracing::info!(requeued = n, "won-deal events requeued by an operator");
    Ok(Json(Requeued { requeued: n }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_address_comes_from_trusted_hops_only() {
        let peer = Some("10.0.0.2".parse().unwrap());
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.1.1.1, 203.0.113.9"),
        );
        // No proxy trusted: the header is the client's word, ignored.
        assert_eq!(client_ip(peer, &h, 0), "10.0.0.2");
        // One proxy (Traefik) in front: the entry it appended, not the forgeable one left of it.
        assert_eq!(client_ip(peer, &h, 1), "203.0.113.9");
        assert_eq!(client_ip(peer, &h, 2), "1.1.1.1");
        // Fewer entries than trusted hops, or garbage: the peer.
        assert_eq!(client_ip(peer, &h, 3), "10.0.0.2");
        h.insert("x-forwarded-for", HeaderValue::from_static("not-an-ip"));
        assert_eq!(client_ip(peer, &h, 1), "10.0.0.2");
        assert_eq!(client_ip(None, &HeaderMap::new(), 0), "unknown");
    }
}
