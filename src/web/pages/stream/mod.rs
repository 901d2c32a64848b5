//! `/workshops/{course_id}/{code}`: a stream's students (one row per user,
//! by their standing: their most advanced booking in it) with a status
//! filter, and for the current intake the people who viewed the programme
//! since the start but did not book; `…/students.csv` ([`export`]) exports
//! the same rows. The code-only address of old links redirects ([`legacy`]).

pub mod legacy;

pub mod export;
mod numbers;

pub use numbers::stale_path;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use futures_util::FutureExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sqlx::PgPool;

use super::{Layout, day_start, local_time};
use crate::domain::booking::BookingStatus;
use crate::domain::enrolment::{Enrolment, enrolment_opens};
use crate::domain::input::{Bounded, CourseId};
use crate::domain::stream::StreamCode;
use crate::store::streams::{self, Counts, StreamNumbers, StreamStats};
use crate::store::students::{self, StreamHeader, StudentRow, ViewerQuery, ViewerRow};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::{Path, Query};
use crate::web::words::pages as words;
use crate::web::words::{Badge, Label};

/// Rows per page.
pub const PAGE_SIZE: i64 = 100;
const MAX_PAGE: i64 = 1_000_000;

/// What a path segment keeps as it is: RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// The page of the stream `code` of course `course_id`, the code
/// percent-encoded (bookings may hold any text as a stream).
pub fn stream_path(course_id: i32, code: &str) -> String {
    format!(
        "/workshops/{course_id}/{}",
        utf8_percent_encode(code, SEGMENT)
    )
}

/// The page of a stream on `/workshops` or `/`; bookings without a course
/// have no stream page, so theirs is the list itself.
pub fn stats_path(stream: &StreamStats) -> String {
    stream.course_id.map_or_else(
        || "/workshops".to_owned(),
        |id| stream_path(id, &stream.code),
    )
}

/// What the page lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// Students whose standing is this status (`None`: all).
    Students(Option<BookingStatus>),
    /// People who viewed the programme of the current intake and did not book.
    Viewers,
    /// Pending bookings older than this many days, one row per booking.
    Stale(u32),
}

impl View {
    /// `?status=`: empty or missing means all.
    fn parse(raw: Option<&str>) -> Result<Self, AppError> {
        match raw.unwrap_or_default() {
            "" => Ok(Self::Students(None)),
            "viewers" => Ok(Self::Viewers),
            "unknown" => Ok(Self::Students(Some(BookingStatus::Unknown))),
            other => BookingStatus::parse_api_name(other)
                .map(|status| Self::Students(Some(status)))
                .ok_or_else(|| AppError::BadRequest(words::stream::STATUS_FILTER.to_owned())),
        }
    }

    /// The `status` value in links; `None` for all.
    fn param(self) -> Option<&'static str> {
        match self {
            Self::Students(status) => status.map(BookingStatus::api_name),
            Self::Viewers => Some("viewers"),
            Self::Stale(_) => Some(BookingStatus::Pending.api_name()),
        }
    }

    /// The `older_than_days` value in links.
    fn older_than_days(self) -> Option<u32> {
        match self {
            Self::Stale(days) => Some(days),
            _ => None,
        }
    }
}

/// The page's query: `status` (blank: all) and `page`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct StreamQuery {
    status: Option<String>,
    /// With `status=pending`: only bookings older than this many days.
    older_than_days: Option<String>,
    page: Option<Bounded<1, MAX_PAGE>>,
}

/// The query as the handlers receive it: its problem is answered in
/// Russian, after the code's.
pub type QueryResult = Result<Query<StreamQuery>, AppError>;

/// A validated request: the stream, what to list and which page.
struct Request {
    stream: StreamHeader,
    view: View,
    page: i64,
    /// Views count from this instant: the start of the day enrolment of
    /// the current intake opened (see [`enrolment_opens`]).
    viewers_since: Option<DateTime<Utc>>,
    /// «Набор открыт с» of the current intake.
    enrolment: Option<Enrolment>,
}

impl Request {
    async fn parse(
        state: &AppState,
        (course_id, raw_code): &(CourseId, String),
        query: QueryResult,
    ) -> Result<Self, AppError> {
        let code = StreamCode::parse(raw_code)
            .map_err(|_| AppError::BadRequest(words::stream::BAD_STREAM_CODE.to_owned()))?;
        // Only `page` can be malformed (the status is any text).
        let Query(query) =
            query.map_err(|_| AppError::BadRequest(words::stream::bad_page_number(MAX_PAGE)))?;
        let view = View::parse_with_age(query.status.as_deref(), query.older_than_days.as_deref())?;
        let page = query.page.map_or(1, Bounded::get);
        let stream = students::header(&state.pool, course_id.get(), code.as_str())
            .await?
            .ok_or_else(|| AppError::NotFound(words::stream::STREAM_NOT_FOUND.to_owned()))?;
        let enrolment = if stream.is_current {
            let intakes = streams::course_intakes(&state.pool, stream.course_id).await?;
            enrolment_opens(&stream.code, &intakes)
        } else {
            None
        };
        let viewers_since = enrolment
            .as_ref()
            .map(|enrolment| day_start(enrolment.opens_on, state.config.school_timezone));
        Ok(Self {
            stream,
            view,
            page,
            viewers_since,
            enrolment,
        })
    }

