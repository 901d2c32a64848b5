//! Users: everyone in `users` plus anyone the bot only recorded in bookings,
//! events, free-lesson or hackathon registrations, as the people directory
//! (see [`super::people`]) lists them. Callers bring the directory up to
//! date first (`crate::app::users` does, for every users query). One statement per
//! list: the matching directory rows (by the trigram indexes for a search,
//! the activity index for a page of everyone, a stream's bookings for a
//! stream filter), the order and the page cut, and only then the per-user
//! figures for the page's rows, by LATERAL joins on the `user_id` indexes.

use chrono::{DateTime, Utc};

use crate::domain::booking::{BookingStatus, standing_rank_sql};
use crate::domain::stream::StreamRef;
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
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ListQuery {
    pub search: Option<Search>,
    /// A stream: users with a booking in it (their standing there, their
    /// most advanced booking, is what the status filter looks at). A code
    /// without a course matches nobody: the use case resolves it first.
    pub stream: Option<StreamRef>,
    pub status: Option<StatusFilter>,
    pub sort: Sort,
}

/// Directory rows `p` a search keeps: the exact id `$1`, or the pattern `$2`
/// (an escaped `LIKE` pattern) in a shown name, through the trigram indexes.
const ID_MATCH: &str = "p.user_id = $1";
const NAME_MATCH: &str = "(lower(p.first_name) LIKE lower($2) OR lower(p.last_name) LIKE lower($2) \
     OR lower(p.username) LIKE lower($2))";

/// The booking filters as conditions on one person `p`, by index probes on
/// their bookings: a booking in the stream of course `$7` and code `$3`;
/// the latest booking has status `$4` (in the stream, when one is chosen:
/// their standing there, [`standing_in_stream_is`]); no bookings at all.
const IN_STREAM: &str = "EXISTS (SELECT 1 FROM bookings b WHERE b.user_id = p.user_id \
     AND b.course_id = $7 AND b.course_stream = $3)";
const LATEST_IS: &str = "(SELECT b.confirmed FROM bookings b WHERE b.user_id = p.user_id \
     ORDER BY b.created_at DESC, b.id DESC LIMIT 1) = $4";

/// A person's standing in the stream (their most advanced booking there)
/// has status `$4`.
fn standing_in_stream_is() -> String {
    format!(
        "(SELECT b.confirmed FROM bookings b \
          WHERE b.user_id = p.user_id AND b.course_id = $7 AND b.course_stream = $3 \
          ORDER BY {rank} DESC, b.created_at DESC NULLS LAST, b.id DESC LIMIT 1) = $4",
        rank = standing_rank_sql("b.confirmed")
    )
}
const NO_BOOKINGS: &str = "NOT EXISTS (SELECT 1 FROM bookings b WHERE b.user_id = p.user_id)";
/// A booking in a stream and no bookings: nobody.
const NOBODY: &str = "false";

/// Everyone's latest booking with status `$4`; read from the covering index
/// of migration 0009 without sorting.
const LATEST_WITH_STATUS: &str = "SELECT user_id FROM ( \
       SELECT DISTINCT ON (user_id) user_id, confirmed FROM bookings \
       ORDER BY user_id, created_at DESC, id DESC) l WHERE l.confirmed = $4";

/// Everyone whose standing in the stream has status `$4`, as the stream page
/// picks it; from the stream's members index (migration 0015).
fn standing_in_stream_with_status() -> String {
    format!(
        "SELECT user_id FROM ( \
           SELECT DISTINCT ON (user_id) user_id, confirmed FROM bookings b \
           WHERE b.course_id = $7 AND b.course_stream = $3 \
           ORDER BY user_id, {rank} DESC, created_at DESC NULLS LAST, id DESC) l \
         WHERE l.confirmed = $4",
        rank = standing_rank_sql("b.confirmed")
    )
}
const IN_STREAM_ANYONE: &str =
    "SELECT DISTINCT user_id FROM bookings WHERE course_id = $7 AND course_stream = $3";
/// Everyone minus those with bookings.
const WITHOUT_BOOKINGS_TOTAL: &str = "SELECT (SELECT count(*) FROM people_directory) \
     - (SELECT count(*) FROM (SELECT DISTINCT ON (user_id) user_id FROM bookings \
                              ORDER BY user_id, created_at DESC, id DESC) b)";

