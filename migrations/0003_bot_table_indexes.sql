-- Indexes the dashboard's queries need on the bot's tables. Ours are prefixed
-- `hsl_` so they are easy to tell from the bot's. Only indexes are added: no
-- bot column is dropped, renamed or retyped.
--
-- Plain CREATE INDEX (not CONCURRENTLY) because migrations run in a
-- transaction: on first adoption each build briefly blocks the bot's writes
-- to that table (seconds for a million rows); later runs skip them.

-- Latest bookings (newest first, ties by id) and per-user lookups.
CREATE INDEX IF NOT EXISTS hsl_bookings_created_at_id ON bookings (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS hsl_bookings_user_id ON bookings (user_id, created_at DESC);
-- Per-stream statistics.
CREATE INDEX IF NOT EXISTS hsl_bookings_course_stream_status
    ON bookings (course_id, course_stream, confirmed);

-- A user's timeline, recent activity and per-type analytics.
CREATE INDEX IF NOT EXISTS hsl_events_user_id_created_at ON events (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS hsl_events_created_at ON events (created_at);
CREATE INDEX IF NOT EXISTS hsl_events_event_type_created_at ON events (event_type, created_at);

CREATE INDEX IF NOT EXISTS hsl_free_lesson_registrations_user_id
    ON free_lesson_registrations (user_id);
CREATE INDEX IF NOT EXISTS hsl_free_lesson_registrations_registered_at
    ON free_lesson_registrations (registered_at);
CREATE INDEX IF NOT EXISTS hsl_hackathon_registrations_user_id
    ON hackathon_registrations (user_id);
CREATE INDEX IF NOT EXISTS hsl_hackathon_registrations_registered_at
    ON hackathon_registrations (registered_at);
