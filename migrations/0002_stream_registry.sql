-- The dashboard's stream registry: which course streams (cohorts) exist, how
-- they are named and when they start. bookings.course_stream holds the code.
-- Streams found in bookings but missing here are shown as unregistered.

-- The registry refers to course 1; make sure it exists (the bot normally
-- created it already, in which case nothing changes).
INSERT INTO courses (id, name, button_text)
VALUES (1, 'Вайб кодинг', 'Вайб кодинг')
ON CONFLICT (id) DO NOTHING;

-- An explicit id bypasses the serial sequence; move it past the highest id so
-- the bot's next INSERT cannot collide. Never move it backwards.
DO $$
DECLARE
    seq TEXT := pg_get_serial_sequence('courses', 'id');
    seq_last BIGINT;
    seq_called BOOLEAN;
    max_id BIGINT;
BEGIN
    SELECT max(id) INTO max_id FROM courses;
    EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO seq_last, seq_called;
    IF max_id IS NOT NULL AND (NOT seq_called OR max_id > seq_last) THEN
        PERFORM setval(seq, max_id, true);
    END IF;
END
$$;

CREATE TABLE stream_registry (
    code VARCHAR(50) PRIMARY KEY
        CONSTRAINT stream_registry_code_format CHECK (code ~ '^[A-Za-z0-9_-]+$'),
    course_id INTEGER NOT NULL REFERENCES courses (id),
    display_name TEXT NOT NULL
        CONSTRAINT stream_registry_display_name_length
        CHECK (char_length(btrim(display_name)) BETWEEN 1 AND 100),
    starts_on DATE,
    capacity INTEGER CONSTRAINT stream_registry_capacity_positive CHECK (capacity > 0),
    is_current BOOLEAN NOT NULL DEFAULT FALSE,
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT stream_registry_current_not_archived CHECK (NOT (is_current AND archived))
);

-- At most one current intake per course.
CREATE UNIQUE INDEX stream_registry_one_current_per_course
    ON stream_registry (course_id) WHERE is_current;

INSERT INTO stream_registry (code, course_id, display_name, is_current) VALUES
    ('3rd_stream', 1, '3-й поток', FALSE),
    ('4th_stream', 1, '4-й поток', FALSE),
    ('5th_stream', 1, '5-й поток', FALSE),
    ('6th_stream', 1, '6-й поток', FALSE),
    ('7th_stream', 1, '7-й поток', FALSE),
    ('8th_stream', 1, '8-й поток', TRUE),
    ('mentoring', 1, 'Менторинг', FALSE)
ON CONFLICT (code) DO NOTHING;
