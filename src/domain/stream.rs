//! Streams (cohorts), identified by the code stored in `bookings.course_stream`
//! (e.g. `3rd_stream`, `10th_stream`, `mentoring`). No list of codes is hard-coded:
//! codes are validated by shape and ordered by rule.

use std::cmp::Ordering;
use std::fmt;

use chrono::NaiveDate;

/// A stream code: 1–50 characters of [A-Za-z0-9_-] (ASCII; no trimming):
/// `bookings.course_stream` is the bot's `VARCHAR(50)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamCode(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("stream code must be 1–50 characters: latin letters, digits, '_' or '-'")]
pub struct BadStreamCode;

impl StreamCode {
    pub fn parse(raw: &str) -> Result<Self, BadStreamCode> {
        let chars_ok = raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
        if chars_ok && (1..=50).contains(&raw.len()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(BadStreamCode)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for StreamCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stream as a client names it: a code, optionally with its course
/// (`4th_stream` or `2:4th_stream`). The bot writes the same codes for
/// different courses, so a code alone means the one course that has it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamRef {
    pub course_id: Option<i32>,
    pub code: StreamCode,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "stream must be a code (1–50 latin letters, digits, '_' or '-') or course_id:code, \
     e.g. 8th_stream or 2:4th_stream"
)]
pub struct BadStreamRef;

impl StreamRef {
    /// The stream `code` of course `course_id`.
    pub fn of(course_id: i32, code: StreamCode) -> Self {
        Self {
            course_id: Some(course_id),
            code,
        }
    }

    /// `code` or `course_id:code` (a positive course id, strict digits).
    pub fn parse(raw: &str) -> Result<Self, BadStreamRef> {
        let (course_id, code) = match raw.split_once(':') {
            Some((course, code)) => {
                let course = crate::domain::input::CourseId::parse(course).ok_or(BadStreamRef)?;
                (Some(course.get()), code)
            }
            None => (None, raw),
        };
        let code = StreamCode::parse(code).map_err(|_| BadStreamRef)?;
        Ok(Self { course_id, code })
    }
}

impl fmt::Display for StreamRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.course_id {
            Some(course_id) => f.write_str(&stream_key(course_id, self.code.as_str())),
            None => self.code.fmt(f),
        }
    }
}

/// How a stream with its course is written where one value must carry both
/// (audiences, filter options, audit rows): `course_id:code`.
pub fn stream_key(course_id: i32, code: &str) -> String {
    format!("{course_id}:{code}")
}

/// Splits off the leading run of bytes that are (or are not, per `digits`) ASCII digits.
fn split_run(s: &[u8], digits: bool) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|b| b.is_ascii_digit() != digits)
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Compares two digit runs by numeric value without parsing (no overflow).
fn cmp_digit_runs(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |run: &[u8]| -> usize { run.iter().take_while(|&&d| d == b'0').count() };
    let a = &a[strip(a)..];
    let b = &b[strip(b)..];
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// Natural comparison of codes: runs of ASCII digits compare numerically (so "3rd_stream" <
/// "10th_stream", "a2" < "a10"), other runs compare as strings (byte-wise); a digit run sorts
/// before a non-digit run at the same position; ties (e.g. "07" vs "7") are broken by plain
/// string comparison so the order is total and consistent with `Eq`. Digit runs of any length
/// compare without overflow (by length after stripping leading zeros, then lexicographically).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(cx), Some(cy)) => {
                let (dx, dy) = (cx.is_ascii_digit(), cy.is_ascii_digit());
                if dx != dy {
                    // A digit run sorts first.
                    return if dx {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    };
                }
                let (run_x, rest_x) = split_run(x, dx);
                let (run_y, rest_y) = split_run(y, dy);
                let ord = if dx {
                    cmp_digit_runs(run_x, run_y)
                } else {
                    run_x.cmp(run_y)
                };
                if ord != Ordering::Equal {
                    return ord;
                }
                x = rest_x;
                y = rest_y;
            }
        }
    }
}

