//! `GET /api/users` (search, filters, pages) and `GET /api/users/{id}` (one
//! user with their bookings, events and free-lesson registrations).

use axum::extract::{RawQuery, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::bookings::{UserBookingJson, UsersError, known_user};
use super::params::Params;
use crate::domain::stream::StreamCode;
use crate::domain::time::rfc3339;
use crate::domain::user::{Search, Sort, StatusFilter};
use crate::store::bookings;
use crate::store::user_activity::{self, EventRow, FreeLessonRow};
use crate::store::users::{self, ListQuery, UserRow};
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::extract::Json;

/// Largest and default page size of `/api/users`.
pub const MAX_LIMIT: i64 = 200;
pub const DEFAULT_LIMIT: i64 = 50;
/// Events `GET /api/users/{id}` returns (newest first).
pub const DETAIL_EVENTS: i64 = 100;
const MAX_PAGE: i64 = 1_000_000;

/// A user in lists.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserJson {
    user_id: i64,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    first_seen: Option<String>,
    last_activity: Option<String>,
    total_bookings: i64,
    total_events: i64,
    total_free_lessons: i64,
    /// The latest booking's stream code (null without one).
    latest_stream: Option<String>,
    latest_stream_name: Option<String>,
    /// The latest booking's raw status (null without bookings or when unknown).
    latest_payment_status: Option<i32>,
    /// new | pending | confirmed | cancelled | unknown; null without bookings.
    latest_status: Option<&'static str>,
}

