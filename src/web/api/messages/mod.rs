//! `/api/messages`: broadcasts for admins — create (idempotently), preview,
//! list, read, recipients, and the actions in [`actions`]. The store audits
//! every change; the delivery engine does the sending and is woken when
//! there is something to send now.

pub mod actions;
mod json;
pub(crate) mod request;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use self::json::{BroadcastJson, CreatedJson, Delivery, PreviewJson, ProblemJson, RecipientJson};
use self::request::{Problem, Submission};
use super::bookings::LIMIT_MESSAGE;
use super::params::{Params, positive_i32};
use crate::app::{self, broadcasts::SendError};
use crate::domain::audience::Audience;
use crate::domain::broadcast::{BroadcastStatus, RecipientStatus};
use crate::domain::content::ContentType;
use crate::domain::telegram_html::Kind;
use crate::store::audience;
use crate::store::broadcasts::{self, Created, Filter};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Json, Path};

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

impl From<sqlx::Error> for Refused {
    fn from(err: sqlx::Error) -> Self {
        AppError::from(err).into()
    }
}

/// A problem with the request: 400, naming the part and saying it in
/// Russian too.
impl From<Problem> for Refused {
    fn from(problem: Problem) -> Self {
        let body = json!({
            "error": problem.error,
            "field": problem.field,
            "label": problem.label,
        });
        Self(AppError::BadRequest(problem.error), body)
    }
}

/// The `{id}` of a broadcast: a positive integer.
pub(crate) fn broadcast_id(raw: &str) -> Result<i32, AppError> {
    positive_i32(raw).ok_or_else(|| AppError::BadRequest("id must be a positive integer".into()))
}

pub(crate) fn not_found() -> AppError {
    AppError::NotFound("broadcast not found".into())
}

/// Broadcast `id` as the API shows it.
pub(crate) async fn broadcast_json(state: &AppState, id: i32) -> Result<BroadcastJson, AppError> {
    let broadcast = broadcasts::get(&state.pool, id)
        .await?
        .ok_or_else(not_found)?;
    Ok(BroadcastJson::new(broadcast, &Delivery::of(state)))
}

fn created(created: Created) -> Response {
    let body = CreatedJson {
        id: created.id,
        status: created.status.as_str(),
        recipient_count: created.recipient_count,
    };
    (StatusCode::CREATED, Json(body)).into_response()
}

fn key_reused() -> Refused {
    AppError::Unprocessable("Idempotency-Key reused with a different request".into()).into()
}

fn send_error(err: SendError) -> Refused {
    match err {
        SendError::KeyReused { .. } => key_reused(),
        SendError::InThePast { at, now } => request::in_the_past(at, now).into(),
        SendError::UnknownUsers(ids) => {
            let mut refused = Refused::from(request::unknown_users(&ids));
            refused.1["invalid_user_ids"] = json!(ids);
            refused
        }
        SendError::UnknownStreams(codes) => {
            let mut refused = Refused::from(request::unknown_streams(&codes));
            refused.1["invalid_streams"] = json!(codes);
            refused
        }
        SendError::EmptyAudience { blocked } => request::empty_audience(blocked).into(),
        SendError::Db(err) => err.into(),
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
    request_body(
        content = Object,
        description = "{\"audience\": {\"kind\": \"users\", \"user_ids\": [...]} | {\"kind\": \
                       \"stream\", \"streams\": [...], \"statuses\": [2]} | {\"kind\": \
                       \"segment\", \"segment\": \"never_paid\"|\"hackathon\"|\"all\"}, \
                       \"content\": {\"type\": \"text\", \"text\", \"link_preview\", \
                       \"buttons\"} | {\"type\": \"photo\"|\"video\"|\"document\", \"file_id\", \
                       \"caption\", \"buttons\"}, \"scheduled_at\": RFC 3339 | null}"
    ),
    responses(
        (status = 201, body = CreatedJson),
        (status = 400, description = "Bad JSON, unknown field, bad audience or content (the \
                                      message names the problem and its position), unknown \
                                      users (`invalid_user_ids`) or streams (`invalid_streams`), \
                                      empty audience, `scheduled_at` in the past, bad \
                                      Idempotency-Key"),
        (status = 422, description = "The Idempotency-Key was used for a different request"),
    )
)]
pub async fn create_message(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Refused> {
    let key = request::idempotency_key(&headers)?;
    let valid = Submission::parse(&body)?.valid()?;
    let answer = app::broadcasts::create(&state.context(&principal), valid, key)
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
    request_body(content = Object, description = "As for POST /api/messages"),
    responses(
        (status = 200, body = PreviewJson, description = "Also when the request has problems: \
                                                          they are in `errors`"),
        (status = 400, description = "The body is not a JSON object of audience, content and \
                                      scheduled_at"),
    )
)]
pub async fn preview_message(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<PreviewJson>, AppError> {
    let submission = Submission::parse(&body)?;
    let mut problems: Vec<Problem> = submission.problems().into_iter().cloned().collect();
    if let Ok(Some(at)) = submission.scheduled_at
        && let Some(problem) = request::past(at, Utc::now())
    {
        problems.push(problem);
    }
    let mut preview = PreviewJson {
        recipient_count: None,
        blocked_count: None,
        html: None,
        length: None,
        max_length: None,
        errors: Vec::new(),
        invalid_user_ids: None,
        invalid_streams: None,
    };
    if let Ok(content) = &submission.content {
        let kind = match content.kind {
            ContentType::Text => Kind::Message,
            _ => Kind::Caption,
        };
        preview.html = Some(content.html.as_str().to_owned());
        preview.length = Some(content.html.visible_len());
        preview.max_length = Some(kind.max_len());
    }
    if let Ok(audience) = &submission.audience {
        crate::store::people::catch_up(&state.pool).await?;
        let mut unknown = 0;
        match audience {
            Audience::Users { user_ids } => {
                let ids = audience::unknown_users(&state.pool, user_ids).await?;
                if !ids.is_empty() {
                    problems.push(request::unknown_users(&ids));
                    unknown = ids.len() as i64;
                    preview.invalid_user_ids = Some(ids);
                }
            }
            Audience::Stream { streams, .. } => {
                let codes = audience::unknown_streams(&state.pool, streams).await?;
                if !codes.is_empty() {
                    problems.push(request::unknown_streams(&codes));
                    preview.invalid_streams = Some(codes);
                }
            }
            Audience::Segment { .. } => {}
        }
        let estimate = audience::estimate(&state.pool, audience).await?;
        // Unknown ids are no one to send to.
        let recipients = (estimate.recipients() - unknown).max(0);
        if recipients == 0 && unknown == 0 && preview.invalid_streams.is_none() {
            problems.push(request::empty_audience(estimate.blocked));
        }
        preview.recipient_count = Some(recipients);
        preview.blocked_count = Some(estimate.blocked);
    }
    // In the order of the body: audience, content, scheduled_at.
    problems.sort_by_key(|problem| request::FIELDS.iter().position(|f| *f == problem.field));
    preview.errors = problems.iter().map(ProblemJson::from).collect();
    Ok(Json(preview))
}

/// The newest broadcasts first, including the previous dashboard's
/// (`legacy: true`, `done`); the total matching is in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/messages",
    tag = "messages",
    params(
        ("status" = Option<String>, Query,
         description = "draft | scheduled | sending | paused | done | cancelled | failed"),
        ("limit" = Option<i64>, Query, description = "1..=200, default 50"),
        ("offset" = Option<i64>, Query, description = "≥ 0"),
    ),
    responses(
        (status = 200, body = [BroadcastJson], headers(("X-Total-Count" = i64))),
        (status = 400, description = "A bad parameter"),
    )
)]
pub async fn list_messages(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = Params::parse(query.as_deref());
    let limit = params.int("limit", 1..=200, LIMIT_MESSAGE)?.unwrap_or(50);
    let offset = params
        .int(
            "offset",
            0..=i64::MAX,
            "offset must be a non-negative integer",
        )?
        .unwrap_or(0);
    let status = params
        .raw("status")
        .map(|raw| {
            raw.parse::<BroadcastStatus>().map_err(|_| {
                AppError::BadRequest(
                    "status must be one of draft, scheduled, sending, paused, done, cancelled, \
                     failed"
                        .into(),
                )
            })
        })
        .transpose()?;
    let (rows, total) = broadcasts::list(
        &state.pool,
        &Filter {
            status,
            ..Filter::default()
        },
        limit,
        offset,
    )
    .await?;
    let delivery = Delivery::of(&state);
    let body: Vec<BroadcastJson> = rows
        .into_iter()
        .map(|broadcast| BroadcastJson::new(broadcast, &delivery))
        .collect();
    Ok(with_total(Json(body).into_response(), total))
}

