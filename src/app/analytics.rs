//! Analytics: the numbers of `docs/analytics.md` for the API, the
//! analytics page and the home page. Every read of cached figures brings the
//! analytics cache (and with it the people directory) up to date first;
//! that rule lives here, once. Ranges arrive as [`RangeQuery`], the same
//! typed input for both adapters, and are checked against the school's
//! today.

use chrono::{NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Deserialize;
use sqlx::PgPool;
use utoipa::IntoParams;

use crate::domain::analytics::{DateRange, LEAD_WINDOW_DAYS, RangeError, Tier, bounds};
use crate::store::analytics::{self, Daily, Growth, Headline, RecentEvent, TypeCount};
use crate::store::analytics_cache;
use crate::store::free_lessons::{self, LessonType};
use crate::store::leads::{self, Board, Lead, Window};
use crate::store::streams::{self, StreamStats};

/// Days a range covers when none is given.
pub const DEFAULT_DAYS: i64 = 30;
/// Days the home page's charts cover.
pub const HOME_CHART_DAYS: i64 = 30;

/// Why analytics were not answered.
#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// The range asked for is not one (English; pages word it themselves).
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Today in the school's zone.
pub fn today(tz: Tz) -> NaiveDate {
    Utc::now().with_timezone(&tz).date_naive()
}

/// A range as the query string gives it: `days` (the days ending today), or
/// `from` and `to` together, or nothing (30 days). The values stay text
/// here so [`DateRange::parse`] checks them in its order (both kinds given,
/// one date missing, then each value) with messages naming the field; the
/// OpenAPI document still shows their types and bounds.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// The days ending today (default 30); not with `from`/`to`.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 365)]
    pub days: Option<String>,
    /// First school day, `YYYY-MM-DD`; with `to`.
    #[param(value_type = Option<NaiveDate>, format = Date)]
    pub from: Option<String>,
    /// Last school day, `YYYY-MM-DD`, not after today; with `from`.
    #[param(value_type = Option<NaiveDate>, format = Date)]
    pub to: Option<String>,
}

impl RangeQuery {
    /// The range meant, as of `today`.
    pub fn range(&self, today: NaiveDate) -> Result<DateRange, RangeError> {
        DateRange::parse(
            self.days.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            today,
            DEFAULT_DAYS,
        )
    }

    /// Whether the range is a preset (`days`) rather than `from`/`to`.
    pub fn is_preset(&self) -> bool {
        self.days.is_some() || self.from.is_none()
    }
}

/// The cache brought up to date: before any read of cached figures.
async fn fresh(pool: &PgPool, tz: Tz) -> Result<(), AnalyticsError> {
    analytics_cache::refresh(pool, tz).await?;
    Ok(())
}

/// The headline numbers.
#[tracing::instrument(skip_all)]
pub async fn headline(pool: &PgPool, tz: Tz) -> Result<Headline, AnalyticsError> {
    fresh(pool, tz).await?;
    Ok(analytics::headline(pool).await?)
}

/// New users per day and cumulative users over `range`.
#[tracing::instrument(skip_all, fields(days = range.days()))]
pub async fn growth(pool: &PgPool, tz: Tz, range: &DateRange) -> Result<Growth, AnalyticsError> {
    fresh(pool, tz).await?;
    Ok(analytics::growth(pool, range).await?)
}

/// Events per day over `range`.
#[tracing::instrument(skip_all, fields(days = range.days()))]
pub async fn events_per_day(
    pool: &PgPool,
    tz: Tz,
    range: &DateRange,
) -> Result<Daily, AnalyticsError> {
    fresh(pool, tz).await?;
    Ok(analytics::events_per_day(pool, range).await?)
}

/// Event types of `range`, most frequent first.
#[tracing::instrument(skip_all, fields(days = range.days()))]
pub async fn event_types(
    pool: &PgPool,
    tz: Tz,
    range: &DateRange,
) -> Result<Vec<TypeCount>, AnalyticsError> {
    fresh(pool, tz).await?;
    Ok(analytics::event_types(pool, range).await?)
}

