//! `/users`: every known user, with a search (name, @username or exact id),
//! filters by stream and latest booking status, two orders, pages with the
//! total, and `/users.csv` ([`export`]) with the same rows. A plain GET
//! form; with htmx (search-as-you-type) the same URL answers the results
//! block alone.

pub mod export;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::Deserialize;

use super::Layout;
use super::htmx::{self, Fragment};
use crate::app::users::{self as use_case, Filters};
use crate::domain::input::Bounded;
use crate::domain::stream::stream_key;
use crate::domain::user::{Search, Sort, StatusFilter};
use crate::store::streams;
use crate::store::users::{ListQuery, UserRow};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words::pages as words;
use crate::web::words::{Badge, Label};

/// Rows per page.
pub const PAGE_SIZE: i64 = 50;
const MAX_PAGE: i64 = 1_000_000;

/// The page number of the list.
#[derive(Debug, Default, Deserialize)]
pub struct PageNumber {
    page: Option<Bounded<1, MAX_PAGE>>,
}

/// A filter the list does not know, in one sentence naming what each takes.
fn bad_filter() -> AppError {
    AppError::BadRequest(words::users::BAD_FILTER.to_owned())
}

/// The list's filters and page from the form (blank fields mean "any"):
/// a bad filter gets one sentence naming what each takes, a bad page
/// number its own.
pub fn checked(
    filters: Result<FormQuery<Filters>, AppError>,
    page: Result<FormQuery<PageNumber>, AppError>,
) -> Result<(ListQuery, i64), AppError> {
    let FormQuery(filters) = filters.map_err(|_| bad_filter())?;
    let list = filters.check().map_err(|_| bad_filter())?;
    let FormQuery(page) = page?;
    Ok((list, page.page.map_or(1, Bounded::get)))
}

/// The query string of `list` (and `page` when past the first).
pub fn list_params(list: &ListQuery, page: i64) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    if let Some(search) = &list.search {
        query.append_pair("search", &search.as_typed());
    }
    if let Some(stream) = &list.stream {
        query.append_pair("stream", &stream.to_string());
    }
    if let Some(status) = list.status {
        query.append_pair("status", &status.param());
    }
    if list.sort != Sort::default() {
        query.append_pair("sort", list.sort.param());
    }
    if page > 1 {
        query.append_pair("page", &page.to_string());
    }
    query.finish()
}

/// The use case's refusal as a page: filters are checked before, so only
/// the database is left.
pub fn refused(err: use_case::UsersError) -> AppError {
    match err {
        use_case::UsersError::BadFilter(_) => bad_filter(),
        use_case::UsersError::NotFound => AppError::NotFound(words::USER_NOT_FOUND.to_owned()),
        use_case::UsersError::Db(err) => err.into(),
    }
}

fn with_query(path: &str, query: String) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// A stream in the filter: `course_id:code` and what to call it.
pub struct StreamOption {
    key: String,
    name: String,
    archived: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "users.html", blocks = ["results"])]
pub struct UsersPage {
    layout: Layout,
    list: ListQuery,
    streams: Vec<StreamOption>,
    statuses: Vec<StatusFilter>,
    users: Vec<UserRow>,
    total: i64,
    page: i64,
    pages: i64,
    tz: Tz,
}

impl UsersPage {
    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        super::maybe_local_time(self.tz, at)
    }

    fn search(&self) -> String {
        self.list
            .search
            .as_ref()
            .map(Search::as_typed)
            .unwrap_or_default()
    }

    fn is_stream(&self, key: &str) -> bool {
        self.list
            .stream
            .as_ref()
            .is_some_and(|stream| stream.to_string() == key)
    }

    fn is_status(&self, status: &StatusFilter) -> bool {
        self.list.status == Some(*status)
    }

    fn sorted_by_id(&self) -> bool {
        self.list.sort == Sort::Id
    }

    fn page_href(&self, page: i64) -> String {
        with_query("/users", list_params(&self.list, page))
    }

    fn csv_href(&self) -> String {
        with_query("/users.csv", list_params(&self.list, 1))
    }

    fn filtered(&self) -> bool {
        self.list.search.is_some() || self.list.stream.is_some() || self.list.status.is_some()
    }

    fn shown_from(&self) -> i64 {
        (self.page - 1) * PAGE_SIZE + 1
    }

    fn shown_to(&self) -> i64 {
        (self.page - 1) * PAGE_SIZE + self.users.len() as i64
    }

    fn user_href(row: &UserRow) -> String {
        format!("/users/{}", row.user_id)
    }
}

/// `GET /users[?search=…][&stream=…][&status=…][&sort=id][&page=N]`; htmx
/// gets the results alone.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    fragment: Fragment,
    filters: Result<FormQuery<Filters>, AppError>,
    page: Result<FormQuery<PageNumber>, AppError>,
) -> Result<Response, AppError> {
    let (list, page) = checked(filters, page)?;
    let listed = use_case::list(
        &state.pool,
        &state.reads,
        &list,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await
    .map_err(refused)?;
    let (users, total) = (listed.0.clone(), listed.1);
    let courses = streams::courses(&state.pool).await?;
    let streams = streams::stream_choices(&state.pool)
        .await?
        .into_iter()
        .map(|stream| StreamOption {
            key: stream_key(stream.course_id, &stream.code),
            name: super::stream_label(&courses, stream.course_id, stream.name()),
            archived: stream.archived,
        })
        .filter(|option| {
            !option.archived
                || list
                    .stream
                    .as_ref()
                    .is_some_and(|s| s.to_string() == option.key)
        })
        .collect();
    let page = UsersPage {
        layout: Layout::new("/users", &principal),
        list,
        streams,
        statuses: StatusFilter::choices(),
        users,
        total,
        page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        tz: state.config.school_timezone,
    };
    let response = if fragment.0 {
        htmx::html(&page.as_results())?
    } else {
        page.into_response()
    };
    Ok(([htmx::VARY], response).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::booking::BookingStatus;
    use crate::web::extract::text_values::from_query;

    /// The form `query` as the handler's extractor reads it.
    fn form<T: serde::de::DeserializeOwned>(query: &str) -> Result<FormQuery<T>, AppError> {
        from_query(query, true)
            .map(FormQuery)
            .map_err(|problem| AppError::BadRequest(problem.russian()))
    }

    /// What the handler gets from the query string `query`.
    fn parse(query: Option<&str>) -> Result<(ListQuery, i64), AppError> {
        let query = query.unwrap_or_default();
        checked(form(query), form(query))
    }

    #[test]
    fn blank_fields_mean_any_and_links_keep_the_filters() {
        let (list, page) = parse(Some("search=&stream=&status=&sort=&page=")).unwrap();
        assert!(list.search.is_none() && list.stream.is_none() && list.status.is_none());
        assert_eq!((list.sort, page), (Sort::Activity, 1));
        assert_eq!(list_params(&list, 1), "");

        let (list, page) = parse(Some(
            "search=%40anna+b&stream=8th_stream&status=-1&sort=id&page=3",
        ))
        .unwrap();
        assert_eq!(list.search, Some(Search::Text("anna b".into())));
        assert_eq!(
            list.status,
            Some(StatusFilter::Latest(BookingStatus::Cancelled))
        );
        assert_eq!(page, 3);
        assert_eq!(
            list_params(&list, 2),
            "search=anna+b&stream=8th_stream&status=-1&sort=id&page=2"
        );
        for bad in ["status=3", "stream=a%20b", "sort=name", "page=0", "page=x"] {
            assert!(
                matches!(parse(Some(bad)), Err(AppError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
