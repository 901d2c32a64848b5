//! The body of `POST /api/messages` and of its preview (API.md), typed.
//! Each part is read on its own ([`Lenient`]), so one bad part does not hide
//! the others' problems and each keeps the API's own message; the OpenAPI
//! schema shows the parts' real shapes (audience and content as `oneOf`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::check::{Part, Problem, Unchecked};
use crate::domain::audience::RawAudience;
use crate::domain::content::RawContent;

/// A value read as `T`, or why it is not one (serde's message, without a
/// position: the part is named by the caller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lenient<T>(pub Result<T, String>);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Buffered so that a value of the wrong shape is this part's
        // problem, not the whole body's.
        let value = serde_json::Value::deserialize(deserializer)?;
        Ok(Self(T::deserialize(value).map_err(|err| err.to_string())))
    }
}

/// A broadcast to send: who, what, and when.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "audience": {"kind": "segment", "segment": "all"},
    "content": {"type": "text", "text": "<b>Привет</b>", "link_preview": false,
                "buttons": [[{"text": "Открыть", "url": "https://example.org"}]]},
    "scheduled_at": null
}))]
pub struct BroadcastRequest {
    /// Who gets it.
    #[serde(default)]
    #[schema(value_type = RawAudience, required = true, nullable = false)]
    pub audience: Option<Lenient<RawAudience>>,
    /// What is sent.
    #[serde(default)]
    #[schema(value_type = RawContent, required = true, nullable = false)]
    pub content: Option<Lenient<RawContent>>,
    /// When to send it (RFC 3339 with a zone, in the future); null or
    /// absent: now.
    #[serde(default)]
    #[schema(value_type = Option<DateTime<Utc>>, required = false)]
    pub scheduled_at: Option<Lenient<String>>,
    /// Names other than the three (refused).
    #[serde(flatten)]
    #[schema(ignore)]
    pub unknown: BTreeMap<String, IgnoredAny>,
}

impl BroadcastRequest {
    /// A name the body should not have.
    pub fn unknown_field(&self) -> Option<&str> {
        self.unknown.keys().next().map(String::as_str)
    }

    /// The parts, each read or its problem.
    pub fn unchecked(self) -> Unchecked {
        Unchecked {
            audience: part(self.audience, Part::Audience),
            content: part(self.content, Part::Content),
            scheduled_at: match self.scheduled_at {
                None => Ok(None),
                Some(Lenient(Ok(raw))) => DateTime::parse_from_rfc3339(&raw)
                    .map(|at| Some(at.with_timezone(&Utc)))
                    .map_err(|_| Problem::BadTime),
                Some(Lenient(Err(_))) => Err(Problem::BadTime),
            },
        }
    }
}

fn part<T>(value: Option<Lenient<T>>, part: Part) -> Result<T, Problem> {
    match value {
        None => Err(Problem::Missing(part)),
        Some(Lenient(Ok(value))) => Ok(value),
        Some(Lenient(Err(detail))) => Err(Problem::Shape { part, detail }),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::app::broadcasts::check::{Field, check};

    fn read(value: serde_json::Value) -> BroadcastRequest {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn every_part_is_read_on_its_own() {
        let request = read(json!({
            "audience": {"kind": "everyone"},
            "content": {"type": "text", "text": "a<br>b"},
            "scheduled_at": "tomorrow",
            "extra": 1,
        }));
        assert_eq!(request.unknown_field(), Some("extra"));
        let checked = check(request.unchecked());
        let problems = checked.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0]
                .to_string()
                .starts_with("audience: unknown variant `everyone`")
        );
        assert!(problems[1].to_string().contains("line 1, column 2"));
        assert!(problems[2].to_string().starts_with("scheduled_at must be"));
    }

    #[test]
    fn null_and_absent_parts_are_missing_but_a_null_time_is_now() {
        let request = read(json!({"audience": null, "scheduled_at": null}));
        let unchecked = request.unchecked();
        assert_eq!(
            unchecked.audience.unwrap_err(),
            Problem::Missing(Part::Audience)
        );
        assert_eq!(unchecked.content.unwrap_err().field(), Field::ContentType);
        assert_eq!(unchecked.scheduled_at, Ok(None));
        let number = read(json!({"scheduled_at": 5})).unchecked();
        assert_eq!(number.scheduled_at, Err(Problem::BadTime));
        let zoned = read(json!({"scheduled_at": "2030-01-01T12:00:00+03:00"})).unchecked();
        assert_eq!(
            zoned.scheduled_at.unwrap().unwrap().to_rfc3339(),
            "2030-01-01T09:00:00+00:00"
        );
    }

    #[test]
    fn equivalent_requests_share_a_digest() {
        let valid = |value| check(read(value).unchecked()).valid().unwrap();
        let one = valid(json!({
            "audience": {"kind": "users", "user_ids": [2, 1, 2]},
            "content": {"type": "text", "text": "Hi"},
            "scheduled_at": "2030-01-01T12:00:00+03:00"
        }));
        let same = valid(json!({
            "scheduled_at": "2030-01-01T09:00:00Z",
            "content": {"text": "Hi", "type": "text", "buttons": [], "link_preview": false},
            "audience": {"user_ids": [1, 2], "kind": "users"}
        }));
        assert_eq!(one.digest(), same.digest());
        assert_eq!(one.digest().len(), 64);
        let other = valid(json!({
            "audience": {"kind": "users", "user_ids": [1, 2]},
            "content": {"type": "text", "text": "Hi!"},
        }));
        assert_ne!(one.digest(), other.digest());
    }

    #[test]
    fn the_documented_example_is_a_valid_request() {
        let schema =
            serde_json::to_value(<BroadcastRequest as utoipa::PartialSchema>::schema()).unwrap();
        let example = schema["example"].clone();
        assert!(example.is_object(), "{schema}");
        let checked = check(read(example).unchecked());
        assert!(checked.valid().is_ok());
    }
}
