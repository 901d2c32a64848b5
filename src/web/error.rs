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
                ("Неверный запрос", message.clone())
            }
            Self::Unauthorized => ("Нужно войти", String::new()),
            Self::Forbidden => (
                "Недостаточно прав",
                "Эта страница или действие доступны сотрудникам с более высокой ролью.".into(),
            ),
            Self::CsrfRejected => (
                "Форма устарела",
                "Обновите страницу и отправьте форму ещё раз.".into(),
            ),
            Self::NotFound(_) => ("Страница не найдена", String::new()),
            Self::Conflict(message) => ("Конфликт", message.clone()),
            Self::MethodNotAllowed => ("Метод не поддерживается", String::new()),
            Self::BadGateway(message) => ("Ошибка Telegram", message.clone()),
            Self::Unavailable(_) => (
                "База данных недоступна",
                "Попробуйте обновить страницу через несколько секунд.".into(),
            ),
            Self::Internal(_) => (
                "Внутренняя ошибка",
                "Ошибка записана в журнал сервера.".into(),
            ),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        if store::is_unavailable(&err) {
            Self::Unavailable(err.into())
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

impl From<JsonRejection> for AppError {
    fn from(rejection: JsonRejection) -> Self {
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
