//! Analytics rules without I/O: date ranges of school days, percentages and
//! averages as the pages and the API show them, and what staff call event
//! and lesson types (lead tiers are in [`super::lead`]). The
//! definitions themselves are written down in `docs/analytics.md`.

use chrono::{DateTime, Days, NaiveDate, Utc};
use chrono_tz::Tz;

/// The longest range any card or API call covers.
pub const MAX_DAYS: i64 = 365;
/// The range buttons of `/analytics`.
pub const PRESETS: [i64; 3] = [7, 30, 90];
/// Lead scores count events over this many school days.
pub const LEAD_WINDOW_DAYS: i64 = 7;

pub use super::lead::Tier;

/// Consecutive school days, both ends included: `from` 00:00 to the end of
/// `to` in the school's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("days must be an integer between 1 and {MAX_DAYS}")]
    Days,
    #[error("from and to must be dates as YYYY-MM-DD")]
    Date,
    #[error("from and to go together: give both or neither")]
    Incomplete,
    #[error("give either days or from and to, not both")]
    Both,
    #[error("from must not be after to")]
    Reversed,
    #[error("to must not be after today")]
    Future,
    #[error("a range covers at most {MAX_DAYS} days")]
    TooLong,
}

impl DateRange {
    /// The `days` school days ending today.
    pub fn last_days(today: NaiveDate, days: i64) -> Result<Self, RangeError> {
        if !(1..=MAX_DAYS).contains(&days) {
            return Err(RangeError::Days);
        }
        let from = today - Days::new(days as u64 - 1);
        Ok(Self { from, to: today })
    }

    /// `from` to `to`; not reversed, not past today, at most [`MAX_DAYS`].
    pub fn between(from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Result<Self, RangeError> {
        if from > to {
            return Err(RangeError::Reversed);
        }
        if to > today {
            return Err(RangeError::Future);
        }
        let range = Self { from, to };
        if range.days() > MAX_DAYS {
            return Err(RangeError::TooLong);
        }
        Ok(range)
    }

    /// From the raw `days`, `from` and `to` parameters: `days` alone, `from`
    /// and `to` together, or nothing (`default_days`). A blank value is an
    /// error here; a form's blank fields should be dropped before.
    pub fn parse(
        days: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        today: NaiveDate,
        default_days: i64,
    ) -> Result<Self, RangeError> {
        match (days, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(RangeError::Both),
            (Some(days), None, None) => {
                let days = strict_days(days).ok_or(RangeError::Days)?;
                Self::last_days(today, days)
            }
            (None, Some(from), Some(to)) => {
                let from = parse_date(from).ok_or(RangeError::Date)?;
                let to = parse_date(to).ok_or(RangeError::Date)?;
                Self::between(from, to, today)
            }
            (None, Some(_), None) | (None, None, Some(_)) => Err(RangeError::Incomplete),
            (None, None, None) => Self::last_days(today, default_days),
        }
    }

    pub fn from(&self) -> NaiveDate {
        self.from
    }

    pub fn to(&self) -> NaiveDate {
        self.to
    }

    /// How many days the range covers: what averages divide by.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// Every day of the range, in order.
    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let from = self.from;
        (0..self.days() as u64).map(move |n| from + Days::new(n))
    }

    /// `Some(n)` when this is the preset "last n days" as of `today`.
    pub fn preset(&self, today: NaiveDate) -> Option<i64> {
        (self.to == today).then(|| self.days())
    }

    /// The [`LEAD_WINDOW_DAYS`] school days ending on the range's last day:
    /// the week lead scores count.
    pub fn lead_window(&self) -> DateRange {
        Self {
            from: self.to - Days::new(LEAD_WINDOW_DAYS as u64 - 1),
            to: self.to,
        }
    }
}

/// Midnight at the start of `day` in the school's zone `tz` (an hour later
/// where DST skips midnight).
pub fn day_start(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists");
    midnight
        .and_local_timezone(tz)
        .earliest()
        .or_else(|| {
            (midnight + chrono::Duration::hours(1))
                .and_local_timezone(tz)
                .earliest()
        })
        .expect("an hour after a skipped midnight exists")
        .with_timezone(&Utc)
}

/// The instants a range of school days covers: `[start, end)`.
pub fn bounds(range: &DateRange, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        day_start(range.from(), tz),
        day_start(range.to() + Days::new(1), tz),
    )
}

/// `1`..`365` as digits only (no sign, no spaces, no fractions).
fn strict_days(raw: &str) -> Option<i64> {
    (!raw.is_empty() && raw.len() <= 3 && raw.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw.parse().ok())
        .flatten()
}

/// A calendar date written exactly as `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Option<NaiveDate> {
    let bytes = raw.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    shaped
        .then(|| NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok())
        .flatten()
}