    /// Whose views to list, when the stream is the current intake of a
    /// course and has a start date.
    fn viewer_query(&self) -> Option<ViewerQuery<'_>> {
        Some(ViewerQuery {
            code: &self.stream.code,
            course_id: self.stream.course_id,
            since: self.viewers_since?,
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "stream.html")]
pub struct StreamPage {
    layout: Layout,
    stream: StreamHeader,
    view: View,
    /// The status tabs: the four statuses, and unknown when anyone has it.
    statuses: Vec<BookingStatus>,
    counts: Counts,
    /// `None` when viewers are not listed (not the current intake, or no
    /// date to count from).
    viewers_total: Option<i64>,
    /// «Набор открыт с», from which viewers count.
    enrolment: Option<Enrolment>,
    students: Vec<StudentRow>,
    viewers: Vec<ViewerRow>,
    /// Bookings, people and stale pending bookings, for the head.
    numbers: StreamNumbers,
    /// A pending booking older than this many days is stale.
    stale_days: u32,
    /// Rows matching the view, over all pages.
    total: i64,
    page: i64,
    pages: i64,
    tz: Tz,
}

impl StreamPage {
    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        super::maybe_local_time(self.tz, at)
    }

    fn at(&self, at: &DateTime<Utc>) -> String {
        local_time(self.tz, at)
    }

    fn starts_on(&self) -> Option<String> {
        self.stream
            .starts_on
            .map(|day| day.format("%d.%m.%Y").to_string())
    }

    fn path(&self) -> String {
        stream_path(self.stream.course_id, &self.stream.code)
    }

    /// A link to this page showing `view` at `page`.
    fn link(&self, view: View, page: i64) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = view.param() {
            query.append_pair("status", status);
        }
        if let Some(days) = view.older_than_days() {
            query.append_pair("older_than_days", &days.to_string());
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        with_query(self.path(), query.finish())
    }

    fn all_href(&self) -> String {
        self.link(View::Students(None), 1)
    }

    fn status_href(&self, status: &BookingStatus) -> String {
        self.link(View::Students(Some(*status)), 1)
    }

    fn viewers_href(&self) -> String {
        self.link(View::Viewers, 1)
    }

    fn page_href(&self, page: i64) -> String {
        self.link(self.view, page)
    }

    /// The CSV of the current view (all pages).
    fn csv_href(&self) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(status) = self.view.param() {
            query.append_pair("status", status);
        }
        if let Some(days) = self.view.older_than_days() {
            query.append_pair("older_than_days", &days.to_string());
        }
        with_query(format!("{}/students.csv", self.path()), query.finish())
    }

    fn is_all(&self) -> bool {
        self.view == View::Students(None)
    }

    fn is_status(&self, status: &BookingStatus) -> bool {
        self.view == View::Students(Some(*status))
    }

    fn is_viewers(&self) -> bool {
        self.view == View::Viewers
    }

    fn count(&self, status: &BookingStatus) -> i64 {
        status_count(&self.counts, *status)
    }

    /// The viewers tab: on the current intake, or when asked for.
    fn shows_viewers_tab(&self) -> bool {
        self.stream.is_current || self.is_viewers()
    }

    /// A current intake without a date to count from cannot tell its viewers.
    fn needs_start_date(&self) -> bool {
        self.stream.is_current && self.enrolment.is_none()
    }

    /// «Набор открыт с» as the page shows it.
    fn enrolment_opens_on(&self) -> Option<String> {
        self.enrolment
            .map(|enrolment| enrolment.opens_on.format("%d.%m.%Y").to_string())
    }

    /// The 1-based numbers of the first and last row shown.
    fn shown_from(&self) -> i64 {
        (self.page - 1) * PAGE_SIZE + 1
    }

    fn shown_to(&self) -> i64 {
        let shown = (self.students.len() + self.viewers.len()) as i64;
        (self.page - 1) * PAGE_SIZE + shown
    }
}

fn with_query(path: String, query: String) -> String {
    if query.is_empty() {
        path
    } else {
        format!("{path}?{query}")
    }
}

fn status_count(counts: &Counts, status: BookingStatus) -> i64 {
    match status {
        BookingStatus::Confirmed => counts.confirmed,
        BookingStatus::Pending => counts.pending,
        BookingStatus::Cancelled => counts.cancelled,
        BookingStatus::New => counts.new,
        BookingStatus::Unknown => counts.unknown,
    }
}

/// What a stream page lists, shared for under a second by identical
/// requests (`AppState::stream_pages`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ListingKey {
    course_id: i32,
    code: String,
    view: View,
    page: i64,
    viewers_since: Option<DateTime<Utc>>,
    stale_days: u32,
}