/// Orders streams for display: by start date (streams with a date first, earliest first;
/// streams without a date after them), then [`natural_cmp`] on the code.
pub fn display_order(a: (Option<NaiveDate>, &str), b: (Option<NaiveDate>, &str)) -> Ordering {
    let by_date = match (a.0, b.0) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    by_date.then_with(|| natural_cmp(a.1, b.1))
}

/// The number a code starts with: "3rd_stream" → Some(3), "10th_stream" → Some(10),
/// "mentoring" → None, "" → None. A leading number too large for `u64` gives None.
pub fn leading_number(code: &str) -> Option<u64> {
    let (digits, _) = split_run(code.as_bytes(), true);
    if digits.is_empty() {
        return None;
    }
    // The run is ASCII digits only, so it is valid UTF-8; parse fails only on overflow.
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The largest capacity the registry accepts (a typo guard, far above any cohort).
pub const MAX_CAPACITY: i64 = 100_000;

/// The editable settings of a registered stream, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// 1–100 characters after trimming, no control characters.
    pub display_name: String,
    pub starts_on: Option<NaiveDate>,
    /// Places in the stream, 1..=[`MAX_CAPACITY`]; `None` means unlimited.
    pub capacity: Option<i32>,
    /// The stream of the current intake (at most one per course).
    pub is_current: bool,
    pub archived: bool,
    /// «Набор открыт с»: from when the programme's viewers count; `None`
    /// means the default ([`super::enrolment::enrolment_opens`]). Never after
    /// `starts_on`.
    pub enrolment_opens_on: Option<NaiveDate>,
}

/// Why stream settings were refused; `Display` names the field for API clients,
/// [`SettingsError::label`] says it in Russian for the pages.
#[derive(Debug, Clone, Copy, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error("displayName must be 1–100 characters without control characters")]
    DisplayName,
    #[error("startsOn must be a date YYYY-MM-DD or null")]
    StartsOn,
    #[error("capacity must be an integer from 1 to 100000, or null for no limit")]
    Capacity,
    #[error("an archived stream cannot be the current intake")]
    CurrentArchived,
    #[error("enrolmentOpensOn must be a date YYYY-MM-DD or null")]
    EnrolmentOpensOn,
    #[error("enrolmentOpensOn must not be after startsOn")]
    EnrolmentAfterStart,
}

impl Settings {
    /// Validates settings; the display name is trimmed.
    pub fn new(
        display_name: &str,
        starts_on: Option<NaiveDate>,
        capacity: Option<i64>,
        is_current: bool,
        archived: bool,
    ) -> Result<Self, SettingsError> {
        let display_name = display_name.trim();
        let length = display_name.chars().count();
        if !(1..=100).contains(&length) || display_name.chars().any(char::is_control) {
            return Err(SettingsError::DisplayName);
        }
        let capacity = match capacity {
            None => None,
            Some(n) if (1..=MAX_CAPACITY).contains(&n) => {
                Some(i32::try_from(n).map_err(|_| SettingsError::Capacity)?)
            }
            Some(_) => return Err(SettingsError::Capacity),
        };
        if is_current && archived {
            return Err(SettingsError::CurrentArchived);
        }
        Ok(Self {
            display_name: display_name.to_owned(),
            starts_on,
            capacity,
            is_current,
            archived,
            enrolment_opens_on: None,
        })
    }

    /// The same settings with «набор открыт с» set (`None`: the default),
    /// refused when it falls after the start.
    pub fn with_enrolment_opens_on(
        self,
        enrolment_opens_on: Option<NaiveDate>,
    ) -> Result<Self, SettingsError> {
        if let (Some(opens), Some(starts)) = (enrolment_opens_on, self.starts_on)
            && opens > starts
        {
            return Err(SettingsError::EnrolmentAfterStart);
        }
        Ok(Self {
            enrolment_opens_on,
            ..self
        })
    }

    /// Parses an API date strictly: exactly `YYYY-MM-DD` (no spaces, signs
    /// or short fields) and a real day; `error` names the field.
    pub fn parse_strict_date(raw: &str, error: SettingsError) -> Result<NaiveDate, SettingsError> {
        let shape_ok = raw.len() == 10
            && raw.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
        if !shape_ok {
            return Err(error);
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| error)
    }

