//! The analytics cache (tables `analytics_*`, see migration 0010): every
//! person's first appearance, events per school day and type, registrants and
//! their events per day. Built from everything once, then brought up to date
//! by [`refresh`] before each analytics read, from the bot rows added since.
//!
//! Why it stays exact (docs/analytics.md says it for staff):
//! - Tables with a serial id are read by id, not by time, so a row written
//!   with an old timestamp is still caught. Ids at or below a table's
//!   watermark that were not visible when it advanced (a transaction still
//!   open, or rolled back) are kept in `analytics_pending` and looked up again
//!   for an hour; each row is counted once, when it first becomes visible.
//! - Each table is read by one statement (one snapshot) that also moves its
//!   watermark, and refreshes are serialised by an advisory lock, so two
//!   replicas never count a row twice.
//! - `users` has no serial id: rows with `updated_at` or `first_seen_at` in
//!   the last 10 minutes before the previous read are read again; a first
//!   appearance only ever moves earlier, so reading a row twice is harmless.
//! - A different `SCHOOL_TIMEZONE` than the one the day buckets were made for
//!   rebuilds everything, as does `hsl-dashboard rebuild-analytics`.

use chrono_tz::Tz;
use sqlx::{Connection, PgConnection, PgPool};

/// Serialises refreshes across every process sharing the database.
const LOCK_KEY: i64 = 0x4853_4c5f_414e_4c59; // "HSL_ANLY"

/// The bot tables read by serial id: (source name, table, timestamp
/// expression, watermark column of `analytics_state`). Fixed identifiers,
/// never user input.
const FIRST_SEEN_SOURCES: [(&str, &str, &str, &str); 2] = [
    ("bookings", "bookings", "created_at", "bookings_id"),
    (
        "hackathon",
        "hackathon_registrations",
        "registered_at",
        "hackathon_id",
    ),
];

/// Rows of `new` (columns `user_id`, `at`) folded into the first
/// appearances; returns whether each person was new.
const FIRST_SEEN_UPSERT: &str = "INSERT INTO analytics_first_seen AS f (user_id, first_seen_at) \
       SELECT user_id, min(at) FROM new GROUP BY user_id \
     ON CONFLICT (user_id) DO UPDATE SET first_seen_at = excluded.first_seen_at \
       WHERE excluded.first_seen_at < f.first_seen_at \
          OR (f.first_seen_at IS NULL AND excluded.first_seen_at IS NOT NULL) \
     RETURNING (xmax = 0) AS inserted";

/// The CTEs every serial-id source shares: `w` its watermark, `new` the rows
/// past it plus the pending ids that have appeared, `top` the new watermark,
/// `gaps` the ids up to it that are not visible (the newest 1000), and the
/// pending bookkeeping. `{columns}` are the extra columns `new` carries.
fn incremental(source: &str, table: &str, at: &str, watermark: &str, columns: &str) -> String {
    format!(
        "w AS (SELECT {watermark} AS id FROM analytics_state), \
         new AS MATERIALIZED ( \
           SELECT t.id, t.user_id, t.{at} AS at{columns} FROM {table} t WHERE t.id > (SELECT id FROM w) \
           UNION ALL \
           SELECT t.id, t.user_id, t.{at}{columns} FROM {table} t \
           WHERE t.id IN (SELECT id FROM analytics_pending WHERE source = '{source}')), \
         top AS (SELECT GREATEST((SELECT id FROM w), (SELECT coalesce(max(id), 0) FROM new)) AS id), \
         gaps AS (SELECT g AS id FROM generate_series((SELECT id FROM w) + 1, (SELECT id FROM top)) g \
                  WHERE NOT EXISTS (SELECT 1 FROM new WHERE new.id = g) \
                  ORDER BY g DESC LIMIT 1000), \
         seen AS (DELETE FROM analytics_pending p WHERE p.source = '{source}' \
                  AND (p.id IN (SELECT id FROM new) OR p.noticed_at < now() - interval '1 hour')), \
         waiting AS (INSERT INTO analytics_pending (source, id) SELECT '{source}', id FROM gaps), \
         fs AS ({FIRST_SEEN_UPSERT})"
    )
}

/// Brings the cache up to date (building it first when it was never built
/// or was built for another zone). Runs in its own task, so a client that
/// hangs up mid-way cannot leave a half-done refresh holding the lock.
#[tracing::instrument(skip_all)]
pub async fn refresh(pool: &PgPool, tz: Tz) -> sqlx::Result<()> {
    let pool = pool.clone();
    match tokio::spawn(async move {
        let mut conn = pool.acquire().await?;
        refresh_on(&mut conn, tz, false).await
    })
    .await
    {
        Ok(result) => result,
        Err(join) => Err(sqlx::Error::Protocol(format!(
            "analytics refresh task failed: {join}"
        ))),
    }
}

