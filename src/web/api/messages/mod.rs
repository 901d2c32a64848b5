//! `/api/messages`: broadcasts for admins — create (idempotently), preview,
//! and (in [`read`]) list, read, recipients, and the actions in
//! [`actions`]. The use cases in `app::broadcasts` check, create and act;
//! these handlers read the request and word the answer as API.md says.

pub mod actions;
mod json;
mod read;
mod request;

pub use self::read::*;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use self::json::{CreatedJson, PreviewJson, ProblemJson};
use crate::app::broadcasts::request::BroadcastRequest;
use crate::app::broadcasts::{self, Problem, SendError};
use crate::domain::content::{Content, ContentType};
use crate::domain::telegram_html::Kind;
use crate::store::broadcasts::Created;
use crate::web::AppState;
use crate::web::api::ErrorJson;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::Json;
use crate::web::words;

/// An error answer whose body says more than `{"error"}`.
pub struct Refused(AppError, Value);

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        self.0.respond_with(self.1)
    }
}

impl From<AppError> for Refused {
    fn from(err: AppError) -> Self {
        let body = json!({ "error": err.to_string() });
        Self(err, body)
    }
}

/// A problem with the request: 400, naming the part and saying it in
/// Russian too; unknown people or streams listed.
impl From<Problem> for Refused {
    fn from(problem: Problem) -> Self {
        let error = problem.to_string();
        let mut body = json!({
            "error": error,
            "field": problem.part().as_str(),
            "label": words::problems::label(&problem),
        });
        match &problem {
            Problem::UnknownUsers(ids) => body["invalid_user_ids"] = json!(ids),
            Problem::UnknownStreams(codes) => body["invalid_streams"] = json!(codes),
            Problem::AmbiguousStreams(codes) => {
                let named: serde_json::Map<String, serde_json::Value> = codes
                    .iter()
                    .map(|(code, courses)| (code.clone(), json!(courses)))
                    .collect();
                body["ambiguous_streams"] = json!(named);
            }
            _ => {}
        }
        Self(AppError::BadRequest(error), body)
    }
}

pub(crate) fn not_found() -> AppError {
    AppError::NotFound("broadcast not found".into())
}

fn created(created: Created) -> Response {
    let body = CreatedJson {
        id: created.id,
        status: created.status.as_str(),
        recipient_count: created.recipient_count,
    };
    (StatusCode::CREATED, Json(body)).into_response()
}

fn send_error(err: SendError) -> Refused {
    if let Some(problem) = err.problem() {
        return problem.into();
    }
    match err {
        SendError::KeyReused { .. } => {
            AppError::Unprocessable("Idempotency-Key reused with a different request".into()).into()
        }
        SendError::Db(err) => AppError::from(err).into(),
        _ => unreachable!("every other error is a problem with the request"),
    }
}

/// Creates a broadcast that goes out now (`scheduled_at` null or absent) or
/// at `scheduled_at`. With an `Idempotency-Key`, a repeat of the request
/// gets the first answer and creates nothing.
#[utoipa::path(
    post,
    path = "/api/messages",
    tag = "messages",
    params(
        ("Idempotency-Key" = Option<String>, Header,
         description = "1–200 characters; a repeat with the same key and request returns the \
                        first answer and creates nothing"),
    ),
    request_body = BroadcastRequest,
    responses(
        (status = 201, body = CreatedJson),
        (status = 400, body = ErrorJson,
         description = "Bad JSON, unknown field, bad audience or content (the message names the \
                        problem and its position; `field` names the part and `label` says it in \
                        Russian), unknown users (`invalid_user_ids`) or streams \
                        (`invalid_streams`), empty audience, `scheduled_at` in the past, bad \
                        Idempotency-Key"),
        (status = 422, body = ErrorJson,
         description = "The Idempotency-Key was used for a different request"),
    )
)]
#[tracing::instrument(skip_all, fields(actor = %principal.name))]
pub async fn create_message(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let key = request::idempotency_key(&headers)?;
    let valid = broadcasts::check::check(request::body(&body)?.unchecked()).valid()?;
    let answer = broadcasts::create(&state.context(&principal), valid, key)
        .await
        .map_err(send_error)?;
    Ok(created(answer))
}

/// Checks a request as `POST /api/messages` would and answers what it
/// would send to how many people, listing every problem; sends nothing.
#[utoipa::path(
    post,
    path = "/api/messages/preview",
    tag = "messages",
    request_body(
        content = BroadcastRequest,
        description = "As for POST /api/messages. A part that is missing or wrong is not \
                       refused: the answer lists it in `errors`"
    ),
    responses(
        (status = 200, body = PreviewJson, description = "Also when the request has problems: \
                                                          they are in `errors`"),
        (status = 400, body = ErrorJson,
         description = "The body is not a JSON object of audience, content and scheduled_at"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn preview_message(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<PreviewJson>, AppError> {
    let review = broadcasts::review(&state.pool, request::body(&body)?.unchecked(), &[]).await?;
    let content = review.content();
    let kind = |content: &Content| match content.kind {
        ContentType::Text => Kind::Message,
        _ => Kind::Caption,
    };
    let preview = PreviewJson {
        recipient_count: review.recipients(),
        blocked_count: review.estimate.map(|estimate| estimate.blocked),
        html: content.map(|content| content.html.as_str().to_owned()),
        length: content.map(|content| content.html.visible_len()),
        max_length: content.map(|content| kind(content).max_len()),
        errors: review
            .problems
            .iter()
            .map(|problem| ProblemJson {
                field: problem.part().as_str(),
                error: problem.to_string(),
                label: words::problems::label(problem),
            })
            .collect(),
        invalid_user_ids: Some(review.unknown_users.clone()).filter(|ids| !ids.is_empty()),
        invalid_streams: Some(review.unknown_streams.clone()).filter(|codes| !codes.is_empty()),
    };
    Ok(Json(preview))
}
