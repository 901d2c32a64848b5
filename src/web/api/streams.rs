//! `/api/streams`: the stream registry as JSON. Viewers read it; editors add,
//! change, archive and adopt streams. Every change is audited by the store.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::ErrorJson;
use crate::app::streams::{self as use_case, StreamError};
use crate::domain::input::CourseId;
use crate::domain::stream::{Settings, SettingsError, StreamCode};
use crate::domain::time::rfc3339;
use crate::store::streams::{self, Registered, RegistryEntry};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Json, Path, Query};
use crate::web::words::suggested_display_name;

/// A registry entry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreamJson {
    code: String,
    course_id: i32,
    display_name: String,
    /// `YYYY-MM-DD` or null.
    starts_on: Option<NaiveDate>,
    /// Places; null means no limit.
    capacity: Option<i32>,
    is_current: bool,
    archived: bool,
    /// «Набор открыт с», `YYYY-MM-DD`; null means the default (the day after
    /// the previous intake's start).
    enrolment_opens_on: Option<NaiveDate>,
    created_at: String,
    updated_at: String,
}

impl From<RegistryEntry> for StreamJson {
    fn from(entry: RegistryEntry) -> Self {
        Self {
            created_at: rfc3339(entry.created_at),
            updated_at: rfc3339(entry.updated_at),
            code: entry.code,
            course_id: entry.course_id,
            display_name: entry.display_name,
            starts_on: entry.starts_on,
            capacity: entry.capacity,
            is_current: entry.is_current,
            archived: entry.archived,
            enrolment_opens_on: entry.enrolment_opens_on,
        }
    }
}

/// A registry entry with its course name and number of bookings.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisteredJson {
    #[serde(flatten)]
    stream: StreamJson,
    course_name: Option<String>,
    bookings: i64,
    /// The day the programme's viewers count from: `enrolmentOpensOn`, else
    /// the day after the previous intake's start, else the stream's start;
    /// null when none is known.
    effective_enrolment_opens_on: Option<NaiveDate>,
}

/// A stream code found in bookings but not in the registry.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnregisteredJson {
    code: String,
    course_id: Option<i32>,
    bookings: i64,
    /// The display name adopting it would give.
    suggested_display_name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryJson {
    streams: Vec<RegisteredJson>,
    unregistered: Vec<UnregisteredJson>,
}

/// `GET /api/streams`: the registry and the unregistered codes.
#[utoipa::path(
    get,
    path = "/api/streams",
    tag = "streams",
    responses((status = 200, body = RegistryJson))
)]
#[tracing::instrument(skip_all)]
pub async fn list_streams(State(state): State<AppState>) -> Result<Json<RegistryJson>, AppError> {
    let registered = streams::registry(&state.pool).await?;
    let unregistered = streams::unregistered(&state.pool).await?;
    let opens = use_case::effective_enrolment(&registered);
    Ok(Json(RegistryJson {
        streams: registered
            .into_iter()
            .zip(opens)
            .map(
                |(
                    Registered {
                        entry,
                        course_name,
                        bookings,
                    },
                    effective_enrolment_opens_on,
                )| RegisteredJson {
                    stream: entry.into(),
                    course_name,
                    bookings,
                    effective_enrolment_opens_on,
                },
            )
            .collect(),
        unregistered: unregistered
            .into_iter()
            .map(|row| UnregisteredJson {
                suggested_display_name: suggested_display_name(&row.code),
                code: row.code,
                course_id: row.course_id,
                bookings: row.bookings,
            })
            .collect(),
    }))
}

/// Body of `POST /api/streams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewStream {
    /// 1–50 characters of `[A-Za-z0-9_-]`.
    #[schema(pattern = "^[A-Za-z0-9_-]{1,50}$")]
    code: String,
    /// A course of the bot.
    #[schema(minimum = 1)]
    course_id: i32,
    /// 1–100 characters; defaults to a name derived from the code.
    #[schema(min_length = 1, max_length = 100, nullable)]
    display_name: Option<String>,
    /// `YYYY-MM-DD` or null.
    #[schema(format = Date, nullable)]
    starts_on: Option<String>,
    /// 1..=100000 or null for no limit.
    #[schema(minimum = 1, maximum = 100000, nullable)]
    capacity: Option<i64>,
    #[serde(default)]
    is_current: bool,
    #[serde(default)]
    archived: bool,
    /// «Набор открыт с»: exactly `YYYY-MM-DD`, not after `startsOn`; null or
    /// absent for the default (the day after the previous intake's start).
    #[schema(format = Date, nullable)]
    enrolment_opens_on: Option<String>,
}

