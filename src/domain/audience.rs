//! Who a broadcast goes to: chosen people, the members of one or more streams
//! with chosen booking statuses (confirmed only by default), or a segment.
//! This is the definition; it is resolved into recipients when sending starts.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::UserId;
use super::stream::StreamRef;

/// The most people one explicit list may name.
pub const MAX_USER_IDS: usize = 10_000;

/// Booking statuses a stream audience may select (the raw integers).
pub const STREAM_STATUSES: [i32; 4] = [-1, 0, 1, 2];

/// The statuses a stream audience gets when none are chosen: confirmed.
pub const DEFAULT_STATUSES: [i32; 1] = [2];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Everyone known who has no confirmed booking.
    NeverPaid,
    /// Everyone registered for the hackathon.
    Hackathon,
    /// Everyone known.
    All,
}

impl Segment {
    pub const ALL: [Self; 3] = [Self::NeverPaid, Self::Hackathon, Self::All];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NeverPaid => "never_paid",
            Self::Hackathon => "hackathon",
            Self::All => "all",
        }
    }
}

/// An audience as the API receives it (API.md `audience`), before validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum RawAudience {
    /// Chosen people, by Telegram user id (known to the bot).
    Users {
        #[schema(value_type = Vec<UserId>, min_items = 1, max_items = 10000)]
        user_ids: Vec<i64>,
    },
    /// The members of streams with the chosen booking statuses: people
    /// whose standing in a stream (their most advanced booking there) has
    /// one of the statuses.
    Stream {
        /// Each a stream code or `course_id:code` (`2:4th_stream`); a code
        /// several courses have must name its course.
        #[schema(schema_with = streams_schema)]
        streams: Vec<String>,
        /// Booking statuses, some of -1, 0, 1, 2; absent or null: `[2]`
        /// (confirmed).
        #[schema(schema_with = statuses_schema)]
        statuses: Option<Vec<i32>>,
    },
    /// A segment of everyone the bot knows.
    Segment { segment: Segment },
}

/// `streams`: a non-empty list of `code` or `course_id:code`.
fn streams_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
    ArrayBuilder::new()
        .items(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some("^([0-9]+:)?[A-Za-z0-9_-]{1,50}$"))
                .examples([
                    serde_json::json!("8th_stream"),
                    serde_json::json!("2:4th_stream"),
                ]),
        )
        .min_items(Some(1))
        .build()
}

/// `statuses`: a non-empty list of known booking statuses, or null.
fn statuses_schema() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some(STREAM_STATUSES)),
        )
        .min_items(Some(1))
        .build()
}

