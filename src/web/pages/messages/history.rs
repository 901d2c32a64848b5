//! `GET /messages`: every broadcast, legacy ones included, newest first,
//! filtered by status, audience stream and author, 50 to a page.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};

use super::audience::summary;
use super::render::excerpt;
use super::shared::{self, MAX_PAGE, PageQuery, Words, with_query};
use crate::app::broadcasts::filters::{StatusFilter, StreamFilter};
use crate::domain::broadcast::BroadcastStatus;
use crate::domain::input::Bounded;
use crate::domain::stream::stream_key;
use crate::store::broadcast_history;
use crate::store::broadcasts::{self, Broadcast, Filter};
use crate::store::streams::StreamChoice;
use crate::web::AppState;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::pages::Layout;
use crate::web::routes::Routes;
use crate::web::words::{self, Badge, Label};

pub const PAGE_SIZE: i64 = 50;
/// Longest author filter accepted (logins and token names are far shorter).
const MAX_AUTHOR: usize = 200;
const EXCERPT: usize = 120;

pub fn routes() -> Routes {
    Routes::default().get("/messages", Access::ADMIN, show)
}

/// An author to filter by: a staff login or token name, as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author(pub String);

impl<'de> Deserialize<'de> for Author {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        if raw.chars().count() > MAX_AUTHOR || raw.chars().any(char::is_control) {
            return Err(serde::de::Error::custom("not a login"));
        }
        Ok(Self(raw))
    }
}

/// `?status=…&stream=…&author=…&page=N`; blank fields mean "any".
#[derive(Debug, Default, Deserialize)]
pub struct HistoryQuery {
    status: Option<StatusFilter>,
    stream: Option<StreamFilter>,
    author: Option<Author>,
    page: Option<Bounded<1, { MAX_PAGE }>>,
}

impl Words for HistoryQuery {
    fn refusal(field: &str) -> Option<String> {
        Some(match field {
            "status" => words::messages::BAD_HISTORY_STATUS.to_owned(),
            "stream" => words::messages::BAD_STREAM_CODE.to_owned(),
            "author" => words::messages::bad_author(MAX_AUTHOR),
            _ => return None,
        })
    }
}

impl HistoryQuery {
    /// The filter and the page (from 1).
    pub fn filter(self) -> (Filter, i64) {
        (
            Filter {
                status: self.status.map(|status| status.0),
                stream: self.stream.map(|stream| stream.0),
                author: self.author.map(|author| author.0),
            },
            self.page.map_or(1, Bounded::get),
        )
    }
}

/// The query string of `filter` and `page` (when past the first).
fn filter_pairs(filter: &Filter, page: i64) -> Vec<(&'static str, String)> {
    let mut pairs = Vec::new();
    if let Some(status) = filter.status {
        pairs.push(("status", status.as_str().to_owned()));
    }
    if let Some(stream) = &filter.stream {
        pairs.push(("stream", stream.clone()));
    }
    if let Some(author) = &filter.author {
        pairs.push(("author", author.clone()));
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    pairs
}

pub struct Row {
    pub broadcast: Broadcast,
    pub audience: String,
    pub excerpt: String,
}

pub struct Choice {
    pub value: String,
    pub label: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "messages.html")]
pub struct HistoryPage {
    layout: Layout,
    filter: Filter,
    statuses: [BroadcastStatus; 7],
    streams: Vec<Choice>,
    authors: Vec<String>,
    rows: Vec<Row>,
    /// Saved composer drafts (they are not broadcasts yet).
    drafts: i64,
    total: i64,
    page: i64,
    pages: i64,
    tz: Tz,
}

impl HistoryPage {
    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        crate::web::pages::maybe_local_time(self.tz, at)
    }

    fn page_href(&self, page: i64) -> String {
        with_query("/messages", &filter_pairs(&self.filter, page))
    }

    fn is_status(&self, status: &BroadcastStatus) -> bool {
        self.filter.status == Some(*status)
    }

    fn is_stream(&self, code: &str) -> bool {
        self.filter.stream.as_deref() == Some(code)
    }

    fn is_author(&self, author: &str) -> bool {
        self.filter.author.as_deref() == Some(author)
    }

    fn filtered(&self) -> bool {
        self.filter.status.is_some() || self.filter.stream.is_some() || self.filter.author.is_some()
    }
}

