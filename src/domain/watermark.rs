//! How far an incremental reader of an append-mostly table may trust that it
//! has seen everything, when writers commit out of order.
//!
//! A writer takes its position (a serial id, or `now()` as a timestamp) when
//! it inserts, but its row becomes visible only when it commits. So a reader
//! that sees position 120 may still be missing 118, held by a transaction
//! that commits a moment later. The rule here: a position seen at time T is
//! trusted ("safe") only once a later read starts at least an overlap window
//! after T. Any row at or below it was then positioned before T, and if its
//! transaction lasted less than the window it had committed before that later
//! read, which read everything above the previous safe position and so saw
//! it. Reads always start just above `safe`, so rows in between are read
//! again until then; re-reading is harmless when applying a row is idempotent.

use chrono::{DateTime, TimeDelta, Utc};

/// A position seen by a read, and when (no earlier than the read's snapshot).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    pub position: i64,
    pub at: DateTime<Utc>,
}

/// The reader's state for one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Watermark {
    /// Every row at or below it has been read; `None`: nothing yet, so the
    /// next read takes everything.
    pub safe: Option<i64>,
    /// The newest position seen, waiting for its overlap window to pass.
    /// One slot: a newer mark seen meanwhile is dropped and simply seen again
    /// by a later read, which keeps `safe` conservative.
    pub pending: Option<Mark>,
}

impl Watermark {
    /// The state after a read that started at `started` (no later than its
    /// snapshot), read every row above `self.safe`, and saw `seen`, the
    /// highest of their positions (`None` when it found nothing).
    pub fn after_read(
        self,
        started: DateTime<Utc>,
        seen: Option<Mark>,
        overlap: TimeDelta,
    ) -> Self {
        let mut next = self;
        if let Some(pending) = next.pending
            && pending.at + overlap <= started
        {
            next.safe = Some(
                next.safe
                    .map_or(pending.position, |safe| safe.max(pending.position)),
            );
            next.pending = None;
        }
        if let Some(seen) = seen
            && next.pending.is_none()
            && next.safe.is_none_or(|safe| seen.position > safe)
        {
            next.pending = Some(seen);
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap()
    }

    const OVERLAP: TimeDelta = TimeDelta::seconds(120);

    fn mark(position: i64, seconds: i64) -> Option<Mark> {
        Some(Mark {
            position,
            at: at(seconds),
        })
    }

    #[test]
    fn a_position_becomes_safe_only_after_a_read_a_window_later() {
        let start = Watermark {
            safe: Some(100),
            pending: None,
        };
        let first = start.after_read(at(0), mark(120, 1), OVERLAP);
        assert_eq!(first.safe, Some(100), "118 may still be uncommitted");
        assert_eq!(first.pending, mark(120, 1));
        // Reads inside the window keep reading from 100.
        let second = first.after_read(at(60), mark(125, 61), OVERLAP);
        assert_eq!(second.safe, Some(100));
        assert_eq!(
            second.pending,
            mark(120, 1),
            "the older mark keeps its slot"
        );
        // A read a full window after the mark trusts it and holds the newest.
        let third = second.after_read(at(121), mark(130, 122), OVERLAP);
        assert_eq!(third.safe, Some(120));
        assert_eq!(third.pending, mark(130, 122));
    }

    #[test]
    fn quiet_reads_promote_the_pending_mark_and_then_change_nothing() {
        let state = Watermark {
            safe: Some(100),
            pending: mark(120, 0),
        };
        let promoted = state.after_read(at(200), None, OVERLAP);
        assert_eq!(
            promoted,
            Watermark {
                safe: Some(120),
                pending: None
            }
        );
        assert_eq!(promoted.after_read(at(400), None, OVERLAP), promoted);
        // Seeing only rows re-read from below `safe`'s window adds nothing.
        assert_eq!(
            promoted.after_read(at(500), mark(120, 500), OVERLAP),
            promoted
        );
    }

    #[test]
    fn an_empty_start_reads_everything_until_a_mark_is_trusted() {
        let empty = Watermark::default();
        assert_eq!(empty.after_read(at(0), None, OVERLAP), empty);
        let seen = empty.after_read(at(0), mark(7, 1), OVERLAP);
        assert_eq!(seen.safe, None);
        assert_eq!(
            seen.after_read(at(121), mark(7, 121), OVERLAP).safe,
            Some(7)
        );
    }

    #[test]
    fn the_window_is_measured_from_the_mark_to_the_start_of_the_read() {
        let state = Watermark {
            safe: None,
            pending: mark(5, 100),
        };
        assert_eq!(state.after_read(at(219), None, OVERLAP).safe, None);
        assert_eq!(state.after_read(at(220), None, OVERLAP).safe, Some(5));
    }
}
