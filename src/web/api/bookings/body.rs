//! The JSON bodies of the two booking changes, typed: each field refuses a
//! wrong value with the message API.md gives, and the OpenAPI document
//! describes them as they are read.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny};
use utoipa::ToSchema;

use crate::domain::booking::{BadReferralCode, BookingStatus, DiscountPercent, ReferralCode};
use crate::domain::booking_change::Updates;
use crate::domain::input::BookingId;
use crate::domain::stream::StreamCode;

pub const UPDATES_MESSAGE: &str = "updates must be an object with at least one field";

/// Body of `PATCH /api/users/{id}/bookings`. Each field refuses a wrong
/// value with the message API.md gives.
#[derive(Debug, Deserialize, ToSchema)]
pub struct BookingPatch {
    /// The booking to change; null or absent: the user's most recent
    /// booking that is not cancelled.
    #[serde(rename = "bookingId", default, deserialize_with = "booking_id")]
    #[schema(value_type = Option<i32>, minimum = 1, maximum = 2147483647, nullable)]
    pub booking_id: Option<BookingId>,
    #[serde(default, deserialize_with = "updates")]
    #[schema(value_type = BookingUpdates, required = true)]
    pub updates: Option<BookingUpdates>,
    /// The `version` the client last saw; a different current one is a 409.
    #[serde(default, deserialize_with = "version")]
    #[schema(nullable)]
    pub version: Option<String>,
    /// Move into a stream past its capacity.
    #[serde(default, deserialize_with = "force")]
    #[schema(default = false)]
    pub force: bool,
}

/// The fields to change, at least one.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(min_properties = 1)]
pub struct BookingUpdates {
    /// The new status: -1 (cancelled), 1 (pending) or 2 (confirmed), along
    /// the allowed transitions.
    #[serde(default, deserialize_with = "confirmed")]
    #[schema(value_type = Option<i32>, minimum = -1, maximum = 2, nullable = false)]
    confirmed: Option<BookingStatus>,
    /// A registry stream of the booking's course, or null to clear.
    #[serde(default, deserialize_with = "course_stream")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,50}$", nullable)]
    course_stream: Option<Option<StreamCode>>,
    /// 1–64 characters of `[A-Za-z0-9_-]`, or null.
    #[serde(default, deserialize_with = "referral_code")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9_-]{1,64}$", nullable)]
    referral_code: Option<Option<ReferralCode>>,
    /// 0..=100, or null.
    #[serde(default, deserialize_with = "discount_percent")]
    #[schema(value_type = Option<i32>, minimum = 0, maximum = 100, nullable)]
    discount_percent: Option<Option<DiscountPercent>>,
    /// Any other name is refused.
    #[serde(flatten)]
    #[schema(ignore)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// Reads a `T`; anything else is `message`.
fn or_say<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
    message: &str,
) -> Result<T, D::Error> {
    T::deserialize(deserializer).map_err(|_| de::Error::custom(message))
}

fn booking_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BookingId>, D::Error> {
    or_say(d, "bookingId must be a positive integer or null")
}

fn version<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    or_say(d, "version must be a string or null")
}

fn force<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    or_say::<D, Option<bool>>(d, "force must be a boolean").map(Option::unwrap_or_default)
}

/// An object, read as [`BookingUpdates`] (whose fields name their own
/// problems); anything else is the `updates` message.
fn updates<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BookingUpdates>, D::Error> {
    struct Object;
    impl<'de> de::Visitor<'de> for Object {
        type Value = BookingUpdates;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(UPDATES_MESSAGE)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<BookingUpdates, A::Error> {
            BookingUpdates::deserialize(de::value::MapAccessDeserializer::new(map))
        }
        fn visit_unit<E: de::Error>(self) -> Result<BookingUpdates, E> {
            Err(E::custom(UPDATES_MESSAGE))
        }
    }
    d.deserialize_any(Object)
        .map(Some)
        .map_err(|err: D::Error| {
            // serde's "invalid type" for a non-object names what it expected.
            let text = err.to_string();
            if text.starts_with("invalid type") || text.starts_with("invalid value") {
                de::Error::custom(UPDATES_MESSAGE)
            } else {
                err
            }
        })
}

fn confirmed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<BookingStatus>, D::Error> {
    const MESSAGE: &str = "confirmed must be one of -1, 1, 2";
    let raw: Option<i64> = or_say(d, MESSAGE)?;
    raw.filter(|raw| matches!(raw, -1 | 1 | 2))
        .map(|raw| Some(BookingStatus::from_raw(Some(raw as i32))))
        .ok_or_else(|| de::Error::custom(MESSAGE))
}

fn course_stream<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<StreamCode>>, D::Error> {
    const MESSAGE: &str = "course_stream must be a stream code or null";
    let raw: Option<String> = or_say(d, MESSAGE)?;
    raw.map(|code| StreamCode::parse(&code).map_err(|_| de::Error::custom(MESSAGE)))
        .transpose()
        .map(Some)
}

fn referral_code<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<ReferralCode>>, D::Error> {
    let raw: Option<String> = or_say(d, &BadReferralCode.to_string())?;
    raw.map(|code| ReferralCode::parse(&code).map_err(de::Error::custom))
        .transpose()
        .map(Some)
}

fn discount_percent<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<DiscountPercent>>, D::Error> {
    const MESSAGE: &str = "discount_percent must be an integer between 0 and 100";
    let raw: Option<i64> = or_say(d, MESSAGE)?;
    raw.map(|n| DiscountPercent::new(n).map_err(|_| de::Error::custom(MESSAGE)))
        .transpose()
        .map(Some)
}

impl BookingUpdates {
    /// The updates, or the message for a name that is not a field or for
    /// no field at all.
    pub fn into_updates(self) -> Result<Updates, String> {
        if let Some(name) = self.unknown.keys().next() {
            return Err(format!("unknown field in updates: {name}"));
        }
        let updates = Updates {
            confirmed: self.confirmed,
            course_stream: self.course_stream,
            referral_code: self.referral_code,
            discount_percent: self.discount_percent,
        };
        if updates.confirmed.is_none()
            && updates.course_stream.is_none()
            && updates.referral_code.is_none()
            && updates.discount_percent.is_none()
        {
            return Err(UPDATES_MESSAGE.to_owned());
        }
        Ok(updates)
    }
}

/// Body of `PATCH /api/users/{id}/stream`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct StreamMove {
    /// The stream to move into: a registry stream of the booking's course.
    #[serde(rename = "newStream", default, deserialize_with = "new_stream")]
    #[schema(value_type = String, pattern = "^[A-Za-z0-9_-]{1,50}$", required = true)]
    pub new_stream: Option<StreamCode>,
    /// Move into a stream past its capacity.
    #[serde(default, deserialize_with = "force")]
    #[schema(default = false)]
    pub force: bool,
}

pub const NEW_STREAM_MESSAGE: &str = "newStream must be a stream code";

fn new_stream<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StreamCode>, D::Error> {
    let raw: String = or_say(d, NEW_STREAM_MESSAGE)?;
    StreamCode::parse(&raw)
        .map(Some)
        .map_err(|_| de::Error::custom(NEW_STREAM_MESSAGE))
}
