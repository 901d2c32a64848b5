//! Stream statistics, the streams offered in forms, and courses; the
//! registry itself (entries and their audited changes) is [`registry`].

mod numbers;
mod registry;

pub use numbers::{People, StreamNumbers, stream_numbers};
pub use registry::*;

use chrono::NaiveDate;

use crate::domain::stream::display_order;

/// Booking counts by status. `total` is the sum of the five.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Counts {
    pub total: i64,
    pub confirmed: i64,
    pub pending: i64,
    pub cancelled: i64,
    pub new: i64,
    pub unknown: i64,
}

impl std::iter::Sum for Counts {
    fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
        iter.fold(Self::default(), |sum, c| Self {
            total: sum.total + c.total,
            confirmed: sum.confirmed + c.confirmed,
            pending: sum.pending + c.pending,
            cancelled: sum.cancelled + c.cancelled,
            new: sum.new + c.new,
            unknown: sum.unknown + c.unknown,
        })
    }
}

impl Counts {
    /// confirmed ÷ total × 100, to one decimal; 0 without bookings.
    pub fn conversion(&self) -> f64 {
        if self.total == 0 {
            0.0
        } else {
            (self.confirmed as f64 * 1000.0 / self.total as f64).round() / 10.0
        }
    }
}

/// One stream of one course: registry data (when registered) and counts.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamStats {
    pub course_id: Option<i32>,
    pub course_name: Option<String>,
    pub code: String,
    /// NULL when the stream is not in the registry.
    pub display_name: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub capacity: Option<i32>,
    pub is_current: bool,
    pub archived: bool,
    /// Bookings by status.
    #[sqlx(flatten)]
    pub counts: Counts,
    /// People (distinct users) by standing.
    #[sqlx(flatten)]
    pub people: People,
    /// Pending bookings older than the stale cutoff.
    pub stale_pending: i64,
}

impl StreamStats {
    pub fn registered(&self) -> bool {
        self.display_name.is_some()
    }

    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.code)
    }
}

/// The [`Counts`] columns over `confirmed`: unknown is NULL or any other value.
pub(super) const COUNTS: &str = "count(*) AS total, \
     count(*) FILTER (WHERE confirmed = 2) AS confirmed, \
     count(*) FILTER (WHERE confirmed = 1) AS pending, \
     count(*) FILTER (WHERE confirmed = -1) AS cancelled, \
     count(*) FILTER (WHERE confirmed = 0) AS new, \
     count(*) FILTER (WHERE confirmed IS NULL OR confirmed NOT IN (-1, 0, 1, 2)) AS unknown";

/// Streams by course, then in [`display_order`].
fn by_course(
    a: (Option<i32>, Option<NaiveDate>, &str),
    b: (Option<i32>, Option<NaiveDate>, &str),
) -> std::cmp::Ordering {
    a.0.cmp(&b.0)
        .then_with(|| display_order((a.1, a.2), (b.1, b.2)))
}

/// Every stream that has bookings, plus registered streams that are not
/// archived, ordered by course, start date, then code (naturally); a
/// pending booking older than `stale_days` days counts as stale.
pub async fn stream_stats(pool: &sqlx::PgPool, stale_days: u32) -> sqlx::Result<Vec<StreamStats>> {
    let numbers = numbers::numbers_sql("course_stream IS NOT NULL", "course_id, course_stream");
    let mut rows: Vec<StreamStats> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH k AS ({numbers}) \
         SELECT coalesce(k.course_id, r.course_id) AS course_id, c.name AS course_name, \
                coalesce(k.course_stream, r.code) AS code, r.display_name, r.starts_on, \
                r.capacity, coalesce(r.is_current, false) AS is_current, \
                coalesce(r.archived, false) AS archived, \
                coalesce(k.total, 0) AS total, coalesce(k.confirmed, 0) AS confirmed, \
                coalesce(k.pending, 0) AS pending, coalesce(k.cancelled, 0) AS cancelled, \
                coalesce(k.new, 0) AS new, coalesce(k.unknown, 0) AS unknown, \
                coalesce(k.people, 0) AS people, \
                coalesce(k.people_confirmed, 0) AS people_confirmed, \
                coalesce(k.people_pending, 0) AS people_pending, \
                coalesce(k.people_new, 0) AS people_new, \
                coalesce(k.people_cancelled, 0) AS people_cancelled, \
                coalesce(k.people_unknown, 0) AS people_unknown, \
                coalesce(k.stale_pending, 0) AS stale_pending \
         FROM k FULL JOIN stream_registry r \
              ON r.code = k.course_stream AND r.course_id = k.course_id \
         LEFT JOIN courses c ON c.id = coalesce(k.course_id, r.course_id) \
         WHERE k.course_stream IS NOT NULL OR NOT r.archived"
    )))
    .bind(numbers::days(stale_days))
    .fetch_all(pool)
    .await?;
    rows.sort_by(|a, b| {
        by_course(
            (a.course_id, a.starts_on, &a.code),
            (b.course_id, b.starts_on, &b.code),
        )
    });
    Ok(rows)
}

