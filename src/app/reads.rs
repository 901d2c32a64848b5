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

use super::analytics::{self, AnalyticsError, Home};
use super::fresh::{Fresh, Generation};
use crate::store::bookings::{self, BookingRow, Filter};
use crate::store::streams::{self, CourseStats, StreamStats};

/// Filters (with limit and offset) kept at once; the least recently used go.
const LISTS: usize = 256;

/// A page of the latest bookings and the number matching.
pub type Latest = (Vec<BookingRow>, i64);

/// Which list: the filter, the limit and the offset.
type ListKey = (Filter, i64, i64);

/// The home page as of a day, with its recent events and leads.
type HomeKey = (NaiveDate, i64, usize);

pub struct Reads {
    generation: Arc<Generation>,
    streams: Fresh<u32, Vec<StreamStats>>,
    courses: Fresh<(), Vec<CourseStats>>,
    latest: Fresh<ListKey, Latest>,
    home: Fresh<HomeKey, Home>,
}

impl Default for Reads {
    fn default() -> Self {
        let generation = Arc::new(Generation::default());
        Self {
            streams: Fresh::new(Arc::clone(&generation), 8),
            courses: Fresh::new(Arc::clone(&generation), 1),
            latest: Fresh::new(Arc::clone(&generation), LISTS),
            home: Fresh::new(Arc::clone(&generation), 4),
            generation,
        }
    }
}

impl Reads {
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
                        .map_err(|err| match err {
                            AnalyticsError::Db(err) => err,
                            other => sqlx::Error::Protocol(other.to_string()),
                        })
                }
                .boxed()
            })
            .await?;
        Ok(shared)
    }
}
