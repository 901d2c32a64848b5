//! Users: everyone in `users` plus anyone the bot only recorded in bookings,
//! events, free-lesson or hackathon registrations. One statement per list:
//! candidates first (by the trigram indexes for a text search, by the
//! bookings for a booking filter, every known id otherwise), then the
//! filters, the order and the page cut, and only then the per-user figures
//! for the page's rows, by LATERAL joins on the `user_id` indexes.

use chrono::{DateTime, Utc};

use crate::domain::booking::BookingStatus;
use crate::domain::user::{Search, Sort, StatusFilter};

/// One user as lists show them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub user_id: i64,
    /// From `users` when the bot has a row for them (a NULL there means they
    /// dropped it), otherwise from their newest snapshot elsewhere.
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// The oldest of their rows anywhere (and `users.first_seen_at`).
    pub first_seen: Option<DateTime<Utc>>,
    /// The newest of their rows anywhere (and `users.updated_at`).
    pub last_activity: Option<DateTime<Utc>>,
    pub total_bookings: i64,
    pub total_events: i64,
    pub total_free_lessons: i64,
    /// Their latest booking's stream code, display name and raw status.
    pub latest_stream: Option<String>,
    pub latest_stream_name: Option<String>,
    pub latest_confirmed: Option<i32>,
    pub has_bookings: bool,
    /// Whether the bot has a `users` row for them.
    pub in_users: bool,
}

impl UserRow {
    /// The latest booking's status; `None` without bookings.
    pub fn latest_status(&self) -> Option<BookingStatus> {
        self.has_bookings
            .then(|| BookingStatus::from_raw(self.latest_confirmed))
    }
}

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub search: Option<Search>,
    /// A stream code: users with a booking in it (their latest booking there
    /// is the one the status filter looks at).
    pub stream: Option<String>,
    pub status: Option<StatusFilter>,
    pub sort: Sort,
}

/// Whether `$1` appears in any bot table.
pub const KNOWN: &str = "(EXISTS (SELECT 1 FROM users WHERE user_id = $1) \
     OR EXISTS (SELECT 1 FROM bookings WHERE user_id = $1) \
     OR EXISTS (SELECT 1 FROM events WHERE user_id = $1) \
     OR EXISTS (SELECT 1 FROM free_lesson_registrations WHERE user_id = $1) \
     OR EXISTS (SELECT 1 FROM hackathon_registrations WHERE user_id = $1))";

/// Candidates `(user_id, activity)` for an id search.
fn by_id() -> String {
    format!("SELECT $1::bigint AS user_id, NULL::timestamptz AS activity WHERE {KNOWN}")
}

/// Candidates for a text search `$2` (an escaped `LIKE` pattern, matched
/// against lowercased names): anyone
/// with a matching current name or snapshot, through the trigram indexes
/// (the filter below keeps those whose shown name matches).
const BY_TEXT: &str = "SELECT user_id, NULL::timestamptz AS activity FROM ( \
       SELECT user_id FROM users \
        WHERE lower(first_name) LIKE lower($2) OR lower(last_name) LIKE lower($2) \
           OR lower(username) LIKE lower($2) \
       UNION SELECT user_id FROM bookings WHERE lower(first_name) LIKE lower($2) OR lower(username) LIKE lower($2) \
       UNION SELECT user_id FROM free_lesson_registrations \
        WHERE lower(first_name) LIKE lower($2) OR lower(username) LIKE lower($2) \
       UNION SELECT user_id FROM hackathon_registrations \
        WHERE lower(first_name) LIKE lower($2) OR lower(username) LIKE lower($2) \
       UNION SELECT user_id FROM events \
        WHERE details ? 'username' AND lower(details->>'username') LIKE lower($2) \
       UNION SELECT user_id FROM events \
        WHERE details ? 'first_name' AND lower(details->>'first_name') LIKE lower($2)) t";

