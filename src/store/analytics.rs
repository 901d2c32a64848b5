//! The analytics numbers, exactly as `docs/analytics.md` defines them. Day
//! buckets are school days: the analytics cache makes them with
//! `(timestamp AT TIME ZONE $zone)::date`, the zone bound as a parameter, so
//! the database's own zone never matters. Everything but booking statuses
//! and the activity feed reads the cache: call
//! [`analytics_cache::refresh`](super::analytics_cache::refresh) first.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use super::person_names;
use crate::domain::analytics::DateRange;

/// The headline numbers.
#[derive(Debug, Clone, Copy, sqlx::FromRow)]
pub struct Headline {
    /// Distinct people across `users` and every bot table.
    pub total_users: i64,
    /// Bookings whose status is neither −1 nor NULL.
    pub active_bookings: i64,
    /// Bookings with status 2.
    pub confirmed_payments: i64,
    /// Rows in `free_lesson_registrations`.
    pub free_lesson_registrations: i64,
    /// Distinct people among them.
    pub free_lesson_registrants: i64,
}

#[tracing::instrument(skip_all)]
pub async fn headline(pool: &PgPool) -> sqlx::Result<Headline> {
    sqlx::query_as(
        "SELECT s.people AS total_users, b.active_bookings, b.confirmed_payments, \
                s.free_lessons AS free_lesson_registrations, \
                s.registrants AS free_lesson_registrants \
         FROM analytics_state s, \
              (SELECT count(*) FILTER (WHERE confirmed IS NOT NULL AND confirmed <> -1) \
                          AS active_bookings, \
                      count(*) FILTER (WHERE confirmed = 2) AS confirmed_payments \
               FROM bookings) b",
    )
    .fetch_one(pool)
    .await
}

/// One number per day of a range, days without rows included as 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daily {
    pub points: Vec<(NaiveDate, i64)>,
}

impl Daily {
    fn fill(range: &DateRange, rows: &[(NaiveDate, i64)]) -> Self {
        let points = range
            .dates()
            .map(|day| {
                let count = rows
                    .iter()
                    .filter(|(d, _)| *d == day)
                    .map(|(_, count)| count)
                    .sum();
                (day, count)
            })
            .collect();
        Self { points }
    }

    pub fn total(&self) -> i64 {
        self.points.iter().map(|(_, count)| count).sum()
    }
}

/// New users per day and the cumulative number of users at each day's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    pub new_users: Daily,
    pub cumulative: Daily,
}

/// People whose first appearance falls on each day of `range`, and how many
/// people had appeared by each day's end (people without any timestamp
/// count from the start, so the last point of a range ending today is the
/// total). One index range over first-appearance days from the range's
/// start (the cache holds them as school days).
#[tracing::instrument(skip(pool))]
pub async fn growth(pool: &PgPool, range: &DateRange) -> sqlx::Result<Growth> {
    let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT first_day, count(*) FROM analytics_first_seen \
         WHERE first_day >= $1 GROUP BY first_day",
    )
    .bind(range.from())
    .fetch_all(pool)
    .await?;
    let people: i64 = sqlx::query_scalar("SELECT people FROM analytics_state")
        .fetch_one(pool)
        .await?;
    let since_start: i64 = rows.iter().map(|(_, count)| count).sum();
    let new_users = Daily::fill(range, &rows);
    let mut running = people - since_start;
    let cumulative = Daily {
        points: new_users
            .points
            .iter()
            .map(|&(day, count)| {
                running += count;
                (day, running)
            })
            .collect(),
    };
    Ok(Growth {
        new_users,
        cumulative,
    })
}

/// Bookings created on each day, whatever their status.
#[tracing::instrument(skip(pool))]
pub async fn bookings_per_day(pool: &PgPool, range: &DateRange) -> sqlx::Result<Daily> {
    daily(pool, range, "bookings").await
}

/// Free-lesson registrations made on each day.
#[tracing::instrument(skip(pool))]
pub async fn free_lessons_per_day(pool: &PgPool, range: &DateRange) -> sqlx::Result<Daily> {
    daily(pool, range, "free_lessons").await
}

/// The cache's rows per school day of `source`'s table.
async fn daily(pool: &PgPool, range: &DateRange, source: &str) -> sqlx::Result<Daily> {
    let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT day, total FROM analytics_daily WHERE source = $1 AND day BETWEEN $2 AND $3",
    )
    .bind(source)
    .bind(range.from())
    .bind(range.to())
    .fetch_all(pool)
    .await?;
    Ok(Daily::fill(range, &rows))
}

/// Events (every type) on each day.
#[tracing::instrument(skip(pool))]
pub async fn events_per_day(pool: &PgPool, range: &DateRange) -> sqlx::Result<Daily> {
    let rows: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT day, sum(events)::bigint FROM analytics_event_days \
         WHERE day BETWEEN $1 AND $2 GROUP BY day",
    )
    .bind(range.from())
    .bind(range.to())
    .fetch_all(pool)
    .await?;
    Ok(Daily::fill(range, &rows))
}

/// An event type and how often it occurred in a range.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TypeCount {
    pub event_type: String,
    pub events: i64,
}

/// Every event type that occurred in `range`, most frequent first (then by
/// name). Their sum is the range's event total, the base of percentages.
#[tracing::instrument(skip(pool))]
pub async fn event_types(pool: &PgPool, range: &DateRange) -> sqlx::Result<Vec<TypeCount>> {
    sqlx::query_as(
        "SELECT event_type, sum(events)::bigint AS events FROM analytics_event_days \
         WHERE day BETWEEN $1 AND $2 GROUP BY event_type ORDER BY events DESC, event_type",
    )
    .bind(range.from())
    .bind(range.to())
    .fetch_all(pool)
    .await
}

/// One event of the recent activity feed, with the person's current names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecentEvent {
    pub id: i32,
    pub user_id: i64,
    pub event_type: String,
    pub details: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
}

/// The feed looks at this many of the newest events: a backward index scan
/// of `created_at`, never the whole table.
pub const RECENT_WINDOW: i64 = 500;

/// The newest events, at most two per person, newest first; `limit` rows
/// at most (fewer when the newest [`RECENT_WINDOW`] events come from few
/// people).
#[tracing::instrument(skip(pool))]
pub async fn recent_activity(pool: &PgPool, limit: i64) -> sqlx::Result<Vec<RecentEvent>> {
    let joins = person_names::joins("p");
    let columns = person_names::COLUMNS;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH newest AS ( \
             SELECT id, user_id, event_type, details, created_at FROM events \
             WHERE created_at IS NOT NULL ORDER BY created_at DESC, id DESC LIMIT $1), \
         ranked AS ( \
             SELECT newest.*, row_number() OVER ( \
                 PARTITION BY user_id ORDER BY created_at DESC, id DESC) AS nth \
             FROM newest), \
         p AS (SELECT * FROM ranked WHERE nth <= 2 ORDER BY created_at DESC, id DESC LIMIT $2) \
         SELECT p.id, p.user_id, p.event_type::text AS event_type, p.details, p.created_at, {columns} \
         FROM p {joins} ORDER BY p.created_at DESC, p.id DESC"
    )))
    .bind(RECENT_WINDOW)
    .bind(limit)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_series_have_every_day() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let range = DateRange::between(day(1), day(4), day(21)).unwrap();
        let series = Daily::fill(&range, &[(day(2), 5), (day(4), 1), (day(9), 7)]);
        assert_eq!(
            series.points,
            [(day(1), 0), (day(2), 5), (day(3), 0), (day(4), 1)]
        );
        assert_eq!(series.total(), 6);
    }
}
