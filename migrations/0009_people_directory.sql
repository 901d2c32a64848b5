-- The people directory: one row per person the bot knows, with the names the
-- users list shows and the two timestamps it sorts and displays, so a search
-- is a trigram lookup in one table and a page is a top-N index read instead
-- of gathering candidates from five bot tables and probing each of them for
-- every candidate's last activity.
--
-- The bot's tables get no triggers. The server keeps the directory current
-- by itself (store::people): before each users query it reads the rows added
-- since a stored watermark per bot table (by id; `users` by updated_at) and
-- recomputes those people from `people_directory_source`.

-- What a person's directory row should be, computed from the bot's tables.
-- Who is a person: everyone in `users`, plus anyone who appears only in
-- bookings, events, free-lesson or hackathon registrations. Names: from
-- `users` when the bot has a row for them (a NULL there means they dropped
-- it), otherwise the newest snapshot elsewhere. `first_seen` and
-- `last_activity`: the oldest and newest of all their rows (with
-- `users.first_seen_at` and `users.updated_at`, naive UTC). A filter on
-- `user_id` reaches every table's user_id index, so recomputing a few
-- people is a handful of index probes each.
CREATE VIEW people_directory_source AS
SELECT a.user_id,
       CASE WHEN u.user_id IS NULL THEN s.username ELSE u.username END AS username,
       CASE WHEN u.user_id IS NULL THEN s.first_name ELSE u.first_name END AS first_name,
       u.last_name,
       u.user_id IS NOT NULL AS in_users,
       a.first_seen,
       a.last_activity
FROM (
    SELECT user_id, min(first_at) AS first_seen, max(last_at) AS last_activity
    FROM (
        SELECT user_id, first_seen_at AT TIME ZONE 'UTC' AS first_at,
               updated_at AT TIME ZONE 'UTC' AS last_at
        FROM users
        UNION ALL SELECT user_id, created_at, created_at FROM bookings
        UNION ALL SELECT user_id, created_at, created_at FROM events
        UNION ALL SELECT user_id, registered_at, registered_at FROM free_lesson_registrations
        UNION ALL SELECT user_id, registered_at, registered_at FROM hackathon_registrations
    ) rows
    GROUP BY user_id
) a
LEFT JOIN users u ON u.user_id = a.user_id
-- Only for the tenth of people without a `users` row: a LATERAL probe per
-- table instead of sorting every snapshot in the database.
LEFT JOIN LATERAL (
    SELECT x.username, x.first_name
    FROM (
        (SELECT username, first_name, created_at AS at, 1 AS source FROM bookings
          WHERE user_id = a.user_id AND (username IS NOT NULL OR first_name IS NOT NULL)
          ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1)
        UNION ALL
        (SELECT username, first_name, registered_at, 2 FROM free_lesson_registrations
          WHERE user_id = a.user_id AND (username IS NOT NULL OR first_name IS NOT NULL)
          ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1)
        UNION ALL
        (SELECT username, first_name, registered_at, 3 FROM hackathon_registrations
          WHERE user_id = a.user_id AND (username IS NOT NULL OR first_name IS NOT NULL)
          ORDER BY registered_at DESC NULLS LAST, id DESC LIMIT 1)
        UNION ALL
        (SELECT details->>'username', details->>'first_name', created_at, 4 FROM events
          WHERE user_id = a.user_id AND (details ? 'username' OR details ? 'first_name')
          ORDER BY created_at DESC NULLS LAST, id DESC LIMIT 1)
    ) x
    WHERE u.user_id IS NULL
    ORDER BY x.at DESC NULLS LAST, x.source
    LIMIT 1
) s ON true;

CREATE TABLE people_directory (
    user_id BIGINT PRIMARY KEY,
    username TEXT,
    first_name TEXT,
    last_name TEXT,
    in_users BOOLEAN NOT NULL,
    first_seen TIMESTAMPTZ,
    last_activity TIMESTAMPTZ
);

