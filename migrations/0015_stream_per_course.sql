-- A stream belongs to a course: the bot writes the same codes (`3rd_stream`,
-- `4th_stream`) for course 1 and course 2, so the registry's key becomes
-- (course_id, code). Existing rows keep their course and code: nothing is
-- lost, only the key widens.
ALTER TABLE stream_registry DROP CONSTRAINT stream_registry_pkey;
ALTER TABLE stream_registry ADD CONSTRAINT stream_registry_pkey PRIMARY KEY (course_id, code);

-- A stream's members: each person's bookings in a (course, code) stream,
-- read from the index alone (their standing is the most advanced booking).
-- It replaces the two code-only indexes, which no query uses any more.
CREATE INDEX IF NOT EXISTS hsl_bookings_stream_member
    ON bookings (course_id, course_stream, user_id, created_at DESC, id DESC) INCLUDE (confirmed);
DROP INDEX IF EXISTS hsl_bookings_stream_user_latest;
DROP INDEX IF EXISTS hsl_bookings_course_stream_user_id;
