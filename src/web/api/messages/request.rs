//! What `POST /api/messages` and its preview read besides the use case's
//! typed body ([`BroadcastRequest`]): the body's own errors, worded as
//! before, and the `Idempotency-Key` header.

use axum::http::HeaderMap;
use serde_json::error::Category;

use crate::app::broadcasts::request::BroadcastRequest;
use crate::app::broadcasts::{MAX_KEY_CHARS, key_fits};
use crate::web::error::AppError;

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Reads a body of the three parts. Only a body that is not a JSON object,
/// or has names other than the three, is refused here; problems inside the
/// parts are the use case's to find (and the preview's to list).
pub fn body(bytes: &[u8]) -> Result<BroadcastRequest, AppError> {
    let request: BroadcastRequest = serde_json::from_slice(bytes).map_err(|err| {
        AppError::BadRequest(match err.classify() {
            // Every part takes any value: only the body itself can be of
            // the wrong type.
            Category::Data if err.to_string().starts_with("invalid type") => {
                "body must be a JSON object".to_owned()
            }
            _ => format!("invalid JSON body: {err}"),
        })
    })?;
    if let Some(unknown) = request.unknown_field() {
        return Err(AppError::BadRequest(format!(
            "unknown field `{unknown}`; expected audience, content, scheduled_at"
        )));
    }
    Ok(request)
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
    if !key_fits(key) {
        return Err(bad());
    }
    Ok(Some(key.to_owned()))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn a_body_must_be_an_object_of_the_three_fields() {
        let message = |bad: &str| match body(bad.as_bytes()) {
            Err(AppError::BadRequest(message)) => message,
            other => panic!("{bad:?}: {other:?}"),
        };
        assert!(message("").starts_with("invalid JSON body: "));
        assert!(message("{").starts_with("invalid JSON body: "));
        assert_eq!(message("[]"), "body must be a JSON object");
        assert_eq!(message("1"), "body must be a JSON object");
        assert_eq!(
            message("{\"audience\": 1, \"extra\": 2}"),
            "unknown field `extra`; expected audience, content, scheduled_at"
        );
        assert!(body(b"{}").is_ok());
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
