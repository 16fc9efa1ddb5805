//! Sign-in outside Telegram for the field engineers' PWA (see `leads::sessions`):
//! - `POST /api/v1/auth/login-links`: the bot (service token + `X-Telegram-User-Id`) or the
//!   Mini App (`initData`) asks for a one-time link for its user;
//! - `POST /api/v1/auth/session`: the browser exchanges the link's token for a session cookie;
//! - `POST /api/v1/auth/logout`: ends that session;
//! - `POST /api/v1/admin/telegram-users/{telegram_id}/sessions/revoke`: an operator signs a
//!   lost phone out.

use super::error::{invalid, ApiError, ErrorBody};
use super::lead_routes::{leads_state, session_cookie, telegram_caller, SESSION_COOKIE};
use super::{require_admin, ApiJson, AppState, StatusBody};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use leads::{sessions, TelegramId};
use serde::{Deserialize, Serialize};

/// A one-time sign-in link.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct LoginLink {
    /// Opens the PWA and signs its user in; works once.
    url: String,
    expires_in_secs: i64,
}

/// Ask for a one-time sign-in link for the calling Telegram user (linked to a client).
#[utoipa::path(post, path = "/api/v1/auth/login-links", operation_id = "createLoginLink", tag = "auth",
    security(("telegramInitData" = []), ("botService" = [])),
    params(("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 201, description = "Ссылка для входа", body = LoginLink),
              (status = 400, description = "Неверный заголовок", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Пользователь не привязан к клиенту", body = ErrorBody)))]
pub(super) async fn create_login_link(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<LoginLink>), ApiError> {
    let ls = leads_state(&state)?;
    // A session may not mint further links: only Telegram itself vouches for a new device.
    if headers.get(header::AUTHORIZATION).is_none() {
        return Err(ApiError::Unauthorized);
    }
    let user = telegram_caller(ls, &headers)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    let token = sessions::create_link(&ls.pool, user, sessions::LINK_TTL_SECS).await?;
    Ok((
        StatusCode::CREATED,
        Json(LoginLink {
            url: format!("{}/app/login#token={token}", state.site.base(&headers)),
            expires_in_secs: sessions::LINK_TTL_SECS,
        }),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionRequest {
    /// The token from the sign-in link.
    #[schema(min_length = 1, max_length = 128)]
    token: String,
}

fn cookie(state: &AppState, value: &str, max_age: i64) -> HeaderValue {
    let secure = if state.site.is_https() {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("cookie text is ASCII")
}

/// Exchange a sign-in link's token for a session (an `HttpOnly` cookie); the link then no
/// longer works.
#[utoipa::path(post, path = "/api/v1/auth/session", operation_id = "createSession", tag = "auth",
    request_body = SessionRequest,
    responses((status = 200, description = "Вход выполнен", body = leads::portal::Me),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Ссылка недействительна, устарела или уже использована", body = ErrorBody)))]
pub(super) async fn create_session(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SessionRequest>,
) -> Result<Response, ApiError> {
    let ls = leads_state(&state)?;
    if req.token.is_empty() || req.token.len() > 128 {
        return Err(invalid("token", "ожидается код из ссылки"));
    }
    let ua = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let (session, user) =
        sessions::exchange(&ls.pool, &req.token, ua, sessions::SESSION_TTL_SECS).await?;
    let me = leads::portal::me(&ls.pool, user)
        .await?
        .ok_or_else(|| ApiError::NotFound("пользователь Telegram".into()))?;
    let mut res = Json(me).into_response();
    res.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&state, &session, sessions::SESSION_TTL_SECS),
    );
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// End the current site session.
#[utoipa::path(post, path = "/api/v1/auth/logout", operation_id = "logout", tag = "auth",
    responses((status = 200, description = "Сеанс завершён", body = StatusBody)))]
pub(super) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let ls = leads_state(&state)?;
    if let Some(token) = session_cookie(&headers) {
        sessions::revoke(&ls.pool, token).await?;
    }
    let mut res = Json(StatusBody { status: "ok" }).into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0));
    Ok(res)
}

/// How many sessions were ended.
#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Revoked {
    revoked: u64,
}

/// An operator ends every site session of a Telegram user (a lost phone) and voids their
/// unused sign-in links.
#[utoipa::path(post, path = "/api/v1/admin/telegram-users/{telegram_id}/sessions/revoke", operation_id = "revokeSessions", tag = "admin",
    security(("adminToken" = [])),
    params(("telegram_id" = i64, Path)),
    responses((status = 200, description = "Сеансы завершены", body = Revoked),
              (status = 400, description = "Неверный id", body = ErrorBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody)))]
pub(super) async fn revoke_sessions(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(telegram_id): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    require_admin(&state, &headers)?;
    let id = telegram_id
        .parse::<TelegramId>()
        .ok()
        .filter(|id| id.0 > 0)
        .ok_or_else(|| invalid("telegram_id", "ожидается id пользователя Telegram"))?;
    let ls = leads_state(&state)?;
    Ok(Json(Revoked {
        revoked: sessions::revoke_all(&ls.pool, id).await?,
    }))
}