/// A stream as a filter offers it: its course and code, and what to call it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamChoice {
    pub code: String,
    /// The registry's display name; NULL when unregistered.
    pub display_name: Option<String>,
    pub course_id: i32,
    pub starts_on: Option<NaiveDate>,
    pub archived: bool,
}

impl StreamChoice {
    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.code)
    }
}

/// Every stream, registered or found in bookings, once each, in display
/// order: what [`stream_stats`] lists without counting bookings. The
/// (course, code) pairs in bookings come from a skip scan of the
/// `(course_id, course_stream, …)` index, one probe per distinct pair;
/// bookings without a course are left out.
pub async fn stream_choices(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<StreamChoice>> {
    let mut rows: Vec<StreamChoice> = sqlx::query_as(
        "WITH RECURSIVE k AS ( \
             (SELECT course_id, course_stream AS code FROM bookings \
              WHERE course_id IS NOT NULL AND course_stream IS NOT NULL \
              ORDER BY course_id, course_stream LIMIT 1) \
             UNION ALL \
             SELECT n.course_id, n.code FROM k CROSS JOIN LATERAL ( \
                 SELECT course_id, course_stream AS code FROM bookings \
                 WHERE course_id IS NOT NULL AND course_stream IS NOT NULL \
                   AND (course_id, course_stream) > (k.course_id, k.code) \
                 ORDER BY course_id, course_stream LIMIT 1) n) \
         SELECT coalesce(r.code, k.code) AS code, r.display_name, \
                coalesce(r.course_id, k.course_id) AS course_id, r.starts_on, \
                coalesce(r.archived, false) AS archived \
         FROM k FULL JOIN stream_registry r ON r.code = k.code AND r.course_id = k.course_id",
    )
    .fetch_all(db)
    .await?;
    rows.sort_by(|a, b| {
        by_course(
            (Some(a.course_id), a.starts_on, &a.code),
            (Some(b.course_id), b.starts_on, &b.code),
        )
    });
    Ok(rows)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CourseStats {
    pub course_id: i32,
    pub course_name: String,
    #[sqlx(flatten)]
    pub counts: Counts,
}

/// Every course with its booking counts (all streams, and none).
pub async fn course_stats(pool: &sqlx::PgPool) -> sqlx::Result<Vec<CourseStats>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH k AS (SELECT course_id, {COUNTS} FROM bookings GROUP BY course_id) \
         SELECT c.id AS course_id, c.name AS course_name, \
                coalesce(k.total, 0) AS total, coalesce(k.confirmed, 0) AS confirmed, \
                coalesce(k.pending, 0) AS pending, coalesce(k.cancelled, 0) AS cancelled, \
                coalesce(k.new, 0) AS new, coalesce(k.unknown, 0) AS unknown \
         FROM courses c LEFT JOIN k ON k.course_id = c.id ORDER BY c.id"
    )))
    .fetch_all(pool)
    .await
}

/// A course, by id and name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Course {
    pub id: i32,
    pub name: String,
}

/// Every course, by id (no booking counts: see [`course_stats`]).
pub async fn courses(db: impl sqlx::PgExecutor<'_>) -> sqlx::Result<Vec<Course>> {
    sqlx::query_as("SELECT id, name FROM courses ORDER BY id")
        .fetch_all(db)
        .await
}
