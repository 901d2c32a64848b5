//! Broadcasts as staff see and steer them: create (idempotently), read,
//! list, and the actions of API.md. What the delivery engine does with them
//! is in [`super::delivery`].

mod commands;
mod create;
mod read;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::broadcast::{BroadcastStatus, RecipientStatus};
use crate::domain::content::Content;
use crate::domain::reason::Reason;

pub(super) use commands::DELETABLE;
pub use commands::{Command, CommandError, DELETE_WINDOW_HOURS, command, record_test_send};
pub use create::{CreateError, Created, Earlier, NewBroadcast, When, create, earlier};
pub use read::{Filter, Recipient, get, list, recipient_total, recipients, store_counts};

/// Recipients per delivery status. `total` counts every row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub total: i64,
    pub pending: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub blocked: i64,
    pub unknown: i64,
    pub skipped: i64,
    pub deleted: i64,
}

impl Counts {
    fn add(&mut self, status: &str, n: i64) {
        self.total += n;
        let slot = match status.parse::<RecipientStatus>().ok() {
            Some(RecipientStatus::Pending) => &mut self.pending,
            Some(RecipientStatus::Sending) => &mut self.sending,
            Some(RecipientStatus::Sent) => &mut self.sent,
            Some(RecipientStatus::Failed) => &mut self.failed,
            Some(RecipientStatus::Blocked) => &mut self.blocked,
            Some(RecipientStatus::Skipped) => &mut self.skipped,
            Some(RecipientStatus::Deleted) => &mut self.deleted,
            // The old dashboard's odd values count as unknown outcomes.
            Some(RecipientStatus::Unknown) | None => &mut self.unknown,
        };
        *slot += n;
    }

    /// Each delivery status with its count, outcomes first, in the order
    /// the pages list them.
    pub fn by_status(&self) -> [(RecipientStatus, i64); 8] {
        [
            (RecipientStatus::Sent, self.sent),
            (RecipientStatus::Failed, self.failed),
            (RecipientStatus::Blocked, self.blocked),
            (RecipientStatus::Pending, self.pending),
            (RecipientStatus::Sending, self.sending),
            (RecipientStatus::Unknown, self.unknown),
            (RecipientStatus::Skipped, self.skipped),
            (RecipientStatus::Deleted, self.deleted),
        ]
    }

    /// Still to go: waiting or in flight.
    pub fn remaining(&self) -> i64 {
        self.pending + self.sending
    }
}

/// A broadcast as stored. Content fields are raw: legacy rows hold whatever
/// the old dashboard wrote.
#[derive(Debug, Clone)]
pub struct Broadcast {
    pub id: i32,
    pub legacy: bool,
    pub status: BroadcastStatus,
    pub content_type: String,
    pub text: String,
    pub file_id: Option<String>,
    pub buttons: Value,
    pub link_preview: bool,
    /// `domain::audience::Audience` as JSON; `None` for legacy broadcasts.
    pub audience: Option<Value>,
    pub recipient_type: Option<String>,
    pub recipient_group: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub created_by: Option<String>,
    pub scheduled_by: Option<String>,
    pub cancelled_by: Option<String>,
    pub status_reason: Option<Reason>,
    pub delete_requested_at: Option<DateTime<Utc>>,
    pub counts: Counts,
    /// Deliveries in the last [`RATE_WINDOW_SECS`] (or since the start, if
    /// later) and that window in seconds; only while sending.
    pub recent: Option<(i64, f64)>,
}

/// The window the send rate is measured over.
pub const RATE_WINDOW_SECS: f64 = 60.0;

impl Broadcast {
    /// The content, if it is (still) valid.
    pub fn content(&self) -> Option<Content> {
        Content::from_stored(
            &self.content_type,
            &self.text,
            self.file_id.as_deref(),
            &self.buttons,
            self.link_preview,
        )
        .ok()
    }

    /// Messages per second lately, while sending.
    pub fn rate_per_sec(&self) -> Option<f64> {
        let (sent, window) = self.recent?;
        (window > 0.0).then(|| sent as f64 / window)
    }

    /// Seconds until the remaining recipients are done at the measured rate,
    /// or at `configured_rate` before there is one.
    pub fn eta_seconds(&self, configured_rate: u32) -> Option<i64> {
        if self.status != BroadcastStatus::Sending {
            return None;
        }
        let rate = self
            .rate_per_sec()
            .filter(|rate| *rate > 0.0)
            .unwrap_or(f64::from(configured_rate.max(1)));
        Some((self.counts.remaining() as f64 / rate).ceil() as i64)
    }

    /// The content in the API.md JSON shape; legacy text as it was stored.
    pub fn content_json(&self) -> Value {
        match self.content() {
            Some(content) => content.to_json(),
            None => json!({
                "type": self.content_type,
                "text": self.text,
                "file_id": self.file_id,
                "buttons": self.buttons,
                "link_preview": self.link_preview,
            }),
        }
    }
}
