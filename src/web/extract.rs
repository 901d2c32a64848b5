//! Drop-in replacements for axum's `Json`, `Query` and `Path` whose rejections
//! become [`AppError`]s: a malformed body, query or path is always a 400 with
//! a message, never axum's plain-text default.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::error::AppError;

#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(Debug, Clone, Copy, Default, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct Query<T>(pub T);

#[derive(Debug, Clone, Copy, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct Path<T>(pub T);

/// A urlencoded form body.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct Form<T>(pub T);

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode, header};
    use axum::routing::{get, post};
    use serde::Deserialize;
    use tower::ServiceExt;

    use super::*;

    #[derive(Debug, Deserialize)]
    struct Body_ {
        #[allow(dead_code)]
        count: i32,
    }

    #[derive(Debug, Deserialize)]
    struct Params {
        #[allow(dead_code)]
        limit: Option<i64>,
    }

    fn app() -> Router {
        Router::new()
            .route("/json", post(|Json(_): Json<Body_>| async { "ok" }))
            .route("/query", get(|Query(_): Query<Params>| async { "ok" }))
            .route("/path/{id}", get(|Path(_): Path<i64>| async { "ok" }))
    }

    async fn call(request: Request<Body>) -> (StatusCode, serde_json::Value) {
        let response = app().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    fn json_post(body: &'static str) -> Request<Body> {
        Request::post("/json")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn malformed_input_is_a_400_with_a_message() {
        let cases = [
            json_post("{\"count\": "),
            json_post("{\"count\": \"seven\"}"),
            json_post("[]"),
            Request::get("/query?limit=12abc")
                .body(Body::empty())
                .unwrap(),
            Request::get("/query?limit=1.5")
                .body(Body::empty())
                .unwrap(),
            Request::get("/query?limit=").body(Body::empty()).unwrap(),
            Request::get("/path/abc").body(Body::empty()).unwrap(),
        ];
        for request in cases {
            let uri = request.uri().clone();
            let (status, body) = call(request).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
            let message = body["error"].as_str().unwrap_or_default();
            assert!(!message.is_empty(), "{uri}: {body}");
        }
    }

    #[tokio::test]
    async fn well_formed_input_passes() {
        assert_eq!(call(json_post("{\"count\": 3}")).await.0, StatusCode::OK);
        let request = Request::get("/query?limit=5&unknown=x")
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(request).await.0, StatusCode::OK);
    }
}
