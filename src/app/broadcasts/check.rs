//! The one check of a broadcast request, whichever adapter read it: the
//! API's JSON body or the composer's form. An adapter reads its input into
//! [`Unchecked`] (each part read, or the [`Problem`] reading it), [`check`]
//! applies the domain's rules, and [`super::review`] adds what needs the
//! database. Problems are typed — the field, what is wrong and its values —
//! and each adapter words them: the API in English (`Display`, API.md's
//! messages), the pages in Russian (`web::words::problems`).

use std::fmt;

use chrono::{DateTime, Utc};

use super::Valid;
pub use super::field::{Field, Part};
use crate::domain::audience::{Audience, AudienceError, RawAudience};
use crate::domain::content::{Content, ContentError, RawContent};
use crate::domain::time::rfc3339;

/// One thing wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A part left out, or null.
    Missing(Part),
    /// A part not of the documented shape; `detail` is the JSON reader's
    /// account (`unknown variant `everyone`, expected …`).
    Shape {
        part: Part,
        detail: String,
    },
    Audience(AudienceError),
    Content(ContentError),
    /// `scheduled_at` is not an RFC 3339 date-time with a zone.
    BadTime,
    InThePast {
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    },
    /// People the bot has never seen.
    UnknownUsers(Vec<i64>),
    /// Streams neither registered nor in any booking.
    UnknownStreams(Vec<String>),
    /// Codes several courses have, named without a course: each code with
    /// its courses.
    AmbiguousStreams(Vec<(String, Vec<i32>)>),
    /// Nobody to send to; `blocked` of the audience blocked the bot.
    EmptyAudience {
        field: Field,
        blocked: i64,
    },
    /// A field of the composer's form that does not read as its part.
    Form(FormProblem),
}

/// What the composer's form can get wrong before its parts exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormProblem {
    /// No (known) kind of audience chosen.
    NoAudienceKind,
    /// A token of the users field that is not a positive integer.
    NotUserId(String),
    UnknownStatus(String),
    NoSegment,
    NoContentType,
    TooManyButtons {
        max: usize,
    },
    /// Button `button` (from 1) has a row that is not 1–100.
    ButtonRow {
        button: usize,
        raw: String,
    },
    /// Button `button` is neither a link nor a callback.
    ButtonKind {
        button: usize,
    },
    /// «Запланировать» without a time.
    NoTime,
    /// The time is not `YYYY-MM-DD HH:MM`.
    TimeFormat,
    /// The local time does not exist in `zone` (a clock change skips it).
    NoSuchLocalTime {
        zone: String,
    },
    /// Neither «now» nor «at».
    NoWhen,
}

impl FormProblem {
    pub fn field(&self) -> Field {
        match self {
            Self::NoAudienceKind => Field::Audience,
            Self::NotUserId(_) => Field::UserIds,
            Self::UnknownStatus(_) => Field::Statuses,
            Self::NoSegment => Field::Segment,
            Self::NoContentType => Field::ContentType,
            Self::TooManyButtons { .. } | Self::ButtonRow { .. } | Self::ButtonKind { .. } => {
                Field::Buttons
            }
            Self::NoTime | Self::TimeFormat | Self::NoSuchLocalTime { .. } | Self::NoWhen => {
                Field::ScheduledAt
            }
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::NoAudienceKind => "no_audience_kind",
            Self::NotUserId(_) => "not_a_user_id",
            Self::UnknownStatus(_) => "unknown_status",
            Self::NoSegment => "no_segment",
            Self::NoContentType => "no_content_type",
            Self::TooManyButtons { .. } => "too_many_buttons",
            Self::ButtonRow { .. } => "bad_button_row",
            Self::ButtonKind { .. } => "bad_button_kind",
            Self::NoTime => "no_time",
            Self::TimeFormat => "bad_time_format",
            Self::NoSuchLocalTime { .. } => "no_such_local_time",
            Self::NoWhen => "no_when",
        }
    }
}

