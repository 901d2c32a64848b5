//! `GET /api/users` (search, filters, pages) and `GET /api/users/{id}` (one
//! user with their bookings, events and free-lesson registrations).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{IntoParams, ToSchema};

use super::bookings::UserBookingJson;
use crate::app::users::{self as use_case, Filters};
use crate::domain::input::{Bounded, UserId};
use crate::domain::time::rfc3339;
use crate::store::bookings;
use crate::store::user_activity::{self, EventRow, FreeLessonRow};
use crate::store::users::UserRow;
use crate::web::AppState;
use crate::web::error::AppError;
use crate::web::error::UsersError;
use crate::web::extract::{Json, Path, Query};

/// Largest and default page size of `/api/users`.
pub const MAX_LIMIT: i64 = 200;
pub const DEFAULT_LIMIT: i64 = 50;
/// Events `GET /api/users/{id}` returns (newest first).
pub const DETAIL_EVENTS: i64 = 100;
const MAX_PAGE: i64 = 1_000_000;

/// The users family's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersErrorJson {
    /// Always false.
    success: bool,
    /// What went wrong, in English; names the parameter at fault.
    error: String,
}

/// The use case's refusal as the users family answers it.
fn refused(err: use_case::UsersError) -> UsersError {
    UsersError(match err {
        use_case::UsersError::BadFilter(message) => AppError::BadRequest(message),
        use_case::UsersError::NotFound => AppError::NotFound("User not found".into()),
        use_case::UsersError::Db(err) => err.into(),
    })
}

/// `page` and `limit` of `/api/users`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Default 1.
    #[param(inline)]
    page: Option<PageParam>,
    /// Default 50.
    #[param(inline)]
    limit: Option<LimitParam>,
}

/// `page` and `limit` (aliases: the OpenAPI derive reads a generic
/// argument as a type).
type PageParam = Bounded<1, MAX_PAGE>;
type LimitParam = Bounded<1, MAX_LIMIT>;

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
    #[schema(schema_with = latest_status_schema)]
    latest_status: Option<&'static str>,
}

/// `latest_status`: one of the status names, or null.
fn latest_status_schema() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .enum_values(Some([
                Some("new"),
                Some("pending"),
                Some("confirmed"),
                Some("cancelled"),
                Some("unknown"),
                None,
            ]))
            .build(),
    )
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

/// Known users, most recently active first (or by id).
#[utoipa::path(
    get,
    path = "/api/users",
    tag = "users",
    params(Filters, Paging),
    responses(
        (status = 200, body = UserList),
        (status = 400, body = UsersErrorJson, description = "A bad parameter, named"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn list_users(
    State(state): State<AppState>,
    filters: Result<Query<Filters>, AppError>,
    paging: Result<Query<Paging>, AppError>,
) -> Result<Json<UserList>, UsersError> {
    let Query(filters) = filters?;
    let list = filters.check().map_err(refused)?;
    let Query(paging) = paging?;
    let page = paging.page.map_or(1, Bounded::get);
    let limit = paging.limit.map_or(DEFAULT_LIMIT, Bounded::get);
    let listed = use_case::list(&state.pool, &state.reads, &list, limit, (page - 1) * limit)
        .await
        .map_err(refused)?;
    let (rows, total) = (&listed.0, listed.1);
    Ok(Json(UserList {
        success: true,
        users: rows.iter().cloned().map(UserJson::from).collect(),
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
    params(("id" = inline(UserId), Path, description = "Telegram user id")),
    responses(
        (status = 200, body = UserDetail),
        (status = 400, body = UsersErrorJson, description = "Invalid user ID"),
        (status = 404, body = UsersErrorJson, description = "User not found"),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = tracing::field::Empty))]
pub async fn get_user(
    State(state): State<AppState>,
    id: Result<Path<UserId>, AppError>,
) -> Result<Json<UserDetail>, UsersError> {
    let Ok(Path(id)) = id else {
        return Err(UsersError(AppError::BadRequest("Invalid user ID".into())));
    };
    tracing::Span::current().record("user_id", id.get());
    let user = use_case::find(&state.pool, id).await.map_err(refused)?;
    let user_id = id.get();
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