/// The page's counts and rows.
#[derive(Debug, Clone)]
pub struct Listing {
    counts: Counts,
    numbers: StreamNumbers,
    viewers_total: Option<i64>,
    students: Vec<StudentRow>,
    viewers: Vec<ViewerRow>,
    /// Rows matching the view, over all pages.
    total: i64,
}

async fn load(pool: PgPool, key: ListingKey) -> sqlx::Result<Listing> {
    let (course_id, code) = (key.course_id, key.code.as_str());
    let viewer_query = key.viewers_since.map(|since| ViewerQuery {
        code,
        course_id,
        since,
    });
    let offset = (key.page - 1) * PAGE_SIZE;
    // The counts and the page's rows are independent: read them at once.
    let viewers_total = async {
        match viewer_query {
            Some(query) => students::viewer_count(&pool, query).await.map(Some),
            None => Ok(None),
        }
    };
    let rows = async {
        match key.view {
            View::Students(status) => {
                students::students(&pool, course_id, code, status, Some(PAGE_SIZE), offset)
                    .await
                    .map(|rows| (rows, Vec::new()))
            }
            View::Stale(days) => {
                students::stale_pending(&pool, course_id, code, days, Some(PAGE_SIZE), offset)
                    .await
                    .map(|rows| (rows, Vec::new()))
            }
            View::Viewers => match viewer_query {
                Some(query) => students::viewers(&pool, query, Some(PAGE_SIZE), offset)
                    .await
                    .map(|rows| (Vec::new(), rows)),
                None => Ok((Vec::new(), Vec::new())),
            },
        }
    };
    let (counts, numbers, viewers_total, (students, viewers)) = tokio::try_join!(
        students::student_counts(&pool, course_id, code),
        streams::stream_numbers(&pool, course_id, code, key.stale_days),
        viewers_total,
        rows,
    )?;
    let total = match key.view {
        View::Students(status) => {
            status.map_or(counts.total, |status| status_count(&counts, status))
        }
        View::Stale(days) if days == key.stale_days => numbers.stale_pending,
        View::Stale(days) => {
            streams::stream_numbers(&pool, course_id, code, days)
                .await?
                .stale_pending
        }
        View::Viewers => viewers_total.unwrap_or_default(),
    };
    Ok(Listing {
        counts,
        numbers,
        viewers_total,
        students,
        viewers,
        total,
    })
}

/// `GET /workshops/{course_id}/{code}[?status=…][&page=N]`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(stream): Path<(CourseId, String)>,
    query: QueryResult,
) -> Result<StreamPage, AppError> {
    let request = Request::parse(&state, &stream, query).await?;
    let stale_days = state.config.stale_pending_days;
    let key = ListingKey {
        course_id: request.stream.course_id,
        code: request.stream.code.clone(),
        view: request.view,
        page: request.page,
        viewers_since: request.viewers_since,
        stale_days,
    };
    let pool = state.pool.clone();
    let loading = key.clone();
    let listing = state
        .stream_pages
        .get(&key, move || load(pool, loading).boxed())
        .await?;
    let Listing {
        counts,
        numbers,
        viewers_total,
        students,
        viewers,
        total,
    } = Listing::clone(&listing);
    let mut statuses = BookingStatus::FILTERABLE.to_vec();
    if counts.unknown > 0 || request.view == View::Students(Some(BookingStatus::Unknown)) {
        statuses.push(BookingStatus::Unknown);
    }
    Ok(StreamPage {
        layout: Layout::new("/workshops", &principal),
        enrolment: request.enrolment,
        stream: request.stream,
        view: request.view,
        statuses,
        counts,
        viewers_total,
        students,
        viewers,
        numbers,
        stale_days,
        total,
        page: request.page,
        pages: ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1),
        tz: state.config.school_timezone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_parse_from_the_status_parameter() {
        assert_eq!(View::parse(None).unwrap(), View::Students(None));
        assert_eq!(View::parse(Some("")).unwrap(), View::Students(None));
        assert_eq!(View::parse(Some("viewers")).unwrap(), View::Viewers);
        for status in BookingStatus::FILTERABLE
            .into_iter()
            .chain([BookingStatus::Unknown])
        {
            let view = View::parse(Some(status.api_name())).unwrap();
            assert_eq!(view, View::Students(Some(status)));
            assert_eq!(view.param(), Some(status.api_name()));
        }
        for bad in ["2", "paid", "Confirmed", " new", "all"] {
            let err = View::parse(Some(bad)).unwrap_err();
            assert!(
                matches!(&err, AppError::BadRequest(m) if m.contains("unknown или viewers")),
                "{bad}: {err:?}"
            );
        }
    }

    #[test]
    fn stream_paths_are_percent_encoded() {
        assert_eq!(stream_path(1, "8th_stream"), "/workshops/1/8th_stream");
        assert_eq!(stream_path(2, "a-b"), "/workshops/2/a-b");
        assert_eq!(
            stream_path(1, "a b/c?d#e%поток"),
            "/workshops/1/a%20b%2Fc%3Fd%23e%25%D0%BF%D0%BE%D1%82%D0%BE%D0%BA"
        );
    }
}
