//! `/api/bookings`, `/api/course-streams`, `/api/courses` and the
//! `/api/users/{id}/bookings|stream` family, shaped exactly as API.md says
//! (existing clients depend on these shapes).

use axum::extract::{RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::params::Params;
use crate::domain::booking::{BadReferralCode, BookingStatus, DiscountPercent, ReferralCode};
use crate::domain::booking_change::{Refusal, Updates, apply};
use crate::domain::stream::StreamCode;
use crate::domain::time::rfc3339;
use crate::store::bookings::{self, BookingRow, ChangeError, ChangeRequest, Filter, Target};
use crate::store::streams::{self, Counts};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::Json;

/// A booking as `/api/bookings` lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct BookingJson {
    id: i32,
    user_id: i64,
    username: Option<String>,
    first_name: Option<String>,
    #[serde(flatten)]
    core: BookingCore,
}

/// A booking as a user's bookings list it (with its version).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserBookingJson {
    id: i32,
    user_id: i64,
    #[serde(flatten)]
    core: BookingCore,
    /// Opaque; changes whenever the booking does. Send it back to detect
    /// concurrent edits.
    version: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingCore {
    course_id: Option<i32>,
    course_name: Option<String>,
    course_stream: Option<String>,
    course_stream_name: Option<String>,
    /// The raw status integer.
    confirmed: Option<i32>,
    /// new | pending | confirmed | cancelled | unknown
    status: &'static str,
    created_at: Option<String>,
    referral_code: Option<String>,
    discount_percent: Option<i32>,
}

impl From<&BookingRow> for BookingCore {
    fn from(row: &BookingRow) -> Self {
        Self {
            course_id: row.course_id,
            course_name: row.course_name.clone(),
            course_stream: row.course_stream.clone(),
            course_stream_name: row.course_stream_name.clone(),
            confirmed: row.confirmed,
            status: BookingStatus::from_raw(row.confirmed).api_name(),
            created_at: row.created_at.map(rfc3339),
            referral_code: row.referral_code.clone(),
            discount_percent: row.discount_percent,
        }
    }
}

impl From<BookingRow> for BookingJson {
    fn from(row: BookingRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            core: BookingCore::from(&row),
            username: row.username,
            first_name: row.first_name,
        }
    }
}

impl From<BookingRow> for UserBookingJson {
    fn from(row: BookingRow) -> Self {
        Self {
            id: row.id,
            user_id: row.user_id,
            core: BookingCore::from(&row),
            version: row.version,
        }
    }
}

pub const LIMIT_MESSAGE: &str = "limit must be an integer between 1 and 200";

/// Parses the filters of `/api/bookings` (and the workshops page).
pub fn booking_filter(params: &Params) -> Result<(Filter, i64, i64), AppError> {
    let limit = params.int("limit", 1..=200, LIMIT_MESSAGE)?.unwrap_or(20);
    let offset = params
        .int(
            "offset",
            0..=i64::MAX,
            "offset must be a non-negative integer",
        )?
        .unwrap_or(0);
    let confirmed = match params.raw("status") {
        None => None,
        Some(raw) => Some(
            BookingStatus::parse_raw_param(raw)
                .and_then(BookingStatus::raw)
                .ok_or_else(|| AppError::BadRequest("status must be one of -1, 0, 1, 2".into()))?,
        ),
    };
    let stream = params
        .raw("stream")
        .map(|raw| StreamCode::parse(raw).map_err(|err| AppError::BadRequest(err.to_string())))
        .transpose()?
        .map(StreamCode::into_string);
    let course_id = params
        .int(
            "course_id",
            1..=i64::from(i32::MAX),
            "course_id must be a positive integer",
        )?
        .map(|id| id as i32);
    let user_id = params.int(
        "user_id",
        1..=i64::MAX,
        "user_id must be a positive integer",
    )?;
    Ok((
        Filter {
            confirmed,
            stream,
            course_id,
            user_id,
        },
        limit,
        offset,
    ))
}