/// `GET /messages[?status=…][&stream=…][&author=…][&page=N]`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    PageQuery(query): PageQuery<HistoryQuery>,
) -> Result<HistoryPage, AppError> {
    let (filter, page) = query.filter();
    let (broadcasts, total) =
        broadcasts::list(&state.pool, &filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let known = crate::store::streams::stream_choices(&state.pool).await?;
    let names = shared::names_of(&known, &crate::store::streams::courses(&state.pool).await?);
    let rows = broadcasts
        .into_iter()
        .map(|broadcast| Row {
            audience: summary(&broadcast, &names),
            excerpt: excerpt(&broadcast.text, EXCERPT),
            broadcast,
        })
        .collect();
    let mut authors = broadcast_history::authors(&state.pool).await?;
    if let Some(author) = &filter.author
        && !authors.contains(author)
    {
        authors.push(author.clone());
    }
    Ok(HistoryPage {
        layout: Layout::new("/messages", &principal),
        streams: stream_choices(known, &filter, &names),
        filter,
        statuses: BroadcastStatus::ALL,
        authors,
        rows,
        drafts: crate::store::drafts::count(&state.pool).await?,
        total,
        page,
        pages: shared::pages(total, PAGE_SIZE),
        tz: state.config.school_timezone,
    })
}

/// Streams to filter by, in display order (archived ones only when chosen).
fn stream_choices(
    known: Vec<StreamChoice>,
    filter: &Filter,
    names: &HashMap<String, String>,
) -> Vec<Choice> {
    let mut choices: Vec<Choice> = known
        .into_iter()
        .map(|s| {
            let key = stream_key(s.course_id, &s.code);
            (s, key)
        })
        .filter(|(s, key)| !s.archived || filter.stream.as_ref() == Some(key))
        .map(|(_, key)| Choice {
            label: names.get(&key).cloned().unwrap_or_else(|| key.clone()),
            value: key,
        })
        .collect();
    if let Some(code) = &filter.stream
        && !choices.iter().any(|c| &c.value == code)
    {
        choices.push(Choice {
            label: names.get(code).cloned().unwrap_or_else(|| code.clone()),
            value: code.clone(),
        });
    }
    choices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::extract::text_values::from_query;

    fn parse(query: &str) -> Result<(Filter, i64), String> {
        from_query::<HistoryQuery>(query, true)
            .map(HistoryQuery::filter)
            .map_err(|problem| {
                HistoryQuery::refusal(&problem.field).unwrap_or_else(|| problem.russian())
            })
    }

    #[test]
    fn blank_fields_mean_any_and_links_keep_the_filters() {
        let (filter, page) = parse("status=&stream=&author=&page=").unwrap();
        assert!(filter.status.is_none() && filter.stream.is_none() && filter.author.is_none());
        assert_eq!(page, 1);
        let (filter, page) = parse("status=done&stream=8th_stream&author=anna+b&page=2").unwrap();
        assert_eq!(filter.status, Some(BroadcastStatus::Done));
        assert_eq!(filter.author.as_deref(), Some("anna b"));
        assert_eq!(page, 2);
        let pairs = filter_pairs(&filter, 3);
        assert_eq!(
            with_query("/messages", &pairs),
            "/messages?status=done&stream=8th_stream&author=anna+b&page=3"
        );
        for (bad, words) in [
            ("status=sent", "Статус рассылки"),
            ("stream=a%20b", "Поток"),
            ("page=0", "Номер страницы"),
            ("page=x", "Номер страницы"),
            ("page=%2B1", "Номер страницы"),
            ("author=%01", "Автор"),
        ] {
            let message = parse(bad).unwrap_err();
            assert!(message.starts_with(words), "{bad}: {message}");
        }
    }
}
