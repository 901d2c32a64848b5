//! The stream page's head in numbers: bookings and people labelled apart,
//! places taken by people, and the stale pending flag (as on `/workshops`).

use super::{StreamPage, View, stream_path};
use crate::domain::booking::BookingStatus;
use crate::web::error::AppError;
use crate::web::words::pages as words;

/// The stream page listing its pending bookings older than `days` days:
/// where a stale flag links.
pub fn stale_path(course_id: i32, code: &str, days: u32) -> String {
    format!(
        "{}?status=pending&older_than_days={days}",
        stream_path(course_id, code)
    )
}

impl View {
    /// `?status=` with `?older_than_days=`: the days need `status=pending`
    /// and are a whole number from 1 to 365 (blank: not given).
    pub(super) fn parse_with_age(
        status: Option<&str>,
        older_than_days: Option<&str>,
    ) -> Result<Self, AppError> {
        let view = Self::parse(status)?;
        let days = match older_than_days.unwrap_or_default() {
            "" => return Ok(view),
            raw => raw,
        };
        let refused = || AppError::BadRequest(words::stream::OLDER_THAN_DAYS.to_owned());
        if view != Self::Students(Some(BookingStatus::Pending))
            || days.starts_with('0')
            || !days.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(refused());
        }
        match days.parse::<u32>() {
            Ok(days @ 1..=365) => Ok(Self::Stale(days)),
            _ => Err(refused()),
        }
    }
}

impl StreamPage {
    /// Places taken by people whose standing is not cancelled.
    pub(super) fn taken(&self) -> i64 {
        self.numbers.people.taken()
    }

    /// «7 из 30 мест», when the stream has a limit.
    pub(super) fn places(&self) -> Option<String> {
        self.stream
            .capacity
            .map(|capacity| words::stream::places(self.taken(), capacity))
    }

    /// People beyond the capacity.
    pub(super) fn over(&self) -> i64 {
        self.numbers.people.over_capacity(self.stream.capacity)
    }

    pub(super) fn overflow(&self) -> String {
        words::stream::overflow(self.over())
    }

    pub(super) fn stale_text(&self) -> String {
        words::stream::stale_pending(self.numbers.stale_pending, self.stale_days)
    }

    pub(super) fn stale_href(&self) -> String {
        stale_path(self.stream.course_id, &self.stream.code, self.stale_days)
    }

    pub(super) fn is_stale(&self) -> bool {
        matches!(self.view, View::Stale(_))
    }

    /// The listed stale bookings' age, as the heading says it.
    pub(super) fn stale_view_text(&self) -> String {
        match self.view {
            View::Stale(days) => words::stream::stale_pending(self.total, days),
            _ => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_age_needs_pending_and_whole_days_from_1_to_365() {
        let parse = |status, days| View::parse_with_age(Some(status), Some(days));
        assert_eq!(parse("pending", "3").unwrap(), View::Stale(3));
        assert_eq!(parse("pending", "365").unwrap(), View::Stale(365));
        assert_eq!(
            parse("pending", "").unwrap(),
            View::Students(Some(BookingStatus::Pending))
        );
        assert_eq!(View::Stale(3).param(), Some("pending"));
        assert_eq!(View::Stale(3).older_than_days(), Some(3));
        for (status, days) in [
            ("pending", "0"),
            ("pending", "366"),
            ("pending", "03"),
            ("pending", "+3"),
            ("pending", " 3"),
            ("pending", "3d"),
            ("pending", "4294967296"),
            ("confirmed", "3"),
            ("viewers", "3"),
            ("", "3"),
        ] {
            let err = parse(status, days).unwrap_err();
            assert!(
                matches!(&err, AppError::BadRequest(m) if m.contains("older_than_days")),
                "{status} {days}: {err:?}"
            );
        }
        assert_eq!(
            stale_path(1, "8th_stream", 3),
            "/workshops/1/8th_stream?status=pending&older_than_days=3"
        );
    }
}