-- Where the catch-up has got to in each bot table. `safe`: every row at or
-- below it is in the directory (NULL: nothing read yet, read everything).
-- `pending`/`pending_at`: the newest position seen and when; it becomes
-- `safe` only once a later catch-up runs a full overlap window after
-- `pending_at`, so a bot transaction that took a lower id (or an earlier
-- updated_at) but committed late is still read. Positions are ids, and for
-- `users` microseconds since the epoch of `updated_at`. `read_snapshot`:
-- the snapshot of a read after which every row above `safe` it could see
-- was in the directory, so the rows the overlap window reads again and
-- that snapshot saw already are skipped instead of recomputed.
CREATE TABLE people_directory_sync (
    source TEXT PRIMARY KEY
        CHECK (source IN ('users', 'bookings', 'events', 'free_lesson_registrations',
                          'hackathon_registrations')),
    safe BIGINT,
    pending BIGINT,
    pending_at TIMESTAMPTZ,
    read_snapshot TEXT,
    CHECK ((pending IS NULL) = (pending_at IS NULL))
);

-- The catch-up reads `users` rows changed since its watermark.
CREATE INDEX IF NOT EXISTS hsl_users_updated_at ON users (updated_at);
-- The users list's booking filters stay on the live bookings (their status
-- changes in place): a person's latest booking, overall or in a stream, is
-- the first entry of their range here, and counting everyone's latest
-- booking by status is a read of the index without a sort.
CREATE INDEX IF NOT EXISTS hsl_bookings_user_latest
    ON bookings (user_id, created_at DESC, id DESC) INCLUDE (confirmed);
CREATE INDEX IF NOT EXISTS hsl_bookings_stream_user_latest
    ON bookings (course_stream, user_id, created_at DESC, id DESC) INCLUDE (confirmed);

-- A consistent starting point: SHARE mode waits for the bot's open write
-- transactions to commit and holds its new writes (a few seconds at 200 000
-- people, like the index builds of 0003 and 0007), so every id at or below
-- the maxima read here is in the fill.
LOCK TABLE users, bookings, events, free_lesson_registrations, hackathon_registrations
    IN SHARE MODE;
-- Grouping 1.4 million rows in memory rather than in batches on disk.
SET LOCAL work_mem = '64MB';

-- `users` is read by updated_at, which the bot sets to its transaction's
-- start: one blocked on the lock above started before now() and may commit
-- an updated_at older than the newest read here, so the watermark is at
-- most now() less one overlap window (as in store::people), which such a
-- transaction does not outlast. With no users rows yet it stays NULL: the
-- first catch-up reads them all, whatever their timestamps. Recorded before the fill, which then sees at
-- least what `read_snapshot` saw.
INSERT INTO people_directory_sync (source, safe, read_snapshot)
SELECT source, safe, pg_current_snapshot()::text
FROM (
    SELECT 'users' AS source,
           CASE WHEN max(updated_at) IS NOT NULL THEN
               (extract(epoch FROM least(max(updated_at),
                                         now() AT TIME ZONE 'UTC' - interval '2 minutes'))
                * 1000000)::bigint
           END AS safe
    FROM users
    UNION ALL SELECT 'bookings', max(id) FROM bookings
    UNION ALL SELECT 'events', max(id) FROM events
    UNION ALL SELECT 'free_lesson_registrations', max(id) FROM free_lesson_registrations
    UNION ALL SELECT 'hackathon_registrations', max(id) FROM hackathon_registrations
) ends;

INSERT INTO people_directory
    (user_id, username, first_name, last_name, in_users, first_seen, last_activity)
SELECT user_id, username, first_name, last_name, in_users, first_seen, last_activity
FROM people_directory_source;

-- Search: a case-insensitive substring of a shown name (as in 0007, on
-- lower() so the recheck does not fold every row's case again).
CREATE INDEX people_directory_first_name_trgm
    ON people_directory USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX people_directory_last_name_trgm
    ON people_directory USING gin (lower(last_name) gin_trgm_ops);
CREATE INDEX people_directory_username_trgm
    ON people_directory USING gin (lower(username) gin_trgm_ops);
-- The default order: a page is the first rows of this index.
CREATE INDEX people_directory_activity
    ON people_directory (last_activity DESC NULLS LAST, user_id);

ANALYZE people_directory;
