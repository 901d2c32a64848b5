//! Users: the list (search, filters, pages, the CSV's every row) and one
//! user. Every read here brings the people directory up to date first
//! (`store::people::catch_up`): the directory is what users queries read,
//! and the bot's tables get no triggers, so this is the one place the rule
//! lives. The filters are the same typed input for the API and the pages;
//! each adapter words [`UsersError`] its own way.

use std::sync::Arc;

use serde::{Deserialize, Deserializer};
use sqlx::PgPool;
use utoipa::IntoParams;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::app::reads::{Listed, Reads};
use crate::app::streams::{self, StreamError};
use crate::domain::input::CourseId;
use crate::domain::input::UserId;
use crate::domain::stream::StreamRef;
use crate::domain::user::{Search, Sort, StatusFilter};
use crate::store::users::{self, ListQuery, UserRow};
use crate::store::{bookings, people};

/// Why a users request was not answered.
#[derive(Debug, thiserror::Error)]
pub enum UsersError {
    /// A filter that is not one the list knows (English, naming it).
    #[error("{0}")]
    BadFilter(String),
    /// Nobody the bot knows has this id.
    #[error("User not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The list's filters as a query string or a GET form sends them.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Filters {
    /// A case-insensitive substring of the first name, last name or
    /// username (a leading @ is ignored), or an exact numeric id.
    pub search: Option<String>,
    /// A stream: users with a booking in it. Its code, or `course_id:code`;
    /// a code several courses have needs its course (here or in
    /// `course_id`).
    #[param(
        pattern = r"^([0-9]+:)?[A-Za-z0-9_-]{1,50}$",
        max_length = 62,
        min_length = 1
    )]
    pub stream: Option<String>,
    /// The stream's course (with `stream`).
    #[param(inline)]
    pub course_id: Option<CourseId>,
    /// The latest booking's status (in the stream, when given: the person's
    /// standing there, their most advanced booking), or `none`: no bookings.
    #[param(inline)]
    pub status: Option<StatusParam>,
    /// `activity` (the default: most recently active first) or `id`.
    #[param(inline)]
    pub sort: Option<SortParam>,
}

impl Filters {
    /// The store's query; the stream is checked here (its course, when
    /// not given, is found by [`list`]).
    pub fn check(self) -> Result<ListQuery, UsersError> {
        let mut stream = self
            .stream
            .map(|raw| StreamRef::parse(&raw))
            .transpose()
            .map_err(|err| UsersError::BadFilter(err.to_string()))?;
        match (&mut stream, self.course_id) {
            (_, None) => {}
            (None, Some(_)) => {
                return Err(UsersError::BadFilter("course_id needs a stream".into()));
            }
            (Some(stream), Some(course)) => match stream.course_id {
                Some(named) if named != course.get() => {
                    return Err(UsersError::BadFilter(
                        "course_id and the stream's course differ".into(),
                    ));
                }
                _ => stream.course_id = Some(course.get()),
            },
        }
        Ok(ListQuery {
            search: self.search.as_deref().and_then(Search::parse),
            stream,
            status: self.status.map(|status| status.0),
            sort: self.sort.map(|sort| sort.0).unwrap_or_default(),
        })
    }
}

/// A string-valued enum parameter: its wire values and its message.
fn string_enum(values: &[&str]) -> RefOr<Schema> {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .enum_values(Some(values.iter().copied()))
            .build(),
    )
    .into()
}

/// `status`: `-1`, `0`, `1`, `2` or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusParam(pub StatusFilter);

impl<'de> Deserialize<'de> for StatusParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        StatusFilter::parse(&raw)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("must be one of -1, 0, 1, 2, none"))
    }
}

impl PartialSchema for StatusParam {
    fn schema() -> RefOr<Schema> {
        string_enum(&["-1", "0", "1", "2", "none"])
    }
}

impl ToSchema for StatusParam {}

/// `sort`: `activity` or `id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortParam(pub Sort);

impl<'de> Deserialize<'de> for SortParam {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Sort::parse(&raw)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("must be activity or id"))
    }
}

impl PartialSchema for SortParam {
    fn schema() -> RefOr<Schema> {
        string_enum(&["activity", "id"])
    }
}

impl ToSchema for SortParam {}

