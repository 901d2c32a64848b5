-- Intake routing: the bot files every new booking under `4th_stream` (its
-- column default), so per course a rule may move the bookings it writes
-- under that code into the course's current intake (the registry's
-- `is_current` stream). The server's mover does it; nothing here touches
-- the bot's tables (no trigger, no foreign key to `bookings`, whose RI
-- triggers would fire on the bot's own writes).

CREATE TABLE intake_rules (
    course_id INTEGER PRIMARY KEY REFERENCES courses (id),
    -- The code the bot writes by default.
    source_code VARCHAR(50) NOT NULL DEFAULT '4th_stream'
        CONSTRAINT intake_rules_source_code_format CHECK (source_code ~ '^[A-Za-z0-9_-]{1,50}$'),
    enabled BOOLEAN NOT NULL DEFAULT FALSE,
    -- Bookings with an id above this were created after the rule was last
    -- switched on: the highest id the bookings' sequence had handed out then.
    after_booking_id BIGINT NOT NULL DEFAULT 0,
    -- When it was last switched on (NULL: never).
    switched_on_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- One row per automatic move: marks the booking «перенесено автоматически»,
-- counts the rule's moves, and keeps a booking from being moved twice.
CREATE TABLE intake_moves (
    booking_id INTEGER PRIMARY KEY,
    course_id INTEGER NOT NULL,
    from_code VARCHAR(50) NOT NULL,
    to_code VARCHAR(50) NOT NULL,
    moved_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX intake_moves_course ON intake_moves (course_id);

-- The mover's lookup, every second: a course's bookings still under the
-- bot's code above the rule's watermark. Without it the primary-key range
-- `id > watermark` reads every booking since the rule was switched on
-- (16 ms a tick with 97 000 of them); with it only those still to move
-- (0.25 ms). Built like 0003's indexes, inside the migration's transaction,
-- briefly holding the bot's writes (0.2 s at 107 000 bookings).
CREATE INDEX IF NOT EXISTS hsl_bookings_course_stream_id ON bookings (course_id, course_stream, id);
