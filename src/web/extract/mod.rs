//! Drop-in replacements for axum's `Json`, `Query` and `Path` whose rejections
//! become [`AppError`]s: a malformed body, query or path is always a 400 with
//! a message, never axum's plain-text default.
//!
//! In front of all of them (and of handlers that read the raw query or
//! body), [`reject_bad_text`] refuses text PostgreSQL cannot store or no
//! person types, naming the field.

pub mod text_values;

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::{AppError, UsersError};
use super::{BODY_LIMIT_BYTES, is_machine_path};
use crate::domain::text;
use crate::web::words;

#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// A typed query string for the JSON API: integers strict, the first value
/// of a name wins (all of them for a list), unknown names ignored, errors in
/// English naming the parameter (`limit must be an integer between 1 and 200`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        text_values::from_query(parts.uri.query().unwrap_or_default(), false)
            .map(Self)
            .map_err(|problem| AppError::BadRequest(problem.english()))
    }
}

/// A page's GET form: as [`Query`], but a field left blank counts as absent
/// ("any") and errors are in Russian.
#[derive(Debug, Clone, Copy, Default)]
pub struct FormQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for FormQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        text_values::from_query(parts.uri.query().unwrap_or_default(), true)
            .map(Self)
            .map_err(|problem| AppError::BadRequest(problem.russian()))
    }
}

/// Typed path parameters, read as strictly as [`Query`]: a route with one
/// parameter gives it as `T` itself (`Path<BroadcastId>`), a route with
/// several gives a tuple in route order or a struct with their names. Errors name the parameter, in
/// English on API paths and in Russian on pages.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Path<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let machine = is_machine_path(parts.uri.path());
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| AppError::BadRequest(rejection.body_text()))?;
        let pairs: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let decoded = match pairs.as_slice() {
            [(name, value)] => text_values::from_one(name, value),
            _ => text_values::from_path(pairs),
        };
        decoded.map(Self).map_err(|problem| {
            AppError::BadRequest(if machine {
                problem.english()
            } else {
                problem.russian()
            })
        })
    }
}

/// A urlencoded form body.
#[derive(Debug, Clone, Copy, Default, FromRequest)]
#[from_request(via(axum::Form), rejection(AppError))]
pub struct Form<T>(pub T);

/// Routes whose handler checks the text of its JSON body itself and lists
/// the problems in its answer instead of refusing the request.
const LISTS_ITS_OWN_TEXT_PROBLEMS: &[&str] = &["/api/messages/preview"];

/// Text that cannot be accepted, and where it is.
#[derive(Debug, PartialEq, Eq)]
pub struct BadText {
    /// The parameter, form field or JSON path (`content.buttons[0][0].url`).
    pub field: String,
    pub problem: TextProblem,
}

#[derive(Debug, PartialEq, Eq)]
pub enum TextProblem {
    NotUtf8,
    Control(char),
}

impl BadText {
    /// A 400: English for the API, Russian for pages.
    pub fn into_error(self, machine: bool) -> AppError {
        let Self { field, problem } = self;
        AppError::BadRequest(match (problem, machine) {
            (TextProblem::NotUtf8, true) => format!("{field}: not valid UTF-8"),
            (TextProblem::Control(c), true) => format!(
                "{field}: contains the control character {}, which is not allowed",
                text::describe(c)
            ),
            (TextProblem::NotUtf8, false) => words::common::field_not_utf8(&field),
            (TextProblem::Control(c), false) => {
                words::common::field_control_character(&field, &text::describe(c))
            }
        })
    }
}

/// A field name fit for a message: printable and short.
fn printable(name: &str) -> String {
    name.chars().take(64).flat_map(char::escape_debug).collect()
}

fn check_bytes(field: &str, bytes: &[u8]) -> Result<(), BadText> {
    let problem = match std::str::from_utf8(bytes) {
        Err(_) => TextProblem::NotUtf8,
        Ok(text) => match text::first_forbidden(text) {
            None => return Ok(()),
            Some(c) => TextProblem::Control(c),
        },
    };
    Err(BadText {
        field: printable(field),
        problem,
    })
}

/// Every name and value of a query string or urlencoded form, decoded as
/// `application/x-www-form-urlencoded` is (`+` is a space).
pub fn check_urlencoded(input: &[u8]) -> Result<(), BadText> {
    let decode = |raw: &[u8]| -> Vec<u8> {
        let spaced: Vec<u8> = raw
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_decode(&spaced).collect()
    };
    for pair in input.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &b""[..]),
        };
        let (name, value) = (decode(name), decode(value));
        let field = String::from_utf8_lossy(&name).into_owned();
        check_bytes(&field, &name)?;
        check_bytes(&field, &value)?;
    }
    Ok(())
}

