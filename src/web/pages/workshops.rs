//! `/workshops`: stream cards, totals, the per-stream table and the latest
//! bookings with a status filter kept in the URL.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::Layout;
use crate::domain::booking::BookingStatus;
use crate::store::bookings::{BookingRow, Filter};
use crate::store::streams::{Counts, StreamStats};
use crate::web::AppState;
use crate::web::auth::Principal;
use crate::web::error::AppError;
use crate::web::extract::FormQuery;
use crate::web::words::pages as words;
use crate::web::words::{Badge, Label};

/// Latest bookings shown on the page.
const LATEST: i64 = 50;

#[derive(Template, WebTemplate)]
#[template(path = "workshops.html")]
pub struct WorkshopsPage {
    layout: Layout,
    streams: Vec<StreamStats>,
    totals: Counts,
    latest: Vec<BookingRow>,
    latest_total: i64,
    filter: Option<BookingStatus>,
    filters: [BookingStatus; 4],
    updated_at: String,
    tz: Tz,
    /// A pending booking older than this many days is flagged.
    stale_days: u32,
}

impl WorkshopsPage {
    fn status(row: &BookingRow) -> BookingStatus {
        BookingStatus::from_raw(row.confirmed)
    }

    fn when(&self, at: &Option<DateTime<Utc>>) -> String {
        super::maybe_local_time(self.tz, at)
    }

    /// Places taken (people whose standing is not cancelled) as a
    /// percentage of capacity, at most 100.
    fn fill(stream: &StreamStats) -> Option<i64> {
        stream.people.fill_percent(stream.capacity)
    }

    /// «7 из 30 мест», in people.
    fn places(stream: &StreamStats) -> String {
        words::stream::places(stream.people.taken(), stream.capacity.unwrap_or_default())
    }

    /// People beyond the capacity.
    fn over(stream: &StreamStats) -> i64 {
        stream.people.over_capacity(stream.capacity)
    }

    fn overflow(stream: &StreamStats) -> String {
        words::stream::overflow(Self::over(stream))
    }

    fn stale_text(&self, stream: &StreamStats) -> String {
        words::stream::stale_pending(stream.stale_pending, self.stale_days)
    }

    /// The stream page listing the stale pending bookings (bookings
    /// without a course have no stream page: the list itself).
    fn stale_href(&self, stream: &StreamStats) -> String {
        stream.course_id.map_or_else(
            || "/workshops".to_owned(),
            |id| super::stream::stale_path(id, &stream.code, self.stale_days),
        )
    }

    fn is_filter(&self, status: &BookingStatus) -> bool {
        self.filter == Some(*status)
    }

    fn taken(stream: &StreamStats) -> i64 {
        stream.people.taken()
    }

    /// The stream's own page.
    fn stream_href(stream: &StreamStats) -> String {
        super::stream::stats_path(stream)
    }
}

/// The page's query; a blank status is all.
#[derive(Debug, Default, serde::Deserialize)]
pub struct WorkshopsQuery {
    status: Option<String>,
}

/// `GET /workshops[?status=confirmed|pending|cancelled|new]`.
#[tracing::instrument(skip_all)]
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    FormQuery(query): FormQuery<WorkshopsQuery>,
) -> Result<WorkshopsPage, AppError> {
    let filter = match query.status.as_deref() {
        None => None,
        Some(raw) => Some(BookingStatus::parse_api_name(raw).ok_or_else(|| {
            AppError::BadRequest(words::stream::WORKSHOPS_STATUS_FILTER.to_owned())
        })?),
    };
    let stale_days = state.config.stale_pending_days;
    let reads = &state.reads;
    let streams = reads.stream_stats(&state.pool, stale_days).await?;
    let totals: Counts = reads
        .course_stats(&state.pool)
        .await?
        .iter()
        .map(|course| course.counts)
        .sum();
    let list = Filter {
        confirmed: filter.and_then(BookingStatus::raw),
        ..Filter::default()
    };
    let latest = reads.latest(&state.pool, &list, LATEST, 0).await?;
    let (latest, latest_total) = (latest.0.clone(), latest.1);
    let tz = state.config.school_timezone;
    Ok(WorkshopsPage {
        layout: Layout::new("/workshops", &principal),
        streams: streams.iter().filter(|s| !s.archived).cloned().collect(),
        totals,
        latest,
        latest_total,
        filter,
        filters: BookingStatus::FILTERABLE,
        updated_at: Utc::now()
            .with_timezone(&tz)
            .format("%d.%m.%Y %H:%M:%S")
            .to_string(),
        tz,
        stale_days,
    })
}