/// Each user's latest booking (in stream `$3` when given), as the stream
/// page picks it.
const LATEST: &str = "SELECT DISTINCT ON (user_id) user_id, confirmed FROM bookings \
     WHERE $3::text IS NULL OR course_stream = $3 \
     ORDER BY user_id, created_at DESC, id DESC";

/// Candidates for the booking filters without a search: whoever booked
/// (stream `$3`), by their latest booking's status `$4`, in one pass.
fn by_bookings() -> String {
    format!(
        "SELECT user_id, NULL::timestamptz AS activity FROM ({LATEST}) l \
         WHERE $4::int IS NULL OR l.confirmed = $4"
    )
}

/// Every known user with their last activity, in one pass over each table
/// (a per-user lookup would cost an index probe per table and user).
const EVERYONE: &str = "SELECT user_id, max(at) AS activity FROM ( \
       SELECT user_id, updated_at AT TIME ZONE 'UTC' AS at FROM users \
       UNION ALL SELECT user_id, created_at FROM bookings \
       UNION ALL SELECT user_id, created_at FROM events \
       UNION ALL SELECT user_id, registered_at FROM free_lesson_registrations \
       UNION ALL SELECT user_id, registered_at FROM hackathon_registrations) a \
     GROUP BY user_id";

/// The newest name snapshot of `{row}.user_id` outside `users`, looked up
/// only when `u` (their `users` row) is missing and `when` holds.
fn snapshot(row: &str, when: &str) -> String {
    format!(
        "LEFT JOIN LATERAL ( \
           SELECT x.username, x.first_name FROM ( \
             (SELECT username, first_name, created_at AS at, 1 AS source FROM bookings \
               WHERE user_id = {row}.user_id AND (username IS NOT NULL OR first_name IS NOT NULL) \
               ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1) \
             UNION ALL (SELECT username, first_name, registered_at, 2 FROM free_lesson_registrations \
               WHERE user_id = {row}.user_id AND (username IS NOT NULL OR first_name IS NOT NULL) \
               ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1) \
             UNION ALL (SELECT username, first_name, registered_at, 3 FROM hackathon_registrations \
               WHERE user_id = {row}.user_id AND (username IS NOT NULL OR first_name IS NOT NULL) \
               ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1) \
             UNION ALL (SELECT details->>'username', details->>'first_name', created_at, 4 \
               FROM events WHERE user_id = {row}.user_id \
                AND (details ? 'username' OR details ? 'first_name') \
               ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1)) x \
           WHERE u.user_id IS NULL AND {when} \
           ORDER BY x.at DESC NULLS LAST, x.source LIMIT 1) s ON true"
    )
}

/// The names shown: `users` when it has a row, else the snapshot `s`.
const NAMES: &str = "CASE WHEN u.user_id IS NULL THEN s.username ELSE u.username END AS username, \
     coalesce(u.first_name, s.first_name) AS first_name, u.last_name";

/// `$2` matches a shown name.
const NAME_MATCH: &str = "($2::text IS NULL \
     OR lower(coalesce(u.first_name, s.first_name)) LIKE lower($2) \
     OR lower(u.last_name) LIKE lower($2) \
     OR lower(CASE WHEN u.user_id IS NULL THEN s.username ELSE u.username END) LIKE lower($2))";

/// The newest row of `c.user_id` in each table, by index lookups, unless
/// `$9` (the candidates carry it already) or `$6` (sorted by id: not
/// needed). Separate joins, not sub-selects inside one `GREATEST`: those
/// made a 3 000-candidate search take 1.2 s instead of 0.15 s.
const ACTIVITY_LOOKUP: &str = "\
     LEFT JOIN LATERAL (SELECT max(created_at) AS at FROM events \
                        WHERE user_id = c.user_id AND NOT $9 AND NOT $6) a1 ON true \
     LEFT JOIN LATERAL (SELECT max(created_at) AS at FROM bookings \
                        WHERE user_id = c.user_id AND NOT $9 AND NOT $6) a2 ON true \
     LEFT JOIN LATERAL (SELECT max(registered_at) AS at FROM free_lesson_registrations \
                        WHERE user_id = c.user_id AND NOT $9 AND NOT $6) a3 ON true \
     LEFT JOIN LATERAL (SELECT max(registered_at) AS at FROM hackathon_registrations \
                        WHERE user_id = c.user_id AND NOT $9 AND NOT $6) a4 ON true";

