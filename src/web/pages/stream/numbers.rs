//! The stream page's head in numbers: bookings and people labelled apart,
//! places taken by people, and the stale pending flag (as on `/workshops`).

use super::{StreamPage, View, stale_path};
use crate::web::words::pages as words;

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
        stale_path(&self.stream.code, self.stale_days)
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
