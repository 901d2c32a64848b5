//! The `/api/users/{id}/bookings|stream` family: a user's bookings and the
//! two booking changes, shaped exactly as API.md says (errors carry
//! `"success": false`). The changes themselves are `app::bookings`.

use axum::body::Bytes;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::UserBookingJson;
use super::body::{BookingPatch, NEW_STREAM_MESSAGE, StreamMove, UPDATES_MESSAGE};
use crate::app::bookings::{self as use_case, BookingError, Change};
use crate::domain::input::UserId;
use crate::store::bookings::{self, Target};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::{AppError, UsersError};
use crate::web::extract::{Json, Path};
use crate::web::words;

/// The legacy error body of this family, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersErrorJson {
    /// Always false.
    success: bool,
    error: String,
}

fn bad(message: impl Into<String>) -> UsersError {
    UsersError(AppError::BadRequest(message.into()))
}

fn invalid_user() -> UsersError {
    bad("Invalid user ID")
}

/// The `{id}` of the users family: a positive integer, and someone the bot knows.
async fn known_path(
    state: &AppState,
    path: Result<Path<UserId>, AppError>,
) -> Result<UserId, UsersError> {
    let Path(id) = path.map_err(|_| invalid_user())?;
    known(state, id).await
}

async fn known(state: &AppState, id: UserId) -> Result<UserId, UsersError> {
    use_case::known_user(&state.pool, id)
        .await
        .map_err(change_error)?;
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
    params(("id" = inline(UserId), Path, description = "Telegram user id")),
    responses(
        (status = 200, body = UserBookings),
        (status = 400, body = UsersErrorJson, description = "`Invalid user ID`"),
        (status = 404, body = UsersErrorJson, description = "`User not found`"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn user_bookings(
    State(state): State<AppState>,
    id: Result<Path<UserId>, AppError>,
) -> Result<Json<UserBookings>, UsersError> {
    let user = known_path(&state, id).await?;
    let rows = bookings::of_user(&state.pool, user.get()).await?;
    Ok(Json(UserBookings {
        success: true,
        bookings: rows.into_iter().map(UserBookingJson::from).collect(),
    }))
}

/// A JSON object body read as `T`: 400 (never a 500) with the reason for
/// anything else.
fn body<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, UsersError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value @ Value::Object(_)) => T::deserialize(value).map_err(|err| bad(err.to_string())),
        Ok(_) => Err(bad("body must be a JSON object")),
        Err(err) => Err(bad(format!("invalid JSON body: {err}"))),
    }
}

/// The API's answer to a refused change.
fn change_error(err: BookingError) -> UsersError {
    UsersError(match err {
        BookingError::UnknownUser => AppError::NotFound("User not found".into()),
        BookingError::NotFound => AppError::NotFound("Booking not found".into()),
        BookingError::NoActiveBooking => {
            AppError::BadRequest(words::common::NO_ACTIVE_BOOKING.into())
        }
        BookingError::Stale => {
            AppError::Conflict("Booking was changed by someone else; reload".into())
        }
        BookingError::Db(err) => err.into(),
        BookingError::Transition(err) => AppError::Conflict(err.to_string()),
        BookingError::UnknownStream(code) => AppError::BadRequest(format!(
            "unknown stream: {code} is not a registered stream of this booking's course"
        )),
        BookingError::Archived(code) => AppError::BadRequest(format!("stream {code} is archived")),
        BookingError::Full { code, capacity } => AppError::Conflict(format!(
            "stream {code} is full ({capacity} places taken); send \"force\": true to move anyway"
        )),
        BookingError::SameStream => AppError::Conflict(words::common::ALREADY_IN_STREAM.into()),
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BookingUpdated {
    success: bool,
    message: String,
    booking: UserBookingJson,
}

/// Changes one booking: status (allowed transitions only), stream, referral
/// code, discount. A field set to the value it already has is no change to
/// that field (the same status is no transition, the same stream no move).
#[utoipa::path(
    patch,
    path = "/api/users/{id}/bookings",
    tag = "bookings",
    params(("id" = inline(UserId), Path, description = "Telegram user id")),
    request_body = BookingPatch,
    responses(
        (status = 200, body = BookingUpdated),
        (status = 400, body = UsersErrorJson, description = "Bad id or body, unknown or archived stream, no active booking"),
        (status = 404, body = UsersErrorJson, description = "Unknown user, or a booking of another user"),
        (status = 409, body = UsersErrorJson, description = "Disallowed transition, full stream, stale version"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn update_booking(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<UserId>, AppError>,
    bytes: Bytes,
) -> Result<Json<BookingUpdated>, UsersError> {
    let user = known_path(&state, id).await?;
    let patch: BookingPatch = body(&bytes)?;
    let updates = patch
        .updates
        .ok_or_else(|| bad(UPDATES_MESSAGE))?
        .into_updates()
        .map_err(bad)?;
    let change = Change {
        target: patch
            .booking_id
            .map_or(Target::LatestActive, |id| Target::Id(id.get())),
        updates,
        version: patch.version,
        force: patch.force,
    };
    let row = use_case::update(&state.context(&principal), user, change)
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
#[utoipa::path(
    patch,
    path = "/api/users/{id}/stream",
    tag = "bookings",
    params(("id" = inline(UserId), Path, description = "Telegram user id")),
    request_body = StreamMove,
    responses(
        (status = 200, body = StreamMoved),
        (status = 400, body = UsersErrorJson, description = "Bad id or body, unknown or archived stream, no active booking"),
        (status = 404, body = UsersErrorJson, description = "Unknown user"),
        (status = 409, body = UsersErrorJson, description = "Same stream, or the stream is full"),
    )
)]
#[tracing::instrument(skip_all)]
pub async fn move_stream(
    State(state): State<AppState>,
    principal: Principal,
    id: Result<Path<UserId>, AppError>,
    bytes: Bytes,
) -> Result<Json<StreamMoved>, UsersError> {
    let user = known_path(&state, id).await?;
    let request: StreamMove = body(&bytes)?;
    let code = request.new_stream.ok_or_else(|| bad(NEW_STREAM_MESSAGE))?;
    let row = use_case::move_stream(&state.context(&principal), user, &code, request.force)
        .await
        .map_err(change_error)?;
    Ok(Json(StreamMoved {
        success: true,
        message: "Stream updated successfully".into(),
        booking_id: row.id,
    }))
}
