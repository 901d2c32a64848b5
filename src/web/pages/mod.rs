//! HTML handlers by area, each with an askama template struct.

mod home;

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::AppState;
use super::error::ErrorDetails;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home::show))
}

/// Navigation entries of the base layout: (path, label).
pub const NAV: &[(&str, &str)] = &[
    ("/", "Главная"),
    ("/workshops", "Курсы"),
    ("/users", "Пользователи"),
    ("/messages", "Сообщения"),
    ("/analytics", "Аналитика"),
];

#[derive(Template, WebTemplate)]
#[template(path = "error.html")]
struct ErrorPage {
    active: &'static str,
    status: u16,
    title: &'static str,
    detail: String,
}

/// Paths whose errors stay JSON: the API and the machine-facing ops routes.
fn is_machine_path(path: &str) -> bool {
    path == "/api"
        || path.starts_with("/api/")
        || matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Re-renders error responses of page routes as an HTML page (the handlers
/// return the same `AppError` as the API).
pub async fn html_errors(request: Request, next: Next) -> Response {
    let machine = is_machine_path(request.uri().path());
    let response = next.run(request).await;
    if machine {
        return response;
    }
    let Some(details) = response.extensions().get::<ErrorDetails>().cloned() else {
        return response;
    };
    let status = response.status();
    let (title, detail) = match status {
        StatusCode::NOT_FOUND => ("Страница не найдена", String::new()),
        StatusCode::SERVICE_UNAVAILABLE => (
            "База данных недоступна",
            "Попробуйте обновить страницу через несколько секунд.".to_owned(),
        ),
        StatusCode::INTERNAL_SERVER_ERROR => (
            "Внутренняя ошибка",
            "Ошибка записана в журнал сервера.".to_owned(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => ("Метод не поддерживается", String::new()),
        _ => ("Неверный запрос", details.message),
    };
    let page = ErrorPage {
        active: "",
        status: status.as_u16(),
        title,
        detail,
    };
    (status, page).into_response()
}