/// A validated audience: ids positive and deduplicated (sorted), streams
/// valid and deduplicated, statuses known. Stored, a stream is written as
/// `course_id:code`; a bare code (stored before streams had courses) means
/// that code in every course.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    Users {
        user_ids: Vec<i64>,
    },
    Stream {
        #[serde(serialize_with = "as_strings")]
        streams: Vec<StreamRef>,
        statuses: Vec<i32>,
    },
    Segment {
        segment: Segment,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AudienceError {
    #[error("choose at least one recipient")]
    NoUsers,
    #[error("at most {MAX_USER_IDS} user ids")]
    TooManyUsers,
    #[error("user ids must be positive: {0:?}")]
    BadUserIds(Vec<i64>),
    #[error("choose at least one stream")]
    NoStreams,
    #[error("not a stream (code or course_id:code): {0:?}")]
    BadStreamCode(String),
    #[error("statuses must be some of -1, 0, 1, 2; got {0}")]
    BadStatus(i32),
    #[error("choose at least one status")]
    NoStatuses,
}

impl Audience {
    pub fn parse(raw: RawAudience) -> Result<Self, AudienceError> {
        match raw {
            RawAudience::Users { user_ids } => {
                let bad: Vec<i64> = user_ids.iter().copied().filter(|id| *id <= 0).collect();
                if !bad.is_empty() {
                    return Err(AudienceError::BadUserIds(bad));
                }
                let ids: BTreeSet<i64> = user_ids.into_iter().collect();
                if ids.is_empty() {
                    return Err(AudienceError::NoUsers);
                }
                if ids.len() > MAX_USER_IDS {
                    return Err(AudienceError::TooManyUsers);
                }
                Ok(Self::Users {
                    user_ids: ids.into_iter().collect(),
                })
            }
            RawAudience::Stream { streams, statuses } => {
                let mut codes: Vec<StreamRef> = Vec::with_capacity(streams.len());
                for raw in streams {
                    let stream = StreamRef::parse(&raw)
                        .map_err(|_| AudienceError::BadStreamCode(raw.clone()))?;
                    if !codes.contains(&stream) {
                        codes.push(stream);
                    }
                }
                if codes.is_empty() {
                    return Err(AudienceError::NoStreams);
                }
                let statuses = statuses.unwrap_or_else(|| DEFAULT_STATUSES.to_vec());
                if let Some(bad) = statuses.iter().find(|s| !STREAM_STATUSES.contains(s)) {
                    return Err(AudienceError::BadStatus(*bad));
                }
                let statuses: BTreeSet<i32> = statuses.into_iter().collect();
                if statuses.is_empty() {
                    return Err(AudienceError::NoStatuses);
                }
                Ok(Self::Stream {
                    streams: codes,
                    statuses: statuses.into_iter().collect(),
                })
            }
            RawAudience::Segment { segment } => Ok(Self::Segment { segment }),
        }
    }
}

fn as_strings<S: serde::Serializer>(streams: &[StreamRef], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(streams.iter().map(ToString::to_string))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stream(raw: &str) -> StreamRef {
        StreamRef::parse(raw).unwrap()
    }

    fn parse(value: serde_json::Value) -> Result<Audience, AudienceError> {
        Audience::parse(serde_json::from_value(value).unwrap())
    }

    #[test]
    fn audiences_are_normalised() {
        assert_eq!(
            parse(json!({"kind": "users", "user_ids": [456, 123, 456]})),
            Ok(Audience::Users {
                user_ids: vec![123, 456]
            })
        );
        assert_eq!(
            parse(
                json!({"kind": "stream", "streams": ["8th_stream", "2:4th_stream", "8th_stream"]})
            ),
            Ok(Audience::Stream {
                streams: vec![stream("8th_stream"), stream("2:4th_stream")],
                statuses: vec![2]
            }),
            "confirmed only by default, first mention keeps its place"
        );
        assert_eq!(
            serde_json::to_value(
                parse(json!({"kind": "stream", "streams": ["2:4th_stream", "x"]})).unwrap()
            )
            .unwrap(),
            json!({"kind": "stream", "streams": ["2:4th_stream", "x"], "statuses": [2]})
        );
        assert_eq!(
            parse(json!({"kind": "stream", "streams": ["8th_stream"], "statuses": [1, 2, 1, -1]})),
            Ok(Audience::Stream {
                streams: vec![stream("8th_stream")],
                statuses: vec![-1, 1, 2]
            })
        );
        for segment in Segment::ALL {
            let audience = parse(json!({"kind": "segment", "segment": segment.as_str()})).unwrap();
            assert_eq!(audience, Audience::Segment { segment });
            assert_eq!(
                serde_json::to_value(&audience).unwrap(),
                json!({"kind": "segment", "segment": segment.as_str()})
            );
        }
    }

    #[test]
    fn bad_audiences_are_refused_with_a_reason() {
        let cases = [
            (
                json!({"kind": "users", "user_ids": []}),
                AudienceError::NoUsers,
            ),
            (
                json!({"kind": "users", "user_ids": [5, 0, -3]}),
                AudienceError::BadUserIds(vec![0, -3]),
            ),
            (
                json!({"kind": "stream", "streams": []}),
                AudienceError::NoStreams,
            ),
            (
                json!({"kind": "stream", "streams": ["8th stream"]}),
                AudienceError::BadStreamCode("8th stream".into()),
            ),
            (
                json!({"kind": "stream", "streams": ["0:8th_stream"]}),
                AudienceError::BadStreamCode("0:8th_stream".into()),
            ),
            (
                json!({"kind": "stream", "streams": ["8th_stream"], "statuses": [2, 5]}),
                AudienceError::BadStatus(5),
            ),
            (
                json!({"kind": "stream", "streams": ["8th_stream"], "statuses": []}),
                AudienceError::NoStatuses,
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(parse(value.clone()), Err(expected), "{value}");
        }
        let many: Vec<i64> = (1..=MAX_USER_IDS as i64 + 1).collect();
        assert_eq!(
            parse(json!({"kind": "users", "user_ids": many})),
            Err(AudienceError::TooManyUsers)
        );
        for unknown in [
            json!({"kind": "everyone"}),
            json!({"kind": "segment", "segment": "vip"}),
            json!({"kind": "users", "user_ids": [1], "extra": true}),
        ] {
            assert!(
                serde_json::from_value::<RawAudience>(unknown.clone()).is_err(),
                "{unknown}"
            );
        }
    }
}
