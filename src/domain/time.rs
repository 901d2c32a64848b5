//! How instants are written for machines.

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 in UTC with milliseconds (`2026-11-01T10:00:00.000Z`), the one
/// form API.md and the idempotency digests use.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}
