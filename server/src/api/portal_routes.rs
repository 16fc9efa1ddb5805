//! The customer portal the bot and the Mini App read: who the caller is, service tickets with
//! history, projects, offers, shipments and the knowledge base — each scoped to the caller's
//! own client and role — plus the operator routes that feed them (roles, ticket status,
//! documents).
//!
//! Access, per route (operators with `ADMIN_TOKEN` may read any client):
//! - tickets: every user of the client;
//! - documents: engineers and directors;
//! - projects, offers: directors;
//! - shipments: procurement and directors.

use super::error::{invalid, ApiError, ErrorBody};
use super::lead_routes::{file_response, is_admin, leads_state, telegram_caller};
use super::schema::FileBytes;
use super::{require_admin, ApiJson, ApiQuery, AppState};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use leads::portal::Role;
use leads::{ClientId, TelegramId};
use serde::{Deserialize, Serialize};

/// Passes when the caller is an operator or a Telegram user of `client_id` with one of `roles`.
async fn client_access(
    state: &AppState,
    headers: &HeaderMap,
    client_id: ClientId,
    roles: &[Role],
) -> Result<(), ApiError> {
    if is_admin(state, headers) {
        return Ok(());
    }
    let ls = leads_state(state)?;
    let user = telegram_caller(ls, headers)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    match leads::account::role_of(&ls.pool, user).await? {
        Some((client, role)) if client == client_id => {
            if roles.contains(&role) {
                Ok(())
            } else {
                let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
                Err(ApiError::Forbidden(format!(
                    "раздел доступен ролям: {}",
                    names.join(", ")
                )))
            }
        }
        // Same answer whether the client exists or not.
        _ => Err(ApiError::Forbidden("это не ваш клиент".into())),
    }
}

fn client_id(raw: &str) -> Result<ClientId, ApiError> {
    raw.parse::<ClientId>()
        .ok()
        .filter(|id| id.0 > 0)
        .ok_or_else(|| invalid("id", "ожидается номер клиента"))
}

pub(super) fn positive(field: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| invalid(field, "ожидается положительное целое число"))
}

/// The Telegram user the bot (or Mini App) speaks for: client, company, role.
#[utoipa::path(get, path = "/api/v1/telegram/me", operation_id = "telegramMe", tag = "clients",
    security(("telegramInitData" = []), ("botService" = [])),
    params(("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Пользователь", body = leads::portal::Me),
              (status = 400, description = "Неверный заголовок", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 404, description = "Пользователь не найден", body = ErrorBody)))]
pub(super) async fn telegram_me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<leads::portal::Me>, ApiError> {
    let ls = leads_state(&state)?;
    let user = telegram_caller(ls, &headers)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    leads::portal::me(&ls.pool, user)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("пользователь Telegram".into()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleRequest {
    #[schema(schema_with = leads::schema::role)]
    role: String,
}

/// An operator assigns a role to a linked Telegram user.
#[utoipa::path(post, path = "/api/v1/admin/telegram-users/{telegram_id}/role", operation_id = "setTelegramRole", tag = "admin",
    security(("adminToken" = [])),
    params(("telegram_id" = i64, Path)),
    request_body = RoleRequest,
    responses((status = 200, description = "Роль назначена", body = leads::portal::Me),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody),
              (status = 404, description = "Пользователь не найден", body = ErrorBody)))]