/// The activity [`ACTIVITY_LOOKUP`] found.
const ACTIVITY: &str = "GREATEST(a1.at, a2.at, a3.at, a4.at, u.updated_at AT TIME ZONE 'UTC')";

/// With a search, the latest booking of `c.user_id` (in stream `$3` when
/// given), for a status filter `$4` (without one, the candidates are
/// filtered already).
const LATEST_BOOKING: &str = "LEFT JOIN LATERAL ( \
       SELECT confirmed FROM bookings \
       WHERE user_id = c.user_id AND ($3::text IS NULL OR course_stream = $3) \
         AND $4::int IS NOT NULL AND ($1::bigint IS NOT NULL OR $2::text IS NOT NULL) \
       ORDER BY created_at DESC, id DESC LIMIT 1) lb ON true";

/// The booking filters: `$3` a stream, `$4` a latest status (both applied
/// here only with a search `$1`/`$2`), `$5` no bookings at all.
const BOOKING_MATCH: &str = "(($1::bigint IS NULL AND $2::text IS NULL) OR ( \
       ($3::text IS NULL \
        OR EXISTS (SELECT 1 FROM bookings WHERE user_id = c.user_id AND course_stream = $3)) \
       AND ($4::int IS NULL OR lb.confirmed = $4))) \
     AND (NOT $5 OR NOT EXISTS (SELECT 1 FROM bookings WHERE user_id = c.user_id))";

/// The figures of the page's rows `n`.
fn figures() -> String {
    let snapshot = snapshot("n", "true");
    format!(
        "SELECT n.user_id, {NAMES}, \
                LEAST(u.first_seen_at AT TIME ZONE 'UTC', e.first_at, k.first_at, fl.first_at, h.first_at) \
                    AS first_seen, \
                GREATEST(u.updated_at AT TIME ZONE 'UTC', e.last_at, k.last_at, fl.last_at, h.last_at) \
                    AS last_activity, \
                k.total AS total_bookings, e.total AS total_events, fl.total AS total_free_lessons, \
                lo.course_stream AS latest_stream, \
                CASE WHEN lo.course_stream IS NULL THEN NULL \
                     ELSE coalesce(r.display_name, lo.course_stream) END AS latest_stream_name, \
                lo.confirmed AS latest_confirmed, lo.id IS NOT NULL AS has_bookings, \
                u.user_id IS NOT NULL AS in_users, n.total \
         FROM n \
         LEFT JOIN users u ON u.user_id = n.user_id \
         {snapshot} \
         CROSS JOIN LATERAL (SELECT count(*) AS total, min(created_at) AS first_at, \
                                    max(created_at) AS last_at \
                             FROM events WHERE user_id = n.user_id) e \
         CROSS JOIN LATERAL (SELECT count(*) AS total, min(created_at) AS first_at, \
                                    max(created_at) AS last_at \
                             FROM bookings WHERE user_id = n.user_id) k \
         CROSS JOIN LATERAL (SELECT count(*) AS total, min(registered_at) AS first_at, \
                                    max(registered_at) AS last_at \
                             FROM free_lesson_registrations WHERE user_id = n.user_id) fl \
         CROSS JOIN LATERAL (SELECT min(registered_at) AS first_at, max(registered_at) AS last_at \
                             FROM hackathon_registrations WHERE user_id = n.user_id) h \
         LEFT JOIN LATERAL (SELECT id, course_id, course_stream, confirmed FROM bookings \
                            WHERE user_id = n.user_id \
                            ORDER BY created_at DESC, id DESC LIMIT 1) lo ON true \
         LEFT JOIN stream_registry r ON r.code = lo.course_stream AND r.course_id = lo.course_id"
    )
}