/// The page's rows (`page`, directory columns) with their figures, by index
/// probes per row, and the number matching (`total`, evaluated once).
fn with_figures(with: &str, page: &str, total: &str, order: &str) -> String {
    format!(
        "{with}SELECT n.user_id, n.username, n.first_name, n.last_name, n.first_seen, \
                n.last_activity, k.total AS total_bookings, e.total AS total_events, \
                fl.total AS total_free_lessons, lo.course_stream AS latest_stream, \
                CASE WHEN lo.course_stream IS NULL THEN NULL \
                     ELSE coalesce(r.display_name, lo.course_stream) END AS latest_stream_name, \
                lo.confirmed AS latest_confirmed, lo.id IS NOT NULL AS has_bookings, n.in_users, \
                ({total}) AS total \
         FROM ({page}) n \
         CROSS JOIN LATERAL (SELECT count(*) AS total FROM events WHERE user_id = n.user_id) e \
         CROSS JOIN LATERAL (SELECT count(*) AS total FROM bookings WHERE user_id = n.user_id) k \
         CROSS JOIN LATERAL (SELECT count(*) AS total FROM free_lesson_registrations \
                             WHERE user_id = n.user_id) fl \
         LEFT JOIN LATERAL (SELECT id, course_id, course_stream, confirmed FROM bookings \
                            WHERE user_id = n.user_id \
                            ORDER BY created_at DESC, id DESC LIMIT 1) lo ON true \
         LEFT JOIN stream_registry r ON r.code = lo.course_stream AND r.course_id = lo.course_id \
         ORDER BY {order}"
    )
}

/// The statement for `query`: `$1` id, `$2` pattern, `$3` stream code, `$4`
/// status, `$5` limit, `$6` offset, `$7` the stream's course. Built from the fixed fragments above
/// only; the values are always bound.
fn statement(query: &ListQuery) -> String {
    let order = match query.sort {
        Sort::Activity => "last_activity DESC NULLS LAST, user_id",
        Sort::Id => "user_id",
    };
    let status = match query.status {
        Some(StatusFilter::Latest(status)) => status.raw().map(|_| ()),
        _ => None,
    };
    let none = query.status == Some(StatusFilter::NoBookings);
    let matching = |from: &str, conditions: &[&str]| {
        let mut sql = format!("SELECT p.* FROM {from}");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql
    };
    let page = |sql: &str| format!("{sql} ORDER BY {order} LIMIT $5 OFFSET $6");
    let count = |sql: &str| format!("SELECT count(*) FROM ({sql}) m");
    let standing_is = standing_in_stream_is();
    let booking_conditions = match (&query.stream, status, none) {
        (Some(_), _, true) => vec![NOBODY],
        (Some(_), Some(()), false) => vec![IN_STREAM, standing_is.as_str()],
        (Some(_), None, false) => vec![IN_STREAM],
        (None, Some(()), _) => vec![LATEST_IS],
        (None, None, true) => vec![NO_BOOKINGS],
        (None, None, false) => vec![],
    };

    if let Some(search) = &query.search {
        // A few thousand candidates at most: the booking filters are probes
        // per person, and the total counts the same rows.
        let mut conditions = vec![match search {
            Search::Id(_) => ID_MATCH,
            Search::Text(_) => NAME_MATCH,
        }];
        conditions.extend(booking_conditions);
        let rows = matching("people_directory p", &conditions);
        return with_figures("", &page(&rows), &count(&rows), order);
    }
    // Without a search, pages walk the activity (or id) index and probe each
    // person, stopping after the page, except for a standing in a stream,
    // which few people may pass: those are gathered from the stream's
    // bookings first. Totals count bookings, not the directory: every
    // booker is in it once caught up, and counting the join costs more than
    // the page.
    let (with, rows, total) = match (&query.stream, status, none) {
        (Some(_), Some(()), false) => (
            format!(
                "WITH l AS MATERIALIZED ({}) ",
                standing_in_stream_with_status()
            ),
            matching("l JOIN people_directory p USING (user_id)", &[]),
            count("SELECT * FROM l"),
        ),
        (Some(_), None, false) => (
            String::new(),
            matching("people_directory p", &booking_conditions),
            count(IN_STREAM_ANYONE),
        ),
        (None, Some(()), _) => (
            String::new(),
            matching("people_directory p", &booking_conditions),
            count(LATEST_WITH_STATUS),
        ),
        (None, None, true) => (
            String::new(),
            matching("people_directory p", &booking_conditions),
            WITHOUT_BOOKINGS_TOTAL.to_owned(),
        ),
        _ => {
            let rows = matching("people_directory p", &booking_conditions);
            let total = count(&rows);
            (String::new(), rows, total)
        }
    };
    with_figures(&with, &page(&rows), &total, order)
}

/// A page of users and the number matching; `limit` `None` means all. The
/// directory is read as it is: catch it up first.
#[tracing::instrument(skip(pool, query), fields(sort = ?query.sort))]
pub async fn list(
    pool: &sqlx::PgPool,
    query: &ListQuery,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<(Vec<UserRow>, i64)> {
    let status = match query.status {
        Some(StatusFilter::Latest(status)) => status.raw(),
        _ => None,
    };
    // Unnamed, so planned for the values at hand (a named statement would
    // switch to one generic plan for every search after five runs).
    let fetched: Vec<UserRowWithTotal> = sqlx::query_as(sqlx::AssertSqlSafe(statement(query)))
        .persistent(false)
        .bind(query.search.as_ref().and_then(Search::id))
        .bind(query.search.as_ref().and_then(Search::like_pattern))
        .bind(query.stream.as_ref().map(|stream| stream.code.as_str()))
        .bind(status)
        .bind(limit)
        .bind(offset)
        .bind(query.stream.as_ref().and_then(|stream| stream.course_id))
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