/// Rebuilds the whole cache from the bot tables (after the bot deleted or
/// rewrote old rows, which the incremental reads cannot see).
pub async fn rebuild(conn: &mut PgConnection, tz: Tz) -> sqlx::Result<()> {
    refresh_on(conn, tz, true).await
}

async fn refresh_on(conn: &mut PgConnection, tz: Tz, force: bool) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let built_for: Option<String> = sqlx::query_scalar("SELECT time_zone FROM analytics_state")
        .fetch_optional(&mut *tx)
        .await?;
    if force || built_for.as_deref() != Some(tz.name()) {
        tracing::info!(zone = tz.name(), "building the analytics cache");
        build(&mut tx, tz).await?;
    } else {
        sync(&mut tx, tz).await?;
    }
    tx.commit().await
}

/// Everything from scratch, in one statement (one snapshot) after emptying
/// the tables; the watermarks are the highest ids that statement saw.
async fn build(conn: &mut PgConnection, tz: Tz) -> sqlx::Result<()> {
    // A first build over millions of rows may outlast the pool's 30 s limit.
    sqlx::query("SET LOCAL statement_timeout = '15min'")
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "TRUNCATE analytics_state, analytics_pending, analytics_first_seen, \
                  analytics_event_days, analytics_registrants, analytics_lead_days",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(BUILD)
        .bind(tz.name())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// `$1`: the zone name.
const BUILD: &str = "\
WITH mx AS (
    SELECT (SELECT coalesce(max(id), 0) FROM events) AS events_id,
           (SELECT coalesce(max(id), 0) FROM bookings) AS bookings_id,
           (SELECT coalesce(max(id), 0) FROM free_lesson_registrations) AS free_lessons_id,
           (SELECT coalesce(max(id), 0) FROM hackathon_registrations) AS hackathon_id),
fs AS (
    INSERT INTO analytics_first_seen (user_id, first_seen_at)
    SELECT user_id, min(at) FROM (
        SELECT user_id, first_seen_at AT TIME ZONE 'UTC' AS at FROM users
        UNION ALL SELECT user_id, created_at FROM bookings
        UNION ALL SELECT user_id, created_at FROM events
        UNION ALL SELECT user_id, registered_at FROM free_lesson_registrations
        UNION ALL SELECT user_id, registered_at FROM hackathon_registrations) a
    GROUP BY user_id
    RETURNING 1),
ed AS (
    INSERT INTO analytics_event_days (day, event_type, events)
    SELECT (created_at AT TIME ZONE $1)::date, event_type, count(*) FROM events
    WHERE created_at IS NOT NULL GROUP BY 1, 2),
rg AS (
    INSERT INTO analytics_registrants (user_id, first_registered_at)
    SELECT user_id, CASE WHEN bool_or(registered_at IS NULL) THEN NULL ELSE min(registered_at) END
    FROM free_lesson_registrations GROUP BY user_id),
ld AS (
    INSERT INTO analytics_lead_days (day, user_id, events)
    SELECT (e.created_at AT TIME ZONE $1)::date, e.user_id, count(*) FROM events e
    WHERE e.created_at IS NOT NULL
      AND EXISTS (SELECT 1 FROM free_lesson_registrations r WHERE r.user_id = e.user_id)
    GROUP BY 1, 2),
gaps AS (
    INSERT INTO analytics_pending (source, id)
    SELECT 'events', g FROM mx, generate_series(greatest(mx.events_id - 999, 1), mx.events_id) g
    WHERE NOT EXISTS (SELECT 1 FROM events WHERE id = g)
    UNION ALL
    SELECT 'bookings', g FROM mx, generate_series(greatest(mx.bookings_id - 999, 1), mx.bookings_id) g
    WHERE NOT EXISTS (SELECT 1 FROM bookings WHERE id = g)
    UNION ALL
    SELECT 'free_lessons', g FROM mx,
           generate_series(greatest(mx.free_lessons_id - 999, 1), mx.free_lessons_id) g
    WHERE NOT EXISTS (SELECT 1 FROM free_lesson_registrations WHERE id = g)
    UNION ALL
    SELECT 'hackathon', g FROM mx, generate_series(greatest(mx.hackathon_id - 999, 1), mx.hackathon_id) g
    WHERE NOT EXISTS (SELECT 1 FROM hackathon_registrations WHERE id = g))
INSERT INTO analytics_state (time_zone, built_at, synced_at, people, events_id, bookings_id,
                             free_lessons_id, hackathon_id, users_since)
SELECT $1, now(), now(), (SELECT count(*) FROM fs), events_id, bookings_id, free_lessons_id,
       hackathon_id, (statement_timestamp() AT TIME ZONE 'UTC') - interval '10 minutes'
FROM mx";

