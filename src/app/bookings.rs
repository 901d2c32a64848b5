//! Booking changes: editing one booking (status, stream, referral code,
//! discount) and moving a user's latest active booking to another stream.
//! Each exists only here; the JSON API and the user page differ only in how
//! they read the request and how they answer.
//!
//! One rule for both adapters: **a field set to the value it already has is
//! no change to that field.** The same status is not a transition (so it is
//! not checked against the transition table), the same stream is not a move
//! (so it is not checked against the registry, archive or capacity: a
//! booking may keep a stream that is unregistered or archived). The change is
//! still saved and audited like any other. Moving to another stream
//! ([`move_stream`]) is different: it asks for a move, so the stream the
//! booking is already in is refused ([`BookingError::SameStream`]).

use crate::domain::booking::{BookingStatus, TransitionError};
use crate::domain::booking_change::{Editable, Refusal, Updates, apply};
use crate::domain::input::UserId;
use crate::domain::stream::StreamCode;
use crate::store::bookings::{self, BookingRow, ChangeError, ChangeRequest, Target};

use super::Context;

/// Why a booking was not changed.
#[derive(Debug, thiserror::Error)]
pub enum BookingError {
    /// The user appears in no bot table.
    #[error("user not found")]
    UnknownUser,
    /// No such booking, or it belongs to another user.
    #[error("booking not found")]
    NotFound,
    /// The user has no booking that is not cancelled.
    #[error("the user has no active booking")]
    NoActiveBooking,
    /// The version the client saw is not the current one.
    #[error("the booking was changed by someone else")]
    Stale,
    #[error(transparent)]
    Transition(TransitionError),
    /// Not a registry stream of the booking's course.
    #[error("unknown stream {0}")]
    UnknownStream(String),
    #[error("stream {0} is archived")]
    Archived(String),
    #[error("stream {code} is full")]
    Full { code: String, capacity: i32 },
    /// A move into the stream the booking is already in.
    #[error("the booking is already in this stream")]
    SameStream,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<ChangeError<Refusal>> for BookingError {
    fn from(err: ChangeError<Refusal>) -> Self {
        match err {
            ChangeError::NotFound => Self::NotFound,
            ChangeError::NoActiveBooking => Self::NoActiveBooking,
            ChangeError::Stale => Self::Stale,
            ChangeError::Database(err) => Self::Db(err),
            ChangeError::Refused(refusal) => match refusal {
                Refusal::Transition(err) => Self::Transition(err),
                Refusal::UnknownStream(code) => Self::UnknownStream(code),
                Refusal::Archived(code) => Self::Archived(code),
                Refusal::Full { code, capacity } => Self::Full { code, capacity },
                Refusal::SameStream => Self::SameStream,
            },
        }
    }
}

/// A checked request to change one booking.
#[derive(Debug, Clone)]
pub struct Change {
    pub target: Target,
    pub updates: Updates,
    /// The version the client saw; `None` skips the check.
    pub version: Option<String>,
    /// Move into a stream past its capacity.
    pub force: bool,
}

/// `updates` without the fields that would set what `current` already has
/// (the rule in the module's doc).
pub fn effective(updates: &Updates, current: &Editable) -> Updates {
    let mut effective = updates.clone();
    if effective.confirmed == Some(BookingStatus::from_raw(current.confirmed)) {
        effective.confirmed = None;
    }
    if let Some(stream) = &effective.course_stream
        && stream.as_ref().map(StreamCode::as_str) == current.course_stream.as_deref()
    {
        effective.course_stream = None;
    }
    effective
}

/// Refuses a user the bot does not know.
#[tracing::instrument(skip_all, fields(user_id = user.get()))]
pub async fn known_user(pool: &sqlx::PgPool, user: UserId) -> Result<(), BookingError> {
    if bookings::user_is_known(pool, user.get()).await? {
        Ok(())
    } else {
        Err(BookingError::UnknownUser)
    }
}

/// Changes one booking of `user` under a row lock, by the transition table
/// and the registry (see the module's rule), audited as `booking.update`.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, user_id = user.get(), booking = ?change.target))]
pub async fn update(
    ctx: &Context<'_>,
    user: UserId,
    change: Change,
) -> Result<BookingRow, BookingError> {
    let Change {
        target,
        updates,
        version,
        force,
    } = change;
    let new_stream = updates
        .course_stream
        .clone()
        .flatten()
        .map(StreamCode::into_string);
    let mut conn = ctx.pool.acquire().await?;
    let row = bookings::change(
        &mut conn,
        &ctx.actor,
        ChangeRequest {
            action: "booking.update",
            user_id: user.get(),
            target,
            version: version.as_deref(),
            new_stream: new_stream.as_deref(),
        },
        |locked| apply(locked, &effective(&updates, locked.current), force),
    )
    .await?;
    ctx.reads.changed();
    Ok(row)
}

/// Moves the user's most recent booking that is not cancelled into the
/// stream `code` (not the one it is in), audited as `booking.move`.
#[tracing::instrument(skip_all, fields(actor = %ctx.actor.name, user_id = user.get(), stream = %code, force))]
pub async fn move_stream(
    ctx: &Context<'_>,
    user: UserId,
    code: &StreamCode,
    force: bool,
) -> Result<BookingRow, BookingError> {
    let mut conn = ctx.pool.acquire().await?;
    let row = bookings::move_latest(&mut conn, &ctx.actor, user.get(), code, force).await?;
    ctx.reads.changed();
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::{DiscountPercent, ReferralCode};

    fn current() -> Editable {
        Editable {
            confirmed: Some(2),
            course_stream: Some("zz_stream".to_owned()),
            referral_code: None,
            discount_percent: Some(0),
        }
    }

    #[test]
    fn setting_what_is_there_is_no_change_to_that_field() {
        let same = Updates {
            confirmed: Some(BookingStatus::Confirmed),
            course_stream: Some(Some(StreamCode::parse("zz_stream").unwrap())),
            referral_code: Some(Some(ReferralCode::parse("A").unwrap())),
            discount_percent: Some(Some(DiscountPercent::new(0).unwrap())),
        };
        let kept = effective(&same, &current());
        assert_eq!(kept.confirmed, None);
        assert!(kept.course_stream.is_none());
        assert!(kept.referral_code.is_some(), "other fields stay");
        assert!(kept.discount_percent.is_some());

        let other = Updates {
            confirmed: Some(BookingStatus::Cancelled),
            course_stream: Some(None),
            ..Updates::default()
        };
        let kept = effective(&other, &current());
        assert_eq!(kept.confirmed, Some(BookingStatus::Cancelled));
        assert!(
            matches!(kept.course_stream, Some(None)),
            "clearing is a change"
        );
        let no_stream = Editable {
            course_stream: None,
            ..current()
        };
        assert!(effective(&other, &no_stream).course_stream.is_none());
    }
}
