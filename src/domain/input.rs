//! The integers staff and clients send: bounded numbers and one id type per
//! entity. Each deserializes from a JSON number or (through the web layer's
//! strict text reader) from query and path text, refuses anything else with
//! the message API.md gives ("must be a positive integer", "must be an
//! integer between 1 and 200"), and describes itself truthfully in the
//! OpenAPI document (type, format, minimum, maximum).

use serde::{Deserialize, Deserializer, Serialize};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{RefOr, schema};
use utoipa::{PartialSchema, ToSchema};

/// What an integer input promises, and the message when it is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expectation {
    Between(i64, i64),
    Positive,
    NonNegative,
    Integer,
}

impl Expectation {
    /// The fragment that follows the field's name.
    pub fn message(self) -> String {
        match self {
            Self::Between(min, max) => format!("must be an integer between {min} and {max}"),
            Self::Positive => "must be a positive integer".to_owned(),
            Self::NonNegative => "must be a non-negative integer".to_owned(),
            Self::Integer => "must be an integer".to_owned(),
        }
    }

    /// The inverse of [`Self::message`], for translating it.
    pub fn parse(message: &str) -> Option<Self> {
        let rest = message.strip_prefix("must be ")?;
        Some(match rest {
            "a positive integer" => Self::Positive,
            "a non-negative integer" => Self::NonNegative,
            "an integer" => Self::Integer,
            _ => {
                let (min, max) = rest
                    .strip_prefix("an integer between ")?
                    .split_once(" and ")?;
                Self::Between(min.parse().ok()?, max.parse().ok()?)
            }
        })
    }

    /// The serde error of a value that broke this promise.
    pub fn error<E: serde::de::Error>(self) -> E {
        E::custom(self.message())
    }

    /// Reads an integer and checks it against the promise; anything else
    /// (text, a fraction, out of range) is the promise's error.
    fn read<'de, D: Deserializer<'de>>(self, deserializer: D) -> Result<i64, D::Error> {
        let (min, max) = match self {
            Self::Between(min, max) => (min, max),
            Self::Positive => (1, i64::MAX),
            Self::NonNegative => (0, i64::MAX),
            Self::Integer => (i64::MIN, i64::MAX),
        };
        i64::deserialize(deserializer)
            .ok()
            .filter(|value| (min..=max).contains(value))
            .ok_or_else(|| self.error())
    }

    fn schema(self, format: KnownFormat) -> Schema {
        let builder = ObjectBuilder::new()
            .schema_type(schema::SchemaType::new(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(format)));
        let builder = match self {
            Self::Between(min, max) => builder.minimum(Some(min)).maximum(Some(max)),
            Self::Positive => builder.minimum(Some(1)),
            Self::NonNegative => builder.minimum(Some(0)),
            Self::Integer => builder,
        };
        Schema::Object(builder.build())
    }
}

/// `-?[0-9]+` that fits an i64; nothing else (no `+`, spaces or decimals).
pub fn strict_int(raw: &str) -> Option<i64> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// An integer in `MIN..=MAX` (a page number, a limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Bounded<const MIN: i64, const MAX: i64>(pub i64);

impl<const MIN: i64, const MAX: i64> Bounded<MIN, MAX> {
    pub const EXPECTATION: Expectation = Expectation::Between(MIN, MAX);

    pub fn get(self) -> i64 {
        self.0
    }
}

impl<'de, const MIN: i64, const MAX: i64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::EXPECTATION.read(deserializer).map(Self)
    }
}

impl<const MIN: i64, const MAX: i64> PartialSchema for Bounded<MIN, MAX> {
    fn schema() -> RefOr<Schema> {
        let format = if MIN >= i64::from(i32::MIN) && MAX <= i64::from(i32::MAX) {
            KnownFormat::Int32
        } else {
            KnownFormat::Int64
        };
        Self::EXPECTATION.schema(format).into()
    }
}

impl<const MIN: i64, const MAX: i64> ToSchema for Bounded<MIN, MAX> {}

/// An offset into a list: 0 or more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(transparent)]
pub struct Offset(pub i64);

impl<'de> Deserialize<'de> for Offset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Expectation::NonNegative.read(deserializer).map(Self)
    }
}

