//! Free-lesson registrations: the list with a search, and the breakdowns by
//! lesson type (with conversion) and by lesson date. Conversion for a lesson
//! type: of the people registered for it, those with a `lesson_link_clicked`
//! event for that type (at any time): the analytics cache keeps each
//! registrant's clicked lesson types, so call
//! [`analytics_cache::refresh`](super::analytics_cache::refresh) first.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use super::person_names;
use crate::domain::user::Search;

/// A registration with the person's current names.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Registration {
    pub id: i32,
    pub user_id: i64,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: String,
    pub lesson_type: Option<String>,
    pub lesson_date: Option<NaiveDate>,
    pub registered_at: Option<DateTime<Utc>>,
    pub notification_sent: Option<bool>,
}

/// `$1` an exact user id, `$2` a `LIKE` pattern for the registration's first
/// name, username or e-mail (lowercased; trigram indexes), both NULL for all.
const MATCH: &str = "(($1::bigint IS NULL AND $2::text IS NULL) OR user_id = $1 \
     OR lower(first_name) LIKE lower($2) OR lower(username) LIKE lower($2) \
     OR lower(email) LIKE lower($2))";

/// Registrations matching `search` (all when `None`), newest first, and
/// how many match; `limit` `None` means all.
#[tracing::instrument(skip(pool, search))]
pub async fn list(
    pool: &PgPool,
    search: Option<&Search>,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<(Vec<Registration>, i64)> {
    let id = search.and_then(Search::id);
    let pattern = search.and_then(Search::like_pattern);
    let joins = person_names::joins("p");
    let columns = person_names::COLUMNS;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH p AS (SELECT * FROM free_lesson_registrations WHERE {MATCH} \
                    ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT $3 OFFSET $4) \
         SELECT p.id, p.user_id, {columns}, p.email, p.lesson_type::text AS lesson_type, \
                p.lesson_date, p.registered_at, p.notification_sent \
         FROM p {joins} ORDER BY p.registered_at DESC NULLS LAST, p.id DESC"
    )))
    // Planned for the values at hand: a generic plan would not know
    // whether a search is there to use the trigram indexes for.
    .persistent(false)
    .bind(id)
    .bind(pattern.as_deref())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM free_lesson_registrations WHERE {MATCH}"
    )))
    .persistent(false)
    .bind(id)
    .bind(pattern.as_deref())
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// One lesson type: registrations, people, converted people, reminders sent.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct LessonType {
    /// NULL when the bot stored none.
    pub lesson_type: Option<String>,
    pub registrations: i64,
    /// Distinct people registered for it (two registrations, one person).
    pub registrants: i64,
    /// Those of them with a lesson-link click for this type.
    pub converted: i64,
    /// Registrations whose reminder the bot sent.
    pub notified: i64,
}

/// Per lesson type (most registrations first): all registrations, or those
/// made in `[start, end)` (and the people who made them).
#[tracing::instrument(skip(pool))]
pub async fn by_lesson_type(
    pool: &PgPool,
    registered: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> sqlx::Result<Vec<LessonType>> {
    // Two texts rather than `$1 IS NULL OR …`, so the range uses its index.
    let filter = match registered {
        Some(_) => "WHERE f.registered_at >= $1 AND f.registered_at < $2",
        None => "",
    };
    // One pass over the registrations joined to the cached registrants;
    // distinct people per type by sorting within each type (grouping by
    // (type, person) pairs first spilled to disk at 66 000 registrations).
    let query = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT f.lesson_type::text AS lesson_type, count(*) AS registrations, \
                count(DISTINCT f.user_id) AS registrants, \
                count(DISTINCT f.user_id) FILTER (WHERE f.lesson_type::text = ANY (a.clicked)) \
                    AS converted, \
                count(*) FILTER (WHERE f.notification_sent) AS notified \
         FROM free_lesson_registrations f \
         LEFT JOIN analytics_registrants a ON a.user_id = f.user_id \
         {filter} \
         GROUP BY f.lesson_type ORDER BY registrations DESC, f.lesson_type NULLS LAST"
    )));
    let query = match registered {
        Some((start, end)) => query.bind(start).bind(end),
        None => query,
    };
    query.fetch_all(pool).await
}

/// Registrations for one lesson date and type.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DateCount {
    pub lesson_date: Option<NaiveDate>,
    pub lesson_type: Option<String>,
    pub registrations: i64,
    pub notified: i64,
}

/// Every registration by lesson date (newest first, undated last) and type.
#[tracing::instrument(skip(pool))]
pub async fn by_lesson_date(pool: &PgPool) -> sqlx::Result<Vec<DateCount>> {
    sqlx::query_as(
        "SELECT lesson_date, lesson_type::text AS lesson_type, count(*) AS registrations, \
                count(*) FILTER (WHERE notification_sent) AS notified \
         FROM free_lesson_registrations GROUP BY lesson_date, lesson_type \
         ORDER BY lesson_date DESC NULLS LAST, lesson_type NULLS LAST",
    )
    .fetch_all(pool)
    .await
}