/// The newest events, at most two per person (read live, not cached).
#[tracing::instrument(skip_all, fields(limit))]
pub async fn recent(pool: &PgPool, limit: i64) -> Result<Vec<RecentEvent>, AnalyticsError> {
    Ok(analytics::recent_activity(pool, limit).await?)
}

/// Which leads of the range's lead week to list: a tier (all when `None`)
/// and a page (`limit` `None`: all).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeadPage {
    pub tier: Option<Tier>,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// Everything the analytics page shows for `range`.
#[derive(Clone)]
pub struct Overview {
    pub growth: Growth,
    pub bookings: Daily,
    pub events: Daily,
    pub types: Vec<TypeCount>,
    pub lesson_types: Vec<LessonType>,
    /// The week lead scores count, and the leads.
    pub week: DateRange,
    pub board: Board,
    pub leads: Vec<Lead>,
}

/// The analytics page's figures for `range`, read side by side.
#[tracing::instrument(skip_all, fields(days = range.days()))]
pub async fn overview(
    pool: &PgPool,
    tz: Tz,
    range: &DateRange,
    page: LeadPage,
) -> Result<Overview, AnalyticsError> {
    let week = range.lead_window();
    let window = Window::new(&week, tz);
    fresh(pool, tz).await?;
    let (growth, bookings, events, types, lesson_types, board) = tokio::try_join!(
        analytics::growth(pool, range),
        analytics::bookings_per_day(pool, range),
        analytics::events_per_day(pool, range),
        analytics::event_types(pool, range),
        free_lessons::by_lesson_type(pool, Some(bounds(range, tz))),
        leads::board(pool, &window),
    )?;
    let leads = leads::list(pool, &board, page.tier, page.limit, page.offset).await?;
    Ok(Overview {
        growth,
        bookings,
        events,
        types,
        lesson_types,
        week,
        board,
        leads,
    })
}

/// Every lead of `range`'s lead week in `tier`, and the week.
#[tracing::instrument(skip_all, fields(days = range.days()))]
pub async fn leads(
    pool: &PgPool,
    tz: Tz,
    range: &DateRange,
    tier: Option<Tier>,
) -> Result<(DateRange, Vec<Lead>), AnalyticsError> {
    let week = range.lead_window();
    fresh(pool, tz).await?;
    let board = leads::board(pool, &Window::new(&week, tz)).await?;
    let rows = leads::list(pool, &board, tier, None, 0).await?;
    Ok((week, rows))
}

/// What the home page shows.
#[derive(Clone)]
pub struct Home {
    pub headline: Headline,
    /// Streams not archived.
    pub streams: Vec<StreamStats>,
    pub recent: Vec<RecentEvent>,
    /// The 30 days ending today.
    pub growth: Growth,
    pub bookings: Daily,
    pub lessons: Daily,
    /// The week lead scores count and its warmest `top_leads`.
    pub lead_week: DateRange,
    pub leads: Vec<Lead>,
}

/// The home page's figures as of `today`: `recent` events and the warmest
/// `top_leads` leads.
#[tracing::instrument(skip_all)]
pub async fn home(
    pool: &PgPool,
    tz: Tz,
    today: NaiveDate,
    recent: i64,
    top_leads: usize,
) -> Result<Home, AnalyticsError> {
    let range = DateRange::last_days(today, HOME_CHART_DAYS)?;
    let lead_week = DateRange::last_days(today, LEAD_WINDOW_DAYS)?;
    let window = Window::new(&lead_week, tz);
    fresh(pool, tz).await?;
    let (headline, streams, recent, growth, bookings, lessons, board) = tokio::try_join!(
        analytics::headline(pool),
        // The home page's cards show no stale flag: any cutoff will do.
        streams::stream_stats(pool, crate::config::DEFAULT_STALE_PENDING_DAYS),
        analytics::recent_activity(pool, recent),
        analytics::growth(pool, &range),
        analytics::bookings_per_day(pool, &range),
        analytics::free_lessons_per_day(pool, &range),
        leads::board(pool, &window),
    )?;
    let leads = leads::warmest(pool, &board, top_leads).await?;
    Ok(Home {
        headline,
        streams: streams.into_iter().filter(|s| !s.archived).collect(),
        recent,
        growth,
        bookings,
        lessons,
        lead_week,
        leads,
    })
}
