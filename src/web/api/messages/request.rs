//! The body of `POST /api/messages` and of its preview, read part by part
//! (audience, content, schedule) so the preview can list every problem at
//! once, and the `Idempotency-Key` header. A valid request has a canonical
//! form — the validated parts re-serialised — whose digest tells a repeat
//! from a different request under the same key.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub use crate::app::broadcasts::{MAX_KEY_CHARS, Valid};
use crate::domain::audience::{Audience, RawAudience};
use crate::domain::content::{Content, RawContent};
use crate::domain::time::rfc3339;
use crate::web::error::AppError;
use crate::web::words::Label;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The fields of the body, in order.
pub const FIELDS: [&str; 3] = ["audience", "content", "scheduled_at"];

/// One thing wrong with a request: the part it is in, the message in
/// English (the API's `error`) and in Russian (for the composer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: &'static str,
    pub error: String,
    pub label: String,
}

impl Problem {
    fn new(field: &'static str, error: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            field,
            error: error.into(),
            label: label.into(),
        }
    }
}

/// A request body, each part parsed on its own.
#[derive(Debug)]
pub struct Submission {
    pub audience: Result<Audience, Problem>,
    pub content: Result<Content, Problem>,
    pub scheduled_at: Result<Option<DateTime<Utc>>, Problem>,
}

impl Submission {
    /// Reads `body`. Only a body that is not a JSON object, or has fields
    /// other than the three, is refused outright; problems inside the
    /// parts are kept for [`Self::problems`].
    pub fn parse(body: &[u8]) -> Result<Self, AppError> {
        let mut object = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(object)) => object,
            Ok(_) => return Err(AppError::BadRequest("body must be a JSON object".into())),
            Err(err) => return Err(AppError::BadRequest(format!("invalid JSON body: {err}"))),
        };
        if let Some(unknown) = object.keys().find(|key| !FIELDS.contains(&key.as_str())) {
            return Err(AppError::BadRequest(format!(
                "unknown field `{unknown}`; expected audience, content, scheduled_at"
            )));
        }
        Ok(Self {
            audience: audience(&mut object),
            content: content(&mut object),
            scheduled_at: scheduled_at(&object),
        })
    }

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

fn audience(object: &mut Map<String, Value>) -> Result<Audience, Problem> {
    let value = match object.remove("audience") {
        None | Some(Value::Null) => {
            return Err(Problem::new(
                "audience",
                "audience is required",
                "Выберите получателей.",
            ));
        }
        Some(value) => value,
    };
    let raw: RawAudience = serde_json::from_value(value).map_err(|err| {
        Problem::new(
            "audience",
            format!("audience: {err}"),
            format!("Получатели: неверный формат ({err})."),
        )
    })?;
    Audience::parse(raw)
        .map_err(|err| Problem::new("audience", format!("audience: {err}"), err.label()))
}

fn content(object: &mut Map<String, Value>) -> Result<Content, Problem> {
    let value = match object.remove("content") {
        None | Some(Value::Null) => {
            return Err(Problem::new(
                "content",
                "content is required",
                "Напишите сообщение.",
            ));
        }
        Some(value) => value,
    };
    let raw: RawContent = serde_json::from_value(value).map_err(|err| {
        Problem::new(
            "content",
            format!("content: {err}"),
            format!("Сообщение: неверный формат ({err})."),
        )
    })?;
    Content::parse(raw).map_err(|err| Problem::new("content", err.to_string(), err.label()))
}

fn scheduled_at(object: &Map<String, Value>) -> Result<Option<DateTime<Utc>>, Problem> {
    let bad = || {
        Problem::new(
            "scheduled_at",
            "scheduled_at must be an RFC 3339 date-time with a time zone \
             (e.g. 2026-12-01T09:00:00Z) or null",
            "Время отправки: укажите дату и время с часовым поясом.",
        )
    };
    match object.get("scheduled_at") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(raw)) => DateTime::parse_from_rfc3339(raw)
            .map(|at| Some(at.with_timezone(&Utc)))
            .map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

/// The problem with sending at `at`, if it is already past at `now`.
pub fn past(at: DateTime<Utc>, now: DateTime<Utc>) -> Option<Problem> {
    (at < now).then(|| in_the_past(at, now))
}

/// Sending at `at`, already past at `now`.
pub fn in_the_past(at: DateTime<Utc>, now: DateTime<Utc>) -> Problem {
    Problem::new(
        "scheduled_at",
        format!(
            "scheduled_at is in the past ({} < now {})",
            rfc3339(at),
            rfc3339(now)
        ),
        "Время отправки уже прошло.",
    )
}

