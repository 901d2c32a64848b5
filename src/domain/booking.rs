//! Booking statuses, the changes staff may make to them, discounts and referral codes.
//!
//! The bot stores a booking's status in `bookings.confirmed INTEGER` (nullable):
//! 0 new, 1 awaiting a payment check, 2 confirmed (paid), -1 cancelled. `NULL` or
//! any other value is [`BookingStatus::Unknown`]; such bookings are shown, never dropped.

use std::fmt;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BookingStatus {
    /// `0`: a fresh request.
    New,
    /// `1`: waiting for the payment to be checked.
    Pending,
    /// `2`: paid and confirmed.
    Confirmed,
    /// `-1`: cancelled (or refunded).
    Cancelled,
    /// `NULL` or a value the bot never writes.
    Unknown,
}

impl BookingStatus {
    /// The four real statuses, in the order filters show them: confirmed, pending, cancelled, new.
    pub const FILTERABLE: [BookingStatus; 4] = [
        BookingStatus::Confirmed,
        BookingStatus::Pending,
        BookingStatus::Cancelled,
        BookingStatus::New,
    ];

    /// Maps the stored `confirmed` value; `NULL` and unexpected values become `Unknown`.
    pub fn from_raw(raw: Option<i32>) -> Self {
        match raw {
            Some(0) => BookingStatus::New,
            Some(1) => BookingStatus::Pending,
            Some(2) => BookingStatus::Confirmed,
            Some(-1) => BookingStatus::Cancelled,
            _ => BookingStatus::Unknown,
        }
    }

    /// The value to store in `confirmed`; `Unknown` has none.
    pub fn raw(self) -> Option<i32> {
        match self {
            BookingStatus::New => Some(0),
            BookingStatus::Pending => Some(1),
            BookingStatus::Confirmed => Some(2),
            BookingStatus::Cancelled => Some(-1),
            BookingStatus::Unknown => None,
        }
    }

