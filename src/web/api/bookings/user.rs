//! The `/api/users/{id}/bookings|stream` family: a user's bookings and the
//! two booking changes, shaped exactly as API.md says (errors carry
//! `"success": false`). The changes themselves are `app::bookings`.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::de::{self, Deserializer, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::ToSchema;

use super::UserBookingJson;
use crate::app::bookings::{self as use_case, BookingError, Change};
use crate::domain::booking::{BadReferralCode, BookingStatus, DiscountPercent, ReferralCode};
use crate::domain::booking_change::Updates;
use crate::domain::input::{BookingId, UserId};
use crate::domain::stream::StreamCode;
use crate::store::bookings::{self, Target};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Json, Path};

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
pub async fn known_user(state: &AppState, raw: &str) -> Result<i64, UsersError> {
    let id = UserId::parse(raw).ok_or_else(invalid_user)?;
    known(state, id).await.map(UserId::get)
}

/// As [`known_user`], from the typed path.
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

const UPDATES_MESSAGE: &str = "updates must be an object with at least one field";

/// Body of `PATCH /api/users/{id}/bookings`. Each field refuses a wrong
/// value with the message API.md gives.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BookingPatch {
    /// The booking to change; null or absent: the user's most recent
    /// booking that is not cancelled.
    #[serde(rename = "bookingId", default, deserialize_with = "booking_id")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 2147483647, nullable)]
    booking_id: Option<BookingId>,
    #[serde(default, deserialize_with = "updates")]
    #[schema(value_type = BookingUpdates, required = true)]
    updates: Option<BookingUpdates>,
    /// The `version` the client last saw; a different current one is a 409.
    #[serde(default, deserialize_with = "version")]
    #[schema(nullable)]
    version: Option<String>,
    /// Move into a stream past its capacity.
    #[serde(default, deserialize_with = "force")]
    #[schema(default = false)]
    force: bool,
}

/// The fields to change, at least one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct BookingUpdates {
    /// The new status: -1 (cancelled), 1 (pending) or 2 (confirmed), along
    /// the allowed transitions.
    #[serde(default, deserialize_with = "confirmed")]
    #[schema(value_type = Option<i32>, minimum = -1, maximum = 2, nullable = false)]
    confirmed: Option<BookingStatus>,
    /// A registry stream of the booking's course, or null to clear.
    #[serde(default, deserialize_with = "course_stream")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,50}$", nullable)]
    course_stream: Option<Option<StreamCode>>,
    /// 1–64 characters of `[A-Za-z0-9_-]`, or null.
    #[serde(default, deserialize_with = "referral_code")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,64}$", nullable)]
    referral_code: Option<Option<ReferralCode>>,
    /// 0..=100, or null.
    #[serde(default, deserialize_with = "discount_percent")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 100, nullable)]
    discount_percent: Option<Option<DiscountPercent>>,
    /// Any other name is refused.
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// Reads a `T`; anything else is `message`.
fn or_say<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    message: &str,
) -> Result<T, D::Error> {
    T::deserialize(deserializer).map_err(|_| de::Error::custom(message))
}

fn booking_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BookingId>, D::Error> {
    or_say(d, "bookingId must be a positive integer or null")
}

fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    or_say(d, "version must be a string or null")
}

fn force<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    or_say::<D, Option<bool>>(d, "force must be a boolean").map(Option::unwrap_or_default)
}

/// An object, read as [`BookingUpdates`] (whose fields name their own
/// problems); anything else is the `updates` message.
fn updates<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BookingUpdates>, D::Error> {
    struct Object;
    impl<'de> de::Visitor<'de> for Object {
        type Value = BookingUpdates;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(UPDATES_MESSAGE)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<BookingUpdates, A::Error> {
            BookingUpdates::deserialize(de::value::MapAccessDeserializer::new(map))
        }
        fn visit_unit<E: de::Error>(self) -> Result<BookingUpdates, E> {
            Err(E::custom(UPDATES_MESSAGE))
        }
    }
    d.deserialize_any(Object)
        .map(Some)
        .map_err(|err: D::Error| {
            // serde's "invalid type" for a non-object names what it expected.
            let text = err.to_string();
            if text.starts_with("invalid type") || text.starts_with("invalid value") {
                de::Error::custom(UPDATES_MESSAGE)
            } else {
                err
            }
        })
}

fn confirmed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BookingStatus>, D::Error> {
    const MESSAGE: &str = "confirmed must be one of -1, 1, 2";
    let raw: Option<i64> = or_say(d, MESSAGE)?;
    raw.filter(|raw| matches!(raw, -1 | 1 | 2))
        .map(|raw| Some(BookingStatus::from_raw(Some(raw as i32))))
        .ok_or_else(|| de::Error::custom(MESSAGE))
}

fn course_stream<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<StreamCode>>, D::Error> {
    const MESSAGE: &str = "course_stream must be a stream code or null";
    let raw: Option<String> = or_say(d, MESSAGE)?;
    raw.map(|code| StreamCode::parse(&code).map_err(|_| de::Error::custom(MESSAGE)))
        .transpose()
        .map(Some)
}

fn referral_code<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<ReferralCode>>, D::Error> {
    let raw: Option<String> = or_say(d, &BadReferralCode.to_string())?;
    raw.map(|code| ReferralCode::parse(&code).map_err(de::Error::custom))
        .transpose()
        .map(Some)
}

fn discount_percent<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<DiscountPercent>>, D::Error> {
    const MESSAGE: &str = "discount_percent must be an integer between 0 and 100";
    let raw: Option<i64> = or_say(d, MESSAGE)?;
    raw.map(|n| DiscountPercent::new(n).map_err(|_| de::Error::custom(MESSAGE)))
        .transpose()
        .map(Some)
}

impl BookingUpdates {
    fn into_updates(self) -> Result<Updates, UsersError> {
        if let Some(name) = self.unknown.keys().next() {
            return Err(bad(format!("unknown field in updates: {name}")));
        }
        let updates = Updates {
            confirmed: self.confirmed,
            course_stream: self.course_stream,
            referral_code: self.referral_code,
            discount_percent: self.discount_percent,
        };
        if updates.confirmed.is_none()
            && updates.course_stream.is_none()
            && updates.referral_code.is_none()
            && updates.discount_percent.is_none()
        {
            return Err(bad(UPDATES_MESSAGE));
        }
        Ok(updates)
    }
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
            AppError::BadRequest("У пользователя нет активных бронирований".into())
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
        BookingError::SameStream => {
            AppError::Conflict("Пользователь уже находится в этом потоке".into())
        }
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
        .into_updates()?;
    let change = Change {
        target: patch.booking_id.map_or(Target::LatestActive, |id| Target::Id(id.get())),
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

/// Body of `PATCH /api/users/{id}/stream`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StreamMove {
    /// The stream to move into: a registry stream of the booking's course.
    #[serde(rename = "newStream", default, deserialize_with = "new_stream")]
    #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{1,50}$", required = true)]
    new_stream: Option<StreamCode>,
    /// Move into a stream past its capacity.
    #[serde(default, deserialize_with = "force")]
    #[schema(default = false)]
    force: bool,
}

const NEW_STREAM_MESSAGE: &str = "newStream must be a stream code";

fn new_stream<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StreamCode>, D::Error> {
    let raw: String = or_say(d, NEW_STREAM_MESSAGE)?;
    StreamCode::parse(&raw)
        .map(Some)
        .map_err(|_| de::Error::custom(NEW_STREAM_MESSAGE))
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
