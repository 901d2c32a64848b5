//! «Набор открыт с»: the day a stream's enrolment opened, from which the
//! stream page counts who viewed the course programme. Set in the registry,
//! or by default the day after the previous intake's start.

use chrono::NaiveDate;

/// Where a stream's «набор открыт с» comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolmentSource {
    /// Set in the registry.
    Explicit,
    /// The day after the previous intake's start.
    AfterPrevious,
    /// No previous intake has a start date: the stream's own start.
    OwnStart,
}

/// The day enrolment of a stream opened, and where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enrolment {
    pub opens_on: NaiveDate,
    pub source: EnrolmentSource,
}

/// «Набор открыт с» of the stream `code` among its course's registered
/// streams `course` (`(code, starts_on, enrolment_opens_on)`, the stream
/// itself included): the explicit value; else the day after the previous
/// intake's start, the previous intake being the stream of the course with
/// the latest start date before this one's (before any, when this one has
/// none); else the stream's own start; else `None`.
pub fn enrolment_opens(
    code: &str,
    course: &[(String, Option<NaiveDate>, Option<NaiveDate>)],
) -> Option<Enrolment> {
    let (_, starts_on, explicit) = course.iter().find(|(c, _, _)| c == code)?;
    if let Some(opens_on) = explicit {
        return Some(Enrolment {
            opens_on: *opens_on,
            source: EnrolmentSource::Explicit,
        });
    }
    let previous = course
        .iter()
        .filter(|(c, _, _)| c != code)
        .filter_map(|(_, start, _)| *start)
        .filter(|start| starts_on.is_none_or(|own| *start < own))
        .max();
    if let Some(day) = previous.and_then(|start| start.succ_opt()) {
        return Some(Enrolment {
            opens_on: day,
            source: EnrolmentSource::AfterPrevious,
        });
    }
    starts_on.map(|day| Enrolment {
        opens_on: day,
        source: EnrolmentSource::OwnStart,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn enrolment_is_explicit_or_after_the_previous_start() {
        let row = |code: &str, start: Option<NaiveDate>, opens: Option<NaiveDate>| {
            (code.to_owned(), start, opens)
        };
        let course = [
            row("6th_stream", Some(date(2026, 3, 1)), None),
            row("7th_stream", Some(date(2026, 6, 1)), None),
            row("8th_stream", Some(date(2026, 9, 1)), None),
            row("9th_stream", None, None),
            row("x_stream", None, Some(date(2026, 5, 5))),
        ];
        let opens = |code| enrolment_opens(code, &course);
        let after = |day| {
            Some(Enrolment {
                opens_on: day,
                source: EnrolmentSource::AfterPrevious,
            })
        };
        assert_eq!(opens("8th_stream"), after(date(2026, 6, 2)));
        assert_eq!(opens("7th_stream"), after(date(2026, 3, 2)));
        // Without a start of its own: after the latest start of the course.
        assert_eq!(opens("9th_stream"), after(date(2026, 9, 2)));
        assert_eq!(
            opens("x_stream"),
            Some(Enrolment {
                opens_on: date(2026, 5, 5),
                source: EnrolmentSource::Explicit
            })
        );
        // The first intake: its own start.
        assert_eq!(
            opens("6th_stream"),
            Some(Enrolment {
                opens_on: date(2026, 3, 1),
                source: EnrolmentSource::OwnStart
            })
        );
        assert_eq!(opens("missing"), None);
        assert_eq!(enrolment_opens("9th_stream", &course[3..4]), None);
    }
}
