//! Lead scores: every free-lesson registrant (one row per person), by their
//! events over a week of school days, read from the analytics cache's
//! per-registrant day counts (`analytics_lead_days`: a week is one index
//! range). Call [`analytics_cache::refresh`](super::analytics_cache::refresh)
//! first. Tier thresholds come from [`Tier::THRESHOLDS`], bound as parameters.

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

    /// Everyone but the cold: the list's first part.
    fn warmer(&self) -> i64 {
        self.hot + self.warm + self.cool
    }
}

/// `act`: each registrant's events, active days and last active day in the
/// window `$1`..`$2` who registered before `$3`, with `tier` (0 hot, 1
/// warm, 2 cool, 3 cold) by thresholds `$4`..`$8`. With `warm_only`, only
/// people with at least the cool tier's events (one index range over the
/// week); otherwise every registrant.
fn scored(warm_only: bool) -> String {
    let days = "SELECT user_id, sum(events)::bigint AS events, count(*) AS active_days, \
                       max(day) AS last_day \
                FROM analytics_lead_days WHERE day BETWEEN $1 AND $2 GROUP BY user_id";
    let people = if warm_only {
        format!("({days} HAVING sum(events) >= $8) a JOIN analytics_registrants r USING (user_id)")
    } else {
        format!("analytics_registrants r LEFT JOIN ({days}) a USING (user_id)")
    };
    format!(
        "act AS ( \
           SELECT user_id, coalesce(a.events, 0) AS events, \
                  coalesce(a.active_days, 0) AS active_days, a.last_day, \
                  CASE WHEN a.events >= $4 AND a.active_days >= $5 THEN 0 \
                       WHEN a.events >= $6 AND a.active_days >= $7 THEN 1 \
                       WHEN a.events >= $8 THEN 2 ELSE 3 END AS tier \
           FROM {people} \
           WHERE r.first_registered_at IS NULL OR r.first_registered_at < $3)"
    )
}

fn bind_window<'q, O>(
    query: sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments>,
    window: &Window,
) -> sqlx::query::QueryAs<'q, sqlx::Postgres, O, sqlx::postgres::PgArguments> {
    let [hot, warm, cool] = Tier::THRESHOLDS;
    query
        .bind(window.from)
        .bind(window.to)
        .bind(window.end)
        .bind(hot.0)
        .bind(hot.1)
        .bind(warm.0)
        .bind(warm.1)
        .bind(cool.0)
}

/// Registrants per tier.
#[tracing::instrument(skip(pool))]
pub async fn tier_counts(pool: &PgPool, window: &Window) -> sqlx::Result<TierCounts> {
    let scored = scored(true);
    let (hot, warm, cool, registrants): (i64, i64, i64, i64) = bind_window(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH {scored} \
             SELECT count(*) FILTER (WHERE tier = 0), count(*) FILTER (WHERE tier = 1), \
                    count(*) FILTER (WHERE tier = 2), \
                    (SELECT count(*) FROM analytics_registrants \
                     WHERE first_registered_at IS NULL OR first_registered_at < $3) \
             FROM act"
        ))),
        window,
    )
    .fetch_one(pool)
    .await?;
    Ok(TierCounts {
        hot,
        warm,
        cool,
        cold: registrants - hot - warm - cool,
    })
}

/// One registrant with their score and what the list shows of them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Lead {
    pub user_id: i64,
    pub events: i64,
    pub active_days: i64,
    /// The last day in the window with an event.
    pub last_day: Option<NaiveDate>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// From their newest registration.
    pub email: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    /// Every lesson type they registered for, by name.
    pub lesson_types: Vec<String>,
}

impl Lead {
    pub fn tier(&self) -> Tier {
        Tier::of(self.events, self.active_days)
    }
}

/// Registrants of `tier` (all when `None`), hottest first: by tier, then
/// events, active days and last active day, newest first, then by id.
/// `limit` `None` means all.
#[tracing::instrument(skip(pool, counts))]
pub async fn list(
    pool: &PgPool,
    window: &Window,
    counts: &TierCounts,
    tier: Option<Tier>,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<Lead>> {
    match tier {
        Some(tier) => part(pool, window, Some(tier), limit, offset).await,
        None => {
            // The warmer part first (one index range over the week), then the
            // cold (every registrant) only when the page reaches them.
            let warmer = counts.warmer();
            let mut rows = Vec::new();
            if offset < warmer {
                rows = part(pool, window, None, limit, offset).await?;
            }
            let wanted = limit.map(|limit| limit - rows.len() as i64);
            if wanted.is_none_or(|wanted| wanted > 0) {
                let cold_offset = (offset - warmer).max(0);
                rows.extend(part(pool, window, Some(Tier::Cold), wanted, cold_offset).await?);
            }
            Ok(rows)
        }
    }
}

/// One tier, or (`None`) hot, warm and cool together.
async fn part(
    pool: &PgPool,
    window: &Window,
    tier: Option<Tier>,
    limit: Option<i64>,
    offset: i64,
) -> sqlx::Result<Vec<Lead>> {
    let cold = tier == Some(Tier::Cold);
    let scored = scored(!cold);
    let joins = person_names::joins("p");
    let columns = person_names::COLUMNS;
    let rank = tier.map(|tier| tier as i32);
    bind_window(
        sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "WITH {scored}, \
             p AS (SELECT * FROM act WHERE ($9::int IS NULL AND tier < 3) OR tier = $9 \
                   ORDER BY tier, events DESC, active_days DESC, last_day DESC NULLS LAST, user_id \
                   LIMIT $10 OFFSET $11) \
             SELECT p.user_id, p.events, p.active_days, p.last_day, {columns}, \
                    lr.email, lr.registered_at, lt.lesson_types \
             FROM p {joins} \
             LEFT JOIN LATERAL ( \
                 SELECT email, registered_at FROM free_lesson_registrations \
                 WHERE user_id = p.user_id AND (registered_at IS NULL OR registered_at < $3) \
                 ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1) lr ON true \
             CROSS JOIN LATERAL ( \
                 SELECT coalesce(array_agg(DISTINCT lesson_type::text ORDER BY lesson_type::text) \
                                   FILTER (WHERE lesson_type IS NOT NULL), '{{}}') AS lesson_types \
                 FROM free_lesson_registrations \
                 WHERE user_id = p.user_id AND (registered_at IS NULL OR registered_at < $3)) lt \
             ORDER BY p.tier, p.events DESC, p.active_days DESC, p.last_day DESC NULLS LAST, p.user_id"
        ))),
        window,
    )
    .bind(rank)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await
}
