//! Notification settings of the Telegram user the bot (or Mini App) speaks for, and the
//! operator routes that record shipments and their events by hand.

use super::error::{invalid, ApiError, ErrorBody};
use super::lead_routes::{leads_state, telegram_caller};
use super::{ApiJson, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::{Deserialize, Serialize};

async fn caller(state: &AppState, headers: &HeaderMap) -> Result<leads::TelegramId, ApiError> {
    let ls = leads_state(state)?;
    telegram_caller(ls, headers)
        .await?
        .ok_or(ApiError::Unauthorized)
}

/// Which notifications the caller receives, and their quiet hours (Moscow time).
#[utoipa::path(get, path = "/api/v1/telegram/notifications", operation_id = "notificationSettings", tag = "clients",
    security(("telegramInitData" = []), ("botService" = [])),
    params(("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Настройки", body = leads::notify::Settings),
              (status = 400, description = "Неверный заголовок", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 404, description = "Пользователь не найден", body = ErrorBody)))]
pub(super) async fn get_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<leads::notify::Settings>, ApiError> {
    let user = caller(&state, &headers).await?;
    let ls = leads_state(&state)?;
    Ok(Json(leads::notify::settings(&ls.pool, user).await?))
}

/// Switches kinds on or off and sets or clears quiet hours; answers the new settings.
#[utoipa::path(put, path = "/api/v1/telegram/notifications", operation_id = "updateNotificationSettings", tag = "clients",
    security(("telegramInitData" = []), ("botService" = [])),
    params(("X-Telegram-User-Id" = Option<i64>, Header)),
    request_body = leads::notify::SettingsChange,
    responses((status = 200, description = "Настройки", body = leads::notify::Settings),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 404, description = "Пользователь не найден", body = ErrorBody)))]
pub(super) async fn put_settings(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiJson(change): ApiJson<leads::notify::SettingsChange>,
) -> Result<Json<leads::notify::Settings>, ApiError> {
    let user = caller(&state, &headers).await?;
    let ls = leads_state(&state)?;
    Ok(Json(
        leads::notify::update_settings(&ls.pool, user, &change).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewShipment {
    /// The order's number (`CRM-…` for amoCRM deals).
    #[schema(max_length = 64)]
    order: String,
    /// `cdek` is polled; any other name is tracked by hand.
    #[schema(max_length = 32)]
    carrier: String,
    #[schema(max_length = 64)]
    tracking_no: Option<String>,
    #[schema(format = Date)]
    eta: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct Created {
    id: i64,
}

/// An operator records a shipment of an order.
#[utoipa::path(post, path = "/api/v1/admin/shipments", operation_id = "addShipment", tag = "admin",
    security(("adminToken" = [])),
    request_body = NewShipment,
    responses((status = 201, description = "Отгрузка создана", body = Created),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody),
              (status = 404, description = "Заказ не найден", body = ErrorBody)))]
pub(super) async fn add_shipment(
    State(state): State<AppState>,
    _: super::Admin,
    ApiJson(req): ApiJson<NewShipment>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let ls = leads_state(&state)?;
    let carrier = req.carrier.trim().to_lowercase();
    if carrier.is_empty() || carrier.chars().count() > 32 {
        return Err(invalid("carrier", "укажите перевозчика (до 32 символов)"));
    }
    let texts = [
        req.order.as_str(),
        &carrier,
        req.tracking_no.as_deref().unwrap_or(""),
    ];
    if texts.iter().any(|t| t.contains('\0'))
        || req
            .tracking_no
            .as_deref()
            .is_some_and(|t| t.chars().count() > 64)
    {
        return Err(invalid("tracking_no", "недопустимый номер"));
    }
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO shipments (order_id, carrier, tracking_no, eta)
         SELECT id, $2, nullif(btrim($3), ''), $4::date FROM orders WHERE upper(number) = upper($1)
         RETURNING id",
    )
    .bind(req.order.trim())
    .bind(&carrier)
    .bind(req.tracking_no.as_deref())
    .bind(req.eta.as_deref())
    .fetch_optional(&ls.pool)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(_) => invalid("eta", "ожидается дата YYYY-MM-DD"),
        e => ApiError::Internal(e.into()),
    })?;
    let id = id.ok_or_else(|| ApiError::NotFound("заказ".into()))?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct NewShipmentEvent {
    #[schema(schema_with = leads::schema::shipment_status)]
    status: String,
    #[serde(default)]
    #[schema(max_length = 200)]
    location: String,
    #[serde(default)]
    #[schema(max_length = 500)]
    description: String,
}

/// An operator adds a shipment event by hand (procurement is notified like for polled ones).
#[utoipa::path(post, path = "/api/v1/admin/shipments/{id}/events", operation_id = "addShipmentEvent", tag = "admin",
    security(("adminToken" = [])),
    params(("id" = i64, Path, minimum = 1)),
    request_body = NewShipmentEvent,
    responses((status = 201, description = "Событие добавлено", body = Created),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody),
              (status = 404, description = "Отгрузка не найдена", body = ErrorBody)))]
pub(super) async fn add_shipment_event(
    State(state): State<AppState>,
    _: super::Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<NewShipmentEvent>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let ls = leads_state(&state)?;
    let id = super::portal_routes::positive("id", &id)?;
    if req.location.chars().count() > 200 || req.description.chars().count() > 500 {
        return Err(invalid("description", "слишком длинный текст"));
    }
    if [&req.location, &req.description]
        .iter()
        .any(|t| t.contains('\0'))
    {
        return Err(invalid("description", "недопустимый символ"));
    }
    let event = leads::tracking::add_manual_event(
        &ls.pool,
        id,
        &req.status,
        req.location.trim(),
        req.description.trim(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id: event })))
}