impl Problem {
    /// Where the problem is.
    pub fn field(&self) -> Field {
        match self {
            Self::Missing(Part::Audience)
            | Self::Shape {
                part: Part::Audience,
                ..
            } => Field::Audience,
            Self::Missing(Part::Content)
            | Self::Shape {
                part: Part::Content,
                ..
            } => Field::ContentType,
            Self::Missing(Part::ScheduledAt)
            | Self::Shape {
                part: Part::ScheduledAt,
                ..
            }
            | Self::BadTime
            | Self::InThePast { .. } => Field::ScheduledAt,
            Self::Audience(err) => match err {
                AudienceError::NoUsers
                | AudienceError::TooManyUsers
                | AudienceError::BadUserIds(_) => Field::UserIds,
                AudienceError::NoStreams | AudienceError::BadStreamCode(_) => Field::Streams,
                AudienceError::BadStatus(_) | AudienceError::NoStatuses => Field::Statuses,
            },
            Self::Content(err) => match err {
                ContentError::Html { .. } | ContentError::Control { .. } => Field::Text,
                ContentError::Buttons(_) => Field::Buttons,
                ContentError::FileId => Field::FileId,
            },
            Self::UnknownUsers(_) => Field::UserIds,
            Self::UnknownStreams(_) | Self::AmbiguousStreams(_) => Field::Streams,
            Self::EmptyAudience { field, .. } => *field,
            Self::Form(problem) => problem.field(),
        }
    }

    /// The part of the body the problem is in.
    pub fn part(&self) -> Part {
        self.field().part()
    }

    /// What is wrong, for machines and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing(_) => "missing",
            Self::Shape { .. } => "bad_shape",
            Self::Audience(_) => "bad_audience",
            Self::Content(_) => "bad_content",
            Self::BadTime => "bad_time",
            Self::InThePast { .. } => "in_the_past",
            Self::UnknownUsers(_) => "unknown_users",
            Self::UnknownStreams(_) => "unknown_streams",
            Self::AmbiguousStreams(_) => "ambiguous_streams",
            Self::EmptyAudience { .. } => "empty_audience",
            Self::Form(problem) => problem.code(),
        }
    }

    /// The problem with sending at `at`, if it is already past at `now`.
    pub fn past(at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Self> {
        (at < now).then_some(Self::InThePast { at, now })
    }
}

/// `1, 2, 3`.
pub fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The API's message (API.md): English, naming the part.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing(part) => write!(f, "{} is required", part.as_str()),
            Self::Shape { part, detail } => write!(f, "{}: {detail}", part.as_str()),
            Self::Audience(err) => write!(f, "audience: {err}"),
            Self::Content(err) => write!(f, "{err}"),
            Self::BadTime => f.write_str(
                "scheduled_at must be an RFC 3339 date-time with a time zone \
                 (e.g. 2026-12-01T09:00:00Z) or null",
            ),
            Self::InThePast { at, now } => write!(
                f,
                "scheduled_at is in the past ({} < now {})",
                rfc3339(*at),
                rfc3339(*now)
            ),
            Self::UnknownUsers(ids) => write!(f, "unknown user ids: {}", join(ids)),
            Self::UnknownStreams(codes) => write!(f, "unknown streams: {}", join(codes)),
            Self::AmbiguousStreams(codes) => {
                let named: Vec<String> = codes
                    .iter()
                    .map(|(code, courses)| {
                        let choices: Vec<String> =
                            courses.iter().map(|id| format!("{id}:{code}")).collect();
                        format!("{code} (one of {})", choices.join(", "))
                    })
                    .collect();
                write!(
                    f,
                    "several courses have these streams; name the course: {}",
                    named.join("; ")
                )
            }
            Self::EmptyAudience { blocked, .. } if *blocked > 0 => write!(
                f,
                "the audience is empty: all {blocked} of its people blocked the bot"
            ),
            Self::EmptyAudience { .. } => f.write_str("the audience is empty: nobody matches it"),
            Self::Form(problem) => write!(f, "{}: {}", problem.field().as_str(), problem.code()),
        }
    }
}