/// Every key and string of a JSON document.
pub fn check_json(value: &Value) -> Result<(), BadText> {
    fn walk(value: &Value, path: &mut String) -> Result<(), BadText> {
        let bad = |path: &str, c| BadText {
            field: if path.is_empty() {
                "body".into()
            } else {
                path.into()
            },
            problem: TextProblem::Control(c),
        };
        match value {
            Value::String(string) => match text::first_forbidden(string) {
                Some(c) => Err(bad(path, c)),
                None => Ok(()),
            },
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    let len = path.len();
                    let _ = write!(path, "[{index}]");
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Object(object) => {
                for (key, item) in object {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(&printable(key));
                    if let Some(c) = text::first_forbidden(key) {
                        return Err(bad(path, c));
                    }
                    walk(item, path)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
        }
    }
    walk(value, &mut String::new())
}

/// Refuses a request whose path, query, urlencoded form or JSON body holds
/// invalid UTF-8 or a control character PostgreSQL refuses or no person
/// types (see `domain::text`): 400 naming the field, before any handler or
/// the database sees it. Runs behind the access check, so strangers learn
/// nothing and the error page shows the signed-in user's navigation.
pub async fn reject_bad_text(request: Request, next: Next) -> Response {
    let machine = is_machine_path(request.uri().path());
    let users_family = UsersError::family(request.uri().path());
    let error = match checked(request).await {
        Ok(request) => return next.run(request).await,
        Err(Refusal::Text(bad)) => bad.into_error(machine),
        Err(Refusal::Body(err)) => err,
    };
    if users_family {
        UsersError(error).into_response()
    } else {
        error.into_response()
    }
}

enum Refusal {
    Text(BadText),
    Body(AppError),
}

impl From<BadText> for Refusal {
    fn from(bad: BadText) -> Self {
        Self::Text(bad)
    }
}

async fn checked(request: Request) -> Result<Request, Refusal> {
    let uri = request.uri();
    check_bytes(
        "path",
        &percent_decode(uri.path().as_bytes()).collect::<Vec<u8>>(),
    )?;
    if let Some(query) = uri.query() {
        check_urlencoded(query.as_bytes())?;
    }
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(request);
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    let own_checks = LISTS_ITS_OWN_TEXT_PROBLEMS.contains(&uri.path());
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, BODY_LIMIT_BYTES)
        .await
        .map_err(|err| Refusal::Body(AppError::from_body_error(&err)))?;
    if is_form {
        check_urlencoded(&bytes)?;
    } else if !own_checks && let Ok(value) = serde_json::from_slice::<Value>(&bytes) {
        // Handlers read JSON whatever the Content-Type says; a body that is
        // not JSON is theirs to refuse.
        check_json(&value)?;
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

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

    #[test]
    fn bad_text_is_found_and_named() {
        let control = |field: &str, c| {
            Err(BadText {
                field: field.into(),
                problem: TextProblem::Control(c),
            })
        };
        assert_eq!(
            check_urlencoded(b"a=1&search=x%00y"),
            control("search", '\0')
        );
        assert_eq!(check_urlencoded(b"q=%1b"), control("q", '\u{1b}'));
        assert_eq!(check_urlencoded(b"a%00=1"), control("a\\0", '\0'));
        assert_eq!(
            check_urlencoded(b"name=%D0"),
            Err(BadText {
                field: "name".into(),
                problem: TextProblem::NotUtf8,
            })
        );
        for good in [
            &b""[..],
            b"&&a",
            b"a=%09%0A%0D+b&b=%D0%90",
            b"x=%F0%9F%8E%89",
        ] {
            assert_eq!(check_urlencoded(good), Ok(()), "{good:?}");
        }
        let body = serde_json::json!({
            "content": {"buttons": [[{"text": "ok"}, {"url": "x\u{0}"}]]},
            "n": 1,
        });
        assert_eq!(
            check_json(&body),
            control("content.buttons[0][1].url", '\0')
        );
        assert_eq!(
            check_json(&serde_json::json!("\u{7}")),
            control("body", '\u{7}')
        );
        assert_eq!(
            check_json(&serde_json::json!({"k\u{0}": 1})),
            control("k\\0", '\0')
        );
        assert_eq!(
            check_json(&serde_json::json!({"a": ["\t\n", null, true]})),
            Ok(())
        );
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
