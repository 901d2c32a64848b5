//! `/api/streams`: the stream registry as JSON. Viewers read it; editors add,
//! change, archive and adopt streams. Every change is audited by the store.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::domain::stream::{Settings, SettingsError, StreamCode};
use crate::domain::time::rfc3339;
use crate::store::streams::{self, AdoptError, Registered, RegistryEntry, RegistryError};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Json, Path};
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
pub async fn list_streams(State(state): State<AppState>) -> Result<Json<RegistryJson>, AppError> {
    let registered = streams::registry(&state.pool).await?;
    let unregistered = streams::unregistered(&state.pool).await?;
    Ok(Json(RegistryJson {
        streams: registered
            .into_iter()
            .map(
                |Registered {
                     entry,
                     course_name,
                     bookings,
                 }| RegisteredJson {
                    stream: entry.into(),
                    course_name,
                    bookings,
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
    code: String,
    course_id: i32,
    /// 1–100 characters; defaults to a name derived from the code.
    display_name: Option<String>,
    /// `YYYY-MM-DD` or null.
    starts_on: Option<String>,
    /// 1..=100000 or null for no limit.
    capacity: Option<i64>,
    #[serde(default)]
    is_current: bool,
    #[serde(default)]
    archived: bool,
}

/// `POST /api/streams`: registers a stream.
#[utoipa::path(
    post,
    path = "/api/streams",
    tag = "streams",
    request_body = NewStream,
    responses(
        (status = 201, body = StreamJson),
        (status = 400, description = "Bad code, field, or unknown course"),
        (status = 409, description = "The code is already registered"),
    )
)]
pub async fn create_stream(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<NewStream>,
) -> Result<(StatusCode, Json<StreamJson>), AppError> {
    let code =
        StreamCode::parse(&body.code).map_err(|err| AppError::BadRequest(err.to_string()))?;
    let display_name = body
        .display_name
        .unwrap_or_else(|| suggested_display_name(code.as_str()));
    let starts_on = parse_date(body.starts_on.as_deref())?;
    let settings = Settings::new(
        &display_name,
        starts_on,
        body.capacity,
        body.is_current,
        body.archived,
    )
    .map_err(invalid)?;
    let mut conn = state.pool.acquire().await?;
    let created = streams::create(
        &mut conn,
        &principal.actor(),
        "stream.create",
        code.as_str(),
        body.course_id,
        &settings,
    )
    .await
    .map_err(|err| registry_error(err, &code))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// Body of `PATCH /api/streams/{code}`: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StreamPatch {
    display_name: Option<String>,
    /// `YYYY-MM-DD`, or null to clear.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    starts_on: Option<Option<String>>,
    /// 1..=100000, or null for no limit.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    capacity: Option<Option<i64>>,
    is_current: Option<bool>,
    archived: Option<bool>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `PATCH /api/streams/{code}`: changes a registered stream.
#[utoipa::path(
    patch,
    path = "/api/streams/{code}",
    tag = "streams",
    params(("code" = String, Path)),
    request_body = StreamPatch,
    responses(
        (status = 200, body = StreamJson),
        (status = 400, description = "Bad code or field, or nothing to change"),
        (status = 404, description = "No registered stream with this code"),
    )
)]
pub async fn update_stream(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    Json(patch): Json<StreamPatch>,
) -> Result<Json<StreamJson>, AppError> {
    let code = StreamCode::parse(&raw).map_err(|err| AppError::BadRequest(err.to_string()))?;
    let StreamPatch {
        display_name,
        starts_on,
        capacity,
        is_current,
        archived,
    } = patch;
    if display_name.is_none()
        && starts_on.is_none()
        && capacity.is_none()
        && is_current.is_none()
        && archived.is_none()
    {
        return Err(AppError::BadRequest(
            "nothing to change: send at least one of displayName, startsOn, capacity, \
             isCurrent, archived"
                .into(),
        ));
    }
    let current = streams::entry(&state.pool, code.as_str())
        .await?
        .ok_or_else(|| not_registered(&code))?;
    let starts_on = match starts_on {
        Some(typed) => parse_date(typed.as_deref())?,
        None => current.starts_on,
    };
    let settings = Settings::new(
        display_name.as_deref().unwrap_or(&current.display_name),
        starts_on,
        capacity.unwrap_or(current.capacity.map(i64::from)),
        is_current.unwrap_or(current.is_current),
        archived.unwrap_or(current.archived),
    )
    .map_err(invalid)?;
    let mut conn = state.pool.acquire().await?;
    let updated = streams::update(&mut conn, &principal.actor(), code.as_str(), &settings)
        .await
        .map_err(|err| registry_error(err, &code))?;
    Ok(Json(updated.into()))
}

/// Optional body of `POST /api/streams/{code}/adopt`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Adoption {
    /// Needed only when the code occurs in bookings of several courses.
    course_id: Option<i32>,
    /// Defaults to a name derived from the code.
    display_name: Option<String>,
}

/// `POST /api/streams/{code}/adopt`: registers a stream found in bookings.
#[utoipa::path(
    post,
    path = "/api/streams/{code}/adopt",
    tag = "streams",
    params(("code" = String, Path)),
    request_body(content = Option<Adoption>, description = "Optional"),
    responses(
        (status = 201, body = StreamJson),
        (status = 400, description = "Bad code or body; several courses and no courseId"),
        (status = 404, description = "No booking has this stream code"),
        (status = 409, description = "Already registered"),
    )
)]
pub async fn adopt_stream(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<StreamJson>), AppError> {
    let code = StreamCode::parse(&raw).map_err(|err| AppError::BadRequest(err.to_string()))?;
    let adoption: Adoption = if body.iter().all(u8::is_ascii_whitespace) {
        Adoption::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|err| AppError::BadRequest(format!("invalid JSON body: {err}")))?
    };
    let settings = adopted_settings(&code, adoption.display_name.as_deref())?;
    let mut conn = state.pool.acquire().await?;
    let created = streams::adopt(
        &mut conn,
        &principal.actor(),
        code.as_str(),
        adoption.course_id,
        &settings,
    )
    .await
    .map_err(|err| adopt_error(err, &code))?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The API's answer to a refused adoption.
