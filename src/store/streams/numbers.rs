//! A stream's numbers beside its booking counts: the people in it (distinct
//! users) by their standing, the places they take, and the pending bookings
//! left unchecked too long. One set-based pass over `bookings` serves every
//! stream at once ([`super::stream_stats`]) or one stream
//! ([`stream_numbers`]).

use crate::domain::booking::standing_rank_sql;

use super::Counts;

/// People in a stream by their standing there: their most advanced booking
/// (confirmed > pending > new > cancelled > unknown). `people` counts them all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct People {
    pub people: i64,
    pub people_confirmed: i64,
    pub people_pending: i64,
    pub people_new: i64,
    pub people_cancelled: i64,
    pub people_unknown: i64,
}

impl People {
    /// Places taken: people whose standing is not cancelled.
    pub fn taken(&self) -> i64 {
        self.people - self.people_cancelled
    }

    /// People beyond `capacity` (0 within it, or without a limit).
    pub fn over_capacity(&self, capacity: Option<i32>) -> i64 {
        capacity.map_or(0, |capacity| (self.taken() - i64::from(capacity)).max(0))
    }

    /// Places taken as a whole percentage of `capacity`, at most 100.
    pub fn fill_percent(&self, capacity: Option<i32>) -> Option<i64> {
        let capacity = i64::from(capacity?);
        Some((self.taken() * 100 / capacity).clamp(0, 100))
    }
}

/// One stream's bookings, people and stale pending bookings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct StreamNumbers {
    #[sqlx(flatten)]
    pub bookings: Counts,
    #[sqlx(flatten)]
    pub people: People,
    /// Pending bookings (`confirmed = 1`) created before the stale cutoff.
    pub stale_pending: i64,
}

/// Per stream (grouped by `group`, e.g. `course_id, course_stream`) the
/// [`Counts`], [`People`] and `stale_pending` columns over the bookings that
/// match `filter`; `$1` is the number of days after which a pending
/// booking is stale. Each person's bookings are folded first (their counts,
/// their standing), then the people of each stream.
pub(super) fn numbers_sql(filter: &str, group: &str) -> String {
    let rank = standing_rank_sql("confirmed");
    let comma = if group.is_empty() { "" } else { ", " };
    format!(
        "WITH p AS ( \
             SELECT {group}{comma}user_id, \
                    count(*) AS total, \
                    count(*) FILTER (WHERE confirmed = 2) AS confirmed, \
                    count(*) FILTER (WHERE confirmed = 1) AS pending, \
                    count(*) FILTER (WHERE confirmed = -1) AS cancelled, \
                    count(*) FILTER (WHERE confirmed = 0) AS new, \
                    count(*) FILTER (WHERE confirmed IS NULL \
                                     OR confirmed NOT IN (-1, 0, 1, 2)) AS unknown, \
                    max({rank}) AS standing, \
                    count(*) FILTER (WHERE confirmed = 1 \
                                     AND created_at < now() - make_interval(days => $1)) \
                        AS stale_pending \
             FROM bookings WHERE {filter} GROUP BY {group}{comma}user_id) \
         SELECT {group}{comma}\
                sum(total)::bigint AS total, sum(confirmed)::bigint AS confirmed, \
                sum(pending)::bigint AS pending, sum(cancelled)::bigint AS cancelled, \
                sum(new)::bigint AS new, sum(unknown)::bigint AS unknown, \
                count(*) AS people, \
                count(*) FILTER (WHERE standing = 4) AS people_confirmed, \
                count(*) FILTER (WHERE standing = 3) AS people_pending, \
                count(*) FILTER (WHERE standing = 2) AS people_new, \
                count(*) FILTER (WHERE standing = 1) AS people_cancelled, \
                count(*) FILTER (WHERE standing = 0) AS people_unknown, \
                sum(stale_pending)::bigint AS stale_pending \
         FROM p{group_by}",
        group_by = if group.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {group}")
        },
    )
}

/// The numbers of the stream `code` of course `course_id`; a pending
/// booking older than `stale_days` days is stale.
#[tracing::instrument(skip(db))]
pub async fn stream_numbers(
    db: impl sqlx::PgExecutor<'_>,
    course_id: i32,
    code: &str,
    stale_days: u32,
) -> sqlx::Result<StreamNumbers> {
    let numbers = numbers_sql("course_id = $3 AND course_stream = $2", "");
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT coalesce(n.total, 0) AS total, coalesce(n.confirmed, 0) AS confirmed, \
                coalesce(n.pending, 0) AS pending, coalesce(n.cancelled, 0) AS cancelled, \
                coalesce(n.new, 0) AS new, coalesce(n.unknown, 0) AS unknown, \
                n.people, n.people_confirmed, n.people_pending, n.people_new, \
                n.people_cancelled, n.people_unknown, \
                coalesce(n.stale_pending, 0) AS stale_pending \
         FROM ({numbers}) n"
    )))
    .bind(days(stale_days))
    .bind(code)
    .bind(course_id)
    .fetch_one(db)
    .await
}

/// `make_interval` takes the days as an `int`.
pub(super) fn days(stale_days: u32) -> i32 {
    i32::try_from(stale_days).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_count_people_not_cancelled_and_overflow() {
        let people = People {
            people: 12,
            people_confirmed: 5,
            people_pending: 2,
            people_new: 2,
            people_cancelled: 2,
            people_unknown: 1,
        };
        assert_eq!(people.taken(), 10);
        assert_eq!(people.over_capacity(Some(8)), 2);
        assert_eq!(people.over_capacity(Some(10)), 0);
        assert_eq!(people.over_capacity(None), 0);
        assert_eq!(people.fill_percent(Some(8)), Some(100));
        assert_eq!(people.fill_percent(Some(40)), Some(25));
        assert_eq!(people.fill_percent(None), None);
    }
}