pub(super) async fn set_role(
    State(state): State<AppState>,
    _: super::Admin,
    Path(telegram_id): Path<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<leads::portal::Me>, ApiError> {
    let ls = leads_state(&state)?;
    let id = telegram_id
        .parse::<TelegramId>()
        .map_err(|_| invalid("telegram_id", "ожидается id пользователя Telegram"))?;
    Ok(Json(
        leads::portal::set_role(&ls.pool, id, Role::from_field("role", &req.role)?).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct TicketParams {
    /// Also closed tickets.
    #[param(value_type = Option<bool>, default = false)]
    include_closed: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClientTickets {
    client_id: ClientId,
    tickets: Vec<leads::portal::TicketDetail>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClientProjects {
    client_id: ClientId,
    projects: Vec<leads::portal::Project>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClientOffers {
    client_id: ClientId,
    offers: Vec<leads::portal::Offer>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct ClientDocuments {
    client_id: ClientId,
    documents: Vec<leads::portal::Document>,
}

/// A client's service tickets with status history (users of that client).
#[utoipa::path(get, path = "/api/v1/clients/{id}/tickets", operation_id = "clientTickets", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path, minimum = 1), TicketParams, ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Заявки на сервис", body = ClientTickets),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody)))]
pub(super) async fn client_tickets(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<TicketParams>,
) -> Result<Json<ClientTickets>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, Role::ALL).await?;
    let include_closed = match p.include_closed.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("include_closed", "true или false")),
    };
    let ls = leads_state(&state)?;
    let tickets = leads::portal::tickets(&ls.pool, id, include_closed).await?;
    Ok(Json(ClientTickets {
        client_id: id,
        tickets,
    }))
}

/// Proposed and active modernisation projects (directors).
#[utoipa::path(get, path = "/api/v1/clients/{id}/projects", operation_id = "clientProjects", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path, minimum = 1), ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Проекты", body = ClientProjects),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody)))]
pub(super) async fn client_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ClientProjects>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &[Role::Director]).await?;
    let ls = leads_state(&state)?;
    let projects = leads::portal::projects(&ls.pool, id).await?;
    Ok(Json(ClientProjects {
        client_id: id,
        projects,
    }))
}

/// Personal offers still valid (directors).
#[utoipa::path(get, path = "/api/v1/clients/{id}/offers", operation_id = "clientOffers", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path, minimum = 1), ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Предложения", body = ClientOffers),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody)))]
pub(super) async fn client_offers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ClientOffers>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &[Role::Director]).await?;
    let ls = leads_state(&state)?;
    let today: String = sqlx::query_scalar("SELECT current_date::text")
        .fetch_one(&ls.pool)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let offers = leads::portal::offers(&ls.pool, id, &today).await?;
    Ok(Json(ClientOffers {
        client_id: id,
        offers,
    }))
}

/// An order's status and shipments (procurement, directors).
#[utoipa::path(get, path = "/api/v1/clients/{id}/orders/{number}/shipments", operation_id = "orderShipments", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path, minimum = 1), ("number" = String, Path, min_length = 1, max_length = 64),
           ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Заказ и отгрузки", body = leads::portal::OrderShipments),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody),
              (status = 404, description = "Заказ не найден", body = ErrorBody)))]
pub(super) async fn order_shipments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<leads::portal::OrderShipments>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &[Role::Procurement, Role::Director]).await?;
    let ls = leads_state(&state)?;
    Ok(Json(
        leads::portal::order_shipments(&ls.pool, id, &number).await?,
    ))
}

/// Knowledge-base documents for the models in the client's park (engineers, directors).
#[utoipa::path(get, path = "/api/v1/clients/{id}/documents", operation_id = "clientDocuments", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path, minimum = 1), ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Документы", body = ClientDocuments),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody)))]
pub(super) async fn client_documents(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<ClientDocuments>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &[Role::Engineer, Role::Director]).await?;
    let ls = leads_state(&state)?;
    let documents = leads::portal::documents(&ls.pool, id).await?;
    Ok(Json(ClientDocuments {
        client_id: id,
        documents,
    }))
}

/// Download a knowledge-base document (engineers, directors).
#[utoipa::path(get, path = "/api/v1/clients/{id}/documents/{document_id}/file", operation_id = "documentFile", tag = "clients",
    security(("adminToken" = []), ("telegramInitData" = []), ("botService" = [])),
    params(("id" = i64, Path, minimum = 1), ("document_id" = i64, Path, minimum = 1),
           ("X-Telegram-User-Id" = Option<i64>, Header)),
    responses((status = 200, description = "Файл", body = inline(FileBytes), content_type = "application/octet-stream"),
              (status = 400, description = "Неверный параметр", body = ErrorBody),
              (status = 401, description = "Нужна авторизация", body = ErrorBody),
              (status = 403, description = "Нет доступа", body = ErrorBody),
              (status = 404, description = "Документ не найден", body = ErrorBody)))]