/// `part` ÷ `whole` × 100 to one decimal (halves away from zero); 0 when
/// `whole` is 0.
pub fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 1000.0 / whole as f64).round() / 10.0
    }
}

/// `total` ÷ `days` to one decimal.
pub fn average(total: i64, days: i64) -> f64 {
    if days == 0 {
        0.0
    } else {
        (total as f64 * 10.0 / days as f64).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(raw: &str) -> NaiveDate {
        parse_date(raw).unwrap()
    }

    #[test]
    fn presets_end_today_and_count_every_day() {
        let today = day("2026-11-21");
        let week = DateRange::last_days(today, 7).unwrap();
        assert_eq!(
            (week.from(), week.to(), week.days()),
            (day("2026-11-15"), today, 7)
        );
        assert_eq!(week.dates().count(), 7);
        assert_eq!(week.preset(today), Some(7));
        assert_eq!(DateRange::last_days(today, 1).unwrap().from(), today);
        for bad in [0, 366, -1] {
            assert_eq!(DateRange::last_days(today, bad), Err(RangeError::Days));
        }
    }

    #[test]
    fn parameters_are_strict() {
        let today = day("2026-11-21");
        let parse = |d, f, t| DateRange::parse(d, f, t, today, 30);
        assert_eq!(parse(None, None, None).unwrap().days(), 30);
        assert_eq!(parse(Some(""), None, None), Err(RangeError::Days));
        assert_eq!(parse(None, Some(""), Some("")), Err(RangeError::Date));
        assert_eq!(parse(Some("90"), None, None).unwrap().days(), 90);
        let custom = parse(None, Some("2026-02-27"), Some("2026-03-02")).unwrap();
        assert_eq!(custom.days(), 4);
        assert_eq!(custom.preset(today), None);
        for bad in ["0", "366", "1.5", "7d", "+7", " 7", "-7", "0x1", "1000"] {
            assert_eq!(parse(Some(bad), None, None), Err(RangeError::Days), "{bad}");
        }
        for bad in [
            "2026-2-01",
            "2026-02-30",
            "01.02.2026",
            "2026-02-01T00:00",
            "２０２６-01-01",
        ] {
            assert_eq!(
                parse(None, Some(bad), Some("2026-03-01")),
                Err(RangeError::Date),
                "{bad}"
            );
        }
        assert_eq!(
            parse(Some("7"), Some("2026-01-01"), None),
            Err(RangeError::Both)
        );
        assert_eq!(
            parse(None, Some("2026-01-01"), None),
            Err(RangeError::Incomplete)
        );
        assert_eq!(
            parse(None, None, Some("2026-01-01")),
            Err(RangeError::Incomplete)
        );
        assert_eq!(
            parse(None, Some("2026-03-02"), Some("2026-03-01")),
            Err(RangeError::Reversed)
        );
        assert_eq!(
            parse(None, Some("2026-11-01"), Some("2026-11-22")),
            Err(RangeError::Future)
        );
        assert_eq!(
            parse(None, Some("2025-11-20"), Some("2026-11-20")),
            Err(RangeError::TooLong)
        );
        assert_eq!(
            parse(None, Some("2025-11-21"), Some("2026-11-20"))
                .unwrap()
                .days(),
            365
        );
    }

    #[test]
    fn the_lead_window_is_the_week_ending_on_the_last_day() {
        let range = DateRange::between(day("2026-10-01"), day("2026-10-31"), day("2026-11-21"));
        let window = range.unwrap().lead_window();
        assert_eq!(
            (window.from(), window.to()),
            (day("2026-10-25"), day("2026-10-31"))
        );
    }

    #[test]
    fn school_days_start_at_local_midnight() {
        let moscow = chrono_tz::Europe::Moscow;
        assert_eq!(
            day_start(day("2026-11-11"), moscow).to_rfc3339(),
            "2026-11-10T21:00:00+00:00"
        );
        let range = DateRange::between(day("2026-11-11"), day("2026-11-11"), day("2026-11-21"));
        let (start, end) = bounds(&range.unwrap(), moscow);
        assert_eq!((end - start).num_hours(), 24);
        // São Paulo skipped midnight on 2018-11-04: that day began at 01:00.
        let sao_paulo = chrono_tz::America::Sao_Paulo;
        assert_eq!(
            day_start(day("2018-11-04"), sao_paulo).to_rfc3339(),
            "2018-11-04T03:00:00+00:00"
        );
    }

    #[test]
    fn percentages_and_averages_have_one_decimal() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(2, 3), 66.7);
        assert_eq!(percent(1, 8), 12.5);
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(average(10, 4), 2.5);
        assert_eq!(average(1, 3), 0.3);
        assert_eq!(average(5, 0), 0.0);
    }
}