/// A request as an adapter read it: each part, or the problem reading it.
#[derive(Debug, Clone)]
pub struct Unchecked {
    pub audience: Result<RawAudience, Problem>,
    pub content: Result<RawContent, Problem>,
    /// `None` sends now.
    pub scheduled_at: Result<Option<DateTime<Utc>>, Problem>,
}

/// A request checked by the domain's rules: each part valid, or its problem.
#[derive(Debug, Clone)]
pub struct Checked {
    pub audience: Result<Audience, Problem>,
    pub content: Result<Content, Problem>,
    pub scheduled_at: Result<Option<DateTime<Utc>>, Problem>,
}

impl Checked {
    /// Every problem, in the order of the parts.
    pub fn problems(&self) -> Vec<&Problem> {
        [
            self.audience.as_ref().err(),
            self.content.as_ref().err(),
            self.scheduled_at.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// The valid request, or its first problem.
    pub fn valid(self) -> Result<Valid, Problem> {
        Ok(Valid {
            audience: self.audience?,
            content: self.content?,
            scheduled_at: self.scheduled_at?,
        })
    }
}

/// Applies the rules that need no database and no clock: a time in the
/// past is [`super::review`]'s to find (a repeated request may be answered
/// after its time).
pub fn check(unchecked: Unchecked) -> Checked {
    Checked {
        audience: unchecked
            .audience
            .and_then(|raw| Audience::parse(raw).map_err(Problem::Audience)),
        content: unchecked
            .content
            .and_then(|raw| Content::parse(raw).map_err(Problem::Content)),
        scheduled_at: unchecked.scheduled_at,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn unchecked(audience: serde_json::Value, content: serde_json::Value) -> Unchecked {
        Unchecked {
            audience: Ok(serde_json::from_value(audience).unwrap()),
            content: Ok(serde_json::from_value(content).unwrap()),
            scheduled_at: Ok(None),
        }
    }

    #[test]
    fn each_problem_names_its_field_and_part() {
        let checked = check(unchecked(
            json!({"kind": "stream", "streams": ["8th_stream"], "statuses": [7]}),
            json!({"type": "photo", "file_id": "a b"}),
        ));
        let problems = checked.problems();
        let fields: Vec<Field> = problems.iter().map(|p| p.field()).collect();
        assert_eq!(fields, [Field::Statuses, Field::FileId]);
        let parts: Vec<Part> = problems.iter().map(|p| p.part()).collect();
        assert_eq!(parts, [Part::Audience, Part::Content]);
        assert_eq!(
            problems[0].to_string(),
            "audience: statuses must be some of -1, 0, 1, 2; got 7"
        );
        assert!(problems[1].to_string().starts_with("file_id must be"));
        assert_eq!(checked.valid().unwrap_err().code(), "bad_audience");
    }

    #[test]
    fn the_api_messages_are_api_md_s() {
        assert_eq!(
            Problem::UnknownUsers(vec![1, 2]).to_string(),
            "unknown user ids: 1, 2"
        );
        assert_eq!(
            Problem::EmptyAudience {
                field: Field::Segment,
                blocked: 3
            }
            .to_string(),
            "the audience is empty: all 3 of its people blocked the bot"
        );
        assert_eq!(
            Problem::Missing(Part::Content).to_string(),
            "content is required"
        );
        let now = Utc::now();
        assert!(Problem::past(now, now).is_none());
        let past = Problem::past(now - chrono::Duration::milliseconds(1), now).unwrap();
        assert_eq!(past.field(), Field::ScheduledAt);
        assert!(
            past.to_string()
                .starts_with("scheduled_at is in the past (")
        );
    }

    #[test]
    fn fields_sort_in_form_order_within_parts() {
        let mut fields = [
            Field::ScheduledAt,
            Field::Text,
            Field::Segment,
            Field::Audience,
        ];
        fields.sort();
        let parts: Vec<Part> = fields.iter().map(|f| f.part()).collect();
        assert!(parts.is_sorted());
        assert_eq!(fields[0], Field::Audience);
    }
}