impl PartialSchema for Offset {
    fn schema() -> RefOr<Schema> {
        Expectation::NonNegative.schema(KnownFormat::Int64).into()
    }
}

impl ToSchema for Offset {}

/// Id types: a positive integer of the entity's column type.
macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident($ty:ty, $format:ident);)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(pub $ty);

        impl $name {
            pub fn get(self) -> $ty {
                self.0
            }

            /// The id in `raw` (strict digits, positive, fits the column).
            pub fn parse(raw: &str) -> Option<Self> {
                strict_int(raw)
                    .filter(|id| *id > 0)
                    .and_then(|id| <$ty>::try_from(id).ok())
                    .map(Self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let max = i64::from(<$ty>::MAX);
                let id = Expectation::Between(1, max)
                    .read(deserializer)
                    .map_err(|_: D::Error| Expectation::Positive.error::<D::Error>())?;
                <$ty>::try_from(id).map(Self).map_err(|_| Expectation::Positive.error())
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                Expectation::Between(1, i64::from(<$ty>::MAX))
                    .schema(KnownFormat::$format)
                    .into()
            }
        }

        impl ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

ids! {
    /// A Telegram user id (`users.user_id`, `bookings.user_id`).
    UserId(i64, Int64);
    /// `bookings.id`.
    BookingId(i32, Int32);
    /// `courses.id` (the bot's course number).
    CourseId(i32, Int32);
    /// `broadcasts.id`.
    BroadcastId(i32, Int32);
    /// `course_streams.id`.
    StreamId(i32, Int32);
    /// `staff_users.id`.
    StaffId(i32, Int32);
    /// `api_tokens.id`.
    TokenId(i64, Int64);
}

/// Text that is no strict integer, for the tests of every reader of one.
#[cfg(test)]
pub(crate) const LOOSE_INTEGERS: &[&str] = &[
    "",
    "12abc",
    "1.5",
    "+1",
    " 1",
    "1 ",
    "-",
    "0x10",
    "99999999999999999999",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        for good in ["0", "12", "-1", "200"] {
            assert!(strict_int(good).is_some(), "{good}");
        }
        for bad in LOOSE_INTEGERS {
            assert_eq!(strict_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn json_numbers_are_checked_against_the_promise() {
        let limit = |json: &str| serde_json::from_str::<Bounded<1, 200>>(json);
        assert_eq!(limit("200").unwrap().get(), 200);
        for bad in ["0", "201", "1.5", "\"5\"", "null", "-1"] {
            assert_eq!(
                limit(bad).unwrap_err().to_string(),
                "must be an integer between 1 and 200",
                "{bad}"
            );
        }
        assert_eq!(serde_json::from_str::<Offset>("0").unwrap(), Offset(0));
        assert!(serde_json::from_str::<Offset>("-1").is_err());
        assert_eq!(
            serde_json::from_str::<BookingId>("7").unwrap(),
            BookingId(7)
        );
        for bad in ["0", "2147483648", "\"7\"", "7.0"] {
            assert_eq!(
                serde_json::from_str::<BookingId>(bad)
                    .unwrap_err()
                    .to_string(),
                "must be a positive integer",
                "{bad}"
            );
        }
        assert_eq!(BookingId::parse("12"), Some(BookingId(12)));
        assert_eq!(BookingId::parse("+12"), None);
        assert_eq!(
            UserId::parse("9007199254740993"),
            Some(UserId(9007199254740993))
        );
    }

    #[test]
    fn messages_translate_back() {
        for expectation in [
            Expectation::Between(1, 1000),
            Expectation::Between(-5, 5),
            Expectation::Positive,
            Expectation::NonNegative,
            Expectation::Integer,
        ] {
            assert_eq!(
                Expectation::parse(&expectation.message()),
                Some(expectation)
            );
        }
        assert_eq!(Expectation::parse("unknown variant"), None);
    }

    #[test]
    fn schemas_carry_the_bounds() {
        let json = serde_json::to_value(Bounded::<1, 200>::schema()).unwrap();
        assert_eq!(json["minimum"], 1);
        assert_eq!(json["maximum"], 200);
        assert_eq!(json["format"], "int32");
        let json = serde_json::to_value(UserId::schema()).unwrap();
        assert_eq!(json["minimum"], 1);
        assert_eq!(json["format"], "int64");
    }
}
