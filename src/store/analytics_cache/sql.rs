//! The cache's statements. Every one binds `$1`, the school's zone name, for
//! its day buckets; the incremental ones `$2`, where the last read stopped
//! (a bound value, not a sub-select, so the planner sees how few rows lie
//! beyond it and uses the index). Table and column names come from fixed
//! constants, never from input.

/// Folds the rows of `new` (`user_id`, `at`) into first appearances (and
/// their school day); returns whether each person was new.
const FIRST_SEEN_UPSERT: &str = "\
INSERT INTO analytics_first_seen AS f (user_id, first_seen_at, first_day)
SELECT user_id, min(at), (min(at) AT TIME ZONE $1)::date FROM new GROUP BY user_id
ON CONFLICT (user_id) DO UPDATE
SET first_seen_at = excluded.first_seen_at, first_day = excluded.first_day
WHERE excluded.first_seen_at < f.first_seen_at
   OR (f.first_seen_at IS NULL AND excluded.first_seen_at IS NOT NULL)
RETURNING (xmax = 0) AS inserted";

/// The CTEs every serial-id table shares: `new` the rows past its
/// watermark `$2` plus the pending ids that have appeared, `top` the new
/// watermark, `gaps` the ids up to it that are not visible (the newest
/// 1000), the pending bookkeeping, and `fs` the first appearances.
/// `columns` are extra columns of `new`, each `, expression AS name`.
pub fn incremental(source: &str, table: &str, at: &str, columns: &str) -> String {
    format!(
        "w AS (SELECT $2::bigint AS id), \
         new AS MATERIALIZED ( \
           SELECT t.id, t.user_id, t.{at} AS at{columns} FROM {table} t \
           WHERE t.id > $2 \
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

/// The rows of `new` per school day added to `analytics_daily` under `source`.
pub fn daily(source: &str) -> String {
    format!(
        "daily AS ( \
           INSERT INTO analytics_daily AS d (source, day, total) \
           SELECT '{source}', (at AT TIME ZONE $1)::date, count(*) FROM new \
           WHERE at IS NOT NULL GROUP BY 2 \
           ON CONFLICT (source, day) DO UPDATE SET total = d.total + excluded.total)"
    )
}

/// The lesson types of `{events}`' lesson-link clicks, for `user_id`.
fn clicked(events: &str, user: &str) -> String {
    format!(
        "coalesce((SELECT array_agg(DISTINCT c.details->>'lesson_type' ORDER BY c.details->>'lesson_type') \
                   FROM {events} c WHERE c.user_id = {user} AND c.event_type = 'lesson_link_clicked' \
                     AND c.details->>'lesson_type' IS NOT NULL), '{{}}')"
    )
}

/// Everything from scratch, in one statement (one snapshot); the
/// watermarks are the highest ids it saw, and the invisible ids among the
/// last 1000 of each table are pending.
pub fn build() -> String {
    let clicked = clicked("events", "r.user_id");
    format!(
        "\
WITH mx AS (
    SELECT (SELECT coalesce(max(id), 0) FROM events) AS events_id,
           (SELECT coalesce(max(id), 0) FROM bookings) AS bookings_id,
           (SELECT coalesce(max(id), 0) FROM free_lesson_registrations) AS free_lessons_id,
           (SELECT coalesce(max(id), 0) FROM hackathon_registrations) AS hackathon_id),
fs AS (
    INSERT INTO analytics_first_seen (user_id, first_seen_at, first_day)
    SELECT user_id, min(at), (min(at) AT TIME ZONE $1)::date FROM (
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
daily AS (
    INSERT INTO analytics_daily (source, day, total)
    SELECT 'bookings', (created_at AT TIME ZONE $1)::date, count(*) FROM bookings
    WHERE created_at IS NOT NULL GROUP BY 2
    UNION ALL
    SELECT 'free_lessons', (registered_at AT TIME ZONE $1)::date, count(*) FROM free_lesson_registrations
    WHERE registered_at IS NOT NULL GROUP BY 2),
rg AS (
    INSERT INTO analytics_registrants (user_id, first_registered_at, clicked)
    SELECT r.user_id, r.since, {clicked} FROM (
        SELECT user_id,
               CASE WHEN bool_or(registered_at IS NULL) THEN NULL ELSE min(registered_at) END AS since
        FROM free_lesson_registrations GROUP BY user_id) r
    RETURNING 1),
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
INSERT INTO analytics_state (time_zone, built_at, synced_at, people, registrants, free_lessons,
                             events_id, bookings_id, free_lessons_id, hackathon_id, users_since)
SELECT $1, now(), now(), (SELECT count(*) FROM fs), (SELECT count(*) FROM rg),
       (SELECT count(*) FROM free_lesson_registrations), events_id, bookings_id, free_lessons_id,
       hackathon_id, (statement_timestamp() AT TIME ZONE 'UTC') - interval '10 minutes'
FROM mx"
    )
}

/// `users` rows added or touched since `$2` (`users_since`); it moves to 10
/// minutes before this read, so rows of transactions still open now are read
/// next time.
pub fn users() -> String {
    format!(
        "\
WITH new AS (
    SELECT user_id, first_seen_at AT TIME ZONE 'UTC' AS at FROM users
    WHERE updated_at >= $2 OR first_seen_at >= $2),
fs AS ({FIRST_SEEN_UPSERT})
UPDATE analytics_state
SET users_since = (statement_timestamp() AT TIME ZONE 'UTC') - interval '10 minutes',
    people = people + (SELECT count(*) FROM fs WHERE inserted)"
    )
}

/// New registrants from `new`, with their lesson-link clicks and their
/// events per day so far: those up to the events watermark that are not
/// pending (the events statement counts the others once it reads them). An
/// undated registration makes the registrant count on any day
/// (`first_registered_at` NULL).
pub fn registrants() -> String {
    let clicked = clicked("events", "n.user_id");
    format!(
        "\
rg AS (
    INSERT INTO analytics_registrants AS r (user_id, first_registered_at, clicked)
    SELECT n.user_id, n.since, {clicked} FROM (
        SELECT user_id, CASE WHEN bool_or(at IS NULL) THEN NULL ELSE min(at) END AS since
        FROM new GROUP BY user_id) n
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
    ON CONFLICT (day, user_id) DO UPDATE SET events = d.events + excluded.events)"
    )
}

/// New events into the per-day counts; registrants' into their lead days
/// and their clicked lesson types (a set: reading a click twice is harmless).
pub const EVENTS: &str = "\
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
    ON CONFLICT (day, user_id) DO UPDATE SET events = d.events + excluded.events),
ck AS (
    UPDATE analytics_registrants r
    SET clicked = ARRAY(SELECT DISTINCT t FROM unnest(r.clicked || c.types) t ORDER BY t)
    FROM (SELECT user_id, array_agg(DISTINCT lesson_type) AS types FROM new
          WHERE lesson_type IS NOT NULL GROUP BY user_id) c
    WHERE r.user_id = c.user_id AND NOT c.types <@ r.clicked)";
