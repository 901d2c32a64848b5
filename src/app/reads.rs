//! The hot reads, shared through [`Fresh`]: stream and course counts, the
//! latest-bookings list with its total, and the home page's figures. The
//! JSON routes and the pages read them here, so a burst of requests costs
//! one query per kind (and per filter) a few times a second, whatever the
//! number of clients, and what they show is never more than a second old.
//! Use cases that change bookings or the registry call [`Reads::changed`].

use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;
use futures_util::FutureExt;
use sqlx::PgPool;

use super::analytics::{self, AnalyticsError, Home, LeadPage, Overview};
use super::fresh::{Fresh, Generation};
use crate::domain::analytics::DateRange;
use crate::domain::audience::Segment;
use crate::store::audience::{self, Estimate, StreamMembers};
use crate::store::bookings::{self, BookingRow, Filter};
use crate::store::people;
use crate::store::streams::{self, CourseStats, StreamStats};
use crate::store::users::{self, ListQuery, UserRow};

/// Filters (with limit and offset) kept at once; the least recently used go.
const LISTS: usize = 256;

/// A page of the latest bookings and the number matching.
pub type Latest = (Vec<BookingRow>, i64);

/// Which list: the filter, the limit and the offset.
type ListKey = (Filter, i64, i64);

/// The home page as of a day, with its recent events and leads.
type HomeKey = (NaiveDate, i64, usize);

/// A page of users and the number matching.
pub type Listed = (Vec<UserRow>, i64);

pub struct Reads {
    generation: Arc<Generation>,
    streams: Fresh<u32, Vec<StreamStats>>,
    courses: Fresh<(), Vec<CourseStats>>,
    latest: Fresh<ListKey, Latest>,
    home: Fresh<HomeKey, Home>,
    users: Fresh<(ListQuery, i64, i64), Listed>,
    overview: Fresh<(DateRange, LeadPage), Overview>,
    stream_members: Fresh<(), Vec<StreamMembers>>,
    segments: Fresh<(), Vec<(Segment, Estimate)>>,
}

impl Default for Reads {
    fn default() -> Self {
        let generation = Arc::new(Generation::default());
        Self {
            streams: Fresh::new(Arc::clone(&generation), 8),
            courses: Fresh::new(Arc::clone(&generation), 1),
            latest: Fresh::new(Arc::clone(&generation), LISTS),
            home: Fresh::new(Arc::clone(&generation), 4),
            users: Fresh::new(Arc::clone(&generation), LISTS),
            overview: Fresh::new(Arc::clone(&generation), 32),
            stream_members: Fresh::new(Arc::clone(&generation), 1),
            segments: Fresh::new(Arc::clone(&generation), 1),
            generation,
        }
    }
}

impl Reads {
    /// More shared results of another kind (e.g. a page's rows), dropped with
    /// these when this process changes something.
    pub fn another<K, V>(&self, capacity: usize) -> Fresh<K, V>
    where
        K: std::hash::Hash + Eq + Clone,
        V: Send + Sync + 'static,
    {
        Fresh::new(Arc::clone(&self.generation), capacity)
    }

    /// Bookings or the registry changed through this process: the next
    /// reads load anew.
    pub fn changed(&self) {
        self.generation.bump();
    }

    /// [`streams::stream_stats`], shared.
    pub async fn stream_stats(
        &self,
        pool: &PgPool,
        stale_days: u32,
    ) -> sqlx::Result<Arc<Vec<StreamStats>>> {
        let pool = pool.clone();
        self.streams
            .get(&stale_days, move || {
                async move { streams::stream_stats(&pool, stale_days).await }.boxed()
            })
            .await
    }

    /// [`streams::course_stats`], shared.
    pub async fn course_stats(&self, pool: &PgPool) -> sqlx::Result<Arc<Vec<CourseStats>>> {
        let pool = pool.clone();
        self.courses
            .get(&(), move || {
                async move { streams::course_stats(&pool).await }.boxed()
            })
            .await
    }

    /// [`bookings::latest`], shared per filter, limit and offset.
    pub async fn latest(
        &self,
        pool: &PgPool,
        filter: &Filter,
        limit: i64,
        offset: i64,
    ) -> sqlx::Result<Arc<Latest>> {
        let pool = pool.clone();
        let key = (filter.clone(), limit, offset);
        let filter = filter.clone();
        self.latest
            .get(&key, move || {
                async move { bookings::latest(&pool, &filter, limit, offset).await }.boxed()
            })
            .await
    }

    /// A page of [`users::list`] after the people directory's catch-up,
    /// shared per query, limit and offset.
    pub async fn users(
        &self,
        pool: &PgPool,
        query: &ListQuery,
        limit: i64,
        offset: i64,
    ) -> sqlx::Result<Arc<Listed>> {
        let pool = pool.clone();
        let key = (query.clone(), limit, offset);
        let query = query.clone();
        self.users
            .get(&key, move || {
                async move {
                    people::catch_up(&pool).await?;
                    users::list(&pool, &query, Some(limit), offset).await
                }
                .boxed()
            })
            .await
    }

    /// [`analytics::overview`], shared per range and lead page.
    pub async fn overview(
        &self,
        pool: &PgPool,
        tz: Tz,
        range: &DateRange,
        page: LeadPage,
    ) -> Result<Arc<Overview>, AnalyticsError> {
        let pool = pool.clone();
        let range = *range;
        Ok(self
            .overview
            .get(&(range, page), move || {
                async move {
                    analytics::overview(&pool, tz, &range, page)
                        .await
                        .map_err(database)
                }
                .boxed()
            })
            .await?)
    }

    /// [`audience::stream_members`] (the composer's streams), shared.
    pub async fn stream_members(&self, pool: &PgPool) -> sqlx::Result<Arc<Vec<StreamMembers>>> {
        let pool = pool.clone();
        self.stream_members
            .get(&(), move || {
                async move { audience::stream_members(&pool).await }.boxed()
            })
            .await
    }

    /// [`audience::segment_estimates`] (the composer's segments), after
    /// the people directory's catch-up, shared.
    pub async fn segment_estimates(
        &self,
        pool: &PgPool,
    ) -> sqlx::Result<Arc<Vec<(Segment, Estimate)>>> {
        let pool = pool.clone();
        self.segments
            .get(&(), move || {
                async move {
                    people::catch_up(&pool).await?;
                    audience::segment_estimates(&pool).await
                }
                .boxed()
            })
            .await
    }

    /// [`analytics::home`], shared.
    pub async fn home(
        &self,
        pool: &PgPool,
        tz: Tz,
        today: NaiveDate,
        recent: i64,
        top_leads: usize,
    ) -> Result<Arc<Home>, AnalyticsError> {
        let pool = pool.clone();
        let shared = self
            .home
            .get(&(today, recent, top_leads), move || {
                async move {
                    analytics::home(&pool, tz, today, recent, top_leads)
                        .await
                        .map_err(database)
                }
                .boxed()
            })
            .await?;
        Ok(shared)
    }
}

/// An analytics read's failure as a shared result carries it: its ranges
/// are checked before it is asked for, so only the database can fail.
fn database(err: AnalyticsError) -> sqlx::Error {
    match err {
        AnalyticsError::Db(err) => err,
        other => sqlx::Error::Protocol(other.to_string()),
    }
}