/// Latest bookings, newest first; the total matching is in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/bookings",
    tag = "bookings",
    params(
        ("limit" = Option<i64>, Query, description = "1..=200, default 20"),
        ("offset" = Option<i64>, Query, description = "≥ 0"),
        ("status" = Option<i32>, Query, description = "-1, 0, 1 or 2"),
        ("stream" = Option<String>, Query, description = "stream code"),
        ("course_id" = Option<i32>, Query),
        ("user_id" = Option<i64>, Query),
    ),
    responses(
        (status = 200, body = [BookingJson], headers(("X-Total-Count" = i64))),
        (status = 400, description = "A bad parameter"),
        (status = 503, description = "Database unavailable: {\"error\":\"Failed to fetch bookings\"}"),
    )
)]
pub async fn list_bookings(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    let params = Params::parse(query.as_deref());
    let (filter, limit, offset) = booking_filter(&params)?;
    let (rows, total) = match bookings::latest(&state.pool, &filter, limit, offset).await {
        Ok(found) => found,
        Err(err) => return Ok(fetch_failed(err, "Failed to fetch bookings")),
    };
    let body: Vec<BookingJson> = rows.into_iter().map(BookingJson::from).collect();
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    Ok(response)
}

/// 503 or 500 with a fixed message; the detail goes to the log only.
fn fetch_failed(err: sqlx::Error, message: &str) -> Response {
    AppError::from(err).respond_with(json!({ "error": message }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseStreamJson {
    course_id: Option<i32>,
    course_name: Option<String>,
    /// Display name (the raw code when unregistered).
    course_stream: String,
    course_stream_raw: String,
    total: i64,
    confirmed: i64,
    pending: i64,
    cancelled: i64,
    new: i64,
    unknown: i64,
    /// confirmed ÷ total × 100, one decimal.
    conversion: f64,
    capacity: Option<i32>,
    starts_on: Option<NaiveDate>,
    is_current: bool,
}

/// Booking counts per course and stream.
#[utoipa::path(
    get,
    path = "/api/course-streams",
    tag = "bookings",
    responses((status = 200, body = [CourseStreamJson]))
)]
pub async fn course_streams(State(state): State<AppState>) -> Response {
    match streams::stream_stats(&state.pool).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(|row| CourseStreamJson {
                    course_id: row.course_id,
                    course_name: row.course_name.clone(),
                    course_stream: row.name().to_owned(),
                    conversion: row.counts.conversion(),
                    total: row.counts.total,
                    confirmed: row.counts.confirmed,
                    pending: row.counts.pending,
                    cancelled: row.counts.cancelled,
                    new: row.counts.new,
                    unknown: row.counts.unknown,
                    capacity: row.capacity,
                    starts_on: row.starts_on,
                    is_current: row.is_current,
                    course_stream_raw: row.code,
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(err) => fetch_failed(err, "Failed to fetch course streams"),
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CourseJson {
    course_id: i32,
    course_name: String,
    total: i64,
    confirmed: i64,
    pending: i64,
    cancelled: i64,
    new: i64,
    unknown: i64,
}

/// Booking counts per course.
#[utoipa::path(get, path = "/api/courses", tag = "bookings", responses((status = 200, body = [CourseJson])))]
pub async fn courses(State(state): State<AppState>) -> Response {
    match streams::course_stats(&state.pool).await {
        Ok(rows) => Json(
            rows.into_iter()
                .map(|row| {
                    let Counts {
                        total,
                        confirmed,
                        pending,
                        cancelled,
                        new,
                        unknown,
                    } = row.counts;
                    CourseJson {
                        course_id: row.course_id,
                        course_name: row.course_name,
                        total,
                        confirmed,
                        pending,
                        cancelled,
                        new,
                        unknown,
                    }
                })
                .collect::<Vec<_>>(),
        )
        .into_response(),
        Err(err) => fetch_failed(err, "Failed to fetch courses"),
    }
}

/// Errors of the `/api/users/...` family carry `"success": false`.
pub struct UsersError(pub AppError);

impl<E: Into<AppError>> From<E> for UsersError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for UsersError {
    fn into_response(self) -> Response {
        let body = json!({ "success": false, "error": self.0.to_string() });
        self.0.respond_with(body)
    }
}

fn bad(message: impl Into<String>) -> UsersError {
    UsersError(AppError::BadRequest(message.into()))
}

/// The `{id}` of the users family: a positive integer, and someone the bot knows.
pub async fn known_user(state: &AppState, raw: &str) -> Result<i64, UsersError> {
    let id = super::params::strict_int(raw)
        .filter(|id| *id > 0)
        .ok_or_else(|| bad("Invalid user ID"))?;
    if !bookings::user_is_known(&state.pool, id).await? {
        return Err(UsersError(AppError::NotFound("User not found".into())));
    }
    Ok(id)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBookings {
    success: bool,
    bookings: Vec<UserBookingJson>,
}

/// A user's bookings, newest first.
#[utoipa::path(
    get,
    path = "/api/users/{id}/bookings",
    tag = "bookings",
    params(("id" = i64, Path, description = "Telegram user id")),
    responses(
        (status = 200, body = UserBookings),
        (status = 400, description = "{\"success\":false,\"error\":\"Invalid user ID\"}"),
        (status = 404, description = "{\"success\":false,\"error\":\"User not found\"}"),
    )
)]
pub async fn user_bookings(
    State(state): State<AppState>,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<UserBookings>, UsersError> {
    let user_id = known_user(&state, &raw).await?;
    let rows = bookings::of_user(&state.pool, user_id).await?;
    Ok(Json(UserBookings {
        success: true,
        bookings: rows.into_iter().map(UserBookingJson::from).collect(),
    }))
}

/// Parses the `updates` object of the PATCH body.
fn parse_updates(value: Option<&Value>) -> Result<Updates, String> {
    let Some(Value::Object(fields)) = value else {
        return Err("updates must be an object with at least one field".into());
    };
    if fields.is_empty() {
        return Err("updates must be an object with at least one field".into());
    }
    let mut updates = Updates::default();
    for (name, value) in fields {
        match name.as_str() {
            "confirmed" => {
                let status = value
                    .as_i64()
                    .filter(|raw| matches!(raw, -1 | 1 | 2))
                    .map(|raw| BookingStatus::from_raw(Some(raw as i32)))
                    .ok_or("confirmed must be one of -1, 1, 2")?;
                updates.confirmed = Some(status);
            }
            "course_stream" => {
                updates.course_stream =
                    Some(match value {
                        Value::Null => None,
                        Value::String(code) => Some(StreamCode::parse(code).map_err(|_| {
                            "course_stream must be a stream code or null".to_owned()
                        })?),
                        _ => return Err("course_stream must be a stream code or null".into()),
                    });
            }
            "referral_code" => {
                updates.referral_code = Some(match value {
                    Value::Null => None,
                    Value::String(code) => {
                        Some(ReferralCode::parse(code).map_err(|err| err.to_string())?)
                    }
                    _ => return Err(BadReferralCode.to_string()),
                });
            }
            "discount_percent" => {
                updates.discount_percent = Some(match value {
                    Value::Null => None,
                    other => Some(
                        other
                            .as_i64()
                            .ok_or(())
                            .and_then(|n| DiscountPercent::new(n).map_err(|_| ()))
                            .map_err(|()| {
                                "discount_percent must be an integer between 0 and 100".to_owned()
                            })?,
                    ),
                });
            }
            other => return Err(format!("unknown field in updates: {other}")),
        }
    }
    Ok(updates)
}

fn change_error(err: ChangeError<Refusal>) -> UsersError {
    UsersError(match err {
        ChangeError::NotFound => AppError::NotFound("Booking not found".into()),
        ChangeError::NoActiveBooking => {
            AppError::BadRequest("У пользователя нет активных бронирований".into())
        }
        ChangeError::Stale => {
            AppError::Conflict("Booking was changed by someone else; reload".into())
        }
        ChangeError::Database(err) => err.into(),
        ChangeError::Refused(refusal) => match refusal {
            Refusal::Transition(err) => AppError::Conflict(err.to_string()),
            Refusal::UnknownStream(code) => AppError::BadRequest(format!(
                "unknown stream: {code} is not a registered stream of this booking's course"
            )),
            Refusal::Archived(code) => AppError::BadRequest(format!("stream {code} is archived")),
            Refusal::Full { code, capacity } => AppError::Conflict(format!(
                "stream {code} is full ({capacity} places taken); send \"force\": true to move anyway"
            )),
            Refusal::SameStream => {
                AppError::Conflict("Пользователь уже находится в этом потоке".into())
            }
        },
    })
}

/// The JSON body as an object, or a 400 (never a 500) for anything else.
fn object(body: &[u8]) -> Result<serde_json::Map<String, Value>, UsersError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(bad("body must be a JSON object")),
        Err(err) => Err(bad(format!("invalid JSON body: {err}"))),
    }
}

fn force_flag(body: &serde_json::Map<String, Value>) -> Result<bool, UsersError> {
    match body.get("force") {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(force)) => Ok(*force),
        Some(_) => Err(bad("force must be a boolean")),
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingUpdated {
    success: bool,
    message: String,
    booking: UserBookingJson,
}

/// Changes one booking: status (allowed transitions only), stream, referral
/// code, discount. Body: `{"bookingId": int|null, "updates": {...},
/// "version": string|null, "force": bool}`.
#[utoipa::path(
    patch,
    path = "/api/users/{id}/bookings",
    tag = "bookings",
    params(("id" = i64, Path)),
    request_body(content = Object, description = "{\"bookingId\", \"updates\", \"version\", \"force\"}"),
    responses(
        (status = 200, body = BookingUpdated),
        (status = 400, description = "Bad id or body, unknown stream, no active booking"),
        (status = 404, description = "Unknown user, or a booking of another user"),
        (status = 409, description = "Disallowed transition, full stream, stale version"),
    )
)]
pub async fn update_booking(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<BookingUpdated>, UsersError> {
    let user_id = known_user(&state, &raw).await?;
    let body = object(&body)?;
    let target = match body.get("bookingId") {
        None | Some(Value::Null) => Target::LatestActive,
        Some(value) => Target::Id(
            value
                .as_i64()
                .filter(|id| (1..=i64::from(i32::MAX)).contains(id))
                .ok_or_else(|| bad("bookingId must be a positive integer or null"))?
                as i32,
        ),
    };
    let updates = parse_updates(body.get("updates")).map_err(bad)?;
    let version = match body.get("version") {
        None | Some(Value::Null) => None,
        Some(Value::String(version)) => Some(version.clone()),
        Some(_) => return Err(bad("version must be a string or null")),
    };
    let force = force_flag(&body)?;
    let new_stream = updates
        .course_stream
        .clone()
        .flatten()
        .map(StreamCode::into_string);
    let mut conn = state.pool.acquire().await?;
    let row = bookings::change(
        &mut conn,
        &principal.actor(),
        ChangeRequest {
            action: "booking.update",
            user_id,
            target,
            version: version.as_deref(),
            new_stream: new_stream.as_deref(),
        },
        |locked| apply(locked, &updates, force),
    )
    .await
    .map_err(change_error)?;
    Ok(Json(BookingUpdated {
        success: true,
        message: "Booking updated successfully".into(),
        booking: row.into(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamMoved {
    success: bool,
    message: String,
    booking_id: i32,
}

/// Moves the user's most recent non-cancelled booking to another stream.
/// Body: `{"newStream": code, "force": bool}`.
#[utoipa::path(
    patch,
    path = "/api/users/{id}/stream",
    tag = "bookings",
    params(("id" = i64, Path)),
    request_body(content = Object, description = "{\"newStream\": code, \"force\": bool}"),
    responses(
        (status = 200, body = StreamMoved),
        (status = 400, description = "Bad id or body, unknown stream, no active booking"),
        (status = 404, description = "Unknown user"),
        (status = 409, description = "Same stream, or the stream is full"),
    )
)]
pub async fn move_stream(
    State(state): State<AppState>,
    principal: Principal,
    axum::extract::Path(raw): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<StreamMoved>, UsersError> {
    let user_id = known_user(&state, &raw).await?;
    let body = object(&body)?;
    let code = match body.get("newStream") {
        Some(Value::String(code)) => {
            StreamCode::parse(code).map_err(|_| bad("newStream must be a stream code"))?
        }
        _ => return Err(bad("newStream must be a stream code")),
    };
    let force = force_flag(&body)?;
    let mut conn = state.pool.acquire().await?;
    let row = bookings::move_latest(&mut conn, &principal.actor(), user_id, &code, force)
        .await
        .map_err(change_error)?;
    Ok(Json(StreamMoved {
        success: true,
        message: "Stream updated successfully".into(),
        booking_id: row.id,
    }))
}