/// Reads what was added since the last refresh, table by table.
async fn sync(conn: &mut PgConnection, tz: Tz) -> sqlx::Result<()> {
    for (source, table, at, watermark) in FIRST_SEEN_SOURCES {
        let cte = incremental(source, table, at, watermark, "");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "WITH {cte} \
             UPDATE analytics_state SET {watermark} = (SELECT id FROM top), \
                    people = people + (SELECT count(*) FROM fs WHERE inserted)"
        )))
        .execute(&mut *conn)
        .await?;
    }
    sqlx::query(SYNC_USERS).execute(&mut *conn).await?;
    // Registrants before events: a new registrant's earlier events are
    // counted here (ids up to the events watermark, not pending), the rest
    // by the events statement below, so none twice.
    let cte = incremental(
        "free_lessons",
        "free_lesson_registrations",
        "registered_at",
        "free_lessons_id",
        "",
    );
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH {cte}, {REGISTRANTS} \
         UPDATE analytics_state SET free_lessons_id = (SELECT id FROM top), \
                people = people + (SELECT count(*) FROM fs WHERE inserted), synced_at = now()"
    )))
    .bind(tz.name())
    .execute(&mut *conn)
    .await?;
    let cte = incremental(
        "events",
        "events",
        "created_at",
        "events_id",
        ", t.event_type",
    );
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH {cte}, {EVENT_DAYS} \
         UPDATE analytics_state SET events_id = (SELECT id FROM top), \
                people = people + (SELECT count(*) FROM fs WHERE inserted)"
    )))
    .bind(tz.name())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// `users` rows added or touched since `users_since`; it moves to 10 minutes
/// before this read, so rows of transactions still open now are read next time.
const SYNC_USERS: &str = "\
WITH new AS (
    SELECT user_id, first_seen_at AT TIME ZONE 'UTC' AS at FROM users
    WHERE updated_at >= (SELECT users_since FROM analytics_state)
       OR first_seen_at >= (SELECT users_since FROM analytics_state)),
fs AS (INSERT INTO analytics_first_seen AS f (user_id, first_seen_at)
       SELECT user_id, min(at) FROM new GROUP BY user_id
       ON CONFLICT (user_id) DO UPDATE SET first_seen_at = excluded.first_seen_at
         WHERE excluded.first_seen_at < f.first_seen_at
            OR (f.first_seen_at IS NULL AND excluded.first_seen_at IS NOT NULL)
       RETURNING (xmax = 0) AS inserted)
UPDATE analytics_state
SET users_since = (statement_timestamp() AT TIME ZONE 'UTC') - interval '10 minutes',
    people = people + (SELECT count(*) FROM fs WHERE inserted)";

/// New registrants (`$1` the zone), with their events so far: those up to
/// the events watermark that are not pending (the events statement counts
/// the others once they are read). An undated registration makes the
/// registrant count on any day (`first_registered_at` NULL).
const REGISTRANTS: &str = "\
rg AS (
    INSERT INTO analytics_registrants AS r (user_id, first_registered_at)
    SELECT user_id, CASE WHEN bool_or(at IS NULL) THEN NULL ELSE min(at) END
    FROM new GROUP BY user_id
    ON CONFLICT (user_id) DO UPDATE SET first_registered_at =
        CASE WHEN r.first_registered_at IS NULL OR excluded.first_registered_at IS NULL THEN NULL
             ELSE least(r.first_registered_at, excluded.first_registered_at) END
    RETURNING r.user_id, (xmax = 0) AS inserted),
backfill AS (
    INSERT INTO analytics_lead_days AS d (day, user_id, events)
    SELECT (e.created_at AT TIME ZONE $1)::date, e.user_id, count(*)
    FROM rg JOIN events e ON e.user_id = rg.user_id
    WHERE rg.inserted AND e.created_at IS NOT NULL
      AND e.id <= (SELECT events_id FROM analytics_state)
      AND e.id NOT IN (SELECT id FROM analytics_pending WHERE source = 'events')
    GROUP BY 1, 2
    ON CONFLICT (day, user_id) DO UPDATE SET events = d.events + excluded.events)";

/// New events (`$1` the zone) into the per-day counts, and registrants'
/// into their lead days.
const EVENT_DAYS: &str = "\
ed AS (
    INSERT INTO analytics_event_days AS d (day, event_type, events)
    SELECT (at AT TIME ZONE $1)::date, event_type, count(*) FROM new
    WHERE at IS NOT NULL GROUP BY 1, 2
    ON CONFLICT (day, event_type) DO UPDATE SET events = d.events + excluded.events),
ld AS (
    INSERT INTO analytics_lead_days AS d (day, user_id, events)
    SELECT (n.at AT TIME ZONE $1)::date, n.user_id, count(*) FROM new n
    WHERE n.at IS NOT NULL
      AND EXISTS (SELECT 1 FROM analytics_registrants r WHERE r.user_id = n.user_id)
    GROUP BY 1, 2
    ON CONFLICT (day, user_id) DO UPDATE SET events = d.events + excluded.events)";