fn with_total(mut response: Response, total: i64) -> Response {
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    response
}

/// One broadcast: status, counts per delivery status, send rate and ETA.
#[utoipa::path(
    get,
    path = "/api/messages/{id}",
    tag = "messages",
    params(("id" = i32, Path)),
    responses(
        (status = 200, body = BroadcastJson),
        (status = 400, description = "The id is not a positive integer"),
        (status = 404, description = "No such broadcast"),
    )
)]
pub async fn get_message(
    State(state): State<AppState>,
    Path(raw): Path<String>,
) -> Result<Json<BroadcastJson>, AppError> {
    let id = broadcast_id(&raw)?;
    Ok(Json(broadcast_json(&state, id).await?))
}

/// The most recipients one page lists.
pub const MAX_RECIPIENTS_PAGE: i64 = 1000;

/// A broadcast's recipients in the order they were queued; the total
/// matching is in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/messages/{id}/recipients",
    tag = "messages",
    params(
        ("id" = i32, Path),
        ("status" = Option<String>, Query,
         description = "pending | sending | sent | failed | blocked | unknown | skipped | deleted"),
        ("limit" = Option<i64>, Query, description = "1..=1000, default 100"),
        ("offset" = Option<i64>, Query, description = "≥ 0"),
    ),
    responses(
        (status = 200, body = [RecipientJson], headers(("X-Total-Count" = i64))),
        (status = 400, description = "A bad id or parameter"),
        (status = 404, description = "No such broadcast"),
    )
)]
pub async fn message_recipients(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let id = broadcast_id(&raw)?;
    let params = Params::parse(query.as_deref());
    let limit = params
        .int(
            "limit",
            1..=MAX_RECIPIENTS_PAGE,
            "limit must be an integer between 1 and 1000",
        )?
        .unwrap_or(100);
    let offset = params
        .int(
            "offset",
            0..=i64::MAX,
            "offset must be a non-negative integer",
        )?
        .unwrap_or(0);
    let status = params
        .raw("status")
        .map(|raw| {
            raw.parse::<RecipientStatus>().map_err(|_| {
                AppError::BadRequest(
                    "status must be one of pending, sending, sent, failed, blocked, unknown, \
                     skipped, deleted"
                        .into(),
                )
            })
        })
        .transpose()?;
    if broadcasts::get(&state.pool, id).await?.is_none() {
        return Err(not_found());
    }
    let rows = broadcasts::recipients(&state.pool, id, status, limit, offset).await?;
    let total = broadcasts::recipient_total(&state.pool, id, status).await?;
    let body: Vec<RecipientJson> = rows.into_iter().map(RecipientJson::from).collect();
    Ok(with_total(Json(body).into_response(), total))
}
