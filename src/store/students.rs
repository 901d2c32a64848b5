//! A stream's people: its students (one row per user, by their standing in
//! the stream: their most advanced booking there) and, for the current intake, who viewed the programme but
//! did not book. Every section is one set-based query; per-user figures come
//! from LATERAL joins on the `user_id` indexes.

use chrono::{DateTime, NaiveDate, Utc};

use super::streams::{COUNTS, Counts};
use crate::domain::booking::{BookingStatus, standing_rank_sql};

/// A stream as its page heads it: registry data when registered, otherwise
/// what its bookings say.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StreamHeader {
    pub code: String,
    /// NULL when the stream is not in the registry.
    pub display_name: Option<String>,
    pub course_id: i32,
    pub course_name: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub capacity: Option<i32>,
    pub is_current: bool,
    pub archived: bool,
}

impl StreamHeader {
    pub fn registered(&self) -> bool {
        self.display_name.is_some()
    }

    pub fn name(&self) -> &str {
        self.display_name.as_deref().unwrap_or(&self.code)
    }
}

/// The stream `code` of course `course_id`, if it is registered or any
/// booking of the course names it.
#[tracing::instrument(skip(db))]
pub async fn header(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
    code: &str,
) -> sqlx::Result<Option<StreamHeader>> {
    sqlx::query_as(
        "SELECT s.code, r.display_name, s.course_id, \
                c.name AS course_name, r.starts_on, r.capacity, \
                coalesce(r.is_current, false) AS is_current, \
                coalesce(r.archived, false) AS archived \
         FROM (SELECT $1::int AS course_id, $2::text AS code) s \
         LEFT JOIN stream_registry r ON r.course_id = s.course_id AND r.code = s.code \
         LEFT JOIN courses c ON c.id = s.course_id \
         WHERE r.code IS NOT NULL \
            OR EXISTS (SELECT 1 FROM bookings b \
                       WHERE b.course_id = s.course_id AND b.course_stream = s.code)",
    )
    .bind(course_id)
    .bind(code)
    .fetch_optional(db)
    .await
}

/// One student of a stream: a user with a booking in it, shown with their
/// latest booking there.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StudentRow {
    pub user_id: i64,
    pub booking_id: i32,
    pub confirmed: Option<i32>,
    pub booked_at: Option<DateTime<Utc>>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The newest of their events, bookings and `users.updated_at`.
    pub last_activity: Option<DateTime<Utc>>,
    /// All their events, of every type.
    pub events: i64,
    /// The booking was moved here by intake routing (`intake_moves`).
    pub auto_moved: bool,
}

impl StudentRow {
    pub fn status(&self) -> BookingStatus {
        BookingStatus::from_raw(self.confirmed)
    }
}

/// A [`StudentRow`]'s columns over the booking rows `n` (user, id,
/// confirmed, created_at and the booking's names), with the joins of
/// [`ACTIVITY_JOINS`].
fn student_columns() -> String {
    format!(
        "n.user_id, n.id AS booking_id, n.confirmed, n.created_at AS booked_at, \
         {names}, {ACTIVITY}, \
         EXISTS (SELECT 1 FROM intake_moves m WHERE m.booking_id = n.id) AS auto_moved",
        names = names("n")
    )
}

/// Each user's standing in the stream of course `$1` and code `$2`: their
/// most advanced booking there (ties: the latest, then by id).
fn standing() -> String {
    format!(
        "SELECT DISTINCT ON (b.user_id) b.user_id, b.id, b.confirmed, b.created_at, \
                b.username, b.first_name \
         FROM bookings b WHERE b.course_id = $1 AND b.course_stream = $2 \
         ORDER BY b.user_id, {rank} DESC, b.created_at DESC NULLS LAST, b.id DESC",
        rank = standing_rank_sql("b.confirmed")
    )
}

/// `$3`: a raw status to match; `$4`: match unknown statuses instead.
const STATUS_FILTER: &str = "($3::int IS NULL OR l.confirmed = $3) \
     AND (NOT $4::bool OR l.confirmed IS NULL OR l.confirmed NOT IN (-1, 0, 1, 2))";

/// The binds of [`STATUS_FILTER`] for a status (`None`: any).
fn status_binds(status: Option<BookingStatus>) -> (Option<i32>, bool) {
    match status {
        None => (None, false),
        Some(BookingStatus::Unknown) => (None, true),
        Some(known) => (known.raw(), false),
    }
}

/// Current names come from `users` when the bot has a row for the user (a
/// NULL username there means they dropped it, so an old one is not shown);
/// otherwise from the snapshot row `snapshot` (a booking, or an event).
fn names(snapshot: &str) -> String {
    format!(
        "CASE WHEN u.user_id IS NULL THEN {snapshot}.username ELSE u.username END AS username, \
         coalesce(u.first_name, {snapshot}.first_name) AS first_name, u.last_name"
    )
}

/// The newest of `e.last_event`, `k.last_booking` and `users.updated_at`
/// (stored without a zone, holding UTC), and the events count.
const ACTIVITY: &str = "GREATEST(e.last_event, k.last_booking, u.updated_at AT TIME ZONE 'UTC') \
         AS last_activity, \
     coalesce(e.events, 0) AS events";

/// The per-user figures for the row `n`, through the `user_id` indexes.
const ACTIVITY_JOINS: &str = "LEFT JOIN users u ON u.user_id = n.user_id \
     LEFT JOIN LATERAL (SELECT count(*) AS events, max(created_at) AS last_event \
                        FROM events WHERE user_id = n.user_id) e ON true \
     LEFT JOIN LATERAL (SELECT max(created_at) AS last_booking \
                        FROM bookings WHERE user_id = n.user_id) k ON true";

