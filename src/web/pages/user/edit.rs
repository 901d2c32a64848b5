//! The user page's forms: a booking's edit form and «move to stream». Both
//! are the use cases of `app::bookings`, as the PATCH routes are, so page
//! and API can't disagree.
//! Success redirects (303) back with a notice; a refusal re-renders the page
//! with the reason and what was typed.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{BookingForm, Problem, render, user_id};
use crate::app::bookings::{self as use_case, BookingError, Change};
use crate::domain::booking::{BookingStatus, DiscountPercent, ReferralCode};
use crate::domain::booking_change::Updates;
use crate::domain::input::{BookingId, UserId};
use crate::domain::stream::StreamCode;
use crate::store::bookings::Target;
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Form, Path};
use crate::web::words::Label;
use crate::web::words::pages as words;

fn redirect(location: String) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

/// A refusal in words, with the status the page is sent with and whether
/// the booking changed meanwhile.
fn refusal(err: BookingError) -> Result<(StatusCode, String, bool), AppError> {
    let conflict = |message: String| (StatusCode::CONFLICT, message, false);
    let unprocessable = |message: String| (StatusCode::UNPROCESSABLE_ENTITY, message, false);
    Ok(match err {
        BookingError::UnknownUser => {
            return Err(AppError::NotFound(words::USER_NOT_FOUND.to_owned()));
        }
        BookingError::NotFound => {
            return Err(AppError::NotFound(
                words::users::BOOKING_NOT_FOUND.to_owned(),
            ));
        }
        BookingError::Db(err) => return Err(err.into()),
        BookingError::NoActiveBooking => conflict(words::users::NO_ACTIVE_BOOKING.to_owned()),
        BookingError::Stale => (
            StatusCode::CONFLICT,
            words::users::STALE_BOOKING.to_owned(),
            true,
        ),
        BookingError::Transition(err) => conflict(words::users::bad_transition(
            err.from.label(),
            err.to.label(),
        )),
        BookingError::UnknownStream(code) => {
            unprocessable(words::users::stream_not_in_course(&code))
        }
        BookingError::Archived(code) => unprocessable(words::users::stream_archived(&code)),
        BookingError::Full { code, capacity } => {
            conflict(words::users::stream_full(&code, capacity))
        }
        BookingError::SameStream => conflict(words::users::ALREADY_IN_STREAM.to_owned()),
    })
}

/// The form's fields as the PATCH route's updates: the form always sends
/// every field (the use case keeps what is unchanged as it is); a blank
/// stream clears it. Messages name the field.
fn updates(form: &BookingForm) -> Result<Updates, &'static str> {
    let text = |field: &Option<String>| field.as_deref().unwrap_or_default().trim().to_owned();
    let confirmed = match text(&form.confirmed).as_str() {
        "" => None,
        raw => Some(
            BookingStatus::parse_raw_param(raw)
                .filter(|s| *s != BookingStatus::New)
                .ok_or(words::users::STATUS_CHOICE)?,
        ),
    };
    let stream = match text(&form.course_stream).as_str() {
        "" => None,
        raw => Some(StreamCode::parse(raw).map_err(|_| words::users::STREAM_CHOICE)?),
    };
    let referral_code = match text(&form.referral_code).as_str() {
        "" => None,
        raw => Some(ReferralCode::parse(raw).map_err(|_| words::users::BAD_REFERRAL_CODE)?),
    };
    let discount_percent = match text(&form.discount_percent).as_str() {
        "" => None,
        raw => Some(
            raw.parse::<i64>()
                .ok()
                .and_then(|n| DiscountPercent::new(n).ok())
                .ok_or(words::users::BAD_DISCOUNT)?,
        ),
    };
    Ok(Updates {
        confirmed,
        course_stream: Some(stream),
        referral_code: Some(referral_code),
        discount_percent: Some(discount_percent),
    })
}

/// `POST /users/{id}/bookings/{booking}`: the booking's edit form.
#[tracing::instrument(skip_all, fields(booking))]
pub async fn update_booking(
    State(state): State<AppState>,
    principal: Principal,
    Path((raw_user, raw_booking)): Path<(String, String)>,
    Form(form): Form<BookingForm>,
) -> Result<Response, AppError> {
    let user_id = user_id(&raw_user)?;
    let booking_id = BookingId::parse(&raw_booking)
        .ok_or_else(|| AppError::NotFound(words::users::BOOKING_NOT_FOUND.to_owned()))?
        .get();
    tracing::Span::current().record("booking", booking_id);
    let problem = |status: StatusCode, message: String, stale: bool| {
        (
            status,
            Problem {
                message,
                stale,
                booking_id: Some(booking_id),
                form: Some(form.clone()),
            },
        )
    };
    let outcome = match updates(&form) {
        Err(message) => Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            message.to_owned(),
            false,
        )),
        Ok(updates) => {
            let change = Change {
                target: Target::Id(booking_id),
                updates,
                version: Some(form.version.clone().unwrap_or_default()),
                force: form.force.is_some(),
            };
            match use_case::update(&state.context(&principal), UserId(user_id), change).await {
                Ok(_) => Ok(()),
                Err(err) => {
                    let (status, message, stale) = refusal(err)?;
                    Err(problem(status, message, stale))
                }
            }
        }
    };
    match outcome {
        Ok(()) => Ok(redirect(format!(
            "/users/{user_id}?notice=saved#booking-{booking_id}"
        ))),
        Err((status, problem)) => {
            render(&state, &principal, user_id, 1, None, Some(problem), status).await
        }
    }
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct MoveForm {
    new_stream: Option<String>,
    force: Option<String>,
}

/// `POST /users/{id}/stream`: moves the latest active booking, as
/// `PATCH /api/users/{id}/stream` does.
#[tracing::instrument(skip_all)]
pub async fn move_stream(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw_user): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let user_id = user_id(&raw_user)?;
    let problem = |status: StatusCode, message: String| {
        Problem {
            message,
            stale: false,
            booking_id: None,
            form: None,
        }
        .with_status(status)
    };
    let outcome = match StreamCode::parse(form.new_stream.as_deref().unwrap_or_default().trim()) {
        Err(_) => Err(problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            words::users::CHOOSE_STREAM.to_owned(),
        )),
        Ok(code) => {
            let force = form.force.is_some();
            let ctx = state.context(&principal);
            match use_case::move_stream(&ctx, UserId(user_id), &code, force).await {
                Ok(_) => Ok(()),
                Err(err) => {
                    let (status, message, _) = refusal(err)?;
                    Err(problem(status, message))
                }
            }
        }
    };
    match outcome {
        Ok(()) => Ok(redirect(format!("/users/{user_id}?notice=moved"))),
        Err((status, problem)) => {
            render(&state, &principal, user_id, 1, None, Some(problem), status).await
        }
    }
}

impl Problem {
    fn with_status(self, status: StatusCode) -> (StatusCode, Self) {
        (status, self)
    }
}
