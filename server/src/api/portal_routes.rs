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

use super::error::{invalid, ApiError};
use super::lead_routes::{file_response, is_admin, leads_state, raw_body, telegram_caller};
use super::{require_admin, ApiJson, ApiQuery, AppState};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::Deserialize;

/// Passes when the caller is an operator or a Telegram user of `client_id` with one of `roles`.
async fn client_access(
    state: &AppState,
    headers: &HeaderMap,
    client_id: i64,
    roles: &[&str],
) -> Result<(), ApiError> {
    if is_admin(state, headers) {
        return Ok(());
    }
    let ls = leads_state(state)?;
    let user = telegram_caller(ls, headers)?.ok_or(ApiError::Unauthorized)?;
    match leads::account::role_of(&ls.pool, user).await? {
        Some((client, role)) if client == client_id => {
            if roles.contains(&role.as_str()) {
                Ok(())
            } else {
                Err(ApiError::Forbidden(format!(
                    "раздел доступен ролям: {}",
                    roles.join(", ")
                )))
            }
        }
        // Same answer whether the client exists or not.
        _ => Err(ApiError::Forbidden("это не ваш клиент".into())),
    }
}

const ALL_ROLES: &[&str] = &["director", "engineer", "procurement"];

fn client_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| invalid("id", "ожидается номер клиента"))
}

fn positive(field: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| invalid(field, "ожидается положительное целое число"))
}

/// The Telegram user the bot (or Mini App) speaks for.
pub(super) async fn telegram_me(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<leads::portal::Me>, ApiError> {
    let ls = leads_state(&state)?;
    let user = telegram_caller(ls, &headers)?.ok_or(ApiError::Unauthorized)?;
    leads::portal::me(&ls.pool, user)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound("пользователь Telegram".into()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RoleRequest {
    role: String,
}

/// An operator assigns a role to a linked Telegram user.
pub(super) async fn set_role(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(telegram_id): Path<String>,
    ApiJson(req): ApiJson<RoleRequest>,
) -> Result<Json<leads::portal::Me>, ApiError> {
    require_admin(&state, &headers)?;
    let ls = leads_state(&state)?;
    let id = telegram_id
        .parse::<i64>()
        .map_err(|_| invalid("telegram_id", "ожидается id пользователя Telegram"))?;
    Ok(Json(
        leads::portal::set_role(&ls.pool, id, &req.role).await?,
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TicketParams {
    include_closed: Option<String>,
}

pub(super) async fn client_tickets(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiQuery(p): ApiQuery<TicketParams>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, ALL_ROLES).await?;
    let include_closed = match p.include_closed.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("include_closed", "true или false")),
    };
    let ls = leads_state(&state)?;
    let tickets = leads::portal::tickets(&ls.pool, id, include_closed).await?;
    Ok(Json(
        serde_json::json!({"client_id": id, "tickets": tickets}),
    ))
}

pub(super) async fn client_projects(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &["director"]).await?;
    let ls = leads_state(&state)?;
    let projects = leads::portal::projects(&ls.pool, id).await?;
    Ok(Json(
        serde_json::json!({"client_id": id, "projects": projects}),
    ))
}

pub(super) async fn client_offers(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &["director"]).await?;
    let ls = leads_state(&state)?;
    let today: String = sqlx::query_scalar("SELECT current_date::text")
        .fetch_one(&ls.pool)
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    let offers = leads::portal::offers(&ls.pool, id, &today).await?;
    Ok(Json(serde_json::json!({"client_id": id, "offers": offers})))
}

pub(super) async fn order_shipments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, number)): Path<(String, String)>,
) -> Result<Json<leads::portal::OrderShipments>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &["procurement", "director"]).await?;
    let ls = leads_state(&state)?;
    Ok(Json(
        leads::portal::order_shipments(&ls.pool, id, &number).await?,
    ))
}

pub(super) async fn client_documents(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = client_id(&id)?;
    client_access(&state, &headers, id, &["engineer", "director"]).await?;
    let ls = leads_state(&state)?;
    let documents = leads::portal::documents(&ls.pool, id).await?;
    Ok(Json(
        serde_json::json!({"client_id": id, "documents": documents}),
    ))
}

pub(super) async fn document_file(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, doc)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let id = client_id(&id)?;
    let doc = positive("document_id", &doc)?;
    client_access(&state, &headers, id, &["engineer", "director"]).await?;
    let ls = leads_state(&state)?;
    let d = leads::portal::document_for_client(&ls.pool, id, doc).await?;
    file_response(&ls.data_dir, &d.sha256, d.mime_type, &d.file_name).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DocumentParams {
    title: Option<String>,
    doc_type: Option<String>,
    /// Comma-separated model names.
    models: Option<String>,
    name: Option<String>,
}

/// An operator adds a knowledge-base document; the body is the file.
pub(super) async fn add_document(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(p): ApiQuery<DocumentParams>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(StatusCode, Json<leads::portal::Document>), ApiError> {
    require_admin(&state, &headers)?;
    let ls = leads_state(&state)?;
    let body = raw_body(body)?;
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TicketStatusRequest {
    status: String,
    #[serde(default)]
    comment: String,
}

/// An operator moves a ticket to a new status; the change lands in its history.
pub(super) async fn set_ticket_status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TicketStatusRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(&state, &headers)?;
    let ls = leads_state(&state)?;
    let id = positive("id", &id)?;
    leads::portal::set_ticket_status(&ls.pool, id, &req.status, &req.comment).await?;
    Ok(Json(serde_json::json!({"id": id, "status": req.status})))
}