/// `POST /api/streams`: registers a stream.
#[utoipa::path(
    post,
    path = "/api/streams",
    tag = "streams",
    request_body = NewStream,
    responses(
        (status = 201, body = StreamJson),
        (status = 400, body = ErrorJson, description = "Bad code, field, or unknown course"),
        (status = 409, body = ErrorJson, description = "The code is already registered, or another stream became the current intake meanwhile"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn create_stream(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<NewStream>,
) -> Result<(StatusCode, Json<StreamJson>), AppError> {
    let code = parse_code(&body.code)?;
    let starts_on = parse_date(body.starts_on.as_deref())?;
    let new = use_case::NewStream {
        code: code.clone(),
        course_id: body.course_id,
        display_name: body
            .display_name
            .unwrap_or_else(|| suggested_display_name(code.as_str())),
        starts_on,
        capacity: body.capacity,
        is_current: body.is_current,
        archived: body.archived,
        enrolment_opens_on: parse_enrolment(body.enrolment_opens_on.as_deref())?,
    };
    let created = use_case::create(&state.context(&principal), new)
        .await
        .map_err(|err| stream_error(err, &code))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Body of `PATCH /api/streams/{code}`: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct StreamPatch {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100, nullable = false)]
    display_name: Option<String>,
    /// `YYYY-MM-DD`, or null to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    starts_on: Option<Option<String>>,
    /// 1..=100000, or null for no limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 100000, nullable)]
    capacity: Option<Option<i64>>,
    #[schema(nullable = false)]
    is_current: Option<bool>,
    #[schema(nullable = false)]
    archived: Option<bool>,
    /// «Набор открыт с»: exactly `YYYY-MM-DD`, not after the start; null
    /// returns it to the default.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date, nullable)]
    enrolment_opens_on: Option<Option<String>>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Which course's stream a code means.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CourseOfStream {
    /// The stream's course; needed only when several courses have a stream
    /// with this code (e.g. the bot's `4th_stream`).
    course_id: Option<CourseId>,
}

/// `PATCH /api/streams/{code}`: changes a registered stream.
#[utoipa::path(
    patch,
    path = "/api/streams/{code}",
    tag = "streams",
    params(("code" = String, Path, pattern = "^[A-Za-z0-9_-]{1,50}$"), CourseOfStream),
    request_body = StreamPatch,
    responses(
        (status = 200, body = StreamJson),
        (status = 400, body = ErrorJson, description = "Bad code or field, nothing to change, or a code several courses have without course_id"),
        (status = 404, body = ErrorJson, description = "No registered stream with this code (in this course)"),
        (status = 409, body = ErrorJson, description = "Another stream became the current intake meanwhile"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn update_stream(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    Query(course): Query<CourseOfStream>,
    Json(patch): Json<StreamPatch>,
) -> Result<Json<StreamJson>, AppError> {
    let code = parse_code(&raw)?;
    let ctx = state.context(&principal);
    let course_id = use_case::course_of(&state.pool, &code, course.course_id.map(CourseId::get))
        .await
        .map_err(|err| stream_error(err, &code))?;
    let StreamPatch {
        display_name,
        starts_on,
        capacity,
        is_current,
        archived,
        enrolment_opens_on,
    } = patch;
    let starts_on = match starts_on {
        Some(typed) => Some(parse_date(typed.as_deref())?),
        None => None,
    };
    let enrolment_opens_on = match enrolment_opens_on {
        Some(typed) => Some(parse_enrolment(typed.as_deref())?),
        None => None,
    };
    let patch = use_case::Patch {
        display_name,
        starts_on,
        capacity,
        is_current,
        archived,
        enrolment_opens_on,
    };
    let updated = use_case::update(&ctx, course_id, &code, patch)
        .await
        .map_err(|err| stream_error(err, &code))?;
    Ok(Json(updated.into()))
}

/// Optional body of `POST /api/streams/{code}/adopt`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Adoption {
    /// Needed only when the code occurs in bookings of several courses.
    #[schema(nullable)]
    course_id: Option<i32>,
    /// Defaults to a name derived from the code.
    #[schema(min_length = 1, max_length = 100, nullable)]
    display_name: Option<String>,
}

/// `POST /api/streams/{code}/adopt`: registers a stream found in bookings.
#[utoipa::path(
    post,
    path = "/api/streams/{code}/adopt",
    tag = "streams",
    params(("code" = String, Path, pattern = "^[A-Za-z0-9_-]{1,50}$")),
    request_body(content = Option<Adoption>, description = "Optional: no body, or null, adopts with the defaults"),
    responses(
        (status = 201, body = StreamJson),
        (status = 400, body = ErrorJson, description = "Bad code or body; several courses and no courseId"),
        (status = 404, body = ErrorJson, description = "No booking has this stream code"),
        (status = 409, body = ErrorJson, description = "Already registered"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn adopt_stream(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<StreamJson>), AppError> {
    let code = parse_code(&raw)?;
    // No body, or `null`, adopts with the defaults.
    let adoption: Adoption = if body.iter().all(u8::is_ascii_whitespace) {
        Adoption::default()
    } else {
        serde_json::from_slice::<Option<Adoption>>(&body)
            .map_err(|err| AppError::BadRequest(format!("invalid JSON body: {err}")))?
            .unwrap_or_default()
    };
    let created = use_case::adopt(
        &state.context(&principal),
        &code,
        adoption.course_id,
        &adoption
            .display_name
            .unwrap_or_else(|| suggested_display_name(code.as_str())),
    )
    .await
    .map_err(|err| stream_error(err, &code))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

fn parse_code(raw: &str) -> Result<StreamCode, AppError> {
    StreamCode::parse(raw).map_err(|err| AppError::BadRequest(err.to_string()))
}

fn parse_date(typed: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    typed.map_or(Ok(None), |typed| {
        if typed.trim().is_empty() {
            // An empty string is not a date; null clears it.
            return Err(AppError::BadRequest(SettingsError::StartsOn.to_string()));
        }
        Settings::parse_date(typed).map_err(|err| AppError::BadRequest(err.to_string()))
    })
}

/// «Набор открыт с» as sent: exactly `YYYY-MM-DD`, or null.
fn parse_enrolment(typed: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    typed
        .map(|typed| Settings::parse_strict_date(typed, SettingsError::EnrolmentOpensOn))
        .transpose()
        .map_err(|err| AppError::BadRequest(err.to_string()))
}

/// The API's answer to a refused registry change.
fn stream_error(err: StreamError, code: &StreamCode) -> AppError {
    match err {
        StreamError::Invalid(err) => AppError::BadRequest(err.to_string()),
        StreamError::NothingToChange => AppError::BadRequest(
            "nothing to change: send at least one of displayName, startsOn, capacity, \
             isCurrent, archived, enrolmentOpensOn"
                .into(),
        ),
        StreamError::Exists => AppError::Conflict(format!(
            "stream {code} is already registered for this course"
        )),
        StreamError::UnknownCourse => AppError::BadRequest("courseId: no such course".into()),
        StreamError::NotFound => {
            AppError::NotFound(format!("no registered stream with the code {code}"))
        }
        StreamError::CurrentTaken => AppError::Conflict(
            "another stream of this course became the current intake at the same time; retry"
                .into(),
        ),
        StreamError::NotInBookings => {
            AppError::NotFound(format!("no booking has the stream code {code}"))
        }
        StreamError::NotInCourse(id) => AppError::BadRequest(format!(
            "no booking of course {id} has the stream code {code}"
        )),
        StreamError::NoCourse => AppError::BadRequest(format!(
            "the bookings with stream code {code} have no course; register it with \
             POST /api/streams and a courseId"
        )),
        StreamError::Ambiguous(ids) => {
            AppError::BadRequest(use_case::ambiguous_stream(code.as_str(), &ids))
        }
        StreamError::SeveralCourses(ids) => AppError::BadRequest(format!(
            "stream code {code} occurs in bookings of several courses ({}); send courseId",
            use_case::course_list(&ids)
        )),
        StreamError::Db(err) => err.into(),
    }
}
