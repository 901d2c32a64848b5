//! `/api/bookings`, `/api/course-streams`, `/api/courses` and the
//! `/api/users/{id}/bookings|stream` family, shaped exactly as API.md says
//! (existing clients depend on these shapes).

mod body;
pub mod user;

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::ErrorJson;
use crate::app::streams::{self as app_streams, StreamError};
use crate::domain::booking::BookingStatus;
use crate::domain::input::{Bounded, CourseId, Offset, UserId};
use crate::domain::stream::StreamCode;
use crate::domain::time::rfc3339;
use crate::store::bookings::{BookingRow, Filter};
use crate::store::streams::Counts;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::{Json, Query};

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

/// A raw booking status as a filter: -1, 0, 1 or 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawStatus(pub i32);

impl<'de> Deserialize<'de> for RawStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        i64::deserialize(deserializer)
            .ok()
            .filter(|raw| (-1..=2).contains(raw))
            .map(|raw| Self(raw as i32))
            .ok_or_else(|| de::Error::custom("must be one of -1, 0, 1, 2"))
    }
}

impl PartialSchema for RawStatus {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int32)))
            .enum_values(Some([-1, 0, 1, 2]))
            .description(Some("-1 cancelled, 0 new, 1 pending, 2 confirmed"))
            .into()
    }
}

impl ToSchema for RawStatus {}

/// A stream code: 1–50 characters of `[A-Za-z0-9_-]`.
pub fn stream_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StreamCode>, D::Error> {
    let raw = String::deserialize(d)?;
    StreamCode::parse(&raw).map(Some).map_err(de::Error::custom)
}

/// The query of `/api/bookings`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BookingsQuery {
    /// How many, 1..=200; 20 when absent.
    #[param(inline)]
    limit: Option<Bounded<1, 200>>,
    /// How many to skip.
    #[param(inline)]
    offset: Option<Offset>,
    /// Only bookings with this raw status.
    #[param(inline)]
    status: Option<RawStatus>,
    /// Only bookings in this stream. When several courses have a stream
    /// with this code (e.g. the bot's `4th_stream`), `course_id` must say
    /// which.
    #[serde(default, deserialize_with = "stream_code")]
    #[param(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,50}$")]
    stream: Option<StreamCode>,
    #[param(inline)]
    course_id: Option<CourseId>,
    #[param(inline)]
    user_id: Option<UserId>,
}

impl BookingsQuery {
    fn filter(self) -> (Filter, i64, i64) {
        let filter = Filter {
            confirmed: self.status.map(|status| status.0),
            stream: self.stream.map(StreamCode::into_string),
            course_id: self.course_id.map(CourseId::get),
            user_id: self.user_id.map(UserId::get),
        };
        (
            filter,
            self.limit.map_or(20, Bounded::get),
            self.offset.map_or(0, |offset| offset.0),
        )
    }
}

/// Latest bookings, newest first; the total matching is in `X-Total-Count`.
#[utoipa::path(
    get,
    path = "/api/bookings",
    tag = "bookings",
    params(BookingsQuery),
    responses(
        (status = 200, body = [BookingJson], headers(("X-Total-Count" = i64))),
        (status = 400, body = ErrorJson, description = "A bad parameter, named in the message, or a stream code several courses have without course_id"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_bookings(
    State(state): State<AppState>,
    Query(query): Query<BookingsQuery>,
) -> Response {
    // A code alone must name one course's stream.
    let course_id = match (&query.stream, query.course_id) {
        (Some(code), None) => {
            match app_streams::course_of(&state.pool, code, None).await {
                Ok(course_id) => Some(course_id),
                // No course has it: nothing matches, as for any unknown code.
                Err(StreamError::NotFound) => None,
                Err(StreamError::Ambiguous(ids)) => {
                    return AppError::BadRequest(app_streams::ambiguous_stream(
                        code.as_str(),
                        &ids,
                    ))
                    .into_response();
                }
                Err(StreamError::Db(err)) => return fetch_failed(err, "Failed to fetch bookings"),
                Err(other) => return AppError::Internal(other.into()).into_response(),
            }
        }
        (_, course_id) => course_id.map(CourseId::get),
    };
    let (mut filter, limit, offset) = query.filter();
    filter.course_id = course_id;
    let latest = match state
        .reads
        .latest(&state.pool, &filter, limit, offset)
        .await
    {
        Ok(found) => found,
        Err(err) => return fetch_failed(err, "Failed to fetch bookings"),
    };
    let (rows, total) = &*latest;
    let total = *total;
    let body: Vec<BookingJson> = rows.iter().cloned().map(BookingJson::from).collect();
    let mut response = Json(body).into_response();
    response
        .headers_mut()
        .insert("x-total-count", HeaderValue::from(total));
    response
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
    /// People (distinct users) with a booking in the stream.
    people: i64,
    /// People by standing, their most advanced booking in the stream
    /// (confirmed > pending > new > cancelled > unknown); they sum to `people`.
    people_confirmed: i64,
    people_pending: i64,
    people_new: i64,
    people_cancelled: i64,
    people_unknown: i64,
    /// Places taken: people whose standing is not cancelled.
    places_taken: i64,
    /// People beyond `capacity` (0 within it, or without a limit).
    over_capacity: i64,
    /// Pending bookings older than `stalePendingDays` days.
    stale_pending: i64,
    /// The server's `STALE_PENDING_DAYS`.
    stale_pending_days: u32,
}

/// Booking counts per course and stream.
#[utoipa::path(
    get,
    path = "/api/course-streams",
    tag = "bookings",
    responses((status = 200, body = [CourseStreamJson]))
)]
#[tracing::instrument(skip_all)]
pub async fn course_streams(State(state): State<AppState>) -> Response {
    match state
        .reads
        .stream_stats(&state.pool, state.config.stale_pending_days)
        .await
    {
        Ok(rows) => Json(
            rows.iter()
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
                    people: row.people.people,
                    people_confirmed: row.people.people_confirmed,
                    people_pending: row.people.people_pending,
                    people_new: row.people.people_new,
                    people_cancelled: row.people.people_cancelled,
                    people_unknown: row.people.people_unknown,
                    places_taken: row.people.taken(),
                    over_capacity: row.people.over_capacity(row.capacity),
                    stale_pending: row.stale_pending,
                    stale_pending_days: state.config.stale_pending_days,
                    course_stream_raw: row.code.clone(),
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
#[tracing::instrument(skip_all)]
pub async fn courses(State(state): State<AppState>) -> Response {
    match state.reads.course_stats(&state.pool).await {
        Ok(rows) => Json(
            rows.iter()
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
                        course_name: row.course_name.clone(),
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
