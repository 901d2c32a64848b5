//! Lead scores: every free-lesson registrant (one row per person), by their
//! events over a week of school days, read from the analytics cache's
//! per-registrant day counts (`analytics_lead_days`: a week is one index
//! range). Call [`analytics_cache::refresh`](super::analytics_cache::refresh)
//! first.
//!
//! Only registrants with at least the cool tier's events can be warmer than
//! cold; they are summed once per request and tiered, counted and ordered
//! here by [`Tier::of`]. The cold — everyone else — are counted by
//! subtraction and listed by SQL only when a page reaches them.

use std::cmp::Reverse;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use sqlx::PgPool;

use super::person_names;
use crate::domain::analytics::{DateRange, Tier, bounds};

/// A week of school days and who counts as a registrant in it: people who
/// registered before its end (or on a registration without a date).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub end: DateTime<Utc>,
}

impl Window {
    pub fn new(week: &DateRange, tz: Tz) -> Self {
        Self {
            from: week.from(),
            to: week.to(),
            end: bounds(week, tz).1,
        }
    }
}

/// How many registrants each tier has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TierCounts {
    pub hot: i64,
    pub warm: i64,
    pub cool: i64,
    pub cold: i64,
}

impl TierCounts {
    pub fn get(&self, tier: Tier) -> i64 {
        match tier {
            Tier::Hot => self.hot,
            Tier::Warm => self.warm,
            Tier::Cool => self.cool,
            Tier::Cold => self.cold,
        }
    }

    pub fn total(&self) -> i64 {
        self.hot + self.warm + self.cool + self.cold
    }
}

/// A registrant's week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Score {
    pub user_id: i64,
    pub events: i64,
    pub active_days: i64,
    /// The last day of the week with an event.
    pub last_day: Option<NaiveDate>,
}

impl Score {
    pub fn tier(&self) -> Tier {
        Tier::of(self.events, self.active_days)
    }

    /// Hottest first: tier, events, active days, last active day (newest
    /// first, none last), then by id.
    fn order(&self) -> impl Ord + use<> {
        (
            self.tier(),
            Reverse(self.events),
            Reverse(self.active_days),
            Reverse(self.last_day),
            self.user_id,
        )
    }
}

/// The week's scores: every registrant warmer than cold, in order, and the
/// count of each tier.
#[derive(Debug, Clone)]
pub struct Board {
    pub window: Window,
    pub counts: TierCounts,
    warmer: Vec<Score>,
}

/// The week's events per registrant, summed once: those with at least the
/// cool tier's events (`$3`) who registered before the week's end (`$4`).
#[tracing::instrument(skip(pool))]
pub async fn board(pool: &PgPool, window: &Window) -> sqlx::Result<Board> {
    let cool = Tier::THRESHOLDS[2].0;
    let mut warmer: Vec<Score> = sqlx::query_as(
        "SELECT a.user_id, a.events, a.active_days, a.last_day FROM ( \
             SELECT user_id, sum(events)::bigint AS events, count(*) AS active_days, \
                    max(day) AS last_day \
             FROM analytics_lead_days WHERE day BETWEEN $1 AND $2 \
             GROUP BY user_id HAVING sum(events) >= $3) a \
         WHERE NOT EXISTS (SELECT 1 FROM analytics_registrants r \
                           WHERE r.user_id = a.user_id AND r.first_registered_at >= $4)",
    )
    .bind(window.from)
    .bind(window.to)
    .bind(cool)
    .bind(window.end)
    .fetch_all(pool)
    .await?;
    // Everyone registered so far, less those who registered after the week.
    let registrants: i64 = sqlx::query_scalar(
        "SELECT (SELECT registrants FROM analytics_state) \
              - (SELECT count(*) FROM analytics_registrants WHERE first_registered_at >= $1)",
    )
    .bind(window.end)
    .fetch_one(pool)
    .await?;
    warmer.sort_by_key(Score::order);
    let mut counts = TierCounts::default();
    for score in &warmer {
        match score.tier() {
            Tier::Hot => counts.hot += 1,
            Tier::Warm => counts.warm += 1,
            Tier::Cool | Tier::Cold => counts.cool += 1,
        }
    }
    counts.cold = registrants - warmer.len() as i64;
    Ok(Board {
        window: *window,
        counts,
        warmer,
    })
}

/// One registrant with their score and what the list shows of them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Lead {
    #[sqlx(flatten)]
    pub score: Score,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// From their newest registration.
    pub email: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    /// Every lesson type they registered for, by code.
    pub lesson_types: Vec<String>,
}

impl Lead {
    pub fn tier(&self) -> Tier {
        self.score.tier()
    }
}

