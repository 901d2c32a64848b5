//! Query strings and path segments into typed structs.
//!
//! Every value arrives as text. A field typed as an integer takes
//! `-?[0-9]+` only (no `+`, spaces, decimals or empty text: strict, as
//! API.md requires); a field typed as a list takes every value of its name,
//! any other field the first; unknown names are ignored. Errors name the
//! field: a newtype's `Deserialize` says what the value must be
//! ("must be an integer between 1 and 200") and [`Problem`] puts the name in
//! front, in English for the API or in Russian for pages.

use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use crate::domain::input::{Expectation, strict_int};
use crate::web::words;

/// One name's values, in the order they came.
type Values = Vec<String>;

/// Why a query string or path did not fit its struct.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The parameter (`limit`), or empty when the struct as a whole failed.
    pub field: String,
    /// What is wrong: a fragment starting with "must" that follows the
    /// field's name, or a whole sentence.
    pub message: String,
}

impl Problem {
    /// `limit must be an integer between 1 and 200`.
    pub fn english(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else if self.message.starts_with("must ") {
            format!("{} {}", self.field, self.message)
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }

    /// `Номер страницы — целое число от 1 до 1000.`
    pub fn russian(&self) -> String {
        let label = match self.field.as_str() {
            "page" => words::common::PAGE_NUMBER.to_owned(),
            "events_page" => words::common::EVENTS_PAGE_NUMBER.to_owned(),
            "" => return words::common::bad_query(&self.message),
            other => words::common::parameter(other),
        };
        let what = match Expectation::parse(&self.message) {
            Some(Expectation::Between(min, max)) => words::common::integer_between(min, max),
            Some(Expectation::Positive) => words::common::POSITIVE_INTEGER.to_owned(),
            Some(Expectation::NonNegative) => words::common::NON_NEGATIVE_INTEGER.to_owned(),
            Some(Expectation::Integer) => words::common::INTEGER.to_owned(),
            None => return words::common::parameter_problem(&label, &self.message),
        };
        words::common::parameter_must_be(&label, &what)
    }
}

/// Decodes `pairs` (name, value) into `T`. With `drop_empty`, a name whose
/// value is empty counts as absent (what a GET form sends for a field left
/// blank means "any").
pub fn from_pairs<T: DeserializeOwned>(
    pairs: impl IntoIterator<Item = (String, String)>,
    drop_empty: bool,
) -> Result<T, Problem> {
    let mut grouped: Vec<(String, Values)> = Vec::new();
    for (name, value) in pairs {
        if drop_empty && value.is_empty() {
            continue;
        }
        match grouped.iter_mut().find(|(known, _)| *known == name) {
            Some((_, values)) => values.push(value),
            None => grouped.push((name, vec![value])),
        }
    }
    let map = de::value::MapDeserializer::new(
        grouped
            .into_iter()
            .map(|(name, values)| (name, TextValue(values))),
    );
    serde_path_to_error::deserialize(map).map_err(|err| {
        let field = err.path().to_string();
        Problem {
            field: if field == "." { String::new() } else { field },
            message: err.into_inner().to_string(),
        }
    })
}

/// Decodes the one value `value` of `name` (a route's only path parameter).
pub fn from_one<T: DeserializeOwned>(name: &str, value: &str) -> Result<T, Problem> {
    T::deserialize(TextValue(vec![value.to_owned()])).map_err(|err| Problem {
        field: name.to_owned(),
        message: err.to_string(),
    })
}

/// Decodes several path parameters: into a struct by name, or into a tuple
/// in the order of the route.
pub fn from_path<T: DeserializeOwned>(pairs: Vec<(String, String)>) -> Result<T, Problem> {
    serde_path_to_error::deserialize(PathParams(pairs)).map_err(|err| {
        let field = err.path().to_string();
        Problem {
            field: if field == "." { String::new() } else { field },
            message: err.into_inner().to_string(),
        }
    })
}

/// A route's parameters, as a map or (for a tuple) a sequence.
struct PathParams(Vec<(String, String)>);

impl<'de> de::Deserializer<'de> for PathParams {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_map(de::value::MapDeserializer::new(
            self.0
                .into_iter()
                .map(|(name, value)| (name, TextValue(vec![value]))),
        ))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_seq(de::value::SeqDeserializer::new(
            self.0.into_iter().map(|(_, value)| TextValue(vec![value])),
        ))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.deserialize_seq(visitor)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct map struct enum
        identifier ignored_any
    }
}

/// Decodes a query string (`a=1&b=2`, without the `?`).
pub fn from_query<T: DeserializeOwned>(query: &str, drop_empty: bool) -> Result<T, Problem> {
    from_pairs(
        url::form_urlencoded::parse(query.as_bytes())
            .map(|(name, value)| (name.into_owned(), value.into_owned())),
        drop_empty,
    )
}

/// The text values of one name, read as whatever the field asks for.
struct TextValue(Values);

