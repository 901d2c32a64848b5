//! Strict query-string parsing for the JSON API: integers are digits only
//! (`limit=12abc`, `limit=1.5`, `limit=` are errors), unknown parameters are
//! ignored, and each error names the parameter.

use std::collections::HashMap;

use crate::web::error::AppError;

/// The query string as name → first value.
pub struct Params(HashMap<String, String>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let mut map = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            map.entry(name.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Self(map)
    }

    /// The same without empty values: what a GET form sends for a field
    /// left blank means "any".
    pub fn without_empty(mut self) -> Self {
        self.0.retain(|_, value| !value.is_empty());
        self
    }

    pub fn raw(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// An optional integer in `range`; `message` when present but not one.
    pub fn int(
        &self,
        name: &str,
        range: std::ops::RangeInclusive<i64>,
        message: &str,
    ) -> Result<Option<i64>, AppError> {
        match self.raw(name) {
            None => Ok(None),
            Some(raw) => strict_int(raw)
                .filter(|value| range.contains(value))
                .map(Some)
                .ok_or_else(|| AppError::BadRequest(message.to_owned())),
        }
    }
}

/// A positive integer that fits an i32 (a serial id); nothing else.
pub fn positive_i32(raw: &str) -> Option<i32> {
    strict_int(raw)
        .filter(|id| (1..=i64::from(i32::MAX)).contains(id))
        .map(|id| id as i32)
}

/// `-?[0-9]+` that fits an i64; nothing else.
pub fn strict_int(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        for good in ["0", "12", "-1", "200"] {
            assert!(strict_int(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "12abc",
            "1.5",
            "+1",
            " 1",
            "1 ",
            "-",
            "0x10",
            "99999999999999999999",
        ] {
            assert_eq!(strict_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn first_value_wins_and_ranges_are_checked() {
        let params = Params::parse(Some("limit=5&limit=7&x=1"));
        assert_eq!(params.int("limit", 1..=200, "bad").unwrap(), Some(5));
        assert_eq!(params.int("missing", 1..=200, "bad").unwrap(), None);
        let params = Params::parse(Some("limit=0"));
        assert!(params.int("limit", 1..=200, "bad").is_err());
    }
}
