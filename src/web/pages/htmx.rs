//! What the pages need from htmx's request headers
//! (<https://htmx.org/reference/#request_headers>): whether a request asks
//! for a fragment instead of the whole page.

use std::convert::Infallible;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};

use crate::web::error::AppError;

/// `HX-Request: true`, except when htmx restores a page from history (then
/// it wants the whole page, like a plain GET).
#[derive(Debug, Clone, Copy)]
pub struct Fragment(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for Fragment {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let set = |name: &str| {
            parts
                .headers
                .get(name)
                .is_some_and(|value| value.as_bytes() == b"true")
        };
        Ok(Self(
            set("hx-request") && !set("hx-history-restore-request"),
        ))
    }
}

/// For a URL that answers a page or a fragment of it by `HX-Request`.
pub const VARY: (header::HeaderName, HeaderValue) =
    (header::VARY, HeaderValue::from_static("HX-Request"));

/// A template (e.g. a page's block) as an HTML response.
pub fn html(template: &impl Template) -> Result<Response, AppError> {
    let body = template
        .render()
        .map_err(|e| AppError::Internal(e.into()))?;
    Ok(Html(body).into_response())
}
