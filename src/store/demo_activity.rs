//! Demo activity that gives the analytics pages something to show: events,
//! free-lesson and hackathon registrations, lesson links clicked by people
//! registered for that lesson, a week of busy days for some registrants (so
//! every lead tier has people in it), broadcasts of the old dashboard and
//! the stream registry. Same rules as `demo`: deterministic hashes, times
//! relative to the anchor `$1`.

/// Of the registrations whose lesson has taken place, 45 % click the
/// lesson link (for that lesson type) at 19:00 Moscow time on the day.
pub const LESSON_CLICKS_SQL: &str = r#"
INSERT INTO events (user_id, event_type, details, created_at)
SELECT r.user_id, 'lesson_link_clicked', jsonb_build_object('lesson_type', r.lesson_type),
       (r.lesson_date + time '16:00') AT TIME ZONE 'UTC'
FROM free_lesson_registrations r
JOIN demo_people p ON p.user_id = r.user_id
WHERE r.lesson_date IS NOT NULL
  AND (r.lesson_date + time '16:00') AT TIME ZONE 'UTC' <= $1::timestamptz
  AND pg_temp.u(p.i * 8 + length(r.lesson_type), 65) < 0.45
ORDER BY 4, r.user_id
"#;

/// 6 % of registrants were busy over the last week: 6–30 events spread
/// over 1–7 days before the anchor.
pub const LEAD_ACTIVITY_SQL: &str = r#"
INSERT INTO events (user_id, event_type, details, created_at)
SELECT p.user_id, t.event_type, t.details, e.at
FROM demo_people p
CROSS JOIN LATERAL (
    SELECT 1 + (pg_temp.h(p.i, 61) % 7)::int AS span, 6 + (pg_temp.h(p.i, 62) % 25)::int AS n
) AS s
CROSS JOIN LATERAL generate_series(1, s.n) AS k(j)
CROSS JOIN LATERAL (SELECT p.i * 64 + k.j AS key) AS x
CROSS JOIN LATERAL (
    SELECT $1::timestamptz - make_interval(days => (k.j - 1) % s.span)
           - make_interval(secs => pg_temp.u(x.key, 63) * 10 * 3600) AS at
) AS e
CROSS JOIN LATERAL (
    SELECT (ARRAY['view_program','view_reviews','payment_instructions_viewed','faq_opened',
                  'contact_manager'])[1 + (pg_temp.h(x.key, 64) % 5)::int] AS event_type
) AS c
CROSS JOIN LATERAL (
    SELECT c.event_type,
           CASE WHEN c.event_type IN ('view_program', 'payment_instructions_viewed')
                THEN jsonb_build_object('course_id', '1') ELSE '{}'::jsonb END AS details
) AS t
WHERE pg_temp.u(p.i, 60) < 0.06
  AND EXISTS (SELECT 1 FROM free_lesson_registrations r WHERE r.user_id = p.user_id)
ORDER BY e.at, p.user_id, k.j
"#;

pub const EVENTS_SQL: &str = r#"
INSERT INTO events (user_id, event_type, details, created_at)
SELECT p.user_id, e.event_type, e.details, e.created_at
FROM demo_people p
CROSS JOIN LATERAL generate_series(1, p.event_count) AS n(k)
CROSS JOIN LATERAL (SELECT p.i * 16 + n.k AS key) AS x
CROSS JOIN LATERAL (
    SELECT CASE WHEN n.k = 1 THEN 100 ELSE pg_temp.h(x.key, 30) % 100 END AS roll
) AS r
CROSS JOIN LATERAL (
    SELECT
      CASE
        WHEN r.roll = 100 OR r.roll < 8 THEN 'start_command'
        WHEN r.roll < 38 THEN 'view_program'
        WHEN r.roll < 53 THEN 'lesson_link_clicked'
        WHEN r.roll < 63 THEN 'view_reviews'
        WHEN r.roll < 73 THEN 'payment_instructions_viewed'
        WHEN r.roll < 81 THEN 'help_command'
        WHEN r.roll < 88 THEN 'contact_manager'
        ELSE 'faq_opened'
      END AS event_type,
      CASE
        WHEN r.roll = 100 OR r.roll < 8 THEN
          jsonb_strip_nulls(jsonb_build_object('username', p.username, 'first_name', p.first_name))
        WHEN r.roll < 38 THEN jsonb_build_object('course_id', '1')
        WHEN r.roll < 53 THEN jsonb_build_object('lesson_type',
          (ARRAY['cursor_lesson','vibe_coding_intro','ai_agents_lesson'])[1 + (pg_temp.h(x.key, 31) % 3)::int])
        WHEN r.roll < 63 THEN jsonb_build_object('page', 1 + pg_temp.h(x.key, 32) % 5)
        WHEN r.roll < 73 THEN jsonb_build_object('course_id', '1', 'method',
          (ARRAY['card','sbp','crypto'])[1 + (pg_temp.h(x.key, 33) % 3)::int])
        WHEN r.roll < 88 AND r.roll >= 81 THEN jsonb_build_object('source', 'main_menu')
        ELSE '{}'::jsonb
      END AS details,
      CASE WHEN n.k = 1 THEN p.first_seen
           ELSE p.first_seen + make_interval(secs =>
                  (pg_temp.u(x.key, 34) ^ 0.5) * EXTRACT(EPOCH FROM ($1::timestamptz - p.first_seen)))
      END AS created_at
) AS e
"#;