/// Registrants of `tier` (all when `None`), hottest first; `limit` `None`
/// means all.
#[tracing::instrument(skip(pool, board))]
pub async fn list(
    pool: &PgPool,
    board: &Board,
    tier: Option<Tier>,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<Lead>> {
    let take = |scores: Vec<&Score>, offset: i64, limit: Option<i64>| -> Vec<Score> {
        let limit = limit.map_or(usize::MAX, |limit| limit as usize);
        scores
            .into_iter()
            .skip(offset as usize)
            .take(limit)
            .copied()
            .collect()
    };
    let mut scores = match tier {
        Some(Tier::Cold) => Vec::new(),
        Some(tier) => take(
            board.warmer.iter().filter(|s| s.tier() == tier).collect(),
            offset,
            limit,
        ),
        None => take(board.warmer.iter().collect(), offset, limit),
    };
    let warmer = board.warmer.len() as i64;
    let cold_offset = match tier {
        Some(Tier::Cold) => Some(offset),
        None if limit.is_none_or(|limit| (scores.len() as i64) < limit) => {
            Some((offset - warmer).max(0))
        }
        _ => None,
    };
    if let Some(cold_offset) = cold_offset {
        let wanted = limit.map(|limit| limit - scores.len() as i64);
        scores.extend(cold(pool, &board.window, wanted, cold_offset).await?);
    }
    details(pool, &board.window, &scores).await
}

/// The `limit` hottest registrants that are not cold (no cold query).
#[tracing::instrument(skip(pool, board))]
pub async fn warmest(pool: &PgPool, board: &Board, limit: usize) -> sqlx::Result<Vec<Lead>> {
    let scores: Vec<Score> = board.warmer.iter().take(limit).copied().collect();
    details(pool, &board.window, &scores).await
}

/// Cold registrants (fewer events than the cool tier's), in order.
async fn cold(
    pool: &PgPool,
    window: &Window,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<Score>> {
    sqlx::query_as(
        "SELECT r.user_id, coalesce(a.events, 0) AS events, \
                coalesce(a.active_days, 0) AS active_days, a.last_day \
         FROM analytics_registrants r \
         LEFT JOIN (SELECT user_id, sum(events)::bigint AS events, count(*) AS active_days, \
                           max(day) AS last_day \
                    FROM analytics_lead_days WHERE day BETWEEN $1 AND $2 GROUP BY user_id) a \
                ON a.user_id = r.user_id \
         WHERE (r.first_registered_at IS NULL OR r.first_registered_at < $4) \
           AND coalesce(a.events, 0) < $3 \
         ORDER BY events DESC, active_days DESC, a.last_day DESC NULLS LAST, r.user_id \
         LIMIT $5 OFFSET $6",
    )
    .bind(window.from)
    .bind(window.to)
    .bind(Tier::THRESHOLDS[2].0)
    .bind(window.end)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}

/// Names, newest e-mail and lesson types of `scores`' people (registrations
/// up to the week's end), in the same order.
async fn details(pool: &PgPool, window: &Window, scores: &[Score]) -> sqlx::Result<Vec<Lead>> {
    if scores.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: fn(&Score) -> i64| scores.iter().map(f).collect::<Vec<i64>>();
    let days: Vec<Option<NaiveDate>> = scores.iter().map(|s| s.last_day).collect();
    let joins = person_names::joins("p");
    let columns = person_names::COLUMNS;
    // Set-based, not a lookup per row: the CSV asks for every registrant.
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "WITH p AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::date[]) \
                    WITH ORDINALITY AS p(user_id, events, active_days, last_day, n)), \
         regs AS (SELECT f.id, f.user_id, f.email, f.registered_at, f.lesson_type::text AS lesson_type \
                  FROM free_lesson_registrations f \
                  WHERE f.user_id IN (SELECT user_id FROM p) \
                    AND (f.registered_at IS NULL OR f.registered_at < $5)), \
         lr AS (SELECT DISTINCT ON (user_id) user_id, email, registered_at FROM regs \
                ORDER BY user_id, registered_at DESC NULLS LAST, id DESC), \
         lt AS (SELECT user_id, array_agg(DISTINCT lesson_type ORDER BY lesson_type) \
                                  FILTER (WHERE lesson_type IS NOT NULL) AS lesson_types \
                FROM regs GROUP BY user_id) \
         SELECT p.user_id, p.events, p.active_days, p.last_day, {columns}, \
                lr.email, lr.registered_at, coalesce(lt.lesson_types, '{{}}') AS lesson_types \
         FROM p {joins} \
         LEFT JOIN lr ON lr.user_id = p.user_id \
         LEFT JOIN lt ON lt.user_id = p.user_id \
         ORDER BY p.n"
    )))
    .bind(column(|s| s.user_id))
    .bind(column(|s| s.events))
    .bind(column(|s| s.active_days))
    .bind(days)
    .bind(window.end)
    .fetch_all(pool)
    .await
}