/// Students of the stream whose standing is `status` (`None`: all), newest
/// booking first, then by user id; `limit` `None` means all.
#[tracing::instrument(skip(db))]
pub async fn students(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
    code: &str,
    status: Option<BookingStatus>,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<StudentRow>> {
    let (raw, unknown) = status_binds(status);
    let columns = student_columns();
    let standing = standing();
    // The page is cut first, so the per-user joins run for its rows only.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH l AS ({standing}), \
         n AS (SELECT * FROM l WHERE {STATUS_FILTER} \
               ORDER BY l.created_at DESC NULLS LAST, l.user_id LIMIT $5 OFFSET $6) \
         SELECT {columns} FROM n {ACTIVITY_JOINS} \
         ORDER BY n.created_at DESC NULLS LAST, n.user_id"
    )))
    .bind(course_id)
    .bind(code)
    .bind(raw)
    .bind(unknown)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// How many students have each standing; `total` counts them all.
#[tracing::instrument(skip(db))]
pub async fn student_counts(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
    code: &str,
) -> sqlx::Result<Counts> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COUNTS} FROM ({}) l",
        standing()
    )))
    .bind(course_id)
    .bind(code)
    .fetch_one(db)
    .await
}

/// Who to look for among the programme's viewers.
#[derive(Debug, Clone, Copy)]
pub struct ViewerQuery<'a> {
    /// The stream: its bookers are not viewers.
    pub code: &'a str,
    /// The course whose programme was viewed (`details.course_id`).
    pub course_id: i32,
    /// Views from this instant on (the stream's start).
    pub since: DateTime<Utc>,
}

/// Someone who viewed the programme of the current intake and did not book.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ViewerRow {
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub first_view: DateTime<Utc>,
    pub last_view: DateTime<Utc>,
    pub views: i64,
    pub last_activity: Option<DateTime<Utc>>,
    pub events: i64,
}

/// A view of the programme by someone who did not book the stream: `$1`
/// stream, `$2` course id as text, `$3` since.
const VIEW_FILTER: &str = "v.event_type = 'view_program' AND v.created_at >= $3 \
     AND v.details->>'course_id' = $2 \
     AND NOT EXISTS (SELECT 1 FROM bookings b \
                     WHERE b.user_id = v.user_id AND b.course_id = $2::int \
                       AND b.course_stream = $1)";

/// Viewers, latest view first, then by user id; `limit` `None` means all.
#[tracing::instrument(skip(db))]
pub async fn viewers(
    db: impl sqlx::PgExecutor<'_>,
    query: ViewerQuery<'_>,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<ViewerRow>> {
    let names = names("d");
    // Without a `users` row, names come from the latest event that carried
    // any: looked up for the page's rows only.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH n AS ( \
             SELECT v.user_id, min(v.created_at) AS first_view, \
                    max(v.created_at) AS last_view, count(*) AS views \
             FROM events v WHERE {VIEW_FILTER} GROUP BY v.user_id \
             ORDER BY last_view DESC, v.user_id LIMIT $4 OFFSET $5) \
         SELECT n.user_id, {names}, n.first_view, n.last_view, n.views, {ACTIVITY} \
         FROM n {ACTIVITY_JOINS} \
         LEFT JOIN LATERAL ( \
             SELECT details->>'username' AS username, details->>'first_name' AS first_name \
             FROM events \
             WHERE user_id = n.user_id AND u.user_id IS NULL \
               AND (details ? 'username' OR details ? 'first_name') \
             ORDER BY created_at DESC, id DESC LIMIT 1) d ON true \
         ORDER BY n.last_view DESC, n.user_id"
    )))
    .bind(query.code)
    .bind(query.course_id.to_string())
    .bind(query.since)
    .bind(limit)
    .bind(offset)
    .fetch_all(db)
    .await
}

/// How many viewers there are.
#[tracing::instrument(skip(db))]
pub async fn viewer_count(
    db: impl sqlx::PgExecutor<'_>,
    query: ViewerQuery<'_>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(DISTINCT v.user_id) FROM events v WHERE {VIEW_FILTER}"
    )))
    .bind(query.code)
    .bind(query.course_id.to_string())
    .bind(query.since)
    .fetch_one(db)
    .await
}

/// The stream's pending bookings (`confirmed = 1`) created more than
/// `older_than_days` days ago, one row per booking (not per person), oldest
/// first, then by id; `limit` `None` means all. Their number is
/// [`super::streams::stream_numbers`]'s `stale_pending`.
#[tracing::instrument(skip(db))]
pub async fn stale_pending(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
    code: &str,
    older_than_days: u32,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<StudentRow>> {
    let columns = student_columns();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH n AS ( \
             SELECT b.user_id, b.id, b.confirmed, b.created_at, b.username, b.first_name \
             FROM bookings b \
             WHERE b.course_id = $5 AND b.course_stream = $1 AND b.confirmed = 1 \
               AND b.created_at < now() - make_interval(days => $2) \
             ORDER BY b.created_at, b.id LIMIT $3 OFFSET $4) \
         SELECT {columns} FROM n {ACTIVITY_JOINS} \
         ORDER BY n.created_at, n.id"
    )))
    .bind(code)
    .bind(i32::try_from(older_than_days).unwrap_or(i32::MAX))
    .bind(limit)
    .bind(offset)
    .bind(course_id)
    .fetch_all(db)
    .await
}