pub(super) async fn document_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = client_id(&id)?;
    let doc = positive("document_id", &doc)?;
    client_access(&state, &headers, id, &[Role::Engineer, Role::Director]).await?;
    let ls = leads_state(&state)?;
    let d = leads::portal::document_for_client(&ls.pool, id, doc).await?;
    file_response(&ls.data_dir, &d.sha256, d.mime_type, &d.file_name).await
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(super) struct DocumentParams {
    #[param(required = true, min_length = 1, max_length = 300)]
    title: Option<String>,
    #[param(schema_with = super::schema::param::doc_type)]
    doc_type: Option<String>,
    /// Comma-separated model names.
    #[param(required = true, min_length = 1)]
    models: Option<String>,
    /// The file name to store.
    #[param(max_length = 200)]
    name: Option<String>,
}

/// An operator adds a knowledge-base document (PDF or image) for models; the body is the file.
#[utoipa::path(post, path = "/api/v1/admin/documents", operation_id = "addDocument", tag = "admin",
    security(("adminToken" = [])),
    params(DocumentParams),
    request_body(content = inline(FileBytes), content_type = "application/octet-stream"),
    responses((status = 201, description = "Документ сохранён", body = leads::portal::Document),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody),
              (status = 413, description = "Файл слишком большой", body = ErrorBody),
              (status = 415, description = "Тип файла не поддерживается", body = ErrorBody)))]
pub(super) async fn add_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<DocumentParams>,
    body: axum::body::Body,
) -> Result<(StatusCode, Json<leads::portal::Document>), ApiError> {
    // The token first: an unauthenticated upload is refused before its body is read.
    require_admin(&state, &headers)?;
    let ls = leads_state(&state)?;
    let body = axum::body::to_bytes(body, super::DOCUMENT_MAX_BYTES + 1)
        .await
        .map_err(|_| ApiError::BodyTooLarge)?;
    let models: Vec<String> = p
        .models
        .unwrap_or_default()
        .split(',')
        .map(str::to_string)
        .collect();
    let doc = leads::portal::add_document(
        &ls.pool,
        &ls.data_dir,
        p.title.as_deref().unwrap_or(""),
        p.doc_type.as_deref().unwrap_or("manual"),
        p.name.as_deref().unwrap_or("document.pdf"),
        &models,
        &body,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(doc)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct TicketStatusRequest {
    #[schema(schema_with = leads::schema::ticket_status)]
    status: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    comment: String,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct TicketStatusChanged {
    id: i64,
    status: String,
}

/// An operator moves a ticket to a new status; the change lands in its history.
#[utoipa::path(post, path = "/api/v1/admin/tickets/{id}/status", operation_id = "setTicketStatus", tag = "admin",
    security(("adminToken" = [])),
    params(("id" = i64, Path, minimum = 1)),
    request_body = TicketStatusRequest,
    responses((status = 200, description = "Статус изменён", body = TicketStatusChanged),
              (status = 400, description = "Неверный запрос", body = ErrorBody),
              (status = 401, description = "Нет или неверный токен", body = ErrorBody),
              (status = 403, description = "Администрирование отключено", body = ErrorBody),
              (status = 404, description = "Заявка не найдена", body = ErrorBody)))]
pub(super) async fn set_ticket_status(
    State(state): State<AppState>,
    _: super::Admin,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TicketStatusRequest>,
) -> Result<Json<TicketStatusChanged>, ApiError> {
    let ls = leads_state(&state)?;
    let id = positive("id", &id)?;
    let status = leads::portal::TicketStatus::from_field("status", &req.status)?;
    leads::portal::set_ticket_status(&ls.pool, id, status, &req.comment).await?;
    Ok(Json(TicketStatusChanged {
        id,
        status: req.status,
    }))
}