/// Free lessons take place on Saturdays; people register in the days before.
pub const FREE_LESSONS_SQL: &str = r#"
INSERT INTO free_lesson_registrations (user_id, username, first_name, email, registered_at,
                                       notification_sent, lesson_type, lesson_date)
SELECT p.user_id, p.username, p.first_name,
       p.first_lat || '.' || p.surname_lat || (pg_temp.h(p.i, 40) % 1000)::text
         || '@example.' || (ARRAY['com','org','net'])[1 + (pg_temp.h(p.i, 41) % 3)::int],
       r.registered_at,
       r.lesson_date < ($1::timestamptz AT TIME ZONE 'Europe/Moscow')::date
         AND pg_temp.u(r.key, 42) < 0.95,
       (ARRAY['cursor_lesson','vibe_coding_intro','ai_agents_lesson'])[1 + ((pg_temp.h(p.i, 43) + r.n) % 3)::int],
       r.lesson_date
FROM demo_people p
CROSS JOIN LATERAL (
    SELECT s.n, p.i * 2 + s.n AS key, t.registered_at,
           (t.registered_at AT TIME ZONE 'Europe/Moscow')::date
             + (6 - EXTRACT(ISODOW FROM t.registered_at AT TIME ZONE 'Europe/Moscow')::int + 7) % 7 + 1
             AS lesson_date
    FROM generate_series(0, 1) AS s(n)
    CROSS JOIN LATERAL (
        SELECT LEAST($1::timestamptz, p.first_seen
                 + make_interval(secs => pg_temp.u(p.i * 2 + s.n, 44) * (3 + 20 * s.n) * 86400))
               AS registered_at
    ) AS t
) AS r
WHERE pg_temp.u(p.i, 45) < 0.3
  AND (r.n = 0 OR pg_temp.u(p.i, 46) < 0.1)
ORDER BY r.registered_at
"#;

pub const HACKATHON_SQL: &str = r#"
INSERT INTO hackathon_registrations (user_id, username, first_name, registered_at)
SELECT user_id, username, first_name,
       LEAST($1::timestamptz, first_seen + make_interval(days => (pg_temp.h(i, 50) % 20)::int))
FROM demo_people
WHERE pg_temp.u(i, 51) < 0.05
ORDER BY 4
"#;

/// A few broadcasts as the previous dashboard recorded them, so the history
/// page has legacy rows to show.
pub const LEGACY_BROADCASTS_SQL: &str = r#"
INSERT INTO message_history (message_text, total_recipients, successful_deliveries, sent_at,
                             created_at, recipient_type, recipient_group, scheduled_at)
SELECT m.text, 40, m.ok, $1::timestamptz - m.age, $1::timestamptz - m.age, m.kind, m.grp, NULL
FROM (VALUES
    ('<b>Старт 7-го потока!</b> Первое занятие сегодня в 19:00 МСК.', 38,
     interval '52 days', 'group', '7th_stream'),
    ('Напоминаем: бесплатный урок по Cursor в субботу.', 40,
     interval '20 days', 'individual', NULL),
    ('Открыт набор в 8-й поток. Успейте забронировать место со скидкой.', 37,
     interval '6 days', 'individual', NULL)
) AS m(text, ok, age, kind, grp)
"#;

pub const LEGACY_RECIPIENTS_SQL: &str = r#"
INSERT INTO message_recipients (message_id, user_id, username, delivery_status,
                                telegram_message_id, created_at)
SELECT h.id, p.user_id, p.username,
       CASE WHEN p.i <= h.successful_deliveries THEN 'sent' ELSE 'failed' END,
       CASE WHEN p.i <= h.successful_deliveries THEN (1000 + p.i)::int END,
       h.created_at
FROM (SELECT id, successful_deliveries, created_at FROM message_history
      ORDER BY id DESC LIMIT 3) AS h
JOIN demo_people p ON p.i <= 40
"#;

/// Demo start dates for the seeded registry streams (left alone when staff
/// have set them) and a capacity for the current intake.
pub const REGISTRY_SQL: &str = r#"
UPDATE stream_registry r
SET starts_on = COALESCE(r.starts_on, (($1::timestamptz AT TIME ZONE 'Europe/Moscow')::date + s.offset_days)),
    capacity = COALESCE(r.capacity, s.capacity),
    updated_at = now()
FROM (VALUES ('3rd_stream', -290, NULL::int), ('4th_stream', -230, NULL), ('5th_stream', -170, NULL),
             ('6th_stream', -110, NULL), ('7th_stream', -50, NULL),
             ('8th_stream', 10, (SELECT GREATEST(30, (count(*) * 5 / 4 + 9) / 10 * 10)::int
                                 FROM bookings WHERE course_stream = '8th_stream'
                                   AND confirmed IS DISTINCT FROM -1)),
             ('mentoring', NULL, NULL))
     AS s(code, offset_days, capacity)
WHERE r.code = s.code
"#;