/// A page of the users `query` matches and how many match, shared for
/// under a second with identical requests ([`Reads::users`]).
#[tracing::instrument(skip_all, fields(sort = ?query.sort, limit, offset))]
pub async fn list(
    pool: &PgPool,
    reads: &Reads,
    query: &ListQuery,
    limit: i64,
    offset: i64,
) -> Result<Arc<Listed>, UsersError> {
    let query = resolved(pool, query).await?;
    Ok(reads.users(pool, &query, limit, offset).await?)
}

/// Every user `query` matches, as the CSV wants them (not shared).
#[tracing::instrument(skip_all, fields(sort = ?query.sort))]
pub async fn export(pool: &PgPool, query: &ListQuery) -> Result<Vec<UserRow>, UsersError> {
    let query = resolved(pool, query).await?;
    people::catch_up(pool).await?;
    Ok(users::list(pool, &query, None, 0).await?.0)
}

/// `query` with its stream's course found, when it names a code alone.
async fn resolved(pool: &PgPool, query: &ListQuery) -> Result<ListQuery, UsersError> {
    let mut query = query.clone();
    if let Some(stream) = query.stream.as_mut()
        && stream.course_id.is_none()
    {
        match streams::course_of(pool, &stream.code, None).await {
            Ok(course_id) => stream.course_id = Some(course_id),
            // No course has it: the filter matches nobody.
            Err(StreamError::NotFound) => {}
            Err(StreamError::Ambiguous(several)) => {
                return Err(UsersError::BadFilter(streams::ambiguous_stream(
                    stream.code.as_str(),
                    &several,
                )));
            }
            Err(StreamError::Db(err)) => return Err(err.into()),
            Err(other) => return Err(UsersError::BadFilter(other.to_string())),
        }
    }
    Ok(query)
}

/// The user `id`, if the bot knows them (a row in any of its tables).
#[tracing::instrument(skip_all, fields(user_id = id.get()))]
pub async fn find(pool: &PgPool, id: UserId) -> Result<UserRow, UsersError> {
    if !bookings::user_is_known(pool, id.get()).await? {
        return Err(UsersError::NotFound);
    }
    people::catch_up(pool).await?;
    users::get(pool, id.get())
        .await?
        .ok_or(UsersError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;

    #[test]
    fn filters_read_their_values_and_name_what_is_wrong() {
        let status = |raw: &str| serde_json::from_value::<StatusParam>(raw.into());
        assert_eq!(
            status("-1").unwrap().0,
            StatusFilter::Latest(BookingStatus::Cancelled)
        );
        assert_eq!(status("none").unwrap().0, StatusFilter::NoBookings);
        for bad in ["", "3", "None", " 2"] {
            assert_eq!(
                status(bad).unwrap_err().to_string(),
                "must be one of -1, 0, 1, 2, none"
            );
        }
        let sort = |raw: &str| serde_json::from_value::<SortParam>(raw.into());
        assert_eq!(sort("id").unwrap().0, Sort::Id);
        assert_eq!(
            sort("name").unwrap_err().to_string(),
            "must be activity or id"
        );
        let filters = Filters {
            stream: Some("a b".into()),
            ..Filters::default()
        };
        assert!(
            matches!(filters.check(), Err(UsersError::BadFilter(m)) if m.starts_with("stream must be"))
        );
        let stream = |stream: &str, course_id: Option<i32>| {
            Filters {
                stream: Some(stream.into()),
                course_id: course_id.map(CourseId),
                ..Filters::default()
            }
            .check()
            .map(|query| query.stream.unwrap().to_string())
        };
        assert_eq!(stream("4th_stream", None).unwrap(), "4th_stream");
        assert_eq!(stream("4th_stream", Some(2)).unwrap(), "2:4th_stream");
        assert_eq!(stream("2:4th_stream", None).unwrap(), "2:4th_stream");
        assert_eq!(stream("2:4th_stream", Some(2)).unwrap(), "2:4th_stream");
        assert!(matches!(
            stream("1:4th_stream", Some(2)),
            Err(UsersError::BadFilter(m)) if m.contains("differ")
        ));
        assert!(matches!(
            Filters { course_id: Some(CourseId(2)), ..Filters::default() }.check(),
            Err(UsersError::BadFilter(m)) if m.contains("needs a stream")
        ));
        let query = Filters {
            search: Some(" @anna ".into()),
            stream: Some("8th_stream".into()),
            ..Filters::default()
        }
        .check()
        .unwrap();
        assert_eq!(query.search, Some(Search::Text("anna".into())));
        assert_eq!(query.stream.unwrap().to_string(), "8th_stream");
        assert_eq!(query.sort, Sort::Activity);
    }
}