    /// The name used in the JSON API (same as the serde form).
    pub fn api_name(self) -> &'static str {
        match self {
            BookingStatus::New => "new",
            BookingStatus::Pending => "pending",
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Unknown => "unknown",
        }
    }

    /// Parses a query/form value "-1"|"0"|"1"|"2" strictly (no spaces, no "+", no "01"); anything else → None.
    pub fn parse_raw_param(s: &str) -> Option<Self> {
        match s {
            "-1" => Some(BookingStatus::Cancelled),
            "0" => Some(BookingStatus::New),
            "1" => Some(BookingStatus::Pending),
            "2" => Some(BookingStatus::Confirmed),
            _ => None,
        }
    }

    /// Parses the API name ("confirmed" etc., not "unknown") → None otherwise.
    pub fn parse_api_name(s: &str) -> Option<Self> {
        Self::FILTERABLE
            .into_iter()
            .find(|status| status.api_name() == s)
    }

    /// How far a booking got, for a person's standing in a stream (their most
    /// advanced booking there): confirmed 4 > pending 3 > new 2 > cancelled 1
    /// > unknown 0.
    pub fn standing_rank(self) -> i32 {
        match self {
            BookingStatus::Confirmed => 4,
            BookingStatus::Pending => 3,
            BookingStatus::New => 2,
            BookingStatus::Cancelled => 1,
            BookingStatus::Unknown => 0,
        }
    }

    /// Staff may change: 0→1, 0→2, 0→−1, 1→2, 1→−1, 2→−1 (refund), −1→1 (reinstate).
    /// Nothing else (also not X→X, nothing to/from Unknown).
    pub fn can_change_to(self, target: BookingStatus) -> bool {
        use BookingStatus::*;
        matches!(
            (self, target),
            (New, Pending | Confirmed | Cancelled)
                | (Pending, Confirmed | Cancelled)
                | (Confirmed, Cancelled)
                | (Cancelled, Pending)
        )
    }

    /// The targets allowed from self, in the FILTERABLE order.
    pub fn allowed_targets(self) -> Vec<BookingStatus> {
        Self::FILTERABLE
            .into_iter()
            .filter(|&target| self.can_change_to(target))
            .collect()
    }

    /// Ok(()) or Err(TransitionError{from,to}).
    pub fn check_change(self, target: BookingStatus) -> Result<(), TransitionError> {
        if self.can_change_to(target) {
            Ok(())
        } else {
            Err(TransitionError {
                from: self,
                to: target,
            })
        }
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.api_name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot change booking status from {from} to {to}")]
pub struct TransitionError {
    pub from: BookingStatus,
    pub to: BookingStatus,
}

/// A discount in percent, 0..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DiscountPercent(u8);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("discount_percent must be an integer between 0 and 100")]
pub struct BadDiscount;

impl DiscountPercent {
    pub fn new(value: i64) -> Result<Self, BadDiscount> {
        match u8::try_from(value) {
            Ok(percent) if percent <= 100 => Ok(Self(percent)),
            _ => Err(BadDiscount),
        }
    }

    pub fn get(self) -> i32 {
        i32::from(self.0)
    }
}

/// A referral code: 1–64 characters of [A-Za-z0-9_-] (ASCII only; no trimming — " x" is invalid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("referral_code must be 1–64 characters: latin letters, digits, '_' or '-'")]
pub struct BadReferralCode;

impl ReferralCode {
    pub fn parse(raw: &str) -> Result<Self, BadReferralCode> {
        let chars_ok = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if chars_ok && (1..=64).contains(&raw.len()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BadReferralCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// [`BookingStatus::standing_rank`] in SQL, over the `confirmed` column
/// `column` (e.g. `b.confirmed`). A person's standing in a stream is the
/// booking with the highest rank (ties: the latest).
pub fn standing_rank_sql(column: &str) -> String {
    format!("CASE {column} WHEN 2 THEN 4 WHEN 1 THEN 3 WHEN 0 THEN 2 WHEN -1 THEN 1 ELSE 0 END")
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingStatus::*;

    const ALL: [BookingStatus; 5] = [New, Pending, Confirmed, Cancelled, Unknown];

    /// The allowed changes, written out from the rules rather than derived from the code.
    const ALLOWED: [(BookingStatus, BookingStatus); 7] = [
        (New, Pending),
        (New, Confirmed),
        (New, Cancelled),
        (Pending, Confirmed),
        (Pending, Cancelled),
        (Confirmed, Cancelled),
        (Cancelled, Pending),
    ];

    #[test]
    fn raw_values_map_both_ways() {
        let known = [(0, New), (1, Pending), (2, Confirmed), (-1, Cancelled)];
        for (raw, status) in known {
            assert_eq!(BookingStatus::from_raw(Some(raw)), status);
            assert_eq!(status.raw(), Some(raw));
        }
        for raw in [None, Some(3), Some(-2), Some(i32::MAX), Some(i32::MIN)] {
            assert_eq!(BookingStatus::from_raw(raw), Unknown, "{raw:?}");
        }
        assert_eq!(Unknown.raw(), None);
        for status in ALL {
            assert_eq!(BookingStatus::from_raw(status.raw()), status);
        }
    }

    #[test]
    fn api_names() {
        let table = [
            (New, "new"),
            (Pending, "pending"),
            (Confirmed, "confirmed"),
            (Cancelled, "cancelled"),
            (Unknown, "unknown"),
        ];
        for (status, api) in table {
            assert_eq!(status.api_name(), api);
            assert_eq!(status.to_string(), api);
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::Value::String(api.to_owned())
            );
        }
    }

    #[test]
    fn filterable_order() {
        assert_eq!(
            BookingStatus::FILTERABLE,
            [Confirmed, Pending, Cancelled, New]
        );
    }

    #[test]
    fn strict_raw_param_parsing() {
        assert_eq!(BookingStatus::parse_raw_param("-1"), Some(Cancelled));
        assert_eq!(BookingStatus::parse_raw_param("0"), Some(New));
        assert_eq!(BookingStatus::parse_raw_param("1"), Some(Pending));
        assert_eq!(BookingStatus::parse_raw_param("2"), Some(Confirmed));
        for bad in [
            " 2", "2 ", "+2", "02", "01", "2.0", "", "abc", "3", "-2", "-0", "--1", "- 1", "２",
        ] {
            assert_eq!(BookingStatus::parse_raw_param(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn api_name_parsing() {
        for status in BookingStatus::FILTERABLE {
            assert_eq!(
                BookingStatus::parse_api_name(status.api_name()),
                Some(status)
            );
        }
        for bad in [
            "unknown",
            "",
            "Confirmed",
            " confirmed",
            "confirmed ",
            "0",
            "ok",
        ] {
            assert_eq!(BookingStatus::parse_api_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn all_25_transitions_match_the_rules() {
        let mut allowed_count = 0;
        for from in ALL {
            for to in ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(from.can_change_to(to), expected, "{from} -> {to}");
                let checked = from.check_change(to);
                if expected {
                    allowed_count += 1;
                    assert_eq!(checked, Ok(()), "{from} -> {to}");
                } else {
                    assert_eq!(checked, Err(TransitionError { from, to }), "{from} -> {to}");
                }
            }
        }
        assert_eq!(allowed_count, ALLOWED.len());
    }

    #[test]
    fn allowed_targets_per_status() {
        assert_eq!(New.allowed_targets(), vec![Confirmed, Pending, Cancelled]);
        assert_eq!(Pending.allowed_targets(), vec![Confirmed, Cancelled]);
        assert_eq!(Confirmed.allowed_targets(), vec![Cancelled]);
        assert_eq!(Cancelled.allowed_targets(), vec![Pending]);
        assert_eq!(Unknown.allowed_targets(), Vec::<BookingStatus>::new());
    }

    #[test]
    fn transition_error_message() {
        let err = Confirmed.check_change(New).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot change booking status from confirmed to new"
        );
        assert_eq!(
            Unknown.check_change(Cancelled).unwrap_err().to_string(),
            "cannot change booking status from unknown to cancelled"
        );
    }

    #[test]
    fn discount_bounds() {
        assert_eq!(DiscountPercent::new(0).unwrap().get(), 0);
        assert_eq!(DiscountPercent::new(1).unwrap().get(), 1);
        assert_eq!(DiscountPercent::new(50).unwrap().get(), 50);
        assert_eq!(DiscountPercent::new(100).unwrap().get(), 100);
        for bad in [-1, 101, 255, 256, i64::MIN, i64::MAX] {
            assert_eq!(DiscountPercent::new(bad), Err(BadDiscount), "{bad}");
        }
        assert!(DiscountPercent::new(10).unwrap() < DiscountPercent::new(20).unwrap());
        assert_eq!(
            BadDiscount.to_string(),
            "discount_percent must be an integer between 0 and 100"
        );
    }

    #[test]
    fn referral_codes() {
        for good in ["x", "ABC_def-123", "-", "_", &"a".repeat(64)] {
            let code = ReferralCode::parse(good).unwrap();
            assert_eq!(code.as_str(), good);
            assert_eq!(code.to_string(), good);
        }
        for bad in [
            "",
            " x",
            "x ",
            "a b",
            "a.b",
            "код",
            "abcé",
            "a/b",
            "a\n",
            &"a".repeat(65),
        ] {
            assert_eq!(ReferralCode::parse(bad), Err(BadReferralCode), "{bad:?}");
        }
    }

    #[test]
    fn standing_ranks_order_statuses_and_match_the_sql() {
        let mut by_rank = ALL;
        by_rank.sort_by_key(|status| std::cmp::Reverse(status.standing_rank()));
        assert_eq!(by_rank, [Confirmed, Pending, New, Cancelled, Unknown]);
        let sql = standing_rank_sql("x");
        for status in [Confirmed, Pending, New, Cancelled] {
            let raw = status.raw().unwrap();
            assert!(
                sql.contains(&format!("WHEN {raw} THEN {}", status.standing_rank())),
                "{sql}"
            );
        }
        assert!(sql.ends_with(&format!("ELSE {} END", Unknown.standing_rank())));
    }
}