impl TextValue {
    fn first(&self) -> &str {
        self.0.first().map(String::as_str).unwrap_or_default()
    }

    fn int<E: de::Error>(&self) -> Result<i64, E> {
        strict_int(self.first()).ok_or_else(|| Expectation::Integer.error())
    }
}

impl<'de> IntoDeserializer<'de, de::value::Error> for TextValue {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! strict_integers {
    ($($method:ident => $visit:ident as $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            let value = self.int::<Self::Error>()?;
            let value = <$ty>::try_from(value).map_err(|_| Expectation::Integer.error::<Self::Error>())?;
            visitor.$visit(value)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for TextValue {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let first = self.0.into_iter().next().unwrap_or_default();
        visitor.visit_string(first)
    }

    strict_integers! {
        deserialize_i8 => visit_i8 as i8,
        deserialize_i16 => visit_i16 as i16,
        deserialize_i32 => visit_i32 as i32,
        deserialize_i64 => visit_i64 as i64,
        deserialize_u8 => visit_u8 as u8,
        deserialize_u16 => visit_u16 as u16,
        deserialize_u32 => visit_u32 as u32,
        deserialize_u64 => visit_u64 as u64,
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        match self.first() {
            "true" | "1" | "on" => visitor.visit_bool(true),
            "false" | "0" | "off" => visitor.visit_bool(false),
            _ => Err(de::Error::custom("must be true or false")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let items = self.0.into_iter().map(|value| TextValue(vec![value]));
        visitor.visit_seq(de::value::SeqDeserializer::new(items))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        let first = self.0.into_iter().next().unwrap_or_default();
        visitor.visit_enum(first.into_deserializer())
    }

    forward_to_deserialize_any! {
        i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct
        tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Params {
        limit: Option<i64>,
        id: Option<i32>,
        name: Option<String>,
        tags: Option<Vec<String>>,
        flag: Option<bool>,
    }

    fn parse(query: &str) -> Result<Params, Problem> {
        from_query(query, false)
    }

    #[test]
    fn integers_are_strict() {
        for bad in crate::domain::input::LOOSE_INTEGERS {
            let problem = parse(&format!("limit={}", urlencode(bad))).unwrap_err();
            assert_eq!(problem.english(), "limit must be an integer", "{bad:?}");
        }
        assert_eq!(
            parse("id=4294967296").unwrap_err().english(),
            "id must be an integer"
        );
    }

    fn urlencode(text: &str) -> String {
        url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
    }

    #[test]
    fn first_value_wins_lists_take_all_and_unknown_names_are_ignored() {
        let params = parse("limit=5&limit=7&x=1&tags=a&tags=b&name=%D0%90+b&flag=on").unwrap();
        assert_eq!(
            params,
            Params {
                limit: Some(5),
                id: None,
                name: Some("А b".into()),
                tags: Some(vec!["a".into(), "b".into()]),
                flag: Some(true),
            }
        );
    }

    #[test]
    fn several_path_parameters_fill_a_tuple_or_a_struct() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Both {
            user: i64,
            booking: i32,
        }
        let pairs = || vec![("user".into(), "5".into()), ("booking".into(), "7".into())];
        assert_eq!(
            from_path::<(i64, String)>(pairs()).unwrap(),
            (5, "7".into())
        );
        assert_eq!(
            from_path::<Both>(pairs()).unwrap(),
            Both {
                user: 5,
                booking: 7
            }
        );
        let bad = vec![("user".into(), "5".into()), ("booking".into(), "x".into())];
        assert_eq!(
            from_path::<Both>(bad).unwrap_err().english(),
            "booking must be an integer"
        );
        assert_eq!(
            from_one::<i32>("id", "+5").unwrap_err().english(),
            "id must be an integer"
        );
    }

    #[test]
    fn forms_may_leave_fields_blank() {
        assert!(parse("limit=").is_err());
        let params: Params = from_query("limit=&name=", true).unwrap();
        assert_eq!((params.limit, params.name), (None, None));
    }

    #[test]
    fn problems_read_well_in_both_languages() {
        let problem = |field: &str, expectation: Expectation| Problem {
            field: field.into(),
            message: expectation.message(),
        };
        let page = problem("page", Expectation::Between(1, 1000));
        assert_eq!(page.english(), "page must be an integer between 1 and 1000");
        assert_eq!(page.russian(), "Номер страницы — целое число от 1 до 1000.");
        let id = problem("course_id", Expectation::Positive);
        assert_eq!(id.english(), "course_id must be a positive integer");
        assert_eq!(
            id.russian(),
            "Параметр «course_id» — целое положительное число."
        );
        let whole = Problem {
            field: String::new(),
            message: "missing field `q`".into(),
        };
        assert_eq!(whole.english(), "missing field `q`");
        let sentence = Problem {
            field: "status".into(),
            message: "unknown variant `x`".into(),
        };
        assert_eq!(sentence.english(), "status: unknown variant `x`");
    }
}
