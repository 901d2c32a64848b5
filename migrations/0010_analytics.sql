-- The analytics cache and the indexes the analytics pages need.
--
-- Counting distinct people across every bot table, and events per school
-- day, takes a pass over a million events (0.5–0.7 s at 200 000 people):
-- too slow for a page. These dashboard-owned tables hold the results instead,
-- built once from everything and then brought up to date before each
-- analytics read by looking only at bot rows added since (by their serial
-- ids, so rows written with an old timestamp are caught too). See
-- docs/analytics.md for what stays exact and why. Bot tables only get
-- indexes (prefixed `hsl_`); no bot column changes and no triggers.

-- One row: how far the cache has read each bot table, and for which zone
-- its day buckets were made. No row means "never built".
CREATE TABLE IF NOT EXISTS analytics_state (
    id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    -- SCHOOL_TIMEZONE the day buckets use; another zone rebuilds them.
    time_zone TEXT NOT NULL,
    built_at TIMESTAMPTZ NOT NULL,
    synced_at TIMESTAMPTZ NOT NULL,
    -- Rows in analytics_first_seen: the number of distinct people; in
    -- analytics_registrants; in free_lesson_registrations.
    people BIGINT NOT NULL,
    registrants BIGINT NOT NULL,
    free_lessons BIGINT NOT NULL,
    -- The highest id read from each bot table with a serial id.
    events_id BIGINT NOT NULL,
    bookings_id BIGINT NOT NULL,
    free_lessons_id BIGINT NOT NULL,
    hackathon_id BIGINT NOT NULL,
    -- `users` has no serial id: rows updated or first seen since this
    -- (naive UTC, like the table's columns) are read again.
    users_since TIMESTAMP NOT NULL
);

-- Ids at or below a table's watermark that were not visible when it was
-- read (a transaction still open then, or rolled back): looked up again
-- until they appear, for an hour.
CREATE TABLE IF NOT EXISTS analytics_pending (
    source TEXT NOT NULL,
    id BIGINT NOT NULL,
    noticed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (source, id)
);

-- Every known person and their first appearance anywhere (NULL when none of
-- their rows carries a timestamp), also as a school day.
CREATE TABLE IF NOT EXISTS analytics_first_seen (
    user_id BIGINT PRIMARY KEY,
    first_seen_at TIMESTAMPTZ,
    first_day DATE
);
CREATE INDEX IF NOT EXISTS analytics_first_seen_day ON analytics_first_seen (first_day);

-- Bookings and free-lesson registrations per school day.
CREATE TABLE IF NOT EXISTS analytics_daily (
    source TEXT NOT NULL,
    day DATE NOT NULL,
    total BIGINT NOT NULL,
    PRIMARY KEY (source, day)
);

-- Events per school day and type.
CREATE TABLE IF NOT EXISTS analytics_event_days (
    day DATE NOT NULL,
    event_type TEXT NOT NULL,
    events BIGINT NOT NULL,
    PRIMARY KEY (day, event_type)
);

-- Everyone with a free-lesson registration: since when (NULL when one of
-- their registrations has no date: then they count as a registrant on any
-- day), and the lesson types whose link they clicked.
CREATE TABLE IF NOT EXISTS analytics_registrants (
    user_id BIGINT PRIMARY KEY,
    first_registered_at TIMESTAMPTZ,
    clicked TEXT[] NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS analytics_registrants_first_registered_at
    ON analytics_registrants (first_registered_at);

-- Registrants' events per school day, for lead scores (a week of them is
-- one index range).
CREATE TABLE IF NOT EXISTS analytics_lead_days (
    day DATE NOT NULL,
    user_id BIGINT NOT NULL,
    events INTEGER NOT NULL,
    PRIMARY KEY (day, user_id) INCLUDE (events)
);

-- `users` rows the bot added or touched since the last read.
CREATE INDEX IF NOT EXISTS hsl_users_updated_at ON users (updated_at);
CREATE INDEX IF NOT EXISTS hsl_users_first_seen_at ON users (first_seen_at);

-- /free-lessons lists the newest registrations first.
CREATE INDEX IF NOT EXISTS hsl_free_lesson_registrations_newest
    ON free_lesson_registrations (registered_at DESC NULLS LAST, id DESC);

-- /free-lessons searches e-mails as a case-insensitive substring, like names
-- (pg_trgm comes from 0007).
CREATE INDEX IF NOT EXISTS hsl_free_lesson_registrations_email_trgm
    ON free_lesson_registrations USING gin (lower(email) gin_trgm_ops);
