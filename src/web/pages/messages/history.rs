//! `GET /messages`: every broadcast, legacy ones included, newest first,
//! filtered by status, audience stream and author, 50 to a page.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{RawQuery, State};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::audience::summary;
use super::render::excerpt;
use super::shared::{self, MAX_PAGE, with_query};
use crate::domain::broadcast::BroadcastStatus;
use crate::domain::stream::StreamCode;
use crate::store::broadcast_history;
use crate::store::broadcasts::{self, Broadcast, Filter};
use crate::store::streams::StreamChoice;
use crate::web::AppState;
use crate::web::api::params::Params;
use crate::web::auth::{Access, Principal};
use crate::web::error::AppError;
use crate::web::pages::Layout;
use crate::web::routes::Routes;
use crate::web::words::{Badge, Label};

pub const PAGE_SIZE: i64 = 50;
/// Longest author filter accepted (logins and token names are far shorter).
const MAX_AUTHOR: usize = 200;
const EXCERPT: usize = 120;

pub fn routes() -> Routes {
    Routes::default().get("/messages", Access::ADMIN, show)
}

/// Validates the query string; blank fields mean "any".
pub fn parse(query: Option<&str>) -> Result<(Filter, i64), AppError> {
    let params = Params::parse(query).without_empty();
    let status = params
        .raw("status")
        .map(|raw| {
            raw.parse::<BroadcastStatus>().map_err(|_| {
                AppError::BadRequest(
                    "Статус рассылки — один из: draft, scheduled, sending, paused, done, \
                     cancelled, failed."
                        .to_owned(),
                )
            })
        })
        .transpose()?;
    let stream = params
        .raw("stream")
        .map(|raw| {
            StreamCode::parse(raw)
                .map(StreamCode::into_string)
                .map_err(|_| {
                    AppError::BadRequest(
                        "Поток — код потока: латинские буквы, цифры, «_» и «-».".to_owned(),
                    )
                })
        })
        .transpose()?;
    let author = params
        .raw("author")
        .map(|raw| {
            if raw.chars().count() > MAX_AUTHOR || raw.chars().any(char::is_control) {
                Err(AppError::BadRequest(format!(
                    "Автор — логин сотрудника, не длиннее {MAX_AUTHOR} символов."
                )))
            } else {
                Ok(raw.to_owned())
            }
        })
        .transpose()?;
    let page = params
        .int("page", 1..=MAX_PAGE, &shared::page_message())?
        .unwrap_or(1);
    Ok((
        Filter {
            status,
            stream,
            author,
        },
        page,
    ))
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
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> Result<HistoryPage, AppError> {
    let (filter, page) = parse(query.as_deref())?;
    let (broadcasts, total) =
        broadcasts::list(&state.pool, &filter, PAGE_SIZE, (page - 1) * PAGE_SIZE).await?;
    let known = crate::store::streams::stream_choices(&state.pool).await?;
    let names: HashMap<String, String> = known
        .iter()
        .map(|s| (s.code.clone(), s.name().to_owned()))
        .collect();
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
        .filter(|s| !s.archived || filter.stream.as_deref() == Some(s.code.as_str()))
        .map(|s| Choice {
            label: s.name().to_owned(),
            value: s.code,
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

    #[test]
    fn blank_fields_mean_any_and_links_keep_the_filters() {
        let (filter, page) = parse(Some("status=&stream=&author=&page=")).unwrap();
        assert!(filter.status.is_none() && filter.stream.is_none() && filter.author.is_none());
        assert_eq!(page, 1);
        let (filter, page) =
            parse(Some("status=done&stream=8th_stream&author=anna+b&page=2")).unwrap();
        assert_eq!(filter.status, Some(BroadcastStatus::Done));
        assert_eq!(filter.author.as_deref(), Some("anna b"));
        assert_eq!(page, 2);
        let pairs = filter_pairs(&filter, 3);
        assert_eq!(
            with_query("/messages", &pairs),
            "/messages?status=done&stream=8th_stream&author=anna+b&page=3"
        );
        for bad in [
            "status=sent",
            "stream=a%20b",
            "page=0",
            "page=x",
            "author=%01",
        ] {
            assert!(
                matches!(parse(Some(bad)), Err(AppError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