impl From<UserRow> for UserJson {
    fn from(row: UserRow) -> Self {
        Self {
            latest_status: row.latest_status().map(|status| status.api_name()),
            user_id: row.user_id,
            username: row.username,
            first_name: row.first_name,
            last_name: row.last_name,
            first_seen: row.first_seen.map(rfc3339),
            last_activity: row.last_activity.map(rfc3339),
            total_bookings: row.total_bookings,
            total_events: row.total_events,
            total_free_lessons: row.total_free_lessons,
            latest_stream: row.latest_stream,
            latest_stream_name: row.latest_stream_name,
            latest_payment_status: row.latest_confirmed,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserList {
    success: bool,
    users: Vec<UserJson>,
    total: i64,
    page: i64,
    limit: i64,
    total_pages: i64,
}

/// The list's filters, shared with the `/users` page. Messages name the
/// parameter and what it accepts.
pub fn list_query(params: &Params) -> Result<ListQuery, AppError> {
    let search = params.raw("search").and_then(Search::parse);
    let stream = match params.raw("stream") {
        None => None,
        Some(raw) => Some(
            StreamCode::parse(raw)
                .map_err(|err| AppError::BadRequest(err.to_string()))?
                .into_string(),
        ),
    };
    let status = params
        .raw("status")
        .map(|raw| {
            StatusFilter::parse(raw).ok_or_else(|| {
                AppError::BadRequest("status must be one of -1, 0, 1, 2, none".into())
            })
        })
        .transpose()?;
    let sort = params
        .raw("sort")
        .map(|raw| {
            Sort::parse(raw)
                .ok_or_else(|| AppError::BadRequest("sort must be activity or id".into()))
        })
        .transpose()?
        .unwrap_or_default();
    Ok(ListQuery {
        search,
        stream,
        status,
        sort,
    })
}

/// `page` (≥ 1) and `limit` (1..=200).
pub fn paging(params: &Params) -> Result<(i64, i64), AppError> {
    let page = params
        .int(
            "page",
            1..=MAX_PAGE,
            &format!("page must be an integer between 1 and {MAX_PAGE}"),
        )?
        .unwrap_or(1);
    let limit = params
        .int(
            "limit",
            1..=MAX_LIMIT,
            "limit must be an integer between 1 and 200",
        )?
        .unwrap_or(DEFAULT_LIMIT);
    Ok((page, limit))
}

/// Known users, most recently active first (or by id).
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    params(
        ("search" = Option<String>, Query, description = "A case-insensitive substring of the first name, last name or username (a leading @ is ignored), or an exact numeric id"),
        ("stream" = Option<String>, Query, description = "Stream code: users with a booking in it"),
        ("status" = Option<String>, Query, description = "-1, 0, 1, 2 (the latest booking's status, in the stream when given) or none (no bookings)"),
        ("sort" = Option<String>, Query, description = "activity (default) or id"),
        ("page" = Option<i64>, Query, description = "≥ 1, default 1"),
        ("limit" = Option<i64>, Query, description = "1..=200, default 50"),
    ),
    responses(
        (status = 200, body = UserList),
        (status = 400, description = "{\"success\":false,\"error\":\"…\"} naming the bad parameter"),
    )
)]
pub async fn list_users(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<UserList>, UsersError> {
    let params = Params::parse(query.as_deref());
    let list = list_query(&params)?;
    let (page, limit) = paging(&params)?;
    let (rows, total) = users::list(&state.pool, &list, Some(limit), (page - 1) * limit).await?;
    Ok(Json(UserList {
        success: true,
        users: rows.into_iter().map(UserJson::from).collect(),
        total,
        page,
        limit,
        total_pages: (total + limit - 1) / limit,
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventJson {
    id: i32,
    event_type: String,
    details: Option<serde_json::Value>,
    created_at: Option<String>,
}

impl From<EventRow> for EventJson {
    fn from(row: EventRow) -> Self {
        Self {
            id: row.id,
            event_type: row.event_type,
            details: row.details,
            created_at: row.created_at.map(rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FreeLessonJson {
    id: i32,
    email: String,
    lesson_type: Option<String>,
    /// `YYYY-MM-DD`.
    lesson_date: Option<chrono::NaiveDate>,
    registered_at: Option<String>,
    notification_sent: Option<bool>,
}

impl From<FreeLessonRow> for FreeLessonJson {
    fn from(row: FreeLessonRow) -> Self {
        Self {
            id: row.id,
            email: row.email,
            lesson_type: row.lesson_type,
            lesson_date: row.lesson_date,
            registered_at: row.registered_at.map(rfc3339),
            notification_sent: row.notification_sent,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    success: bool,
    user: UserJson,
    bookings: Vec<UserBookingJson>,
    /// The newest events, at most 100 (`user.total_events` counts all).
    events: Vec<EventJson>,
    free_lessons: Vec<FreeLessonJson>,
}

/// One user with their bookings (newest first, with versions for PATCH),
/// newest events and free-lesson registrations.
#[utoipa::path(
    get,
    path = "/api/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "Telegram user id")),
    responses(
        (status = 200, body = UserDetail),
        (status = 400, description = "{\"success\":false,\"error\":\"Invalid user ID\"}"),
        (status = 404, description = "{\"success\":false,\"error\":\"User not found\"}"),
    )
)]
pub async fn get_user(
    State(state): State<AppState>,
    axum::extract::Path(raw): axum::extract::Path<String>,
) -> Result<Json<UserDetail>, UsersError> {
    let user_id = known_user(&state, &raw).await?;
    let user = users::get(&state.pool, user_id)
        .await?
        .ok_or_else(|| UsersError(AppError::NotFound("User not found".into())))?;
    let bookings = bookings::of_user(&state.pool, user_id).await?;
    let events = user_activity::events(&state.pool, user_id, DETAIL_EVENTS, 0).await?;
    let free_lessons = user_activity::free_lessons(&state.pool, user_id).await?;
    Ok(Json(UserDetail {
        success: true,
        user: user.into(),
        bookings: bookings.into_iter().map(UserBookingJson::from).collect(),
        events: events.into_iter().map(EventJson::from).collect(),
        free_lessons: free_lessons.into_iter().map(FreeLessonJson::from).collect(),
    }))
}
