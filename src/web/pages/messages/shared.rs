//! What the history, detail and action pages share: the `{id}`, their
//! query strings, loading a broadcast, stream names, links.

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use sqlx::PgPool;

use crate::domain::input::BroadcastId;
use crate::domain::stream::stream_key;
use crate::store::broadcasts::{self, Broadcast};
use crate::store::streams::{self, Course, StreamChoice};
use crate::web::error::AppError;
use crate::web::extract::{Path, text_values};
use crate::web::pages::stream_label;
use crate::web::words;

/// The `{id}` of a broadcast page: a positive integer, else 400.
#[derive(Debug, Clone, Copy)]
pub struct Id(pub i32);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        Path::<BroadcastId>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Self(id.get()))
            .map_err(|_| AppError::BadRequest(words::messages::BAD_BROADCAST_ID.to_owned()))
    }
}

/// A broadcast id typed into a form (`raw`), else 400.
pub fn broadcast_id(raw: &str) -> Result<i32, AppError> {
    BroadcastId::parse(raw)
        .map(BroadcastId::get)
        .ok_or_else(|| AppError::BadRequest(words::messages::BAD_BROADCAST_ID.to_owned()))
}

/// A messages page's GET form, read as `FormQuery` reads it (blank fields
/// are "any", integers strict), refused in the page's own words for its
/// fields ([`Words`]) or else in `FormQuery`'s.
#[derive(Debug, Clone)]
pub struct PageQuery<T>(pub T);

/// What a page says when a field of its query is refused.
pub trait Words {
    /// The whole sentence for `field`, when the page has its own.
    fn refusal(field: &str) -> Option<String>;
}

impl<S: Send + Sync, T: DeserializeOwned + Words> FromRequestParts<S> for PageQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        text_values::from_query(parts.uri.query().unwrap_or_default(), true)
            .map(Self)
            .map_err(|problem| {
                AppError::BadRequest(
                    T::refusal(&problem.field).unwrap_or_else(|| problem.russian()),
                )
            })
    }
}

/// The words for a broadcast number typed into a query.
pub fn bad_id() -> String {
    words::messages::BAD_BROADCAST_ID.to_owned()
}

pub fn not_found() -> AppError {
    AppError::NotFound(words::messages::BROADCAST_NOT_FOUND.to_owned())
}

/// Broadcast `id`, or 404.
pub async fn load(pool: &PgPool, id: Id) -> Result<Broadcast, AppError> {
    broadcasts::get(pool, id.0).await?.ok_or_else(not_found)
}

/// How audiences name streams (`course_id:code`, or a bare code in those
/// stored before streams had courses) → what to call them, for every stream
/// the registry or bookings know.
pub async fn stream_names(pool: &PgPool) -> sqlx::Result<HashMap<String, String>> {
    let courses = streams::courses(pool).await?;
    Ok(names_of(&streams::stream_choices(pool).await?, &courses))
}

/// [`stream_names`] of `known`.
pub fn names_of(known: &[StreamChoice], courses: &[Course]) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for stream in known {
        names.insert(
            stream_key(stream.course_id, &stream.code),
            stream_label(courses, stream.course_id, stream.name()),
        );
        names
            .entry(stream.code.clone())
            .or_insert_with(|| stream.name().to_owned());
    }
    names
}

/// `path` with `query` appended when there is one.
pub fn with_query(path: &str, pairs: &[(&str, String)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// Most page numbers a list accepts.
pub const MAX_PAGE: i64 = 1_000_000;

/// Pages needed for `total` rows, at least one.
pub fn pages(total: i64, size: i64) -> i64 {
    ((total + size - 1) / size).max(1)
}
