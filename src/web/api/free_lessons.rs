//! `/api/free-lessons` (registrations with a search, and breakdowns over all
//! of them) and `/api/stream-students` (a stream's students, as its page
//! lists them).

use axum::extract::State;
use chrono::NaiveDate;
use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};

use super::ErrorJson;
use crate::app::streams::{self, StreamError};
use crate::domain::analytics::percent;
use crate::domain::booking::BookingStatus;
use crate::domain::input::{Bounded, CourseId};
use crate::domain::stream::StreamCode;
use crate::domain::time::rfc3339;
use crate::domain::user::Search;
use crate::store::analytics_cache;
use crate::store::free_lessons::{self, DateCount, LessonType, Registration};
use crate::store::streams::Counts;
use crate::store::students::{self, StudentRow};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::{Json, Query};

/// A page number: 1..=1000000.
type Page = Bounded<1, 1_000_000>;
/// Rows per page: 1..=200.
type Limit = Bounded<1, 200>;

/// `page` (default 1) and `limit` (default 50), as numbers.
fn paging(page: Option<Page>, limit: Option<Limit>) -> (i64, i64) {
    (page.map_or(1, Page::get), limit.map_or(50, Limit::get))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationJson {
    id: i32,
    user_id: i64,
    /// The person's current names (`users`, else their newest snapshot).
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: String,
    lesson_type: Option<String>,
    lesson_date: Option<NaiveDate>,
    registered_at: Option<String>,
    notification_sent: Option<bool>,
}

impl From<Registration> for RegistrationJson {
    fn from(r: Registration) -> Self {
        Self {
            id: r.id,
            user_id: r.user_id,
            username: r.username,
            first_name: r.first_name,
            last_name: r.last_name,
            email: r.email,
            lesson_type: r.lesson_type,
            lesson_date: r.lesson_date,
            registered_at: r.registered_at.map(rfc3339),
            notification_sent: r.notification_sent,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonTypeJson {
    lesson_type: Option<String>,
    registrations: i64,
    /// Distinct people registered for this type.
    registrants: i64,
    /// Of them, people with a `lesson_link_clicked` event for this type.
    converted: i64,
    /// converted ÷ registrants × 100, one decimal.
    conversion: f64,
    /// Registrations whose reminder was sent.
    notified: i64,
}

impl From<LessonType> for LessonTypeJson {
    fn from(t: LessonType) -> Self {
        Self {
            conversion: percent(t.converted, t.registrants),
            lesson_type: t.lesson_type,
            registrations: t.registrations,
            registrants: t.registrants,
            converted: t.converted,
            notified: t.notified,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LessonDateJson {
    lesson_date: Option<NaiveDate>,
    lesson_type: Option<String>,
    registrations: i64,
    notified: i64,
}

impl From<DateCount> for LessonDateJson {
    fn from(d: DateCount) -> Self {
        Self {
            lesson_date: d.lesson_date,
            lesson_type: d.lesson_type,
            registrations: d.registrations,
            notified: d.notified,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotifiedJson {
    sent: i64,
    total: i64,
    /// sent ÷ total × 100, one decimal.
    share: f64,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FreeLessonsJson {
    registrations: Vec<RegistrationJson>,
    /// Registrations matching `search` (all pages).
    total: i64,
    page: i64,
    limit: i64,
    total_pages: i64,
    /// Over all registrations, whatever the search.
    by_lesson_type: Vec<LessonTypeJson>,
    by_lesson_date: Vec<LessonDateJson>,
    notification_sent: NotifiedJson,
}

/// The query of `/api/free-lessons`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FreeLessonsQuery {
    /// A case-insensitive substring of the registration's first name,
    /// username (a leading @ is ignored) or e-mail, or an exact user id.
    search: Option<String>,
    /// Default 1.
    #[param(inline)]
    page: Option<Page>,
    /// Default 50.
    #[param(inline)]
    limit: Option<Limit>,
}

/// Free-lesson registrations, newest first, with breakdowns by lesson type
/// (with conversion) and by lesson date over all registrations.
#[utoipa::path(get, path = "/api/free-lessons", tag = "analytics",
    params(FreeLessonsQuery),
    responses((status = 200, body = FreeLessonsJson),
              (status = 400, body = ErrorJson, description = "A bad parameter, named in the message")))]
#[tracing::instrument(skip_all)]
pub async fn list_free_lessons(
    State(state): State<AppState>,
    Query(query): Query<FreeLessonsQuery>,
) -> Result<Json<FreeLessonsJson>, AppError> {
    let search = query.search.as_deref().and_then(Search::parse);
    let (page, limit) = paging(query.page, query.limit);
    analytics_cache::refresh(&state.pool, state.config.school_timezone).await?;
    let (rows, total) = free_lessons::list(
        &state.pool,
        search.as_ref(),
        Some(limit),
        (page - 1) * limit,
    )
    .await?;
    let types = free_lessons::by_lesson_type(&state.pool, None).await?;
    let dates = free_lessons::by_lesson_date(&state.pool).await?;
    let (sent, all) = types
        .iter()
        .fold((0, 0), |(s, a), t| (s + t.notified, a + t.registrations));
    Ok(Json(FreeLessonsJson {
        registrations: rows.into_iter().map(RegistrationJson::from).collect(),
        total,
        page,
        limit,
        total_pages: (total + limit - 1) / limit,
        by_lesson_type: types.into_iter().map(LessonTypeJson::from).collect(),
        by_lesson_date: dates.into_iter().map(LessonDateJson::from).collect(),
        notification_sent: NotifiedJson {
            sent,
            total: all,
            share: percent(sent, all),
        },
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StudentJson {
    user_id: i64,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    /// Their latest booking in the stream.
    booking_id: i32,
    /// Its raw status integer.
    confirmed: Option<i32>,
    /// new | pending | confirmed | cancelled | unknown
    status: &'static str,
    booked_at: Option<String>,
    last_activity: Option<String>,
    events: i64,
}

impl From<StudentRow> for StudentJson {
    fn from(s: StudentRow) -> Self {
        Self {
            status: s.status().api_name(),
            user_id: s.user_id,
            username: s.username,
            first_name: s.first_name,
            last_name: s.last_name,
            booking_id: s.booking_id,
            confirmed: s.confirmed,
            booked_at: s.booked_at.map(rfc3339),
            last_activity: s.last_activity.map(rfc3339),
            events: s.events,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamRef {
    code: String,
    name: String,
    registered: bool,
    course_id: Option<i32>,
    course_name: Option<String>,
    is_current: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StudentCounts {
    total: i64,
    confirmed: i64,
    pending: i64,
    cancelled: i64,
    new: i64,
    unknown: i64,
}

impl From<Counts> for StudentCounts {
    fn from(c: Counts) -> Self {
        Self {
            total: c.total,
            confirmed: c.confirmed,
            pending: c.pending,
            cancelled: c.cancelled,
            new: c.new,
            unknown: c.unknown,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamStudentsJson {
    stream: StreamRef,
    /// Students by their latest status in the stream.
    counts: StudentCounts,
    students: Vec<StudentJson>,
    /// Students matching `status` (all pages).
    total: i64,
    page: i64,
    limit: i64,
    total_pages: i64,
}

/// A student's latest status in the stream, as a filter.
#[derive(Debug, Clone, Copy)]
pub struct StudentStatus(BookingStatus);

const STUDENT_STATUSES: [&str; 5] = ["confirmed", "pending", "cancelled", "new", "unknown"];

impl<'de> Deserialize<'de> for StudentStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        match raw.as_str() {
            "unknown" => Some(BookingStatus::Unknown),
            other => BookingStatus::parse_api_name(other),
        }
        .map(Self)
        .ok_or_else(|| {
            de::Error::custom("must be one of confirmed, pending, cancelled, new, unknown")
        })
    }
}

impl PartialSchema for StudentStatus {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(STUDENT_STATUSES))
            .into()
    }
}

impl ToSchema for StudentStatus {}

/// The query of `/api/stream-students`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StudentsQuery {
    /// The stream code (required).
    #[param(required = true, pattern = "^[A-Za-z0-9_-]{1,50}$")]
    stream: Option<String>,
    /// The stream's course; needed only when several courses have a stream
    /// with this code (e.g. the bot's `4th_stream`).
    course_id: Option<CourseId>,
    /// Only students whose standing in the stream (their most advanced
    /// booking there) is this status.
    #[param(inline)]
    status: Option<StudentStatus>,
    /// Default 1.
    #[param(inline)]
    page: Option<Page>,
    /// Default 50.
    #[param(inline)]
    limit: Option<Limit>,
}

/// A stream's students: one per person with a booking in it, by their
/// standing there (their most advanced booking), newest first.
#[utoipa::path(get, path = "/api/stream-students", tag = "bookings",
    params(StudentsQuery),
    responses((status = 200, body = StreamStudentsJson),
              (status = 400, body = ErrorJson, description = "A bad parameter, named in the message, or a code several courses have without course_id"),
              (status = 404, body = ErrorJson, description = "`stream not found`")))]
#[tracing::instrument(skip_all)]
pub async fn stream_students(
    State(state): State<AppState>,
    Query(query): Query<StudentsQuery>,
) -> Result<Json<StreamStudentsJson>, AppError> {
    let code = query
        .stream
        .as_deref()
        .ok_or_else(|| AppError::BadRequest("stream is required".into()))
        .and_then(|raw| {
            StreamCode::parse(raw).map_err(|err| AppError::BadRequest(err.to_string()))
        })?;
    let status = query.status.map(|status| status.0);
    let (page, limit) = paging(query.page, query.limit);
    let not_found = || AppError::NotFound("stream not found".into());
    let course_id = streams::course_of(&state.pool, &code, query.course_id.map(CourseId::get))
        .await
        .map_err(|err| match err {
            StreamError::Ambiguous(ids) => {
                AppError::BadRequest(streams::ambiguous_stream(code.as_str(), &ids))
            }
            StreamError::Db(err) => err.into(),
            _ => not_found(),
        })?;
    let stream = students::header(&state.pool, course_id, code.as_str())
        .await?
        .ok_or_else(not_found)?;
    let counts = students::student_counts(&state.pool, course_id, &stream.code).await?;
    let rows = students::students(
        &state.pool,
        course_id,
        &stream.code,
        status,
        Some(limit),
        (page - 1) * limit,
    )
    .await?;
    let total = match status {
        None => counts.total,
        Some(BookingStatus::Confirmed) => counts.confirmed,
        Some(BookingStatus::Pending) => counts.pending,
        Some(BookingStatus::Cancelled) => counts.cancelled,
        Some(BookingStatus::New) => counts.new,
        Some(BookingStatus::Unknown) => counts.unknown,
    };
    Ok(Json(StreamStudentsJson {
        stream: StreamRef {
            name: stream.name().to_owned(),
            registered: stream.registered(),
            code: stream.code,
            course_id: Some(stream.course_id),
            course_name: stream.course_name,
            is_current: stream.is_current,
        },
        counts: counts.into(),
        students: rows.into_iter().map(StudentJson::from).collect(),
        total,
        page,
        limit,
        total_pages: (total + limit - 1) / limit,
    }))
}
