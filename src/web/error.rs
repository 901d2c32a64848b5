//! One error type for every handler: JSON for `/api/*`, an HTML page for pages.
//!
//! Internal detail (SQL errors, I/O chains) is logged once, here, and never
//! sent to the client.

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store;
use crate::web::words;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Malformed query, path or body.
    #[error("{0}")]
    BadRequest(String),
    /// Well-formed but semantically invalid input.
    #[error("{0}")]
    Unprocessable(String),
    #[error("authentication required")]
    Unauthorized,
    #[error("forbidden")]
    Forbidden,
    /// A session request that changes something came without its token.
    #[error("missing or invalid CSRF token")]
    CsrfRejected,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request body is larger than {} bytes", super::BODY_LIMIT_BYTES)]
    PayloadTooLarge,
    /// A service we depend on (Telegram) refused or failed; the message is
    /// safe to show.
    #[error("{0}")]
    BadGateway(String),
    /// The database cannot be reached right now.
    #[error("database unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal server error")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadGateway(_) => StatusCode::BAD_GATEWAY,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn not_found() -> Self {
        Self::NotFound("not found".into())
    }

    /// Title and explanation of the HTML error page, in Russian.
    fn page_text(&self) -> (&'static str, String) {
        match self {
            Self::BadRequest(message) | Self::Unprocessable(message) => {
                (words::common::BAD_REQUEST_TITLE, message.clone())
            }
            Self::Unauthorized => (words::common::UNAUTHORIZED_TITLE, String::new()),
            Self::Forbidden => (
                words::common::FORBIDDEN_TITLE,
                words::common::FORBIDDEN_TEXT.into(),
            ),
            Self::CsrfRejected => (
                words::common::CSRF_REJECTED_TITLE,
                words::common::CSRF_REJECTED_TEXT.into(),
            ),
            Self::NotFound(_) => (words::common::NOT_FOUND_TITLE, String::new()),
            Self::Conflict(message) => (words::common::CONFLICT_TITLE, message.clone()),
            Self::MethodNotAllowed => (words::common::METHOD_NOT_ALLOWED_TITLE, String::new()),
            Self::PayloadTooLarge => (
                words::common::PAYLOAD_TOO_LARGE_TITLE,
                words::common::payload_too_large(super::BODY_LIMIT_BYTES / 1024),
            ),
            Self::BadGateway(message) => (words::common::BAD_GATEWAY_TITLE, message.clone()),
            Self::Unavailable(_) => (
                words::common::UNAVAILABLE_TITLE,
                words::common::UNAVAILABLE_TEXT.into(),
            ),
            Self::Internal(_) => (
                words::common::INTERNAL_TITLE,
                words::common::INTERNAL_TEXT.into(),
            ),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if store::is_unavailable(&err) {
            Self::Unavailable(err.into())
        } else if store::is_bad_text(&err) {
            tracing::warn!(error = %err, "the database refused text that passed the input checks");
            Self::BadRequest(
                "the request contains text the database cannot store \
                 (e.g. a NUL character or invalid UTF-8)"
                    .into(),
            )
        } else {
            Self::Internal(err.into())
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<sqlx::Error>() {
            Ok(sql) => sql.into(),
            Err(other) => Self::Internal(other),
        }
    }
}

impl AppError {
    /// A body that could not be read: too large (413), or broken off.
    pub fn from_body_error(err: &axum::Error) -> Self {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(cause) = source {
            if cause.is::<http_body_util::LengthLimitError>() {
                return Self::PayloadTooLarge;
            }
            source = cause.source();
        }
        Self::BadRequest("the request body could not be read".into())
    }
}

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        Self::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
    }
}

impl From<QueryRejection> for AppError {
    fn from(rejection: QueryRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

impl From<FormRejection> for AppError {
    fn from(rejection: FormRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::PayloadTooLarge;
        }
        Self::BadRequest(format!("invalid form: {}", rejection.body_text()))
    }
}

impl From<PathRejection> for AppError {
    fn from(rejection: PathRejection) -> Self {
        Self::BadRequest(rejection.body_text())
    }
}

/// Attached to error responses so the page layer can re-render them as HTML.
#[derive(Debug, Clone)]
pub struct ErrorDetails {
    pub title: &'static str,
    pub detail: String,
}

impl AppError {
    /// The response with a custom JSON body: the fault is logged once (with
    /// its detail, never sent) and the page layer can still render it.
    pub fn respond_with(self, body: serde_json::Value) -> Response {
        match &self {
            Self::Unavailable(err) => {
                tracing::warn!(error = format!("{err:#}"), "database unavailable")
            }
            Self::Internal(err) => tracing::error!(error = format!("{err:#}"), "internal error"),
            _ => {}
        }
        let (title, detail) = self.page_text();
        let mut response = (self.status(), Json(body)).into_response();
        response
            .extensions_mut()
            .insert(ErrorDetails { title, detail });
        response
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = json!({ "error": self.to_string() });
        self.respond_with(body)
    }
}

/// An error of the `/api/users` family (API.md): its body carries
/// `"success": false` beside the `error`.
pub struct UsersError(pub AppError);

impl<E: Into<AppError>> From<E> for UsersError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl UsersError {
    /// Whether `path` belongs to the family (every error in its shape).
    pub fn family(path: &str) -> bool {
        path == "/api/users" || path.starts_with("/api/users/")
    }
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        let body = json!({ "success": false, "error": self.0.to_string() });
        self.0.respond_with(body)
    }
}