pub fn adopt_error(err: AdoptError, code: &StreamCode) -> AppError {
    match err {
        AdoptError::Registered => already_registered(code),
        AdoptError::NotInBookings => {
            AppError::NotFound(format!("no booking has the stream code {code}"))
        }
        AdoptError::NotInCourse(id) => AppError::BadRequest(format!(
            "no booking of course {id} has the stream code {code}"
        )),
        AdoptError::NoCourse => AppError::BadRequest(format!(
            "the bookings with stream code {code} have no course; register it with \
             POST /api/streams and a courseId"
        )),
        AdoptError::SeveralCourses(ids) => {
            let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
            AppError::BadRequest(format!(
                "stream code {code} occurs in bookings of several courses ({}); send courseId",
                ids.join(", ")
            ))
        }
        AdoptError::Registry(err) => registry_error(err, code),
    }
}

/// Settings of a newly adopted stream: not current, no date, no limit.
pub fn adopted_settings(
    code: &StreamCode,
    display_name: Option<&str>,
) -> Result<Settings, AppError> {
    let suggested = suggested_display_name(code.as_str());
    Settings::new(display_name.unwrap_or(&suggested), None, None, false, false).map_err(invalid)
}

fn parse_date(typed: Option<&str>) -> Result<Option<NaiveDate>, AppError> {
    typed.map_or(Ok(None), |typed| {
        if typed.trim().is_empty() {
            // An empty string is not a date; null clears it.
            return Err(invalid(SettingsError::StartsOn));
        }
        Settings::parse_date(typed).map_err(invalid)
    })
}

fn invalid(err: SettingsError) -> AppError {
    AppError::BadRequest(err.to_string())
}

fn not_registered(code: &StreamCode) -> AppError {
    AppError::NotFound(format!("no registered stream with the code {code}"))
}

fn already_registered(code: &StreamCode) -> AppError {
    AppError::Conflict(format!("stream {code} is already registered"))
}

/// The API's answer to a refused registry change.
pub fn registry_error(err: RegistryError, code: &StreamCode) -> AppError {
    match err {
        RegistryError::Exists => already_registered(code),
        RegistryError::UnknownCourse => AppError::BadRequest("courseId: no such course".into()),
        RegistryError::NotFound => not_registered(code),
        RegistryError::CurrentTaken => AppError::Conflict(
            "another stream of this course became the current intake at the same time; retry"
                .into(),
        ),
        RegistryError::Database(err) => err.into(),
    }
}