fn join<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(T::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Named people the bot has never seen.
pub fn unknown_users(ids: &[i64]) -> Problem {
    Problem::new(
        "audience",
        format!("unknown user ids: {}", join(ids)),
        format!("Бот не знает пользователей: {}.", join(ids)),
    )
}

/// Streams neither registered nor in any booking.
pub fn unknown_streams(codes: &[String]) -> Problem {
    Problem::new(
        "audience",
        format!("unknown streams: {}", join(codes)),
        format!("Неизвестные потоки: {}.", join(codes)),
    )
}

/// Nobody to send to; `blocked` of the audience blocked the bot.
pub fn empty_audience(blocked: i64) -> Problem {
    if blocked > 0 {
        Problem::new(
            "audience",
            format!("the audience is empty: all {blocked} of its people blocked the bot"),
            format!("Получателей нет: все {blocked} заблокировали бота."),
        )
    } else {
        Problem::new(
            "audience",
            "the audience is empty: nobody matches it",
            "Получателей нет: под условия никто не подходит.",
        )
    }
}

/// The `Idempotency-Key` header: absent, or 1–200 characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let mut values = headers.get_all(IDEMPOTENCY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(AppError::BadRequest(
            "send at most one Idempotency-Key header".into(),
        ));
    }
    let bad = || {
        AppError::BadRequest(format!(
            "Idempotency-Key must be 1–{MAX_KEY_CHARS} characters"
        ))
    };
    let key = std::str::from_utf8(value.as_bytes()).map_err(|_| bad())?;
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_KEY_CHARS {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn submission(value: Value) -> Submission {
        Submission::parse(value.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_body_must_be_an_object_of_the_three_fields() {
        for bad in ["", "{", "[]", "1", "{\"audience\": 1, \"extra\": 2}"] {
            let err = Submission::parse(bad.as_bytes()).unwrap_err();
            assert!(matches!(err, AppError::BadRequest(_)), "{bad:?}");
        }
        let empty = submission(json!({}));
        let fields: Vec<&str> = empty.problems().iter().map(|p| p.field).collect();
        assert_eq!(fields, ["audience", "content"]);
    }

    #[test]
    fn every_problem_is_listed_with_its_part() {
        let bad = submission(json!({
            "audience": {"kind": "everyone"},
            "content": {"type": "text", "text": "a<br>b"},
            "scheduled_at": "tomorrow"
        }));
        let problems = bad.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].error.contains("unknown variant `everyone`"));
        assert!(problems[1].error.contains("line 1, column 2"));
        assert!(problems[2].error.starts_with("scheduled_at must be"));
        assert!(problems.iter().all(|p| !p.label.is_empty()));
        assert_eq!(bad.valid().unwrap_err().field, "audience");
    }

    #[test]
    fn equivalent_requests_share_a_digest() {
        let one = submission(json!({
            "audience": {"kind": "users", "user_ids": [2, 1, 2]},
            "content": {"type": "text", "text": "Hi"},
            "scheduled_at": "2030-01-01T12:00:00+03:00"
        }))
        .valid()
        .unwrap();
        let same = submission(json!({
            "scheduled_at": "2030-01-01T09:00:00Z",
            "content": {"text": "Hi", "type": "text", "buttons": [], "link_preview": false},
            "audience": {"user_ids": [1, 2], "kind": "users"}
        }))
        .valid()
        .unwrap();
        assert_eq!(one.digest(), same.digest());
        assert_eq!(one.digest().len(), 64);
        let other = submission(json!({
            "audience": {"kind": "users", "user_ids": [1, 2]},
            "content": {"type": "text", "text": "Hi!"},
        }))
        .valid()
        .unwrap();
        assert_ne!(one.digest(), other.digest());
    }

    #[test]
    fn past_times_are_refused_strictly() {
        let now = Utc::now();
        assert!(past(now, now).is_none());
        assert!(past(now + chrono::Duration::seconds(1), now).is_none());
        let problem = past(now - chrono::Duration::milliseconds(1), now).unwrap();
        assert_eq!(problem.field, "scheduled_at");
    }

    #[test]
    fn idempotency_keys_are_one_to_two_hundred_characters() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(IDEMPOTENCY_HEADER, HeaderValue::from_str(value).unwrap());
            idempotency_key(&headers)
        };
        assert_eq!(idempotency_key(&HeaderMap::new()).unwrap(), None);
        assert_eq!(with("k-1").unwrap().as_deref(), Some("k-1"));
        assert!(with(&"x".repeat(200)).unwrap().is_some());
        assert!(with(&"x".repeat(201)).is_err());
        assert!(with("").is_err());
        let mut two = HeaderMap::new();
        two.append(IDEMPOTENCY_HEADER, HeaderValue::from_static("a"));
        two.append(IDEMPOTENCY_HEADER, HeaderValue::from_static("b"));
        assert!(idempotency_key(&two).is_err());
    }
}
