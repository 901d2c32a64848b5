//! The rules of a staff change to a booking, applied while the booking row
//! (and the target stream's registry row) is locked: only allowed status
//! transitions, only active registry streams of the booking's course, and
//! the stream's capacity unless forced. The API and the user page both
//! decide through [`apply`] and [`move_to`], so they can't disagree.

use super::booking::{BookingStatus, DiscountPercent, ReferralCode, TransitionError};
use super::stream::StreamCode;

/// A booking's editable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editable {
    pub confirmed: Option<i32>,
    pub course_stream: Option<String>,
    pub referral_code: Option<String>,
    pub discount_percent: Option<i32>,
}

/// A registry stream as a move into it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamSlot {
    pub course_id: i32,
    pub capacity: Option<i32>,
    pub archived: bool,
    /// Bookings in it that are not cancelled.
    pub taken: i64,
}

/// What a change sees while the booking is locked.
#[derive(Debug, Clone, Copy)]
pub struct Locked<'a> {
    /// The booking's course.
    pub course_id: Option<i32>,
    pub current: &'a Editable,
    /// The registry entry of the stream the change moves into, when it moves
    /// into one that is registered.
    pub new_stream: Option<&'a StreamSlot>,
}

/// The requested changes, validated field by field.
#[derive(Debug, Default, Clone)]
pub struct Updates {
    pub confirmed: Option<BookingStatus>,
    /// `Some(None)` clears the stream.
    pub course_stream: Option<Option<StreamCode>>,
    pub referral_code: Option<Option<ReferralCode>>,
    pub discount_percent: Option<Option<DiscountPercent>>,
}

/// Why the rules refused a change.
#[derive(Debug)]
pub enum Refusal {
    Transition(TransitionError),
    UnknownStream(String),
    Archived(String),
    Full { code: String, capacity: i32 },
    SameStream,
}

/// Applies `updates` to the locked booking under the business rules.
pub fn apply(locked: Locked<'_>, updates: &Updates, force: bool) -> Result<Editable, Refusal> {
    let current = locked.current;
    let mut next = current.clone();
    if let Some(target) = updates.confirmed {
        BookingStatus::from_raw(current.confirmed)
            .check_change(target)
            .map_err(Refusal::Transition)?;
        next.confirmed = target.raw();
    }
    if let Some(stream) = &updates.course_stream {
        match stream {
            None => next.course_stream = None,
            Some(code) => {
                let code = code.as_str();
                let slot = locked
                    .new_stream
                    .filter(|slot| Some(slot.course_id) == locked.course_id)
                    .ok_or_else(|| Refusal::UnknownStream(code.to_owned()))?;
                if slot.archived {
                    return Err(Refusal::Archived(code.to_owned()));
                }
                let moving = current.course_stream.as_deref() != Some(code);
                if let Some(capacity) = slot.capacity
                    && moving
                    && slot.taken >= i64::from(capacity)
                    && !force
                {
                    return Err(Refusal::Full {
                        code: code.to_owned(),
                        capacity,
                    });
                }
                next.course_stream = Some(code.to_owned());
            }
        }
    }
    if let Some(code) = &updates.referral_code {
        next.referral_code = code.as_ref().map(|code| code.as_str().to_owned());
    }
    if let Some(discount) = updates.discount_percent {
        next.discount_percent = discount.map(DiscountPercent::get);
    }
    Ok(next)
}

/// Moves the locked booking into the stream `code` (not the one it is in).
pub fn move_to(locked: Locked<'_>, code: &StreamCode, force: bool) -> Result<Editable, Refusal> {
    if locked.current.course_stream.as_deref() == Some(code.as_str()) {
        return Err(Refusal::SameStream);
    }
    let updates = Updates {
        course_stream: Some(Some(code.clone())),
        ..Updates::default()
    };
    apply(locked, &updates, force)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(confirmed: i32, stream: &str) -> Editable {
        Editable {
            confirmed: Some(confirmed),
            course_stream: Some(stream.to_owned()),
            referral_code: None,
            discount_percent: Some(0),
        }
    }

    fn slot(course_id: i32, capacity: Option<i32>, archived: bool, taken: i64) -> StreamSlot {
        StreamSlot {
            course_id,
            capacity,
            archived,
            taken,
        }
    }

    fn code(raw: &str) -> StreamCode {
        StreamCode::parse(raw).unwrap()
    }

    #[test]
    fn status_changes_follow_the_allowed_transitions() {
        let current = booking(0, "8th_stream");
        let locked = Locked {
            course_id: Some(1),
            current: &current,
            new_stream: None,
        };
        let confirm = Updates {
            confirmed: Some(BookingStatus::Confirmed),
            ..Updates::default()
        };
        assert_eq!(apply(locked, &confirm, false).unwrap().confirmed, Some(2));
        let cancelled = booking(-1, "8th_stream");
        let to_confirmed = apply(
            Locked {
                current: &cancelled,
                ..locked
            },
            &confirm,
            false,
        );
        assert!(matches!(to_confirmed, Err(Refusal::Transition(_))));
    }

    #[test]
    fn moves_need_an_active_stream_of_the_course_with_room() {
        let current = booking(2, "7th_stream");
        let mv = |new: Option<&StreamSlot>, force: bool| {
            move_to(
                Locked {
                    course_id: Some(1),
                    current: &current,
                    new_stream: new,
                },
                &code("8th_stream"),
                force,
            )
        };
        let open = slot(1, Some(3), false, 2);
        assert_eq!(
            mv(Some(&open), false).unwrap().course_stream.as_deref(),
            Some("8th_stream")
        );
        assert!(matches!(mv(None, false), Err(Refusal::UnknownStream(_))));
        let other_course = slot(2, None, false, 0);
        assert!(matches!(
            mv(Some(&other_course), false),
            Err(Refusal::UnknownStream(_))
        ));
        let archived = slot(1, None, true, 0);
        assert!(matches!(
            mv(Some(&archived), true),
            Err(Refusal::Archived(_))
        ));
        let full = slot(1, Some(2), false, 2);
        assert!(matches!(
            mv(Some(&full), false),
            Err(Refusal::Full { capacity: 2, .. })
        ));
        assert!(mv(Some(&full), true).is_ok(), "force goes past capacity");
        let same = move_to(
            Locked {
                course_id: Some(1),
                current: &current,
                new_stream: Some(&open),
            },
            &code("7th_stream"),
            false,
        );
        assert!(matches!(same, Err(Refusal::SameStream)));
    }
}
