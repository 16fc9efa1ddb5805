//! The one place where errors become HTTP responses: `{"error": {"code", "message"}}`
//! (plus `field` for an invalid parameter).
//! Codes are stable and machine-readable; messages are Russian, for people. 5xx bodies say
//! nothing about internals; the cause chain goes to the log.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

/// Every error an API handler can return.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query parameter or body field is invalid.
    #[error("{message}")]
    InvalidParameter { field: String, message: String },
    /// The body is not valid JSON or does not fit the schema.
    #[error("{0}")]
    InvalidBody(String),
    /// The body exceeds the size limit.
    #[error("body too large")]
    BodyTooLarge,
    #[error("not found: {0}")]
    NotFound(String),
    /// The route does not exist.
    #[error("no such route")]
    NoRoute,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The index is not loaded yet.
    #[error("index not ready")]
    NotReady,
    /// The process is leaving the pool (SIGTERM): readiness is false, requests still served.
    #[error("shutting down")]
    ShuttingDown,
    /// Semantic search was asked for but no embedding model is loaded.
    #[error("semantic search unavailable: {0}")]
    SemanticUnavailable(String),
    #[error("request timed out")]
    Timeout,
    /// An operator route was called without the right bearer token.
    #[error("unauthorized")]
    Unauthorized,
    /// Operator routes are off (no `ADMIN_TOKEN` configured).
    #[error("admin routes disabled")]
    AdminDisabled,
    /// Authenticated, but this resource belongs to someone else.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The Idempotency-Key was used before for a different request.
    #[error("idempotency key reused")]
    KeyReused,
    /// An uploaded file's content is not an accepted type.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The request conflicts with work in progress.
    #[error("conflict: {0}")]
    Conflict(String),
    /// Too many requests for now; retry after this many seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// Anything else: logged, answered with a bare 500.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<search_core::Error> for ApiError {
    fn from(e: search_core::Error) -> ApiError {
        use search_core::Error as E;
        match e {
            E::InvalidRequest(m) => ApiError::InvalidParameter {
                field: "q".into(),
                message: m,
            },
            E::InvalidDocument { id, reason } => ApiError::InvalidBody(format!("{id}: {reason}")),
            E::Embedding(m) => ApiError::SemanticUnavailable(m),
            e @ (E::CorruptIndex { .. } | E::Tantivy(_) | E::Io(_)) => {
                ApiError::Internal(anyhow::Error::new(e))
            }
        }
    }
}

impl From<leads::Error> for ApiError {
    fn from(e: leads::Error) -> ApiError {
        use leads::Error as E;
        match e {
            E::InvalidPhone(_) => invalid("contact.phone", "номер не распознан"),
            E::Invalid { field, message } => ApiError::InvalidParameter { field, message },
            E::NotFound(what) => ApiError::NotFound(what),
            E::KeyReused(_) => ApiError::KeyReused,
            E::TooLarge { .. } => ApiError::BodyTooLarge,
            E::UnsupportedType => ApiError::UnsupportedMediaType,
            E::Unauthenticated(_) => ApiError::Unauthorized,
            E::Forbidden(why) => ApiError::Forbidden(why),
            E::RateLimited { retry_after_secs } => ApiError::RateLimited { retry_after_secs },
            e @ (E::Db(_) | E::Io(_) | E::Crm(_)) => ApiError::Internal(anyhow::Error::new(e)),
        }
    }
}

impl ApiError {
    /// Status and stable code. Exhaustive on purpose: a new variant needs a decision here.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::InvalidParameter { .. } => (StatusCode::BAD_REQUEST, "invalid_parameter"),
            ApiError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "invalid_body"),
            ApiError::BodyTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "no_route"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::NotReady => (StatusCode::SERVICE_UNAVAILABLE, "not_ready"),
            ApiError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            ApiError::SemanticUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "semantic_unavailable")
            }
            ApiError::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::AdminDisabled => (StatusCode::FORBIDDEN, "admin_disabled"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::KeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
            ApiError::UnsupportedMediaType => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn message(&self) -> String {
        match self {
            ApiError::InvalidParameter { field, message } => {
                format!("Неверный параметр «{field}»: {message}")
            }
            ApiError::InvalidBody(m) => format!("Неверное тело запроса: {m}"),
            ApiError::BodyTooLarge => "Тело запроса слишком большое".into(),
            ApiError::NotFound(what) => format!("Не найдено: {what}"),
            ApiError::NoRoute => "Такого адреса нет".into(),
            ApiError::MethodNotAllowed => "Метод не поддерживается для этого адреса".into(),
            ApiError::NotReady => "Индекс ещё загружается, повторите позже".into(),
            ApiError::ShuttingDown => "Сервер перезапускается, повторите запрос".into(),
            ApiError::SemanticUnavailable(_) => {
                "Смысловой поиск временно недоступен; используйте mode=lexical".into()
            }
            ApiError::Timeout => "Запрос выполнялся слишком долго".into(),
            ApiError::Unauthorized => {
                "Нужна авторизация: действительный токен или данные Telegram Mini App".into()
            }
            ApiError::AdminDisabled => {
                "Административные функции отключены (не задан ADMIN_TOKEN)".into()
            }
            ApiError::Conflict(what) => format!("Операция уже выполняется: {what}"),
            ApiError::Forbidden(what) => format!("Нет доступа: {what}"),
            ApiError::KeyReused => {
                "Этот Idempotency-Key уже использован для другого запроса".into()
            }
            ApiError::UnsupportedMediaType => {
                "Неподдерживаемый тип файла: принимаются JPEG, PNG, WebP и PDF".into()
            }
            ApiError::RateLimited { retry_after_secs } => format!(
                "Слишком много запросов. Повторите через {} мин.",
                retry_after_secs.div_ceil(60)
            ),
            ApiError::Internal(_) => "Внутренняя ошибка сервера".into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match self {
            // Expected while the index loads or without a model: not an incident.
            ApiError::NotReady | ApiError::ShuttingDown | ApiError::SemanticUnavailable(_) => {
                tracing::debug!(code, "request refused")
            }
            _ if status.is_server_error() => {
                tracing::error!(error = ?self, code, "request failed")
            }
            _ => {}
        }
        let field = match &self {
            ApiError::InvalidParameter { field, .. } => Some(field.clone()),
            _ => None,
        };
        let retry_after = match &self {
            ApiError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                message: self.message(),
                field,
            },
        };
        let mut res = (status, Json(body)).into_response();
        if let Some(secs) = retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        res
    }
}

/// The body of every 4xx/5xx response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and machine-readable, e.g. `invalid_parameter`.
    pub code: &'static str,
    /// For people, in Russian.
    pub message: String,
    /// With `invalid_parameter`: the parameter or body field at fault (`contact.phone`,
    /// `payload.lines[0].price_rub`), so a form can put the message beside it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// Invalid parameter helper.
pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::InvalidParameter {
        field: field.to_string(),
        message: message.into(),
    }
}
