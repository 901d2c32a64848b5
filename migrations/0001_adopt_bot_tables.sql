-- Adopt the production schema: the bot's tables (part 1) and the previous
-- dashboard's messaging tables (part 2), exactly as in bot_schema.sql.
-- Everything is IF NOT EXISTS, so this creates them on an empty database and
-- changes nothing on the school's existing one.
-- Part 1: written by the bot ------------------------------------------------

CREATE TABLE IF NOT EXISTS courses (
    id SERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    price_usd_cents INTEGER NOT NULL DEFAULT 0,
    button_text VARCHAR(100) NOT NULL,
    is_active BOOLEAN DEFAULT TRUE,
    start_date_text VARCHAR(100)
);

-- confirmed: 0 = new booking, 1 = payment proof uploaded / awaiting check,
--            2 = payment confirmed, -1 = cancelled. NULL occurs in old rows.
CREATE TABLE IF NOT EXISTS bookings (
    id SERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    username TEXT,
    first_name TEXT,
    course_id INTEGER REFERENCES courses(id),
    confirmed INTEGER DEFAULT 0,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    referral_code TEXT,
    discount_percent INTEGER DEFAULT 0,
    course_stream VARCHAR(50) DEFAULT '4th_stream'
);

CREATE TABLE IF NOT EXISTS referral_coupons (
    id SERIAL PRIMARY KEY,
    code TEXT UNIQUE NOT NULL,
    name TEXT,
    discount_percent INTEGER NOT NULL,
    max_activations INTEGER NOT NULL,
    current_activations INTEGER DEFAULT 0,
    created_by BIGINT NOT NULL,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    is_active INTEGER DEFAULT 1
);

CREATE TABLE IF NOT EXISTS referral_usage (
    id SERIAL PRIMARY KEY,
    coupon_id INTEGER NOT NULL REFERENCES referral_coupons(id),
    user_id BIGINT NOT NULL,
    booking_id INTEGER REFERENCES bookings(id),
    used_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (coupon_id, user_id)
);

-- Known event types: view_program (details.course_id as text),
-- lesson_link_clicked (details.lesson_type), booking_status_changed
-- (details.booking_id, old_status, new_status), start_command, and others.
-- details may also carry username / first_name.
CREATE TABLE IF NOT EXISTS events (
    id SERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    event_type VARCHAR(50) NOT NULL,
    details JSONB,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS free_lesson_registrations (
    id SERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    username TEXT,
    first_name TEXT,
    email TEXT NOT NULL,
    registered_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP,
    notification_sent BOOLEAN DEFAULT FALSE,
    lesson_type VARCHAR(50) DEFAULT 'cursor_lesson',
    lesson_date DATE
);

CREATE TABLE IF NOT EXISTS hackathon_registrations (
    id SERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL,
    username TEXT,
    first_name TEXT,
    registered_at TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP
);

-- Upserted by the bot on every update it handles. Timestamps have no zone
-- and hold UTC.
CREATE TABLE IF NOT EXISTS users (
    user_id BIGINT PRIMARY KEY,
    username TEXT,
    first_name TEXT,
    last_name TEXT,
    language_code TEXT,
    first_seen_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_users_username ON users(username) WHERE username IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_users_first_name ON users(first_name) WHERE first_name IS NOT NULL;

-- Part 2: left behind by the previous dashboard ---------------------------

CREATE TABLE IF NOT EXISTS message_history (
    id SERIAL PRIMARY KEY,
    message_text TEXT NOT NULL,
    total_recipients INTEGER NOT NULL DEFAULT 0,
    successful_deliveries INTEGER DEFAULT 0,
    sent_at TIMESTAMPTZ DEFAULT NOW(),
    created_at TIMESTAMPTZ DEFAULT NOW(),
    recipient_type VARCHAR(20),
    recipient_group VARCHAR(50),
    scheduled_at TIMESTAMPTZ
);

-- delivery_status: pending | sent | failed | deleted
CREATE TABLE IF NOT EXISTS message_recipients (
    id SERIAL PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES message_history(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL,
    username TEXT,
    delivery_status TEXT DEFAULT 'pending',
    telegram_message_id INTEGER,
    created_at TIMESTAMPTZ DEFAULT NOW()
);
CREATE INDEX IF NOT EXISTS idx_message_recipients_message_id ON message_recipients(message_id);
CREATE INDEX IF NOT EXISTS idx_message_recipients_status ON message_recipients(message_id, delivery_status);
CREATE INDEX IF NOT EXISTS idx_message_recipients_user_id ON message_recipients(user_id);