/// A page of users and the number matching; `limit` `None` means all.
#[tracing::instrument(skip(pool, query), fields(sort = ?query.sort))]
pub async fn list(
    pool: &sqlx::PgPool,
    query: &ListQuery,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<(Vec<UserRow>, i64)> {
    // `precomputed`: the candidates carry their last activity already.
    let (candidates, precomputed) = match (&query.search, &query.stream, query.status) {
        (Some(Search::Id(_)), _, _) => (by_id(), false),
        (Some(Search::Text(_)), _, _) => (BY_TEXT.to_owned(), false),
        (None, Some(_), _) | (None, None, Some(StatusFilter::Latest(_))) => (by_bookings(), false),
        (None, None, Some(StatusFilter::NoBookings) | None) => (EVERYONE.to_owned(), true),
    };
    let snapshot = snapshot("c", "$2::text IS NOT NULL");
    let figures = figures();
    let statement = format!(
        "WITH c AS ({candidates}), \
         f AS (SELECT c.user_id, CASE WHEN $9 THEN c.activity ELSE {ACTIVITY} END AS activity \
               FROM c LEFT JOIN users u ON u.user_id = c.user_id \
               {snapshot} {ACTIVITY_LOOKUP} {LATEST_BOOKING} \
               WHERE {NAME_MATCH} AND {BOOKING_MATCH}), \
         n AS (SELECT f.user_id, f.activity, count(*) OVER () AS total FROM f \
               ORDER BY CASE WHEN $6 THEN NULL ELSE f.activity END DESC NULLS LAST, f.user_id \
               LIMIT $7 OFFSET $8) \
         {figures} \
         ORDER BY CASE WHEN $6 THEN NULL ELSE n.activity END DESC NULLS LAST, n.user_id"
    );
    let (status, none) = match query.status {
        None => (None, false),
        Some(StatusFilter::Latest(status)) => (status.raw(), false),
        Some(StatusFilter::NoBookings) => (None, true),
    };
    let search_id = query.search.as_ref().and_then(Search::id);
    let pattern = query.search.as_ref().and_then(Search::like_pattern);
    // Not a named prepared statement: PostgreSQL would switch it to a
    // generic plan after five runs, one plan for every filter combination
    // (a username search then took 120 ms instead of 12). Unnamed, it is
    // planned for the values at hand, and the unused branches fold away.
    // (JIT is off for the pool's sessions: here it took 700 ms of a 1 s
    // stream filter that runs in 0.3 s without it.)
    let fetched: Vec<UserRowWithTotal> = sqlx::query_as(sqlx::AssertSqlSafe(statement))
        .persistent(false)
        .bind(search_id)
        .bind(pattern.as_deref())
        .bind(query.stream.as_deref())
        .bind(status)
        .bind(none)
        .bind(query.sort == Sort::Id)
        .bind(limit)
        .bind(offset)
        .bind(precomputed)
        .fetch_all(pool)
        .await?;
    let total = match fetched.first() {
        Some(first) => first.total,
        // Past the last page: the first page's row carries the total.
        None if offset > 0 => Box::pin(list(pool, query, Some(1), 0)).await?.1,
        None => 0,
    };
    Ok((fetched.into_iter().map(|row| row.row).collect(), total))
}

#[derive(sqlx::FromRow)]
struct UserRowWithTotal {
    #[sqlx(flatten)]
    row: UserRow,
    total: i64,
}

/// One user, if the bot knows them.
#[tracing::instrument(skip(pool))]
pub async fn get(pool: &sqlx::PgPool, user_id: i64) -> sqlx::Result<Option<UserRow>> {
    let query = ListQuery {
        search: Some(Search::Id(user_id)),
        sort: Sort::Id,
        ..ListQuery::default()
    };
    Ok(list(pool, &query, Some(1), 0).await?.0.into_iter().next())
}