    /// Parses a start date as typed: `YYYY-MM-DD`, or blank for none.
    pub fn parse_date(raw: &str) -> Result<Option<NaiveDate>, SettingsError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        NaiveDate::parse_from_str(raw, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| SettingsError::StartsOn)
    }

    /// Parses a capacity as typed: an integer, or blank for no limit.
    pub fn parse_capacity(raw: &str) -> Result<Option<i64>, SettingsError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse().map(Some).map_err(|_| SettingsError::Capacity)
    }
}

/// A stream code in the OpenAPI document: its shape as a pattern.
impl utoipa::PartialSchema for StreamCode {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Za-z0-9_-]{1,50}$"))
            .min_length(Some(1))
            .max_length(Some(50))
            .examples([serde_json::json!("8th_stream")])
            .into()
    }
}

impl utoipa::ToSchema for StreamCode {}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn stream_codes() {
        for good in [
            "3rd_stream",
            "10th_stream",
            "mentoring",
            "x",
            "A-b_9",
            &"s".repeat(50),
        ] {
            let code = StreamCode::parse(good).unwrap();
            assert_eq!(code.as_str(), good);
            assert_eq!(code.to_string(), good);
            assert_eq!(code.into_string(), good);
        }
        for bad in [
            "",
            " 3rd_stream",
            "3rd_stream ",
            "3rd stream",
            "3rd.stream",
            "поток",
            "streamé",
            "a/b",
            "a\t",
            &"s".repeat(51),
        ] {
            assert_eq!(StreamCode::parse(bad), Err(BadStreamCode), "{bad:?}");
        }
        assert_eq!(
            BadStreamCode.to_string(),
            "stream code must be 1–50 characters: latin letters, digits, '_' or '-'"
        );
    }

    #[test]
    fn natural_order_of_a_shuffled_list() {
        let mut codes = vec![
            "mentoring",
            "10th_stream",
            "3rd_stream",
            "8th_stream",
            "9th_stream",
            "2nd_stream",
        ];
        codes.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            codes,
            [
                "2nd_stream",
                "3rd_stream",
                "8th_stream",
                "9th_stream",
                "10th_stream",
                "mentoring"
            ]
        );
    }

    #[test]
    fn natural_cmp_basics() {
        use Ordering::*;
        let cases = [
            ("a2", "a10", Less),
            ("a10", "a2", Greater),
            ("a10", "a10", Equal),
            ("3rd_stream", "10th_stream", Less),
            ("a", "b", Less),
            ("B", "a", Less), // byte-wise
            ("a", "ab", Less),
            ("", "a", Less),
            ("", "1", Less),
            ("", "", Equal),
            ("1", "a", Less), // digit run before non-digit run
            ("a", "1", Greater),
            ("x1", "xa", Less),
            ("x1y", "x1", Greater),
            ("a1b2", "a1b10", Less),
            ("a-1", "a_1", Less),
        ];
        for (a, b, expected) in cases {
            assert_eq!(natural_cmp(a, b), expected, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn leading_zero_ties_are_consistent_with_eq() {
        use Ordering::*;
        assert_eq!(natural_cmp("07", "7"), "07".cmp("7"));
        assert_ne!(natural_cmp("07", "7"), Equal);
        assert_eq!(natural_cmp("7", "07"), natural_cmp("07", "7").reverse());
        // The numeric value still wins over the tie-break.
        assert_eq!(natural_cmp("007", "8"), Less);
        assert_eq!(natural_cmp("a07b", "a7c"), Less);
        assert_eq!(natural_cmp("a7c", "a07b"), Greater);

        let samples = [
            "", "0", "00", "7", "07", "007", "8", "a", "a7", "a07", "a7b", "a07b", "a7c", "b",
            "10", "010", "1a", "01a", "x", "X", "-", "_",
        ];
        for a in samples {
            for b in samples {
                let ab = natural_cmp(a, b);
                assert_eq!(ab == Equal, a == b, "{a:?} vs {b:?}");
                assert_eq!(natural_cmp(b, a), ab.reverse(), "{a:?} vs {b:?}");
                for c in samples {
                    // Transitivity.
                    if ab != Greater && natural_cmp(b, c) != Greater {
                        assert_ne!(natural_cmp(a, c), Greater, "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn huge_digit_runs_do_not_overflow() {
        use Ordering::*;
        let twenty_nines = "9".repeat(20);
        let one_and_twenty_zeros = format!("1{}", "0".repeat(20));
        let huge = format!("{}_stream", "9".repeat(100));
        assert_eq!(natural_cmp(&twenty_nines, &one_and_twenty_zeros), Less);
        assert_eq!(natural_cmp(&one_and_twenty_zeros, &twenty_nines), Greater);
        assert_eq!(natural_cmp(&huge, &huge), Equal);
        assert_eq!(natural_cmp("2nd_stream", &huge), Less);
        assert_eq!(natural_cmp(&huge, "mentoring"), Less);
        // Leading zeros do not count towards the length.
        let padded = format!("{}5", "0".repeat(50));
        assert_eq!(natural_cmp(&padded, "6"), Less);
        assert_eq!(natural_cmp(&padded, "4"), Greater);
        assert_eq!(natural_cmp(&padded, "5"), padded.as_str().cmp("5"));
        // Same length, compared digit by digit.
        let a = format!("{}1", "9".repeat(30));
        let b = format!("{}2", "9".repeat(30));
        assert_eq!(natural_cmp(&a, &b), Less);
        assert_eq!(leading_number(&huge), None);
    }

    #[test]
    fn display_order_by_date_then_code() {
        use Ordering::*;
        let jan = Some(date(2025, 1, 10));
        let mar = Some(date(2025, 3, 1));
        assert_eq!(display_order((jan, "z"), (mar, "a")), Less);
        assert_eq!(display_order((mar, "a"), (jan, "z")), Greater);
        assert_eq!(display_order((mar, "a"), (None, "a")), Less);
        assert_eq!(display_order((None, "a"), (jan, "z")), Greater);
        assert_eq!(
            display_order((jan, "10th_stream"), (jan, "3rd_stream")),
            Greater
        );
        assert_eq!(
            display_order((None, "10th_stream"), (None, "3rd_stream")),
            Greater
        );
        assert_eq!(display_order((None, "x"), (None, "x")), Equal);
        assert_eq!(display_order((jan, "x"), (jan, "x")), Equal);

        let mut streams = [
            (None, "mentoring"),
            (mar, "9th_stream"),
            (None, "10th_stream"),
            (jan, "8th_stream"),
            (None, "2nd_stream"),
            (mar, "3rd_stream"),
        ];
        streams.sort_by(|a, b| display_order(*a, *b));
        let codes: Vec<&str> = streams.iter().map(|s| s.1).collect();
        assert_eq!(
            codes,
            [
                "8th_stream",
                "3rd_stream",
                "9th_stream",
                "2nd_stream",
                "10th_stream",
                "mentoring"
            ]
        );
    }

    #[test]
    fn leading_numbers() {
        assert_eq!(leading_number("3rd_stream"), Some(3));
        assert_eq!(leading_number("10th_stream"), Some(10));
        assert_eq!(leading_number("007x"), Some(7));
        assert_eq!(leading_number("42"), Some(42));
        assert_eq!(leading_number("mentoring"), None);
        assert_eq!(leading_number("stream10"), None);
        assert_eq!(leading_number("_3"), None);
        assert_eq!(leading_number(""), None);
        assert_eq!(leading_number("18446744073709551615a"), Some(u64::MAX));
        assert_eq!(leading_number("18446744073709551616a"), None);
    }

    #[test]
    fn settings_are_validated() {
        let ok = Settings::new(
            "  8-й поток ",
            Some(date(2026, 9, 1)),
            Some(30),
            true,
            false,
        )
        .unwrap();
        assert_eq!(ok.display_name, "8-й поток");
        assert_eq!(ok.capacity, Some(30));
        assert_eq!(
            Settings::new(&"я".repeat(100), None, None, false, true)
                .unwrap()
                .display_name
                .chars()
                .count(),
            100
        );
        for name in ["", "   ", "a\u{0}b", "line\nbreak", &"я".repeat(101)] {
            assert_eq!(
                Settings::new(name, None, None, false, false),
                Err(SettingsError::DisplayName),
                "{name:?}"
            );
        }
        for capacity in [0, -1, MAX_CAPACITY + 1, i64::MAX, i64::MIN] {
            assert_eq!(
                Settings::new("x", None, Some(capacity), false, false),
                Err(SettingsError::Capacity),
                "{capacity}"
            );
        }
        assert_eq!(
            Settings::new("x", None, Some(MAX_CAPACITY), false, false)
                .unwrap()
                .capacity,
            Some(100_000)
        );
        assert_eq!(
            Settings::new("x", None, None, true, true),
            Err(SettingsError::CurrentArchived)
        );
    }

    #[test]
    fn enrolment_dates_are_strict_and_not_after_the_start() {
        let field = SettingsError::EnrolmentOpensOn;
        assert_eq!(
            Settings::parse_strict_date("2026-11-12", field),
            Ok(date(2026, 11, 12))
        );
        for bad in [
            "",
            " 2026-11-12",
            "2026-11-12 ",
            "2026-1-12",
            "+2026-11-12",
            "2026-02-30",
            "12.11.2026",
            "2026/11/12",
            "20261-1-12",
        ] {
            assert_eq!(
                Settings::parse_strict_date(bad, field),
                Err(field),
                "{bad:?}"
            );
        }
        let settings = Settings::new("x", Some(date(2026, 9, 1)), None, false, false).unwrap();
        assert_eq!(
            settings
                .clone()
                .with_enrolment_opens_on(Some(date(2026, 9, 1)))
                .unwrap()
                .enrolment_opens_on,
            Some(date(2026, 9, 1))
        );
        assert_eq!(
            settings.with_enrolment_opens_on(Some(date(2026, 9, 2))),
            Err(SettingsError::EnrolmentAfterStart)
        );
    }

    #[test]
    fn typed_dates_and_capacities() {
        assert_eq!(Settings::parse_date(""), Ok(None));
        assert_eq!(
            Settings::parse_date(" 2026-09-01 "),
            Ok(Some(date(2026, 9, 1)))
        );
        for bad in ["2026-02-30", "01.09.2026", "2026-9-1x", "tomorrow"] {
            assert_eq!(
                Settings::parse_date(bad),
                Err(SettingsError::StartsOn),
                "{bad}"
            );
        }
        assert_eq!(Settings::parse_capacity(" "), Ok(None));
        assert_eq!(Settings::parse_capacity("25"), Ok(Some(25)));
        for bad in ["2.5", "ten", "99999999999999999999"] {
            assert_eq!(
                Settings::parse_capacity(bad),
                Err(SettingsError::Capacity),
                "{bad}"
            );
        }
    }

    #[test]
    fn stream_refs() {
        let code = |raw| StreamCode::parse(raw).unwrap();
        assert_eq!(
            StreamRef::parse("4th_stream"),
            Ok(StreamRef {
                course_id: None,
                code: code("4th_stream")
            })
        );
        assert_eq!(
            StreamRef::parse("2:4th_stream"),
            Ok(StreamRef::of(2, code("4th_stream")))
        );
        for raw in ["4th_stream", "2:4th_stream", "12:x"] {
            assert_eq!(StreamRef::parse(raw).unwrap().to_string(), raw);
        }
        for bad in [
            "",
            ":",
            "0:x",
            "-1:x",
            "+2:x",
            "a:x",
            "2:",
            "2:a b",
            "1:2:x",
            " 2:x",
            "99999999999:x",
        ] {
            assert_eq!(StreamRef::parse(bad), Err(BadStreamRef), "{bad:?}");
        }
    }
}
