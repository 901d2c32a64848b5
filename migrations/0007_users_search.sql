-- The users list's search: a case-insensitive substring of a first name,
-- last name or username, in `users` and in the name snapshots of the other
-- bot tables. `lower(column) LIKE '%…%'` can use a trigram index (pg_trgm, in
-- PostgreSQL's contrib and a trusted extension since 13, so the database
-- owner may create it); without one every search reads whole tables. On
-- `lower(…)` rather than `ILIKE` on the column: rechecking ILIKE on Cyrillic
-- names costs ~5 µs a row (it folds the pattern again each time), which made
-- a search for a common first name 30 ms slower. Only indexes are added
-- to bot tables, prefixed `hsl_`; no bot column changes. Plain CREATE INDEX,
-- as in 0003: on first adoption each build briefly blocks the bot's writes
-- to that table.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE INDEX IF NOT EXISTS hsl_users_first_name_trgm ON users USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS hsl_users_last_name_trgm ON users USING gin (lower(last_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS hsl_users_username_trgm ON users USING gin (lower(username) gin_trgm_ops);

CREATE INDEX IF NOT EXISTS hsl_bookings_first_name_trgm ON bookings USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS hsl_bookings_username_trgm ON bookings USING gin (lower(username) gin_trgm_ops);

CREATE INDEX IF NOT EXISTS hsl_free_lesson_registrations_first_name_trgm
    ON free_lesson_registrations USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS hsl_free_lesson_registrations_username_trgm
    ON free_lesson_registrations USING gin (lower(username) gin_trgm_ops);

CREATE INDEX IF NOT EXISTS hsl_hackathon_registrations_first_name_trgm
    ON hackathon_registrations USING gin (lower(first_name) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS hsl_hackathon_registrations_username_trgm
    ON hackathon_registrations USING gin (lower(username) gin_trgm_ops);

-- Events carry names in `details` only now and then: partial indexes keep
-- them small (the search's conditions repeat the predicates).
CREATE INDEX IF NOT EXISTS hsl_events_details_username_trgm
    ON events USING gin (lower(details->>'username') gin_trgm_ops) WHERE details ? 'username';
CREATE INDEX IF NOT EXISTS hsl_events_details_first_name_trgm
    ON events USING gin (lower(details->>'first_name') gin_trgm_ops) WHERE details ? 'first_name';

-- The stream filter: a stream's bookers.
CREATE INDEX IF NOT EXISTS hsl_bookings_course_stream_user_id ON bookings (course_stream, user_id);
