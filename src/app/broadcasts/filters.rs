//! The status filters of the broadcast lists, as query parameters: one of
//! the wire names, refused with the list of them ("must be one of draft,
//! scheduled, …", which the reader puts after the parameter's name), and
//! described in the OpenAPI document as a string enum.

use serde::{Deserialize, Deserializer};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::broadcast::{BroadcastStatus, RecipientStatus};
use crate::domain::stream::StreamRef;

macro_rules! filters {
    ($($(#[$doc:meta])* $name:ident($ty:ty);)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $name(pub $ty);

        impl $name {
            /// "must be one of a, b, c".
            pub fn expected() -> String {
                let names: Vec<&str> = <$ty>::ALL.iter().map(|s| s.as_str()).collect();
                format!("must be one of {}", names.join(", "))
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let refuse = || serde::de::Error::custom(Self::expected());
                let raw = String::deserialize(deserializer).map_err(|_: D::Error| refuse())?;
                raw.parse::<$ty>().map(Self).map_err(|_| refuse())
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(<$ty>::ALL.iter().map(|s| s.as_str())))
                    .into()
            }
        }

        impl ToSchema for $name {}
    )*};
}

filters! {
    /// A broadcast status to list.
    StatusFilter(BroadcastStatus);
    /// A recipient delivery status to list.
    RecipientFilter(RecipientStatus);
}

/// A stream to list the broadcasts of, by code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamFilter(pub String);

impl<'de> Deserialize<'de> for StreamFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        StreamRef::parse(&raw)
            .map(|stream| Self(stream.to_string()))
            .map_err(serde::de::Error::custom)
    }
}

impl PartialSchema for StreamFilter {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .pattern(Some("^([0-9]+:)?[A-Za-z0-9_-]{1,50}$"))
            .into()
    }
}

impl ToSchema for StreamFilter {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_exact_and_refusals_list_them() {
        let read = |json: &str| serde_json::from_str::<StatusFilter>(json);
        assert_eq!(
            read("\"done\"").unwrap(),
            StatusFilter(BroadcastStatus::Done)
        );
        for bad in ["\"DONE\"", "\"\"", "\"finished\"", "1"] {
            let err = read(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("must be one of draft, scheduled, sending, paused, done"),
                "{bad}: {err}"
            );
        }
        let schema = serde_json::to_value(RecipientFilter::schema()).unwrap();
        assert_eq!(schema["enum"].as_array().unwrap().len(), 8);
    }
}
