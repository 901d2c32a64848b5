-- The stream page's viewers of the current intake match `view_program`
-- events on `details->>'course_id'`. PostgreSQL keeps statistics for an
-- expression only when a (non-partial) index is on it; without them it
-- guesses that a handful of events match and picks a nested-loop anti-join
-- against bookings, ~2.5× slower than the hash anti-join it chooses with
-- them (200 000-person demo data: 190 ms → 78 ms). Only an index is added:
-- no bot column changes. Plain CREATE INDEX, as in 0003: on first adoption
-- it briefly blocks the bot's writes to `events` (about a second per million
-- rows).
CREATE INDEX IF NOT EXISTS hsl_events_details_course_id ON events ((details->>'course_id'));
